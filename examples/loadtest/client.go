package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/batch"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/moderation"
	"github.com/companion-go/companion/semantic"
	"github.com/companion-go/companion/transport"
)

// tuned is Companion with every stage on: the exact and semantic caches,
// prompt compression under a token budget, the concurrency limit, the
// moderation pipeline (word lists on the stream as it arrives, format
// validators and the moderation endpoint in parallel), and the tuned
// transport (pooled HTTP/2 with TLS resumption, warmed, sending each call
// to the fastest of the near and the far endpoint). Answers are streamed.
type tuned struct {
	c      *companion.Companion
	mem    *cache.Memory
	sem    *semantic.Semantic
	remote *transport.Transport
	post   *moderation.Pipeline
	words  *moderation.Pipeline // the word lists alone, for the answer check
}

// newTuned builds the tuned client; sem are the semantic tier's options
// (a verifier, for one).
func newTuned(ctx context.Context, u *upstream, model string, limit int, hedge time.Duration, sem ...semantic.SemanticOption) (*tuned, error) {
	t := &tuned{}
	var err error
	if t.mem, err = cache.NewMemory(cache.MemoryConfig{MaxBytes: 64 << 20}); err != nil {
		return nil, err
	}
	if t.sem, err = semantic.NewSemantic(sem...); err != nil {
		t.mem.Close()
		return nil, err
	}
	words, err := moderation.ParseWords(bytes.NewReader(wordsTXT))
	if err != nil {
		return nil, err
	}
	allow, err := moderation.ParseAllow(bytes.NewReader(allowTXT))
	if err != nil {
		return nil, err
	}
	m, err := moderation.NewMatcher(words, allow)
	if err != nil {
		return nil, err
	}
	if t.words, err = moderation.NewPipeline(moderation.WithMatcher(m)); err != nil {
		return nil, err
	}
	// The moderation endpoint, near, on a pooled connection of its own.
	if t.remote, err = transport.New(transport.WithTLSConfig(u.tls), transport.WithEndpoints(u.near)); err != nil {
		return nil, err
	}
	remote, err := moderation.NewRemote(moderation.RemoteConfig{BaseURL: u.near, APIKey: "offline", HTTPClient: t.remote.Client()})
	if err != nil {
		t.close()
		return nil, err
	}
	if t.post, err = moderation.NewPipeline(
		moderation.WithMatcher(m),
		moderation.WithValidator(moderation.MarkdownValidator{}, moderation.Flag),
		moderation.WithChecker("remote", remote),
	); err != nil {
		t.close()
		return nil, err
	}
	if t.c, err = companion.New(
		companion.WithEndpoints(u.near, u.far),
		companion.WithTransportOptions(transport.WithTLSConfig(u.tls)),
		companion.WithAPIKey("offline"),
		companion.WithModel(model),
		companion.WithConcurrency(limit),
		companion.WithExactCache(t.mem),
		companion.WithSemanticCache(t.sem),
		companion.WithPromptBudget(promptBudget, promptReserve),
		companion.WithModeration(t.post),
		companion.WithUpstreamHedge(hedge),
	); err != nil {
		t.close()
		return nil, err
	}
	// Connections are opened before traffic, as a server does at start.
	if err := t.c.Transport().Warm(ctx, 1); err != nil {
		t.close()
		return nil, err
	}
	if err := t.remote.Warm(ctx, 1); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// The prompt stage's budget: a prompt gets at most promptBudget −
// promptReserve tokens (the prompt package's defaults).
const (
	promptBudget  = 2000
	promptReserve = 500
)

func (t *tuned) close() {
	if t.c != nil {
		t.c.Close()
	}
	if t.remote != nil {
		t.remote.Close()
	}
	t.mem.Close()
}

// prewarm precomputes, through the Batch API at half price, the answers
// to the questions asked at least minCount times in yesterday's log.
func (t *tuned) prewarm(ctx context.Context, log []companion.Question, minCount int) (*companion.PrewarmReport, int, error) {
	texts := make([]string, len(log))
	byText := map[string]companion.Question{}
	for i, q := range log {
		texts[i] = q.Text
		if _, ok := byText[q.Text]; !ok {
			byText[q.Text] = q
		}
	}
	var qs []companion.Question
	for _, h := range batch.HotQuestions(texts, 0) {
		if h.Count < minCount {
			break
		}
		if q, ok := byText[h.Text]; ok {
			qs = append(qs, q)
		}
	}
	if len(qs) == 0 {
		return &companion.PrewarmReport{}, 0, nil
	}
	rep, err := t.c.Prewarm(ctx, qs, companion.PrewarmVia(companion.PrewarmBatch),
		companion.PrewarmBatchOptions(batch.WithPollInterval(50*time.Millisecond, 200*time.Millisecond)))
	return rep, len(qs), err
}

// ask streams one turn's answer to the end.
func (t *tuned) ask(ctx context.Context, q *companion.Question) (result, error) {
	start := time.Now()
	s, err := t.c.AskStream(ctx, *q)
	if err != nil {
		return result{}, err
	}
	defer s.Close()
	var ttft time.Duration
	var text strings.Builder
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return result{}, err
		}
		if ttft == 0 && ch.Text != "" {
			ttft = time.Since(start)
		}
		text.WriteString(ch.Text)
	}
	total := time.Since(start)
	a := s.Answer()
	if a == nil {
		return result{}, errors.New("loadtest: stream ended without an answer")
	}
	return result{
		text: text.String(), source: a.Source.String(), ttft: ttft, total: total,
		promptTokens: a.Usage.PromptTokens, completionTokens: a.Usage.CompletionTokens,
		saved: a.TokensSaved, cost: a.Cost, coalesced: a.Coalesced,
	}, nil
}

// expected returns what this client shows for the fake's answer to
// question: the answer after the moderation pipeline's masking.
func (t *tuned) expected(ctx context.Context, answer string) string {
	v, err := t.words.Check(ctx, moderation.Input{Text: answer})
	if err == nil && v.Action == moderation.Mask {
		return v.Text
	}
	return answer
}
