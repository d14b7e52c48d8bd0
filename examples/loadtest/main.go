// Command loadtest replays the same tutoring traffic through a naive
// client (the reference article's "before") and through Companion with
// every stage on, and prints the before-and-after table; a second
// scenario sends a burst of turns at once through Companion's
// concurrency limit and compares its wall time with Little's law.
//
// Reproduce the README's table with one command:
//
//	go run ./examples/loadtest
//
// # The traffic
//
// The turns are drawn, with a fixed seed (-seed), from the embedded data
// in testdata/: 150 curriculum topics built from pairs.jsonl (each a group
// of paraphrases, in English or Chinese; its hard negatives — "second
// law" against "third law", 3 kg against 5 kg — are other topics of the
// same namespace), the 40 tutoring prompts of prompts.jsonl (system
// prompt, 6–8 knowledge snippets, 8–10 worked examples, history, a JSON
// student profile) and 400 GSM8K word problems (MIT licence, beside the
// file). Every curriculum question and word problem carries the snippets,
// examples and profile of a prompt of its language, so that every turn
// has a full-size prompt (about 2 300 tokens) for the prompt stage to
// slim. The topic of each turn follows a Zipf law (exponent 1) over
// popularity ranks: the curriculum topics and prompts in a seeded order
// first, the word problems after them, the long tail. Within a topic the
// question is one of its paraphrases, uniformly, and -restyle (0.5) of
// the curriculum turns are written in a student's own style
// (testdata/styles.txt: a greeting, thanks or a plea, a hedge, words on
// why they ask, urgency, or the bare question in lower case; a quarter
// of the English ones with two letters swapped), which makes them
// paraphrases a cache has to recognise. So the traffic holds
// repeats (exact hits), paraphrases (semantic hits), hard negatives
// (which must never be served another question's answer) and a long
// tail of first asks. Every answer is checked against the fake's
// deterministic answer to a question of the same topic
// (companiontest.Answer); an answer to another question counts as wrong.
//
// # The upstream
//
// One companiontest server (TLS with HTTP/2) with the article's latency
// model: 1.2 s to the first token plus 0.4 ms per prompt token, then
// -decode (4 ms) per output token, which puts the baseline's whole turn
// at about the article's 3.2 s (the article's figure leaves little room
// for decoding). Its network sits in two in-process latency proxies
// (internal/netdelay) in front of it: the far endpoint (-rtt-far, 180 ms)
// and the near one (-rtt-near, 28 ms), as in the article.
//
// # The clients
//
// The baseline opens a new TCP and TLS connection to the far endpoint for
// every call, has no cache, sends the full prompt, waits for the whole
// answer and then checks it serially (a substring scan per sensitive
// word, a call to the moderation endpoint on a new connection, a format
// check compiling its expressions each time): the student sees the answer
// when all of that is done. Companion streams; it has the exact and the
// semantic cache, prompt compression (budget 2 000, reserve 500), the
// moderation pipeline (word lists on the stream, the format validator
// and the moderation endpoint in parallel at its end), the limiter, and
// its transport warmed and sending calls to the fastest endpoint. Before
// the traffic it prewarms, through the Batch API at half price, the
// questions asked at least -prewarm-min times (2) in "yesterday's" log
// (the same distribution, another seed); that cost is in its total.
//
// Yesterday's log is -log-turns turns, by default four times -turns. A
// day of a tutoring service is far longer than the replay: at 800 000
// turns a day, the 500 replayed turns are under a minute of traffic, so
// a day's log sees most of the catalogue asked more than once. Four
// times the replay is a deliberately small day; -log-turns 500 is the
// pessimistic case where yesterday saw no more than the replay, and the
// README shows how the figures move with it. Identical streamed turns
// in flight at the same moment share one model call (coalescing).
//
// Cost is estimated with companion.DefaultPrices for -model (default
// gpt-4.1-mini): the baseline from the fake's usage, Companion from
// Answer.Cost (0 for a cache hit) plus the prewarming.
//
// # The burst
//
// -scenario burst sends -burst-turns turns (1 000) at once through a
// Companion with a concurrency limit of -burst-limit (100), every turn a
// miss, to a fake whose call takes about 250 ms plus the near round trip
// (the article's 1 000 turns in 3.1 s imply about 310 ms), and compares
// the wall time with Little's law: n·W/L.
//
// # Other scenarios
//
// -scenario tiers replays the traffic through Companion ten times —
// prewarming off and on, each with the semantic tier's rules alone and
// with a simulated judge (companiontest.NewJudge, which knows the topics
// and lies on -judge-error of the pairs; each judgement takes
// -judge-delay, 300 ms) at 0 % and 2 % error, the judge's runs once as
// they are and once with the upstream call started when a lookup still
// runs after -hedge (50 ms; companion.WithUpstreamHedge) — and prints
// hits by tier, first-token latency, cost, wrong answers, the lookups
// verified and the upstream calls abandoned for a hit. -verifier judge
// and -hedge put the judge and the hedge in the compare scenario too.
//
// -scenario faults sends -fault-turns turns (2 000) at a memory-cached
// Companion whose upstream faults -fault-rate (20 %) of chat requests in
// eight kinds; -scenario replicas runs -replicas Companions sharing a
// Redis Cluster (redis-server from PATH) and measures catch-up and memory
// with 100 000 shared semantic entries.
//
// # Reading the table
//
// "Time to first token" is when the student sees the first text of the
// answer; the baseline shows nothing before the whole answer is checked,
// so for it the two are the same. The latency targets (mean, p99) are
// read on time to first token, by which a streamed answer is judged; the
// whole answer of a turn that goes upstream is bounded below by the
// model's decoding (about 125 tokens at -decode each), which no client
// removes.
//
// -quick runs everything tiny and fast (a few dozen turns, latencies cut
// twentyfold), as the test does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/companion-go/companion/companiontest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// config is the command's flags.
type config struct {
	turns, concurrency    int
	logTurns              int
	prewarmMin            int
	rttFar, rttNear       time.Duration
	decode                time.Duration
	scenario              string
	seed                  uint64
	chart, model          string
	burstTurns, burstLim  int
	faultTurns, faultConc int
	faultRate             float64
	quick                 bool
	latency, burstLat     companiontest.Latency
	replicas              int
	restyle               float64
	verifier              string
	judgeError            float64
	judgeDelay            time.Duration
	hedge                 time.Duration
}

