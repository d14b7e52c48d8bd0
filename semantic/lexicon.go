package semantic

import (
	"embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The matcher's lexicons are data files (lexicon/README.md describes each);
// this file loads them once into the tables the matcher reads.

//go:embed lexicon/*.txt
var lexiconFS embed.FS

// phrase is one lexicon entry as a sequence of token texts, with what it
// stands for.
type phrase struct {
	toks []string
	val  string // canonical text, class, symbol or value, by table
	flag string // the entry's flag (units: "any"/"num"; operators: arity)
}

// phraseTable finds the longest entry starting at a token, by its first
// token's text.
type phraseTable map[string][]phrase

func (t phraseTable) add(p phrase) {
	if len(p.toks) == 0 {
		return
	}
	l := append(t[p.toks[0]], p)
	slices.SortStableFunc(l, func(a, b phrase) int { return len(b.toks) - len(a.toks) })
	t[p.toks[0]] = l
}

// longest returns the longest entry matching toks at i, and its length in
// tokens; ok(p), asked only of entries that match, filters them.
func (t phraseTable) longest(toks []tok, i int, ok func(phrase) bool) (phrase, int) {
	if i >= len(toks) {
		return phrase{}, 0
	}
	for _, p := range t[toks[i].text] {
		if p.at(toks, i) && (ok == nil || ok(p)) {
			return p, len(p.toks)
		}
	}
	return phrase{}, 0
}

// at reports whether the phrase's tokens stand in toks at i.
func (p phrase) at(toks []tok, i int) bool {
	if i+len(p.toks) > len(toks) {
		return false
	}
	for k, s := range p.toks {
		if toks[i+k].text != s {
			return false
		}
	}
	return true
}

// frame is a question frame: the tokens before and after the content,
// and for a frame of two contents ("what is the difference between * and
// *") the tokens between them.
type frame struct {
	class  qclass
	prefix []string
	middle []string // empty for a frame of one content
	suffix []string
}

// size is the frame's length in tokens: the longest frames apply first.
func (f frame) size() int { return len(f.prefix) + len(f.middle) + len(f.suffix) }

// expandAlternatives expands every "{a|b|…}" of a pattern, an empty
// alternative included, into the patterns it stands for.
func expandAlternatives(p string) ([]string, error) {
	open := strings.IndexByte(p, '{')
	if open < 0 {
		if strings.ContainsAny(p, "|}") {
			return nil, fmt.Errorf("pattern %q: | or } outside {…}", p)
		}
		return []string{p}, nil
	}
	end := strings.IndexByte(p[open:], '}')
	if end < 0 {
		return nil, fmt.Errorf("pattern %q: { without }", p)
	}
	end += open
	if strings.ContainsAny(p[:open], "|}") {
		return nil, fmt.Errorf("pattern %q: | or } outside {…}", p)
	}
	if strings.IndexByte(p[open+1:end], '{') >= 0 {
		return nil, fmt.Errorf("pattern %q: nested {", p)
	}
	rest, err := expandAlternatives(p[end+1:])
	if err != nil {
		return nil, err
	}
	var out []string
	for _, alt := range strings.Split(p[open+1:end], "|") {
		for _, r := range rest {
			out = append(out, p[:open]+alt+r)
		}
	}
	return out, nil
}

// lexicon holds every table of the matcher.
type lexicon struct {
	frames []frame // longest first
	// The frames by the text they must start with (byFirst), or, with no
	// prefix, end with (byLast); bare are those with neither ("* vs *").
	// Each list holds indexes into frames, in order.
	byFirst, byLast map[string][]int
	bare            []int
	drop            phraseTable
	neg             phraseTable
	wh              phraseTable     // val: class name; flag "final": only at a clause's end
	aNotA           map[string]bool // the negators of an A-not-A question (有没有)
	afterWh         map[string]bool // words dropped after a question word of their clause
	whyNeg          map[string]bool // "how" words asking "why" before a negation
	and             map[string]bool
	role            map[string]bool // prepositions, coverbs and relation symbols
	resp            phraseTable     // "respectively": coordinations pair in order
	oneAfter        map[string]bool
	cl              map[string]bool
	dem             map[string]bool   // demonstratives, whose classifier is dropped
	whPrep          map[string]bool   // prepositions a question word of time or place includes
	copula          map[string]bool   // the copula and 等于, before 多少 or 几
	words           phraseTable       // Chinese words a frame must not cut
	wordsMax        int               // the longest of them, in tokens
	typeNum         map[string]bool   // nouns naming a number literal's type
	typeForm        map[string]bool   // nouns naming a formula's type
	numbers         map[string]string // word → "3", "x100", "o2"
	units           phraseTable       // val: canonical; flag: any/num
	ops             phraseTable       // val: symbol; flag: sym/bin/post
	synonyms        phraseTable       // val: canonical text (tokenized again)
	discourse       phraseTable       // flag: open/clause
}

var loadLexicon = sync.OnceValue(func() *lexicon {
	lx, err := parseLexicon(lexiconFS)
	if err != nil {
		panic(err) // the embedded files are tested; this cannot happen in a release
	}
	return lx
})

func readLines(fsys embed.FS, name string, fields int, fn func(f []string) error) error {
	data, err := fsys.ReadFile("lexicon/" + name)
	if err != nil {
		return err
	}
	for n, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "#"); i == 0 || i > 0 && line[i-1] == ' ' {
			line = line[:i]
		}
		line = strings.TrimRight(line, " \r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.SplitN(line, "\t", fields)
		if len(f) != fields {
			return fmt.Errorf("semantic: lexicon/%s:%d: %d fields, want %d", name, n+1, len(f), fields)
		}
		if err := fn(f); err != nil {
			return fmt.Errorf("semantic: lexicon/%s:%d: %w", name, n+1, err)
		}
	}
	return nil
}

