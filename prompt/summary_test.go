package prompt

import (
	"context"
	"strings"
	"testing"
)

func TestSentences(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"One. Two! Three? Four", []string{"One.", "Two!", "Three?", "Four"}},
		{"g is 9.8 N/kg. Then v = 3.5 m/s.", []string{"g is 9.8 N/kg.", "Then v = 3.5 m/s."}},
		{"溶液由溶质和溶剂组成。质量分数＝溶质÷溶液！对吗？", []string{"溶液由溶质和溶剂组成。", "质量分数＝溶质÷溶液！", "对吗？"}},
		{"a; b;c", []string{"a;", "b;c"}},
		{"  ", nil},
	} {
		if got := sentences(tc.text); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("sentences(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestExtractive(t *testing.T) {
	for _, tp := range loadPrompts(t) {
		for _, s := range tp.Snippets {
			sum := Extractive{}.Summary(s.Text)
			if sum == "" || len(sum) >= len(s.Text) {
				t.Fatalf("%s %s: summary of %d bytes for a text of %d", tp.ID, s.ID, len(sum), len(s.Text))
			}
			if n := len(sentences(sum)); n > 2 {
				t.Fatalf("%s %s: %d sentences", tp.ID, s.ID, n)
			}
			for _, sent := range sentences(sum) {
				if !strings.Contains(s.Text, sent) {
					t.Fatalf("%s %s: %q is not from the text", tp.ID, s.ID, sent)
				}
			}
		}
	}
	short := "Only one sentence here."
	if got := (Extractive{}).Summary(short); got != short {
		t.Errorf("Summary(%q) = %q", short, got)
	}
	text := "Cats sleep a lot. A net force makes a mass accelerate. The force and the mass give the acceleration, a = F/m."
	got, err := Extractive{Sentences: 1}.Summarize(context.Background(), []string{text})
	if err != nil || len(got) != 1 || got[0] != "The force and the mass give the acceleration, a = F/m." {
		t.Errorf("Summarize = %q, %v", got, err)
	}
}

func TestSummaryCache(t *testing.T) {
	cs := &countingSummarizer{}
	c := NewSummaryCache(cs, 8)
	ctx := context.Background()
	texts := []string{"alpha one", "beta two", "alpha one"}
	got, err := c.Summarize(ctx, texts)
	if err != nil || strings.Join(got, ",") != "Summary: alpha,Summary: beta,Summary: alpha" {
		t.Fatalf("Summarize = %q, %v", got, err)
	}
	if cs.texts != 3 {
		t.Errorf("underlying asked for %d texts, want 3", cs.texts) // duplicates within a call are asked once each
	}
	if _, err := c.Summarize(ctx, texts); err != nil || cs.texts != 3 {
		t.Errorf("second call asked for %d more texts, want 0", cs.texts-3)
	}
	if s, ok := c.Cached("beta two"); !ok || s != "Summary: beta" {
		t.Errorf("Cached = %q, %v", s, ok)
	}
	// Bounded: many texts, few kept.
	var many []string
	for i := range 200 {
		many = append(many, strings.Repeat("x", i+1)+" text")
	}
	if _, err := c.Summarize(ctx, many); err != nil {
		t.Fatal(err)
	}
	if n := c.cache.len(); n > 8 {
		t.Errorf("cache holds %d summaries, bound 8", n)
	}
}

func TestTerms(t *testing.T) {
	same := [][2]string{
		{"forces", "force"}, {"Forced", "force"}, {"accelerates", "acceleration"}, {"equations", "equation"},
		{"batteries", "battery"}, {"moving", "move"},
	}
	for _, p := range same {
		a, b := appendTerms(nil, p[0]), appendTerms(nil, p[1])
		if len(a) != 1 || len(b) != 1 || a[0] != b[0] {
			t.Errorf("%q and %q do not share a term", p[0], p[1])
		}
	}
	if n := len(appendTerms(nil, "What is the of a")); n != 0 {
		t.Errorf("stop words gave %d terms", n)
	}
	// Chinese: character pairs, particles left out.
	if got, want := len(appendTerms(nil, "牛顿第二定律")), 5; got != want {
		t.Errorf("牛顿第二定律: %d terms, want %d", got, want)
	}
	if got, want := len(appendTerms(nil, "溶质的质量")), 2; got != want { // 溶质, 质量
		t.Errorf("溶质的质量: %d terms, want %d", got, want)
	}
}
