package moderation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestLoadReport: duplicates merge with the strongest winning, digit-only
// terms are refused unless allowed, and every entry's normalized form and
// warnings are reported.
func TestLoadReport(t *testing.T) {
	words := []Entry{
		{Term: "Idiot", Category: "insult", Severity: Low},                  // 0: merged into 1
		{Term: "ＩＤＩＯＴ", Category: "insult", Severity: High},                 // 1: wins
		{Term: "idiot", Category: "other", Severity: Medium},                // 2: merged into 1
		{Term: "13.", Category: "list fault", Severity: High},               // 3: refused
		{Term: "911", Category: "emergency", Severity: Low, Digits: true},   // 4: kept
		{Term: "ok", Category: "short", Severity: Low},                      // 5: kept, very short
		{Term: "性", Category: "one", Severity: Low},                         // 6: kept, one character
		{Term: "jerk", Category: "insult", Severity: High, Defaulted: true}, // 7
	}
	m := mustMatcher(t, words, nil)
	r := m.Report()
	if r.Kept != 5 || r.Merged != 2 || r.Refused != 1 || m.Len() != 5 {
		t.Fatalf("report counts %d kept, %d merged, %d refused; Len %d", r.Kept, r.Merged, r.Refused, m.Len())
	}
	want := []struct {
		norm   string
		status LoadStatus
		into   int
		warn   string
	}{
		{"idiot", Merged, 1, "same term as words[1]"},
		{"idiot", Kept, -1, "normalizes to"},
		{"idiot", Merged, 1, "same term as words[1]"},
		{"13", Refused, -1, "digits only: refused"},
		{"911", Kept, -1, "digits only"},
		{"ok", Kept, -1, "very short"},
		{"性", Kept, -1, "one character"},
		{"jerk", Kept, -1, "no severity given"},
	}
	for i, w := range want {
		e := r.Entries[i]
		if e.Index != i || e.Term != words[i].Term || e.Norm != w.norm || e.Status != w.status || e.Into != w.into ||
			!strings.Contains(strings.Join(e.Warnings, "; "), w.warn) {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
	if f := r.Faults(); len(f) != 8 || !strings.Contains(f[3], `words[3] "13.": refused: digits only`) {
		t.Errorf("Faults = %q", f)
	}
	// The winner's severity and category; the refused term hits nothing.
	hits := m.Find("13 idiots called 911")
	if len(hits) != 2 || hits[0].Entry.Severity != High || hits[0].Term != "idiot" || hits[0].Entry.Term != "ＩＤＩＯＴ" || hits[1].Term != "911" {
		t.Errorf("Find = %+v", hits)
	}
	// Finding.Listed is the entry as listed.
	fs, err := m.Check(context.Background(), &Input{Text: "you idiot"})
	if err != nil || len(fs) != 1 || fs[0].Listed != "ＩＤＩＯＴ" || fs[0].Term != "idiot" {
		t.Errorf("Check = %+v, %v", fs, err)
	}
	var nilReport *LoadReport
	if nilReport.Faults() != nil {
		t.Error("nil report has faults")
	}
}

// TestDuplicateOrder: whichever comes first, the stronger entry wins.
func TestDuplicateOrder(t *testing.T) {
	for _, words := range [][]Entry{
		{{Term: "crap", Severity: High}, {Term: "CRAP", Severity: Low}},
		{{Term: "CRAP", Severity: Low}, {Term: "crap", Severity: High}},
		{{Term: "crap", Severity: Low, Action: Block}, {Term: "crap", Severity: High, Action: Flag}},
	} {
		m := mustMatcher(t, words, nil)
		h := m.Find("what crap")
		if len(h) != 1 || h[0].Entry.action() != Block {
			t.Errorf("%+v: %+v", words, h)
		}
	}
}

// TestGuardReleased: Released counts the original bytes shown, in the
// offsets findings use, and a block may come from Finish when the word
// ends the text.
func TestGuardReleased(t *testing.T) {
	m := mustMatcher(t, []Entry{{Term: "idiot", Severity: Medium}, {Term: "kill myself", Severity: High}}, nil)
	p, err := NewPipeline(WithMatcher(m))
	if err != nil {
		t.Fatal(err)
	}
	g := p.NewGuard(Format{})
	text := "so you idiot, fine."
	var out strings.Builder
	for _, c := range splitEvery(text, 4) {
		s, err := g.Push(c)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString(s)
		if g.Released() > len(text) {
			t.Fatalf("Released %d > %d", g.Released(), len(text))
		}
	}
	rest, v, err := g.Finish(context.Background())
	out.WriteString(rest)
	if err != nil || g.Released() != len(text) || out.String() != "so you *****, fine." || v.Findings[0].End > g.Released() {
		t.Errorf("released %d of %d, out %q, %v", g.Released(), len(text), out.String(), err)
	}

	g = p.NewGuard(Format{})
	safe, err := g.Push("I want to kill myself")
	if err != nil || strings.Contains(safe, "kill") {
		t.Fatalf("Push = %q, %v: the hit at the end must wait", safe, err)
	}
	_, _, err = g.Finish(context.Background())
	var be *BlockedError
	if !errors.As(err, &be) || g.Released() > strings.Index("I want to kill myself", "kill") {
		t.Errorf("Finish = %v, released %d", err, g.Released())
	}
}

// TestParseWordsRoundTrip: ParseWords' options reach the matcher.
func TestParseWordsRoundTrip(t *testing.T) {
	ws, err := ParseWords(strings.NewReader("jerk\tinsult\tlow\texact\n13\tfault\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := mustMatcher(t, ws, nil)
	if got := terms(m.Find("jerks and jerk, 13 of them")); !slices.Equal(got, []string{"jerk"}) {
		t.Errorf("Find = %q", got)
	}
	if f := m.Report().Faults(); len(f) != 1 || !strings.Contains(f[0], "no severity given") || !strings.Contains(f[0], "refused") {
		t.Errorf("Faults = %q", f)
	}
}