func parse(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.IntVar(&c.turns, "turns", 500, "turns of traffic replayed through each client")
	fs.IntVar(&c.logTurns, "log-turns", 0, "turns in yesterday's log, whose questions asked -prewarm-min times or more are prewarmed; 0: four times -turns")
	fs.IntVar(&c.prewarmMin, "prewarm-min", 2, "prewarm the questions asked at least this many times in yesterday's log")
	fs.IntVar(&c.concurrency, "concurrency", 100, "turns in flight at once per client (a closed loop), and Companion's concurrency limit")
	fs.DurationVar(&c.rttFar, "rtt-far", 180*time.Millisecond, "round trip to the far endpoint")
	fs.DurationVar(&c.rttNear, "rtt-near", 28*time.Millisecond, "round trip to the near endpoint")
	fs.StringVar(&c.scenario, "scenario", "all", "compare, burst, all (compare and burst), tiers, faults or replicas")
	fs.Float64Var(&c.restyle, "restyle", 0.5, "share of curriculum turns a student writes in a style of their own (testdata/styles.txt)")
	fs.StringVar(&c.verifier, "verifier", "none", "the semantic tier's verifier: none (the rules alone) or judge (a simulated judge that knows the topics)")
	fs.Float64Var(&c.judgeError, "judge-error", 0, "judge: share of pairs the simulated judge answers wrongly, in [0, 0.5)")
	fs.DurationVar(&c.judgeDelay, "judge-delay", 300*time.Millisecond, "judge: time one judgement takes, a small model's round trip")
	fs.DurationVar(&c.hedge, "hedge", 0, "start a turn's upstream call when its cache lookup still runs after this long (companion.WithUpstreamHedge); 0: off, except in the tiers scenario's hedged rows (50ms)")
	fs.IntVar(&c.replicas, "replicas", 4, "replicas scenario: Companions sharing one Redis Cluster")
	fs.Float64Var(&c.faultRate, "fault-rate", 0.2, "faults scenario: share of chat requests faulted, in 8 equal kinds")
	fs.IntVar(&c.faultTurns, "fault-turns", 2000, "faults scenario: turns")
	fs.IntVar(&c.faultConc, "fault-concurrency", 50, "faults scenario: turns at once")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the traffic")
	fs.StringVar(&c.chart, "chart", "loadtest.svg", "file for the latency chart (.svg or .png); empty for none")
	fs.StringVar(&c.model, "model", "gpt-4.1-mini", "model, for the prices of companion.DefaultPrices")
	fs.IntVar(&c.burstTurns, "burst-turns", 1000, "burst scenario: turns sent at once")
	fs.IntVar(&c.burstLim, "burst-limit", 100, "burst scenario: Companion's concurrency limit")
	fs.DurationVar(&c.decode, "decode", 4*time.Millisecond, "upstream decode time per output token; the default makes the baseline's whole turn about the article's 3.2 s")
	fs.BoolVar(&c.quick, "quick", false, "a tiny, fast run: 60 turns, latencies cut twentyfold, a burst of 200 with limit 20")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.latency = companiontest.ArticleLatency()
	c.latency.PerOutputToken = c.decode
	c.burstLat = companiontest.Latency{FirstToken: 250 * time.Millisecond}
	if c.quick {
		c.turns, c.concurrency, c.burstTurns, c.burstLim = 60, 20, 200, 20
		c.faultTurns, c.faultConc = 300, 20
		c.rttFar, c.rttNear = c.rttFar/20, c.rttNear/20
		c.latency = companiontest.Latency{FirstToken: c.latency.FirstToken / 20, PerPromptToken: c.latency.PerPromptToken / 20, PerOutputToken: c.latency.PerOutputToken / 20}
		c.burstLat.FirstToken /= 20
		c.judgeDelay /= 20
		c.hedge /= 20
	}
	if c.logTurns == 0 {
		c.logTurns = 4 * c.turns
	}
	switch {
	case c.logTurns < 0:
		return nil, errors.New("-log-turns must not be negative")
	case c.prewarmMin < 1:
		return nil, errors.New("-prewarm-min must be at least 1")
	case c.turns <= 0 || c.concurrency <= 0 || c.burstTurns <= 0 || c.burstLim <= 0:
		return nil, errors.New("-turns, -concurrency, -burst-turns and -burst-limit must be positive")
	case c.rttFar < 0 || c.rttNear < 0:
		return nil, errors.New("round trips must not be negative")
	case c.scenario != "compare" && c.scenario != "burst" && c.scenario != "all" && c.scenario != "tiers" && c.scenario != "faults" && c.scenario != "replicas":
		return nil, fmt.Errorf("-scenario %q: want compare, burst, all, tiers, faults or replicas", c.scenario)
	case !(c.restyle >= 0 && c.restyle <= 1):
		return nil, errors.New("-restyle must be in [0, 1]")
	case c.verifier != "none" && c.verifier != "judge":
		return nil, fmt.Errorf("-verifier %q: want none or judge", c.verifier)
	case !(c.judgeError >= 0 && c.judgeError < 0.5) || c.judgeDelay < 0 || c.hedge < 0:
		return nil, errors.New("-judge-error must be in [0, 0.5), -judge-delay and -hedge not negative")
	case c.faultRate < 0 || c.faultRate >= 1 || c.faultTurns <= 0 || c.faultConc <= 0:
		return nil, errors.New("-fault-rate must be in [0, 1), -fault-turns and -fault-concurrency positive")
	}
	return c, nil
}

