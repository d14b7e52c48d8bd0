package rediscache_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/batch"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/cache/cachetest"
	"github.com/companion-go/companion/cache/rediscache"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/leak"
	"github.com/companion-go/companion/internal/redistest"
	"github.com/companion-go/companion/semantic"
	"github.com/redis/go-redis/v9"
)

// clusterClient returns a client of cl with the short timeouts New asks
// for, closed when the test ends.
func clusterClient(t *testing.T, cl *redistest.Cluster) *redis.ClusterClient {
	t.Helper()
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { rc.Close() })
	return rc
}

// TestCluster runs the shared tiers on a real Redis Cluster of three
// masters and three replicas: the exact tier, the tiered cache, the
// shared semantic tier (records on every master, the stream on one),
// prewarming through a Companion, and last a master's failover under
// traffic. One cluster serves the subtests, each under its own prefix;
// starting it takes a few seconds.
func TestCluster(t *testing.T) {
	defer leak.Check(t, leak.Take())
	cl := redistest.StartCluster(t, redistest.ClusterConfig{})
	ctx := context.Background()

	t.Run("Store", func(t *testing.T) {
		rc := clusterClient(t, cl)
		s, err := rediscache.New(rc, rediscache.Config{Prefix: "store:"})
		if err != nil {
			t.Fatal(err)
		}
		cachetest.Store(t, s)
		// The contract's keys are spread over the masters: each call is
		// one key's, so no slot is ever crossed.
		masters := map[string]bool{}
		for i := range 8 {
			for j := range 50 {
				m, err := cl.MasterOf(fmt.Sprintf("store:c%d-%d", i, j))
				if err != nil {
					t.Fatal(err)
				}
				masters[m] = true
			}
		}
		if len(masters) != 3 {
			t.Errorf("the keys live on %d masters, want 3", len(masters))
		}
	})

	t.Run("Tiered", func(t *testing.T) {
		rc := clusterClient(t, cl)
		back, err := rediscache.New(rc, rediscache.Config{Prefix: "tier:"})
		if err != nil {
			t.Fatal(err)
		}
		front, _ := cache.NewMemory(cache.MemoryConfig{})
		defer front.Close()
		cachetest.Store(t, cache.NewTiered(front, back))
		if err := cache.NewTiered(front, back).Set(ctx, "shared", cachetest.Sample(3), time.Minute); err != nil {
			t.Fatal(err)
		}
		front2, _ := cache.NewMemory(cache.MemoryConfig{})
		defer front2.Close()
		if e, ok, err := cache.NewTiered(front2, back).Get(ctx, "shared"); !ok || err != nil || e.Answer != cachetest.Sample(3).Answer {
			t.Fatalf("another replica's Get = %v, %v", ok, err)
		}
	})

	t.Run("Shared", func(t *testing.T) {
		rc := clusterClient(t, cl)
		replica := func() *rediscache.Shared {
			t.Helper()
			s, err := semantic.NewSemantic()
			if err != nil {
				t.Fatal(err)
			}
			sh, err := rediscache.NewShared(ctx, s, rc, rediscache.SharedConfig{Prefix: "sem:", ReadBlock: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sh.Close() })
			return sh
		}
		a, b := replica(), replica()
		ns := cache.Namespace{Model: "gpt-4.1-mini", Subject: "maths"}
		const n = 60
		q := func(i int) string { return fmt.Sprintf("What is %d times %d?", i, i+7) }
		for i := range n {
			if err := a.Add(ctx, ns, cache.Entry{Question: q(i), Answer: fmt.Sprint(i * (i + 7))}, time.Hour); err != nil {
				t.Fatalf("Add %d: %v", i, err)
			}
		}
		// The records are spread over the three masters.
		masters := map[string]bool{}
		for i := range n {
			_, r, _ := a.NewRecord(ctx, ns, cache.Entry{Question: q(i)}, time.Hour)
			m, err := cl.MasterOf("sem:r:" + r.ID)
			if err != nil {
				t.Fatal(err)
			}
			masters[m] = true
		}
		if len(masters) != 3 {
			t.Errorf("the records live on %d masters, want 3", len(masters))
		}
		// b follows the stream.
		waitUntil(t, 5*time.Second, "replica b to follow the stream", func() bool { return b.Applied() == n })
		for i := range n {
			if h, ok, err := b.Lookup(ctx, ns, q(i)); err != nil || !ok || h.Entry.Answer != fmt.Sprint(i*(i+7)) {
				t.Fatalf("replica b Lookup(%q) = %+v, %v, %v", q(i), h.Entry, ok, err)
			}
		}
		// A late replica loads the records of every master.
		c := replica()
		if c.Applied() != n {
			t.Errorf("a late replica loaded %d records, want %d", c.Applied(), n)
		}
	})

	t.Run("Prewarm", func(t *testing.T) {
		srv := companiontest.NewServer()
		defer srv.Close()
		rc := clusterClient(t, cl)
		type replica struct {
			c   *companion.Companion
			mem *cache.Memory
			sem *rediscache.Shared
		}
		newReplica := func() *replica {
			t.Helper()
			store, err := rediscache.New(rc, rediscache.Config{Prefix: "pw:"})
			if err != nil {
				t.Fatal(err)
			}
			mem, _ := cache.NewMemory(cache.MemoryConfig{})
			t.Cleanup(mem.Close)
			s, _ := semantic.NewSemantic()
			sh, err := rediscache.NewShared(ctx, s, rc, rediscache.SharedConfig{Prefix: "pw:sem:", ReadBlock: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sh.Close() })
			c, err := companion.New(companion.WithBaseURL(srv.URL), companion.WithModel("gpt-4.1-mini"),
				companion.WithExactCache(cache.NewTiered(mem, store)), companion.WithSemanticCache(sh))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return &replica{c: c, mem: mem, sem: sh}
		}
		a, b := newReplica(), newReplica()
		qs := []companion.Question{
			{Text: "What is Newton's second law?", Subject: "physics"},
			{Text: "What is photosynthesis?", Subject: "biology"},
			{Text: "What is the Pythagorean theorem?", Subject: "maths"},
			{Text: "What is a prime number?", Subject: "maths"},
			{Text: "What is density?", Subject: "physics"},
			{Text: "Why is the sky blue?", Subject: "physics"},
		}
		poll := companion.PrewarmBatchOptions(batch.WithPollInterval(20*time.Millisecond, 100*time.Millisecond))
		rep, err := a.c.Prewarm(ctx, qs, poll)
		if err != nil || rep.Stored != len(qs) {
			t.Fatalf("replica a's Prewarm = %+v, %v", rep, err)
		}
		// A second replica prewarming the same list finds it all cached
		// and pays nothing.
		again, err := b.c.Prewarm(ctx, qs, poll)
		if err != nil || again.Cached != len(qs) || again.Stored != 0 || again.Cost != 0 {
			t.Fatalf("replica b's Prewarm = %+v, %v; want everything cached at no cost", again, err)
		}
		calls := srv.RequestCount("/v1/chat/completions")
		for _, q := range qs {
			if ans, err := b.c.Ask(ctx, q); err != nil || ans.Source != companion.SourcePrewarmed {
				t.Fatalf("replica b Ask(%q) = %v, %v; want a prewarmed hit", q.Text, ans, err)
			}
		}
		// The prewarmed answers reached b's semantic index through the
		// stream: a paraphrase is served there too.
		waitUntil(t, 5*time.Second, "b's semantic index to learn the prewarmed answers", func() bool { return b.sem.Applied() >= int64(len(qs)) })
		if ans, err := b.c.Ask(ctx, companion.Question{Text: "what's newtons second law", Subject: "physics"}); err != nil || ans.Source == companion.SourceUpstream {
			t.Errorf("replica b paraphrase = %v, %v; want a cache hit", ans, err)
		}
		if n := srv.RequestCount("/v1/chat/completions"); n != calls {
			t.Errorf("replica b called the model %d times for prewarmed questions", n-calls)
		}
	})

	// Last: it kills a master.
	t.Run("Failover", func(t *testing.T) { testFailover(t, cl) })
}

