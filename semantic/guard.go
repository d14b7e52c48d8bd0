package semantic

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/companion-go/companion/cache"
)

// GuardKind names one of the guards a semantic hit must pass.
type GuardKind string

// The guards, in the order [Guards.Check] runs them. The first that fails
// names the rejection.
const (
	// GuardNumber: the numbers must agree, as a multiset of values, and the
	// numbers without a unit must come in the same order ("15% of 80" and
	// "80% of 15" differ; so do "7-3" and "3-7"). Digits, decimals, thousands
	// separators, fractions ("3/4", "四分之三"), negatives ("-2"), percents
	// ("15%", "百分之十五"), English number words and ordinals ("twelve",
	// "second", "2nd"), upper-case Roman numerals of two letters or more
	// ("World War II"), exponents ("squared", "平方"), and Chinese numerals
	// ("三", "二十五", "第二") count; "一" alone, which usually means "a",
	// does not.
	GuardNumber GuardKind = "number"
	// GuardUnit: the units must agree, both the set of units named (a
	// question converting km to miles is not one converting km to metres)
	// and the unit of each number ("5 km to miles" is not "5 miles to km").
	// Spellings of one unit are one unit: "kg", "kilograms", "千克", "公斤".
	GuardUnit GuardKind = "unit"
	// GuardFormula: when both questions hold a formula (a run of numbers,
	// one-letter variables and operators such as "2x+3=7" or "x^2"), their
	// formulas must be the same, so "2x+3=7" and "2x-3=7" differ.
	GuardFormula GuardKind = "formula"
	// GuardNegation: both questions are negated, or neither: "not", "no",
	// "never", "doesn't", "without", 不, 没, 无, 非, 未, counted with the
	// exceptions of question forms (是不是, 有没有) and words where they do
	// not negate (不同, 非常, 是否).
	GuardNegation GuardKind = "negation"
	// GuardContrast: no term of a contrast group may be swapped for
	// another of the same group ("second"/"third", "acid"/"base",
	// "上"/"下", "area"/"perimeter"). See [DefaultContrastTerms].
	GuardContrast GuardKind = "contrast"
	// GuardOrder: things contrasted must be in the same order: two members
	// of a contrast group ("is a square a rectangle?" and "is a rectangle
	// a square?") and the two sides of a comparison ("is a mouse heavier
	// than an elephant?", "狗比猫大吗"). A question that merely lists two
	// things in the other order ("acids and bases", "bases and acids") is
	// refused too: a miss is cheaper than a wrong answer.
	GuardOrder GuardKind = "order"
	// GuardTerm: the questions' key terms must not be swapped. A content
	// word (or, in Chinese, a content character) of each question that the
	// other lacks means each asks about something the other does not, as in
	// "the capital of Australia" and "the capital of Austria", or "光合作用"
	// and "呼吸作用". Words that only one question adds ("Newton's second
	// law of motion") are allowed; question words ("what", "explain",
	// "什么", "请问"), function words and inflections do not count. Quoted
	// text ("the past tense of 'go'") must not be swapped either.
	GuardTerm GuardKind = "term"
)

// guardKinds lists the guards in order.
var guardKinds = []GuardKind{GuardNumber, GuardUnit, GuardFormula, GuardNegation, GuardContrast, GuardOrder, GuardTerm}

// Guards decides whether the answer to one question may be served for
// another that the embedder found similar. The zero value uses
// [DefaultContrastTerms]; [NewGuards] sets other terms. A Guards is safe
// for concurrent use.
type Guards struct {
	once   sync.Once
	groups *contrastSet
}

// NewGuards returns guards with the given contrast groups. Each group is a
// list of alternatives that must not be swapped for one another; each
// alternative is one or more synonyms separated by "|", English (matched
// as whole words after the same folding and stemming as questions, so
// "base" matches "bases") or Chinese (matched as a substring), for
// example:
//
//	[]string{"acid|acidic|酸", "base|alkali|碱"}
//
// A group of a single alternative is a marker that must be on both sides
// or on neither: []string{"prove|proof|证明"} keeps "prove the theorem"
// from the answer to "explain the theorem". With groups nil,
// [DefaultContrastTerms] are used; to extend them, append to
// DefaultContrastTerms(). It returns an error matching [ErrInvalidConfig]
// for an empty alternative.
func NewGuards(groups [][]string) (*Guards, error) {
	if groups == nil {
		groups = DefaultContrastTerms()
	}
	cs, err := compileContrast(groups)
	if err != nil {
		return nil, err
	}
	g := &Guards{groups: cs}
	g.once.Do(func() {})
	return g, nil
}

func (g *Guards) contrast() *contrastSet {
	g.once.Do(func() {
		if g.groups == nil {
			g.groups = defaultContrastSet()
		}
	})
	return g.groups
}

// Check reports whether the answer cached for question cached may be
// served for question asked. When it may not, kind names the first guard
// that failed. It never fails on any input; an empty or unreadable
// question agrees only with one that has the same facts (none).
func (g *Guards) Check(cached, asked string) (kind GuardKind, ok bool) {
	cs := g.contrast()
	return compareFacts(extractFacts(cached, cs), extractFacts(asked, cs))
}

// facts returns the facts of a question already tokenized.
func (g *Guards) facts(text string, toks []token) *facts {
	return factsOf(text, toks, g.contrast())
}

// DefaultContrastTerms returns a copy of the default contrast groups:
// pairs and sets of school terms, English and Chinese, that are close in
// any embedding but ask different things: opposites (larger/smaller,
// increase/decrease, float/sink, 上/下), siblings of one family
// (proton/neutron/electron, area/perimeter/volume, radius/diameter and
// their letters r/d, derivative/integral, acid/base/salt,
// mean/median/mode, noun/verb, evaporation/condensation/melting), and
// markers of a different task (prove, derive, example). The comparison
// group, the first whose alternatives hold "larger" and "less" (here and
// in groups given to [NewGuards]), is directed: a direction asked on one
// side only ("which is smaller?" against "compare them") fails too.
// Ordinals ("second"/"third") are numbers, compared by [GuardNumber].
func DefaultContrastTerms() [][]string {
	out := make([][]string, len(defaultContrast))
	for i, g := range defaultContrast {
		out[i] = slices.Clone(g)
	}
	return out
}