var errNotRun = errors.New("loadtest: turn not run")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parse(args, stderr)
	if err != nil {
		return err
	}
	w, err := newWorkload(cfg.turns, cfg.logTurns, cfg.seed, cfg.restyle)
	if err != nil {
		return err
	}
	if cfg.scenario == "faults" {
		return faultsScenario(ctx, cfg, w, stdout)
	}
	if cfg.scenario == "replicas" {
		return replicasScenario(ctx, cfg, w, stdout)
	}
	if cfg.scenario == "tiers" {
		return tiersScenario(ctx, cfg, w, stdout)
	}
	fmt.Fprintf(stdout, "traffic (seed %d): %v\n\n", cfg.seed, w.mix())
	if cfg.scenario != "burst" {
		if err := compare(ctx, cfg, w, stdout); err != nil {
			return err
		}
	}
	if cfg.scenario != "compare" {
		r, err := burst(ctx, w, cfg.burstLat, cfg.rttNear, cfg.model, cfg.burstTurns, cfg.burstLim)
		if err != nil {
			return fmt.Errorf("burst: %w", err)
		}
		r.report(stdout)
	}
	return ctx.Err()
}

// compare replays the traffic through both clients and prints the table.
func compare(ctx context.Context, cfg *config, w *workload, stdout io.Writer) error {
	u, err := startUpstream(cfg.latency, cfg.rttFar, cfg.rttNear)
	if err != nil {
		return err
	}
	defer u.close()

	b, err := newBaseline(u, cfg.model)
	if err != nil {
		return err
	}
	bst := replay(ctx, w, cfg.concurrency, func(ctx context.Context, t *turn) (result, error) { return b.ask(ctx, &t.q) },
		func(s string) string { m, _ := b.wordCheck(s); return m })
	if err := ctx.Err(); err != nil {
		return err
	}

	tr, err := runTuned(ctx, cfg, u, w, true, cfg.verifier, cfg.judgeError, cfg.hedge)
	if err != nil {
		return err
	}
	cst, rep, hot := tr.stats, tr.prewarm, tr.hot
	bs, cs := summarize(bst), summarize(cst)
	fmt.Fprintf(stdout, "prewarmed %d hot questions of yesterday's log (%d turns, seed %d) via the Batch API: %d stored, $%.4f at batch price, in %v\n\n",
		hot, cfg.logTurns, cfg.seed+1, rep.Stored, rep.Cost, rep.Duration.Round(time.Millisecond))
	table(stdout, bs, cs, cfg.model)
	st := tr.cache
	fmt.Fprintf(stdout, "\nCompanion's cache: %d lookups, %d exact (%d prewarmed), %d semantic, %d semantic candidates refused by the rules or the verifier, %d lookups verified (%s); prompt stage saved %d tokens; transport: %d new connections for %d requests\n",
		st.Lookups, st.ExactHits, st.Prewarmed, st.Semantic, st.Rejections, tr.sem.Verified, tr.verifier, cs.saved, tr.transport.NewConns, tr.transport.Requests)
	fmt.Fprintf(stdout, "wall time: baseline %v, Companion %v\n\n", bst.wall.Round(time.Millisecond), cst.wall.Round(time.Millisecond))
	if cfg.chart != "" {
		if err := chart(cfg.chart, bst, cst); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		fmt.Fprintf(stdout, "chart: %s\n\n", cfg.chart)
	}
	return nil
}
