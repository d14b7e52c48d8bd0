// Package companion makes LLM tutoring dialogues fast, cheap and safe. A
// host builds one [Companion] with [New] and calls [Companion.Ask] or
// [Companion.AskStream] for every student turn.
//
// A turn runs through these stages, in order, each optional and
// replaceable by an option:
//
//	cache lookup → prompt build → limiter → upstream call → post-processing → cache fill
//
// With no options, Companion is a thin pass-through to the OpenAI chat API
// through github.com/sashabaranov/go-openai, with a concurrency limit of
// [DefaultConcurrency]. [Companion.CreateChatCompletion] and
// [Companion.CreateChatCompletionStream] have go-openai's signatures, so a
// Companion can stand where a host had an *openai.Client behind an
// interface.
//
// Errors are typed: input problems are [*InputError]s (matching
// [ErrEmptyQuestion], [ErrInvalidUTF8], …), upstream failures are
// [*UpstreamError]s (matching [ErrUnreachable], [ErrMalformedResponse],
// [ErrStreamInterrupted] or [ErrStatus], and unwrapping to go-openai's
// errors), blocked answers are [*BlockedError]s, and a done context gives
// the context's error.
package companion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"sync"
	"time"

	"github.com/companion-go/companion/prompt"
	"github.com/companion-go/companion/transport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	openai "github.com/sashabaranov/go-openai"
)

// Companion answers student turns. It is safe for concurrent use; build one
// per process and share it.
type Companion struct {
	client   *openai.Client
	bridge   *openai.Client // serves CreateChatCompletionStream from a Stream
	model    string
	cache    Cache
	prompt   PromptBuilder
	limiter  Limiter
	post     PostProcessor
	log      *slog.Logger
	maxBytes int
	coalesce bool
	flights  flights
	sflights streamFlights
	retry    *retrier
	idle     time.Duration // WithStreamIdleTimeout, 0 for none
	hedge    time.Duration // WithUpstreamHedge, 0 for none
	closed   atomic.Bool
	counters cacheCounters
	tel      *telemetry
	prices   Prices
	tr       *transport.Transport // the default transport, nil when the host gave its own
}

// New returns a Companion configured by opts. It returns a [*ConfigError]
// (matching [ErrInvalidConfig]) when an option is invalid.
func New(opts ...Option) (*Companion, error) {
	cfg := defaultConfig()
	for i, o := range opts {
		if isNil(o) {
			return nil, &ConfigError{Option: fmt.Sprintf("New: option %d", i), Reason: "nil option"}
		}
		o.apply(&cfg)
	}
	if len(cfg.errs) > 0 {
		return nil, cfg.errs[0]
	}
	hc, tr, err := cfg.client()
	if err != nil {
		return nil, err
	}
	oc := openai.DefaultConfig(cfg.apiKey)
	oc.BaseURL = cfg.baseURL
	oc.HTTPClient = watchDoer{hc}
	c := &Companion{
		client:   openai.NewClientWithConfig(oc),
		model:    cfg.model,
		cache:    cfg.cache,
		prompt:   cfg.prompt,
		limiter:  cfg.limiter,
		post:     cfg.post,
		log:      cfg.log(),
		maxBytes: cfg.maxQuestionBytes,
		prices:   cfg.prices,
		tr:       tr,
		retry:    newRetrier(cfg.retry),
		idle:     cfg.streamIdle,
		hedge:    cfg.hedge,
	}
	tel, err := newTelemetry(&cfg, c.log, tr)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.tel = tel
	if cfg.exact != nil || cfg.semantic != nil {
		ac := &answerCache{exact: cfg.exact, semantic: cfg.semantic, ttl: cfg.cacheTTL, timeouts: cfg.cacheTimeouts, tel: tel}
		ac.decider, _ = cfg.semantic.(semanticDecider)
		c.cache = ac
	}
	c.coalesce = c.cache != nil
	if cfg.coalesce != nil {
		c.coalesce = *cfg.coalesce
	}
	if c.limiter == nil && cfg.concurrency > 0 {
		c.limiter = NewSemaphore(cfg.concurrency)
	}
	bc := openai.DefaultConfig("")
	bc.BaseURL = "http://companion.invalid/v1"
	bc.HTTPClient = bridgeDoer{}
	c.bridge = openai.NewClientWithConfig(bc)
	return c, nil
}

