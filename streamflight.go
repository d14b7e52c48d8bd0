package companion

import (
	"context"
	"errors"
	"io"
	"sync"
)

// streamFlights coalesces concurrent streamed cache misses of the same
// question into one upstream stream, as [flights] does for Ask: a class
// handed the same exercise asks it thirty times in the same second, and
// the twenty-nine who come after the first get its answer as it arrives
// instead of paying for, and waiting on, a call of their own.
//
// A pump goroutine reads the shared stream through the guard, on a
// context of its own, and appends every piece the guard released to the
// flight's log; each Stream of the flight, the first one's included,
// reads the log at its own pace, so a stream that joins late first gets
// what the others already have. Nothing the guard held back or blocked is
// in the log. The pump's context is cancelled when the last stream has
// gone, so no work is left running for nobody.
type streamFlights struct{ group[*streamFlight] }

type streamFlight struct {
	g   *streamFlights
	key string
	m   *member[*streamFlight] // its place in the group: context, callers

	// opened is closed when the upstream stream is open, or failed to
	// open with openErr.
	opened  chan struct{}
	openErr error

	mu      sync.Mutex
	pieces  []string      // released by the guard so far
	changed chan struct{} // closed when pieces or done change
	done    bool
	ans     *Answer // the whole answer, when done without error
	err     error
	billed  bool // a reader has taken the answer's usage and cost
}

// join adds a reader to the flight of key, starting the flight (leader
// true) when there is none.
func (g *streamFlights) join(ctx context.Context, key string) (f *streamFlight, leader bool) {
	m, leader := g.group.join(ctx, key, func(m *member[*streamFlight]) *streamFlight {
		return &streamFlight{g: g, key: key, m: m, opened: make(chan struct{}), changed: make(chan struct{})}
	})
	return m.call, leader
}

// leave drops a reader; the last one out cancels the shared call.
func (f *streamFlight) leave() { f.g.leave(f.key, f.m) }

func (f *streamFlight) add(piece string) {
	f.mu.Lock()
	f.pieces = append(f.pieces, piece)
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// end records the flight's outcome. The flight leaves the map first, so
// that a turn arriving afterwards looks the cache up again (the answer is
// stored by then) rather than join a finished call.
func (f *streamFlight) end(a *Answer, err error) {
	f.g.forget(f.key, f.m)
	f.mu.Lock()
	f.done, f.ans, f.err = true, a, err
	close(f.changed)
	f.mu.Unlock()
}

// joinStream answers a cacheable miss as a reader of the question's
// flight, starting it when there is none. Like a stream of its own, it
// returns the errors of opening the call (the prompt stage, the limiter,
// the upstream's refusal) here, and ctx's error when ctx ends first.
func (c *Companion) joinStream(ctx context.Context, t *turn) (*Stream, error) {
	f, leader := c.sflights.join(ctx, questionKey(&t.q))
	r := &flightReader{c: c, f: f, ctx: ctx, closed: make(chan struct{})}
	r.stop = context.AfterFunc(ctx, r.leave)
	if leader {
		it := *t // the pump's own copy: the reader's turn keeps its timings
		go c.pump(f, &it)
	}
	select {
	case <-f.opened:
	case <-ctx.Done():
		r.close()
		return nil, ctx.Err()
	}
	if f.openErr != nil {
		r.close()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, f.openErr
	}
	return &Stream{c: c, ctx: ctx, t: t, src: r, release: func() {}}, nil
}

// pump runs the flight's upstream stream to its end: an inner Stream,
// with the guard, the limiter, the upstream's telemetry and the cache
// fill, whose released pieces go to the log. The turn is recorded by
// each reader, not here.
func (c *Companion) pump(f *streamFlight, t *turn) {
	defer f.m.cancel()
	in := &Stream{c: c, ctx: f.m.ctx, t: t, release: func() {}}
	in.ended.Store(true)
	err := c.openUpstream(f.m.ctx, t, in)
	f.openErr = err
	close(f.opened)
	if err != nil {
		f.end(nil, err)
		return
	}
	defer in.Close()
	for {
		ch, err := in.Recv()
		switch {
		case errors.Is(err, io.EOF):
			a := in.Answer()
			f.end(a, nil)
			return
		case err != nil:
			f.end(nil, err)
			return
		}
		f.add(ch.Text)
	}
}

// flightReader is one Stream's place in a flight's log.
type flightReader struct {
	c      *Companion
	f      *streamFlight
	ctx    context.Context
	i      int
	stop   func() bool // stops the leave on ctx's end
	left   sync.Once
	closed chan struct{}
	shut   sync.Once
}

func (r *flightReader) leave() { r.left.Do(r.f.leave) }

func (r *flightReader) next() (string, error) {
	f := r.f
	for {
		f.mu.Lock()
		if r.i < len(f.pieces) {
			p := f.pieces[r.i]
			r.i++
			f.mu.Unlock()
			return p, nil
		}
		if f.done {
			err := f.err
			f.mu.Unlock()
			r.stop()
			r.leave()
			if err == nil {
				err = io.EOF
			}
			return "", err
		}
		changed := f.changed
		f.mu.Unlock()
		select {
		case <-changed:
		case <-r.ctx.Done():
			return "", r.ctx.Err()
		case <-r.closed:
			return "", ErrStreamClosed
		}
	}
}

// close leaves the flight and wakes a next that is waiting. Safe to call
// more than once, from any goroutine.
func (r *flightReader) close() {
	r.shut.Do(func() { close(r.closed) })
	r.stop()
	r.leave()
}

// answer returns this reader's copy of the flight's answer, with the
// turn's timings. The first reader to finish is billed for the call (its
// usage and cost); the others get a copy marked Coalesced that cost
// nothing and saved what the call cost.
func (r *flightReader) answer(t *turn) *Answer {
	f := r.f
	f.mu.Lock()
	a := *f.ans
	billed := !f.billed
	f.billed = true
	f.mu.Unlock()
	if billed {
		t.t.Prompt, t.t.Queue, t.t.Upstream, t.t.Post = a.Timings.Prompt, a.Timings.Queue, a.Timings.Upstream, a.Timings.Post
		return &a
	}
	r.c.counters.coalesced.Add(1)
	coalesce(&a)
	return &a
}

// coalesce turns the answer of a shared call into that of a turn which
// joined it: billed nothing, it saved what the call cost.
func coalesce(a *Answer) {
	a.Usage = Usage{}
	a.TokensSaved = 0
	a.CostSaved = a.Cost
	a.Cost = 0
	a.Coalesced = true
}