var defaultContrast = [][]string{
	// comparison and change
	{"larger|bigger|greater|more|higher|taller|longer|heavier|faster|older|更大|较大|大于|更多|更高|更长|更重|更快|哪个大",
		"smaller|less|fewer|lower|shorter|lighter|slower|younger|更小|较小|小于|更少|更低|更短|更轻|更慢|哪个小"},
	{"largest|biggest|greatest|highest|tallest|longest|heaviest|fastest|oldest|most|maximum|最大|最高|最长|最重|最快|最多|最老"},
	{"smallest|least|lowest|shortest|lightest|slowest|youngest|fewest|minimum|最小|最低|最短|最轻|最慢|最少"},
	{"increase|rise|grow|增加|增大|上升|升高|变大", "decrease|fall|drop|shrink|减少|减小|下降|降低|变小"},
	{"上|向上|upward", "下|向下|downward"},
	{"左|左边|左侧|向左", "右|右边|右侧|向右"},
	{"north|北方|北极|北半球", "south|南方|南极|南半球"},
	{"east|东方|向东", "west|西方|向西"},
	{"float|浮", "sink|沉"},
	{"start|begin|beginning|开始|爆发", "end|finish|结束"},
	{"before|之前|以前", "after|之后|以后"},
	{"hot|heat|热", "cold|cool|冷"},
	{"advantage|优点|好处", "disadvantage|缺点|坏处"},
	{"import|进口", "export|出口"},
	{"positive|正数", "negative|负数"},
	{"true|正确", "false|错误"},
	// mathematics
	{"prime|质数|素数", "composite|合数", "odd|奇数", "even|偶数"},
	{"rational|有理数", "irrational|无理数"},
	{"add|addition|plus|sum|加法|相加|之和", "subtract|subtraction|minus|减法|相减|之差",
		"multiply|multiplication|times|product|乘法|相乘|乘以|之积", "divide|division|quotient|除法|相除|除以|之商"},
	{"derivative|differentiate|differentiation|导数|求导|微分", "integral|integrate|integration|antiderivative|积分"},
	{"area|面积", "perimeter|circumference|周长", "volume|体积|容积", "surface area|表面积"},
	{"radius|r|半径", "diameter|d|直径"},
	{"sine|sin|正弦", "cosine|cos|余弦", "tangent|tan|正切"},
	{"average|平均数|平均值", "median|中位数", "mode|众数"},
	{"numerator|分子", "denominator|分母"},
	{"square|正方形", "rectangle|长方形|矩形", "circle|圆形", "triangle|三角形"},
	{"parallel|平行", "perpendicular|垂直"},
	{"factor|因数", "multiple|倍数"},
	// physics and chemistry
	{"speed|velocity|速度|速率", "acceleration|加速度"},
	{"mass|质量", "weight|重量"},
	{"displacement|位移", "distance|距离|路程"},
	{"proton|质子", "neutron|中子", "electron|电子"},
	{"atom|原子", "molecule|分子", "ion|离子"},
	{"acid|acidic|酸", "base|basic|alkali|alkaline|碱", "salt|盐"},
	{"strong|强", "weak|弱"},
	{"metal|金属", "nonmetal|non-metal|非金属"},
	{"oxidation|oxidize|oxidise|氧化", "reduction|reduce|还原"},
	{"conductor|导体", "insulator|绝缘体", "semiconductor|半导体"},
	{"series|串联", "parallel circuit|并联"},
	{"evaporation|evaporate|蒸发|汽化", "condensation|condense|凝结|液化", "melting|melt|熔化|融化",
		"freezing|freeze|凝固", "boiling|boil|沸腾", "sublimation|sublimate|升华"},
	{"boiling point|沸点", "freezing point|凝固点|冰点", "melting point|熔点"},
	{"reflection|reflect|反射", "refraction|refract|折射"},
	{"kinetic|动能", "potential|势能"},
	// biology, earth science
	{"photosynthesis|光合作用", "respiration|呼吸作用", "transpiration|蒸腾作用"},
	{"mitosis|有丝分裂", "meiosis|减数分裂"},
	{"animal|动物", "plant|植物"},
	{"artery|动脉", "vein|静脉"},
	{"dna", "rna"},
	{"sunrise|日出", "sunset|日落|夕阳"},
	// language
	{"noun|名词", "verb|动词", "adjective|形容词", "adverb|副词", "pronoun|代词", "preposition|介词"},
	{"singular|单数", "plural|复数"},
	{"synonym|同义词|近义词", "antonym|反义词"},
	{"past|过去", "present|现在", "future|将来|未来"},
	{"tense|时态", "participle|分词"},
	// a different task on the same topic, or a person asked for
	{"prove|proof|证明"},
	{"who|谁"},
	{"derive|derivation|推导"},
	{"example|举例|例子"},
}

var defaultContrastSet = sync.OnceValue(func() *contrastSet {
	cs, err := compileContrast(defaultContrast)
	if err != nil {
		panic("semantic: default contrast terms: " + err.Error()) // a bug in this file
	}
	return cs
})

// contrastSet is compiled contrast groups, indexed by the first word or
// character of each term.
type contrastSet struct {
	groups []contrastGroup
	en     map[string][]contrastTerm // by first word, longest first
	zh     map[rune][]contrastTerm   // by first character, longest first
	masks  []uint64                  // initial masks: markerBit for markers
	// comparative is the group holding "larger" and "less", which the
	// comparison patterns ("denser than", 比…小) join; -1 for none.
	comparative int
}

// contrastTerm is one synonym of one alternative.
type contrastTerm struct {
	group, alt int
	words      []string // English
	han        []rune   // Chinese
}

type contrastGroup struct {
	alts []contrastAlt
}

// contrastAlt is one alternative: English word sequences and Chinese
// substrings.
type contrastAlt struct {
	en [][]string
	zh []string
}

func compileContrast(groups [][]string) (*contrastSet, error) {
	cs := &contrastSet{}
	for gi, g := range groups {
		if len(g) == 0 {
			return nil, configErrorf("contrast group %d is empty", gi)
		}
		if len(g) > 60 {
			return nil, configErrorf("contrast group %d has more than 60 alternatives", gi)
		}
		var cg contrastGroup
		for ai, alt := range g {
			var ca contrastAlt
			for syn := range strings.SplitSeq(alt, "|") {
				toks := tokenize(syn)
				if len(toks) == 0 {
					return nil, configErrorf("contrast group %d alternative %d has an empty term in %q", gi, ai, alt)
				}
				var words []string
				var han strings.Builder
				for _, t := range toks {
					switch t.kind {
					case tokHan:
						han.WriteString(t.text)
					default:
						words = append(words, t.text)
					}
				}
				switch {
				case han.Len() > 0 && len(words) == 0:
					ca.zh = append(ca.zh, han.String())
				case han.Len() == 0:
					ca.en = append(ca.en, words)
				default:
					return nil, configErrorf("contrast term %q mixes Chinese and other words", syn)
				}
			}
			cg.alts = append(cg.alts, ca)
		}
		cs.groups = append(cs.groups, cg)
	}
	cs.en = map[string][]contrastTerm{}
	cs.zh = map[rune][]contrastTerm{}
	cs.comparative = -1
	for gi, g := range cs.groups {
		mask := uint64(0)
		if len(g.alts) == 1 {
			mask = markerBit
		}
		cs.masks = append(cs.masks, mask)
		if cs.comparative < 0 && len(g.alts) >= 2 && altHas(g.alts[0], "larger") && altHas(g.alts[1], "less") {
			cs.comparative = gi
			cs.masks[gi] |= directedBit
		}
		for ai, a := range g.alts {
			for _, w := range a.en {
				cs.en[w[0]] = append(cs.en[w[0]], contrastTerm{group: gi, alt: ai, words: w})
			}
			for _, z := range a.zh {
				r := []rune(z)
				cs.zh[r[0]] = append(cs.zh[r[0]], contrastTerm{group: gi, alt: ai, han: r})
			}
		}
	}
	for _, ts := range cs.en {
		slices.SortStableFunc(ts, func(a, b contrastTerm) int { return len(b.words) - len(a.words) })
	}
	for _, ts := range cs.zh {
		slices.SortStableFunc(ts, func(a, b contrastTerm) int { return len(b.han) - len(a.han) })
	}
	return cs, nil
}

