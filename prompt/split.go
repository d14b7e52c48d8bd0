package prompt

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// The pre-tokenizers below reproduce, by hand, the regular expressions that
// tiktoken-go compiles with regexp2 (a backtracking engine with ordered
// alternation) for o200k_base and cl100k_base:
//
//	o200k_base:
//	  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	| [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	| \p{N}{1,3}
//	| ?[^\s\p{L}\p{N}]+[\r\n/]*
//	| \s*[\r\n]+
//	| \s+(?!\S)
//	| \s+
//
//	cl100k_base:
//	  (?i:'s|'t|'re|'ve|'m|'ll|'d)
//	| [^\r\n\p{L}\p{N}]?\p{L}+
//	| \p{N}{1,3}
//	| ?[^\s\p{L}\p{N}]+[\r\n]*
//	| \s*[\r\n]+
//	| \s+(?!\S)
//	| \s+
//
// regexp2 classifies runes with Go's unicode tables (\s is
// unicode.IsSpace) and matches case-insensitively by comparing
// unicode.ToLower of the input; the code below does the same. Each next
// function returns the end of the piece that starts at i; every position
// starts a piece, so the pieces tile the text. The text must be valid
// UTF-8 (tiktoken-go reads invalid bytes as U+FFFD, and so does
// [Counter.Count] before it splits).

// Rune classes, as bits.
const (
	clsL     uint8 = 1 << iota // \p{L}
	clsN                       // \p{N}
	clsUpper                   // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
	clsLower                   // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
	clsSpace                   // \s (unicode.IsSpace)
	clsCRLF                    // [\r\n]
)

// classify computes a rune's classes from the unicode tables.
func classify(r rune) uint8 {
	var c uint8
	if unicode.Is(unicode.L, r) {
		c |= clsL
	}
	if unicode.Is(unicode.N, r) {
		c |= clsN
	}
	if unicode.In(r, unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo, unicode.M) {
		c |= clsUpper
	}
	if unicode.In(r, unicode.Ll, unicode.Lm, unicode.Lo, unicode.M) {
		c |= clsLower
	}
	if unicode.IsSpace(r) {
		c |= clsSpace
	}
	if r == '\r' || r == '\n' {
		c |= clsCRLF
	}
	return c
}

var (
	bmpOnce    sync.Once
	bmpClasses *[0x10000]uint8 // classes of the Basic Multilingual Plane
	asciiClass [0x80]uint8
)

func init() {
	for r := range rune(0x80) {
		asciiClass[r] = classify(r)
	}
}

func loadClasses() {
	bmpOnce.Do(func() {
		t := new([0x10000]uint8)
		for r := range rune(0x10000) {
			t[r] = classify(r)
		}
		bmpClasses = t
	})
}

// class returns r's classes; loadClasses must have run.
func class(r rune) uint8 {
	if r < 0x10000 {
		return bmpClasses[r]
	}
	return classify(r)
}

// runeAt decodes the rune at s[i] with its classes; i < len(s).
func runeAt(s string, i int) (r rune, c uint8, w int) {
	if b := s[i]; b < utf8.RuneSelf {
		return rune(b), asciiClass[b], 1
	}
	r, w = utf8.DecodeRuneInString(s[i:])
	return r, class(r), w
}

// isP reports whether c is in [^\r\n\p{L}\p{N}].
func isP(c uint8) bool { return c&(clsCRLF|clsL|clsN) == 0 }

// isO reports whether c is in [^\s\p{L}\p{N}].
func isO(c uint8) bool { return c&(clsSpace|clsL|clsN) == 0 }

// contraction returns the length of (?i:'s|'t|'re|'ve|'m|'ll|'d) at s[i:],
// or 0.
func contraction(s string, i int) int {
	if i >= len(s) || s[i] != '\'' {
		return 0
	}
	lower := func(j int) (rune, int) {
		if j >= len(s) {
			return -1, 0
		}
		r, w := utf8.DecodeRuneInString(s[j:])
		return unicode.ToLower(r), w
	}
	r1, w1 := lower(i + 1)
	switch r1 {
	case 's', 't', 'm', 'd':
		return 1 + w1
	case 'r', 'v', 'l':
		want := 'e'
		if r1 == 'l' {
			want = 'l'
		}
		if r2, w2 := lower(i + 1 + w1); r2 == want {
			return 1 + w1 + w2
		}
	}
	return 0
}

// numbers matches \p{N}{1,3} at s[i:]; the rune at i is a number.
func numbers(s string, i int) int {
	for n := 0; n < 3 && i < len(s); n++ {
		_, c, w := runeAt(s, i)
		if c&clsN == 0 {
			break
		}
		i += w
	}
	return i
}

