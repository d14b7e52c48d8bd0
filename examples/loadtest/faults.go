package main

// The faults scenario: does a bad minute upstream reach the students? The
// same traffic runs twice through a Companion with its defaults (retries,
// breaker, coalescing, a memory cache): once against a clean upstream and
// once with a share of the chat requests faulted, in equal parts of eight
// kinds. It prints how many turns succeeded, the failures by kind, the
// retries, the extra load the retries put on the upstream, and time to
// first token with and without faults. The upstream is companiontest on
// loopback; the faults are its injected ones (simulated, as documented
// there), each request drawn at random with the server's seed.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
)

// faultMix is the scenario's faults: eight kinds in equal shares of rate,
// as the resilience issue measured them. pickFault takes the first fault
// whose draw passes, so each kind's draw is conditioned on the earlier
// ones having missed: kind i gets rate/8 of all requests.
func faultMix(rate float64) []companiontest.Fault {
	kinds := []companiontest.Fault{
		{Kind: companiontest.FaultRateLimit, RetryAfter: time.Second},
		{Kind: companiontest.FaultServerError},
		{Kind: companiontest.FaultBadGateway},
		{Kind: companiontest.FaultUnavailable},
		{Kind: companiontest.FaultDropStream},                 // at the first chunk
		{Kind: companiontest.FaultDropStream, AfterChunks: 2}, // at the third
		{Kind: companiontest.FaultMalformedJSON},
		{Kind: companiontest.FaultBrokenSSE},
	}
	share := rate / float64(len(kinds))
	for i := range kinds {
		kinds[i].Path = "/v1/chat/completions"
		kinds[i].Rate = share / (1 - float64(i)*share)
	}
	return kinds
}

// faultTraffic is the scenario's questions: n turns, of which about
// distinct are different questions (the rest repeat an earlier one), half
// asked with Ask and half with AskStream.
func faultTraffic(w *workload, n, distinct int, seed uint64) []companion.Question {
	var pool []string
	seen := map[string]bool{}
	for _, t := range w.turns {
		// One spelling per exact-cache key: the check below wants the
		// answer to the very text asked, and the exact tier serves one
		// spelling's answer to every spelling of its key.
		if k := cache.Normalize(t.q.Text); !seen[k] {
			seen[k] = true
			pool = append(pool, t.q.Text)
		}
	}
	for i := 0; len(pool) < distinct; i++ { // arithmetic the fake tutor solves, to fill the pool
		pool = append(pool, fmt.Sprintf("What is %d × %d?", 12+i%97, 3+i/97))
	}
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	qs := make([]companion.Question, n)
	next := 0
	for i := range qs {
		if next < distinct && (i == 0 || r.Float64() >= 1-float64(distinct)/float64(n)) {
			qs[i] = companion.Question{Text: pool[next]}
			next++
			continue
		}
		qs[i] = qs[r.IntN(i)]
	}
	return qs
}

// faultRun is one pass of the traffic.
type faultRun struct {
	ok, wrong, truncated int
	failures             map[string]int
	ttft                 []time.Duration
	retries              int
	requests             int
	wall                 time.Duration
}

// runFaults sends qs through a fresh Companion against a fresh upstream
// with faults, concurrency turns at once.
func runFaults(ctx context.Context, qs []companion.Question, latency companiontest.Latency, faults []companiontest.Fault, seed uint64, concurrency int, model string) (*faultRun, error) {
	srv := companiontest.NewServer(companiontest.WithLatency(latency), companiontest.WithFaults(faults...), companiontest.WithSeed(seed))
	defer srv.Close()
	mem, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	c, err := companion.New(companion.WithBaseURL(srv.URL), companion.WithModel(model), companion.WithExactCache(mem),
		companion.WithConcurrency(concurrency))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r := &faultRun{failures: map[string]int{}}
	var mu sync.Mutex
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for i := range jobs {
				q := qs[i]
				text, ttft, attempts, err := askOne(ctx, c, q, i%2 == 1)
				mu.Lock()
				r.retries += max(attempts-1, 0)
				switch {
				case err != nil:
					r.failures[failureKind(err)]++
				case text != companiontest.Answer(q.Text):
					if strings.HasPrefix(companiontest.Answer(q.Text), text) {
						r.truncated++
					} else {
						r.wrong++
					}
				default:
					r.ok++
					r.ttft = append(r.ttft, ttft)
				}
				mu.Unlock()
			}
		})
	}
	for i := range qs {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	r.wall = time.Since(start)
	r.requests = srv.RequestCount("/v1/chat/completions")
	return r, ctx.Err()
}

