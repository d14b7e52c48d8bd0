package semantic

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tkind is the kind of one token of the matcher.
type tkind uint8

const (
	tWord    tkind = iota + 1 // a word of a space-separated script, canonical spelling
	tHan                      // one CJK character, or a lexicon word of several
	tNum                      // a number: its value as canonical digits
	tOrd                      // an ordinal: its value
	tSym                      // a symbol or an operator, canonical
	tUnit                     // a unit of measure, canonical
	tFormula                  // a formula, canonical text without spaces
	tNeg                      // a negation
	tBreak                    // a clause boundary, dropped once read (see lexQuestion)
)

// tok is one token of a question as the matcher sees it.
type tok struct {
	text  string
	kind  tkind
	glued bool // no space before it
	// mention: the word is named, not used (quoted, or an item of a
	// Chinese list): "the difference between "a" and "the"", 的、地、得.
	// It is content, never a function or question word.
	mention bool
}

// lex splits a question into tokens: words (lower-cased by [prepare],
// spelled canonically: see [spelling]), numbers (ASCII digits), CJK
// characters one by one, and symbols. It never fails.
func lex(s string) []tok {
	s = prepare(s)
	out := make([]tok, 0, len(s)/3+1)
	glued := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == ' ':
			glued = false
			i += size
			continue
		case unicode.IsDigit(r):
			j := scanNumber(s, i)
			out = append(out, tok{text: numberText(s[i:j]), kind: tNum, glued: glued})
			if k := ordinalSuffix(s[j:]); k > 0 {
				out[len(out)-1].kind = tOrd
				j += k
			}
			i = j
		case isCJK(r):
			out = append(out, tok{text: s[i : i+size], kind: tHan, glued: glued})
			i += size
		case unicode.IsLetter(r) || unicode.IsMark(r):
			j := i + size
			for j < len(s) {
				r2, n := utf8.DecodeRuneInString(s[j:])
				if isCJK(r2) || !(unicode.IsLetter(r2) || unicode.IsMark(r2)) {
					break
				}
				j += n
			}
			out = appendWord(out, s[i:j], glued)
			i = j
		default:
			out = append(out, tok{text: s[i : i+size], kind: tSym, glued: glued})
			i += size
		}
		glued = true
	}
	return out
}

// negContracted are the auxiliaries that take "n't"; after the
// apostrophe is folded away "doesn't" reads "doesnt", "can't" "cant",
// "won't" "wont".
var negContracted = map[string]string{
	"do": "do", "does": "does", "did": "did", "is": "is", "are": "are", "was": "was", "were": "were",
	"has": "has", "have": "have", "had": "had", "could": "could", "would": "would", "should": "should",
	"must": "must", "need": "need", "ca": "can", "wo": "will", "might": "might", "sha": "shall",
}

// appendWord appends one word: an "n't" contraction as the auxiliary and
// "not", "cannot" as "can not", anything else in its canonical spelling.
func appendWord(out []tok, w string, glued bool) []tok {
	if strings.HasSuffix(w, "nt") {
		if aux, ok := negContracted[w[:len(w)-2]]; ok {
			return append(out, tok{text: canonicalWord(aux), kind: tWord, glued: glued}, tok{text: "not", kind: tWord})
		}
	}
	if w == "cannot" {
		return append(out, tok{text: "can", kind: tWord, glued: glued}, tok{text: "not", kind: tWord})
	}
	return append(out, tok{text: canonicalWord(w), kind: tWord, glued: glued})
}

// canonicalWord is a word's inflection stripped ([stem]) and its spelling
// made American ([spelling]), so that "colours", "coloured" and "color"
// meet.
func canonicalWord(w string) string {
	w = stem(spelling(w))
	if len(w) > 4 && w[len(w)-1] == 'e' && isASCIILower(w) {
		w = w[:len(w)-1] // "organize" meets "organized" (stem: "organiz")
	}
	return w
}

// spelling maps the regular British spellings to the American ones: -our
// to -or after a vowel group (colour, behaviour; not four, hour), -ise /
// -yse to -ize / -yze and -isation to -ization (organise, analyse), -tre /
// -bre to -ter / -ber (centre, metre, fibre), and a medial "ae" to "e"
// (haemoglobin, encyclopaedia). A word changed on both sides stays equal,
// so the rare word caught wrongly ("precise") does no harm.
func spelling(w string) string {
	if len(w) < 5 || !isASCIILower(w) {
		return w
	}
	base, suffix := w, ""
	for _, s := range []string{"ations", "ation", "ings", "ing", "ers", "er", "ed", "es", "s"} {
		if strings.HasSuffix(w, s) && len(w)-len(s) >= 4 {
			base, suffix = w[:len(w)-len(s)], s
			break
		}
	}
	switch {
	case strings.HasSuffix(base, "our") && hasVowel(base[:len(base)-3]) && len(base) >= 6:
		base = base[:len(base)-3] + "or"
	case strings.HasSuffix(base, "is") && (suffix == "ation" || suffix == "ations" || suffix == "ing" || suffix == "ed" || suffix == "es" || suffix == "er" || suffix == "ers") && len(base) >= 5:
		base = base[:len(base)-2] + "iz"
	case strings.HasSuffix(base, "ys") && (suffix == "ing" || suffix == "ed" || suffix == "es") && len(base) >= 5:
		base = base[:len(base)-2] + "yz"
	}
	w = base + suffix
	switch {
	case strings.HasSuffix(w, "ise") && len(w) >= 7:
		w = w[:len(w)-3] + "ize"
	case strings.HasSuffix(w, "yse") && len(w) >= 7:
		w = w[:len(w)-3] + "yze"
	case strings.HasSuffix(w, "tre") || strings.HasSuffix(w, "bre"):
		w = w[:len(w)-2] + "er"
	case strings.HasSuffix(w, "tres") || strings.HasSuffix(w, "bres"):
		w = w[:len(w)-3] + "ers"
	}
	if i := strings.Index(w[1:], "ae"); i >= 0 {
		w = w[:i+1] + "e" + w[i+3:]
	}
	return w
}

func hasVowel(s string) bool { return strings.ContainsAny(s, "aeiouy") }

// isLetterTok reports a one-letter word: a variable in a formula.
func isLetterTok(t tok) bool {
	return t.kind == tWord && len(t.text) == 1 && t.text[0] >= 'a' && t.text[0] <= 'z'
}
