package moderation

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Entry is a term of a word list.
type Entry struct {
	// Term is the word or phrase, in any case and width; it is normalized
	// as the text is. Required.
	Term string
	// Category groups terms for reasons and metrics, e.g. "insult".
	Category string
	// Severity grades the term; required.
	Severity Severity
	// Action overrides what a hit does. Default Allow (the zero value):
	// the severity decides (see [Severity.Action]).
	Action Action
	// Exact makes the term match only as listed: without its inflected
	// forms (a Latin-script term; see inflect.go) and inside the compounds
	// of lexicon/zh_compounds.txt too (a Chinese term). Default false.
	Exact bool
	// Digits lets a term of digits only ("911") be matched; without it
	// [NewMatcher] refuses such a term (see [LoadReport]). Default false.
	Digits bool
	// Defaulted is set by [ParseWords] when the line gave no severity and
	// High was assumed; the load report warns about it.
	Defaulted bool
}

func (e Entry) action() Action {
	if e.Action != Allow {
		return e.Action
	}
	return e.Severity.Action()
}

// Match is a hit of a listed term in a text.
type Match struct {
	// Start and End delimit the hit in the original text, in bytes. The
	// span covers everything the hit was read from, separators and
	// invisible characters inside it included.
	Start, End int
	// Entry is the listed term that matched, as listed (for merged
	// duplicates, the entry that won; see [LoadReport]).
	Entry Entry
	// Term is the entry's term in normalized form. An inflected form
	// ("idiots") reports the listed term ("idiot").
	Term string

	id int32 // the id of the pattern that matched, in its Matcher
}

// maxTermBytes bounds a normalized term, and so what a stream holds back.
const maxTermBytes = 256

// Matcher finds the terms of a word list in text, after normalization (see
// [Normalize]): whole words only for terms of spaced scripts ("class"
// never hits "ass"), anywhere for terms of unspaced scripts such as
// Chinese; a hit inside an occurrence of an allow-list entry is dropped. It
// compiles the list into an Aho-Corasick automaton, so a scan costs about
// the same for ten terms or ten thousand.
//
// A Matcher is safe for concurrent use. As a [Checker] it reports each hit
// as a "word" finding whose action comes from the entry.
type Matcher struct {
	ac      *automaton
	terms   []term
	entries []Entry
	maxLen  int // the longest normalized term or form, in bytes
	report  *LoadReport
	pool    sync.Pool // *scanner
}

// term is a pattern of the automaton: a listed term, an irregular form
// of one, or the stem that regular inflections of one begin with.
type term struct {
	norm         string // the pattern
	entry        int    // index in Matcher.entries of the term a bare hit reports, -1 when a bare hit is none
	report       string // that term, normalized
	needL, needR bool
	infl         []infl // the suffixes that make inflected forms of listed terms from this pattern
	allow        []allowRef
	maxLeft      int // the largest offset of this term in an allow entry, in bytes
	maxRight     int // the most bytes of an allow entry from this term's start on

	// With many allow entries (a one-character Chinese term has dozens
	// of compounds), the entries by text and their distinct shapes
	// (offset of the term, length), so that a hit costs a few map
	// lookups rather than a comparison per entry.
	allowSet    map[string]struct{}
	allowShapes []allowShape
}

type allowShape struct{ at, n int }

// manyAllow is the number of allow entries from which a term looks its
// entries up by shape.
const manyAllow = 8

// indexAllow builds the lookup of a term with many allow entries.
func (t *term) indexAllow() {
	if len(t.allow) < manyAllow {
		return
	}
	t.allowSet = make(map[string]struct{}, len(t.allow))
	seen := map[allowShape]bool{}
	for _, ref := range t.allow {
		t.allowSet[ref.text] = struct{}{}
		for _, k := range ref.at {
			sh := allowShape{k, len(ref.text)}
			if !seen[sh] {
				seen[sh] = true
				t.allowShapes = append(t.allowShapes, sh)
			}
		}
	}
}

