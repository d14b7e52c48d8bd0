package semantic

import (
	"fmt"
	"slices"
	"strings"
)

// analysis is what the matcher reads from one question: its content in
// order, every explained difference already taken out, and the classes it
// asks.
type analysis struct {
	toks  []tok
	class qclass
	raw   []tok // the symbols of a question with no content, for the embedder
}

// analyze reads a question through every step of the matcher, in order:
// tokens, synonyms, numbers, operators, formulas, units, frames, question
// words, function words, genitives.
func analyze(q string) analysis {
	lx := loadLexicon()
	toks := lexQuestion(q, lx)
	toks = synonyms(toks, lx)
	toks = numbers(toks, lx)
	toks = operators(toks, lx)
	toks = formulas(toks, lx)
	toks = units(toks, lx)
	toks, c1 := stripFrames(toks, lx)
	toks, c2 := questionWords(toks, lx)
	toks = functionWords(toks, lx)
	toks = genitive(toks)
	// Punctuation left over carries no content.
	out := toks[:0]
	for _, t := range toks {
		if t.kind == tBreak || t.kind == tSym && !isArithOperator(t.text) && t.text != "%" {
			continue
		}
		out = append(out, t)
	}
	an := analysis{toks: out, class: c1 | c2}
	if len(out) == 0 {
		for _, t := range lex(q) {
			if t.kind == tSym {
				an.raw = append(an.raw, t)
			}
		}
	}
	return an
}

// synonyms replaces every variant of synonyms.txt by its canonical word.
func synonyms(toks []tok, lx *lexicon) []tok {
	out := make([]tok, 0, len(toks))
	for i := 0; i < len(toks); {
		if toks[i].kind == tWord || toks[i].kind == tHan {
			if p, n := lx.synonyms.longest(toks, i, nil); n > 0 {
				for k, t := range lex(p.val) {
					if k == 0 {
						t.glued = toks[i].glued
					}
					t.mention = toks[i].mention
					out = append(out, t)
				}
				i += n
				continue
			}
		}
		out = append(out, toks[i])
		i++
	}
	return out
}

// Verdict is what the rules make of a pair of questions.
type Verdict uint8

// The verdicts.
const (
	// Unsure: a difference the rules cannot explain and that does not
	// prove the questions different (a word for another, an added
	// qualifier): a miss, or a question for the [Verifier].
	Unsure Verdict = iota
	// Same: every difference is explained; the cached answer answers
	// the asked question.
	Same
	// Different: the questions differ in a number, unit, formula,
	// negation, the kind of question or the order of their roles; never
	// served, never verified.
	Different
)

// String returns "unsure", "same" or "different".
func (v Verdict) String() string {
	switch v {
	case Same:
		return "same"
	case Different:
		return "different"
	}
	return "unsure"
}

