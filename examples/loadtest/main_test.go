package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

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