// infl is a regular inflection that begins with a pattern: the suffix
// after it and the listed term it is a form of.
type infl struct {
	suffix string
	entry  int
	report string
}

// allowRef is an allow-list entry (normalized, separators kept) that
// contains a term, with the term's byte offsets in it.
type allowRef struct {
	text string
	at   []int
}

// NewMatcher compiles a word list and an allow-list. Allow-list entries are
// phrases that contain a listed term but are fine ("classic", "汉代考古");
// a hit that lies inside an occurrence of one is dropped. They match
// contiguously on the normalized text, separators not seen through.
//
// A list loads as users have it: entries that normalize alike are merged
// (the stronger action wins, then the higher severity, then the first),
// and a term of digits only is refused unless its Entry.Digits is set;
// [Matcher.Report] tells what became of each entry, with its normalized
// form and warnings. Latin-script terms also match their inflected forms
// unless Entry.Exact is set (see inflect.go); Chinese terms do not match
// inside the ordinary compounds of the embedded lexicon/zh_compounds.txt
// ("性" not in "性质" or "女性"; see compound.go).
//
// It returns a [*ConfigError] for an empty term, an invalid severity or
// action, or a term longer than 256 bytes once normalized.
func NewMatcher(words []Entry, allow []string) (*Matcher, error) {
	m := &Matcher{}
	rep := &LoadReport{Entries: make([]LoadedEntry, len(words))}
	byNorm := make(map[string]int, len(words)) // normalized term → index into words of the entry kept
	for i, e := range words {
		field := fmt.Sprintf("words[%d]", i)
		if e.Severity < Low || e.Severity > High {
			return nil, &ConfigError{Field: field, Reason: fmt.Sprintf("invalid severity %d", e.Severity)}
		}
		if !e.Action.valid() {
			return nil, &ConfigError{Field: field, Reason: fmt.Sprintf("invalid action %d", e.Action)}
		}
		n := strings.Trim(Normalize(e.Term), " ")
		switch {
		case n == "":
			return nil, &ConfigError{Field: field, Reason: "empty term"}
		case len(n) > maxTermBytes:
			return nil, &ConfigError{Field: field, Reason: fmt.Sprintf("term longer than %d bytes", maxTermBytes)}
		}
		warn, digits := entryWarnings(e, n)
		le := LoadedEntry{Index: i, Term: e.Term, Norm: n, Into: -1, Warnings: warn}
		switch j, dup := byNorm[n]; {
		case digits && !e.Digits:
			le.Status = Refused
		case !dup:
			byNorm[n] = i
		case stronger(e, words[j]):
			// This one wins: the one kept so far is folded into it.
			prev := &rep.Entries[j]
			prev.Status, prev.Into = Merged, i
			prev.Warnings = append(prev.Warnings, fmt.Sprintf("same term as words[%d], which wins", i))
			le.Warnings = append(le.Warnings, fmt.Sprintf("same term as words[%d]: this one wins", j))
			for k := range rep.Entries[:i] {
				if o := &rep.Entries[k]; o.Status == Merged && o.Into == j {
					o.Into = i
				}
			}
			byNorm[n] = i
		default:
			le.Status, le.Into = Merged, j
			le.Warnings = append(le.Warnings, fmt.Sprintf("same term as words[%d], which wins", j))
		}
		rep.Entries[i] = le
	}

	// The patterns: each kept term, then the forms of each.
	ids := map[string]int32{}
	pattern := func(p string) *term {
		id, ok := ids[p]
		if !ok {
			first, _ := utf8.DecodeRuneInString(p)
			last, _ := utf8.DecodeLastRuneInString(p)
			id = int32(len(m.terms))
			ids[p] = id
			m.terms = append(m.terms, term{
				norm: p, entry: -1,
				needL: isWordKind(classify(first)), needR: isWordKind(classify(last)),
			})
			m.maxLen = max(m.maxLen, len(p))
		}
		return &m.terms[id]
	}
	var kept []int // indices into words, in order
	for i := range words {
		if rep.Entries[i].Status == Kept {
			kept = append(kept, i)
			rep.Kept++
			t := pattern(rep.Entries[i].Norm)
			t.entry, t.report = len(m.entries), t.norm
			m.entries = append(m.entries, words[i])
		} else if rep.Entries[i].Status == Merged {
			rep.Merged++
		} else {
			rep.Refused++
		}
	}
	for k, i := range kept {
		if words[i].Exact {
			continue
		}
		n := rep.Entries[i].Norm
		regular, irregular := phraseForms(n)
		for _, f := range irregular {
			if id, ok := ids[f]; ok && m.terms[id].entry >= 0 || len(f) > maxTermBytes {
				continue // a listed term, or another's form: that one reports it
			}
			t := pattern(f)
			t.entry, t.report = k, n
		}
		for _, f := range regular {
			if id, ok := ids[f.stem+f.suffix]; ok && m.terms[id].entry >= 0 || len(f.stem)+len(f.suffix) > maxTermBytes {
				continue
			}
			t := pattern(f.stem)
			t.infl = append(t.infl, infl{suffix: f.suffix, entry: k, report: n})
			m.maxLen = max(m.maxLen, len(f.stem)+len(f.suffix))
		}
	}
	norms := make([]string, len(m.terms))
	for i, t := range m.terms {
		norms[i] = t.norm
	}
	m.ac = buildAutomaton(norms)
	m.report = rep

	for i, a := range allow {
		n := strings.Trim(normalizeKeep(a), " ")
		if n == "" {
			return nil, &ConfigError{Field: fmt.Sprintf("allow[%d]", i), Reason: "empty entry"}
		}
		refs := map[int32][]int{}
		var order []int32
		if len(norms) > 0 {
			m.ac.scan(0, []byte(n), func(end int, s uint32) {
				for _, id := range m.ac.terms(s) {
					if _, ok := refs[id]; !ok {
						order = append(order, id)
					}
					refs[id] = append(refs[id], end-len(m.terms[id].norm))
				}
			})
		}
		for _, id := range order {
			m.addAllowRef(id, n, refs[id])
		}
	}
	listed := make(map[string]bool, len(kept))
	for _, i := range kept {
		listed[rep.Entries[i].Norm] = true
	}
	m.compoundAllow(listed)
	for i := range m.terms {
		m.terms[i].indexAllow()
	}
	m.pool.New = func() any { return &scanner{} }
	return m, nil
}

