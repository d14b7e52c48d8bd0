package moderation

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// False positives on real clean text, from the shared data set beside the
// repository (../shared/data; skipped when it is absent). Each corpus is
// cut in two: the first half is the part the rules and the compound
// lexicon were tuned on, the second half was not looked at while tuning.
//
//	go test -run 'GSM8K|LCQMC' -v ./moderation/

const sharedData = "../../shared/data/"

// openShared opens a file of the shared data set, or skips the test.
func openShared(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(sharedData + path)
	if err != nil {
		t.Skipf("shared data set not found (%v): skipping", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readWords parses a word list of testdata/.
func readWords(t *testing.T, path string) []Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ws, err := ParseWords(f)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// exactAll returns the list with every entry Exact: no inflected forms, no
// compound lexicon; the matcher as it was before either.
func exactAll(ws []Entry) []Entry {
	out := make([]Entry, len(ws))
	for i, e := range ws {
		e.Exact = true
		out[i] = e
	}
	return out
}

// flagged counts the texts with at least one hit, and the hits by term.
func flagged(m *Matcher, texts []string) (int, map[string]int) {
	n, by := 0, map[string]int{}
	for _, s := range texts {
		hs := m.Find(s)
		if len(hs) > 0 {
			n++
		}
		for _, h := range hs {
			by[h.Term]++
		}
	}
	return n, by
}

func byTermString(by map[string]int) string {
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return by[keys[i]] > by[keys[j]] || by[keys[i]] == by[keys[j]] && keys[i] < keys[j]
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s:%d", k, by[k])
	}
	return b.String()
}

// TestGSM8KFalsePositives: the development word list on GSM8K's 1 319
// problems with their worked answers (clean English maths text).
// Inflected forms add no flagged problem; a digit-only entry ("13.", a
// list fault) is refused and flags nothing, where matching it would flag
// dozens of problems.
func TestGSM8KFalsePositives(t *testing.T) {
	f := openShared(t, "workload/gsm8k-test.jsonl")
	var texts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r struct{ Question, Answer string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, r.Question+"\n"+r.Answer)
	}
	if len(texts) != 1319 {
		t.Fatalf("%d GSM8K problems, want 1319", len(texts))
	}
	gsm8kOperators(t, texts)
	words := readWords(t, "testdata/words.txt")
	m := mustMatcher(t, words, nil)
	exact := mustMatcher(t, exactAll(words), nil)
	faulty := append(words[:len(words):len(words)], Entry{Term: "13.", Category: "fault", Severity: High})
	mf := mustMatcher(t, faulty, nil)
	digits := append(words[:len(words):len(words)], Entry{Term: "13.", Category: "fault", Severity: High, Digits: true})
	md := mustMatcher(t, digits, nil)

	half := len(texts) / 2
	for _, part := range []struct {
		name  string
		texts []string
	}{{"tuning", texts[:half]}, {"held-out", texts[half:]}} {
		n, by := flagged(m, part.texts)
		ne, _ := flagged(exact, part.texts)
		nf, _ := flagged(mf, part.texts)
		nd, _ := flagged(md, part.texts)
		pct := func(k int) float64 { return 100 * float64(k) / float64(len(part.texts)) }
		t.Logf("GSM8K %s (%d problems): flagged %d (%.2f%%; by term%s), as listed only %d (%.2f%%); "+
			"inflections add %d; with \"13.\" refused %d, matched %d (%.2f%%)",
			part.name, len(part.texts), n, pct(n), byTermString(by), ne, pct(ne), n-ne, nf, nd, pct(nd))
		if pct(n-ne) > 0.1 {
			t.Errorf("GSM8K %s: inflected forms flag %.2f%% more problems, want ≤ 0.1%%", part.name, pct(n-ne))
		}
		if nf != n {
			t.Errorf("GSM8K %s: the refused digit-only entry changed the flagged count %d → %d", part.name, n, nf)
		}
	}
}

// TestLCQMCFalsePositives: Chinese word lists on the 17 604 questions of
// LCQMC's dev split (real questions from a Q&A site; research use only,
// read from ../shared and never copied). The lists: testdata/words.txt
// (the development list), testdata/zh_probe_issue.txt (the terms the
// issue names: 性 奶 乳 卵 处女 成人 野鸡) and, with those,
// testdata/zh_probe.txt (one-character terms and short words of the kinds
// a real list has). Flagged questions per 10 000, with the
// compound lexicon and without it (every entry Exact).
func TestLCQMCFalsePositives(t *testing.T) {
	f := openShared(t, "semantic/lcqmc-dev.tsv")
	var rows [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		if len(p) != 3 || p[2] == "label" {
			continue
		}
		rows = append(rows, [2]string{p[0], p[1]})
	}
	if len(rows) != 8802 {
		t.Fatalf("%d LCQMC rows, want 8802", len(rows))
	}
	sentences := func(rs [][2]string) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r[0], r[1])
		}
		return out
	}
	half := len(rows) / 2
	parts := []struct {
		name  string
		texts []string
	}{{"tuning", sentences(rows[:half])}, {"held-out", sentences(rows[half:])}}

	issue := readWords(t, "testdata/zh_probe_issue.txt")
	probe := append(readWords(t, "testdata/zh_probe.txt"), issue...)
	for _, list := range []struct {
		name  string
		words []Entry
		max   float64 // flagged per 10 000 allowed on the held-out part, with the lexicon
	}{
		{"words.txt", readWords(t, "testdata/words.txt"), 30},
		{"the issue's terms", issue, 30},
		{"zh_probe.txt and zh_probe_issue.txt", probe, 200},
	} {
		m := mustMatcher(t, list.words, nil)
		exact := mustMatcher(t, exactAll(list.words), nil)
		for _, part := range parts {
			n, by := flagged(m, part.texts)
			ne, _ := flagged(exact, part.texts)
			per := func(k int) float64 { return 1e4 * float64(k) / float64(len(part.texts)) }
			t.Logf("LCQMC %s, %s (%d questions): flagged %.1f per 10 000 (%d), without the lexicon %.1f (%d); by term%s",
				part.name, list.name, len(part.texts), per(n), n, per(ne), ne, byTermString(by))
			if part.name == "held-out" && per(n) > list.max {
				t.Errorf("LCQMC held-out, %s: %.1f flagged per 10 000, want ≤ %.0f", list.name, per(n), list.max)
			}
			if n > ne {
				t.Errorf("LCQMC %s, %s: the lexicon flags more (%d) than without it (%d)", part.name, list.name, n, ne)
			}
		}
	}
}

// operand is a single letter between operators in maths text: "x + x",
// "m+h", "X - X", "a * b", "p / q".
var operand = regexp.MustCompile(`(?:^|[^A-Za-z0-9])([A-Za-z])( ?\+ ?| - | \* | / )([A-Za-z])(?:[^A-Za-z0-9]|$)`)

// gsm8kOperators: single letters around an operator in GSM8K's problems
// stay two words once normalized (before, 4 and 11 problems of the two
// halves had them joined: "x - x 25%" read as "xx 25%").
func gsm8kOperators(t *testing.T, texts []string) {
	half := len(texts) / 2
	var with [2]int
	for i, s := range texts {
		found := false
		for _, m := range operand.FindAllStringSubmatch(s, -1) {
			found = true
			core := m[1] + m[2] + m[3]
			if n := Normalize(core); n != strings.ToLower(m[1])+" "+strings.ToLower(m[3]) {
				t.Errorf("GSM8K problem %d: %q normalizes to %q, want two words", i+1, core, n)
			}
		}
		if found {
			with[min(i/half, 1)]++
		}
	}
	t.Logf("GSM8K: single letters around an operator in %d problems of the tuning half and %d of the held-out half, all kept apart", with[0], with[1])
}