// askOne asks q whole or streamed and returns the text, the time to first
// token and the upstream attempts the turn made.
func askOne(ctx context.Context, c *companion.Companion, q companion.Question, stream bool) (string, time.Duration, int, error) {
	start := time.Now()
	if !stream {
		a, err := c.Ask(ctx, q)
		if err != nil {
			return "", 0, attemptsOf(err), err
		}
		return a.Text, time.Since(start), a.Attempts, nil
	}
	s, err := c.AskStream(ctx, q)
	if err != nil {
		return "", 0, attemptsOf(err), err
	}
	defer s.Close()
	var b strings.Builder
	var ttft time.Duration
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), ttft, s.Answer().Attempts, nil
		}
		if err != nil {
			return b.String(), ttft, attemptsOf(err), err
		}
		if b.Len() == 0 {
			ttft = time.Since(start)
		}
		b.WriteString(ch.Text)
	}
}

// attemptsOf returns the attempts a failed turn made.
func attemptsOf(err error) int {
	var ue *companion.UpstreamError
	if errors.As(err, &ue) {
		return ue.Attempts
	}
	return 0
}

// failureKind names a failure for the table.
func failureKind(err error) string {
	var ue *companion.UpstreamError
	switch {
	case errors.Is(err, companion.ErrRateLimited):
		return "rate limited"
	case errors.As(err, &ue) && ue.StatusCode != 0:
		return fmt.Sprintf("status %d", ue.StatusCode)
	case errors.Is(err, companion.ErrStreamInterrupted):
		return "interrupted"
	case errors.Is(err, companion.ErrMalformedResponse):
		return "malformed"
	case errors.Is(err, companion.ErrUnreachable):
		return "unreachable: " + err.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "context"
	}
	return "other: " + err.Error()
}

// faultsScenario runs the traffic without and with faults and prints the
// comparison.
func faultsScenario(ctx context.Context, cfg *config, w *workload, stdout io.Writer) error {
	qs := faultTraffic(w, cfg.faultTurns, cfg.faultTurns*4/5, cfg.seed)
	lat := companiontest.Latency{FirstToken: 100 * time.Millisecond, PerOutputToken: time.Millisecond}
	if cfg.quick {
		lat = companiontest.Latency{FirstToken: 10 * time.Millisecond, PerOutputToken: 100 * time.Microsecond}
	}
	clean, err := runFaults(ctx, qs, lat, nil, cfg.seed, cfg.faultConc, cfg.model)
	if err != nil {
		return err
	}
	faulty, err := runFaults(ctx, qs, lat, faultMix(cfg.faultRate), cfg.seed, cfg.faultConc, cfg.model)
	if err != nil {
		return err
	}
	faultReport(stdout, cfg, len(qs), clean, faulty)
	return nil
}

// faultReport prints the scenario's table.
func faultReport(out io.Writer, cfg *config, n int, clean, faulty *faultRun) {
	fmt.Fprintf(out, "faults: %d turns (half Ask, half AskStream, %d at once, %d distinct questions), %.0f %% of chat requests faulted in 8 equal kinds, seed %d\n\n",
		n, cfg.faultConc, n*4/5, 100*cfg.faultRate, cfg.seed)
	cd, fd := newDist(clean.ttft), newDist(faulty.ttft)
	fmt.Fprintf(out, "| | no faults | %.0f %% faults |\n|---|---:|---:|\n", 100*cfg.faultRate)
	fmt.Fprintf(out, "| turns succeeded | %d (%.2f %%) | %d (%.2f %%) |\n", clean.ok, pct(clean.ok, n), faulty.ok, pct(faulty.ok, n))
	fmt.Fprintf(out, "| wrong answers | %d | %d |\n", clean.wrong, faulty.wrong)
	fmt.Fprintf(out, "| silently truncated answers | %d | %d |\n", clean.truncated, faulty.truncated)
	fmt.Fprintf(out, "| turn-level retries | %d | %d |\n", clean.retries, faulty.retries)
	fmt.Fprintf(out, "| upstream chat requests | %d | %d (%+.0f %%) |\n", clean.requests, faulty.requests, 100*(float64(faulty.requests)/float64(max(clean.requests, 1))-1))
	fmt.Fprintf(out, "| time to first token p50 | %s | %s |\n", sec(cd.p50), sec(fd.p50))
	fmt.Fprintf(out, "| time to first token p99 | %s | %s |\n", sec(cd.p99), sec(fd.p99))
	fmt.Fprintf(out, "| wall time | %s | %s |\n", sec(clean.wall), sec(faulty.wall))
	kinds := make([]string, 0, len(faulty.failures))
	for k := range faulty.failures {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(out, "| failed: %s | %d | %d |\n", k, clean.failures[k], faulty.failures[k])
	}
	fmt.Fprintln(out)
}

func pct(a, n int) float64 { return 100 * float64(a) / float64(max(n, 1)) }
