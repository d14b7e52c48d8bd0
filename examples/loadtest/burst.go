package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/transport"
)

// burstResult is the burst scenario's outcome.
type burstResult struct {
	turns, limit, errors int
	wall                 time.Duration
	solo                 time.Duration // mean service time of one call alone
	inBurst              time.Duration // mean service time during the burst (Timings.Upstream)
}

// burst sends n turns at once through a Companion whose concurrency limit
// is limit, every turn a cache miss (no cache), and measures how long the
// whole burst takes. Little's law (L = λW) gives the ideal: with limit
// calls in flight all the time and W the service time of one call, the
// burst takes n·W/limit.
func burst(ctx context.Context, w *workload, lat companiontest.Latency, nearRTT time.Duration, model string, n, limit int) (burstResult, error) {
	u, err := startUpstream(lat, nearRTT, nearRTT)
	if err != nil {
		return burstResult{}, err
	}
	defer u.close()
	c, err := companion.New(
		companion.WithBaseURL(u.near), companion.WithAPIKey("offline"), companion.WithModel(model),
		companion.WithConcurrency(limit),
		companion.WithTransportOptions(transport.WithTLSConfig(u.tls)),
	)
	if err != nil {
		return burstResult{}, err
	}
	defer c.Close()
	if err := c.Transport().Warm(ctx, 1); err != nil {
		return burstResult{}, err
	}
	question := func(i int) companion.Question {
		q := w.turns[i%len(w.turns)].q
		return companion.Question{Text: q.Text, SystemPrompt: q.SystemPrompt, Subject: q.Subject, Grade: q.Grade, Tenant: q.Tenant, Locale: q.Locale}
	}
	// W alone: a few calls one after the other.
	r := burstResult{turns: n, limit: limit}
	const solo = 10
	for i := range solo {
		a, err := c.Ask(ctx, question(i))
		if err != nil {
			return r, err
		}
		r.solo += a.Timings.Upstream
	}
	r.solo /= solo

	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		upTotal time.Duration
		ok      int
	)
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			a, err := c.Ask(ctx, question(i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.errors++
				return
			}
			upTotal += a.Timings.Upstream
			ok++
		})
	}
	wg.Wait()
	r.wall = time.Since(start)
	if ok > 0 {
		r.inBurst = upTotal / time.Duration(ok)
	}
	return r, nil
}

func (r burstResult) report(out io.Writer) {
	ideal := time.Duration(float64(r.turns) * float64(r.solo) / float64(r.limit))
	idealBurst := time.Duration(float64(r.turns) * float64(r.inBurst) / float64(r.limit))
	fmt.Fprintf(out, "| burst: %d turns at once, limit %d | measured | Little's law ideal (n·W/L) | measured / ideal |\n", r.turns, r.limit)
	fmt.Fprintln(out, "|---|---:|---:|---:|")
	fmt.Fprintf(out, "| wall time, W = one call alone (%.0f ms) | %.2f s | %.2f s | %.3f |\n", ms(r.solo), r.wall.Seconds(), ideal.Seconds(), r.wall.Seconds()/ideal.Seconds())
	fmt.Fprintf(out, "| wall time, W = mean call in the burst (%.0f ms) | %.2f s | %.2f s | %.3f |\n", ms(r.inBurst), r.wall.Seconds(), idealBurst.Seconds(), r.wall.Seconds()/idealBurst.Seconds())
	fmt.Fprintf(out, "| throughput | %.0f turns/s | %.0f turns/s | |\n", float64(r.turns)/r.wall.Seconds(), float64(r.limit)/r.solo.Seconds())
	fmt.Fprintf(out, "| errors | %d | | |\n", r.errors)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
