package companion

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/semantic"
)

// WithExactCache puts an exact answer cache in the cache stage: a
// [cache.Memory], a [rediscache.Store], or a [cache.Tiered] of both. Keys are the
// question's namespace (model, system prompt, subject, grade, tenant,
// locale, and a digest of the history) and its normalized text, so one
// tenant never reads another's answers and a follow-up is only served an
// answer given after the same conversation. Snippets, examples and Context
// are not part of the key: they are taken to follow from the question; mark
// a question Personal when its answer depends on the student. Default:
// no cache. It replaces [WithCache].
func WithExactCache(s cache.Store) Option {
	return optionFunc(func(c *config) {
		if isNil(s) {
			c.errs = append(c.errs, &ConfigError{Option: "WithExactCache", Reason: "nil store"})
			return
		}
		c.exact = s
	})
}

// SemanticCache is the semantic tier the cache stage asks after an exact
// miss: [*semantic.Semantic] in one process, [*rediscache.Shared] across replicas.
type SemanticCache interface {
	// Lookup returns a cached answer to a paraphrase of question in
	// namespace ns, ok false on a miss. An error (the embedder failed,
	// ctx is done) is counted and treated as a miss by the turn.
	Lookup(ctx context.Context, ns cache.Namespace, question string) (semantic.Hit, bool, error)
	// Add caches e, the answer to e.Question, in namespace ns for ttl
	// (0: the tier's own TTL). The cache stage calls it after an
	// upstream answer to a question with no history.
	Add(ctx context.Context, ns cache.Namespace, e cache.Entry, ttl time.Duration) error
}

// semanticDecider is a semantic tier that says why it served or missed
// ([*semantic.Semantic], and [*rediscache.Shared] through it): the cache
// stage then counts its lookups by reason (companion.cache.reason).
type semanticDecider interface {
	LookupDecision(ctx context.Context, ns cache.Namespace, question string) (semantic.Hit, semantic.Decision, error)
}

// WithSemanticCache adds a semantic tier to the cache stage: after an exact
// miss, a paraphrase of a cached question in the same namespace is served
// when the tier decides so ([*semantic.Semantic]: the similarity reaches
// its threshold and its rules explain every difference, or its verifier
// says yes within its error bound). When the tier has a LookupDecision
// method, as [*semantic.Semantic] does, the lookup metric carries the
// decision's reason (companion.cache.reason). A turn with history
// never uses the semantic tier, in either direction: a follow-up such as
// "and how old was he then?" depends on its conversation, which only the
// exact key captures. Default: none. It replaces [WithCache].
func WithSemanticCache(s SemanticCache) Option {
	return optionFunc(func(c *config) {
		if isNil(s) {
			c.errs = append(c.errs, &ConfigError{Option: "WithSemanticCache", Reason: "nil tier"})
			return
		}
		c.semantic = s
	})
}

// WithCacheTTL sets how long answers stored by the cache stage live.
// Default [cache.DefaultTTL] (24 h).
func WithCacheTTL(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, &ConfigError{Option: "WithCacheTTL", Reason: "must be positive"})
			return
		}
		c.cacheTTL = d
	})
}

// WithCoalescing turns request coalescing on or off: concurrent turns that
// miss the cache with the same key (namespace and normalized question)
// share one upstream call, and a waiter that gives up does not cancel the
// others; the call is cancelled when every waiter has gone. Streams share
// one upstream stream the same way: a stream that joins late first gets
// the pieces already released, then the rest as they arrive, all checked
// once by the guard. Ask and AskStream coalesce separately, and personal
// questions never. The first turn to finish reports the call's usage and
// cost; the others are marked [Answer.Coalesced]. Default: on when a
// cache stage is set, off otherwise.
func WithCoalescing(on bool) Option {
	return optionFunc(func(c *config) { c.coalesce = &on })
}

// CacheStats counts the cache stage's outcomes since the Companion was
// made.
type CacheStats struct {
	Lookups   int64 // turns that asked the cache
	ExactHits int64 // served by the exact tier (including prewarmed)
	Prewarmed int64 // of ExactHits, answers precomputed ahead of time
	Semantic  int64 // served by the semantic tier
	// Rejections counts semantic candidates similar enough but refused
	// (a difference the rules could not explain, the verifier's no), when
	// the semantic tier reports them.
	Rejections  int64
	Misses      int64 // turns the cache could not serve
	Errors      int64 // lookups or stores that failed (counted as misses)
	Stores      int64 // answers stored
	Coalesced   int64 // turns that shared another turn's upstream call
	Uncacheable int64 // personal turns, which skip the cache
	// Hedged counts the turns whose upstream call started while their
	// lookup still ran ([WithUpstreamHedge]); HedgesAbandoned, those of
	// them the lookup then served, their call abandoned.
	Hedged, HedgesAbandoned int64
}

// HitRatio returns the share of lookups served from the cache.
func (s CacheStats) HitRatio() float64 {
	if s.Lookups == 0 {
		return 0
	}
	return float64(s.ExactHits+s.Semantic) / float64(s.Lookups)
}

type cacheCounters struct {
	lookups, exact, prewarmed, semantic, misses, errors, stores, coalesced, uncacheable atomic.Int64
	hedged, hedgesAbandoned                                                             atomic.Int64
}