// facts are what the guards compare of one question.
type facts struct {
	nums     []quantity      // in order of appearance
	units    map[string]bool // every unit named, with a number or not
	formulas []string        // sorted, deduplicated
	negation int             // count of negations
	contrast []uint64        // per group: bit i set when alternative i is present
	terms    map[string]bool // content words and characters
	// focus: the terms that name what is asked about: "population" in
	// "the population of Australia", 公式 in "牛顿第二定律的公式"; one
	// word, or the characters of one Chinese word.
	focus [][]string
	// contrastOrder: per group with two alternatives or more present,
	// the alternatives in order of first appearance.
	contrastOrder map[int][]int
	// comparisons: the content of both sides of each comparison.
	comparisons [][2][]string
	quotes      map[string]bool // quoted text
	text        string          // the question
}

// quantity is a number and its unit ("" for none).
type quantity struct {
	val  float64
	unit string
}

func (q quantity) key() string { return strconv.FormatFloat(q.val, 'g', 10, 64) }

// compareFacts runs the guards in order.
func compareFacts(a, b *facts) (GuardKind, bool) {
	if !sameNumbers(a.nums, b.nums) {
		return GuardNumber, false
	}
	if !sameUnits(a, b) {
		return GuardUnit, false
	}
	if len(a.formulas) > 0 && len(b.formulas) > 0 && !slices.Equal(a.formulas, b.formulas) {
		return GuardFormula, false
	}
	if a.negation%2 != b.negation%2 {
		return GuardNegation, false
	}
	for i := range a.contrast {
		x, y := a.contrast[i], b.contrast[i]
		if x == y {
			continue
		}
		if x&markerBit != 0 {
			return GuardContrast, false // a marker on one side only
		}
		if x&directedBit != 0 && (x&^directedBit == 0) != (y&^directedBit == 0) {
			return GuardContrast, false // a direction asked on one side only
		}
		if x&^y != 0 && y&^x != 0 {
			return GuardContrast, false // a swap within the group
		}
	}
	if swappedOrder(a, b) {
		return GuardOrder, false
	}
	if swapped(a.quotes, b.quotes, false) || quoteMissing(a, b) || quoteMissing(b, a) || swapped(a.terms, b.terms, true) ||
		focusMissing(a, b) || focusMissing(b, a) {
		return GuardTerm, false
	}
	return "", true
}

// markerBit marks the mask of a group of one alternative, a marker that
// must be on both sides or on neither.
const markerBit = 1 << 62

// directedBit marks the comparative group ("larger", "less"): a question
// that asks for one direction ("which is smaller?") is not answered by
// one that names none ("compare 3/4 and 5/8", whose answer says which is
// larger), so a direction on one side only fails, like a marker.
const directedBit = 1 << 61

func sameNumbers(a, b []quantity) bool {
	if len(a) != len(b) {
		return false
	}
	av := make([]float64, len(a))
	bv := make([]float64, len(b))
	for i := range a {
		av[i], bv[i] = a[i].val, b[i].val
	}
	slices.Sort(av)
	slices.Sort(bv)
	for i := range av {
		if !sameValue(av[i], bv[i]) {
			return false
		}
	}
	// Numbers without a unit must come in the same order.
	var ao, bo []float64
	for _, q := range a {
		if q.unit == "" {
			ao = append(ao, q.val)
		}
	}
	for _, q := range b {
		if q.unit == "" {
			bo = append(bo, q.val)
		}
	}
	if len(ao) != len(bo) {
		return true // units differ; the unit guard says so
	}
	for i := range ao {
		if !sameValue(ao[i], bo[i]) {
			return false
		}
	}
	return true
}

// finite maps NaN and infinities (numerals too long for a float64) to
// the largest float64, so that they compare equal to themselves.
func finite(v float64) float64 {
	switch {
	case math.IsNaN(v), math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

func sameValue(x, y float64) bool {
	if x == y {
		return true
	}
	if math.IsInf(x, 0) || math.IsInf(y, 0) || math.IsNaN(x) || math.IsNaN(y) {
		return false
	}
	return math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y))
}

func sameUnits(a, b *facts) bool {
	if len(a.units) != len(b.units) {
		return false
	}
	for u := range a.units {
		if !b.units[u] {
			return false
		}
	}
	// The unit of each number.
	ak := make([]string, 0, len(a.nums))
	bk := make([]string, 0, len(b.nums))
	for _, q := range a.nums {
		ak = append(ak, q.key()+" "+q.unit)
	}
	for _, q := range b.nums {
		bk = append(bk, q.key()+" "+q.unit)
	}
	slices.Sort(ak)
	slices.Sort(bk)
	return slices.Equal(ak, bk)
}

// swapped reports whether each set has an element the other lacks (with
// fuzzy, for words that differ only in their endings, "mitochondria" and
// "mitochondrion", counting as the same).
func swapped(a, b map[string]bool, fuzzy bool) bool {
	return hasMissing(a, b, fuzzy) && hasMissing(b, a, fuzzy)
}

// focusMissing reports whether a asks about something b does not name at
// all: a term of a's focus that b lacks ("the population of the capital
// of Australia" asks more than "the capital of Australia").
func focusMissing(a, b *facts) bool {
	for _, seg := range a.focus {
		found := len(seg) == 0
		for _, w := range seg {
			if b.terms[w] || fuzzyIn(w, b.terms) {
				found = true
				break
			}
		}
		if !found {
			return true
		}
	}
	return false
}

// quoteMissing reports whether a quotes a text that b neither quotes nor
// contains: "the past tense of 'do'" is not "the past tense of go",
// though both words are too short and common to count as terms.
func quoteMissing(a, b *facts) bool {
	norm, folded := "", false
	for q := range a.quotes {
		if b.quotes[q] {
			continue
		}
		if !folded { // only now: most questions quote nothing
			norm, folded = cache.Normalize(b.text), true
		}
		if !containsPhrase(norm, q) {
			return true
		}
	}
	return false
}

// containsPhrase reports whether the normalized text s holds phrase as
// whole words (Chinese characters need no boundary).
func containsPhrase(s, phrase string) bool {
	first, _ := utf8.DecodeRuneInString(phrase)
	last, _ := utf8.DecodeLastRuneInString(phrase)
	for off := 0; ; {
		i := strings.Index(s[off:], phrase)
		if i < 0 {
			return false
		}
		i += off
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[i+len(phrase):])
		if (i == 0 || !wordRune(before) || !wordRune(first)) &&
			(i+len(phrase) == len(s) || !wordRune(after) || !wordRune(last)) {
			return true
		}
		off = i + 1
	}
}

// wordRune reports whether r belongs to a word that needs a boundary: a
// letter or digit outside the Han script.
func wordRune(r rune) bool {
	return (unicode.IsLetter(r) || unicode.IsDigit(r)) && !unicode.Is(unicode.Han, r)
}

func hasMissing(a, b map[string]bool, fuzzy bool) bool {
	for w := range a {
		if b[w] {
			continue
		}
		if fuzzy && fuzzyIn(w, b) {
			continue
		}
		return true
	}
	return false
}