// stronger reports whether entry a wins over entry b for the same term:
// the stronger action, then the higher severity.
func stronger(a, b Entry) bool {
	if a.action() != b.action() {
		return a.action() > b.action()
	}
	return a.Severity > b.Severity
}

// Report returns what NewMatcher made of each entry of the word list. The
// report is shared: do not modify it.
func (m *Matcher) Report() *LoadReport { return m.report }

func isWordKind(k uint8) bool { return k == kWord || k == kDigit }

// Len returns the number of listed terms matched (merged and refused
// entries not counted, inflected forms neither).
func (m *Matcher) Len() int { return len(m.entries) }

// Find returns the hits in text, in order of their start. Hits of different
// terms may overlap.
func (m *Matcher) Find(text string) []Match {
	s := m.pool.Get().(*scanner)
	s.reset(m)
	s.advance(text, true)
	var out []Match
	if len(s.found) > 0 {
		// Sort small keys rather than the matches themselves: the sort
		// then moves a third of the bytes, and no pointers.
		keys := s.keys[:0]
		for i, h := range s.found {
			keys = append(keys, hitKey{start: h.Start, end: h.End, id: h.id, i: int32(i)})
		}
		slices.SortFunc(keys, func(a, b hitKey) int {
			if a.start != b.start {
				return a.start - b.start
			}
			if a.end != b.end {
				return a.end - b.end
			}
			return int(a.id - b.id)
		})
		out = make([]Match, len(keys))
		for i, k := range keys {
			out[i] = s.found[k.i]
		}
		s.keys = keys
	}
	m.pool.Put(s)
	return out
}

