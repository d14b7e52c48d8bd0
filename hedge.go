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

// looked is the outcome of a cache lookup run on its own goroutine.
type looked struct {
	hit CacheHit
	ok  bool
}

// hedging reports whether t's lookup may be hedged.
func (c *Companion) hedging(t *turn) bool {
	return c.hedge > 0 && c.cache != nil && t.cacheable
}

// hedged answers t as the cache stage and, when the lookup is still
// running after the hedge delay, the miss path at once: serve turns a hit
// into the result; miss opens the miss path for a turn (a copy of t, so
// that the two goroutines do not share it), under a context that keep
// receives with the result to cancel when the result is done with, and
// drop lets go of a miss's result the hit made useless.
func hedged[R any](c *Companion, ctx context.Context, t *turn,
	serve func(CacheHit) R,
	miss func(context.Context, *turn) (R, error),
	keep func(R, context.CancelFunc),
	drop func(R),
) (R, error) {
	mt := *t // the miss path's turn, copied before the lookup writes t
	done := make(chan looked, 1)
	go func() {
		hit, ok := c.lookup(ctx, t)
		done <- looked{hit, ok}
	}()
	timer := time.NewTimer(c.hedge)
	select {
	case l := <-done:
		timer.Stop()
		if l.ok {
			return serve(l.hit), nil
		}
		return miss(ctx, t)
	case <-timer.C:
	}
	c.counters.hedged.Add(1)
	mctx, cancel := context.WithCancel(ctx)
	type missed struct {
		r   R
		err error
	}
	out := make(chan missed, 1)
	go func() {
		r, err := miss(mctx, &mt)
		out <- missed{r, err}
	}()
	l := <-done // the lookup is bounded by the cache timeouts and ctx
	c.tel.hedge(ctx, l.ok)
	if l.ok {
		cancel()
		c.counters.hedgesAbandoned.Add(1)
		go func() {
			if m := <-out; m.err == nil {
				drop(m.r)
			}
		}()
		return serve(l.hit), nil
	}
	m := <-out
	if m.err != nil {
		cancel()
		return m.r, m.err
	}
	mt.t.Cache = t.t.Cache
	keep(m.r, cancel)
	return m.r, nil
}