func fuzzyIn(w string, set map[string]bool) bool {
	if len(w) < 6 || !isASCIILower(w) {
		return false
	}
	for x := range set {
		if len(x) < 6 || !isASCIILower(x) {
			continue
		}
		p := commonPrefix(w, x)
		if p >= 6 && float64(p) >= 0.75*float64(min(len(w), len(x))) {
			return true
		}
	}
	return false
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// ---- extraction ----

// extractFacts reads the facts of a question.
func extractFacts(text string, cs *contrastSet) *facts {
	return factsOf(text, tokenize(text), cs)
}

// factsOf reads the facts of text, tokenized as toks.
func factsOf(text string, toks []token, cs *contrastSet) *facts {
	f := &facts{units: map[string]bool{}, terms: map[string]bool{}, quotes: quotedSpans(text), text: text}
	used := make([]bool, len(toks)) // consumed by a number or a unit
	extractNumbers(toks, used, f)
	for i, q := range f.nums {
		f.nums[i].val = finite(q.val)
	}
	extractFormulas(toks, f)
	inTerm := slices.Clone(used) // also consumed by a contrast term
	extractContrast(toks, inTerm, cs, f)
	f.negation = countNegations(toks, inTerm)
	extractTerms(toks, used, f)
	return f
}

// ---- numbers and units ----

// Unit spellings, canonical after stem and canonWord, mapped to a unit.
// unitAfterNumber are recognized right after a number; bareUnits
// anywhere.
var unitAfterNumber = map[string]string{
	"km": "km", "m": "m", "cm": "cm", "mm": "mm", "kg": "kg", "g": "g", "mg": "mg", "mi": "mi",
	"ft": "ft", "in": "in", "lb": "lb", "oz": "oz", "l": "l", "ml": "ml", "s": "s", "second": "s",
	"min": "min", "h": "h", "day": "day", "week": "week", "month": "month", "year": "year",
	"n": "N", "newton": "N", "j": "J", "joule": "J", "kj": "kJ", "w": "W", "watt": "W", "kw": "kW",
	"v": "V", "volt": "V", "ampere": "A", "amp": "A", "ohm": "ohm", "pa": "Pa", "kpa": "kPa",
	"pascal": "Pa", "hz": "Hz", "hertz": "Hz", "mol": "mol", "mole": "mol", "degree": "deg",
	"celsiu": "°C", "celsius": "°C", "fahrenheit": "°F", "kelvin": "K", "k": "K", "mph": "mph",
	"kph": "km/h", "yard": "yd", "yd": "yd", "gallon": "gal", "ton": "t", "tonne": "t",
	"dollar": "$", "yuan": "元", "cent": "cent", "%": "%",
}

var bareUnits = map[string]string{
	"km": "km", "cm": "cm", "mm": "mm", "kg": "kg", "mg": "mg", "mi": "mi", "lb": "lb", "oz": "oz",
	"ml": "ml", "ft": "ft", "yard": "yd", "gallon": "gal", "celsiu": "°C", "celsius": "°C",
	"fahrenheit": "°F", "kelvin": "K", "joule": "J", "watt": "W", "volt": "V", "ampere": "A",
	"ohm": "ohm", "pascal": "Pa", "hertz": "Hz", "mph": "mph", "kph": "km/h",
}

// bareUnitRaw are long spellings that are units wherever they appear,
// though their canonical form is ambiguous ("m", "g", "l", "in").
var bareUnitRaw = map[string]string{
	"meter": "m", "meters": "m", "metre": "m", "metres": "m", "gram": "g", "grams": "g",
	"liter": "l", "liters": "l", "litre": "l", "litres": "l", "inch": "in", "inches": "in",
	"kilometers": "km", "kilometres": "km", "kilometer": "km", "kilometre": "km", "mile": "mi", "miles": "mi",
	"pound": "lb", "pounds": "lb", "ounce": "oz", "ounces": "oz", "foot": "ft", "feet": "ft",
}

// zhUnits are Chinese units, longest first: after a number, or anywhere
// when zhBare.
var zhUnits = func() []zhUnit {
	u := []zhUnit{
		{"平方千米", "km^2", true}, {"平方公里", "km^2", true}, {"平方厘米", "cm^2", true}, {"平方米", "m^2", true},
		{"立方厘米", "cm^3", true}, {"立方米", "m^3", true}, {"千米每小时", "km/h", true}, {"米每秒", "m/s", true},
		{"摄氏度", "°C", true}, {"华氏度", "°F", true}, {"千米", "km", true}, {"公里", "km", true},
		{"厘米", "cm", true}, {"毫米", "mm", true}, {"千克", "kg", true}, {"公斤", "kg", true}, {"毫克", "mg", true},
		{"英里", "mi", true}, {"英尺", "ft", true}, {"英寸", "in", true}, {"毫升", "ml", true}, {"焦耳", "J", true},
		{"千瓦", "kW", true}, {"瓦特", "W", true}, {"伏特", "V", true}, {"安培", "A", true}, {"欧姆", "ohm", true},
		{"帕斯卡", "Pa", true}, {"赫兹", "Hz", true}, {"牛顿", "N", false}, {"分钟", "min", true}, {"小时", "h", true},
		{"米", "m", false}, {"克", "g", false}, {"秒", "s", false}, {"升", "l", false}, {"牛", "N", false},
		{"焦", "J", false}, {"瓦", "W", false}, {"伏", "V", false}, {"安", "A", false}, {"帕", "Pa", false},
		{"度", "deg", false}, {"斤", "jin", false}, {"吨", "t", false}, {"元", "元", false}, {"年", "year", false},
		{"天", "day", false}, {"周", "week", false}, {"个月", "month", false}, {"岁", "year", false},
	}
	slices.SortStableFunc(u, func(a, b zhUnit) int { return len(b.s) - len(a.s) })
	return u
}()

type zhUnit struct {
	s    string
	unit string
	bare bool // a unit wherever it appears
}

// singleLetterUnits need a number before them and no operator or digit
// after ("2n+1" is a formula).
var englishNumbers = map[string]float64{
	"zero": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
	"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
	"seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
	"sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
	"million": 1e6, "billion": 1e9,
	"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
	"ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "twentieth": 20, "hundredth": 100,
	"squared": 2, "cubed": 3, "half": 0.5, "twice": 2, "double": 2, "triple": 3,
}

const zhDigits = "零〇一二三四五六七八九两俩十百千万亿"

func zhDigit(r rune) (v int, mult int, ok bool) {
	switch r {
	case '零', '〇':
		return 0, 0, true
	case '一':
		return 1, 0, true
	case '二', '两', '俩':
		return 2, 0, true
	case '三':
		return 3, 0, true
	case '四':
		return 4, 0, true
	case '五':
		return 5, 0, true
	case '六':
		return 6, 0, true
	case '七':
		return 7, 0, true
	case '八':
		return 8, 0, true
	case '九':
		return 9, 0, true
	case '十':
		return 0, 10, true
	case '百':
		return 0, 100, true
	case '千':
		return 0, 1000, true
	case '万':
		return 0, 10000, true
	case '亿':
		return 0, 100000000, true
	}
	return 0, 0, false
}

// notNumeralYi: 一 in these words is not a number ("统一", "一下").
const (
	yiBefore = "统唯同单之万逐专划哪每另任其"
	yiAfter  = "下些样起直定般切旦共致边同再向点会种般只元"
)

func extractNumbers(toks []token, used []bool, f *facts) {
	addUnit := func(u string) { f.units[u] = true }
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tokNum:
			val, err := strconv.ParseFloat(t.text, 64)
			if err != nil || math.IsInf(val, 0) {
				val = math.MaxFloat64
			}
			used[i] = true
			j := i + 1
			// a fraction: 3/4
			if j+1 < len(toks) && toks[j].text == "/" && toks[j].glued && toks[j+1].kind == tokNum && toks[j+1].glued {
				if d, err := strconv.ParseFloat(toks[j+1].text, 64); err == nil && d != 0 {
					val /= d
					used[j], used[j+1] = true, true
					j += 2
				}
			}
			// a negative number: "-2" at the start or after an operator
			if i > 0 && toks[i-1].text == "-" && toks[i].glued && (i == 1 || isOperatorTok(toks[i-2]) || !toks[i-1].glued) {
				val = -val
			}
			q := quantity{val: val}
			// a unit right after it
			if u, n := unitAt(toks, j); n > 0 {
				q.unit = u
				addUnit(u)
				for k := j; k < j+n; k++ {
					used[k] = true
				}
				j += n
			}
			f.nums = append(f.nums, q)
			i = j - 1
		case tokWord:
			v, ok := englishNumbers[t.raw]
			if !ok {
				v, ok = englishNumbers[t.text]
			}
			if ok && !(t.text == "second" && i > 0 && toks[i-1].kind == tokNum) {
				used[i] = true
				// "twenty-five", "twenty five"
				if v >= 20 && v < 100 && math.Mod(v, 10) == 0 {
					k := i + 1
					if k < len(toks) && toks[k].text == "-" {
						k++
					}
					if k < len(toks) && toks[k].kind == tokWord {
						if w, ok := englishNumbers[toks[k].text]; ok && w > 0 && w < 10 {
							v += w
							for x := i + 1; x <= k; x++ {
								used[x] = true
							}
							i = k
						}
					}
				}
				f.nums = append(f.nums, quantity{val: v})
				continue
			}
			if u, ok := bareUnitRaw[t.raw]; ok {
				used[i] = true
				addUnit(u)
				continue
			}
			if u, ok := bareUnits[t.text]; ok {
				used[i] = true
				addUnit(u)
			}
		case tokHan:
			j := i
			for j < len(toks) && toks[j].kind == tokHan {
				j++
			}
			extractZhNumbers(toks, i, j, used, f)
			i = j - 1
		}
	}
}

