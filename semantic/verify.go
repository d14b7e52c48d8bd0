package semantic

import (
	"context"
	"sync"

	"golang.org/x/sync/singleflight"
)

// Verifier judges a pair the rules could not explain: is the question
// asked the same as the cached one, so that the cached answer answers it?
// It must be safe for concurrent use and return promptly when ctx is done.
// An error is a miss (the tier fails closed). [NewOpenAIVerifier] asks a
// small chat model; package companiontest has a simulated judge for tests.
type Verifier interface {
	// Verify reports whether the cached answer to question cached also
	// answers question asked; an error is a miss.
	Verify(ctx context.Context, cached, asked string) (same bool, err error)
}

// ErrorRater is implemented by a [Verifier] that knows how often it is
// wrong, as a fraction in [0, 0.5): the error bound ([WithMaxError])
// discounts its yes by that rate. A verifier without it is taken at its
// word.
type ErrorRater interface {
	// ErrorRate returns the verifier's error rate, a fraction in
	// [0, 0.5).
	ErrorRate() float64
}

// DefaultVerifyCache is how many verifier decisions a tier keeps, per pair
// of questions, so that the same pair is judged once.
const DefaultVerifyCache = 10_000

// verdicts caches a verifier's decisions per pair and coalesces
// concurrent questions about the same pair into one call.
type verdicts struct {
	v      Verifier
	flight singleflight.Group
	mu     sync.Mutex
	m      map[[2]string]bool
	order  [][2]string // insertion order, for eviction
	max    int
}

func newVerdicts(v Verifier, max int) *verdicts {
	return &verdicts{v: v, m: map[[2]string]bool{}, max: max}
}

// verify returns the decision for a pair, asking the verifier only when
// no decision is cached and none is in flight; cached reports a decision
// from the cache. Errors are not cached.
func (d *verdicts) verify(ctx context.Context, cached, asked string) (same, fromCache bool, err error) {
	key := [2]string{cached, asked}
	d.mu.Lock()
	if s, ok := d.m[key]; ok {
		d.mu.Unlock()
		return s, true, nil
	}
	d.mu.Unlock()
	ch := d.flight.DoChan(cached+"\x00"+asked, func() (any, error) {
		s, err := d.v.Verify(context.WithoutCancel(ctx), cached, asked)
		if err != nil {
			return false, err
		}
		d.mu.Lock()
		if _, ok := d.m[key]; !ok {
			d.m[key] = s
			d.order = append(d.order, key)
			for len(d.order) > d.max {
				delete(d.m, d.order[0])
				d.order = d.order[1:]
			}
		}
		d.mu.Unlock()
		return s, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return false, false, r.Err
		}
		return r.Val.(bool), false, nil
	case <-ctx.Done():
		return false, false, ctx.Err()
	}
}
