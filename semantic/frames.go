package semantic

import (
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// qclass is a set of question classes: what a question asks for.
type qclass uint16

const (
	qAsk     qclass = 1 << iota // what, which, explain, a bare topic
	qWhy                        // cause
	qHow                        // manner
	qWho                        // a person
	qWhose                      // a possessor
	qWhen                       // a time
	qWhere                      // a place
	qHowMany                    // a count or an amount
	qYesNo                      // yes or no
	qDiff                       // the difference between two things
)

var classByName = map[string]qclass{
	"ask": qAsk, "why": qWhy, "how": qHow, "who": qWho, "whose": qWhose,
	"when": qWhen, "where": qWhere, "howmany": qHowMany, "yesno": qYesNo, "diff": qDiff,
}

// String names the classes, for decisions' details.
func (c qclass) String() string {
	if c&^qAsk == 0 {
		return "what"
	}
	var names []string
	for name, k := range classByName {
		if c&k != 0 && k != qAsk {
			names = append(names, name)
		}
	}
	if len(names) > 1 {
		// map order: sort for a stable text
		for i := 1; i < len(names); i++ {
			for j := i; j > 0 && names[j] < names[j-1]; j-- {
				names[j], names[j-1] = names[j-1], names[j]
			}
		}
	}
	return strings.Join(names, "+")
}

// specific reports classes other than the generic "what".
func (c qclass) specific() qclass { return c &^ qAsk }

// stripFrames removes the question frames ("can you explain …", "… 是什么",
// "what does … say"), repeatedly, longest first, around the whole
// question and then around each of its clauses, and returns the classes
// they ask. A frame may frame the question ("请问，…是什么") or one clause
// of it: "怎么区分A和B？明天要考试" asks what "怎么区分A和B" asks, with a
// clause of context after it.
func stripFrames(toks []tok, lx *lexicon) ([]tok, qclass) {
	toks, c := stripClauseFrames(toks, lx)
	if !slices.ContainsFunc(toks, func(t tok) bool { return t.kind == tBreak }) {
		return toks, c // one clause: the whole question
	}
	out := toks[:0:0]
	for start := 0; start <= len(toks); {
		end := start
		for end < len(toks) && toks[end].kind != tBreak {
			end++
		}
		clause, cc := stripClauseFrames(toks[start:end], lx)
		out = append(out, clause...)
		c |= cc
		if end < len(toks) {
			out = append(out, toks[end])
		}
		start = end + 1
	}
	return out, c
}

// stripClauseFrames strips the frames of one clause.
func stripClauseFrames(toks []tok, lx *lexicon) ([]tok, qclass) {
	var c qclass
	for changed := true; changed && len(toks) > 0; {
		changed = false
		eachFrame(toks, lx, func(f frame) bool {
			n := len(f.prefix) + len(f.suffix)
			if len(toks) <= n || !hasPrefix(toks, f.prefix) || !hasSuffix(toks, f.suffix) || cutsWord(toks, f, lx) {
				return false
			}
			inner := toks[len(f.prefix) : len(toks)-len(f.suffix)]
			if len(f.middle) > 0 {
				var ok bool
				if inner, ok = joinContents(inner, f.middle); !ok {
					return false
				}
			}
			toks, c, changed = inner, c|f.class, true
			return true
		})
	}
	return toks, c
}

// eachFrame calls f, longest first, with the frames that may apply to
// toks (those starting with its first token, those without a prefix
// ending with its last, and those with neither) until f returns true:
// a merge of the three index lists, which are in the frames' order.
func eachFrame(toks []tok, lx *lexicon, f func(frame) bool) {
	lists := [3][]int{lx.byFirst[toks[0].text], lx.byLast[toks[len(toks)-1].text], lx.bare}
	for {
		best := -1
		for k, l := range lists {
			if len(l) > 0 && (best < 0 || l[0] < lists[best][0]) {
				best = k
			}
		}
		if best < 0 {
			return
		}
		fi := lists[best][0]
		lists[best] = lists[best][1:]
		if f(lx.frames[fi]) {
			return
		}
	}
}

// joinContents finds the first occurrence of middle in toks with content
// on both sides and writes the two contents as one coordination, "A and
// B" (A 和 B for a Chinese frame), which the matcher lets trade places: "how is A
// different from B" asks what "the difference between B and A" asks.
func joinContents(toks []tok, middle []string) ([]tok, bool) {
	for i := 1; i+len(middle) < len(toks); i++ {
		if !hasPrefix(toks[i:], middle) {
			continue
		}
		and := tok{text: "and", kind: tWord}
		if r, _ := utf8.DecodeRuneInString(middle[0]); isCJK(r) {
			and = tok{text: "和", kind: tHan, glued: true}
		}
		out := make([]tok, 0, len(toks)+1-len(middle))
		out = append(out, toks[:i]...)
		out = append(out, and)
		after := toks[i+len(middle):]
		out = append(out, after...)
		out[i+1].glued = and.kind == tHan && after[0].kind == tHan
		return out, true
	}
	return nil, false
}

// cutsWord reports whether frame f's edges fall inside a word of the
// lexicon's list: a word that starts before the suffix and ends in it, or
// starts in the prefix and ends after it.
func cutsWord(toks []tok, f frame, lx *lexicon) bool {
	cut := func(edge int) bool {
		for i := max(0, edge-lx.wordsMax+1); i < edge; i++ {
			if _, n := lx.words.longest(toks, i, nil); n > 0 && i+n > edge {
				return true
			}
		}
		return false
	}
	return len(f.suffix) > 0 && cut(len(toks)-len(f.suffix)) || len(f.prefix) > 0 && cut(len(f.prefix))
}

// hasPrefix reports whether toks start with p's words, none of them
// mentioned (a frame's words are used, not named).
func hasPrefix(toks []tok, p []string) bool {
	if len(p) > len(toks) {
		return false
	}
	for i, s := range p {
		if toks[i].text != s || toks[i].mention {
			return false
		}
	}
	return true
}

// hasSuffix reports whether toks end with p's words, none of them
// mentioned.
func hasSuffix(toks []tok, p []string) bool {
	return len(p) <= len(toks) && hasPrefix(toks[len(toks)-len(p):], p)
}

// whClass is the class of a question word of function.txt.
func whClass(p phrase) qclass {
	k, _ := strconv.Atoi(p.val)
	return qclass(k)
}

// questionWords removes the question words wherever they stand (Chinese
// leaves them in place: 碳原子有几个质子) and returns their classes.
func questionWords(toks []tok, lx *lexicon) ([]tok, qclass) {
	var c qclass
	out := toks[:0:0]
	sawWh := false // a question word earlier in this clause
	for i := 0; i < len(toks); {
		if toks[i].kind == tBreak {
			sawWh = false
		}
		if toks[i].mention {
			out = append(out, toks[i])
			i++
			continue
		}
		if sawWh && lx.afterWh[toks[i].text] {
			i++
			continue
		}
		// An A-not-A question (有没有, 可不可以) asks yes or no of the
		// verb, which stays; its 不 negates nothing.
		if n := aNotA(toks, i, lx); n > 0 {
			c |= qYesNo
			i += n
			continue
		}
		if toks[i].kind == tWord || toks[i].kind == tHan {
			// 有 before a question word is existential: 酸和碱有什么区别 asks
			// what 酸和碱的区别是什么 asks.
			if toks[i].text == "有" && i+1 < len(toks) {
				if _, n := whAt(toks, i+1, lx); n > 0 {
					i++
					continue
				}
			}
			// A preposition before a question word of time or place is the
			// question phrase's own, as "in" is in "in what year": 结束于
			// 哪年 asks what 哪年结束 asks.
			if lx.whPrep[toks[i].text] && i+1 < len(toks) {
				if p, n := whAt(toks, i+1, lx); n > 0 && whClass(p)&(qWhen|qWhere) != 0 {
					i++
					continue
				}
			}
			if p, n := whAt(toks, i, lx); n > 0 {
				cls := whClass(p)
				// 多少 and 几 after the copula or 等于 ask for a value, as
				// "what is" does (x的导数是多少, 1加1等于几); a classifier after
				// them only counts, as after a number (几个质子).
				if cls == qHowMany && toks[i].kind == tHan {
					if i > 0 && lx.copula[toks[i-1].text] {
						cls = qAsk
					}
					if i+n < len(toks) && lx.cl[toks[i+n].text] {
						n++
					}
				}
				// 怎么 right before a negation asks why: 怎么不下雨.
				if cls == qHow && lx.whyNeg[joinText(toks[i:i+n])] {
					if _, m := lx.neg.longest(toks, i+n, nil); m > 0 {
						cls = qWhy
					}
				}
				c |= cls
				sawWh = true
				i += n
				continue
			}
		}
		out = append(out, toks[i])
		i++
	}
	return out, c
}

// whAt returns the question word at toks[i] and its length in tokens.
// A word of function.txt's "final" kind (么 for 吗, 怎么了) asks only at
// the end of a clause and when it does not end a word (这么).
func whAt(toks []tok, i int, lx *lexicon) (phrase, int) {
	return lx.wh.longest(toks, i, func(p phrase) bool {
		if p.flag != "final" {
			return true
		}
		end := i + len(p.toks)
		return (end == len(toks) || toks[end].kind == tBreak) && !endsWord(toks, i, lx)
	})
}

// aNotA returns how many tokens at toks[i] are the first copy of the verb
// of an A-not-A question and its negator: 2 for 有没有 and 可不可以, 3 for
// 喜欢不喜欢 (a verb of two characters); 0 if none starts there.
func aNotA(toks []tok, i int, lx *lexicon) int {
	han := func(j int) bool { return j < len(toks) && toks[j].kind == tHan }
	for _, w := range []int{2, 1} { // the verb's length in tokens
		j := i + w // the negator
		if !han(j) || !lx.aNotA[toks[j].text] || !han(j+w) {
			continue
		}
		ok := true
		for k := range w {
			if !han(i+k) || toks[i+k].text != toks[j+1+k].text {
				ok = false
				break
			}
		}
		if ok {
			return w + 1
		}
	}
	return 0
}

// joinText joins the tokens' texts with spaces, as the lexicon's
// multi-token entries are keyed.
func joinText(toks []tok) string {
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = t.text
	}
	return strings.Join(parts, " ")
}