// unitAt returns the unit that starts at toks[j] (just after a number)
// and how many tokens it spans.
func unitAt(toks []token, j int) (string, int) {
	if j >= len(toks) {
		return "", 0
	}
	t := toks[j]
	switch t.kind {
	case tokSym:
		switch t.text {
		case "%":
			return "%", 1
		case "°":
			if j+1 < len(toks) && toks[j+1].kind == tokWord && toks[j+1].glued {
				switch toks[j+1].text {
				case "c":
					return "°C", 2
				case "f":
					return "°F", 2
				}
			}
			return "deg", 1
		case "$":
			return "$", 1
		case "℃":
			return "°C", 1
		}
	case tokWord:
		u, ok := unitAfterNumber[t.text]
		if !ok {
			if u, ok = bareUnitRaw[t.raw]; !ok {
				return "", 0
			}
		}
		// a one-letter unit glued to an operator or a digit is a variable
		// ("2n+1", "3x")
		if utf8.RuneCountInString(t.raw) == 1 {
			if t.glued && j+1 < len(toks) && toks[j+1].glued && (isOperatorTok(toks[j+1]) || toks[j+1].kind == tokNum) {
				return "", 0
			}
			if t.raw == "x" || t.raw == "y" || t.raw == "z" {
				return "", 0
			}
		}
		// "km/h", "m/s"
		if j+2 < len(toks) && toks[j+1].text == "/" && toks[j+2].kind == tokWord && toks[j+1].glued && toks[j+2].glued {
			if d, ok := unitAfterNumber[toks[j+2].text]; ok {
				return u + "/" + d, 3
			}
		}
		return u, 1
	case tokHan:
		s := hanRun(toks, j)
		for _, zu := range zhUnits {
			if strings.HasPrefix(s, zu.s) {
				return zu.unit, utf8.RuneCountInString(zu.s)
			}
		}
		if rest, ok := strings.CutPrefix(s, "个"); ok { // 3个小时
			for _, zu := range zhUnits {
				if strings.HasPrefix(rest, zu.s) {
					return zu.unit, 1 + utf8.RuneCountInString(zu.s)
				}
			}
		}
	}
	return "", 0
}

// hanRun returns the text of the run of Chinese tokens from toks[j].
func hanRun(toks []token, j int) string {
	var b strings.Builder
	for k := j; k < len(toks) && toks[k].kind == tokHan && k < j+8; k++ {
		b.WriteString(toks[k].text)
	}
	return b.String()
}

// extractZhNumbers reads Chinese numerals, fractions, percents,
// ordinals, exponents and units in toks[from:to], a run of characters.
func extractZhNumbers(toks []token, from, to int, used []bool, f *facts) {
	runes := make([]rune, 0, to-from)
	for k := from; k < to; k++ {
		r, _ := utf8.DecodeRuneInString(toks[k].text)
		runes = append(runes, r)
	}
	has := func(p int, s string) bool {
		k := p
		for _, r := range s {
			if k >= len(runes) || runes[k] != r {
				return false
			}
			k++
		}
		return true
	}
	mark := func(p, n int) {
		for k := p; k < p+n && from+k < to; k++ {
			used[from+k] = true
		}
	}
	isNumeral := func(p int) bool {
		if p >= len(runes) {
			return false
		}
		_, _, ok := zhDigit(runes[p])
		return ok
	}
	for p := 0; p < len(runes); p++ {
		// units named without a number: "多少英里", "换算成英里"
		if u, n := zhUnitAt(runes, p, true); n > 0 && !(p > 0 && isNumeral(p-1)) {
			f.units[u] = true
			mark(p, n)
			p += n - 1
			continue
		}
		if (has(p, "多少") || has(p, "几")) && p+2 <= len(runes) {
			q := p + 2
			if runes[p] == '几' {
				q = p + 1
			}
			if u, n := zhUnitAt(runes, q, false); n > 0 && u != "deg" && u != "year" && u != "day" {
				f.units[u] = true
				mark(q, n)
				p = q + n - 1
				continue
			}
		}
		switch {
		case has(p, "百分之") && isNumeral(p+3):
			v, n := zhNumeral(runes, p+3)
			if n > 0 {
				f.nums = append(f.nums, quantity{val: v, unit: "%"})
				f.units["%"] = true
				mark(p, 3+n)
				p += 3 + n - 1
				continue
			}
		case has(p, "平方") || has(p, "立方"):
			v := 2.0
			if runes[p] == '立' {
				v = 3
			}
			f.nums = append(f.nums, quantity{val: v})
			mark(p, 2)
			p++
			continue
		case runes[p] == '第' && isNumeral(p+1):
			v, n := zhNumeral(runes, p+1)
			if n > 0 {
				f.nums = append(f.nums, quantity{val: v})
				mark(p, 1+n)
				p += n
				continue
			}
		}
		if !isNumeral(p) {
			continue
		}
		if runes[p] == '一' && (p > 0 && strings.ContainsRune(yiBefore, runes[p-1]) ||
			p+1 < len(runes) && strings.ContainsRune(yiAfter, runes[p+1])) {
			continue
		}
		v, n := zhNumeral(runes, p)
		if n == 0 {
			continue
		}
		// a fraction: 四分之三 is 3/4
		if has(p+n, "分之") && isNumeral(p+n+2) {
			if num, m := zhNumeral(runes, p+n+2); m > 0 && v != 0 {
				f.nums = append(f.nums, quantity{val: num / v})
				mark(p, n+2+m)
				p += n + 2 + m - 1
				continue
			}
		}
		if n == 1 && runes[p] == '一' && !(p+1 < len(runes) && zhUnitStarts(runes, p+1)) {
			continue // "一" alone usually means "a"
		}
		q := quantity{val: v}
		m := 0
		if u, k := zhUnitAt(runes, skipMeasure(runes, p+n), false); k > 0 {
			q.unit = u
			f.units[u] = true
			m = skipMeasure(runes, p+n) - (p + n) + k
			mark(p+n, m)
		}
		f.nums = append(f.nums, q)
		mark(p, n)
		p += n + m - 1
	}
	// A unit right after an Arabic number that ends before this run was
	// read by extractNumbers.
}

