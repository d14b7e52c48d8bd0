package companion

import (
	"context"
	"sync"
)

// group is the bookkeeping of calls shared by concurrent callers of the
// same key, for Ask ([flights]) and for AskStream ([streamFlights]): the
// first caller starts the call, later ones join it, and each leaves when
// its context ends. It differs from golang.org/x/sync/singleflight in one
// way that matters here: the shared call runs on a context of its own,
// cancelled only when every caller has left, so one student closing the
// tab does not fail the others' turn, and nobody left waiting means no
// work left running.
type group[C any] struct {
	mu    sync.Mutex
	calls map[string]*member[C]
}

// member is one shared call in a group.
type member[C any] struct {
	call    C
	ctx     context.Context    // the call's own
	cancel  context.CancelFunc // cancels ctx: the last caller has left
	callers int                // under the group's mu
}

// join returns key's call, joining it, or makes one with start (leader
// true) when there is none; start runs under the group's lock and is
// given the call's member, whose context keeps ctx's values but not its
// end.
func (g *group[C]) join(ctx context.Context, key string, start func(*member[C]) C) (m *member[C], leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m := g.calls[key]; m != nil {
		m.callers++
		return m, false
	}
	if g.calls == nil {
		g.calls = map[string]*member[C]{}
	}
	m = &member[C]{callers: 1}
	m.ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	m.call = start(m)
	g.calls[key] = m
	return m, true
}

// leave drops a caller of key's call m; the last one out cancels it.
func (g *group[C]) leave(key string, m *member[C]) {
	g.mu.Lock()
	m.callers--
	last := m.callers == 0
	if last && g.calls[key] == m {
		delete(g.calls, key)
	}
	g.mu.Unlock()
	if last {
		m.cancel()
	}
}

// forget takes m, whose call has ended, out of the group, so that a caller
// arriving afterwards looks the cache up again (the answer is stored by
// then) rather than join a finished call.
func (g *group[C]) forget(key string, m *member[C]) {
	g.mu.Lock()
	if g.calls[key] == m {
		delete(g.calls, key)
	}
	g.mu.Unlock()
}

// pending returns the number of calls in flight.
func (g *group[C]) pending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// flights coalesces concurrent identical cache misses of Ask into one
// upstream call.
type flights struct{ group[*flight] }

// flight is an Ask call's outcome, ready when done is closed.
type flight struct {
	done chan struct{}
	a    *Answer
	err  error
}

// do runs fn once for all concurrent callers with the same key and returns
// its result to each; shared reports whether the caller joined another's
// call. A caller whose ctx ends stops waiting at once with ctx's error.
func (g *flights) do(ctx context.Context, key string, fn func(context.Context) (*Answer, error)) (a *Answer, shared bool, err error) {
	m, leader := g.join(ctx, key, func(*member[*flight]) *flight { return &flight{done: make(chan struct{})} })
	f := m.call
	if leader {
		go func() {
			defer m.cancel()
			f.a, f.err = fn(m.ctx)
			g.forget(key, m)
			close(f.done)
		}()
	}
	select {
	case <-f.done:
		return f.a, !leader, f.err
	case <-ctx.Done():
		g.leave(key, m)
		return nil, !leader, ctx.Err()
	}
}