// CacheStats returns the cache stage's counters.
func (c *Companion) CacheStats() CacheStats {
	n := &c.counters
	var rejections int64
	if ac, ok := c.cache.(*answerCache); ok {
		if st, ok := ac.semantic.(interface{ Stats() semantic.SemanticStats }); ok {
			for _, r := range st.Stats().Rejections {
				rejections += int64(r)
			}
		}
	}
	return CacheStats{
		Rejections: rejections,
		Lookups:    n.lookups.Load(), ExactHits: n.exact.Load(), Prewarmed: n.prewarmed.Load(), Semantic: n.semantic.Load(),
		Misses: n.misses.Load(), Errors: n.errors.Load(), Stores: n.stores.Load(),
		Coalesced: n.coalesced.Load(), Uncacheable: n.uncacheable.Load(),
		Hedged: n.hedged.Load(), HedgesAbandoned: n.hedgesAbandoned.Load(),
	}
}

// answerCache is the cache stage built from the cache package's tiers:
// exact (may be nil), then semantic (may be nil).
type answerCache struct {
	exact    cache.Store
	semantic SemanticCache
	decider  semanticDecider // semantic, when it says why; else nil
	ttl      time.Duration
	timeouts CacheTimeouts
	tel      *telemetry
}

// result names a lookup's outcome for the companion.cache.lookups metric.
func result(ok bool, err error) string {
	switch {
	case ok:
		return "hit"
	case err != nil:
		return "error"
	}
	return "miss"
}

func (a *answerCache) Lookup(ctx context.Context, q *Question) (CacheHit, bool, error) {
	ns := namespace(q)
	var exactErr error
	if a.exact != nil {
		ectx, cancel := context.WithTimeout(ctx, a.timeouts.Lookup)
		e, ok, err := a.exact.Get(ectx, cache.Key(ns, q.Text))
		cancel()
		a.tel.lookup(ctx, "exact", result(ok, err), "")
		if ok {
			src := SourceExact
			if e.Prewarmed {
				src = SourcePrewarmed
			}
			return CacheHit{Text: e.Answer, Source: src, Similarity: 1, Model: e.Model, Usage: entryUsage(&e)}, true, nil
		}
		if !errors.Is(err, cache.ErrUnavailable) { // a paused Redis is a miss, not news
			exactErr = err
		}
	}
	if a.semantic == nil || len(q.History) > 0 {
		return CacheHit{}, false, exactErr
	}
	sctx, cancel := context.WithTimeout(ctx, a.timeouts.SemanticLookup)
	var (
		h      semantic.Hit
		ok     bool
		err    error
		reason semantic.Reason
	)
	if a.decider != nil {
		var dec semantic.Decision
		h, dec, err = a.decider.LookupDecision(sctx, ns, q.Text)
		ok, reason = err == nil && dec.Serve, dec.Reason
	} else {
		h, ok, err = a.semantic.Lookup(sctx, ns, q.Text)
	}
	cancel()
	a.tel.lookup(ctx, "semantic", result(ok, err), reason)
	if !ok {
		return CacheHit{}, false, errors.Join(exactErr, err)
	}
	return CacheHit{Text: h.Entry.Answer, Source: SourceSemantic, Similarity: h.Similarity, Model: h.Entry.Model, Usage: entryUsage(&h.Entry)}, true, nil
}

func entryUsage(e *cache.Entry) Usage {
	return Usage{PromptTokens: e.PromptTokens, CompletionTokens: e.CompletionTokens, TotalTokens: e.PromptTokens + e.CompletionTokens}
}

func (a *answerCache) Store(ctx context.Context, q *Question, ans *Answer) error {
	ns := namespace(q)
	e := cache.Entry{
		Answer: ans.Text, Question: q.Text, Model: ans.Model, Created: time.Now(),
		PromptTokens: ans.Usage.PromptTokens, CompletionTokens: ans.Usage.CompletionTokens,
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeouts.Store)
	defer cancel()
	var errs []error
	if a.exact != nil {
		if err := a.exact.Set(ctx, cache.Key(ns, q.Text), e, a.ttl); !errors.Is(err, cache.ErrUnavailable) {
			errs = append(errs, err)
		}
	}
	if a.semantic != nil && len(q.History) == 0 {
		errs = append(errs, a.semantic.Add(ctx, ns, e, a.ttl))
	}
	return errors.Join(errs...)
}

// namespace returns the cache namespace of a question.
func namespace(q *Question) cache.Namespace {
	ns := cache.Namespace{
		Model: q.Model, SystemPrompt: q.SystemPrompt, Subject: q.Subject,
		Grade: q.Grade, Tenant: q.Tenant, Locale: q.Locale,
	}
	if len(q.History) > 0 {
		parts := make([]string, 0, 2*len(q.History))
		for _, m := range q.History {
			parts = append(parts, m.Role, m.Content)
		}
		ns.History = cache.HistoryDigest(parts...)
	}
	return ns
}

// questionKey is the exact key of a question, also the coalescing key.
func questionKey(q *Question) string { return cache.Key(namespace(q), q.Text) }
