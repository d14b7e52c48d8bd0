package companion

import (
	"context"
	"time"
)

// A cache lookup is fast while it stays in memory, but a semantic tier
// may wait on a remote embedder or ask its verifier, a small model's
// round trip. With [WithUpstreamHedge], a turn whose lookup is still
// running after the hedge delay starts its upstream call at the same time:
// a miss then finds its call under way instead of starting it only now,
// and a hit that arrives later is still served, the upstream call
// abandoned.

// WithUpstreamHedge starts a turn's upstream call while its cache lookup
// is still running after d, so that a slow lookup (a remote embedder, the
// semantic tier's verifier) is not paid before the call on every miss.
// The lookup still decides: a hit, even one that arrives after the call
// started, is served and the call abandoned (its context cancelled, its
// limiter slot and place in a coalesced flight given back; the upstream
// may bill the prompt it already read). [CacheStats] counts the turns
// hedged and the calls abandoned. Turns that skip the cache are never
// hedged. Default: off; 0 turns it off.
func WithUpstreamHedge(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			c.errs = append(c.errs, &ConfigError{Option: "WithUpstreamHedge", Reason: "must not be negative"})
			return
		}
		c.hedge = d
	})
}

// hedging reports whether t's lookup may be hedged.
func (c *Companion) hedging(t *turn) bool {
	return c.hedge > 0 && c.cache != nil && t.cacheable
}

// missed is the outcome of a hedged miss path.
type missed[R any] struct {
	r   R
	err error
}

// hedgeRun is a miss path the hedge timer started: its context's cancel
// and where its outcome arrives.
type hedgeRun[R any] struct {
	cancel context.CancelFunc
	out    chan missed[R]
}

// hedged answers t as the cache stage and, when the lookup is still
// running after the hedge delay, the miss path at once: serve turns a hit
// into the result; miss opens the miss path for a turn (a copy of t, so
// that the two do not share it), under a context that keep receives with
// the result to cancel when the result is done with, and drop, unless
// nil, lets go of a miss's result the hit made useless. The lookup runs on the caller's
// goroutine and the miss path only when the timer fires, so a lookup
// that is fast costs a timer, not a goroutine.
func hedged[R any](c *Companion, ctx context.Context, t *turn,
	serve func(CacheHit) R,
	miss func(context.Context, *turn) (R, error),
	keep func(R, context.CancelFunc),
	drop func(R),
) (R, error) {
	mt := *t // the miss path's turn, copied before the lookup writes t
	started := make(chan hedgeRun[R], 1)
	timer := time.AfterFunc(c.hedge, func() {
		mctx, cancel := context.WithCancel(ctx)
		h := hedgeRun[R]{cancel: cancel, out: make(chan missed[R], 1)}
		started <- h
		r, err := miss(mctx, &mt)
		h.out <- missed[R]{r, err}
	})
	hit, ok := c.lookup(ctx, t) // bounded by the cache timeouts and ctx
	if timer.Stop() {           // the miss path never started
		if ok {
			return serve(hit), nil
		}
		return miss(ctx, t)
	}
	h := <-started
	c.counters.hedged.Add(1)
	c.tel.hedge(ctx, ok)
	if ok {
		h.cancel()
		c.counters.hedgesAbandoned.Add(1)
		if drop != nil { // the miss path's outcome lands in a buffer otherwise
			go func() {
				if m := <-h.out; m.err == nil {
					drop(m.r)
				}
			}()
		}
		return serve(hit), nil
	}
	m := <-h.out
	if m.err != nil {
		h.cancel()
		return m.r, m.err
	}
	mt.t.Cache = t.t.Cache
	keep(m.r, h.cancel)
	return m.r, nil
}