// hitKey is what Find sorts its hits by, and where each hit is.
type hitKey struct {
	start, end int
	id, i      int32
}

// Check reports the hits in in.Text as "word" findings. It implements
// [Checker].
func (m *Matcher) Check(ctx context.Context, in *Input) ([]Finding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.findings(m.Find(in.Text)), nil
}

func (m *Matcher) findings(hits []Match) []Finding {
	if len(hits) == 0 {
		return nil
	}
	out := make([]Finding, len(hits))
	for i, h := range hits {
		out[i] = m.finding(h)
	}
	return out
}

func (m *Matcher) finding(h Match) Finding {
	return Finding{
		Check: "word", Category: h.Entry.Category, Action: h.Entry.action(),
		Start: h.Start, End: h.End, Term: h.Term, Listed: h.Entry.Term, Severity: h.Entry.Severity,
	}
}

// scanner runs a Matcher over a text that may arrive in pieces.
type scanner struct {
	m        *Matcher
	n        normalizer
	consumed int    // original bytes normalized so far
	state    uint32 // automaton state after n.out
	acPos    int    // normalized bytes the automaton has read

	waitRight []rawHit // hits at the end of the normalized text, next character unknown
	waitAllow []Match  // hits an allow-list entry may still cover
	found     []Match  // settled hits
	keys      []hitKey // Find's sort keys, kept for reuse

	eof    bool
	text   string // the text of the current advance
	allowN normalizer
}

// rawHit is a hit in normalized offsets.
type rawHit struct {
	start, end int
	term       int32
}

func (s *scanner) reset(m *Matcher) {
	s.m = m
	s.n.reset(0, false)
	s.consumed, s.state, s.acPos = 0, 0, 0
	s.waitRight = s.waitRight[:0]
	s.waitAllow = s.waitAllow[:0]
	s.found = s.found[:0]
}

// advance reads text[s.consumed:], where text is all the text so far, and
// settles every hit it can; eof says no more text follows.
func (s *scanner) advance(text string, eof bool) {
	s.text, s.eof = text, eof
	s.consumed = s.n.feed(text, s.consumed, eof)
	out := s.n.out

	// Hits that waited for the characters after them.
	if len(s.waitRight) > 0 {
		keep := s.waitRight[:0]
		for _, h := range s.waitRight {
			if !(h.end < len(out) || eof) || !s.settleRight(h) {
				keep = append(keep, h)
			}
		}
		s.waitRight = keep
	}
	// Hits that waited for more context for the allow-list.
	if len(s.waitAllow) > 0 {
		keep := s.waitAllow[:0:0]
		waiting := s.waitAllow
		s.waitAllow = keep
		for _, h := range waiting {
			s.settleAllow(h)
		}
	}
	switch {
	case s.acPos == len(out) || len(s.m.terms) == 0:
	case s.acPos == 0 && eof:
		// A whole text at once: eight chains in lockstep.
		s.state = s.m.ac.scanAll(out, s.m.maxLen, s.hitAt)
	default:
		s.state = s.m.ac.scan(s.state, out[s.acPos:], s.hitAt)
	}
	s.acPos = len(out)
	s.text = ""
}

// hitAt handles an output state reached at normalized offset s.acPos+end.
func (s *scanner) hitAt(end int, st uint32) {
	end += s.acPos
	out := s.n.out
	for _, id := range s.m.ac.terms(st) {
		t := &s.m.terms[id]
		start := end - len(t.norm)
		if t.needL && start > 0 {
			r, _ := utf8.DecodeLastRune(out[:start])
			if isWordKind(normKind(r)) && !s.n.afterArticle(start) {
				continue
			}
		}
		h := rawHit{start: start, end: end, term: id}
		if t.needR && end == len(out) && !s.eof || !s.settleRight(h) {
			s.waitRight = append(s.waitRight, h)
		}
	}
}

