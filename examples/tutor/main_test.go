package main

import (
	"context"
	"strings"
	"testing"

	"github.com/companion-go/companion/companiontest"
)

func TestScript(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("COMPANION_MODEL", "")
	srv := companiontest.NewServer()
	defer srv.Close()
	for _, stream := range []bool{true, false} {
		var out strings.Builder
		if err := run(context.Background(), strings.NewReader(""), &out, "", srv.URL, false, stream); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if n := strings.Count(got, "source="); n != len(script) {
			t.Fatalf("stream=%v: %d turns printed, want %d:\n%s", stream, n, len(script), got)
		}
		// Repeats are served by the exact cache, the paraphrase by the
		// semantic one; the third law and other numbers went upstream.
		if n := strings.Count(got, "source=exact"); n != 3 {
			t.Errorf("stream=%v: %d exact hits, want 3:\n%s", stream, n, got)
		}
		if n := strings.Count(got, "source=semantic"); n != 1 {
			t.Errorf("stream=%v: %d semantic hits, want 1:\n%s", stream, n, got)
		}
		if !strings.Contains(got, "third law") || strings.Count(got, "source=upstream") != len(script)-4 {
			t.Errorf("stream=%v: want %d upstream answers:\n%s", stream, len(script)-4, got)
		}
		if !strings.Contains(got, "x = 2") || !strings.Contains(got, "x = 3") || !strings.Contains(got, "x = 5") {
			t.Errorf("stream=%v: the equations were not solved:\n%s", stream, got)
		}
	}
}

func TestInteractive(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	srv := companiontest.NewServer()
	defer srv.Close()
	var out strings.Builder
	in := strings.NewReader("What is Ohm's law?\n\xff\n\n")
	if err := run(context.Background(), in, &out, "gpt-4o-mini", srv.URL, true, true); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, "source=upstream") || !strings.Contains(got, "invalid UTF-8") {
		t.Errorf("interactive session:\n%s", got)
	}
	if n := srv.RequestCount("/v1/chat/completions"); n != 1 {
		t.Errorf("upstream saw %d requests, want 1 (the invalid line is refused locally)", n)
	}
}
