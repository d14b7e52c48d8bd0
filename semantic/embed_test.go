package semantic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/companion-go/companion/companiontest"
	openai "github.com/sashabaranov/go-openai"
)

// dot32 returns the dot product of two vectors in float64.
func dot32(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func l2(v []float32) float64 { return math.Sqrt(dot32(v, v)) }

func TestLocalEmbedder(t *testing.T) {
	e, err := NewLocalEmbedder()
	if err != nil {
		t.Fatal(err)
	}
	if e.Dimensions() != DefaultLocalDimensions || e.Threshold() != LocalThreshold {
		t.Fatalf("defaults: %d %v", e.Dimensions(), e.Threshold())
	}
	texts := []string{"What is Newton's second law?", "牛顿第二定律是什么？", "", "???", "\xff\xfe", "x²+1"}
	vs, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if len(v) != DefaultLocalDimensions {
			t.Fatalf("%q: %d dimensions", texts[i], len(v))
		}
		n := l2(v)
		switch texts[i] {
		case "", "???":
			if n != 0 {
				t.Errorf("%q: norm %v, want 0", texts[i], n)
			}
		default:
			if math.Abs(n-1) > 1e-5 {
				t.Errorf("%q: norm %v", texts[i], n)
			}
		}
	}
	// Deterministic, across calls and embedders.
	e2, _ := NewLocalEmbedder()
	for _, s := range texts {
		a, b := e.EmbedText(s), e2.EmbedText(s)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%q: not deterministic", s)
			}
		}
	}
	sim := func(a, b string) float64 { return dot32(e.EmbedText(a), e.EmbedText(b)) }
	for _, tc := range []struct {
		a, b string
		min  float64
	}{
		{"What is photosynthesis?", "Can you explain photosynthesis?", 0.9},
		{"Is 3/4 bigger than 5/8?", "四分之三比八分之五大吗", 0.0}, // numbers meet across languages
		{"What is Newton's 2nd law?", "What is Newton's second law?", 0.99},
		{"How far is 5 km?", "How far is 5 kilometres?", 0.99},
	} {
		if s := sim(tc.a, tc.b); s < tc.min {
			t.Errorf("sim(%q, %q) = %.3f < %.2f", tc.a, tc.b, s, tc.min)
		}
	}
	if s := sim("Why is the sky blue?", "How many protons does carbon have?"); s > 0.3 {
		t.Errorf("unrelated questions at %.3f", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Embed(ctx, texts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestEmbedderOptions(t *testing.T) {
	if e, err := NewLocalEmbedder(WithDimensions(64), WithEmbedderThreshold(0.5)); err != nil || e.Dimensions() != 64 || e.Threshold() != 0.5 {
		t.Errorf("local options: %v", err)
	}
	for _, opts := range [][]EmbedderOption{
		{WithDimensions(8)},
		{WithEmbedderThreshold(0)},
		{WithEmbedderThreshold(1.5)},
		{WithBatchSize(10)},
		{WithEmbeddingModel("m")},
	} {
		if _, err := NewLocalEmbedder(opts...); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewLocalEmbedder(%d options) = %v, want ErrInvalidConfig", len(opts), err)
		}
	}
	client := openai.NewClient("")
	for _, opts := range [][]EmbedderOption{
		{WithBatchSize(0)},
		{WithBatchSize(5000)},
		{WithBatchDelay(-time.Second)},
		{WithEmbeddingModel("")},
		{WithDimensions(-1)},
	} {
		if _, err := NewOpenAIEmbedder(client, opts...); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewOpenAIEmbedder = %v, want ErrInvalidConfig", err)
		}
	}
	if _, err := NewOpenAIEmbedder(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil client: %v", err)
	}
}

// openAIClient returns a go-openai client for the fake server.
func openAIClient(srv *companiontest.Server) *openai.Client {
	cfg := openai.DefaultConfig("test")
	cfg.BaseURL = srv.URL
	return openai.NewClientWithConfig(cfg)
}

func TestOpenAIEmbedderVectors(t *testing.T) {
	srv := companiontest.NewServer()
	defer srv.Close()
	e, err := NewOpenAIEmbedder(openAIClient(srv), WithDimensions(256))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	texts := []string{"What is Newton's second law?", "牛顿第二定律是什么？", "What is Newton's second law?"}
	vs, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 {
		t.Fatalf("%d vectors", len(vs))
	}
	for i, v := range vs {
		want := companiontest.Embed(texts[i], 256)
		if len(v) != 256 {
			t.Fatalf("%d dimensions", len(v))
		}
		if s := dot32(v, want); s < 0.9999 {
			t.Errorf("text %d: similarity to the server's own vector %.5f", i, s)
		}
	}
	// A repeated text is sent once but each caller owns its vector.
	vs[0][0] = 42
	if vs[2][0] == 42 {
		t.Error("vectors of a repeated text share memory")
	}
	if n := srv.RequestCount("/v1/embeddings"); n != 1 {
		t.Errorf("%d requests", n)
	}
	if e.Threshold() != DefaultThreshold {
		t.Errorf("threshold %v", e.Threshold())
	}
	if _, err := e.Embed(context.Background(), []string{"a", " "}); !errors.Is(err, ErrEmptyQuestion) {
		t.Errorf("empty text: %v", err)
	}
	if vs, err := e.Embed(context.Background(), nil); err != nil || len(vs) != 0 {
		t.Errorf("no texts: %v %v", vs, err)
	}
}

func TestOpenAIEmbedderCoalesces(t *testing.T) {
	srv := companiontest.NewServer()
	defer srv.Close()
	e, err := NewOpenAIEmbedder(openAIClient(srv), WithBatchDelay(20*time.Millisecond), WithBatchSize(64))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	out := make([][]float32, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vs, err := e.Embed(context.Background(), []string{fmt.Sprintf("question number %d", i)})
			errs[i] = err
			if err == nil {
				out[i] = vs[0]
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		want := companiontest.Embed(fmt.Sprintf("question number %d", i), len(out[i]))
		if s := dot32(out[i], want); s < 0.9999 {
			t.Fatalf("call %d got another text's vector (similarity %.4f)", i, s)
		}
	}
	reqs := srv.RequestCount("/v1/embeddings")
	t.Logf("%d concurrent calls → %d requests", n, reqs)
	if reqs > 5 {
		t.Errorf("%d requests for %d concurrent calls", reqs, n)
	}
}

func TestOpenAIEmbedderBatchSize(t *testing.T) {
	srv := companiontest.NewServer()
	defer srv.Close()
	e, _ := NewOpenAIEmbedder(openAIClient(srv), WithBatchSize(8), WithBatchDelay(time.Hour))
	defer e.Close()
	texts := make([]string, 20)
	for i := range texts {
		texts[i] = fmt.Sprint("text ", i)
	}
	// 20 texts go out as 8 + 8 at once; the last 4 wait for the delay
	// (an hour), so the call must not complete until Close.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := e.Embed(ctx, texts); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	for _, r := range srv.Requests() {
		var body struct {
			Input []string `json:"input"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if len(body.Input) > 8 {
			t.Errorf("request of %d inputs", len(body.Input))
		}
	}
	if n := srv.RequestCount("/v1/embeddings"); n != 2 {
		t.Errorf("%d requests, want 2 full batches", n)
	}
	// The abandoned remainder is dropped: nothing is pending.
	e.mu.Lock()
	pending := e.pending
	e.mu.Unlock()
	if pending != nil {
		t.Error("abandoned batch still pending")
	}
}

func TestOpenAIEmbedderCancelledWaiter(t *testing.T) {
	srv := companiontest.NewServer(companiontest.WithLatency(companiontest.Latency{RTT: 150 * time.Millisecond}))
	defer srv.Close()
	e, _ := NewOpenAIEmbedder(openAIClient(srv), WithBatchDelay(10*time.Millisecond))
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var errCancelled, errOther error
	var other [][]float32
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, errCancelled = e.Embed(ctx, []string{"first"})
	}()
	go func() {
		defer wg.Done()
		other, errOther = e.Embed(context.Background(), []string{"second"})
	}()
	time.Sleep(60 * time.Millisecond) // both in one request, in flight
	cancel()
	wg.Wait()
	if !errors.Is(errCancelled, context.Canceled) {
		t.Errorf("cancelled caller: %v", errCancelled)
	}
	if errOther != nil || len(other) != 1 {
		t.Errorf("other caller: %v", errOther)
	}
	if n := srv.RequestCount("/v1/embeddings"); n != 1 {
		t.Errorf("%d requests", n)
	}
}

func TestOpenAIEmbedderClose(t *testing.T) {
	srv := companiontest.NewServer(companiontest.WithLatency(companiontest.Latency{RTT: time.Second}))
	defer srv.Close()
	e, _ := NewOpenAIEmbedder(openAIClient(srv), WithBatchDelay(time.Millisecond))
	errc := make(chan error, 1)
	go func() {
		_, err := e.Embed(context.Background(), []string{"in flight"})
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	e.Close()
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Close took %v", d)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("in-flight caller: %v", err)
	}
	if _, err := e.Embed(context.Background(), []string{"after"}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	e.Close() // idempotent

	// A pending batch (long delay) fails with ErrClosed too.
	e2, _ := NewOpenAIEmbedder(openAIClient(srv), WithBatchDelay(time.Hour))
	go func() {
		_, err := e2.Embed(context.Background(), []string{"pending"})
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	e2.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("pending caller: %v", err)
	}
}

func TestOpenAIEmbedderErrors(t *testing.T) {
	srv := companiontest.NewServer()
	defer srv.Close()
	// The fake server refuses more dimensions than the model has.
	e, _ := NewOpenAIEmbedder(openAIClient(srv), WithDimensions(99999), WithBatchDelay(0))
	defer e.Close()
	_, err := e.Embed(context.Background(), []string{"x"})
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 400 {
		t.Fatalf("err = %v, want a wrapped 400 *openai.APIError", err)
	}
	srv.SetFaults(companiontest.Fault{Kind: companiontest.FaultMalformedJSON, Path: "/v1/embeddings"})
	e2, _ := NewOpenAIEmbedder(openAIClient(srv), WithBatchDelay(0))
	defer e2.Close()
	if _, err := e2.Embed(context.Background(), []string{"x"}); err == nil {
		t.Fatal("malformed response accepted")
	}
}

func TestOpenAIEmbedderCheck(t *testing.T) {
	e := &OpenAIEmbedder{}
	v := []float32{1, 0}
	for name, resp := range map[string]openai.EmbeddingResponse{
		"count":     {Data: []openai.Embedding{{Embedding: v}}},
		"index":     {Data: []openai.Embedding{{Embedding: v, Index: 0}, {Embedding: v, Index: 0}}},
		"dims":      {Data: []openai.Embedding{{Embedding: v, Index: 0}, {Embedding: []float32{1}, Index: 1}}},
		"zero":      {Data: []openai.Embedding{{Embedding: v, Index: 0}, {Embedding: []float32{0, 0}, Index: 1}}},
		"not a num": {Data: []openai.Embedding{{Embedding: v, Index: 0}, {Embedding: []float32{float32(math.NaN()), 0}, Index: 1}}},
	} {
		if _, err := e.check(resp, 2); !errors.Is(err, ErrEmbedding) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzTokenize checks that the tokenizer and the local embedder never
// panic and are deterministic on any input.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"", "What is Newton's 2nd law?", "解方程 2x+3=7", "x²的导数", "\xff\xfe", "World War II",
		"1,000.50 km/h", "四分之三", "百分之十五", "第二十一", "d/dx", "'go'", "“的”", "--5", "3/0", "一千克"} {
		f.Add(s)
	}
	e, _ := NewLocalEmbedder(WithDimensions(64))
	f.Fuzz(func(t *testing.T, s string) {
		a := lex(s)
		b := lex(s)
		if len(a) != len(b) {
			t.Fatal("tokenize not deterministic")
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatal("tokenize not deterministic")
			}
			if !utf8.ValidString(a[i].text) {
				t.Fatalf("invalid UTF-8 token %q", a[i].text)
			}
		}
		v1, v2 := e.EmbedText(s), e.EmbedText(s)
		for i := range v1 {
			if v1[i] != v2[i] || math.IsNaN(float64(v1[i])) {
				t.Fatal("embedding not deterministic or NaN")
			}
		}
		if n := l2(v1); n != 0 && math.Abs(n-1) > 1e-4 {
			t.Fatalf("norm %v", n)
		}
	})
}
