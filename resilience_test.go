package companion

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/leak"
	"github.com/companion-go/companion/transport"
)

// askedText opens with AskStream's results and reads the stream to its
// end.
func askedText(s *Stream, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return readAll(s)
}

// TestTurnRetries: one fault of each kind, on the first request only, is
// retried at the turn level (the transport's own retries are off) and the
// turn gets the whole, right answer, whole and streamed, on both paths
// (plain and coalesced).
func TestTurnRetries(t *testing.T) {
	const q = "What is Newton's second law?"
	want := companiontest.Answer(q)
	faults := map[string]companiontest.Fault{
		"429":             {Kind: companiontest.FaultRateLimit, RetryAfter: 20 * time.Millisecond},
		"500":             {Kind: companiontest.FaultServerError},
		"502":             {Kind: companiontest.FaultBadGateway},
		"503":             {Kind: companiontest.FaultUnavailable},
		"malformed":       {Kind: companiontest.FaultMalformedJSON},
		"broken SSE":      {Kind: companiontest.FaultBrokenSSE},
		"dropped at once": {Kind: companiontest.FaultDropStream},
		"dropped later":   {Kind: companiontest.FaultDropStream, AfterChunks: 3},
	}
	for name, f := range faults {
		for _, stream := range []bool{false, true} {
			for _, cached := range []bool{false, true} {
				label := name
				if stream {
					label += " stream"
				}
				if cached {
					label += " coalesced"
				}
				t.Run(label, func(t *testing.T) {
					f := f
					f.Count, f.Path = 1, "/v1/chat/completions"
					opts := []Option{WithTransportOptions(transport.WithMaxRetries(0))}
					if cached {
						opts = append(opts, WithExactCache(newMemory(t)))
					}
					c, srv := newTest(t, []companiontest.Option{companiontest.WithFaults(f)}, opts...)
					var text string
					var a *Answer
					var err error
					if stream {
						var s *Stream
						s, err = c.AskStream(context.Background(), Question{Text: q})
						if err == nil {
							text, err = readAll(s)
							a = s.Answer()
						}
					} else {
						a, err = c.Ask(context.Background(), Question{Text: q})
						if err == nil {
							text = a.Text
						}
					}
					if err != nil {
						t.Fatalf("turn failed: %v", err)
					}
					if text != want {
						t.Fatalf("text %q, want %q", text, want)
					}
					if got := srv.RequestCount("/v1/chat/completions"); got != 2 {
						t.Errorf("upstream saw %d requests, want 2", got)
					}
					if a.Attempts != 2 && !cached {
						t.Errorf("Attempts = %d, want 2", a.Attempts)
					}
				})
			}
		}
	}
}

// TestRetryAttemptsBounded: a fault on every request fails the turn after
// MaxAttempts attempts, with the last attempt's error and its count.
func TestRetryAttemptsBounded(t *testing.T) {
	c, srv := newTest(t, []companiontest.Option{companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultMalformedJSON, Path: "/v1/chat/completions"})},
		WithRetry(RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}))
	_, err := c.Ask(context.Background(), Question{Text: "What is density?"})
	var ue *UpstreamError
	if !errors.Is(err, ErrMalformedResponse) || !errors.As(err, &ue) || ue.Attempts != 3 {
		t.Fatalf("err = %v, want ErrMalformedResponse after 3 attempts", err)
	}
	if got := srv.RequestCount("/v1/chat/completions"); got != 3 {
		t.Errorf("upstream saw %d requests, want 3", got)
	}
	// A status that retrying cannot fix is not retried.
	c2, srv2 := newTest(t, []companiontest.Option{companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultMalformedJSON, Path: "/nope"})})
	if _, err := c2.Ask(context.Background(), Question{Text: "What is density?", Model: "gpt-4.1-mini", MaxTokens: 1}); err != nil {
		t.Fatalf("plain turn: %v", err)
	}
	if got := srv2.RequestCount("/v1/chat/completions"); got != 1 {
		t.Errorf("a turn that worked made %d requests", got)
	}
}

// TestRetryAfterBeyondDeadline: a 429 whose Retry-After outlasts the turn's
// deadline fails at once with ErrRateLimited carrying the wait.
func TestRetryAfterBeyondDeadline(t *testing.T) {
	c, _ := newTest(t, []companiontest.Option{companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultRateLimit, RetryAfter: 30 * time.Second})},
		WithTransportOptions(transport.WithMaxRetries(0)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.Ask(ctx, Question{Text: "What is density?"})
	var ue *UpstreamError
	if !errors.Is(err, ErrRateLimited) || !errors.Is(err, ErrStatus) || !errors.As(err, &ue) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	if ue.RetryAfter < 29*time.Second {
		t.Errorf("RetryAfter = %v, want the upstream's 30 s", ue.RetryAfter)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the turn took %v: it waited instead of failing at once", d)
	}
}

