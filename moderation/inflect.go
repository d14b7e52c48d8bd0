package moderation

import (
	_ "embed"
	"strings"
	"sync"
)

// English inflection, for the whole-word rule: a listed word of a spaced
// script also matches its inflected forms, so a list that has "idiot"
// catches "idiots" and "idiot's", and one that has "jerk" catches "jerks",
// "jerked" and "jerking", without listing them. The forms come from the
// spelling rules of English inflection:
//
//   - plural and third person -s: -es after s, x, z, ch and sh; -ies for
//     a consonant and y; -s and -es after a consonant and o; -s and -ves
//     after f and fe;
//   - past -ed and -d after e, -ied for a consonant and y;
//   - -ing, with e dropped (hate → hating, but see → seeing) and ie → y
//     (die → dying);
//   - comparative and agent -er, -ers and superlative -est, by the same
//     spelling as -ed;
//   - a final consonant after a single vowel after a consonant doubles
//     before a suffix that begins with a vowel (stab → stabbed, crap →
//     crapping); spelling does not show the stress that decides it, so
//     both forms are taken (visit → visited; visitted never occurs);
//   - the possessive 's and s' needs no form of its own: an apostrophe is
//     punctuation, so "idiot's" is the word "idiot" and "idiots'" the
//     word "idiots";
//   - irregular plurals and verbs (child → children, steal → stole,
//     stolen) from the embedded lexicon/irregular.txt.
//
// A phrase inflects at its head: the last word of a noun phrase ("slot
// machine" → "slot machines"), the first word of a verb phrase, for tense
// and person only ("kill myself" → "kills myself", "killed myself",
// "killing myself"). A list does not say which
// a phrase is, so both are taken; the wrong one makes a form that text
// does not have ("kill myselfs"). An entry with Exact set matches only as
// listed.

//go:embed lexicon/irregular.txt
var irregularTXT string

var (
	irregularOnce sync.Once
	irregularMap  map[string][]string
)

// irregularForms returns the irregular inflected forms of an English
// word, from lexicon/irregular.txt.
func irregularForms(w string) []string {
	irregularOnce.Do(func() {
		irregularMap = map[string][]string{}
		for _, line := range strings.Split(irregularTXT, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			base, forms, ok := strings.Cut(line, "\t")
			if !ok {
				continue
			}
			for _, f := range strings.Split(forms, ",") {
				if f = strings.TrimSpace(f); f != "" {
					irregularMap[base] = append(irregularMap[base], f)
				}
			}
		}
	})
	return irregularMap[w]
}

// inflection is a regular inflected form of a listed word: a stem (the
// word, or the word less a final e, y or ie) and a suffix after it.
type inflection struct {
	stem, suffix string
}

func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u':
		return true
	}
	return false
}

// asciiWord reports whether w is lower-case ASCII letters only.
func asciiWord(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

// doubles reports whether the final consonant of w doubles before a
// suffix that begins with a vowel: one vowel before it, not two, and not
// w, x or y. The u of qu is part of the consonant (quit → quitting, quiz
// → quizzes).
func doubles(w string) bool {
	n := len(w)
	if n < 2 || isVowel(w[n-1]) || strings.IndexByte("wxy", w[n-1]) >= 0 || !isVowel(w[n-2]) {
		return false
	}
	return n == 2 || !isVowel(w[n-3]) || n >= 4 && w[n-4] == 'q' && w[n-3] == 'u'
}

// regularForms returns the regular inflected forms of w, a word of
// lower-case ASCII letters, as stems and suffixes.
func regularForms(w string) []inflection {
	n := len(w)
	if n < 2 {
		return nil
	}
	var out []inflection
	add := func(stem, suffix string) { out = append(out, inflection{stem, suffix}) }
	last, prevVowel := w[n-1], isVowel(w[n-2])
	double := doubles(w)

	// Plural and third person.
	switch {
	case last == 's' || last == 'x' || last == 'z' || strings.HasSuffix(w, "ch") || strings.HasSuffix(w, "sh"):
		add(w, "es")
		if double {
			add(w, string(last)+"es") // quiz → quizzes
		}
	case last == 'y' && !prevVowel:
		add(w[:n-1], "ies")
	case last == 'o' && !prevVowel:
		add(w, "s")
		add(w, "es")
	case last == 'f':
		add(w, "s")
		add(w[:n-1], "ves")
	case strings.HasSuffix(w, "fe"):
		add(w, "s")
		add(w[:n-2], "ves")
	default:
		add(w, "s")
	}

	// Past, participle, comparative, agent, superlative.
	switch {
	case strings.HasSuffix(w, "ie"):
		for _, s := range []string{"d", "r", "rs", "st"} {
			add(w, s)
		}
		add(w[:n-2], "ying")
	case last == 'e':
		for _, s := range []string{"d", "r", "rs", "st"} {
			add(w, s)
		}
		if w[n-2] == 'e' || w[n-2] == 'y' || w[n-2] == 'o' {
			add(w, "ing") // see → seeing, dye → dyeing, hoe → hoeing
		} else {
			add(w[:n-1], "ing")
		}
	case last == 'y' && !prevVowel:
		for _, s := range []string{"ied", "ier", "iers", "iest"} {
			add(w[:n-1], s)
		}
		add(w, "ing")
	default:
		for _, s := range []string{"ed", "ing", "er", "ers", "est"} {
			add(w, s)
			if double {
				add(w, string(last)+s)
			}
		}
	}
	return out
}

// verbSuffix reports whether a suffix of [regularForms] is one of a verb:
// -s, -ed or -ing, with their spelling changes (not -er, -ers or -est).
func verbSuffix(s string) bool {
	return strings.HasSuffix(s, "s") && !strings.HasSuffix(s, "rs") || strings.HasSuffix(s, "d") || strings.HasSuffix(s, "ing")
}

// phraseForms returns the inflected forms of a normalized term. Those of
// its last word, when that is a word of ASCII letters, that add a suffix
// to the whole word come as the term and the suffix; those that change the
// word's end (hate → hating), its irregular forms and the verb forms of
// its first word, when the term is a phrase ("killed myself"; -s, -ed,
// -ing and irregular past forms, as a verb phrase inflects), come as
// whole phrases.
func phraseForms(term string) (regular []inflection, irregular []string) {
	head, last := "", term
	if i := strings.LastIndexByte(term, ' '); i >= 0 {
		head, last = term[:i+1], term[i+1:]
	}
	if !asciiWord(last) {
		last = "" // no forms of the last word, maybe of the first
	}
	for _, f := range regularForms(last) {
		if f.stem == last {
			regular = append(regular, inflection{term, f.suffix})
		} else {
			// The stem is shorter than the word (hate → hating): the
			// form is a pattern of its own, so that the stem, often a
			// word itself ("hat"), is not one.
			irregular = append(irregular, head+f.stem+f.suffix)
		}
	}
	for _, f := range irregularForms(last) {
		irregular = append(irregular, head+f)
	}
	if head == "" {
		return regular, irregular
	}
	// A verb phrase: the first word inflects; these forms are whole
	// phrases.
	first, tail, _ := strings.Cut(term, " ")
	if !asciiWord(first) {
		return regular, irregular
	}
	for _, f := range regularForms(first) {
		if verbSuffix(f.suffix) {
			irregular = append(irregular, f.stem+f.suffix+" "+tail)
		}
	}
	for _, f := range irregularForms(first) {
		irregular = append(irregular, f+" "+tail)
	}
	return regular, irregular
}