// upstreamSpan starts the span of an upstream call, named as the GenAI
// conventions say: "{operation} {model}".
func (c *Companion) upstreamSpan(ctx context.Context, t *turn) (context.Context, trace.Span) {
	return c.tel.span(ctx, "chat "+t.req.Model, trace.SpanKindClient,
		attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.request.model", t.req.Model))
}

// price fills an upstream answer's cost, and what compression saved.
func (c *Companion) price(a *Answer) {
	a.Cost = c.prices.Cost(a.Model, a.Usage, false)
	if a.TokensSaved > 0 {
		a.CostSaved = c.prices.Cost(a.Model, Usage{PromptTokens: a.TokensSaved}, false)
	}
}

func usageOf(u openai.Usage) Usage {
	out := Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	if u.PromptTokensDetails != nil {
		out.CachedPromptTokens = u.PromptTokensDetails.CachedTokens
	}
	return out
}

// tierMetric records the lookup of a host's own Cache, as tier "custom";
// the cache package's tiers record theirs, each under its own tier.
func (c *Companion) tierMetric(ctx context.Context, result string) {
	if _, ok := c.cache.(*answerCache); !ok {
		c.tel.lookup(ctx, "custom", result, "")
	}
}

// Model returns the default model, "" if none was set.
func (c *Companion) Model() string { return c.model }

// turn is one question on its way through the stages.
type turn struct {
	q     Question // validated, Model resolved
	start time.Time
	t     Timings
	// req is the upstream request; for the chat-completion mirrors it is
	// the caller's, and the prompt stage does not run.
	req       openai.ChatCompletionRequest
	raw       bool
	cacheable bool
	saved     int
	attempts  int // upstream attempts of the answer's call
}

// newTurn validates q and resolves its model.
func (c *Companion) newTurn(q Question) (*turn, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	t := &turn{q: q, start: time.Now(), cacheable: !q.Personal}
	if t.q.Model == "" {
		t.q.Model = c.model
	}
	if err := t.q.validate(c.maxBytes); err != nil {
		return nil, err
	}
	if t.q.Model == "" {
		return nil, &InputError{Field: "Model", Err: ErrNoModel}
	}
	return t, nil
}

// lookup runs the cache stage; errors count as misses.
func (c *Companion) lookup(ctx context.Context, t *turn) (CacheHit, bool) {
	if c.cache == nil {
		return CacheHit{}, false
	}
	if !t.cacheable {
		c.counters.uncacheable.Add(1)
		return CacheHit{}, false
	}
	c.counters.lookups.Add(1)
	s := time.Now()
	sctx, span := c.tel.span(ctx, "companion.cache", trace.SpanKindInternal)
	hit, ok, err := c.cache.Lookup(sctx, &t.q)
	t.t.Cache = time.Since(s)
	if span != nil {
		span.SetAttributes(attribute.Bool("companion.cache.hit", ok && err == nil))
	}
	end(span, err)
	switch {
	case err != nil:
		c.counters.errors.Add(1)
		c.counters.misses.Add(1)
		c.tierMetric(ctx, "error")
		if ctx.Err() == nil {
			c.log.LogAttrs(ctx, slog.LevelWarn, "companion: cache lookup failed", slog.Any("err", err))
		}
		return CacheHit{}, false
	case !ok:
		c.counters.misses.Add(1)
		c.tierMetric(ctx, "miss")
		return CacheHit{}, false
	}
	c.tierMetric(ctx, "hit")
	switch hit.Source {
	case SourcePrewarmed:
		c.counters.prewarmed.Add(1)
		c.counters.exact.Add(1)
	case SourceExact:
		c.counters.exact.Add(1)
	case SourceSemantic:
		c.counters.semantic.Add(1)
	}
	return hit, true
}

// store runs the cache fill for a clean, complete, non-personal answer.
func (c *Companion) store(ctx context.Context, t *turn, a *Answer) {
	if c.cache == nil || !t.cacheable || a.Source != SourceUpstream || a.FinishReason != string(openai.FinishReasonStop) || !a.Verdict.clean() {
		return
	}
	if err := c.cache.Store(ctx, &t.q, a); err != nil {
		c.counters.errors.Add(1)
		if ctx.Err() == nil {
			c.log.LogAttrs(ctx, slog.LevelWarn, "companion: cache store failed", slog.Any("err", err))
		}
		return
	}
	c.counters.stores.Add(1)
}

// hitAnswer builds the answer of a cache hit; it cost nothing and saved
// what the cached answer cost to make.
func (c *Companion) hitAnswer(t *turn, hit CacheHit) *Answer {
	model := hit.Model
	if model == "" {
		model = t.q.Model
	}
	t.t.Total = time.Since(t.start)
	t.t.FirstToken = t.t.Total
	return &Answer{
		Text: hit.Text, Source: hit.Source, Similarity: hit.Similarity, Model: model,
		FinishReason: string(openai.FinishReasonStop), Timings: t.t,
		CostSaved: c.prices.Cost(model, hit.Usage, false),
	}
}

// build runs the prompt stage and fills t.req.
func (c *Companion) build(ctx context.Context, t *turn) error {
	if t.raw {
		return nil
	}
	s := time.Now()
	sctx, span := c.tel.span(ctx, "companion.prompt", trace.SpanKindInternal)
	p, err := c.prompt.BuildPrompt(sctx, &t.q)
	t.t.Prompt = time.Since(s)
	if span != nil && err == nil {
		span.SetAttributes(attribute.Int("companion.tokens_before", p.TokensBefore), attribute.Int("companion.tokens_after", p.TokensAfter))
	}
	end(span, err)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if errors.Is(err, prompt.ErrOverBudget) {
			// The system prompt and the question alone do not fit: the
			// question, as asked, is too long for the budget.
			return &InputError{Field: "Text", Err: fmt.Errorf("%w: %w", ErrTooLong, err)}
		}
		return err
	}
	t.saved = max(p.TokensBefore-p.TokensAfter, 0)
	t.req = openai.ChatCompletionRequest{
		Model:               t.q.Model,
		Messages:            p.Messages,
		MaxCompletionTokens: t.q.MaxTokens,
	}
	return nil
}