// TestStreamFinalChunkThenDrop: a stream whose last chunk arrived is whole
// even when the connection drops before [DONE]; it is cached.
func TestStreamFinalChunkThenDrop(t *testing.T) {
	const q = "What is Ohm's law?"
	c, srv := newTest(t, []companiontest.Option{companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultDropStream, AfterChunks: 1 << 20, Count: 1})},
		WithExactCache(newMemory(t)), WithRetry(RetryPolicy{MaxAttempts: 1}))
	text, err := askedText(c.AskStream(context.Background(), Question{Text: q}))
	if err != nil || text != companiontest.Answer(q) {
		t.Fatalf("stream = %q, %v; want the whole answer", text, err)
	}
	a, err := c.Ask(context.Background(), Question{Text: q})
	if err != nil || a.Source != SourceExact {
		t.Fatalf("second ask = %v, %v; want an exact hit", a, err)
	}
	if got := srv.RequestCount("/v1/chat/completions"); got != 1 {
		t.Errorf("upstream saw %d requests, want 1", got)
	}
}

// divergingRT answers the first streamed request with the start of one
// answer and a dropped connection, and later ones with another answer:
// an upstream that does not repeat itself.
type divergingRT struct{ calls int }

func (d *divergingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	d.calls++
	chunk := func(text, finish string) string {
		fr := "null"
		if finish != "" {
			fr = `"` + finish + `"`
		}
		return `data: {"id":"x","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"` + text + `"},"finish_reason":` + fr + "}]}\n\n"
	}
	var body io.Reader
	if d.calls == 1 {
		body = io.MultiReader(strings.NewReader(chunk("Hello, ", "")+chunk("world", "")), errReader{io.ErrUnexpectedEOF})
	} else {
		body = strings.NewReader(chunk("Goodbye", "") + chunk("", "stop") + "data: [DONE]\n\n")
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(body), Request: req}, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestStreamResumeMustRepeat: after text reached the reader, a retry whose
// answer differs fails the stream with ErrStreamInterrupted; the reader
// never sees two answers.
func TestStreamResumeMustRepeat(t *testing.T) {
	rt := &divergingRT{}
	c, err := New(WithBaseURL("http://upstream.invalid/v1"), WithModel(testModel), WithHTTPClient(&http.Client{Transport: rt}),
		WithRetry(RetryPolicy{MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	text, err := askedText(c.AskStream(context.Background(), Question{Text: "hi"}))
	if !errors.Is(err, ErrStreamInterrupted) {
		t.Fatalf("err = %v, want ErrStreamInterrupted", err)
	}
	if strings.Contains(text, "Goodbye") || !strings.HasPrefix("Hello, world", text) {
		t.Errorf("reader saw %q: parts of two answers", text)
	}
	if rt.calls != 2 {
		t.Errorf("%d calls, want 2 (the retry, then the refusal)", rt.calls)
	}
}

// TestBadConfigNeverPanics: nil and typed-nil options are ConfigErrors.
func TestBadConfigNeverPanics(t *testing.T) {
	var nilMemory *cache.Memory
	var nilLimiter *Semaphore
	for name, opts := range map[string][]Option{
		"nil option":             {nil},
		"nil transport option":   {WithTransportOptions(nil)},
		"typed nil exact cache":  {WithExactCache(nilMemory)},
		"typed nil limiter":      {WithLimiter(nilLimiter)},
		"nil logger":             {WithLogger(nil)},
		"nil cache":              {WithCache(nil)},
		"nil post-processor":     {WithPostProcessor(nil)},
		"nil meter provider":     {WithMeterProvider(nil)},
		"nil tracer provider":    {WithTracerProvider(nil)},
		"zero attempts":          {WithRetry(RetryPolicy{MaxAttempts: -1})},
		"negative cache timeout": {WithCacheTimeouts(CacheTimeouts{Lookup: -1})},
		"zero idle timeout":      {WithStreamIdleTimeout(-2)},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := New(opts...)
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) || c != nil {
				t.Fatalf("New = %v, %v; want a *ConfigError", c, err)
			}
		})
	}
}

// TestInputErrors: a negative MaxTokens, a prompt that cannot fit its
// budget, and a closed Companion are typed errors, with nothing sent.
func TestInputErrors(t *testing.T) {
	c, srv := newTest(t, nil, WithPromptBudget(200, 100))
	if _, err := c.Ask(context.Background(), Question{Text: "hi", MaxTokens: -1}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("negative MaxTokens: %v", err)
	}
	_, err := c.Ask(context.Background(), Question{Text: "hi", SystemPrompt: strings.Repeat("You are a patient tutor. ", 100)})
	var ie *InputError
	if !errors.Is(err, ErrTooLong) || !errors.As(err, &ie) {
		t.Errorf("system prompt over budget: %v, want an *InputError matching ErrTooLong", err)
	}
	if n := srv.RequestCount("/v1/chat/completions"); n != 0 {
		t.Errorf("%d requests sent for bad input", n)
	}
	c.Close()
	if _, err := c.Ask(context.Background(), Question{Text: "hi"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Ask after Close: %v, want ErrClosed", err)
	}
	if _, err := c.AskStream(context.Background(), Question{Text: "hi"}); !errors.Is(err, ErrClosed) {
		t.Errorf("AskStream after Close: %v, want ErrClosed", err)
	}
}

// TestUpstreamErrorHeaders: a failed call's error carries the upstream's
// response headers, its request id among them.
func TestUpstreamErrorHeaders(t *testing.T) {
	c, _ := newTest(t, []companiontest.Option{companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultServerError})},
		WithRetry(RetryPolicy{MaxAttempts: 1}), WithTransportOptions(transport.WithMaxRetries(0)))
	_, err := c.Ask(context.Background(), Question{Text: "What is density?"})
	var ue *UpstreamError
	if !errors.As(err, &ue) || ue.Header.Get("x-request-id") == "" {
		t.Fatalf("err = %v (headers %v), want the upstream's x-request-id", err, ue)
	}
}

