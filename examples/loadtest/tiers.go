package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/semantic"
	"github.com/companion-go/companion/transport"
)

// tunedRun is one replay of the traffic through the tuned client.
type tunedRun struct {
	stats     runStats
	prewarm   *companion.PrewarmReport
	hot       int // questions prewarmed
	cache     companion.CacheStats
	sem       semantic.SemanticStats
	transport transport.Stats
	verifier  string // what decided the rules' open cases
	judged    int64  // pairs the judge was asked about
}

// runTuned replays w through a fresh tuned client: after prewarming
// yesterday's hot questions when prewarm is set, with the semantic
// tier's rules alone (verifier "none") or with a simulated judge that
// knows the workload's topics and errs on a share judgeErr of pairs;
// hedge > 0 starts a turn's upstream call when its lookup still runs
// after hedge (companion.WithUpstreamHedge).
func runTuned(ctx context.Context, cfg *config, u *upstream, w *workload, prewarm bool, verifier string, judgeErr float64, hedge time.Duration) (*tunedRun, error) {
	run := &tunedRun{prewarm: &companion.PrewarmReport{}, verifier: "rules alone"}
	var opts []semantic.SemanticOption
	var judge *companiontest.Judge
	if verifier == "judge" {
		judge = companiontest.NewJudge(w.sameTopic, judgeErr, cfg.seed)
		judge.SetDelay(cfg.judgeDelay)
		opts = append(opts, semantic.WithVerifier(judge))
		run.verifier = fmt.Sprintf("simulated judge, %.0f %% error", 100*judgeErr)
	}
	if hedge > 0 {
		run.verifier += fmt.Sprintf(", upstream hedged after %v", hedge)
	}
	t, err := newTuned(ctx, u, cfg.model, cfg.concurrency, hedge, opts...)
	if err != nil {
		return nil, err
	}
	defer t.close()
	if prewarm {
		if run.prewarm, run.hot, err = t.prewarm(ctx, w.yesterday, cfg.prewarmMin); err != nil {
			return nil, fmt.Errorf("prewarm: %w", err)
		}
	}
	run.stats = replay(ctx, w, cfg.concurrency, func(ctx context.Context, tr *turn) (result, error) { return t.ask(ctx, &tr.q) },
		func(s string) string { return t.expected(ctx, s) })
	run.stats.extra = run.prewarm.Cost
	run.cache, run.sem, run.transport = t.c.CacheStats(), t.sem.Stats(), t.c.Transport().Stats()
	if judge != nil {
		run.judged = judge.Calls()
	}
	return run, ctx.Err()
}

// sameTopic is the truth the simulated judge is told: two questions are
// the same when the workload drew them from one topic.
func (w *workload) sameTopic(cached, asked string) bool {
	a, b := w.group[cached], w.group[asked]
	return a != nil && a == b
}

// tiersScenario replays the same traffic through Companion ten times,
// without and with prewarming, with the semantic tier's rules alone and
// with a simulated judge at 0 % and at -judge-error (2 % when unset)
// error, the judge's runs also with the upstream hedged after -hedge
// (50 ms when unset), and prints the hits by tier of each run.
func tiersScenario(ctx context.Context, cfg *config, w *workload, stdout io.Writer) error {
	u, err := startUpstream(cfg.latency, cfg.rttFar, cfg.rttNear)
	if err != nil {
		return err
	}
	defer u.close()
	lossy := cfg.judgeError
	if lossy == 0 {
		lossy = 0.02
	}
	fmt.Fprintf(stdout, "traffic (seed %d, -restyle %.2f): %v\n", cfg.seed, cfg.restyle, w.mix())
	fmt.Fprintf(stdout, "yesterday's log: %d turns (seed %d); the judge takes %v a pair\n\n", cfg.logTurns, cfg.seed+1, cfg.judgeDelay)
	fmt.Fprintln(stdout, "| prewarming | semantic tier | exact | prewarmed | semantic | coalesced | model calls | first token mean | p99 | cost | wrong | lookups verified | judge calls | calls abandoned |")
	fmt.Fprintln(stdout, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	hedge := cfg.hedge
	if hedge == 0 {
		hedge = 50 * time.Millisecond
		if cfg.quick {
			hedge /= 20
		}
	}
	for _, prewarm := range []bool{false, true} {
		for _, v := range []struct {
			name  string
			err   float64
			hedge time.Duration
		}{{"none", 0, 0}, {"judge", 0, 0}, {"judge", 0, hedge}, {"judge", lossy, 0}, {"judge", lossy, hedge}} {
			r, err := runTuned(ctx, cfg, u, w, prewarm, v.name, v.err, v.hedge)
			if err != nil {
				return err
			}
			s := summarize(r.stats)
			served := s.turns - s.errors
			pct := func(n int) string { return fmt.Sprintf("%.1f %%", 100*float64(n)/float64(max(served, 1))) }
			pw := "off"
			if prewarm {
				pw = fmt.Sprintf("%d questions", r.hot)
			}
			verified := fmt.Sprintf("%d of %d", r.sem.Verified, r.sem.Lookups)
			fmt.Fprintf(stdout, "| %s | %s | %s | %s | %s | %s | %d | %s | %s | $%.4f | %d | %s | %d | %d |\n",
				pw, r.verifier, pct(s.bySource["exact"]), pct(s.bySource["prewarmed"]), pct(s.bySource["semantic"]), pct(s.coalesced),
				s.upstream, sec(s.ttft.mean), sec(s.ttft.p99), s.cost+s.extra, s.wrong, verified, r.judged, r.cache.HedgesAbandoned)
			if s.errors > 0 {
				fmt.Fprintf(stdout, "(%d turns failed in the run above)\n", s.errors)
			}
		}
	}
	return nil
}