// words splits a lexicon field into its entries: by "|" when it has one,
// else by spaces.
func words(field string) []string {
	sep := " "
	if strings.Contains(field, "|") {
		sep = "|"
	}
	var out []string
	for _, w := range strings.Split(field, sep) {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// entryToks tokenizes a lexicon entry as a question would be, up to the
// canonical spelling of words.
func entryToks(s string) []string {
	ts := lex(s)
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.text
	}
	return out
}

func parseLexicon(fsys embed.FS) (*lexicon, error) {
	lx := &lexicon{
		drop: phraseTable{}, neg: phraseTable{}, wh: phraseTable{}, aNotA: map[string]bool{}, afterWh: map[string]bool{}, whyNeg: map[string]bool{}, and: map[string]bool{}, role: map[string]bool{}, resp: phraseTable{},
		oneAfter: map[string]bool{}, cl: map[string]bool{}, dem: map[string]bool{}, whPrep: map[string]bool{}, copula: map[string]bool{}, words: phraseTable{}, numbers: map[string]string{},
		typeNum: map[string]bool{}, typeForm: map[string]bool{},
		units: phraseTable{}, ops: phraseTable{}, synonyms: phraseTable{}, discourse: phraseTable{},
	}
	err := readLines(fsys, "frames.txt", 2, func(f []string) error {
		c, ok := classByName[f[0]]
		if !ok {
			return fmt.Errorf("unknown class %q", f[0])
		}
		pats, err := expandAlternatives(f[1])
		if err != nil {
			return err
		}
		for _, pat := range pats {
			parts := strings.Split(pat, "*")
			if len(parts) != 2 && len(parts) != 3 {
				return fmt.Errorf("pattern %q: want one * or two", pat)
			}
			fr := frame{class: c, prefix: entryToks(parts[0]), suffix: entryToks(parts[len(parts)-1])}
			if len(parts) == 3 {
				if fr.middle = entryToks(parts[1]); len(fr.middle) == 0 {
					return fmt.Errorf("pattern %q: nothing between its two *", pat)
				}
			}
			if len(fr.prefix)+len(fr.suffix)+len(fr.middle) == 0 {
				return fmt.Errorf("empty pattern")
			}
			lx.frames = append(lx.frames, fr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(lx.frames, func(a, b frame) int { return b.size() - a.size() })
	lx.byFirst, lx.byLast = map[string][]int{}, map[string][]int{}
	for i, f := range lx.frames {
		switch {
		case len(f.prefix) > 0:
			lx.byFirst[f.prefix[0]] = append(lx.byFirst[f.prefix[0]], i)
		case len(f.suffix) > 0:
			lx.byLast[f.suffix[len(f.suffix)-1]] = append(lx.byLast[f.suffix[len(f.suffix)-1]], i)
		default:
			lx.bare = append(lx.bare, i)
		}
	}
	err = readLines(fsys, "function.txt", 2, func(f []string) error {
		kind, class, _ := strings.Cut(f[0], ":")
		for _, w := range words(f[1]) {
			p := phrase{toks: entryToks(w)}
			switch kind {
			case "drop":
				lx.drop.add(p)
			case "neg":
				lx.neg.add(p)
			case "wh", "final":
				c, ok := classByName[class]
				if !ok {
					return fmt.Errorf("unknown class %q", class)
				}
				p.val = strconv.Itoa(int(c))
				if kind == "final" {
					p.flag = "final" // a question word only at a clause's end
				}
				lx.wh.add(p)
			case "anota":
				lx.aNotA[w] = true
			case "afterwh":
				lx.afterWh[w] = true
			case "whyneg":
				lx.whyNeg[strings.Join(p.toks, " ")] = true
			case "and":
				lx.and[strings.Join(p.toks, " ")] = true
			case "resp":
				lx.resp.add(p)
			case "role":
				for _, t := range p.toks {
					lx.role[t] = true
				}
			case "one":
				lx.oneAfter[strings.Join(p.toks, " ")] = true
			case "cl":
				lx.cl[w] = true
			case "dem":
				lx.dem[w] = true
			case "word":
				lx.words.add(p)
				lx.wordsMax = max(lx.wordsMax, len(p.toks))
			case "whprep":
				lx.whPrep[w] = true
			case "copula":
				lx.copula[w] = true
			case "type":
				m := lx.typeNum
				if class == "formula" {
					m = lx.typeForm
				} else if class != "num" {
					return fmt.Errorf("unknown type %q", class)
				}
				m[strings.Join(p.toks, " ")] = true
			default:
				return fmt.Errorf("unknown kind %q", f[0])
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = readLines(fsys, "numbers.txt", 2, func(f []string) error {
		for _, w := range words(f[1]) {
			for _, t := range entryToks(w) {
				lx.numbers[t] = f[0]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = readLines(fsys, "units.txt", 3, func(f []string) error {
		if f[1] != "any" && f[1] != "num" {
			return fmt.Errorf("unit flag %q", f[1])
		}
		for _, w := range words(f[2]) {
			lx.units.add(phrase{toks: entryToks(w), val: f[0], flag: f[1]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = readLines(fsys, "operators.txt", 3, func(f []string) error {
		if f[1] != "sym" && f[1] != "bin" && f[1] != "post" {
			return fmt.Errorf("operator arity %q", f[1])
		}
		for _, w := range words(f[2]) {
			toks := entryToks(w)
			if f[1] == "sym" {
				toks = []string{w} // a glyph, matched before lexing would split it
			}
			lx.ops.add(phrase{toks: toks, val: f[0], flag: f[1]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = readLines(fsys, "discourse.txt", 2, func(f []string) error {
		if f[0] != "open" && f[0] != "clause" {
			return fmt.Errorf("discourse kind %q", f[0])
		}
		for _, w := range words(f[1]) {
			lx.discourse.add(phrase{toks: entryToks(w), flag: f[0]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = readLines(fsys, "synonyms.txt", 2, func(f []string) error {
		for _, w := range words(f[1]) {
			lx.synonyms.add(phrase{toks: entryToks(w), val: f[0]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lx, nil
}
