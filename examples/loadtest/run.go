package main

import (
	"context"
	"sync"
	"time"

	"github.com/companion-go/companion/companiontest"
)

// result is one turn as a client served it.
type result struct {
	text   string
	source string // "upstream", "exact", "semantic", "prewarmed"
	// ttft is the time from the start of the turn to the first text shown
	// to the student; total to the whole answer.
	ttft, total                    time.Duration
	promptTokens, completionTokens int
	saved                          int // prompt tokens removed by the prompt stage
	cost                           float64
	err                            error
	wrong                          bool // the answer to another question
	coalesced                      bool // shared a concurrent turn's model call
}

// runStats is a client's run over the whole traffic.
type runStats struct {
	name    string
	results []result
	wall    time.Duration
	extra   float64 // cost outside the turns (prewarming)
	note    string
}

// replay runs the turns through ask with concurrency workers, each taking
// the next turn when it is done with one (a closed loop), and checks
// every answer against what the fake says to a question of the same
// topic, after the client's own masking (show).
func replay(ctx context.Context, w *workload, concurrency int, ask func(context.Context, *turn) (result, error), show func(string) string) runStats {
	res := make([]result, len(w.turns))
	for i := range res {
		res[i].err = errNotRun
	}
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range min(concurrency, len(w.turns)) {
		wg.Go(func() {
			for i := range next {
				r, err := ask(ctx, &w.turns[i])
				r.err = err
				res[i] = r
			}
		})
	}
feed:
	for i := range w.turns {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	st := runStats{results: res, wall: time.Since(start)}
	// The answer check, after the run so that it costs the run nothing.
	want := map[string]string{}
	for i := range res {
		r := &res[i]
		if r.err != nil {
			continue
		}
		r.wrong = true
		for _, v := range w.turns[i].topic.texts() {
			e, ok := want[v]
			if !ok {
				e = show(companiontest.Answer(v))
				want[v] = e
			}
			if r.text == e {
				r.wrong = false
				break
			}
		}
	}
	return st
}
