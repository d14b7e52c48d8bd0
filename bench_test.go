package companion

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"
	openai "github.com/sashabaranov/go-openai"
)

// BenchmarkAskPassThrough compares one turn through a pass-through
// Companion (no cache, no prompt compression, no post-processing; the
// default limiter) with the same request through a bare go-openai client,
// on the same fake server over loopback. The difference of the ns/op is
// Companion's overhead per call.
//
//	go test -run '^$' -bench AskPassThrough -count 6 . | benchstat -col /client -
func BenchmarkAskPassThrough(b *testing.B) {
	srv := companiontest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	q := Question{Text: "What is Newton's second law?", SystemPrompt: "You are a physics tutor."}
	req := openai.ChatCompletionRequest{
		Model: testModel,
		Messages: []openai.ChatCompletionMessage{
			{Role: RoleSystem, Content: q.SystemPrompt},
			{Role: RoleUser, Content: q.Text},
		},
	}
	// Same HTTP client as the bare go-openai client (http.DefaultTransport),
	// so that the difference is Companion's own work.
	c, err := New(WithBaseURL(srv.URL), WithModel(testModel), WithHTTPClient(&http.Client{}))
	if err != nil {
		b.Fatal(err)
	}
	tuned, err := New(WithBaseURL(srv.URL), WithModel(testModel))
	if err != nil {
		b.Fatal(err)
	}
	defer tuned.Close()
	client := bare(srv)

	b.Run("client=go-openai", loop(func() error { _, err := client.CreateChatCompletion(ctx, req); return err }))
	b.Run("client=Ask", loop(func() error { _, err := c.Ask(ctx, q); return err }))
	b.Run("client=Ask-tuned-transport", loop(func() error { _, err := tuned.Ask(ctx, q); return err }))
	b.Run("client=CreateChatCompletion", loop(func() error { _, err := c.CreateChatCompletion(ctx, req); return err }))
}

// BenchmarkStages measures Companion's own work per turn without any
// network: validation, prompt assembly, the limiter and the answer, around
// an upstream call that is not made (a cache hit), and the prompt stage
// alone.
func BenchmarkStages(b *testing.B) {
	ctx := context.Background()
	q := Question{Text: "What is Newton's second law?", SystemPrompt: "You are a physics tutor.",
		Snippets: []Snippet{{ID: "kb-1", Text: "F = m a"}}, Examples: []Example{{Question: "F for m=2, a=3?", Answer: "6 N"}}}
	b.Run("stage=prompt", loop(func() error { _, err := AssemblePrompt.BuildPrompt(ctx, &q); return err }))
	b.Run("stage=validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := q.validate(DefaultMaxQuestionBytes); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stage=limiter", func(b *testing.B) {
		l := NewSemaphore(100)
		b.ReportAllocs()
		for b.Loop() {
			release, err := l.Acquire(ctx, 0)
			if err != nil {
				b.Fatal(err)
			}
			release()
		}
	})
}

// BenchmarkAskExactHit measures a turn served by the in-memory exact tier
// through Companion.Ask: validation, key (namespace hash and normalized
// question), ristretto lookup, answer. It reports the p50 and p99 of the
// single calls.
//
//	go test -run '^$' -bench AskExactHit .
//
// BenchmarkAskExactHit is an exact hit through Ask, as configured by
// default and with WithUpstreamHedge (whose lookup runs on a goroutine of
// its own, against a timer).
func BenchmarkAskExactHit(b *testing.B) {
	for _, hedge := range []time.Duration{0, time.Second} {
		b.Run(fmt.Sprintf("hedge=%v", hedge), func(b *testing.B) {
			srv := companiontest.NewServer()
			defer srv.Close()
			m := newMemory(b)
			c, err := New(WithBaseURL(srv.URL), WithModel(testModel), WithExactCache(m), WithUpstreamHedge(hedge))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			q := Question{Text: "What is Newton's second law?", SystemPrompt: "You are a physics tutor.",
				Subject: "physics", Grade: 9, Tenant: "school-42", Locale: "en"}
			if _, err := c.Ask(ctx, q); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			for b.Loop() {
				s := time.Now()
				a, err := c.Ask(ctx, q)
				d := time.Since(s)
				if err != nil || a.Source != SourceExact {
					b.Fatalf("not a hit: %v %+v", err, a)
				}
				if len(lat) < cap(lat) {
					lat = append(lat, d)
				}
			}
			reportPercentiles(b, lat)
		})
	}
}

// reportPercentiles adds p50 and p99 of the given latencies to the
// benchmark's output.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// cannedTransport answers every request with the same chat completion,
// in memory: a benchmark on it measures the client's own work, without a
// server or the loopback network to add noise.
type cannedTransport struct{ body []byte }

func (t cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: int64(len(t.body)),
		Request:       req,
	}, nil
}

// BenchmarkOverhead is BenchmarkAskPassThrough with the upstream in
// memory: the difference between the clients is exactly Companion's
// overhead per call (validation, prompt assembly, limiter, body watch,
// answer), which on a loaded machine the loopback benchmark cannot
// resolve.
//
//	go test -run '^$' -bench Overhead -count 6 . | benchstat -col /client -
func BenchmarkOverhead(b *testing.B) {
	ctx := context.Background()
	resp, _ := json.Marshal(openai.ChatCompletionResponse{
		ID: "chatcmpl-1", Object: "chat.completion", Created: 1, Model: testModel,
		Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Role: "assistant",
			Content: companiontest.Answer("What is Newton's second law?")}, FinishReason: "stop"}},
		Usage: openai.Usage{PromptTokens: 30, CompletionTokens: 120, TotalTokens: 150},
	})
	hc := &http.Client{Transport: cannedTransport{resp}}
	q := Question{Text: "What is Newton's second law?", SystemPrompt: "You are a physics tutor."}
	req := openai.ChatCompletionRequest{
		Model: testModel,
		Messages: []openai.ChatCompletionMessage{
			{Role: RoleSystem, Content: q.SystemPrompt},
			{Role: RoleUser, Content: q.Text},
		},
	}
	cfg := openai.DefaultConfig("")
	cfg.BaseURL = "http://upstream.invalid/v1"
	cfg.HTTPClient = hc
	client := openai.NewClientWithConfig(cfg)
	c, err := New(WithBaseURL(cfg.BaseURL), WithModel(testModel), WithHTTPClient(hc))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("client=go-openai", loop(func() error { _, err := client.CreateChatCompletion(ctx, req); return err }))
	b.Run("client=Ask", loop(func() error { _, err := c.Ask(ctx, q); return err }))
	b.Run("client=CreateChatCompletion", loop(func() error { _, err := c.CreateChatCompletion(ctx, req); return err }))
}

// loop returns a benchmark that calls call until b.Loop is done, failing
// on its first error.
func loop(call func() error) func(*testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := call(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
