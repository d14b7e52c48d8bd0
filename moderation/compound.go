package moderation

import (
	_ "embed"
	"strings"
	"sync"
)

// Chinese is written without spaces, so a Chinese term matches anywhere;
// but a one-character term, or a short word, is often only a part of an
// ordinary word: 性 of 性质 (nature), 女性 (woman) and 可能性
// (possibility), 奶 of 奶奶 (grandmother) and 牛奶 (milk), 处女 of 处女座
// (Virgo). A term should hit where it stands as a word. A segmenter would
// decide that with a dictionary of every word and their frequencies; the
// matcher needs only the part of such a dictionary that matters to it,
// the ordinary words that contain a listed term, and no new dependency.
// So it ships that part, lexicon/zh_compounds.txt (an allow-list of
// compounds, grouped by the character they shield), and treats each
// compound that contains a listed Chinese term as an allow-list entry of
// that term: 性 hits "这个性" … "性" where it is a word, and not 性质.
//
// A compound is never a word that is listed itself, and the lexicon holds
// only words whose senses are all innocent, so that it cannot hide a term
// a list means (性交 is not in it). An entry with Exact set ignores it.

//go:embed lexicon/zh_compounds.txt
var compoundsTXT string

var (
	compoundsOnce sync.Once
	compoundsBy   map[rune][]string // first character of a compound's every character → the compounds
)

// compoundsWith returns the compounds of the lexicon that contain the
// character r.
func compoundsWith(r rune) []string {
	compoundsOnce.Do(func() {
		compoundsBy = map[rune][]string{}
		for _, line := range strings.Split(compoundsTXT, "\n") {
			w := strings.TrimSpace(line)
			if w == "" || w[0] == '#' {
				continue
			}
			seen := map[rune]bool{}
			for _, c := range w {
				if !seen[c] {
					seen[c] = true
					compoundsBy[c] = append(compoundsBy[c], w)
				}
			}
		}
	})
	return compoundsBy[r]
}

// isHanTerm reports whether a normalized term is characters of an
// unspaced script only.
func isHanTerm(n string) bool {
	for _, r := range n {
		if normKind(r) != kHan {
			return false
		}
	}
	return n != ""
}

// compoundAllow adds, to each listed Chinese term that is not Exact, the
// compounds of the lexicon that contain it as allow-list entries of that
// term alone.
func (m *Matcher) compoundAllow(listed map[string]bool) {
	for id := range m.terms {
		t := &m.terms[id]
		if t.entry < 0 || t.report != t.norm || m.entries[t.entry].Exact || !isHanTerm(t.norm) {
			continue
		}
		var first rune
		for _, r := range t.norm {
			first = r
			break
		}
		for _, w := range compoundsWith(first) {
			if w == t.norm || listed[w] || !strings.Contains(w, t.norm) {
				continue
			}
			var at []int
			for i := 0; ; {
				j := strings.Index(w[i:], t.norm)
				if j < 0 {
					break
				}
				at = append(at, i+j)
				i += j + 1
			}
			m.addAllowRef(int32(id), normalizeKeep(w), at)
		}
	}
}

// addAllowRef adds an allow-list entry of the term with the given id, in
// which the term occurs at the byte offsets at.
func (m *Matcher) addAllowRef(id int32, text string, at []int) {
	t := &m.terms[id]
	t.allow = append(t.allow, allowRef{text: text, at: at})
	for _, a := range at {
		t.maxLeft = max(t.maxLeft, a)
		t.maxRight = max(t.maxRight, len(text)-a)
	}
}