// TestStreamEarlyExits: every way of leaving a stream early — cancel its
// context, Close it, Close it from another goroutine while Recv waits,
// abandon it unread — on the plain and the coalesced path, leaves no
// goroutine behind and every limiter slot free.
func TestStreamEarlyExits(t *testing.T) {
	lat := companiontest.Latency{FirstToken: 30 * time.Millisecond, PerOutputToken: 30 * time.Millisecond}
	exits := map[string]func(t *testing.T, s *Stream, cancel context.CancelFunc){
		"cancel": func(t *testing.T, s *Stream, cancel context.CancelFunc) { cancel() },
		"close":  func(t *testing.T, s *Stream, cancel context.CancelFunc) { s.Close() },
		"close from another goroutine": func(t *testing.T, s *Stream, cancel context.CancelFunc) {
			done := make(chan error, 1)
			go func() {
				for {
					if _, err := s.Recv(); err != nil {
						done <- err
						return
					}
				}
			}()
			time.Sleep(20 * time.Millisecond)
			s.Close()
			if err := <-done; !errors.Is(err, ErrStreamClosed) {
				t.Errorf("a waiting Recv got %v after Close, want ErrStreamClosed", err)
			}
		},
		"abandon": func(t *testing.T, s *Stream, cancel context.CancelFunc) {
			time.Sleep(150 * time.Millisecond) // the idle timeout below
		},
	}
	for name, exit := range exits {
		for _, coalesced := range []bool{false, true} {
			label := name
			if coalesced {
				label += ", coalesced"
			}
			t.Run(label, func(t *testing.T) {
				snap := leak.Take()
				srv := companiontest.NewServer(companiontest.WithLatency(lat))
				sem := NewSemaphore(2)
				opts := []Option{WithBaseURL(srv.URL), WithModel(testModel), WithLimiter(sem), WithStreamIdleTimeout(100 * time.Millisecond)}
				var mem *cache.Memory
				if coalesced {
					var err error
					if mem, err = cache.NewMemory(cache.MemoryConfig{}); err != nil {
						t.Fatal(err)
					}
					opts = append(opts, WithExactCache(mem))
				}
				c, err := New(opts...)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				s, err := c.AskStream(ctx, Question{Text: "Explain photosynthesis in detail."})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Recv(); err != nil {
					t.Fatal(err)
				}
				exit(t, s, cancel)
				// Both slots come back: the semaphore grants two at once.
				deadline := time.Now().Add(5 * time.Second)
				for {
					r1, ok1 := sem.TryAcquire()
					r2, ok2 := sem.TryAcquire()
					if ok1 {
						r1()
					}
					if ok2 {
						r2()
					}
					if ok1 && ok2 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("a limiter slot is still held after the stream ended")
					}
					time.Sleep(10 * time.Millisecond)
				}
				cancel()
				c.Close()
				srv.Close()
				if mem != nil {
					mem.Close()
				}
				leak.Check(t, snap)
			})
		}
	}
}
