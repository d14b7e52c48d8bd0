package companion

import (
	"context"
	"sync"
)

// flights coalesces concurrent identical cache misses into one upstream
// call. It differs from golang.org/x/sync/singleflight in one way that
// matters here: the shared call runs on a context of its own that is
// cancelled only when every waiter has gone, so one student closing the
// tab does not fail the others' turn, and nobody left waiting means no
// work left running.
type flights struct {
	mu    sync.Mutex
	calls map[string]*flight
}

type flight struct {
	done    chan struct{}
	a       *Answer
	err     error
	waiters int
	cancel  context.CancelFunc
}

// do runs fn once for all concurrent callers with the same key and returns
// its result to each; shared reports whether the caller joined another's
// call. A caller whose ctx ends stops waiting at once with ctx's error.
func (g *flights) do(ctx context.Context, key string, fn func(context.Context) (*Answer, error)) (a *Answer, shared bool, err error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*flight{}
	}
	f, shared := g.calls[key]
	if !shared {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		g.calls[key] = f
		go func() {
			defer cancel()
			f.a, f.err = fn(fctx)
			g.mu.Lock()
			if g.calls[key] == f {
				delete(g.calls, key)
			}
			g.mu.Unlock()
			close(f.done)
		}()
	}
	f.waiters++
	g.mu.Unlock()

	select {
	case <-f.done:
		return f.a, shared, f.err
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel() // nobody wants the answer any more
			if g.calls[key] == f {
				delete(g.calls, key)
			}
		}
		g.mu.Unlock()
		return nil, shared, ctx.Err()
	}
}

// pending returns the number of calls in flight.
func (g *flights) pending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}
