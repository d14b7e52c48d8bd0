package main

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"
)

//go:embed testdata/styles.txt
var stylesTXT []byte

// style is one way a student writes a question: a pattern around it
// (testdata/styles.txt).
type style struct {
	lang, class string
	before      string // the pattern's text before {q}
	after       string // and after it
}

// styles are the patterns by language.
type styles map[string][]style

func parseStyles(data []byte) (styles, error) {
	out := styles{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("styles.txt line %d: want lang, class, pattern separated by tabs", n)
		}
		before, after, ok := strings.Cut(f[2], "{q}")
		if !ok {
			return nil, fmt.Errorf("styles.txt line %d: pattern %q lacks {q}", n, f[2])
		}
		out[f[0]] = append(out[f[0]], style{lang: f[0], class: f[1], before: before, after: after})
	}
	return out, sc.Err()
}

// restyle writes q as a student might: one pattern of its language and,
// in English, a typo a quarter of the time. It returns q unchanged for a
// language without patterns.
func (s styles) restyle(q, lang string, r *rand.Rand) string {
	list := s[lang]
	if len(list) == 0 {
		return q
	}
	st := list[r.IntN(len(list))]
	if st.class == "bare" {
		q = strings.TrimRight(strings.ToLower(q), "?？")
	}
	if lang == "en" && r.IntN(4) == 0 {
		q = typo(q, r)
	}
	return st.before + q + st.after
}

// typo swaps two neighbouring letters inside one word of five letters or
// more, chosen at random; q is unchanged when it has no such word.
func typo(q string, r *rand.Rand) string {
	words := strings.Fields(q)
	var long []int
	for i, w := range words {
		if utf8.RuneCountInString(w) >= 5 && strings.IndexFunc(w, func(c rune) bool { return !unicode.IsLetter(c) || c > unicode.MaxASCII }) < 0 {
			long = append(long, i)
		}
	}
	if len(long) == 0 {
		return q
	}
	i := long[r.IntN(len(long))]
	b := []byte(words[i])
	j := 1 + r.IntN(len(b)-2) // never the first letter, never past the last
	b[j], b[j+1] = b[j+1], b[j]
	words[i] = string(b)
	return strings.Join(words, " ")
}
