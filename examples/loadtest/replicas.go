package main

// The replicas scenario: what several replicas of a backend get from
// sharing one Redis. It starts a Redis Cluster (three masters, three
// replicas, from the redis-server and redis-cli on PATH) and replays the
// same traffic twice: through one Companion, and through -replicas
// Companions in this process, turns dealt to them in turn as a load
// balancer would. Every Companion has its own memory tier and its own
// semantic index, in front of the shared exact tier (rediscache.Store)
// and the shared semantic records and stream (rediscache.Shared). In
// both runs the first replica prewarms yesterday's hot questions through
// the Batch API; in the second the others prewarm the same list after
// it and find it cached. It prints the hit ratio and the cost of both,
// then loads -replicas-entries shared semantic entries (100 000; 10 000
// with -quick) into Redis and measures how long a new replica takes to
// load them and the memory they take in it and in Redis.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/cache/rediscache"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/redistest"
	"github.com/companion-go/companion/semantic"
)

// replicaSet is n Companions sharing one Redis under a key prefix.
type replicaSet struct {
	cs     []*companion.Companion
	mems   []*cache.Memory
	shared []*rediscache.Shared
}

func newReplicaSet(ctx context.Context, n int, rc redis.UniversalClient, prefix, baseURL, model string, limit int) (*replicaSet, error) {
	rs := &replicaSet{}
	store, err := rediscache.New(rc, rediscache.Config{Prefix: prefix})
	if err != nil {
		return nil, err
	}
	for range n {
		mem, err := cache.NewMemory(cache.MemoryConfig{MaxBytes: 64 << 20})
		if err != nil {
			rs.close()
			return nil, err
		}
		rs.mems = append(rs.mems, mem)
		s, err := semantic.NewSemantic()
		if err != nil {
			rs.close()
			return nil, err
		}
		sh, err := rediscache.NewShared(ctx, s, rc, rediscache.SharedConfig{Prefix: prefix + "sem:"})
		if err != nil {
			rs.close()
			return nil, err
		}
		rs.shared = append(rs.shared, sh)
		c, err := companion.New(companion.WithBaseURL(baseURL), companion.WithAPIKey("offline"), companion.WithModel(model),
			companion.WithConcurrency(limit), companion.WithExactCache(cache.NewTiered(mem, store)),
			companion.WithSemanticCache(sh), companion.WithPromptBudget(promptBudget, promptReserve))
		if err != nil {
			rs.close()
			return nil, err
		}
		rs.cs = append(rs.cs, c)
	}
	return rs, nil
}

func (rs *replicaSet) close() {
	for _, c := range rs.cs {
		c.Close()
	}
	for _, sh := range rs.shared {
		sh.Close()
	}
	for _, m := range rs.mems {
		m.Close()
	}
}

// replicaRun is one pass of the traffic through a replica set.
type replicaRun struct {
	n                   int
	st                  runStats
	prewarm             []*companion.PrewarmReport // by replica
	hot                 int
	hits, semantic      int
	upstream, errs, bad int
	calls               int     // chat requests the upstream received during the traffic
	cost                float64 // turns and prewarming
}