// skipMeasure skips a measure word between a number and its unit:
// 3个小时.
func skipMeasure(runes []rune, p int) int {
	if p < len(runes) && runes[p] == '个' {
		if _, n := zhUnitAt(runes, p+1, false); n > 0 {
			return p + 1
		}
	}
	return p
}

func zhUnitStarts(runes []rune, p int) bool {
	_, n := zhUnitAt(runes, p, false)
	return n > 0
}

// zhUnitAt returns the Chinese unit at runes[p:]; with bareOnly only the
// units recognized without a number.
func zhUnitAt(runes []rune, p int, bareOnly bool) (string, int) {
	if p >= len(runes) {
		return "", 0
	}
	for _, zu := range zhUnits {
		if bareOnly && !zu.bare {
			continue
		}
		n := utf8.RuneCountInString(zu.s)
		if p+n > len(runes) {
			continue
		}
		if string(runes[p:p+n]) == zu.s {
			return zu.unit, n
		}
	}
	return "", 0
}

// zhNumeral parses the Chinese numeral at runes[p:], returning its value
// and length. "二十五" is 25, "一九四五" (digit by digit) 1945, "两" 2.
// It stops before a unit that starts with a numeral character ("千米").
func zhNumeral(runes []rune, p int) (float64, int) {
	end := p
	for end < len(runes) {
		if _, _, ok := zhDigit(runes[end]); !ok {
			break
		}
		if end > p && zhUnitStarts(runes, end) {
			break
		}
		end++
	}
	n := end - p
	if n == 0 {
		return 0, 0
	}
	hasMult := false
	for _, r := range runes[p:end] {
		if _, m, _ := zhDigit(r); m > 0 {
			hasMult = true
		}
	}
	if !hasMult {
		v := 0.0
		for _, r := range runes[p:end] {
			d, _, _ := zhDigit(r)
			v = v*10 + float64(d)
		}
		return v, n
	}
	var total, section, digit float64
	for _, r := range runes[p:end] {
		d, m, _ := zhDigit(r)
		switch {
		case m == 0:
			digit = float64(d)
		case m >= 10000:
			section = (section + digit) * float64(m)
			total += section
			section, digit = 0, 0
		default:
			if digit == 0 {
				digit = 1 // "十五" is 15
			}
			section += digit * float64(m)
			digit = 0
		}
	}
	return total + section + digit, n
}

// ---- formulas ----

func isOperatorTok(t token) bool {
	return t.kind == tokSym && isOperator(t.text)
}

func isOperator(s string) bool {
	switch s {
	case "+", "-", "*", "/", "^", "=", "<", ">", "×", "÷", "≤", "≥", "≠", "±", "√", "·", "−", "!":
		return true
	}
	return false
}

// mathWords may be part of a formula besides one-letter variables.
var mathWords = setOf("sin", "cos", "tan", "log", "ln", "exp", "sqrt", "lim", "dx", "dy")

func formulaToken(t token) bool {
	switch t.kind {
	case tokNum:
		return true
	case tokSym:
		return isOperator(t.text) || t.text == "(" || t.text == ")" || t.text == "." || t.text == ","
	case tokWord:
		if _, ok := mathWords[t.raw]; ok {
			return true
		}
		return utf8.RuneCountInString(t.raw) == 1
	}
	return false
}

func extractFormulas(toks []token, f *facts) {
	for i := 0; i < len(toks); {
		if !formulaToken(toks[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(toks) && toks[j].glued && formulaToken(toks[j]) {
			j++
		}
		if s, ok := formulaText(toks[i:j]); ok {
			f.formulas = append(f.formulas, s)
		}
		i = j
	}
	slices.Sort(f.formulas)
	f.formulas = slices.Compact(f.formulas)
}

// formulaText returns the canonical text of a run of formula tokens, and
// whether it is a formula: an operator between two operands, other than
// the slash of a fraction between two numbers.
func formulaText(run []token) (string, bool) {
	for len(run) > 0 && run[len(run)-1].kind == tokSym && run[len(run)-1].text != ")" && run[len(run)-1].text != "!" {
		run = run[:len(run)-1]
	}
	for len(run) > 0 && run[0].kind == tokSym && run[0].text != "(" && run[0].text != "-" && run[0].text != "√" {
		run = run[1:]
	}
	ops := 0
	vars := 0
	for k, t := range run {
		if t.kind == tokWord {
			vars++
		}
		if !isOperatorTok(t) {
			continue
		}
		if t.text == "/" && k > 0 && k+1 < len(run) && run[k-1].kind == tokNum && run[k+1].kind == tokNum {
			continue // a fraction
		}
		if t.text == "-" && k == 0 {
			continue // a negative number
		}
		ops++
	}
	if ops == 0 || len(run) < 2 {
		return "", false
	}
	if vars == 0 && len(run) == 2 {
		return "", false
	}
	var b strings.Builder
	for _, t := range run {
		switch t.text {
		case "×", "·":
			b.WriteByte('*')
		case "÷":
			b.WriteByte('/')
		case "−":
			b.WriteByte('-')
		default:
			b.WriteString(t.raw)
		}
	}
	return b.String(), true
}

// ---- negation ----

var negationWords = setOf("not", "no", "never", "none", "nothing", "neither", "nor", "cannot", "cant",
	"dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "wouldnt", "shouldnt",
	"couldnt", "hasnt", "havent", "hadnt", "aint", "without", "nobody", "nowhere")

// zhNegNot are words containing a negation character that do not negate.
var zhNegNot = []string{"不同", "不断", "不仅", "不但", "不过", "不管", "不论", "差不多", "不少", "不久",
	"非常", "无论", "是否", "能否", "可否", "否则", "与否", "无限", "未来", "未知数", "无数"}

func countNegations(toks []token, used []bool) int {
	n := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tokWord:
			if _, ok := negationWords[t.text]; ok {
				n++
			}
		case tokHan:
			if used[i] {
				continue
			}
			r, _ := utf8.DecodeRuneInString(t.text)
			if !strings.ContainsRune("不没无非未莫勿否甭", r) {
				continue
			}
			// A-not-A question forms: 是不是, 有没有, 能不能
			if (r == '不' || r == '没') && i > 0 && i+1 < len(toks) && toks[i-1].kind == tokHan && toks[i+1].text == toks[i-1].text {
				continue
			}
			if r == '没' && i+1 < len(toks) && toks[i+1].text == "有" && i > 0 && toks[i-1].text == "有" {
				continue
			}
			if zhNegException(toks, i) {
				continue
			}
			n++
		}
	}
	return n
}

