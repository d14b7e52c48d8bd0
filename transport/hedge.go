package transport

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// ttfbWindow keeps the last first-byte times, for the adaptive hedging
// delay.
type ttfbWindow struct {
	mu  sync.Mutex
	buf [256]time.Duration
	n   int // samples seen
}

func (w *ttfbWindow) add(d time.Duration) {
	w.mu.Lock()
	w.buf[w.n%len(w.buf)] = d
	w.n++
	w.mu.Unlock()
}

// p95 returns the 95th percentile of the window, false with fewer than 20
// samples.
func (w *ttfbWindow) p95() (time.Duration, bool) {
	w.mu.Lock()
	n := min(w.n, len(w.buf))
	if n < 20 {
		w.mu.Unlock()
		return 0, false
	}
	s := slices.Clone(w.buf[:n])
	w.mu.Unlock()
	slices.Sort(s)
	return s[(n*95+99)/100-1], true
}

func (t *Transport) hedgeDelay() time.Duration {
	if t.cfg.hedgeDelay > 0 {
		return t.cfg.hedgeDelay
	}
	if d, ok := t.ttfb.p95(); ok {
		return d
	}
	return DefaultHedgeFallbackDelay
}

// cancelBody ends an attempt's context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// hedged makes one attempt to ep and, when it has no response after the
// hedging delay, one more to another endpoint; the first good response
// wins and the other attempt is cancelled. It returns the winner (or the
// last failure), its endpoint and how many attempts were sent.
func (t *Transport) hedged(req *http.Request, ep *endpoint, g grant, cands []*endpoint, suffix string, fresh bool) (*http.Response, error, *endpoint, int) {
	ctx := req.Context()
	type result struct {
		resp *http.Response
		err  error
		ep   *endpoint
		i    int
	}
	ch := make(chan result, 2)
	var cancels []context.CancelFunc
	launch := func(ep *endpoint, g grant, fresh bool) {
		actx, cancel := context.WithCancel(ctx)
		i := len(cancels)
		cancels = append(cancels, cancel)
		go func() {
			resp, err := t.send(actx, req, ep, g, suffix, fresh)
			ch <- result{resp, err, ep, i}
		}()
	}
	launch(ep, g, fresh)
	pending := 1
	timer := time.NewTimer(t.hedgeDelay())
	defer timer.Stop()
	var last *result
	for {
		select {
		case <-timer.C:
			if pending != 1 || len(cancels) != 1 || ctx.Err() != nil {
				continue
			}
			hep, hg, err := t.pick(cands, ep)
			if err != nil {
				continue
			}
			if !t.budget.Retry(time.Now()) {
				hep.br.done(hg, outcomeNeutral, time.Now())
				t.c.retriesDenied.Add(1)
				continue
			}
			t.c.hedges.Add(1)
			launch(hep, hg, false)
			pending++
		case r := <-ch:
			pending--
			again, _ := t.cfg.policy(ctx, r.resp, r.err)
			if again && pending > 0 {
				// Wait for the other attempt; keep this one as the fallback.
				if last != nil {
					t.release(last.resp, cancels[last.i])
				}
				last = &r
				continue
			}
			if last != nil && (!again || last.resp == nil) {
				t.release(last.resp, cancels[last.i])
				last = nil
			}
			win := r
			if last != nil {
				// Both failed: keep the one with a response.
				t.release(r.resp, cancels[r.i])
				win = *last
			}
			for i, c := range cancels {
				if i != win.i {
					c()
				}
			}
			if pending > 0 {
				go func(n int) { // reap the cancelled loser
					for range n {
						l := <-ch
						t.release(l.resp, cancels[l.i])
					}
				}(pending)
			}
			if win.i > 0 && !again {
				t.c.hedgeWins.Add(1)
			}
			if win.resp != nil {
				win.resp.Body = &cancelBody{ReadCloser: win.resp.Body, cancel: cancels[win.i]}
			} else {
				cancels[win.i]()
			}
			return win.resp, win.err, win.ep, len(cancels)
		}
	}
}

// release discards a losing attempt's response and ends its context.
func (t *Transport) release(resp *http.Response, cancel context.CancelFunc) {
	if resp != nil {
		drain(resp)
	}
	cancel()
}