// endsWord reports whether toks[i] is the last token of one of the
// lexicon's words ("word" in function.txt): 么 in 这么 is no particle.
func endsWord(toks []tok, i int, lx *lexicon) bool {
	for n := 2; n <= lx.wordsMax && n <= i+1; n++ {
		if _, m := lx.words.longest(toks, i+1-n, func(p phrase) bool { return len(p.toks) == n }); m == n {
			return true
		}
	}
	return false
}

// functionWords drops the function words and fillers, marks negations,
// drops the nouns that name a literal's type ("the number 91", "the
// equation …") and "for x" when x is the variable of the question's
// formula ("solve for x: 2x+3=7").
func functionWords(toks []tok, lx *lexicon) []tok {
	vars := formulaVars(toks)
	hasNum, hasFormula := false, false
	for _, t := range toks {
		hasNum = hasNum || t.kind == tNum
		hasFormula = hasFormula || t.kind == tFormula
	}
	out := make([]tok, 0, len(toks))
	for i := 0; i < len(toks); {
		t := toks[i]
		if (t.kind == tWord || t.kind == tHan) && !t.mention {
			if _, n := lx.drop.longest(toks, i, nil); n > 0 {
				i += n
				continue
			}
			// A classifier after a demonstrative: 这个人 is 这人.
			if lx.cl[t.text] && i > 0 && lx.dem[toks[i-1].text] {
				i++
				continue
			}
			// 为 before a quantity is the copula: 半径为3厘米 is 半径3厘米.
			if t.text == "为" && i+1 < len(toks) && toks[i+1].kind == tNum {
				i++
				continue
			}
			if _, n := lx.neg.longest(toks, i, nil); n > 0 {
				out = append(out, tok{text: "not", kind: tNeg, glued: t.glued})
				i += n
				continue
			}
			if n := setMatch(lx.typeNum, toks, i); n > 0 && hasNum {
				i += n
				continue
			}
			if n := setMatch(lx.typeForm, toks, i); n > 0 && hasFormula {
				i += n
				continue
			}
			if t.text == "for" && i+1 < len(toks) && isLetterTok(toks[i+1]) && vars[toks[i+1].text[0]] {
				i += 2
				continue
			}
		}
		out = append(out, t)
		i++
	}
	return out
}

// setMatch returns the length of the longest entry of m (tokens joined by
// spaces) at toks[i], up to three tokens.
func setMatch(m map[string]bool, toks []tok, i int) int {
	for n := 3; n >= 1; n-- {
		if i+n > len(toks) {
			continue
		}
		if m[joinText(toks[i:i+n])] {
			return n
		}
	}
	return 0
}

// genitive writes "B of A" as "A B", the order of "A's B" (whose
// apostrophe the folding drops, "australias capital" → "australia
// capital"), so the two English genitives meet; the roles keep their
// order.
func genitive(toks []tok) []tok {
	for i := 1; i+1 < len(toks); i++ {
		if toks[i].text != "of" || toks[i].kind != tWord {
			continue
		}
		a, b := toks[i-1], toks[i+1]
		if !contentTok(a) || !contentTok(b) {
			continue
		}
		toks[i-1], toks[i] = b, a
		toks = append(toks[:i+1], toks[i+2:]...)
	}
	return toks
}

func contentTok(t tok) bool {
	return t.kind == tWord || t.kind == tHan || t.kind == tFormula || t.kind == tNum || t.kind == tOrd
}

func popcount(c qclass) int { return bits.OnesCount16(uint16(c)) }