// settleRight checks a hit's right word boundary, or the inflection that
// follows it, then the allow-list. It returns false when the text so far
// cannot tell yet: the hit waits for more.
func (s *scanner) settleRight(h rawHit) bool {
	t := &s.m.terms[h.term]
	out := s.n.out
	entry, report, end := t.entry, t.report, h.end
	if t.needR && h.end < len(out) {
		r, _ := utf8.DecodeRune(out[h.end:])
		if isWordKind(normKind(r)) {
			if len(t.infl) == 0 {
				return true
			}
			f, wait := s.inflected(t, h.end)
			if wait {
				return false
			}
			if f == nil {
				return true
			}
			entry, report, end = f.entry, f.report, h.end+len(f.suffix)
		}
	}
	if entry < 0 {
		return true // a stem, not followed by one of its suffixes
	}
	s.settleAllow(Match{
		Start: s.n.origStart(h.start), End: s.n.origEnd(end),
		Entry: s.m.entries[entry], Term: report, id: h.term,
	})
	return true
}

// inflected returns the longest inflection of t whose suffix follows a hit
// of t that ends at normalized offset end and ends a word there; nil when
// none does, and wait when more text may still decide.
func (s *scanner) inflected(t *term, end int) (f *infl, wait bool) {
	rest := s.n.out[end:]
	for i := range t.infl {
		c := &t.infl[i]
		k := len(c.suffix)
		switch {
		case len(rest) < k:
			if !s.eof && string(rest) == c.suffix[:len(rest)] {
				wait = true
			}
			continue
		case string(rest[:k]) != c.suffix:
			continue
		case len(rest) == k:
			if !s.eof {
				wait = true
				continue
			}
		default:
			if r, _ := utf8.DecodeRune(rest[k:]); isWordKind(normKind(r)) {
				continue
			}
		}
		if f == nil || k > len(f.suffix) {
			f = c
		}
	}
	if wait {
		return nil, true
	}
	return f, false
}

// settleAllow drops a hit that an allow-list entry covers, keeps it when
// none can, and lets it wait when more text may still decide.
func (s *scanner) settleAllow(h Match) {
	allowed, wait := s.allowed(h)
	switch {
	case allowed:
	case wait:
		s.waitAllow = append(s.waitAllow, h)
	default:
		s.found = append(s.found, h)
	}
}

// allowed reports whether an allow-list entry covers the hit, and whether
// that is still undecided for want of text after it. It normalizes a
// window around the hit, in the allow-list form, wide enough for the
// term's entries, and widens it when an entry reaches past it.
func (s *scanner) allowed(h Match) (allowed, wait bool) {
	t := &s.m.terms[h.id]
	if len(t.allow) == 0 {
		return false, false
	}
	text := s.text[:s.consumed]
	back, ahead := 4*t.maxLeft+16, 4*t.maxRight+16
	for {
		w0 := max(0, h.Start-back)
		for w0 > 0 && !utf8.RuneStart(text[w0]) {
			w0--
		}
		w1 := min(len(text), h.Start+ahead)
		for w1 < len(text) && !utf8.RuneStart(text[w1]) {
			w1++
		}
		n := &s.allowN
		n.reset(w0, true)
		n.feed(text[:w1], w0, s.eof && w1 == len(text))
		norm := n.out
		h1 := n.outIndex(h.Start)
		if t.allowSet != nil {
			overflow := false
			for _, sh := range t.allowShapes {
				p := h1 - sh.at
				switch {
				case p < 0:
					overflow = overflow || w0 > 0
				case p+sh.n <= len(norm):
					if _, ok := t.allowSet[string(norm[p:p+sh.n])]; ok {
						return true, false
					}
				default:
					overflow = true
				}
			}
			if !overflow {
				return false, false
			}
			// An entry may reach past the window: look closer.
		}
		shortL, shortR := false, false
		wait = false
		for _, ref := range t.allow {
			for _, k := range ref.at {
				p := h1 - k
				if p < 0 {
					shortL = shortL || w0 > 0
					continue
				}
				switch {
				case p+len(ref.text) <= len(norm):
					if string(norm[p:p+len(ref.text)]) == ref.text {
						return true, false
					}
				case !strings.HasPrefix(ref.text, string(norm[p:])):
				case w1 < len(text):
					shortR = true
				case !s.eof:
					wait = true
				}
			}
		}
		if !shortL && !shortR {
			return false, wait
		}
		if shortL {
			back *= 2
		}
		if shortR {
			ahead *= 2
		}
	}
}

