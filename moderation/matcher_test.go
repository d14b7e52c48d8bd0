package moderation

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func mustMatcher(t testing.TB, words []Entry, allow []string) *Matcher {
	t.Helper()
	m, err := NewMatcher(words, allow)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func terms(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Term)
	}
	return out
}

func TestMatcherRules(t *testing.T) {
	m := mustMatcher(t, []Entry{
		{Term: "ass", Severity: Low},
		{Term: "Hell", Severity: Low},
		{Term: "kill myself", Severity: High},
		{Term: "dumb", Severity: Low},
		{Term: "dumbass", Severity: Medium},
		{Term: "去死", Severity: High},
		{Term: "代考", Severity: High},
		{Term: "jerk", Severity: Low},
		{Term: "卡bug", Severity: Low},
	}, []string{"汉代考古", "knee-jerk", "过去死亡"})
	for _, c := range []struct {
		text string
		want []string
	}{
		{"class, classic, passage, bass, assess", nil},             // whole words only
		{"you ass!", []string{"ass"}},                              // a whole word
		{"what the HELL", []string{"hell"}},                        // case
		{"hello shell Othello", nil},                               // substrings
		{"d u m b a s s", []string{"dumbass"}},                     // one run: not dumb, not ass
		{"dumb ass", []string{"dumb", "ass"}},                      // two words
		{"I want to k.i.l.l m.y.s.e.l.f", []string{"kill myself"}}, // runs per word
		{"kill\n\tmyself", []string{"kill myself"}},                // any white space between words
		{"你去死吧", []string{"去死"}},                                   // Chinese anywhere
		{"他说要去，死活不肯", nil},                                         // punctuation is no separator
		{"汉代考古", nil},                                              // allow-list
		{"汉代 考古 代考", []string{"代考", "代考"}},                         // the allow entry does not skip separators
		{"a knee-jerk reaction, what a jerk", []string{"jerk"}},    // allow-list per occurrence
		{"过去 死亡", []string{"去死"}},                                  // separators seen through, allow entry not
		{"能卡bug吗", []string{"卡bug"}},                               // mixed term: boundary on the Latin side
		{"能卡bugs吗", nil},                                           //
		{"𝐤𝐢𝐥𝐥 𝐦𝐲𝐬𝐞𝐥𝐟", []string{"kill myself"}},                   // mathematical letters
		{"kіll mуsеlf", []string{"kill myself"}},                   // Cyrillic look-alikes
		{"k\u200bi\u00adll my\ufeffself", []string{"kill myself"}}, // invisible characters
		{"ｋｉｌｌ　ｍｙｓｅｌｆ", []string{"kill myself"}},                   // full width
		{"", nil},
	} {
		if got := terms(m.Find(c.text)); !slices.Equal(got, c.want) {
			t.Errorf("Find(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestMatcherSpans(t *testing.T) {
	m := mustMatcher(t, []Entry{{Term: "idiot", Severity: Medium}, {Term: "白痴", Severity: Medium}}, nil)
	for _, c := range []struct{ text, span string }{
		{"you ｉｄｉｏｔ!", "ｉｄｉｏｔ"},
		{"an i-d-i-o-t.", "i-d-i-o-t"},
		{"an id\u200biot", "id\u200biot"},
		{"是⽩ 痴吗", "⽩ 痴"},
	} {
		ms := m.Find(c.text)
		if len(ms) != 1 || c.text[ms[0].Start:ms[0].End] != c.span {
			t.Errorf("Find(%q) = %+v, want the span %q", c.text, ms, c.span)
		}
	}
}

func TestMaskText(t *testing.T) {
	m := mustMatcher(t, []Entry{{Term: "idiot", Severity: Medium}, {Term: "笨蛋", Severity: Medium}}, nil)
	p, err := NewPipeline(WithMatcher(m))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ in, want string }{
		{"You IDIOT.", "You *****."},
		{"an i.d.i.o.t!", "an *********!"},
		{"an id\u200biot", "an *****"},
		{"你这个笨\u200c蛋", "你这个**"},
		{"ｉｄｉｏｔ, 笨蛋", "*****, **"},
	} {
		v, err := p.Check(t.Context(), Input{Text: c.in})
		if err != nil {
			t.Fatal(err)
		}
		if v.Action != Mask || v.Text != c.want {
			t.Errorf("mask %q = %v %q, want %q", c.in, v.Action, v.Text, c.want)
		}
	}
}

func TestNewMatcherErrors(t *testing.T) {
	for _, c := range []struct {
		words []Entry
		allow []string
	}{
		{words: []Entry{{Term: "", Severity: Low}}},
		{words: []Entry{{Term: " .-. ", Severity: Low}}},
		{words: []Entry{{Term: "x"}}},
		{words: []Entry{{Term: "x", Severity: Low, Action: Action(9)}}},
		{words: []Entry{{Term: strings.Repeat("长", 100), Severity: Low}}},
		{words: []Entry{{Term: "x", Severity: Low}}, allow: []string{"\u200b"}},
	} {
		_, err := NewMatcher(c.words, c.allow)
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewMatcher(%+v, %q) = %v, want a *ConfigError", c.words, c.allow, err)
		}
	}
	m, err := NewMatcher(nil, nil)
	if err != nil || m.Len() != 0 || m.Find("anything") != nil {
		t.Errorf("empty matcher: %v, %v", m, err)
	}
}

func TestParseWords(t *testing.T) {
	ws, err := ParseWords(strings.NewReader("# comment\n\nidiot\tinsult\tmedium\r\nbad\n赌球\tgambling\tLOW\n" +
		"911\tx\t\tdigits\njerk\tinsult\tlow\texact, digits\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Term: "idiot", Category: "insult", Severity: Medium},
		{Term: "bad", Severity: High, Defaulted: true},
		{Term: "赌球", Category: "gambling", Severity: Low},
		{Term: "911", Category: "x", Severity: High, Defaulted: true, Digits: true},
		{Term: "jerk", Category: "insult", Severity: Low, Exact: true, Digits: true},
	}
	if !slices.Equal(ws, want) {
		t.Errorf("ParseWords = %+v, want %+v", ws, want)
	}
	for _, bad := range []string{"x\ty\tsevere\n", "\tinsult\tlow\n", "a\tb\tlow\tloud\n", "a\tb\tlow\texact\tmore\n", "ok\n\xff\n"} {
		_, err := ParseWords(strings.NewReader(bad))
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidList) || pe.Line < 1 {
			t.Errorf("ParseWords(%q) = %v, want a *ParseError", bad, err)
		}
	}
	al, err := ParseAllow(strings.NewReader("classic\n# no\n\n汉代考古\n"))
	if err != nil || !slices.Equal(al, []string{"classic", "汉代考古"}) {
		t.Errorf("ParseAllow = %q, %v", al, err)
	}
	if _, err := ParseAllow(strings.NewReader("\xfe\n")); !errors.Is(err, ErrInvalidList) {
		t.Errorf("ParseAllow(invalid UTF-8) = %v", err)
	}
}

// TestScanAllMatchesScan checks the four-way scan against the plain one.
func TestScanAllMatchesScan(t *testing.T) {
	m := testMatcher(t)
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"idiot", "stupid", "class", "ok", "a", "b", "笨蛋", "作弊器", "的", "是", "kill", "myself", " ", ". ", "，"}
	for range 50 {
		var b strings.Builder
		for b.Len() < 2000+rng.IntN(20000) {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
		}
		var n normalizer
		n.reset(0, false)
		n.feed(b.String(), 0, true)
		type hit struct {
			end int
			s   uint32
		}
		var one, four []hit
		s1 := m.ac.scan(0, n.out, func(end int, s uint32) { one = append(one, hit{end, s}) })
		s4 := m.ac.scanAll(n.out, m.maxLen, func(end int, s uint32) { four = append(four, hit{end, s}) })
		slices.SortFunc(four, func(a, b hit) int { return a.end - b.end })
		if s1 != s4 || !slices.Equal(one, four) {
			t.Fatalf("scanAll differs from scan: %d hits vs %d", len(four), len(one))
		}
	}
}
