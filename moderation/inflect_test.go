package moderation

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

type inflCase struct{ part, term, form, kind string }

func readInflections(t *testing.T) []inflCase {
	t.Helper()
	f, err := os.Open("testdata/inflections.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []inflCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		p := strings.Split(line, "\t")
		if len(p) != 4 {
			t.Fatalf("inflections.tsv: %q", line)
		}
		out = append(out, inflCase{p[0], p[1], p[2], p[3]})
	}
	return out
}

// TestInflections: the unlisted inflected forms of listed terms are found,
// reported as the listed term, with a span that covers the whole form.
// The rules were written against part "dev" (the terms of words.txt);
// part "heldout" is terms of the same classes not looked at while tuning.
//
//	go test -run TestInflections -v ./moderation/
func TestInflections(t *testing.T) {
	cases := readInflections(t)
	for _, part := range []string{"dev", "heldout"} {
		var words []Entry
		seen := map[string]bool{}
		for _, c := range cases {
			if c.part == part && !seen[c.term] {
				seen[c.term] = true
				words = append(words, Entry{Term: c.term, Category: "test", Severity: Low})
			}
		}
		m := mustMatcher(t, words, nil)
		found, total := map[string]int{}, map[string]int{}
		for _, c := range cases {
			if c.part != part {
				continue
			}
			text := "Honestly, " + c.form + " again."
			start := len("Honestly, ")
			// An apostrophe is punctuation: the hit of a possessive
			// ends before it.
			word, _, _ := strings.Cut(c.form, "'")
			end := start + len(word)
			total[c.kind]++
			ok := false
			for _, h := range m.Find(text) {
				if h.Term == c.term && h.Start <= start && h.End >= end {
					ok = true
				}
			}
			if ok {
				found[c.kind]++
			} else {
				t.Logf("%s: %q not found as a form of %q", part, c.form, c.term)
			}
		}
		all, allN := 0, 0
		for k, n := range total {
			all += found[k]
			allN += n
			t.Logf("%-8s %-12s %d/%d", part, k, found[k], n)
		}
		pi := float64(found["plural"]+found["ing"]) / float64(total["plural"]+total["ing"])
		t.Logf("%-8s plurals and -ing: %.1f%%; all forms %d/%d", part, 100*pi, all, allN)
		if pi < 0.95 {
			t.Errorf("%s: %.1f%% of plurals and -ing forms found, want ≥ 95%%", part, 100*pi)
		}
	}
}

// TestInflectionExact: an Exact entry matches only as listed; a form that
// is listed itself reports its own entry; words that merely begin with a
// term are not forms of it.
func TestInflectionExact(t *testing.T) {
	m := mustMatcher(t, []Entry{
		{Term: "idiot", Severity: Medium},
		{Term: "jerk", Severity: Low, Exact: true},
		{Term: "loser", Severity: Low},
		{Term: "losers", Severity: High},
		{Term: "hell", Severity: Low},
	}, nil)
	for _, c := range []struct {
		text string
		want []string
	}{
		{"idiots and idiot's", []string{"idiot", "idiot"}},
		{"he jerked the rope, jerks", nil},
		{"a jerk", []string{"jerk"}},
		{"the losers", []string{"losers"}},
		{"hello, shell, hellish, helloed", nil},
		{"idiotic idiotsy", nil},
	} {
		if got := terms(m.Find(c.text)); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("Find(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

// TestRegularForms pins the spelling rules on words of each rule's class.
func TestRegularForms(t *testing.T) {
	for _, c := range []struct {
		word string
		want []string
	}{
		{"box", []string{"boxes", "boxed", "boxing", "boxer"}},
		{"spy", []string{"spies", "spied", "spying"}},
		{"play", []string{"plays", "played", "playing", "player"}},
		{"hero", []string{"heroes", "heros"}},
		{"wolf", []string{"wolves"}},
		{"wife", []string{"wives"}},
		{"hate", []string{"hated", "hating", "hater", "haters"}},
		{"see", []string{"seeing"}},
		{"tie", []string{"tying", "tied"}},
		{"stab", []string{"stabbed", "stabbing", "stabber"}},
		{"quiz", []string{"quizzes"}},
		{"big", []string{"bigger", "biggest"}},
	} {
		got := map[string]bool{}
		for _, f := range regularForms(c.word) {
			got[f.stem+f.suffix] = true
		}
		for _, w := range c.want {
			if !got[w] {
				t.Errorf("regularForms(%q) lacks %q", c.word, w)
			}
		}
	}
}