// hold returns the original offset before which nothing can change any
// more: no hit can begin before it, and every hit before it is settled.
func (s *scanner) hold() int {
	f := s.consumed
	if p := s.n.pending(); p >= 0 && p < f {
		f = p
	}
	if d := s.m.ac.stateDepth(s.state); d > 0 && len(s.m.terms) > 0 {
		f = min(f, s.n.origStart(s.acPos-d))
	}
	for _, h := range s.waitRight {
		f = min(f, s.n.origStart(h.start))
	}
	for _, h := range s.waitAllow {
		f = min(f, h.Start)
	}
	return f
}

// normKind returns the kind of a character of normalized text.
func normKind(r rune) uint8 {
	if r < utf8.RuneSelf {
		return asciiKind[r]
	}
	if isHanFast(r) {
		return kHan
	}
	return classify(r)
}

// ParseWords reads a word list: one entry a line,
// "term<TAB>category<TAB>severity<TAB>options". Only the term is
// required. The category defaults to "". The severity is one of low,
// medium, high; when the field is missing or empty, High is assumed (a
// term someone listed blocks rather than passes) and the entry's
// Defaulted is set, so that [Matcher.Report] warns about it. The options
// are comma-separated words: "exact" sets Entry.Exact (no inflected forms,
// no compound lexicon), "digits" sets Entry.Digits (a term of digits only
// is matched). Blank lines and lines starting with '#' are skipped. It
// returns a [*ParseError] for a malformed line.
func ParseWords(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if !utf8.ValidString(s) {
			return nil, &ParseError{Line: line, Reason: "invalid UTF-8"}
		}
		f := strings.Split(s, "\t")
		if len(f) > 4 {
			return nil, &ParseError{Line: line, Reason: "more than 4 tab-separated fields"}
		}
		e := Entry{Term: strings.TrimSpace(f[0]), Severity: High, Defaulted: true}
		if e.Term == "" {
			return nil, &ParseError{Line: line, Reason: "empty term"}
		}
		if len(f) > 1 {
			e.Category = strings.TrimSpace(f[1])
		}
		if len(f) > 2 {
			switch strings.ToLower(strings.TrimSpace(f[2])) {
			case "":
			case "low":
				e.Severity, e.Defaulted = Low, false
			case "medium":
				e.Severity, e.Defaulted = Medium, false
			case "high":
				e.Severity, e.Defaulted = High, false
			default:
				return nil, &ParseError{Line: line, Reason: fmt.Sprintf("unknown severity %q", f[2])}
			}
		}
		if len(f) > 3 {
			for _, o := range strings.Split(f[3], ",") {
				switch strings.ToLower(strings.TrimSpace(o)) {
				case "":
				case "exact":
					e.Exact = true
				case "digits":
					e.Digits = true
				default:
					return nil, &ParseError{Line: line, Reason: fmt.Sprintf("unknown option %q", o)}
				}
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{Line: line + 1, Reason: err.Error()}
	}
	return out, nil
}

// ParseAllow reads an allow-list: one entry a line; blank lines and lines
// starting with '#' are skipped. It returns a [*ParseError] for invalid
// UTF-8.
func ParseAllow(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if !utf8.ValidString(s) {
			return nil, &ParseError{Line: line, Reason: "invalid UTF-8"}
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{Line: line + 1, Reason: err.Error()}
	}
	return out, nil
}