// punct matches " ?[^\s\p{L}\p{N}]+[\r\n]*" (with slash: "[\r\n/]*") at
// s[i:], returning -1 when it does not match.
func punct(s string, i int, slash bool) int {
	j := i
	if s[j] == ' ' {
		j++
	}
	start := j
	for j < len(s) {
		_, c, w := runeAt(s, j)
		if !isO(c) {
			break
		}
		j += w
	}
	if j == start {
		// No punctuation. Without the optional space the class would
		// have to match the space itself, which is \s: no match either.
		return -1
	}
	for j < len(s) && (s[j] == '\r' || s[j] == '\n' || slash && s[j] == '/') {
		j++
	}
	return j
}

// spaces matches \s*[\r\n]+ | \s+(?!\S) | \s+ at s[i:], where the rune at
// i is white space.
func spaces(s string, i int) int {
	j, last, prev := i, -1, i
	n := 0
	for j < len(s) {
		_, c, w := runeAt(s, j)
		if c&clsSpace == 0 {
			break
		}
		if c&clsCRLF != 0 {
			last = j
		}
		prev = j
		j += w
		n++
	}
	switch {
	case last >= 0: // \s*[\r\n]+: up to the last line break of the run
		return last + 1
	case j == len(s): // \s+(?!\S) at the end of the text
		return j
	case n >= 2: // \s+(?!\S): all but the last space
		return prev
	}
	return j // \s+
}

// nextO200k returns the end of the o200k_base piece starting at s[i].
func nextO200k(s string, i int) int {
	_, c0, w0 := runeAt(s, i)
	p := isP(c0)
	// [^\r\n\p{L}\p{N}]?[Upper]*[Lower]+(?i:…)?
	if p && i+w0 < len(s) {
		if e := upperLower(s, i+w0); e >= 0 {
			return e
		}
	}
	if e := upperLower(s, i); e >= 0 {
		return e
	}
	// [^\r\n\p{L}\p{N}]?[Upper]+[Lower]*(?i:…)?
	if p && i+w0 < len(s) {
		if e := upperThenLower(s, i+w0); e >= 0 {
			return e
		}
	}
	if e := upperThenLower(s, i); e >= 0 {
		return e
	}
	if c0&clsN != 0 {
		return numbers(s, i)
	}
	if e := punct(s, i, true); e >= 0 {
		return e
	}
	if c0&clsSpace != 0 {
		return spaces(s, i)
	}
	return i + w0 // unreachable: every rune starts one of the above
}

// upperLower matches [Upper]*[Lower]+(?i:…)? at s[i:] (backtracking the
// greedy [Upper]* as regexp2 does), returning -1 when it does not match.
func upperLower(s string, i int) int {
	j, lastLower := i, -1
	for j < len(s) {
		_, c, w := runeAt(s, j)
		if c&clsUpper == 0 {
			if c&clsLower != 0 {
				// [Upper]* took everything up to j; [Lower]+ runs from j.
				return lowerRun(s, j)
			}
			break
		}
		if c&clsLower != 0 {
			lastLower = j
		}
		j += w
	}
	if lastLower < 0 {
		return -1
	}
	// Backtrack [Upper]* to the last rune that is also [Lower]; [Lower]+
	// takes just that rune, since the runes after it are not [Lower].
	_, _, w := runeAt(s, lastLower)
	e := lastLower + w
	return e + contraction(s, e)
}

// lowerRun matches [Lower]+(?i:…)? from s[j], whose rune is [Lower].
func lowerRun(s string, j int) int {
	for j < len(s) {
		_, c, w := runeAt(s, j)
		if c&clsLower == 0 {
			break
		}
		j += w
	}
	return j + contraction(s, j)
}

// upperThenLower matches [Upper]+[Lower]*(?i:…)? at s[i:], or returns -1.
func upperThenLower(s string, i int) int {
	j := i
	for j < len(s) {
		_, c, w := runeAt(s, j)
		if c&clsUpper == 0 {
			break
		}
		j += w
	}
	if j == i {
		return -1
	}
	for j < len(s) {
		_, c, w := runeAt(s, j)
		if c&clsLower == 0 {
			break
		}
		j += w
	}
	return j + contraction(s, j)
}

// nextCl100k returns the end of the cl100k_base piece starting at s[i].
func nextCl100k(s string, i int) int {
	if n := contraction(s, i); n > 0 {
		return i + n
	}
	_, c0, w0 := runeAt(s, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	start := -1
	if c0&clsL != 0 {
		start = i
	} else if isP(c0) && i+w0 < len(s) {
		if _, c1, _ := runeAt(s, i+w0); c1&clsL != 0 {
			start = i + w0
		}
	}
	if start >= 0 {
		j := start
		for j < len(s) {
			_, c, w := runeAt(s, j)
			if c&clsL == 0 {
				break
			}
			j += w
		}
		return j
	}
	if c0&clsN != 0 {
		return numbers(s, i)
	}
	if e := punct(s, i, false); e >= 0 {
		return e
	}
	if c0&clsSpace != 0 {
		return spaces(s, i)
	}
	return i + w0 // unreachable
}
