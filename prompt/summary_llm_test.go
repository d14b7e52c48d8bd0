package prompt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/prompt"
	openai "github.com/sashabaranov/go-openai"
)

func client(srv *companiontest.Server) *openai.Client {
	cfg := openai.DefaultConfig("test")
	cfg.BaseURL = srv.URL
	return openai.NewClientWithConfig(cfg)
}

func TestLLMSummarizer(t *testing.T) {
	srv := companiontest.NewServer()
	defer srv.Close()
	s := &prompt.LLMSummarizer{Client: client(srv), Model: "gpt-4.1-mini", Concurrency: 2}
	texts := []string{
		"Newton's second law: the net force on an object equals its mass times its acceleration, F = ma.",
		"溶质的质量分数等于溶质质量除以溶液质量。",
		"Density is mass divided by volume.",
	}
	got, err := s.Summarize(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(texts) {
		t.Fatalf("%d summaries for %d texts", len(got), len(texts))
	}
	for i, g := range got {
		if strings.TrimSpace(g) == "" {
			t.Errorf("summary %d is empty", i)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != len(texts) {
		t.Fatalf("server saw %d requests, want %d", len(reqs), len(texts))
	}

	// Through a cache, each text is summarized once.
	c := prompt.NewSummaryCache(s, 0)
	for range 2 {
		if _, err := c.Summarize(context.Background(), texts); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(srv.Requests()) - len(reqs); n != len(texts) {
		t.Errorf("cached summarizer made %d requests, want %d", n, len(texts))
	}

	// Failures surface, typed by go-openai.
	srv.SetFaults(companiontest.Fault{Kind: companiontest.FaultServerError})
	_, err = (&prompt.LLMSummarizer{Client: client(srv), Model: "gpt-4.1-mini"}).Summarize(context.Background(), texts[:1])
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) {
		t.Errorf("failed request: %v, want an *openai.APIError", err)
	}
	if _, err := (&prompt.LLMSummarizer{}).Summarize(context.Background(), texts); err == nil {
		t.Error("no client: no error")
	}
}
