package main

import (
	"bytes"
	"context"
	"io"
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
	a, err := newWorkload(300, 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newWorkload(300, 7, 0)
	for i := range a.turns {
		if a.turns[i].q.Text != b.turns[i].q.Text {
			t.Fatalf("turn %d differs between two draws with the same seed", i)
		}
	}
	m := a.mix()
	if m.repeats == 0 || m.paraphrases == 0 || m.negatives == 0 || m.gsm8k == 0 || m.prompts == 0 {
		t.Errorf("traffic lacks a kind: %+v", m)
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
	w, err := newWorkload(cfg.turns, cfg.seed, 0)
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