// zhNegException reports whether the negation character at toks[i] is part
// of a word where it does not negate.
func zhNegException(toks []token, i int) bool {
	for _, w := range zhNegNot {
		wr := []rune(w)
		for off := range wr {
			start := i - off
			if start < 0 || start+len(wr) > len(toks) {
				continue
			}
			match := true
			for k, r := range wr {
				if toks[start+k].kind != tokHan || toks[start+k].text != string(r) {
					match = false
					break
				}
			}
			if match {
				return true
			}
		}
	}
	return false
}

// ---- contrast terms ----

func extractContrast(toks []token, used []bool, cs *contrastSet, f *facts) {
	f.contrast = slices.Clone(cs.masks)
	ng := len(cs.groups)
	covered := make([]int, ng) // per group: end of its last match
	var firsts []contrastHit   // first place of each (group, alternative) found
	note := func(g, alt, at, end int) {
		f.contrast[g] |= 1 << uint(alt)
		covered[g] = end
		for _, h := range firsts {
			if h.group == g && h.alt == alt {
				return
			}
		}
		firsts = append(firsts, contrastHit{g, alt, at})
	}
	for i, t := range toks {
		switch t.kind {
		case tokHan:
			r, _ := utf8.DecodeRuneInString(t.text)
			for _, ct := range cs.zh[r] {
				if i < covered[ct.group] || i+len(ct.han) > len(toks) {
					continue
				}
				ok := true
				for k, hr := range ct.han {
					tk := toks[i+k]
					if tk.kind != tokHan {
						ok = false
						break
					}
					if r2, _ := utf8.DecodeRuneInString(tk.text); r2 != hr {
						ok = false
						break
					}
				}
				if ok {
					note(ct.group, ct.alt, i, i+len(ct.han))
					for k := range ct.han {
						used[i+k] = true
					}
				}
			}
		default:
			for _, ct := range cs.en[t.text] {
				if i < covered[ct.group] || i+len(ct.words) > len(toks) {
					continue
				}
				ok := true
				for k, w := range ct.words {
					if toks[i+k].kind == tokHan || toks[i+k].text != w {
						ok = false
						break
					}
				}
				if ok {
					note(ct.group, ct.alt, i, i+len(ct.words))
					for k := range ct.words {
						used[i+k] = true
					}
				}
			}
		}
	}
	// "-er than" is a comparative: "denser than water"; so is 比…大/小.
	if g := cs.comparative; g >= 0 {
		for i := 0; i+1 < len(toks); i++ {
			w := toks[i].raw
			if toks[i].kind == tokWord && toks[i+1].text == "than" && len(w) > 3 && strings.HasSuffix(w, "er") && w != "other" && w != "rather" {
				f.contrast[g] |= 1
			}
			if toks[i].kind == tokHan && toks[i].text == "比" {
				for m := i + 1; m < len(toks) && m <= i+8 && toks[m].kind == tokHan; m++ {
					r, _ := utf8.DecodeRuneInString(toks[m].text)
					if strings.ContainsRune("大多高长重快强", r) {
						f.contrast[g] |= 1
						break
					}
					if strings.ContainsRune("小少低短轻慢弱", r) {
						f.contrast[g] |= 2
						break
					}
				}
			}
		}
	}
	// the order of the alternatives of each group found twice or more
	slices.SortStableFunc(firsts, func(a, b contrastHit) int { return a.at - b.at })
	for _, h := range firsts {
		if bitsSet(f.contrast[h.group]&^markerBit) < 2 {
			continue
		}
		if f.contrastOrder == nil {
			f.contrastOrder = map[int][]int{}
		}
		f.contrastOrder[h.group] = append(f.contrastOrder[h.group], h.alt)
	}
	extractComparison(toks, f)
}

// contrastHit is the first place an alternative was found.
type contrastHit struct{ group, alt, at int }