// acquire runs the limiter stage. The returned release is safe to call
// more than once, from any goroutine.
func (c *Companion) acquire(ctx context.Context, t *turn, promptTokens int) (func(), error) {
	if c.limiter == nil {
		return func() {}, nil
	}
	s := time.Now()
	sctx, span := c.tel.span(ctx, "companion.queue", trace.SpanKindInternal)
	release, err := c.limiter.Acquire(sctx, promptTokens)
	t.t.Queue += time.Since(s) // every attempt waits for its slot
	end(span, err)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(release) }, nil
}

// check runs post-processing on a whole answer.
func (c *Companion) check(ctx context.Context, t *turn, text string) (Verdict, error) {
	if c.post == nil {
		return Verdict{}, nil
	}
	s := time.Now()
	sctx, span := c.tel.span(ctx, "companion.post", trace.SpanKindInternal)
	v, err := c.post.Check(sctx, &t.q, text)
	t.t.Post += time.Since(s)
	if span != nil && err == nil {
		span.SetAttributes(attribute.String("companion.verdict", v.Action.String()))
	}
	end(span, err)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return v, ctxErr
		}
		return v, err
	}
	if v.Action == Block {
		return v, &BlockedError{Verdict: v}
	}
	return v, nil
}

// Ask answers one question. It returns the answer, or an error: an
// [*InputError] for a bad question, an [*UpstreamError] when the model's
// API fails, a [*BlockedError] when post-processing blocks the answer, or
// ctx's error when ctx is done first.
func (c *Companion) Ask(ctx context.Context, q Question) (*Answer, error) {
	t, err := c.newTurn(q)
	if err != nil {
		return nil, err
	}
	return c.observe(ctx, t, c.ask)
}

// observe runs a turn under its span and records it.
func (c *Companion) observe(ctx context.Context, t *turn, run func(context.Context, *turn) (*Answer, error)) (*Answer, error) {
	ctx, span := c.tel.span(ctx, "companion.ask", trace.SpanKindInternal,
		attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.request.model", t.q.Model))
	c.tel.begin(ctx)
	a, err := run(ctx, t)
	c.tel.finish(ctx, span, t, a, err)
	return a, err
}

func (c *Companion) ask(ctx context.Context, t *turn) (*Answer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.hedging(t) {
		return hedged(c, ctx, t,
			func(hit CacheHit) *Answer { return c.hitAnswer(t, hit) },
			c.answerMiss,
			func(a *Answer, cancel context.CancelFunc) {
				cancel() // the answer is whole: nothing runs on its context
				a.Timings.Cache = t.t.Cache
			},
			nil)
	}
	if hit, ok := c.lookup(ctx, t); ok {
		return c.hitAnswer(t, hit), nil
	}
	return c.answerMiss(ctx, t)
}

// answerMiss answers a turn the cache could not serve, sharing the call
// of an identical turn in flight when coalescing is on.
func (c *Companion) answerMiss(ctx context.Context, t *turn) (*Answer, error) {
	if !c.coalesce || !t.cacheable {
		return c.miss(ctx, t)
	}
	a, shared, err := c.flights.do(ctx, questionKey(&t.q), func(ctx context.Context) (*Answer, error) { return c.miss(ctx, t) })
	if err != nil || !shared {
		return a, err
	}
	// Another turn asked the same question at the same time and paid for
	// the answer; this one gets a copy with its own timings.
	c.counters.coalesced.Add(1)
	cp := *a
	coalesce(&cp)
	cp.Timings = Timings{Total: time.Since(t.start), Cache: t.t.Cache}
	cp.Timings.FirstToken = cp.Timings.Total
	return &cp, nil
}

// miss answers a turn the cache could not: prompt, limiter, upstream,
// post-processing, cache fill.
func (c *Companion) miss(ctx context.Context, t *turn) (*Answer, error) {
	if err := c.build(ctx, t); err != nil {
		return nil, err
	}
	resp, err := c.complete(ctx, t)
	t.t.FirstToken = time.Since(t.start)
	if err != nil {
		return nil, err
	}
	choice := resp.Choices[0]
	a := &Answer{
		Text:         choice.Message.Content,
		Source:       SourceUpstream,
		Model:        resp.Model,
		FinishReason: string(choice.FinishReason),
		Usage:        usageOf(resp.Usage),
		TokensSaved:  t.saved,
		Attempts:     t.attempts,
		resp:         &resp,
	}
	if a.Model == "" {
		a.Model = t.req.Model
	}
	c.price(a)
	v, err := c.check(ctx, t, a.Text)
	if err != nil {
		return nil, err
	}
	a.Verdict = v
	if v.Action == Rewrite {
		a.Text = v.Text
	}
	c.store(ctx, t, a)
	t.t.Total = time.Since(t.start)
	a.Timings = t.t
	return a, nil
}
