package prompt

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestEncodingForModel(t *testing.T) {
	for model, want := range map[string]string{
		"gpt-5":             O200kBase,
		"gpt-5-mini":        O200kBase,
		"gpt-4.1-mini":      O200kBase,
		"gpt-4o-2024-08-06": O200kBase,
		"o3-mini":           O200kBase,
		"openai/gpt-4o":     O200kBase,
		"gpt-4":             Cl100kBase,
		"gpt-4-turbo":       Cl100kBase,
		"gpt-3.5-turbo":     Cl100kBase,
		"some-local-model":  O200kBase,
	} {
		if got := EncodingForModel(model); got != want {
			t.Errorf("EncodingForModel(%q) = %q, want %q", model, got, want)
		}
	}
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		enc, text string
		want      int
	}{
		{O200kBase, "", 0},
		{O200kBase, "hello world", 2},
		{Cl100kBase, "hello world", 2},
		{Cl100kBase, "tiktoken is great!", 6},
		{O200kBase, "<|endoftext|>", 7}, // special tokens in user text count as text
	} {
		c, err := NewCounter(tc.enc)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Count(tc.text); got != tc.want {
			t.Errorf("%s Count(%q) = %d, want %d", tc.enc, tc.text, got, tc.want)
		}
	}
}

func TestCountMessages(t *testing.T) {
	c, err := CounterForModel("gpt-4o")
	if err != nil {
		t.Fatal(err)
	}
	// 3 per message + role + content, 3 to prime the reply.
	msgs := []Message{{Role: "system", Content: "hello world"}, {Role: "user", Content: "hello world", Name: "bob"}}
	want := 3 + (3 + 1 + 2) + (3 + 1 + 2 + 1 + c.Count("bob"))
	if got := c.CountMessages(msgs); got != want {
		t.Errorf("CountMessages = %d, want %d", got, want)
	}
	if got := c.CountMessages(nil); got != 3 {
		t.Errorf("CountMessages(nil) = %d, want 3", got)
	}
}

func TestNewCounterShared(t *testing.T) {
	if _, err := NewCounter("p50k_base"); !errors.Is(err, ErrUnknownEncoding) {
		t.Errorf("NewCounter(p50k_base) = %v, want ErrUnknownEncoding", err)
	}
	var wg sync.WaitGroup
	got := make([]*Counter, 8)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], _ = NewCounter(Cl100kBase) }()
	}
	wg.Wait()
	for _, c := range got[1:] {
		if c != got[0] {
			t.Fatal("NewCounter returned different counters for one encoding")
		}
	}
}

func ExampleCounter_CountMessages() {
	c, err := CounterForModel("gpt-5")
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Encoding(), c.Count("Solve 2x + 3 = 7"))
	fmt.Println(c.CountMessages([]Message{
		{Role: "system", Content: "You are a maths tutor."},
		{Role: "user", Content: "Solve 2x + 3 = 7"},
	}))
	// Output:
	// o200k_base 10
	// 27
}
