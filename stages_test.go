package companion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/companion-go/companion/companiontest"
	openai "github.com/sashabaranov/go-openai"
)

// stageTrace records the stages a turn went through.
type stageTrace struct {
	mu    sync.Mutex
	steps []string
}

func (tr *stageTrace) add(s string) {
	tr.mu.Lock()
	tr.steps = append(tr.steps, s)
	tr.mu.Unlock()
}

func (tr *stageTrace) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return strings.Join(tr.steps, " ")
}

// mapCache is an exact cache keyed by model and text.
type mapCache struct {
	tr        *stageTrace
	mu        sync.Mutex
	m         map[string]string
	failGet   error
	failStore error
}

func newMapCache(tr *stageTrace) *mapCache { return &mapCache{tr: tr, m: map[string]string{}} }

func (c *mapCache) key(q *Question) string { return q.Model + "|" + q.SystemPrompt + "|" + q.Text }

func (c *mapCache) Lookup(_ context.Context, q *Question) (CacheHit, bool, error) {
	c.tr.add("lookup")
	if c.failGet != nil {
		return CacheHit{}, false, c.failGet
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	text, ok := c.m[c.key(q)]
	return CacheHit{Text: text, Source: SourceExact, Similarity: 1}, ok, nil
}

func (c *mapCache) Store(_ context.Context, q *Question, a *Answer) error {
	c.tr.add("store")
	if c.failStore != nil {
		return c.failStore
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[c.key(q)] = a.Text
	return nil
}

func (c *mapCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

type tracingLimiter struct {
	tr *stageTrace
	Limiter
}

func (l tracingLimiter) Acquire(ctx context.Context, n int) (func(), error) {
	l.tr.add("acquire")
	release, err := l.Limiter.Acquire(ctx, n)
	if err != nil {
		return nil, err
	}
	return func() { l.tr.add("release"); release() }, nil
}

// wordFilter blocks answers containing block and masks mask.
type wordFilter struct {
	tr          *stageTrace
	block, mask string
	flag        string
}

func (f *wordFilter) Check(_ context.Context, _ *Question, answer string) (Verdict, error) {
	f.tr.add("check")
	switch {
	case f.block != "" && strings.Contains(answer, f.block):
		return Verdict{Action: Block, Reasons: []string{"word:" + f.block}}, nil
	case f.mask != "" && strings.Contains(answer, f.mask):
		return Verdict{Action: Rewrite, Text: strings.ReplaceAll(answer, f.mask, strings.Repeat("*", len(f.mask))), Reasons: []string{"mask:" + f.mask}}, nil
	case f.flag != "" && strings.Contains(answer, f.flag):
		return Verdict{Action: Allow, Reasons: []string{"flag:" + f.flag}}, nil
	}
	return Verdict{}, nil
}

// guardFilter is a wordFilter that also guards streams: it holds back
// len(block)-1 bytes so a word split across chunks is still caught.
type guardFilter struct{ wordFilter }

func (f *guardFilter) GuardStream(context.Context, *Question) StreamGuard {
	return &holdBack{f: f}
}

type holdBack struct {
	f    *guardFilter
	seen strings.Builder
	sent int
}

func (h *holdBack) Push(chunk string) (string, error) {
	h.seen.WriteString(chunk)
	all := h.seen.String()
	if strings.Contains(all, h.f.block) {
		return "", &BlockedError{Verdict: Verdict{Action: Block, Reasons: []string{"word:" + h.f.block}}}
	}
	safe := len(all) - (len(h.f.block) - 1)
	if safe <= h.sent {
		return "", nil
	}
	out := all[h.sent:safe]
	h.sent = safe
	return out, nil
}

func (h *holdBack) Finish() (string, Verdict, error) {
	out := h.seen.String()[h.sent:]
	h.sent = h.seen.Len()
	return out, Verdict{}, nil
}

func TestStageOrder(t *testing.T) {
	tr := &stageTrace{}
	c, _ := newTest(t, nil,
		WithCache(newMapCache(tr)),
		WithPromptBuilder(PromptFunc(func(ctx context.Context, q *Question) (*Prompt, error) {
			tr.add("prompt")
			return AssemblePrompt.BuildPrompt(ctx, q)
		})),
		WithLimiter(tracingLimiter{tr, NewSemaphore(2)}),
		WithPostProcessor(&wordFilter{tr: tr}),
	)
	if _, err := c.Ask(context.Background(), Question{Text: "What is density?"}); err != nil {
		t.Fatal(err)
	}
	if got, want := tr.String(), "lookup prompt acquire release check store"; got != want {
		t.Errorf("stages ran as %q, want %q", got, want)
	}
	tr.steps = nil
	a, err := c.Ask(context.Background(), Question{Text: "What is density?"})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.String(); got != "lookup" || a.Source != SourceExact || a.Usage != (Usage{}) {
		t.Errorf("second ask: stages %q, answer %+v; want a cache hit only", got, a)
	}
}

func TestCacheHitSkipsUpstream(t *testing.T) {
	tr := &stageTrace{}
	cache := newMapCache(tr)
	c, srv := newTest(t, nil, WithCache(cache))
	ctx := context.Background()
	q := Question{Text: "What is the Pythagorean theorem?"}
	first, err := c.Ask(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Ask(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if second.Text != first.Text || second.Source != SourceExact || second.Similarity != 1 || second.FinishReason != "stop" {
		t.Errorf("hit = %+v", second)
	}
	// A streamed hit is replayed in several chunks with zero usage.
	s, err := c.AskStream(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if s.Source() != SourceExact {
		t.Errorf("stream source = %v", s.Source())
	}
	var chunks []string
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, ch.Text)
	}
	s.Close()
	if strings.Join(chunks, "") != first.Text || len(chunks) < 3 {
		t.Errorf("replayed %d chunks %q", len(chunks), chunks)
	}
	if a := s.Answer(); a.Source != SourceExact || a.Usage != (Usage{}) {
		t.Errorf("replayed answer = %+v", a)
	}
	if n := srv.RequestCount("/v1/chat/completions"); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
}

func TestCacheErrorsFallThrough(t *testing.T) {
	tr := &stageTrace{}
	cache := newMapCache(tr)
	cache.failGet = errors.New("redis: connection refused")
	cache.failStore = errors.New("redis: connection refused")
	c, srv := newTest(t, nil, WithCache(cache))
	for range 2 {
		a, err := c.Ask(context.Background(), Question{Text: "What is Ohm's law?"})
		if err != nil || a.Source != SourceUpstream {
			t.Fatalf("Ask with a failing cache: %v, %+v", err, a)
		}
	}
	if n := srv.RequestCount(""); n != 2 {
		t.Errorf("upstream saw %d requests, want 2", n)
	}
}

func TestNotCached(t *testing.T) {
	tr := &stageTrace{}
	for _, tc := range []struct {
		name string
		q    Question
		post PostProcessor
	}{
		{"personal", Question{Text: "What is density?", Personal: true}, nil},
		{"truncated", Question{Text: "What is density?", MaxTokens: 3}, nil},
		{"rewritten", Question{Text: "What is density?"}, &wordFilter{tr: tr, mask: "density"}},
		{"flagged", Question{Text: "What is density?"}, &wordFilter{tr: tr, flag: "density"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := newMapCache(tr)
			opts := []Option{WithCache(cache)}
			if tc.post != nil {
				opts = append(opts, WithPostProcessor(tc.post))
			}
			c, _ := newTest(t, nil, opts...)
			if _, err := c.Ask(context.Background(), tc.q); err != nil {
				t.Fatal(err)
			}
			if err := drain(c.AskStream(context.Background(), tc.q)); err != nil {
				t.Fatal(err)
			}
			if cache.len() != 0 {
				t.Errorf("the answer was cached")
			}
		})
	}
}

func TestPostProcessing(t *testing.T) {
	tr := &stageTrace{}
	ctx := context.Background()
	q := Question{Text: "What is Newton's second law?"}
	c, _ := newTest(t, nil)
	plain, err := c.Ask(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	word := strings.Fields(plain.Text)[3] // a word the answer is known to hold

	t.Run("rewrite", func(t *testing.T) {
		c, _ := newTest(t, nil, WithPostProcessor(&wordFilter{tr: tr, mask: word}))
		a, err := c.Ask(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(a.Text, word) || a.Verdict.Action != Rewrite {
			t.Errorf("rewritten answer %q still holds %q (verdict %+v)", a.Text, word, a.Verdict)
		}
		s, err := c.AskStream(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got := collect(t, s)
		if got != a.Text || s.Answer().Text != a.Text {
			t.Errorf("streamed %q, want the rewritten %q", got, a.Text)
		}
	})
	for _, guarded := range []bool{false, true} {
		t.Run(fmt.Sprintf("block guarded=%v", guarded), func(t *testing.T) {
			var p PostProcessor = &wordFilter{tr: tr, block: word}
			if guarded {
				p = &guardFilter{wordFilter{tr: tr, block: word}}
			}
			cache := newMapCache(tr)
			c, _ := newTest(t, nil, WithPostProcessor(p), WithCache(cache))
			_, err := c.Ask(ctx, q)
			var be *BlockedError
			if !errors.Is(err, ErrBlocked) || !errors.As(err, &be) || be.Verdict.Reasons[0] != "word:"+word {
				t.Fatalf("Ask = %v, want a *BlockedError", err)
			}
			s, err := c.AskStream(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var shown strings.Builder
			for {
				ch, err := s.Recv()
				if err != nil {
					if !errors.As(err, &be) {
						t.Fatalf("Recv = %v, want a *BlockedError", err)
					}
					break
				}
				shown.WriteString(ch.Text)
			}
			if strings.Contains(shown.String(), word) {
				t.Errorf("the blocked word reached the caller: %q", shown.String())
			}
			if !guarded && shown.Len() != 0 {
				t.Errorf("without a guard, %q was shown before the check", shown.String())
			}
			if guarded && shown.Len() == 0 {
				t.Errorf("the guard held back everything before the blocked word")
			}
			if cache.len() != 0 {
				t.Errorf("a blocked answer was cached")
			}
		})
	}
}

func collect(t *testing.T, s *Stream) string {
	t.Helper()
	text, err := readAll(s)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// chatClient is the interface a host puts in front of go-openai; both
// *openai.Client and *Companion satisfy it.
type chatClient interface {
	CreateChatCompletion(context.Context, openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error)
	CreateChatCompletionStream(context.Context, openai.ChatCompletionRequest) (*openai.ChatCompletionStream, error)
}

var (
	_ chatClient = (*openai.Client)(nil)
	_ chatClient = (*Companion)(nil)
)

func TestChatCompletionMirror(t *testing.T) {
	tr := &stageTrace{}
	cache := newMapCache(tr)
	c, srv := newTest(t, nil, WithCache(cache))
	ctx := context.Background()
	req := openai.ChatCompletionRequest{
		Model: testModel,
		Messages: []openai.ChatCompletionMessage{
			{Role: "system", Content: "You are a physics tutor."},
			{Role: "user", Content: "What is Newton's third law?"},
		},
	}
	for _, client := range []chatClient{bare(srv), c, c} { // the second Companion call is a hit
		resp, err := client.CreateChatCompletion(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" || resp.Choices[0].FinishReason != "stop" {
			t.Fatalf("response = %+v", resp)
		}
		streamed := streamText(t, client, req)
		if streamed != resp.Choices[0].Message.Content {
			t.Errorf("streamed %q, want %q", streamed, resp.Choices[0].Message.Content)
		}
	}
	// bare: 2 calls; Companion: a miss (stored), then 3 hits.
	if n := srv.RequestCount("/v1/chat/completions"); n != 3 {
		t.Errorf("upstream saw %d requests, want 3", n)
	}

	// Usage is passed on when the caller asks for it.
	req.Messages[1].Content = "What is Ohm's law?"
	req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	s, err := c.CreateChatCompletionStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var usage *openai.Usage
	for {
		r, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Usage != nil {
			usage = r.Usage
		}
	}
	s.Close()
	if usage == nil || usage.PromptTokens == 0 || usage.CompletionTokens == 0 {
		t.Errorf("usage = %+v", usage)
	}
}

func streamText(t *testing.T, c chatClient, req openai.ChatCompletionRequest) string {
	t.Helper()
	s, err := c.CreateChatCompletionStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b strings.Builder
	for {
		r, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return b.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Choices) > 0 {
			b.WriteString(r.Choices[0].Delta.Content)
		}
	}
}

func TestChatCompletionMirrorErrors(t *testing.T) {
	tr := &stageTrace{}
	c, _ := newTest(t, nil, WithPostProcessor(&wordFilter{tr: tr, block: "force"}))
	ctx := context.Background()
	req := openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "What is Newton's second law?"}}}
	if _, err := c.CreateChatCompletion(ctx, req); !errors.Is(err, ErrBlocked) {
		t.Errorf("CreateChatCompletion = %v, want ErrBlocked", err)
	}
	s, err := c.CreateChatCompletionStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for {
		r, err := s.Recv()
		if err != nil {
			var be *BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("stream Recv = %v, want a *BlockedError", err)
			}
			break
		}
		if len(r.Choices) > 0 && r.Choices[0].Delta.Content != "" {
			t.Fatalf("blocked text reached the caller: %q", r.Choices[0].Delta.Content)
		}
	}
	for _, tc := range []struct {
		req  openai.ChatCompletionRequest
		want error
	}{
		{openai.ChatCompletionRequest{}, ErrNoMessages},
		{openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "robot", Content: "x"}}}, ErrUnknownRole},
		{openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "\xff"}}}, ErrInvalidUTF8},
		{openai.ChatCompletionRequest{Model: "o3-mini", MaxTokens: 10, Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}}, ErrInvalidRequest},
	} {
		if _, err := c.CreateChatCompletion(ctx, tc.req); !errors.Is(err, tc.want) {
			t.Errorf("CreateChatCompletion(%+v) = %v, want %v", tc.req, err, tc.want)
		}
	}
}

func TestSplitChunks(t *testing.T) {
	for _, text := range []string{
		"",
		"short",
		"Newton's second law says that force equals mass times acceleration.",
		"牛顿第二定律：物体的加速度与所受合力成正比，与质量成反比。",
		strings.Repeat("x", 200),
		"mixed 中文 and English, with émojis 🎉🎉 and more text here",
	} {
		chunks := splitChunks(text)
		if strings.Join(chunks, "") != text {
			t.Errorf("chunks of %q do not join back: %q", text, chunks)
		}
		for _, c := range chunks {
			if c == "" || len(c) > 52 || !utf8Valid(c) {
				t.Errorf("bad chunk %q of %q", c, text)
			}
		}
		if len(text) > 40 && len(chunks) < 3 {
			t.Errorf("%q cut in only %d chunks", text, len(chunks))
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

var _ = companiontest.NewServer