// testFailover kills the master that holds the semantic tier's stream
// while turns run through a Companion whose exact tier is Redis alone
// (every hit a Redis hit) and whose semantic tier is shared: no turn may
// fail, hits must come back on every shard once the replica has taken
// over, and the stream must carry announcements again. It logs how long
// hits were lost.
func testFailover(t *testing.T, cl *redistest.Cluster) {
	ctx := context.Background()
	srv := companiontest.NewServer()
	defer srv.Close()
	rc := clusterClient(t, cl)
	store, err := rediscache.New(rc, rediscache.Config{Prefix: "fo:"})
	if err != nil {
		t.Fatal(err)
	}
	newShared := func() *rediscache.Shared {
		s, _ := semantic.NewSemantic()
		sh, err := rediscache.NewShared(ctx, s, rc, rediscache.SharedConfig{Prefix: "fo:sem:", ReadBlock: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sh.Close() })
		return sh
	}
	sa, sb := newShared(), newShared()
	c, err := companion.New(companion.WithBaseURL(srv.URL), companion.WithModel("gpt-4.1-mini"),
		companion.WithExactCache(store), companion.WithSemanticCache(sa))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// 60 questions, prewarmed: their keys spread over the three masters.
	var qs []companion.Question
	for i := range 60 {
		qs = append(qs, companion.Question{Text: fmt.Sprintf("What is %d plus %d?", i, 2*i+1)})
	}
	rep, err := c.Prewarm(ctx, qs, companion.PrewarmVia(companion.PrewarmOnline))
	if err != nil || rep.Stored != len(qs) {
		t.Fatalf("Prewarm = %+v, %v", rep, err)
	}
	victim, err := cl.MasterOf("fo:sem:stream")
	if err != nil {
		t.Fatal(err)
	}
	onVictim := map[string]bool{}
	for i, it := range rep.Items {
		m, err := cl.MasterOf("fo:" + it.Key)
		if err != nil {
			t.Fatal(err)
		}
		onVictim[qs[i].Text] = m == victim
	}

	var (
		mu     sync.Mutex
		events []hitEvent
		failed []error
		stop   = make(chan struct{})
		wg     sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				q := qs[(w*17+i)%len(qs)]
				if i%5 == 4 { // a new question: a miss that fills both tiers
					q = companion.Question{Text: fmt.Sprintf("What is %d minus %d?", 1000*w+i, i)}
				}
				a, err := c.Ask(ctx, q)
				mu.Lock()
				if err != nil {
					failed = append(failed, err)
				} else if i%5 != 4 {
					events = append(events, hitEvent{at: time.Now(), hit: a.Source == companion.SourcePrewarmed || a.Source == companion.SourceExact,
						cached: a.Source != companion.SourceUpstream, onVictim: onVictim[q.Text]})
				}
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	killed := time.Now()
	if err := cl.Kill(victim); err != nil {
		t.Fatal(err)
	}
	promoted, err := cl.WaitFailover(victim, 30*time.Second)
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	failedOver := time.Since(killed)
	// Traffic goes on until both shards' keys hit again (or 20 s).
	resumed := func(victimShard bool) (time.Duration, bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			if e.at.After(killed.Add(failedOver)) && e.hit && e.onVictim == victimShard {
				_, to := missWindow(events, killed, victimShard)
				return to, true
			}
		}
		return 0, false
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, ok1 := resumed(true)
		_, ok2 := resumed(false)
		if ok1 && ok2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()

	if len(failed) > 0 {
		t.Fatalf("%d turns failed during the failover, the first: %v", len(failed), failed[0])
	}
	_, ok1 := resumed(true)
	_, ok2 := resumed(false)
	if !ok1 || !ok2 {
		t.Fatalf("hits did not resume within 20 s of the failover (killed shard %v, others %v)", ok1, ok2)
	}
	ms := func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }
	vf, vt := missWindow(events, killed, true)
	of, ot := missWindow(events, killed, false)
	cached, after := 0, 0
	for _, e := range events {
		if e.at.After(killed) && e.at.Before(killed.Add(vt)) {
			after++
			if e.cached {
				cached++
			}
		}
	}
	t.Logf("master %s killed at 0; %s promoted at +%s; %d turns, 0 failed; exact (Redis) hits lost on the killed master's keys from +%s to +%s, on the other masters' from +%s to +%s; %d of %d repeat turns in that time served from a cache all the same (the semantic tier is local)",
		victim, promoted, ms(failedOver), len(events), ms(vf), ms(vt), ms(of), ms(ot), cached, after)

	// The stream carries announcements again: a new answer on a reaches b.
	before := sb.Applied()
	waitUntil(t, 10*time.Second, "an announcement after the failover to reach replica b", func() bool {
		_, _ = c.Ask(ctx, companion.Question{Text: fmt.Sprintf("What is %d divided by 7?", time.Now().UnixNano()%100000)})
		return sb.Applied() > before
	})
}

// hitEvent is one turn of the failover's traffic: when it ended, whether
// the cache served it, and whether its key lives on the killed master.
type hitEvent struct {
	at       time.Time
	hit      bool // served by the exact tier, that is Redis
	cached   bool // served by either tier (the semantic one is local)
	onVictim bool
}

// missWindow returns when, after killed, the exact hits of one group of
// keys stopped and when they came back: the span from the first miss
// after the kill to the hit that ended the last run of misses.
func missWindow(events []hitEvent, killed time.Time, onVictim bool) (from, to time.Duration) {
	var es []hitEvent
	for _, e := range events {
		if e.onVictim == onVictim && !e.at.Before(killed) {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].at.Before(es[j].at) })
	var first, end time.Time
	missing := false
	for _, e := range es {
		if !e.hit {
			if first.IsZero() {
				first = e.at
			}
			missing = true
			continue
		}
		if missing {
			end = e.at
			missing = false
		}
	}
	if end.IsZero() {
		return 0, 0
	}
	return first.Sub(killed), end.Sub(killed)
}

// waitUntil polls cond every 20 ms until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