// runReplicas prewarms through every replica in turn, waits until every
// semantic index holds the prewarmed answers, and replays w dealing
// turns round robin.
func runReplicas(ctx context.Context, cfg *config, w *workload, rc redis.UniversalClient, prefix string, srv *companiontest.Server, n int) (*replicaRun, error) {
	rs, err := newReplicaSet(ctx, n, rc, prefix, srv.URL, cfg.model, max(cfg.concurrency/n, 1))
	if err != nil {
		return nil, err
	}
	defer rs.close()
	run := &replicaRun{n: n}
	log := w.yesterday
	for _, c := range rs.cs {
		rep, hot, err := (&tuned{c: c}).prewarm(ctx, log, cfg.prewarmMin)
		if err != nil {
			return nil, fmt.Errorf("prewarm: %w", err)
		}
		run.prewarm, run.hot = append(run.prewarm, rep), hot
		run.cost += rep.Cost
	}
	// The first replica's prewarmed answers reach the others' semantic
	// indexes through the stream.
	want := int64(run.prewarm[0].Stored)
	deadline := time.Now().Add(30 * time.Second)
	for _, sh := range rs.shared[1:] {
		for sh.Applied() < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	var next atomic.Int64
	calls := srv.RequestCount("/v1/chat/completions")
	run.st = replay(ctx, w, cfg.concurrency, func(ctx context.Context, t *turn) (result, error) {
		c := rs.cs[int(next.Add(1)-1)%n]
		a, err := c.Ask(ctx, t.q)
		if err != nil {
			return result{}, err
		}
		return result{text: a.Text, source: a.Source.String(), promptTokens: a.Usage.PromptTokens,
			completionTokens: a.Usage.CompletionTokens, cost: a.Cost}, nil
	}, func(s string) string { return s })
	run.calls = srv.RequestCount("/v1/chat/completions") - calls
	for _, r := range run.st.results {
		switch {
		case r.err != nil:
			run.errs++
		case r.source == companion.SourceUpstream.String():
			run.upstream++
		default:
			run.hits++
			if r.source == companion.SourceSemantic.String() {
				run.semantic++
			}
		}
		if r.err == nil && r.wrong {
			run.bad++
		}
		run.cost += r.cost
	}
	return run, ctx.Err()
}

// catchUp is what a new replica does with shared entries already in
// Redis.
type catchUp struct {
	entries, namespaces int
	write               time.Duration // to add them through one replica
	follow              time.Duration // for a running replica to have them all after the last Add
	load                time.Duration // for a new replica to load them (NewShared)
	heap                uint64        // the new replica's heap growth
	redis               int64         // Redis' used memory growth, masters together
}

// measureCatchUp adds n entries in ns namespaces through one replica
// (32 at a time, each a question and an answer of the traffic's sizes),
// with another replica following the stream, then starts a new replica
// and measures its load and memory.
func measureCatchUp(ctx context.Context, w *workload, cl *redistest.Cluster, rc redis.UniversalClient, prefix string, n, ns int) (*catchUp, error) {
	cu := &catchUp{entries: n, namespaces: ns}
	before, err := clusterMemory(cl)
	if err != nil {
		return nil, err
	}
	newShared := func() (*rediscache.Shared, error) {
		s, err := semantic.NewSemantic(semantic.WithSemanticMaxEntries(2 * n))
		if err != nil {
			return nil, err
		}
		return rediscache.NewShared(ctx, s, rc, rediscache.SharedConfig{Prefix: prefix, MaxStreamLen: int64(2 * n)})
	}
	writer, err := newShared()
	if err != nil {
		return nil, err
	}
	defer writer.Close()
	follower, err := newShared()
	if err != nil {
		return nil, err
	}
	defer follower.Close()
	texts := make([]string, len(w.turns))
	for i, t := range w.turns {
		texts[i] = t.q.Text
	}
	var (
		idx   atomic.Int64
		wg    sync.WaitGroup
		first error
		mu    sync.Mutex
	)
	start := time.Now()
	for range 32 {
		wg.Go(func() {
			for {
				i := int(idx.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				base := texts[i%len(texts)]
				q := fmt.Sprintf("%s (exercise %d)", base, i)
				e := cache.Entry{Question: q, Answer: companiontest.Answer(base), Model: "gpt-4.1-mini", PromptTokens: 900, CompletionTokens: 120}
				space := cache.Namespace{Model: "gpt-4.1-mini", Subject: "subject " + strconv.Itoa(i%ns)}
				if err := writer.Add(ctx, space, e, 24*time.Hour); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	cu.write = time.Since(start)
	if first != nil {
		return nil, fmt.Errorf("adding the entries: %w", first)
	}
	last := time.Now()
	for follower.Applied() < int64(n) {
		if time.Since(last) > time.Minute {
			return nil, fmt.Errorf("the following replica has %d of %d entries a minute after the last Add", follower.Applied(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cu.follow = time.Since(last)
	after, err := clusterMemory(cl)
	if err != nil {
		return nil, err
	}
	cu.redis = after - before

	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start = time.Now()
	fresh, err := newShared()
	if err != nil {
		return nil, err
	}
	cu.load = time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if fresh.Applied() != int64(n) {
		fresh.Close()
		return nil, fmt.Errorf("the new replica loaded %d of %d entries", fresh.Applied(), n)
	}
	cu.heap = m1.HeapAlloc - min(m0.HeapAlloc, m1.HeapAlloc)
	runtime.KeepAlive(fresh)
	fresh.Close()
	return cu, nil
}

// clusterMemory returns the used memory of the cluster's masters
// together (INFO memory, used_memory).
func clusterMemory(cl *redistest.Cluster) (int64, error) {
	ms, err := cl.Masters()
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, m := range ms {
		info, err := redistest.Do(m, "INFO", "memory")
		if err != nil {
			return 0, err
		}
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
				b, _ := strconv.ParseInt(v, 10, 64)
				sum += b
			}
		}
	}
	return sum, nil
}

// replicasScenario runs the scenario and prints its tables.
func replicasScenario(ctx context.Context, cfg *config, w *workload, stdout io.Writer) error {
	if cfg.replicas < 1 {
		return errors.New("-replicas must be at least 1")
	}
	cl, err := redistest.NewCluster(redistest.ClusterConfig{})
	if err != nil {
		return err
	}
	defer cl.Close()
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
	defer rc.Close()
	lat := companiontest.Latency{FirstToken: 200 * time.Millisecond, PerOutputToken: time.Millisecond}
	if cfg.quick {
		lat = companiontest.Latency{FirstToken: 10 * time.Millisecond, PerOutputToken: 50 * time.Microsecond}
	}
	srv := companiontest.NewServer(companiontest.WithLatency(lat))
	defer srv.Close()

	fmt.Fprintf(stdout, "replicas: %d turns (seed %d, %d at once in all), on a Redis Cluster of 3 masters and 3 replicas on loopback; yesterday's log %d turns (seed %d)\n\n",
		len(w.turns), cfg.seed, cfg.concurrency, cfg.logTurns, cfg.seed+1)
	one, err := runReplicas(ctx, cfg, w, rc, "one:", srv, 1)
	if err != nil {
		return err
	}
	many, err := runReplicas(ctx, cfg, w, rc, "many:", srv, cfg.replicas)
	if err != nil {
		return err
	}
	hr := func(r *replicaRun) float64 { return pct(r.hits, len(r.st.results)) }
	paid := func(r *replicaRun) string {
		var parts []string
		for _, p := range r.prewarm {
			parts = append(parts, fmt.Sprintf("$%.4f (%d stored, %d cached)", p.Cost, p.Stored, p.Cached))
		}
		return strings.Join(parts, " + ")
	}
	fmt.Fprintf(stdout, "| | 1 process | %d replicas sharing Redis |\n|---|---:|---:|\n", cfg.replicas)
	fmt.Fprintf(stdout, "| cache hit ratio | %.1f %% | %.1f %% (%+.1f points) |\n", hr(one), hr(many), hr(many)-hr(one))
	fmt.Fprintf(stdout, "| of which semantic | %d | %d |\n", one.semantic, many.semantic)
	fmt.Fprintf(stdout, "| turns answered upstream | %d | %d |\n", one.upstream, many.upstream)
	fmt.Fprintf(stdout, "| model calls (identical concurrent misses share one within a process) | %d | %d |\n", one.calls, many.calls)
	fmt.Fprintf(stdout, "| errors, wrong answers | %d, %d | %d, %d |\n", one.errs, one.bad, many.errs, many.bad)
	fmt.Fprintf(stdout, "| prewarming (%d hot questions, per replica) | %s | %s |\n", one.hot, paid(one), paid(many))
	fmt.Fprintf(stdout, "| cost, turns and prewarming | $%.4f | $%.4f (%+.1f %%) |\n", one.cost, many.cost, 100*(many.cost/max(one.cost, 1e-9)-1))
	fmt.Fprintf(stdout, "| wall time | %s | %s |\n\n", sec(one.st.wall), sec(many.st.wall))

	n := 100_000
	if cfg.quick {
		n = 10_000
	}
	cu, err := measureCatchUp(ctx, w, cl, rc, "cu:sem:", n, 100)
	if err != nil {
		return fmt.Errorf("catch-up: %w", err)
	}
	per := func(b float64) float64 { return b / float64(cu.entries) * 100_000 / (1 << 20) }
	fmt.Fprintf(stdout, "shared semantic entries: %d in %d namespaces (128-dimension local embedder), added through one replica 32 at a time in %s\n",
		cu.entries, cu.namespaces, sec(cu.write))
	fmt.Fprintf(stdout, "| | figure |\n|---|---:|\n")
	fmt.Fprintf(stdout, "| a running replica has them all, after the last Add | %s |\n", sec(cu.follow))
	fmt.Fprintf(stdout, "| a new replica loads them (NewShared) | %s |\n", sec(cu.load))
	fmt.Fprintf(stdout, "| memory per replica per 100 000 entries (Go heap) | %.0f MiB |\n", per(float64(cu.heap)))
	fmt.Fprintf(stdout, "| Redis memory per 100 000 entries (3 masters, records and stream) | %.0f MiB |\n\n", per(float64(cu.redis)))
	return nil
}
