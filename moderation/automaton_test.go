package moderation

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestAutomatonMatchesNaive checks the automaton, rows of two widths and
// all, against a plain search: every term ending at every offset, and the
// depth of the state after every character, on random text of one-, two-,
// three- and four-byte characters.
func TestAutomatonMatchesNaive(t *testing.T) {
	chars := []string{"a", "b", "c", " ", "'", "ß", "é", "白", "痴", "作", "弊", "。", "😀", "𝐢"}
	rng := rand.New(rand.NewPCG(9, 10))
	pick := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(chars[rng.IntN(len(chars))])
		}
		return b.String()
	}
	for range 200 {
		seen := map[string]bool{}
		var terms []string
		for range 1 + rng.IntN(30) {
			if w := pick(1 + rng.IntN(4)); !seen[w] {
				seen[w] = true
				terms = append(terms, w)
			}
		}
		a := buildAutomaton(terms)
		text := pick(rng.IntN(300))
		type hit struct{ end, term int }
		var got, want []hit
		a.scan(0, []byte(text), func(end int, s uint32) {
			for _, id := range a.terms(s) {
				got = append(got, hit{end, int(id)})
			}
		})
		for end := 1; end <= len(text); end++ {
			for id, w := range terms {
				if strings.HasSuffix(text[:end], w) {
					want = append(want, hit{end, id})
				}
			}
		}
		cmp := func(x, y hit) int {
			if x.end != y.end {
				return x.end - y.end
			}
			return x.term - y.term
		}
		slices.SortFunc(got, cmp)
		slices.SortFunc(want, cmp)
		if !slices.Equal(got, want) {
			t.Fatalf("terms %q, text %q: hits %v, want %v", terms, text, got, want)
		}
		s := uint32(0)
		for i := 0; i < len(text); {
			_, size := utf8.DecodeRuneInString(text[i:])
			s = a.scan(s, []byte(text[i:i+size]), func(int, uint32) {})
			i += size
			d := 0
			for _, w := range terms {
				for k := 1; k <= len(w) && k <= i; k++ {
					if strings.HasSuffix(text[:i], w[:k]) {
						d = max(d, k)
					}
				}
			}
			if got := a.stateDepth(s); got != d {
				t.Fatalf("terms %q, text %q: depth %d after %d bytes, want %d", terms, text, got, i, d)
			}
		}
	}
}
