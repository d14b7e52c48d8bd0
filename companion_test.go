package companion

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/leak"
	openai "github.com/sashabaranov/go-openai"
)

func TestMain(m *testing.M) {
	leak.VerifyTestMain(m)
}

const testModel = "gpt-4.1-mini"

// newTest starts a fake server and a Companion pointed at it.
func newTest(t testing.TB, opts []companiontest.Option, copts ...Option) (*Companion, *companiontest.Server) {
	t.Helper()
	srv := companiontest.NewServer(opts...)
	t.Cleanup(srv.Close)
	c, err := New(append([]Option{WithBaseURL(srv.URL), WithModel(testModel)}, copts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv
}

// bare returns a plain go-openai client for srv, the reference a
// pass-through Companion must agree with.
func bare(srv *companiontest.Server) *openai.Client {
	cfg := openai.DefaultConfig("")
	cfg.BaseURL = srv.URL
	return openai.NewClientWithConfig(cfg)
}

func TestAskPassThroughMatchesGoOpenAI(t *testing.T) {
	c, srv := newTest(t, nil)
	ctx := context.Background()
	q := Question{Text: "What is Newton's second law?", SystemPrompt: "You are a tutor."}
	a, err := c.Ask(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want, err := bare(srv).CreateChatCompletion(ctx, openai.ChatCompletionRequest{
		Model: testModel,
		Messages: []openai.ChatCompletionMessage{
			{Role: "system", Content: q.SystemPrompt},
			{Role: "user", Content: q.Text},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.Text != want.Choices[0].Message.Content {
		t.Errorf("Ask text = %q, go-openai got %q", a.Text, want.Choices[0].Message.Content)
	}
	if a.Source != SourceUpstream || a.FinishReason != "stop" || a.Model == "" {
		t.Errorf("answer = %+v, want an upstream answer that stopped", a)
	}
	if a.Usage.PromptTokens != want.Usage.PromptTokens || a.Usage.CompletionTokens != want.Usage.CompletionTokens || a.Usage.PromptTokens == 0 {
		t.Errorf("usage = %+v, go-openai got %+v", a.Usage, want.Usage)
	}
	if a.Timings.Total <= 0 || a.Timings.Upstream <= 0 || a.Timings.Total < a.Timings.Upstream {
		t.Errorf("timings = %+v", a.Timings)
	}
	// The request the server saw is what AssemblePrompt built.
	reqs := srv.Requests()
	if len(reqs) != 2 || !strings.Contains(string(reqs[0].Body), `"content":"You are a tutor."`) {
		t.Fatalf("server saw %d requests, first: %s", len(reqs), reqs[0].Body)
	}
}

func TestAssemblePrompt(t *testing.T) {
	q := &Question{
		Text:         "How fast?",
		SystemPrompt: "Be brief.",
		History:      []Message{{Role: RoleUser, Content: "hi"}, {Role: RoleAssistant, Content: "hello"}},
		Snippets:     []Snippet{{ID: "kb-1", Text: "v = d / t"}},
		Examples:     []Example{{Question: "d=10, t=2?", Answer: "5"}},
		Context:      []byte(`{"grade":8}`),
	}
	p, err := AssemblePrompt.BuildPrompt(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Messages) != 4 {
		t.Fatalf("got %d messages, want system, 2 history, user", len(p.Messages))
	}
	sys := p.Messages[0]
	for _, part := range []string{"Be brief.", "[kb-1] v = d / t", "Q: d=10, t=2?\nA: 5", `Context: {"grade":8}`} {
		if sys.Role != RoleSystem || !strings.Contains(sys.Content, part) {
			t.Errorf("system message %q lacks %q", sys.Content, part)
		}
	}
	if last := p.Messages[3]; last.Role != RoleUser || last.Content != q.Text {
		t.Errorf("last message = %+v", last)
	}
	// No system parts: no system message.
	p, _ = AssemblePrompt.BuildPrompt(context.Background(), &Question{Text: "x"})
	if len(p.Messages) != 1 {
		t.Errorf("got %d messages for a bare question", len(p.Messages))
	}
}

func TestAskInputErrors(t *testing.T) {
	c, srv := newTest(t, nil, WithMaxQuestionBytes(64))
	for _, tc := range []struct {
		name  string
		q     Question
		want  error
		field string
	}{
		{"empty", Question{}, ErrEmptyQuestion, "Text"},
		{"whitespace", Question{Text: " \t\n　"}, ErrEmptyQuestion, "Text"},
		{"invalid utf-8", Question{Text: "a\xffb"}, ErrInvalidUTF8, "Text"},
		{"invalid utf-8 in history", Question{Text: "ok", History: []Message{{Role: RoleUser, Content: "\xc3"}}}, ErrInvalidUTF8, "History[0].Content"},
		{"invalid utf-8 in snippet", Question{Text: "ok", Snippets: []Snippet{{Text: "\xe4\xb8"}}}, ErrInvalidUTF8, "Snippets[0].Text"},
		{"unknown role", Question{Text: "ok", History: []Message{{Role: "user"}, {Role: "bot"}}}, ErrUnknownRole, "History[1].Role"},
		{"too long", Question{Text: strings.Repeat("x", 65)}, ErrTooLong, "Text"},
		{"bad context", Question{Text: "ok", Context: []byte(`{"a":`)}, ErrInvalidJSON, "Context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Ask(context.Background(), tc.q)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Ask error = %v, want %v", err, tc.want)
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != tc.field {
				t.Fatalf("Ask error = %#v, want an *InputError on %s", err, tc.field)
			}
			if _, err := c.AskStream(context.Background(), tc.q); !errors.Is(err, tc.want) {
				t.Fatalf("AskStream error = %v, want %v", err, tc.want)
			}
		})
	}
	if n := srv.RequestCount(""); n != 0 {
		t.Errorf("bad input reached the upstream %d times", n)
	}
}

func TestNoModel(t *testing.T) {
	srv := companiontest.NewServer()
	defer srv.Close()
	c, err := New(WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ask(context.Background(), Question{Text: "hi"}); !errors.Is(err, ErrNoModel) {
		t.Fatalf("Ask without a model: %v, want ErrNoModel", err)
	}
	if _, err := c.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
	}); !errors.Is(err, ErrNoModel) {
		t.Fatalf("CreateChatCompletion without a model: %v, want ErrNoModel", err)
	}
	a, err := c.Ask(context.Background(), Question{Text: "hi", Model: "gpt-4o"})
	if err != nil || a.Model != "gpt-4o" {
		t.Fatalf("Ask with Question.Model: %v, %+v", err, a)
	}
}

func TestNewConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opt    Option
		option string
	}{
		{"unparsable base URL", WithBaseURL("http://[::1"), "WithBaseURL"},
		{"relative base URL", WithBaseURL("/v1"), "WithBaseURL"},
		{"ftp base URL", WithBaseURL("ftp://example.com/v1"), "WithBaseURL"},
		{"nil client", WithHTTPClient(nil), "WithHTTPClient"},
		{"nil transport", WithTransport(nil), "WithTransport"},
		{"zero concurrency", WithConcurrency(0), "WithConcurrency"},
		{"negative bytes", WithMaxQuestionBytes(-5), "WithMaxQuestionBytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opt)
			var ce *ConfigError
			if !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &ce) || ce.Option != tc.option {
				t.Fatalf("New error = %v, want a *ConfigError for %s", err, tc.option)
			}
		})
	}
	if _, err := New(); err != nil {
		t.Fatalf("New() with no options: %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{
		"OPENAI_API_KEY":  "sk-test",
		"OPENAI_BASE_URL": "http://127.0.0.1:1/v1/",
		"COMPANION_MODEL": "gpt-5-mini",
	}
	var cfg config = defaultConfig()
	fromEnv(func(k string) string { return env[k] }).apply(&cfg)
	WithModel("gpt-4o").apply(&cfg) // a later option wins
	if cfg.apiKey != "sk-test" || cfg.baseURL != "http://127.0.0.1:1/v1" || cfg.model != "gpt-4o" || len(cfg.errs) != 0 {
		t.Fatalf("config = %+v", cfg)
	}
	cfg = defaultConfig()
	fromEnv(func(string) string { return "" }).apply(&cfg)
	if cfg.baseURL != DefaultBaseURL || cfg.apiKey != "" || cfg.model != "" {
		t.Fatalf("empty environment changed the config: %+v", cfg)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c, err := New(WithBaseURL("http://"+addr+"/v1"), WithModel(testModel), WithRetry(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Ask(context.Background(), Question{Text: "hi"})
	var ue *UpstreamError
	if !errors.Is(err, ErrUnreachable) || !errors.As(err, &ue) {
		t.Fatalf("Ask to a closed port: %v, want ErrUnreachable", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("error does not unwrap to *net.OpError: %v", err)
	}
	if _, err := c.AskStream(context.Background(), Question{Text: "hi"}); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("AskStream to a closed port: %v, want ErrUnreachable", err)
	}
}

func TestUpstreamFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  companiontest.Fault
		stream bool
		want   error
		status int
	}{
		{"500", companiontest.Fault{Kind: companiontest.FaultServerError}, false, ErrStatus, 500},
		{"429", companiontest.Fault{Kind: companiontest.FaultRateLimit}, false, ErrStatus, 429},
		{"503 stream", companiontest.Fault{Kind: companiontest.FaultUnavailable}, true, ErrStatus, 503},
		{"malformed JSON", companiontest.Fault{Kind: companiontest.FaultMalformedJSON}, false, ErrMalformedResponse, 0},
		{"malformed SSE data", companiontest.Fault{Kind: companiontest.FaultMalformedJSON}, true, ErrMalformedResponse, 0},
		{"broken SSE framing", companiontest.Fault{Kind: companiontest.FaultBrokenSSE}, true, ErrMalformedResponse, 0},
		{"dropped stream", companiontest.Fault{Kind: companiontest.FaultDropStream, AfterChunks: 2}, true, ErrStreamInterrupted, 0},
		{"dropped body", companiontest.Fault{Kind: companiontest.FaultDropStream}, false, ErrStreamInterrupted, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One attempt: the error of every attempt is what is tested
			// here; TestTurnRetries tests the retries.
			c, _ := newTest(t, []companiontest.Option{companiontest.WithFaults(tc.fault)}, WithRetry(RetryPolicy{MaxAttempts: 1}))
			q := Question{Text: "What is Newton's second law?"}
			var err error
			if tc.stream {
				err = drain(c.AskStream(context.Background(), q))
			} else {
				_, err = c.Ask(context.Background(), q)
			}
			var ue *UpstreamError
			if !errors.As(err, &ue) {
				t.Fatalf("error = %v (%T), want an *UpstreamError", err, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if ue.StatusCode != tc.status {
				t.Errorf("StatusCode = %d, want %d", ue.StatusCode, tc.status)
			}
			if tc.status != 0 {
				var apiErr *openai.APIError
				if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != tc.status {
					t.Errorf("error does not reach go-openai's *APIError: %v", err)
				}
			}
		})
	}
}

// drain reads a stream to its end and returns the error that ended it
// (nil for io.EOF).
func drain(s *Stream, err error) error {
	if err != nil {
		return err
	}
	_, err = readAll(s)
	return err
}

// readAll reads a stream to its end, closes it and returns its text and
// the error that ended it (nil for io.EOF).
func readAll(s *Stream) (string, error) {
	defer s.Close()
	var b strings.Builder
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		b.WriteString(ch.Text)
	}
}

func TestAskStream(t *testing.T) {
	c, srv := newTest(t, nil)
	ctx := context.Background()
	q := Question{Text: "Solve 2x + 3 = 7", SystemPrompt: "You are a maths tutor."}
	want, err := c.Ask(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.AskStream(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b strings.Builder
	n := 0
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(ch.Text)
		n++
		if s.Answer() != nil {
			t.Fatal("Answer is set before the end of the stream")
		}
	}
	a := s.Answer()
	if b.String() != want.Text || a.Text != want.Text {
		t.Errorf("streamed %q, Ask gave %q", b.String(), want.Text)
	}
	if n < 3 {
		t.Errorf("answer came in %d chunks, want several", n)
	}
	if a.Usage != want.Usage || a.FinishReason != "stop" || a.Source != SourceUpstream {
		t.Errorf("stream answer = %+v, want usage %+v", a, want.Usage)
	}
	if a.Timings.FirstToken <= 0 || a.Timings.FirstToken > a.Timings.Total {
		t.Errorf("timings = %+v", a.Timings)
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("Recv after the end = %v, want io.EOF", err)
	}
	if !strings.Contains(string(srv.Requests()[1].Body), `"include_usage":true`) {
		t.Errorf("stream request did not ask for usage: %s", srv.Requests()[1].Body)
	}
	s.Close()
	if _, err := s.Recv(); !errors.Is(err, ErrStreamClosed) {
		t.Errorf("Recv after Close = %v, want ErrStreamClosed", err)
	}
}

func TestTruncatedAnswer(t *testing.T) {
	c, _ := newTest(t, nil)
	a, err := c.Ask(context.Background(), Question{Text: "Explain Newton's second law", MaxTokens: 5})
	if err != nil {
		t.Fatal(err)
	}
	if a.FinishReason != "length" || a.Usage.CompletionTokens > 5 {
		t.Errorf("answer with MaxTokens 5: finish %q, %d tokens", a.FinishReason, a.Usage.CompletionTokens)
	}
}

func TestCancelWhileQueued(t *testing.T) {
	c, srv := newTest(t, []companiontest.Option{companiontest.WithLatency(companiontest.Latency{FirstToken: 300 * time.Millisecond})},
		WithConcurrency(1))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // holds the only slot for about 300 ms
		defer wg.Done()
		if _, err := c.Ask(context.Background(), Question{Text: "first"}); err != nil {
			t.Error(err)
		}
	}()
	for srv.RequestCount("") == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Ask(ctx, Question{Text: "second"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued Ask = %v, want context.DeadlineExceeded", err)
	}
	if _, err := c.AskStream(ctx, Question{Text: "third"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued AskStream = %v, want context.DeadlineExceeded", err)
	}
	wg.Wait()
	if n := srv.RequestCount(""); n != 1 {
		t.Errorf("upstream saw %d requests, want only the first", n)
	}
}

func TestCancelStopsUpstream(t *testing.T) {
	c, _ := newTest(t, []companiontest.Option{companiontest.WithLatency(companiontest.Latency{FirstToken: 5 * time.Second})})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Ask(ctx, Question{Text: "slow"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Ask = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Ask returned %v after cancel: the upstream call was not stopped", d)
	}
}

func TestCancelMidStream(t *testing.T) {
	c, _ := newTest(t, []companiontest.Option{companiontest.WithLatency(companiontest.Latency{PerOutputToken: 20 * time.Millisecond})})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := c.AskStream(ctx, Question{Text: "What is Newton's second law?"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	for {
		_, err = s.Recv()
		if err != nil {
			break
		}
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv after cancel = %v, want context.Canceled", err)
	}
}

func TestStreamClosedFromAnotherGoroutine(t *testing.T) {
	c, srv := newTest(t, []companiontest.Option{companiontest.WithLatency(companiontest.Latency{PerOutputToken: 50 * time.Millisecond})},
		WithConcurrency(1))
	s, err := c.AskStream(context.Background(), Question{Text: "What is Newton's second law?"})
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(20*time.Millisecond, func() { s.Close() })
	err = drain(s, nil)
	if err == nil {
		t.Fatal("stream ran to its end although it was closed")
	}
	srv.SetLatency(companiontest.Latency{})
	// The slot is free again.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Ask(ctx, Question{Text: "next"}); err != nil {
		t.Fatalf("Ask after Close: %v (limiter slot not released?)", err)
	}
}
