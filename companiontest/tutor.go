package companiontest

import (
	"hash/fnv"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The scripted tutor behind /v1/chat/completions. It is deterministic: the
// reply is a function of the last user message alone (the system prompt and
// the earlier turns do not change it), so a test can compute the expected
// answer with [Answer].
//
// What it knows, in English and Chinese:
//
//   - equations in one variable, solved for real: linear ("solve 2x+3=7",
//     "解方程 3x - 4 = 11", "2(x+1) = x - 5") and quadratic ("x^2-5x+6=0");
//   - arithmetic, computed exactly ("what is 12*7", "12乘7等于多少",
//     "1/2 + 1/3");
//   - physics: Newton's three laws, Ohm's law, density, speed, kinetic
//     energy, free fall, pressure, buoyancy — with the numbers of the
//     question plugged in when their units say what they are;
//   - biology and geography: photosynthesis, the water cycle, cells;
//   - maths: the Pythagorean theorem, the area of a circle, fractions,
//     percentages, prime numbers, averages, linear and quadratic equations.
//
// Anything else gets a Socratic tutoring reply chosen by a hash of the
// question and naming its key words. Questions with different numbers get
// different answers. The reply is in Chinese when the question contains Han
// characters, in English otherwise.
//
// This file is the tutor's behaviour: matching, solving, computing. What it
// says — explanations, templates, unit names, word lists — is data in the
// files under tutordata/ (see tutordata.go).

// Answer returns the reply the fake server gives when question is the last
// user message of a chat completion request, before any max_tokens
// truncation. It is what a test should expect as the assistant's content:
//
//	srv := companiontest.NewServer()
//	// ... ask "solve 2x+3=7" through the client under test ...
//	want := companiontest.Answer("solve 2x+3=7") // "...x = 2..."
func Answer(question string) string { return tutorScript.answer(question) }

// answer is [Answer] with the content s.
func (s *script) answer(question string) string {
	q := normalizeQuestion(question)
	zh := hasHan(q)
	if strings.TrimSpace(q) == "" {
		return s.replies.Greeting.in(zh)
	}
	low := strings.ToLower(q)
	nums := extractNumbers(q)

	// Physics and science topics first: their questions often contain
	// "=" or "/" in units ("V = 12 V", "m/s"), which are no equations.
	for _, t := range s.science {
		if t.match(low) {
			return t.answer(s, low, nums, zh)
		}
	}
	if a, ok := s.answerEquation(q, zh); ok {
		return a
	}
	if a, ok := s.answerArithmetic(low, zh); ok {
		return a
	}
	for _, t := range s.maths {
		if t.match(low) {
			return t.answer(s, low, nums, zh)
		}
	}
	return s.genericAnswer(q, low, nums, zh)
}

// topic is one subject the tutor knows, an entry of topics.json.
type topic struct {
	Name string `json:"name"`
	// Any: the question matches if it contains one of these (lower case).
	Any []string `json:"any"`
	// All: or if it contains, for some group, one phrase of every set.
	All [][][]string `json:"all,omitempty"`
	// EN and ZH are the topic's explanation.
	EN prose `json:"en"`
	ZH prose `json:"zh"`
	// compute, if set, works the question's numbers.
	compute computeFunc
}

// computeFunc works the numbers of a question on a topic with the content
// s; it returns "" when they are not enough.
type computeFunc func(s *script, low string, nums []float64, zh bool) string

// computes are the compute functions of the topics, by topic name.
var computes = map[string]computeFunc{
	"newton2":    computeNewton2,
	"kinetic":    computeKinetic,
	"freefall":   computeFreeFall,
	"ohm":        computeOhm,
	"density":    computeDensity,
	"pressure":   computePressure,
	"speed":      computeSpeed,
	"pythagoras": computePythagoras,
	"circle":     computeCircle,
	"percent":    computePercent,
	"prime":      computePrime,
	"average":    computeAverage,
}

func (t *topic) match(low string) bool {
	for _, k := range t.Any {
		if strings.Contains(low, k) {
			return true
		}
	}
	for _, group := range t.All {
		ok := true
		for _, set := range group {
			if !containsAny(low, set) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (t *topic) answer(s *script, low string, nums []float64, zh bool) string {
	text := string(t.EN)
	if zh {
		text = string(t.ZH)
	}
	if t.compute != nil {
		if worked := t.compute(s, low, nums, zh); worked != "" {
			return text + "\n\n" + worked
		}
	}
	if len(nums) > 0 {
		return text + "\n\n" + s.echoNumbers(nums, zh)
	}
	return text
}

// echoNumbers mentions the question's numbers, so that questions differing
// only in their numbers get different answers.
func (s *script) echoNumbers(nums []float64, zh bool) string {
	return s.replies.Numbers.fill(zh, "numbers", listNumbers(nums, zh))
}

// listNumbers lists numbers: "1, 2 and 3", or "1、2、3" in Chinese.
func listNumbers(nums []float64, zh bool) string {
	s := make([]string, len(nums))
	for i, n := range nums {
		s[i] = fmtNum(n)
	}
	if zh {
		return strings.Join(s, "、")
	}
	return joinAnd(s)
}

// genericAnswer is the Socratic reply to a question the tutor has no
// script for.
func (s *script) genericAnswer(q, low string, nums []float64, zh bool) string {
	h := fnv.New32a()
	h.Write([]byte(strings.Join(strings.Fields(low), " ")))
	reply := &s.replies.Socratic[h.Sum32()%uint32(len(s.replies.Socratic))]
	var kw string
	if zh {
		subject := []rune(strings.TrimFunc(q, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }))
		if len(subject) > 24 {
			subject = append(subject[:24], '…')
		}
		kw = "“" + string(subject) + "”"
	} else {
		kw = s.keywords(low)
	}
	a := reply.fill(zh, "topic", kw)
	if len(nums) > 0 {
		a += "\n\n" + s.replies.NumbersLater.fill(zh, "numbers", listNumbers(nums, zh))
	}
	return a
}

// keywords returns up to three key words of an English question, quoted,
// in their order of appearance.
func (s *script) keywords(low string) string {
	var kw []string
	for _, w := range strings.FieldsFunc(low, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if s.stopwords[w] || len([]rune(w)) < 3 || slices.Contains(kw, w) {
			continue
		}
		kw = append(kw, w)
		if len(kw) == 3 {
			break
		}
	}
	if len(kw) == 0 {
		return s.replies.NoKeywords
	}
	for i := range kw {
		kw[i] = "\"" + kw[i] + "\""
	}
	return joinAnd(kw)
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// ---- text helpers ----

// normalizeQuestion maps full-width ASCII to ASCII and typographic
// symbols to their plain forms.
func normalizeQuestion(q string) string {
	var b strings.Builder
	b.Grow(len(q))
	for _, r := range q {
		switch {
		case r >= '！' && r <= '～':
			r -= '！' - '!'
		case r == '　':
			r = ' '
		case r == '’' || r == '‘':
			r = '\''
		case r == '−' || r == '–' || r == '—':
			r = '-'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func containsAny(s string, subs []string) bool {
	for _, k := range subs {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}

var numberRE = regexp.MustCompile(`\d+(?:\.\d+)?`)

// extractNumbers returns the numbers written in digits in s (at most 12).
func extractNumbers(s string) []float64 {
	var out []float64
	for _, m := range numberRE.FindAllString(s, 12) {
		if len(m) > 18 {
			m = m[:18]
		}
		if f, err := strconv.ParseFloat(strings.TrimSuffix(m, "."), 64); err == nil {
			out = append(out, f)
		}
	}
	return out
}

// fmtNum formats a computed value: integers exactly, others with up to
// four decimals.
func fmtNum(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "undefined"
	}
	if r := math.Round(f); math.Abs(f-r) < 1e-9 && math.Abs(r) < 1e15 {
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	if math.Abs(f) >= 1e15 || math.Abs(f) < 1e-4 {
		return strconv.FormatFloat(f, 'g', 6, 64)
	}
	s := strconv.FormatFloat(f, 'f', 4, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// ---- quantities with units ----

// quantity is a number of the question with the unit written after it.
type quantity struct {
	v    float64
	unit string // lower case, without spaces
}

var quantityRE = regexp.MustCompile(`(\d+(?:\.\d+)?)\s*([a-zA-Zµμω°/²³^23·]+|\p{Han}{1,4})?`)

func quantities(low string) []quantity {
	var out []quantity
	for _, m := range quantityRE.FindAllStringSubmatch(low, 12) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			continue
		}
		out = append(out, quantity{v: v, unit: strings.ToLower(m[2])})
	}
	return out
}

// isUnit reports whether a quantity's unit is exactly one of units, or
// starts with one of them followed by a non-letter.
func isUnit(unit string, units ...string) bool {
	for _, u := range units {
		if unit == u {
			return true
		}
		if strings.HasPrefix(unit, u) {
			rest := []rune(unit[len(u):])
			if len(rest) > 0 && !unicode.IsLetter(rest[0]) || len(rest) > 0 && unicode.Is(unicode.Han, rest[0]) {
				return true
			}
		}
	}
	return false
}

func findUnit(qs []quantity, units ...string) (float64, bool) {
	for _, q := range qs {
		if isUnit(q.unit, units...) {
			return q.v, true
		}
	}
	return 0, false
}

const gravity = 9.8

func computeNewton2(s *script, low string, _ []float64, zh bool) string {
	u, w := &s.units, &s.worked.Newton2
	qs := quantities(low)
	m, okM := findUnit(qs, u.Mass...)
	if !okM {
		if g, ok := findUnit(qs, u.Gram...); ok {
			m, okM = g/1000, true
		}
	}
	a, okA := findUnit(qs, u.Acceleration...)
	f, okF := findUnit(qs, u.Force...)
	switch {
	case okM && okA:
		return w.Force.fill(zh, "m", fmtNum(m), "a", fmtNum(a), "F", fmtNum(m*a))
	case okF && okM && m != 0:
		return w.Acceleration.fill(zh, "F", fmtNum(f), "m", fmtNum(m), "a", fmtNum(f/m))
	case okF && okA && a != 0:
		return w.Mass.fill(zh, "F", fmtNum(f), "a", fmtNum(a), "m", fmtNum(f/a))
	}
	return ""
}

func computeKinetic(s *script, low string, _ []float64, zh bool) string {
	qs := quantities(low)
	m, okM := findUnit(qs, s.units.Mass...)
	v, okV := findUnit(qs, s.units.Speed...)
	if !okM || !okV {
		return ""
	}
	ke := 0.5 * m * v * v
	return s.worked.Kinetic.fill(zh, "m", fmtNum(m), "v", fmtNum(v), "E", fmtNum(ke))
}

func computeFreeFall(s *script, low string, _ []float64, zh bool) string {
	w := &s.worked.FreeFall
	qs := quantities(low)
	if t, ok := findUnit(qs, s.units.Second...); ok {
		v, h := gravity*t, 0.5*gravity*t*t
		return w.Time.fill(zh, "g", fmtNum(gravity), "t", fmtNum(t), "v", fmtNum(v), "h", fmtNum(h))
	}
	if h, ok := findUnit(qs, s.units.Metre...); ok {
		t := math.Sqrt(2 * h / gravity)
		return w.Height.fill(zh, "g", fmtNum(gravity), "h", fmtNum(h), "t", fmtNum(t), "v", fmtNum(gravity*t))
	}
	return ""
}

func computeOhm(s *script, low string, _ []float64, zh bool) string {
	u, w := &s.units, &s.worked.Ohm
	qs := quantities(low)
	v, okV := findUnit(qs, u.Volt...)
	i, okI := findUnit(qs, u.Ampere...)
	if !okI {
		if ma, ok := findUnit(qs, u.Milliampere...); ok {
			i, okI = ma/1000, true
		}
	}
	r, okR := findUnit(qs, u.Ohm...)
	switch {
	case okV && okR && r != 0:
		return w.Current.fill(zh, "V", fmtNum(v), "R", fmtNum(r), "I", fmtNum(v/r))
	case okI && okR:
		return w.Voltage.fill(zh, "I", fmtNum(i), "R", fmtNum(r), "V", fmtNum(i*r))
	case okV && okI && i != 0:
		return w.Resistance.fill(zh, "V", fmtNum(v), "I", fmtNum(i), "R", fmtNum(v/i))
	}
	return ""
}

func computeDensity(s *script, low string, _ []float64, zh bool) string {
	qs := quantities(low)
	for _, p := range s.units.Densities {
		m, okM := findUnit(qs, p.Mass...)
		v, okV := findUnit(qs, p.Volume...)
		if okM && okV && v != 0 {
			return s.worked.Density.fill(zh, "m", fmtNum(m), "V", fmtNum(v), "rho", fmtNum(m/v), "unit", p.Unit)
		}
	}
	return ""
}

func computePressure(s *script, low string, _ []float64, zh bool) string {
	qs := quantities(low)
	f, okF := findUnit(qs, s.units.Force...)
	a, okA := findUnit(qs, s.units.SquareMetre...)
	if !okF || !okA || a == 0 {
		return ""
	}
	return s.worked.Pressure.fill(zh, "F", fmtNum(f), "S", fmtNum(a), "p", fmtNum(f/a))
}

func computeSpeed(s *script, low string, _ []float64, zh bool) string {
	qs := quantities(low)
	for _, p := range s.units.Speeds {
		d, okD := findUnit(qs, p.Distance...)
		t, okT := findUnit(qs, p.Time...)
		if okD && okT && t != 0 {
			return s.worked.Speed.fill(zh, "s", fmtNum(d), "sUnit", p.DistanceUnit, "t", fmtNum(t), "tUnit", p.TimeUnit, "v", fmtNum(d/t))
		}
	}
	return ""
}

func computePythagoras(s *script, _ string, nums []float64, zh bool) string {
	if len(nums) != 2 {
		return ""
	}
	a, b := nums[0], nums[1]
	c := math.Sqrt(a*a + b*b)
	return s.worked.Pythagoras.fill(zh, "a", fmtNum(a), "b", fmtNum(b), "c2", fmtNum(a*a+b*b), "c", fmtNum(c))
}

func computeCircle(s *script, low string, nums []float64, zh bool) string {
	if len(nums) != 1 {
		return ""
	}
	w := &s.worked.Circle
	r := nums[0]
	diameter := strings.Contains(low, "diameter") || strings.Contains(low, "直径")
	pre := ""
	if diameter {
		r /= 2
		pre = w.Diameter.fill(zh, "d", fmtNum(nums[0]), "r", fmtNum(r))
	}
	area := math.Pi * r * r
	return w.Area.fill(zh, "diameter", pre, "r", fmtNum(r), "A", fmtNum(area), "C", fmtNum(2*math.Pi*r))
}

var percentRE = regexp.MustCompile(`(\d+(?:\.\d+)?)\s*%|百分之\s*(\d+(?:\.\d+)?)`)

func computePercent(s *script, low string, nums []float64, zh bool) string {
	m := percentRE.FindStringSubmatch(low)
	if m == nil || len(nums) != 2 {
		return ""
	}
	ps := m[1] + m[2]
	p, err := strconv.ParseFloat(ps, 64)
	if err != nil {
		return ""
	}
	base := nums[0]
	if base == p {
		base = nums[1]
	}
	v := p * base / 100
	return s.worked.Percent.fill(zh, "p", fmtNum(p), "base", fmtNum(base), "v", fmtNum(v))
}

func computePrime(s *script, _ string, nums []float64, zh bool) string {
	if len(nums) != 1 || nums[0] != math.Trunc(nums[0]) || nums[0] > 1e12 {
		return ""
	}
	w := &s.worked.Prime
	n := int64(nums[0])
	ns := strconv.FormatInt(n, 10)
	if n < 2 {
		return w.Neither.fill(zh, "n", ns)
	}
	var factors []string
	m := n
	for p := int64(2); p*p <= m; p++ {
		for m%p == 0 {
			factors = append(factors, strconv.FormatInt(p, 10))
			m /= p
		}
	}
	if m > 1 {
		factors = append(factors, strconv.FormatInt(m, 10))
	}
	if len(factors) == 1 {
		return w.Prime.fill(zh, "n", ns)
	}
	return w.Composite.fill(zh, "n", ns, "factors", strings.Join(factors, " × "))
}

func computeAverage(s *script, _ string, nums []float64, zh bool) string {
	if len(nums) < 2 {
		return ""
	}
	sum := 0.0
	terms := make([]string, len(nums))
	for i, n := range nums {
		sum += n
		terms[i] = fmtNum(n)
	}
	mean := sum / float64(len(nums))
	return s.worked.Average.fill(zh, "terms", strings.Join(terms, " + "), "count", strconv.Itoa(len(nums)), "sum", fmtNum(sum), "mean", fmtNum(mean))
}

// ---- equations and arithmetic ----

// maxExprLen bounds the expressions the tutor parses.
const maxExprLen = 200

// answerEquation solves a linear or quadratic equation in one variable
// written in q, such as "solve 2x+3=7" or "解方程 3x - 4 = 11".
func (s *script) answerEquation(q string, zh bool) (string, bool) {
	eq, ok := findEquation(q)
	if !ok {
		return "", false
	}
	sol, err := solveEquation(eq)
	if err != nil {
		return "", false
	}
	return s.explainSolution(sol, zh), true
}

// findEquation extracts "lhs = rhs" around the only '=' of q whose sides
// are made of numbers, one single-letter variable and operators.
func findEquation(q string) (string, bool) {
	rs := []rune(q)
	eqAt := -1
	for i, r := range rs {
		if r == '=' {
			if eqAt >= 0 {
				return "", false // more than one '=': a chain, not an equation
			}
			eqAt = i
		}
	}
	if eqAt < 0 {
		return "", false
	}
	lo := eqAt
	for lo > 0 && mathRune(rs, lo-1) {
		lo--
	}
	hi := eqAt + 1
	for hi < len(rs) && mathRune(rs, hi) {
		hi++
	}
	eq := strings.TrimSpace(string(rs[lo:hi]))
	eq = strings.TrimRight(eq, ". ")
	if len(eq) > maxExprLen || !strings.ContainsAny(eq, "0123456789") {
		return "", false
	}
	return eq, true
}

// mathRune reports whether rs[i] can be part of an equation: digits,
// operators, brackets, spaces and isolated letters (the variable).
func mathRune(rs []rune, i int) bool {
	r := rs[i]
	switch {
	case r >= '0' && r <= '9', strings.ContainsRune(" .+-*/^()×÷·²", r):
		return true
	case r < 128 && unicode.IsLetter(r):
		prevLetter := i > 0 && rs[i-1] < 128 && unicode.IsLetter(rs[i-1])
		nextLetter := i+1 < len(rs) && rs[i+1] < 128 && unicode.IsLetter(rs[i+1])
		return !prevLetter && !nextLetter
	}
	return false
}

// solution is a solved equation.
type solution struct {
	eq  string // as written, spaces normalized
	v   string // the variable
	lhs *poly  // the left side minus the right side, = 0
	deg int
	// check: both sides evaluated at the (linear) root
	checkL, checkR string
	root           []string // exact or approximate roots, formatted
	// linear: a·x = b after collecting terms
	a, b *big.Rat
	// quadratic: discriminant
	disc   *big.Rat
	approx bool // the roots are rounded
	none   bool // no solution
	all    bool // every number is a solution
}

func solveEquation(eq string) (*solution, error) {
	sides := strings.Split(eq, "=")
	if len(sides) != 2 || strings.TrimSpace(sides[0]) == "" || strings.TrimSpace(sides[1]) == "" {
		return nil, errNotEquation
	}
	var p parser
	l, err := p.parseSide(sides[0])
	if err != nil {
		return nil, err
	}
	r, err := p.parseSide(sides[1])
	if err != nil {
		return nil, err
	}
	if p.variable == 0 {
		return nil, errNotEquation
	}
	d := l.sub(r)
	sol := &solution{eq: strings.Join(strings.Fields(eq), " "), v: string(p.variable), lhs: d, deg: d.degree()}
	switch sol.deg {
	case 0:
		if d.c[0].Sign() == 0 {
			sol.all = true
		} else {
			sol.none = true
		}
	case 1:
		// c1·x + c0 = 0 → x = −c0 / c1
		sol.a = new(big.Rat).Set(&d.c[1])
		sol.b = new(big.Rat).Neg(&d.c[0])
		x := new(big.Rat).Quo(sol.b, sol.a)
		sol.root = []string{fmtRat(x)}
		sol.checkL, sol.checkR = fmtRat(l.eval(x)), fmtRat(r.eval(x))
	case 2:
		a, b, c := &d.c[2], &d.c[1], &d.c[0]
		disc := new(big.Rat).Mul(b, b)
		disc.Sub(disc, new(big.Rat).Mul(big.NewRat(4, 1), new(big.Rat).Mul(a, c)))
		sol.disc = disc
		twoA := new(big.Rat).Mul(big.NewRat(2, 1), a)
		switch disc.Sign() {
		case 0:
			sol.root = []string{fmtRat(new(big.Rat).Quo(new(big.Rat).Neg(b), twoA))}
		case 1:
			if sq, ok := ratSqrt(disc); ok {
				r1 := new(big.Rat).Quo(new(big.Rat).Add(new(big.Rat).Neg(b), sq), twoA)
				r2 := new(big.Rat).Quo(new(big.Rat).Sub(new(big.Rat).Neg(b), sq), twoA)
				if r1.Cmp(r2) > 0 {
					r1, r2 = r2, r1
				}
				sol.root = []string{fmtRat(r1), fmtRat(r2)}
			} else {
				af, _ := a.Float64()
				bf, _ := b.Float64()
				df, _ := disc.Float64()
				s := math.Sqrt(df)
				r1, r2 := (-bf-s)/(2*af), (-bf+s)/(2*af)
				if r1 > r2 {
					r1, r2 = r2, r1
				}
				sol.root = []string{fmtNum(r1), fmtNum(r2)}
				sol.approx = true
			}
		default:
			sol.none = true
		}
	default:
		return nil, errNotEquation
	}
	return sol, nil
}

// rel is "=" for exact roots, "≈" for rounded ones.
func (s *solution) rel() string {
	if s.approx {
		return "≈"
	}
	return "="
}

// explainSolution writes the worked solution.
func (s *script) explainSolution(sol *solution, zh bool) string {
	var b strings.Builder
	line := func(t *text, args ...string) {
		b.WriteString(t.fill(zh, args...))
		b.WriteByte('\n')
	}
	x := sol.v
	switch sol.deg {
	case 1:
		st := &s.solutions.Linear
		line(&st.Intro, "eq", sol.eq)
		line(&st.Collect, "x", x, "coef", fmtCoef(sol.a), "b", fmtRat(sol.b))
		if sol.a.Cmp(big.NewRat(1, 1)) == 0 {
			line(&st.UnitCoefficient, "x", x, "root", sol.root[0])
		} else {
			line(&st.Divide, "a", fmtRat(sol.a), "x", x, "b", fmtRat(sol.b), "root", sol.root[0])
		}
		line(&st.Check, "x", x, "root", sol.root[0], "left", sol.checkL, "right", sol.checkR)
		line(&st.Answer, "x", x, "root", sol.root[0])
		b.WriteByte('\n')
		b.WriteString(st.Tip.in(zh))
	case 2:
		st := &s.solutions.Quadratic
		line(&st.Intro, "eq", sol.eq)
		line(&st.StandardForm, "poly", sol.lhs.format(x))
		line(&st.Discriminant, "disc", fmtRat(sol.disc))
		switch {
		case sol.none:
			line(&st.NoRoot)
		case len(sol.root) == 1:
			line(&st.DoubleRoot, "x", x, "root", sol.root[0])
		default:
			line(&st.TwoRoots, "x", x, "rel", sol.rel(), "root1", sol.root[0], "root2", sol.root[1])
		}
		b.WriteByte('\n')
		b.WriteString(st.Tip.in(zh))
	default:
		st := &s.solutions.Degenerate
		line(&st.Intro, "eq", sol.eq, "x", x)
		if sol.all {
			b.WriteString(st.Identity.in(zh))
		} else {
			b.WriteString(st.Contradiction.fill(zh, "poly", sol.lhs.format(x)))
		}
		b.WriteString("\n\n")
		b.WriteString(st.Tip.in(zh))
	}
	return b.String()
}

// answerArithmetic computes an arithmetic expression written in q, such as
// "what is 12*7", "12 times 7" or "12乘7等于多少".
func (s *script) answerArithmetic(low string, zh bool) (string, bool) {
	expr, ok := s.findArithmetic(low)
	if !ok {
		return "", false
	}
	var p parser
	p.noVariable = true
	v, err := p.parseSide(expr)
	if err != nil || v.degree() != 0 {
		return "", false
	}
	st := &s.solutions.Arithmetic
	var b strings.Builder
	b.WriteString(st.Result.fill(zh, "expr", strings.Join(strings.Fields(prettyOps(expr)), " "), "result", fmtRat(&v.c[0])))
	b.WriteString("\n\n")
	b.WriteString(st.Method.in(zh))
	if hint := s.arithmeticHint(expr, zh); hint != "" {
		b.WriteString(" " + hint)
	}
	b.WriteString("\n")
	b.WriteString(st.Check.in(zh))
	return b.String(), true
}

var productRE = regexp.MustCompile(`^\s*(\d{2})\s*[*×]\s*(\d{1,2})\s*$`)

// arithmeticHint explains a two-operand product of a two-digit number by
// splitting it into tens and units, the way mental arithmetic is taught.
func (s *script) arithmeticHint(expr string, zh bool) string {
	m := productRE.FindStringSubmatch(expr)
	if m == nil {
		return ""
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	tens, units := a/10*10, a%10
	if units == 0 {
		return ""
	}
	itoa := strconv.Itoa
	return s.solutions.Arithmetic.Hint.fill(zh, "a", itoa(a), "b", itoa(b), "tens", itoa(tens), "units", itoa(units),
		"tensProduct", itoa(tens*b), "unitsProduct", itoa(units*b), "product", itoa(a*b))
}

var arithRE = regexp.MustCompile(`[0-9.()\s]*\d[0-9.()\s]*(?:[-+*/^][0-9.()\s]*\d[0-9.()\s]*)+`)

// findArithmetic returns the longest purely numeric expression of q with
// at least one binary operator.
func (s *script) findArithmetic(low string) (string, bool) {
	str := s.operators.Replace(" " + low + " ")
	str = strings.ReplaceAll(str, " x ", " * ") // "12 x 7"
	best := ""
	for _, m := range arithRE.FindAllString(str, -1) {
		m = strings.TrimSpace(m)
		if len(m) > len(best) {
			best = m
		}
	}
	best = strings.TrimRight(best, ". ")
	if best == "" || len(best) > maxExprLen {
		return "", false
	}
	return best, true
}

func prettyOps(expr string) string {
	// A spaced slash is a division, "1/2" a fraction and stays as written.
	expr = strings.Join(strings.Fields(expr), " ")
	r := strings.NewReplacer("*", " × ", " / ", " ÷ ", "+", " + ", "-", " - ")
	return r.Replace(expr)
}

// ---- a small polynomial parser ----

// poly is a polynomial of degree at most 2 in the variable: c[0] + c[1]·x + c[2]·x².
type poly struct{ c [3]big.Rat }

func constPoly(r *big.Rat) *poly { p := new(poly); p.c[0].Set(r); return p }

func varPoly() *poly { p := new(poly); p.c[1].SetInt64(1); return p }

// eval returns p(x).
func (p *poly) eval(x *big.Rat) *big.Rat {
	x2 := new(big.Rat).Mul(x, x)
	v := new(big.Rat).Set(&p.c[0])
	v.Add(v, new(big.Rat).Mul(&p.c[1], x))
	return v.Add(v, new(big.Rat).Mul(&p.c[2], x2))
}

func (p *poly) degree() int {
	for i := 2; i > 0; i-- {
		if p.c[i].Sign() != 0 {
			return i
		}
	}
	return 0
}

func (p *poly) add(q *poly) *poly {
	r := new(poly)
	for i := range r.c {
		r.c[i].Add(&p.c[i], &q.c[i])
	}
	return r
}

func (p *poly) sub(q *poly) *poly {
	r := new(poly)
	for i := range r.c {
		r.c[i].Sub(&p.c[i], &q.c[i])
	}
	return r
}

func (p *poly) neg() *poly {
	r := new(poly)
	for i := range r.c {
		r.c[i].Neg(&p.c[i])
	}
	return r
}

func (p *poly) mul(q *poly) (*poly, error) {
	if p.degree()+q.degree() > 2 {
		return nil, errDegree
	}
	r := new(poly)
	var t big.Rat
	for i := 0; i <= 2; i++ {
		for j := 0; i+j <= 2; j++ {
			t.Mul(&p.c[i], &q.c[j])
			r.c[i+j].Add(&r.c[i+j], &t)
		}
	}
	for i := range r.c {
		if r.c[i].Num().BitLen()+r.c[i].Denom().BitLen() > maxBits {
			return nil, errTooLarge
		}
	}
	return r, nil
}

func (p *poly) div(q *poly) (*poly, error) {
	if q.degree() != 0 {
		return nil, errDegree
	}
	if q.c[0].Sign() == 0 {
		return nil, errDivZero
	}
	r := new(poly)
	for i := range r.c {
		r.c[i].Quo(&p.c[i], &q.c[0])
	}
	return r, nil
}

// format writes p as "2x² - 5x + 6".
func (p *poly) format(v string) string {
	var b strings.Builder
	for i := 2; i >= 0; i-- {
		c := &p.c[i]
		if c.Sign() == 0 && !(i == 0 && b.Len() == 0) {
			continue
		}
		abs := new(big.Rat).Abs(c)
		switch {
		case b.Len() == 0 && c.Sign() < 0:
			b.WriteString("-")
		case b.Len() > 0 && c.Sign() < 0:
			b.WriteString(" - ")
		case b.Len() > 0:
			b.WriteString(" + ")
		}
		switch i {
		case 0:
			b.WriteString(fmtRat(abs))
		case 1:
			b.WriteString(fmtCoef(abs) + v)
		case 2:
			b.WriteString(fmtCoef(abs) + v + "²")
		}
	}
	return b.String()
}

type tutorError string

func (e tutorError) Error() string { return string(e) }

const (
	errNotEquation = tutorError("not an equation")
	errDegree      = tutorError("degree above 2")
	errDivZero     = tutorError("division by zero")
	errSyntax      = tutorError("syntax error")
	errTooLarge    = tutorError("number too large")
)

// maxBits bounds the size of the exact numbers the parser computes with.
const maxBits = 4096

// parser parses one side of an equation:
//
//	expr  = term { ("+" | "-") term }
//	term  = unary { ("*" | "/" | implicit) unary }
//	unary = ("+" | "-") unary | power
//	power = atom [ "^" digits | "²" | "³" ]
//	atom  = number | variable | "(" expr ")"
type parser struct {
	in         []rune
	pos        int
	depth      int
	variable   rune // the variable seen so far, 0 if none
	noVariable bool // reject variables (arithmetic)
}

func (p *parser) parseSide(s string) (*poly, error) {
	p.in = []rune(s)
	p.pos = 0
	p.depth = 0
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.pos != len(p.in) {
		return nil, errSyntax
	}
	return e, nil
}

func (p *parser) skip() {
	for p.pos < len(p.in) && unicode.IsSpace(p.in[p.pos]) {
		p.pos++
	}
}

func (p *parser) peek() rune {
	p.skip()
	if p.pos >= len(p.in) {
		return 0
	}
	switch r := p.in[p.pos]; r {
	case '×', '·':
		return '*'
	case '÷':
		return '/'
	default:
		return r
	}
}

func (p *parser) expr() (*poly, error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		switch p.peek() {
		case '+':
			p.pos++
			r, err := p.term()
			if err != nil {
				return nil, err
			}
			l = l.add(r)
		case '-':
			p.pos++
			r, err := p.term()
			if err != nil {
				return nil, err
			}
			l = l.sub(r)
		default:
			return l, nil
		}
	}
}

func (p *parser) term() (*poly, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		switch {
		case c == '*':
			p.pos++
			r, err := p.unary()
			if err != nil {
				return nil, err
			}
			if l, err = l.mul(r); err != nil {
				return nil, err
			}
		case c == '/':
			p.pos++
			r, err := p.unary()
			if err != nil {
				return nil, err
			}
			if l, err = l.div(r); err != nil {
				return nil, err
			}
		case c == '(' || (c < 128 && unicode.IsLetter(c)):
			// implicit multiplication: 2x, 2(x+1), (x+1)(x-1)
			r, err := p.power()
			if err != nil {
				return nil, err
			}
			if l, err = l.mul(r); err != nil {
				return nil, err
			}
		default:
			return l, nil
		}
	}
}

func (p *parser) unary() (*poly, error) {
	switch p.peek() {
	case '-':
		p.pos++
		if p.depth++; p.depth > 50 {
			return nil, errSyntax
		}
		v, err := p.unary()
		p.depth--
		if err != nil {
			return nil, err
		}
		return v.neg(), nil
	case '+':
		p.pos++
		if p.depth++; p.depth > 50 {
			return nil, errSyntax
		}
		v, err := p.unary()
		p.depth--
		return v, err
	}
	return p.power()
}

func (p *parser) power() (*poly, error) {
	base, err := p.atom()
	if err != nil {
		return nil, err
	}
	exp := 1
	switch p.peek() {
	case '²':
		p.pos++
		exp = 2
	case '³':
		p.pos++
		exp = 3
	case '^':
		p.pos++
		c := p.peek()
		if c < '0' || c > '9' {
			return nil, errSyntax
		}
		p.pos++
		exp = int(c - '0')
		if p.pos < len(p.in) && p.in[p.pos] >= '0' && p.in[p.pos] <= '9' {
			exp = 10*exp + int(p.in[p.pos]-'0')
			p.pos++
		}
		if p.pos < len(p.in) && p.in[p.pos] >= '0' && p.in[p.pos] <= '9' {
			return nil, errDegree // exponents above 99 are out of scope
		}
	default:
		return base, nil
	}
	if exp > 3 && base.degree() > 0 {
		return nil, errDegree
	}
	r := constPoly(big.NewRat(1, 1))
	for range exp {
		if r, err = r.mul(base); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (p *parser) atom() (*poly, error) {
	c := p.peek()
	switch {
	case c == '(':
		p.pos++
		if p.depth++; p.depth > 50 {
			return nil, errSyntax
		}
		e, err := p.expr()
		p.depth--
		if err != nil {
			return nil, err
		}
		if p.peek() != ')' {
			return nil, errSyntax
		}
		p.pos++
		return e, nil
	case c >= '0' && c <= '9' || c == '.':
		start := p.pos
		for p.pos < len(p.in) && (p.in[p.pos] >= '0' && p.in[p.pos] <= '9' || p.in[p.pos] == '.') {
			p.pos++
		}
		lit := string(p.in[start:p.pos])
		if len(lit) > 30 {
			return nil, errSyntax
		}
		r, ok := new(big.Rat).SetString(lit)
		if !ok {
			return nil, errSyntax
		}
		return constPoly(r), nil
	case c < 128 && unicode.IsLetter(c):
		if p.noVariable {
			return nil, errSyntax
		}
		v := unicode.ToLower(c)
		if p.variable != 0 && p.variable != v {
			return nil, errSyntax // two variables
		}
		p.variable = v
		p.pos++
		return varPoly(), nil
	}
	return nil, errSyntax
}

// ratSqrt returns the square root of r when it is rational.
func ratSqrt(r *big.Rat) (*big.Rat, bool) {
	if r.Sign() < 0 {
		return nil, false
	}
	n, d := new(big.Int).Sqrt(r.Num()), new(big.Int).Sqrt(r.Denom())
	if new(big.Int).Mul(n, n).Cmp(r.Num()) != 0 || new(big.Int).Mul(d, d).Cmp(r.Denom()) != 0 {
		return nil, false
	}
	return new(big.Rat).SetFrac(n, d), true
}

// fmtRat formats an exact value: "2", "-3", "4/3 (≈ 1.3333)", "2.5".
func fmtRat(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	// A terminating decimal with few digits reads better: 2.5, 0.125.
	if exactDecimal(r, 6) {
		return strings.TrimSuffix(strings.TrimRight(r.FloatString(6), "0"), ".")
	}
	f, _ := r.Float64()
	return r.RatString() + " (≈ " + fmtNum(f) + ")"
}

// exactDecimal reports whether r has at most digits decimal places.
func exactDecimal(r *big.Rat, digits int) bool {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
	t := new(big.Rat).Mul(r, new(big.Rat).SetInt(scale))
	return t.IsInt()
}

// fmtCoef formats a coefficient in front of a variable: "" for 1, "-" for
// −1, else the number.
func fmtCoef(r *big.Rat) string {
	switch {
	case r.Cmp(big.NewRat(1, 1)) == 0:
		return ""
	case r.Cmp(big.NewRat(-1, 1)) == 0:
		return "-"
	case r.IsInt():
		return r.Num().String()
	case exactDecimal(r, 6):
		return fmtRat(r)
	}
	return "(" + r.RatString() + ")"
}