func bitsSet(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// extractComparison reads the two sides of a comparison: the content
// words before and after "than" ("is a mouse heavier than an elephant"),
// the content characters before and after 比 ("狗比猫大").
func extractComparison(toks []token, f *facts) {
	const reach = 4
	content := func(t token) (string, bool) {
		switch t.kind {
		case tokWord:
			if utf8.RuneCountInString(t.raw) < 2 || isStopWord(t.text) {
				return "", false
			}
			return t.text, true
		case tokNum:
			return t.text, true
		case tokHan:
			r, _ := utf8.DecodeRuneInString(t.text)
			if zhTermStop[r] {
				return "", false
			}
			return t.text, true
		}
		return "", false
	}
	for i, t := range toks {
		var pivot bool
		switch {
		case t.kind == tokWord && t.text == "than":
			pivot = true
		case t.kind == tokHan && t.text == "比" && !(i+1 < len(toks) && strings.Contains("较例如值重率赛", toks[i+1].text)):
			pivot = true
		}
		if !pivot {
			continue
		}
		var left, right []string
		for k := i - 1; k >= 0 && len(left) < reach && i-k <= 2*reach; k-- {
			if k == i-1 && toks[k].kind == tokWord && strings.HasSuffix(toks[k].raw, "er") {
				continue // the comparative itself
			}
			if w, ok := content(toks[k]); ok {
				left = append(left, w)
			}
		}
		end := min(len(toks), i+1+2*reach)
		if t.kind == tokHan {
			// the last comparative ends the right side: 比水小, 比大象重
			for k := end - 1; k > i+1; k-- {
				if toks[k].kind != tokHan {
					end = k
					continue
				}
				if r, _ := utf8.DecodeRuneInString(toks[k].text); strings.ContainsRune(zhComparatives, r) {
					end = k
					break
				}
			}
		}
		for k := i + 1; k < end && len(right) < reach; k++ {
			if w, ok := content(toks[k]); ok {
				right = append(right, w)
			}
		}
		if len(left) > 0 && len(right) > 0 {
			f.comparisons = append(f.comparisons, [2][]string{left, right})
		}
	}
}

// zhComparatives are the adjectives that end a 比 comparison.
const zhComparatives = "大多高长重快强小少低短轻慢弱"

// swappedOrder reports whether the facts contrast the same things in the
// opposite order: members of one contrast group ("is a square a
// rectangle" and "is a rectangle a square"), or the sides of a comparison.
func swappedOrder(a, b *facts) bool {
	for gi, sa := range a.contrastOrder {
		sb, ok := b.contrastOrder[gi]
		if !ok || len(sa) != len(sb) || slices.Equal(sa, sb) {
			continue
		}
		x, y := slices.Clone(sa), slices.Clone(sb)
		slices.Sort(x)
		slices.Sort(y)
		if slices.Equal(x, y) {
			return true
		}
	}
	// the i-th comparison of each question
	for i := range min(len(a.comparisons), len(b.comparisons)) {
		ca, cb := a.comparisons[i], b.comparisons[i]
		if overlaps(ca[0], cb[1]) && overlaps(ca[1], cb[0]) && !(overlaps(ca[0], cb[0]) && overlaps(ca[1], cb[1])) {
			return true
		}
	}
	return false
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func altHas(a contrastAlt, w string) bool {
	for _, seq := range a.en {
		if len(seq) == 1 && seq[0] == w {
			return true
		}
	}
	return false
}

// ---- key terms ----

// termStopWords do not count as key terms, besides stopWords: words that
// frame a question or compare things in general.
var termStopWords = setOf("many", "much", "number", "count", "amount", "value", "total", "difference",
	"different", "differ", "between", "vs", "versu", "compare", "comparison", "because", "due", "since",
	"during", "through", "via", "per", "each", "every", "all", "other", "another", "same", "like", "such",
	"use", "used", "using", "us", "convert", "conversion", "equal", "equals", "definition", "concept",
	"idea", "topic", "problem", "equation", "expression", "step", "result", "main", "role",
	"purpose", "usually", "typically", "always", "often", "called", "call", "name", "whether", "while",
	"again", "correct", "right", "wrong", "true", "false", "good", "best", "better", "most", "least",
	"possible", "example", "long", "far", "quick", "quickly", "fast",
	"let", "come", "take", "put", "see", "think", "try", "able")

// zhStopPhrases frame a Chinese question; they are removed before key
// characters are read.
var zhStopPhrases = []string{"为什么", "怎么样", "什么", "怎么", "怎样", "如何", "哪个", "哪些", "哪里", "哪儿",
	"哪一", "多少", "请问", "解释", "说说", "讲讲", "说明", "介绍", "一下", "告诉", "知道", "意思", "原因",
	"区别", "不同", "差别", "差异", "内容", "问题", "方法", "计算", "等于", "是否", "可以", "能否", "关于",
	"因为", "由于", "所以", "因此", "比较", "换算", "转换", "求解", "解答", "一个", "这个", "那个", "还是",
	"或者", "并且", "而且", "以及", "的话", "作用下", "情况下", "条件下", "的时候", "是不是", "有没有",
	"用法", "是指", "指的是", "定义", "概念", "含有", "包含", "具有", "形成", "功能", "作用", "用途"}

// zhTermStop are characters that are not key terms alone.
var zhTermStop = func() map[rune]bool {
	m := map[rune]bool{}
	for _, r := range "的了是吗呢吧啊么你我他她它这那个和与及跟同在有也就都把被将所为之其会能要让得着过请求" +
		"哪几多少谁何呀嘛哦吗等于更较很太还又再该应须从向对到从由以而则即且并或写讲说问解释算用做" {
		m[r] = true
	}
	return m
}()

func extractTerms(toks []token, used []bool, f *facts) {
	// Chinese stop phrases
	skip := make([]bool, len(toks))
	for i := 0; i < len(toks); i++ {
		if toks[i].kind != tokHan {
			continue
		}
		for _, p := range zhStopPhrases {
			pr := []rune(p)
			if i+len(pr) > len(toks) {
				continue
			}
			ok := true
			for k, r := range pr {
				if toks[i+k].kind != tokHan || toks[i+k].text != string(r) {
					ok = false
					break
				}
			}
			if ok {
				for k := range pr {
					skip[i+k] = true
				}
			}
		}
	}
	seen := map[rune]int{} // occurrences of each Chinese character so far
	afterDe := false       // in the head of "…的X": the thing asked about
	for i, t := range toks {
		if t.kind != tokHan || skip[i] {
			afterDe = false
		}
		if t.kind == tokHan && t.text == "的" {
			afterDe = true
			continue
		}
		if used[i] || skip[i] {
			continue
		}
		switch t.kind {
		case tokWord:
			w := t.text
			if utf8.RuneCountInString(t.raw) < 2 || isStopWord(w) {
				continue
			}
			if _, ok := termStopWords[w]; ok {
				continue
			}
			if _, ok := negationWords[w]; ok {
				continue
			}
			f.terms[w] = true
			// "the population of …" and "the formula for …", not "the
			// capital city of …"; and a thing added to a list: "… and
			// Germany"
			head := i+1 < len(toks) && (toks[i+1].text == "of" || toks[i+1].text == "for") &&
				(i == 0 || toks[i-1].kind == tokWord && isStopWord(toks[i-1].text))
			listed := i > 0 && (toks[i-1].text == "and" || toks[i-1].text == "or")
			if head || listed {
				f.focus = append(f.focus, []string{w})
			}
		case tokHan:
			r, _ := utf8.DecodeRuneInString(t.text)
			if zhTermStop[r] || strings.ContainsRune("不没无非未", r) {
				afterDe = false
				continue
			}
			if _, _, ok := zhDigit(r); ok {
				continue
			}
			// Characters count: "鲸鱼是鱼吗" has two 鱼, "鲸鱼是哺乳动物吗" one.
			seen[r]++
			key := t.text
			if n := seen[r]; n > 1 {
				key += strconv.Itoa(n)
			}
			f.terms[key] = true
			if afterDe {
				if i > 0 && toks[i-1].text == "的" {
					f.focus = append(f.focus, nil)
				}
				if n := len(f.focus); n > 0 {
					f.focus[n-1] = append(f.focus[n-1], key)
				}
			}
			if zhTermStop[r] {
				afterDe = false
			}
		}
	}
}

// quotedSpans returns the texts a question quotes: “…”, "…", ‘…’, '…',
// 「…」, 『…』, folded as by [Normalize]. An apostrophe inside a word
// ("Newton's") does not open a quote.
func quotedSpans(s string) map[string]bool {
	out := map[string]bool{}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	pairs := map[rune]rune{'“': '”', '‘': '’', '「': '」', '『': '』', '"': '"', '\'': '\'', '《': '》'}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		closeR, ok := pairs[rs[i]]
		if !ok {
			continue
		}
		if rs[i] == '\'' && i > 0 && (unicode.IsLetter(rs[i-1]) || unicode.IsDigit(rs[i-1])) {
			continue // an apostrophe
		}
		for j := i + 1; j < len(rs) && j <= i+200; j++ {
			if rs[j] != closeR {
				continue
			}
			if rs[j] == '\'' && j+1 < len(rs) && unicode.IsLetter(rs[j+1]) {
				continue // "don't" inside the quote
			}
			if q := cache.Normalize(string(rs[i+1 : j])); q != "" {
				out[q] = true
			}
			i = j
			break
		}
	}
	return out
}
