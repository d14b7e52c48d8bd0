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
	// Entry is the listed term that matched.
	Entry Entry
	// Term is the entry's term in normalized form.
	Term string

	id int32 // the term's id in its Matcher
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
	maxLen  int       // the longest normalized term, in bytes
	pool    sync.Pool // *scanner
}

type term struct {
	norm         string
	entry        int
	needL, needR bool
	allow        []allowRef
	maxLeft      int // the largest offset of this term in an allow entry, in bytes
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
// It returns a [*ConfigError] for an empty term, an invalid severity or
// action, a term longer than 256 bytes once normalized, or two entries
// that normalize to the same term.
func NewMatcher(words []Entry, allow []string) (*Matcher, error) {
	m := &Matcher{entries: slices.Clone(words)}
	seen := make(map[string]int, len(words))
	norms := make([]string, 0, len(words))
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
		if j, dup := seen[n]; dup {
			return nil, &ConfigError{Field: field, Reason: fmt.Sprintf("term %q is words[%d] again", e.Term, j)}
		}
		seen[n] = i
		first, _ := utf8.DecodeRuneInString(n)
		last, _ := utf8.DecodeLastRuneInString(n)
		m.terms = append(m.terms, term{
			norm: n, entry: i,
			needL: isWordKind(classify(first)), needR: isWordKind(classify(last)),
		})
		norms = append(norms, n)
		m.maxLen = max(m.maxLen, len(n))
	}
	m.ac = buildAutomaton(norms)

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
			t := &m.terms[id]
			t.allow = append(t.allow, allowRef{text: n, at: refs[id]})
			for _, at := range refs[id] {
				t.maxLeft = max(t.maxLeft, at)
			}
		}
	}
	m.pool.New = func() any { return &scanner{} }
	return m, nil
}

func isWordKind(k uint8) bool { return k == kWord || k == kDigit }

// Len returns the number of listed terms.
func (m *Matcher) Len() int { return len(m.terms) }

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
		Start: h.Start, End: h.End, Term: h.Term, Severity: h.Entry.Severity,
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

	// Hits that waited for the character after them.
	if len(s.waitRight) > 0 {
		keep := s.waitRight[:0]
		for _, h := range s.waitRight {
			if h.end < len(out) || eof {
				s.settleRight(h)
			} else {
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
		if t.needR && end == len(out) && !s.eof {
			s.waitRight = append(s.waitRight, h)
			continue
		}
		s.settleRight(h)
	}
}

// settleRight checks a hit's right word boundary, then the allow-list.
func (s *scanner) settleRight(h rawHit) {
	t := &s.m.terms[h.term]
	out := s.n.out
	if t.needR && h.end < len(out) {
		r, _ := utf8.DecodeRune(out[h.end:])
		if isWordKind(normKind(r)) {
			return
		}
	}
	s.settleAllow(Match{
		Start: s.n.origStart(h.start), End: s.n.origEnd(h.end),
		Entry: s.m.entries[t.entry], Term: t.norm, id: h.term,
	})
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
// that is still undecided for want of text after it.
func (s *scanner) allowed(h Match) (allowed, wait bool) {
	t := &s.m.terms[h.id]
	if len(t.allow) == 0 {
		return false, false
	}
	text := s.text[:s.consumed]
	back := 4*t.maxLeft + 16
	for {
		w0 := max(0, h.Start-back)
		for w0 > 0 && !utf8.RuneStart(text[w0]) {
			w0--
		}
		n := &s.allowN
		n.reset(w0, true)
		n.feed(text, w0, s.eof)
		norm := n.out
		h1 := n.outIndex(h.Start)
		short := false
		wait = false
		for _, ref := range t.allow {
			for _, k := range ref.at {
				p := h1 - k
				if p < 0 {
					short = short || w0 > 0
					continue
				}
				if p+len(ref.text) <= len(norm) {
					if string(norm[p:p+len(ref.text)]) == ref.text {
						return true, false
					}
				} else if !s.eof && strings.HasPrefix(ref.text, string(norm[p:])) {
					wait = true
				}
			}
		}
		if !short {
			return false, wait
		}
		back *= 2
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
// "term<TAB>category<TAB>severity", severity one of low, medium, high
// (default high when the field is missing; the category defaults to "").
// Blank lines and lines starting with '#' are skipped. It returns a
// [*ParseError] for a malformed line.
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
		if len(f) > 3 {
			return nil, &ParseError{Line: line, Reason: "more than 3 tab-separated fields"}
		}
		e := Entry{Term: strings.TrimSpace(f[0]), Severity: High}
		if e.Term == "" {
			return nil, &ParseError{Line: line, Reason: "empty term"}
		}
		if len(f) > 1 {
			e.Category = strings.TrimSpace(f[1])
		}
		if len(f) > 2 {
			switch strings.ToLower(strings.TrimSpace(f[2])) {
			case "low":
				e.Severity = Low
			case "medium":
				e.Severity = Medium
			case "high":
				e.Severity = High
			default:
				return nil, &ParseError{Line: line, Reason: fmt.Sprintf("unknown severity %q", f[2])}
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