// compare explains the differences between a cached and an asked
// question: Same with [ReasonExplained] when it can account for all of
// them, else the first unexplained difference, in the order of the
// Reason constants, with a detail naming it.
func compare(a, b analysis) (Verdict, Reason, string) {
	ca, cb := a.class.specific(), b.class.specific()
	if sameToks(a.toks, b.toks) || coordinationSwap(a.toks, b.toks) {
		if ca == cb {
			return Same, ReasonExplained, ""
		}
	}
	// Numbers and units: a value on each side that the other lacks is a
	// proof; values one side merely adds ("一元二次方程" / "二次方程",
	// "3 cm" / "3") qualify what is asked, an addition like any other.
	if d, conflict := literalDiff(a.toks, b.toks, tNum, tOrd); conflict {
		return Different, ReasonNumber, d
	}
	// Formulas on both sides that differ are a proof; a formula on one
	// side only may be written in words on the other ("r = 3 cm" /
	// "radius 3 cm", "80乘以15%" / "80的15%"): unexplained, not proven.
	if d := multisetDiff(a.toks, b.toks, tFormula); d != "" {
		if countKind(a.toks, tFormula) > 0 && countKind(b.toks, tFormula) > 0 {
			return Different, formulaReason(a.toks, b.toks), d
		}
		return Unsure, ReasonFormula, d
	}
	if d, conflict := literalDiff(a.toks, b.toks, tUnit); conflict {
		return Different, ReasonUnit, d
	}
	if na, nb := countKind(a.toks, tNeg), countKind(b.toks, tNeg); na != nb {
		return Different, ReasonNegation, fmt.Sprintf("%d negations / %d", na, nb)
	}
	if ca != cb && ca != 0 && cb != 0 {
		return Different, ReasonQuestion, ca.String() + " / " + cb.String()
	}
	if multisetDiff(a.toks, b.toks) == "" {
		if ca != cb {
			return Unsure, ReasonQuestion, a.class.String() + " / " + b.class.String()
		}
		if rolesMoved(a.toks, b.toks) {
			return Different, ReasonOrder, text(a.toks) + " / " + text(b.toks)
		}
		return Unsure, ReasonOrder, text(a.toks) + " / " + text(b.toks)
	}
	if ca != cb {
		return Unsure, ReasonQuestion, a.class.String() + " / " + b.class.String()
	}
	if isSubsequence(a.toks, b.toks) || isSubsequence(b.toks, a.toks) {
		return Unsure, ReasonAddition, multisetDiff(a.toks, b.toks)
	}
	return Unsure, ReasonTerm, multisetDiff(a.toks, b.toks)
}

func formulaReason(a, b []tok) Reason {
	sk := func(toks []tok) []string {
		var out []string
		for _, t := range toks {
			if t.kind == tFormula {
				out = append(out, skeleton(t.text))
			}
		}
		slices.Sort(out)
		return out
	}
	if slices.Equal(sk(a), sk(b)) {
		return ReasonNumber
	}
	return ReasonFormula
}

func sameToks(a, b []tok) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].text != b[i].text || a[i].kind != b[i].kind {
			return false
		}
	}
	return true
}

// maxCoordSide is the longest side, in tokens, that coordinationSwap
// lets trade places: a noun phrase, not a clause.
const maxCoordSide = 16

// coordinationSwap reports whether b is a with the two sides of one
// coordinator traded: "acids and bases" / "bases and acids", "酸和碱" /
// "碱和酸", "鹦鹉鱼和罗汉鱼" / "罗汉鱼和鹦鹉鱼" (sides that share their last
// character). Coordination is commutative, unless a word such as
// "respectively" (function.txt's "resp") pairs its sides with another
// coordination's; nothing else may move.
func coordinationSwap(a, b []tok) bool {
	if len(a) != len(b) || len(a) < 3 {
		return false
	}
	lx := loadLexicon()
	for i := range a {
		if _, n := lx.resp.longest(a, i, nil); n > 0 {
			return false
		}
	}
	pre := 0
	for pre < len(a) && a[pre].text == b[pre].text {
		pre++
	}
	post := len(a)
	for post > pre && a[post-1].text == b[post-1].text {
		post--
	}
	// a[lo:hi] = X c Y and b[lo:hi] = Y c X, for a coordinator c, where
	// lo ≤ pre and hi ≥ post: the common ends may belong to the sides.
	// Each side is at most maxCoordSide tokens, which bounds the search
	// to the coordinators near the difference whatever the questions'
	// length; longer sides are left unexplained.
	for k := max(1, post-maxCoordSide-1); k < min(len(a)-1, pre+maxCoordSide+1); k++ {
		if !lx.and[a[k].text] {
			continue
		}
		for lo := min(pre, k-1); lo >= max(0, k-maxCoordSide); lo-- {
			for hi := max(post, k+2); hi <= min(len(a), k+1+maxCoordSide); hi++ {
				x, y := a[lo:k], a[k+1:hi]
				m := lo + len(y)
				if b[m].text != a[k].text {
					continue
				}
				if sameToks(b[lo:m], y) && sameToks(b[m+1:hi], x) {
					return true
				}
			}
		}
	}
	return false
}

