package moderation

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// feedSlow normalizes s[i:] one character at a time through unit, without
// any of feed's fast paths: the reference the fast paths must agree with.
func (n *normalizer) feedSlow(s string, i int, eof bool) int {
	for i < len(s) {
		b := s[i]
		if b < utf8.RuneSelf {
			n.unit(asciiKind[b], asciiUnit[b], i, 1)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			if !eof && !utf8.FullRuneInString(s[i:]) {
				break
			}
			n.unit(kOther, "\ufffd", i, 1)
			i++
			continue
		}
		for _, c := range normalizeRuneSlow(r) {
			n.unit(classify(c), string(c), i, size)
		}
		i += size
	}
	if eof {
		n.flush()
	}
	return i
}

// checkSameAsSlow fails when feed and feedSlow disagree on s: on the
// normalized text, on where each normalized character maps back to, on
// where each original character maps to, or on the articles.
func checkSameAsSlow(t *testing.T, s string, keep bool) {
	t.Helper()
	var fast, slow normalizer
	fast.reset(0, keep)
	fast.feed(s, 0, true)
	slow.reset(0, keep)
	slow.feedSlow(s, 0, true)
	if string(fast.out) != string(slow.out) {
		t.Fatalf("%q (keep %v): fast %q, slow %q", s, keep, fast.out, slow.out)
	}
	for i := 0; i < len(fast.out); {
		_, size := utf8.DecodeRune(fast.out[i:])
		if a, b := fast.origStart(i), slow.origStart(i); a != b {
			t.Fatalf("%q (keep %v): origStart(%d) fast %d, slow %d", s, keep, i, a, b)
		}
		if a, b := fast.origEnd(i+size), slow.origEnd(i+size); a != b {
			t.Fatalf("%q (keep %v): origEnd(%d) fast %d, slow %d", s, keep, i+size, a, b)
		}
		i += size
	}
	for o := 0; o < len(s); o++ {
		if !utf8.RuneStart(s[o]) {
			continue
		}
		if a, b := fast.outIndex(o), slow.outIndex(o); a != b {
			t.Fatalf("%q (keep %v): outIndex(%d) fast %d, slow %d", s, keep, o, a, b)
		}
	}
	if !slices.Equal(fast.articles, slow.articles) {
		t.Fatalf("%q (keep %v): articles fast %v, slow %v", s, keep, fast.articles, slow.articles)
	}
}

// TestNormalizeFastPaths checks feed's fast paths against feedSlow on the
// normalization cases and the benchmark text, whole and in pieces.
func TestNormalizeFastPaths(t *testing.T) {
	benchSetup(t)
	texts := append([]string{benchText}, fuzzSeeds...)
	texts = append(texts, "a b cd", "the a b c", "x y", "A B", "ab  cd", "a  b", "I am a s t u p i d",
		"word 1 2 3 x", "白 痴 白  痴", "abc.def-ghi", "a.b.c d", "Ab Cd EF gh1 2x", "m × a", "e = mc²")
	for _, s := range texts {
		for _, keep := range []bool{false, true} {
			checkSameAsSlow(t, s, keep)
		}
	}
}

// FuzzNormalizeFast: feed's fast paths agree with the one character at a
// time reference, feedSlow.
func FuzzNormalizeFast(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Add("Newton's second law says F = m × a, where 牛顿第二定律：物体 d u m b a s s")
	f.Fuzz(func(t *testing.T, s string) {
		checkSameAsSlow(t, s, false)
		checkSameAsSlow(t, s, true)
	})
}

// TestAlnumBytes checks the eight-bytes-at-once letter and digit test
// against the table, for every byte value in every position.
func TestAlnumBytes(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			x := uint64(c) << (8 * pos)
			x |= uint64('a') << (8 * ((pos + 1) % 8)) // a neighbour that is a letter
			m := alnumBytes(x)
			got := m>>(8*pos+7)&1 == 1
			if want := wordLower[c] != 0; got != want {
				t.Fatalf("byte %#x at %d: %v, want %v", c, pos, got, want)
			}
			if got && byte((x|0x20*lowBits)>>(8*pos)) != wordLower[c] {
				t.Fatalf("byte %#x: lower case %#x", c, byte((x|0x20*lowBits)>>(8*pos)))
			}
		}
	}
}

// TestNormalizeFastPathsRandom checks feed against feedSlow on random
// texts made of the pieces the fast paths treat differently: words of one
// and more letters, digits, single and double spaces, separators,
// punctuation, ideographs, full-width and invisible characters.
func TestNormalizeFastPathsRandom(t *testing.T) {
	pieces := []string{
		"a", "b", "I", "x", "ab", "Cd", "word", "Longer", "abcdefghij", "1", "23", "2x", "x2",
		" ", " ", " ", "  ", "\t", "\n", ".", "-", "_", "/", "*", ",", "'", "(", ")", ":", "!",
		"白", "痴", "作弊", "。", "，", "：", "ｓ", "Ｉ", "é", "і", "\u200b", "²", "×", "𝐢", "\xff",
	}
	// Mostly plain ASCII prose, where the eight-bytes-at-once paths run
	// long and stop on every kind of byte.
	plain := []string{"a", "I", "x", "ab", "Cd", "word", "Longer", "abcdefghij", "7", "42", "x2", " ", " ", " ", " ", " "}
	rng := rand.New(rand.NewPCG(3, 5))
	n := 40000
	if testing.Short() {
		n = 4000
	}
	for k := range n {
		var b strings.Builder
		for range 1 + rng.IntN(60) {
			if k%2 == 0 && rng.IntN(8) != 0 {
				b.WriteString(plain[rng.IntN(len(plain))])
			} else {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
		}
		s := b.String()
		checkSameAsSlow(t, s, false)
		checkSameAsSlow(t, s, true)
	}
}
