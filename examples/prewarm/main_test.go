package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/companion-go/companion/internal/leak"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	var out, bar bytes.Buffer
	err := run(context.Background(), []string{"-phase", "5ms", "-poll", "2ms"}, &out, &bar)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"6 hot questions out of 20 asked",
		"   4× What is Newton's second law?",
		"prewarmed via batch",
		"6 stored, 0 failed, 0 already cached",
		"cost (gpt-4.1-mini): batch $",
		"(50%)",
		`ask "What is Newton's second law?": source prewarmed`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if !strings.Contains(bar.String(), "prewarming") || !strings.Contains(bar.String(), "6/6") {
		t.Errorf("progress bar: %q", bar.String())
	}
}

func TestRunOnlineFromFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "q.txt")
	if err := os.WriteFile(f, []byte("What is 2+2?\nwhat is 2 + 2\nSolve 2x + 3 = 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-questions", f, "-online", "-no-bar", "-top", "1"}, &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if s := out.String(); !strings.Contains(s, "2× What is 2+2?") || !strings.Contains(s, "prewarmed via online") || !strings.Contains(s, "source prewarmed") {
		t.Errorf("output:\n%s", s)
	}
	if err := run(context.Background(), []string{"-top", "0"}, &out, &out); err == nil {
		t.Error("-top 0 accepted")
	}
}