// literalDiff describes the tokens of the given kinds that one side has
// more often than the other, and reports a conflict when each side has
// one the other lacks: a value changed, not one added.
func literalDiff(a, b []tok, kinds ...tkind) (string, bool) {
	onlyA, onlyB := sideDiff(a, b, kinds)
	return describeDiff(onlyA, onlyB), len(onlyA) > 0 && len(onlyB) > 0
}

// rolesMoved reports whether two questions with the same tokens in
// another order move a role: a number, unit or formula changes places
// with another ("5的3倍" / "3的5倍", "5 km to miles" / "5 miles to
// km"), or a word crosses a role word of function.txt (a preposition or a
// coverb: "to", "than", 比, 把 …: "大象比老鼠重" / "老鼠比大象重"). Other
// reorderings ("百度贴吧怎么设置头像" / "百度贴吧头像怎么设置", "猫怕狗" /
// "狗怕猫") prove nothing either way: the rules cannot tell topicalization
// from swapped roles, so they are left to the verifier.
func rolesMoved(a, b []tok) bool {
	lit := func(toks []tok) []tok {
		var out []tok
		for _, t := range toks {
			if t.kind == tNum || t.kind == tOrd || t.kind == tUnit || t.kind == tFormula {
				out = append(out, t)
			}
		}
		return out
	}
	if !sameToks(lit(a), lit(b)) {
		return true
	}
	lx := loadLexicon()
	split := func(toks []tok) (marks []string, segs []string) {
		var seg []string
		flush := func() {
			slices.Sort(seg)
			segs = append(segs, strings.Join(seg, " "))
			seg = seg[:0:0]
		}
		for _, t := range toks {
			if (t.kind == tWord || t.kind == tHan || t.kind == tSym) && lx.role[t.text] {
				flush()
				marks = append(marks, t.text)
				continue
			}
			seg = append(seg, t.text)
		}
		flush()
		return marks, segs
	}
	ma, sa := split(a)
	mb, sb := split(b)
	return !slices.Equal(ma, mb) || !slices.Equal(sa, sb)
}

// multisetDiff describes the tokens of the given kinds (all kinds when
// none) that one side has more often than the other, "" when none.
func multisetDiff(a, b []tok, kinds ...tkind) string {
	return describeDiff(sideDiff(a, b, kinds))
}

// sideDiff returns, sorted, the texts of the tokens of the given kinds
// (all kinds when none) that a has more often than b, and those b has
// more often than a.
func sideDiff(a, b []tok, kinds []tkind) (onlyA, onlyB []string) {
	count := map[string]int{}
	keep := func(t tok) bool { return len(kinds) == 0 || slices.Contains(kinds, t.kind) }
	for _, t := range a {
		if keep(t) {
			count[t.text]++
		}
	}
	for _, t := range b {
		if keep(t) {
			count[t.text]--
		}
	}
	for s, n := range count {
		for ; n > 0; n-- {
			onlyA = append(onlyA, s)
		}
		for ; n < 0; n++ {
			onlyB = append(onlyB, s)
		}
	}
	slices.Sort(onlyA)
	slices.Sort(onlyB)
	return onlyA, onlyB
}

// describeDiff is a difference's detail, "" when there is none.
func describeDiff(onlyA, onlyB []string) string {
	if len(onlyA)+len(onlyB) == 0 {
		return ""
	}
	return fmt.Sprintf("%q / %q", strings.Join(onlyA, " "), strings.Join(onlyB, " "))
}

func countKind(toks []tok, k tkind) int {
	n := 0
	for _, t := range toks {
		if t.kind == k {
			n++
		}
	}
	return n
}

// isSubsequence reports whether short's tokens appear in long in order.
func isSubsequence(short, long []tok) bool {
	j := 0
	for _, t := range long {
		if j < len(short) && short[j].text == t.text {
			j++
		}
	}
	return j == len(short)
}

func text(toks []tok) string {
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = t.text
	}
	return strings.Join(parts, " ")
}
