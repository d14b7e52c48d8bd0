package moderation

import (
	"context"
	"strings"
	"testing"
)

// TestCompounds: a Chinese term hits where it stands as a word, not inside
// an ordinary compound of the lexicon; Exact opts out; whole text and
// stream agree, whatever the cuts.
func TestCompounds(t *testing.T) {
	m := mustMatcher(t, []Entry{
		{Term: "奶", Category: "t", Severity: High},
		{Term: "处女", Category: "t", Severity: High},
		{Term: "卵", Category: "t", Severity: High, Exact: true},
		{Term: "日", Category: "t", Severity: Medium},
	}, nil)
	for _, c := range []struct {
		text string
		want []string
	}{
		{"奶奶给我买了牛奶和奶茶", nil},
		{"她要了奶", []string{"奶"}},
		{"我是处女座的", nil},
		{"处女", []string{"处女"}},
		{"鹅卵石", []string{"卵"}}, // Exact: the lexicon does not apply
		{"12月5日是我的生日", nil},
		{"奶，奶", []string{"奶", "奶"}}, // punctuation breaks a compound
	} {
		if got := terms(m.Find(c.text)); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("Find(%q) = %q, want %q", c.text, got, c.want)
		}
	}
	p, err := NewPipeline(WithMatcher(m))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"奶奶给我买了牛奶", "我是处女座的", "她要了奶", "今天是5日，生日"} {
		whole, err := p.Check(context.Background(), Input{Text: text})
		if err != nil && whole.Action != Block {
			t.Fatal(err)
		}
		for n := 1; n <= 4; n++ {
			var chunks []string
			for s := text; len(s) > 0; s = s[min(n, len(s)):] {
				chunks = append(chunks, s[:min(n, len(s))])
			}
			out, v, err := streamThrough(p.NewGuard(Format{}), chunks)
			want := text
			if whole.Action == Mask {
				want = whole.Text
			}
			if whole.Action == Block {
				if err == nil || strings.Contains(out, "奶") && !strings.Contains(text[:len(out)], "奶奶") {
					t.Errorf("%q in %d-byte pieces: out %q, err %v", text, n, out, err)
				}
				continue
			}
			if err != nil || out != want || v.Action != whole.Action {
				t.Errorf("%q in %d-byte pieces: out %q %v %v, want %q %v", text, n, out, v.Action, err, want, whole.Action)
			}
		}
	}
}

// TestCompoundLexicon: every compound of the lexicon is a word of two or
// more characters of one unspaced script (or a day of the month), and none
// repeats.
func TestCompoundLexicon(t *testing.T) {
	seen := map[string]bool{}
	n := 0
	for _, line := range strings.Split(compoundsTXT, "\n") {
		w := strings.TrimSpace(line)
		if w == "" || w[0] == '#' {
			continue
		}
		n++
		if seen[w] {
			t.Errorf("compound %q twice", w)
		}
		seen[w] = true
		if len([]rune(w)) < 2 || Normalize(w) != w {
			t.Errorf("compound %q: not a normalized word of two or more characters", w)
		}
	}
	if n < 700 {
		t.Errorf("%d compounds", n)
	}
}

// FuzzGuardCompounds: with one-character Chinese terms and the compound
// lexicon, the stream guard agrees with the whole-text check whatever the
// cuts, and nothing of a blocked hit is released.
//
//	go test -run '^$' -fuzz FuzzGuardCompounds -fuzztime 20s ./moderation/
func FuzzGuardCompounds(f *testing.F) {
	for i, s := range []string{"奶奶给我买了牛奶", "我是处女座的", "她要了奶", "12月5日", "性质和性", "鹅卵石，卵", "成人礼成人"} {
		f.Add(s, uint64(i*7919))
	}
	words := []Entry{
		{Term: "奶", Severity: High}, {Term: "性", Severity: Medium}, {Term: "处女", Severity: High},
		{Term: "日", Severity: Low}, {Term: "卵", Severity: Medium}, {Term: "成人", Severity: High},
	}
	m, err := NewMatcher(words, nil)
	if err != nil {
		f.Fatal(err)
	}
	p, err := NewPipeline(WithMatcher(m))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, cuts uint64) {
		whole, err := p.Check(context.Background(), Input{Text: text})
		if err != nil && whole.Action != Block {
			t.Fatal(err)
		}
		var chunks []string
		for s := text; len(s) > 0; cuts >>= 3 {
			n := min(len(s), 1+int(cuts&7))
			if cuts == 0 {
				n = len(s)
			}
			chunks = append(chunks, s[:n])
			s = s[n:]
		}
		out, v, err := streamThrough(p.NewGuard(Format{}), chunks)
		if whole.Action == Block {
			first := len(text)
			for _, f := range whole.Findings {
				if f.Action == Block {
					first = min(first, f.Start)
				}
			}
			if err == nil || len(out) > first {
				t.Fatalf("%q in %q: out %q, err %v; want blocked before %d", text, chunks, out, err, first)
			}
			return
		}
		want := text
		if whole.Action == Mask {
			want = whole.Text
		}
		if err != nil || out != want || v.Action != whole.Action {
			t.Fatalf("%q in %q: out %q %v %v, want %q %v", text, chunks, out, v.Action, err, want, whole.Action)
		}
	})
}
