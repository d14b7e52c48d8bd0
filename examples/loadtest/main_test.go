package main

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/leak"
)

// TestQuick runs the whole pipeline, both scenarios, tiny and fast, and
// checks the table's invariants: no errors, no wrong answers, Companion
// faster and cheaper than the baseline.
func TestQuick(t *testing.T) {
	defer leak.Check(t, leak.Take())
	var out, errOut bytes.Buffer
	svg := filepath.Join(t.TempDir(), "chart.svg")
	if err := run(context.Background(), []string{"-quick", "-chart", svg}, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s%s", err, out.String(), errOut.String())
	}
	s := out.String()
	t.Log(s)
	for _, want := range []string{"| errors | 0 | 0 |", "| wrong answers (another question's) | 0 | 0 |", "chart: " + svg, "Little's law"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestWorkloadReplayable(t *testing.T) {
	a, err := newWorkload(300, 0, 7, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newWorkload(300, 0, 7, 0.5)
	for i := range a.turns {
		if a.turns[i].q.Text != b.turns[i].q.Text {
			t.Fatalf("turn %d differs between two draws with the same seed", i)
		}
	}
	m := a.mix()
	if m.repeats == 0 || m.paraphrases == 0 || m.negatives == 0 || m.gsm8k == 0 || m.prompts == 0 {
		t.Errorf("traffic lacks a kind: %+v", m)
	}
	styled := 0
	for _, tr := range a.turns {
		if tr.topic.kind != kindPair {
			continue
		}
		plain := false
		for _, v := range tr.topic.variants {
			plain = plain || v.Text == tr.q.Text
		}
		if !plain {
			styled++
			if a.group[tr.q.Text] != tr.topic {
				t.Errorf("styled turn %q is not in its topic's group", tr.q.Text)
			}
		}
	}
	// Half of the curriculum turns are drawn styled; a styled text may
	// still equal the plain one (the bare style of a lower-case question).
	if curr := m.curriculum; styled < curr/3 || styled > curr*2/3 {
		t.Errorf("%d of %d curriculum turns styled, want about half", styled, curr)
	}
}

func TestStyles(t *testing.T) {
	s, err := parseStyles(stylesTXT)
	if err != nil {
		t.Fatal(err)
	}
	if len(s["en"]) == 0 || len(s["zh"]) == 0 {
		t.Fatalf("styles by language: en %d, zh %d", len(s["en"]), len(s["zh"]))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		q := "What is the speed of light in a vacuum?"
		got := s.restyle(q, "en", r)
		if !strings.Contains(strings.ToLower(got), "speed") && !strings.Contains(strings.ToLower(got), "vacuum") {
			t.Errorf("restyle(%q) = %q lost the question", q, got)
		}
	}
	if got := s.restyle("q", "fr", r); got != "q" {
		t.Errorf("a language without styles: %q", got)
	}
	for _, bad := range []string{"en\tgreet\thi", "en\tgreet", "en\tgreet\thi {q}\textra"} {
		if _, err := parseStyles([]byte(bad)); err == nil {
			t.Errorf("parseStyles(%q) = nil error", bad)
		}
	}
	for range 20 {
		q := "explain photosynthesis"
		got := typo(q, r)
		var diff []int
		for i := range min(len(q), len(got)) {
			if q[i] != got[i] {
				diff = append(diff, i)
			}
		}
		swapped := len(got) == len(q) && len(diff) == 2 && diff[1] == diff[0]+1 &&
			q[diff[0]] == got[diff[1]] && q[diff[1]] == got[diff[0]] && diff[0] != 0 && diff[0] != 8
		if !swapped {
			t.Errorf("typo(%q) = %q: want two neighbouring letters of one word swapped, not its first", q, got)
		}
	}
	if got := typo("a b c", r); got != "a b c" {
		t.Errorf("typo of a text without a long word: %q", got)
	}
}

// TestTiersQuick runs the tiers scenario tiny and fast: six replays, and
// no wrong answer in any of them.
func TestTiersQuick(t *testing.T) {
	defer leak.Check(t, leak.Take())
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-quick", "-scenario", "tiers"}, &out, io.Discard); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	rows := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if !strings.HasPrefix(line, "| off |") && !strings.Contains(line, " questions |") {
			continue
		}
		rows++
		cells := strings.Split(line, "|")
		if wrong := strings.TrimSpace(cells[11]); wrong != "0" {
			t.Errorf("wrong answers %s in %s", wrong, line)
		}
	}
	if rows != 10 || strings.Contains(out.String(), "turns failed") {
		t.Errorf("want ten rows and no failed turns:\n%s", out.String())
	}
}

// TestFaultsQuick is the faults scenario, small: 300 turns with 20 % of
// the chat requests faulted must all be answered right but for a few (the
// full scenario's target is 99.9 %; a few of 300 leaves room for the
// draws), none wrong or cut short.
func TestFaultsQuick(t *testing.T) {
	cfg, err := parse([]string{"-quick", "-scenario", "faults"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	w, err := newWorkload(cfg.turns, cfg.logTurns, cfg.seed, cfg.restyle)
	if err != nil {
		t.Fatal(err)
	}
	qs := faultTraffic(w, cfg.faultTurns, cfg.faultTurns*4/5, cfg.seed)
	lat := companiontest.Latency{FirstToken: 10 * time.Millisecond, PerOutputToken: 100 * time.Microsecond}
	r, err := runFaults(context.Background(), qs, lat, faultMix(cfg.faultRate), cfg.seed, cfg.faultConc, cfg.model)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d succeeded, %d retries, %d requests, failures %v", r.ok, len(qs), r.retries, r.requests, r.failures)
	if r.wrong != 0 || r.truncated != 0 {
		t.Errorf("%d wrong and %d truncated answers", r.wrong, r.truncated)
	}
	if len(qs)-r.ok > 3 {
		t.Errorf("%d of %d turns failed: %v", len(qs)-r.ok, len(qs), r.failures)
	}
	if r.retries == 0 {
		t.Error("no retries: the faults were not injected")
	}
}

func TestParseRejects(t *testing.T) {
	for _, args := range [][]string{{"-prewarm-min", "0"}, {"-log-turns", "-1"}, {"-scenario", "x"}, {"-judge-error", "0.5"}, {"-restyle", "2"}} {
		if _, err := parse(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	c, err := parse(nil, io.Discard)
	if err != nil || c.prewarmMin != 2 || c.logTurns != 4*c.turns {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}
