package rediscache_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/cache/rediscache"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestCompanionRedisOutage runs a Companion on the Redis tier through an
// outage: turns go on through the upstream while Redis is down, and hits
// come back once it is up again.
func TestCompanionRedisOutage(t *testing.T) {
	rs := redistest.Start(t)
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer rc.Close()
	store, err := rediscache.New(rc, rediscache.Config{Backoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := companiontest.NewServer()
	defer srv.Close()
	c, err := companion.New(companion.WithBaseURL(srv.URL), companion.WithModel("gpt-4.1-mini"), companion.WithExactCache(store))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	ask := func(text string) *companion.Answer {
		t.Helper()
		a, err := c.Ask(ctx, companion.Question{Text: text})
		if err != nil {
			t.Fatalf("Ask(%q) failed: %v", text, err)
		}
		return a
	}
	ask("What is Ohm's law?")
	if a := ask("What is Ohm's law?"); a.Source != companion.SourceExact {
		t.Fatalf("Redis hit expected, got %v", a.Source)
	}
	rs.Stop()
	for i := range 20 { // traffic goes on, through the upstream
		if a := ask("What is Ohm's law?"); a.Source != companion.SourceUpstream {
			t.Fatalf("turn %d with Redis down: source %v", i, a.Source)
		}
	}
	rs.Restart() // empty again
	deadline := time.Now().Add(5 * time.Second)
	for {
		ask("What is density?")
		if a := ask("What is density?"); a.Source == companion.SourceExact {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Redis not used again after it came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCompanionRedisHung runs traffic through a Companion on memory in
// front of Redis, with go-redis' default timeouts (3 s reads), while the
// server is stopped with SIGSTOP (it keeps its connections but answers
// nothing), then killed, then started again: no turn fails, and no turn's
// cache stage waits anywhere near the client's timeouts — each call to
// Redis is cut at the cache stage's deadline (50 ms lookups, 200 ms
// stores) and the store pauses Redis after one that ran out.
func TestCompanionRedisHung(t *testing.T) {
	rs := redistest.Start(t)
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr}) // go-redis defaults: 3 s read timeout, 3 retries
	defer rc.Close()
	back, err := rediscache.New(rc, rediscache.Config{})
	if err != nil {
		t.Fatal(err)
	}
	front, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	srv := companiontest.NewServer()
	defer srv.Close()
	c, err := companion.New(companion.WithBaseURL(srv.URL), companion.WithModel("gpt-4.1-mini"),
		companion.WithExactCache(cache.NewTiered(front, back)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var (
		mu       sync.Mutex
		failed   int
		slowest  time.Duration
		turns    int
		stopping = make(chan struct{})
	)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stopping:
					return
				default:
				}
				// A new question misses the memory tier: every turn asks
				// Redis, then stores in it.
				q := companion.Question{Text: fmt.Sprintf("What is %d + %d?", w, i)}
				a, err := c.Ask(context.Background(), q)
				mu.Lock()
				turns++
				if err != nil {
					failed++
					t.Errorf("turn failed: %v", err)
				} else if a.Timings.Cache > slowest {
					slowest = a.Timings.Cache
				}
				mu.Unlock()
			}
		})
	}
	phase := func(what string, d time.Duration, f func()) {
		f()
		time.Sleep(d)
		mu.Lock()
		t.Logf("%s: %d turns so far, slowest cache stage %v", what, turns, slowest)
		mu.Unlock()
	}
	phase("Redis up", 300*time.Millisecond, func() {})
	phase("Redis hung (SIGSTOP)", time.Second, rs.Pause)
	phase("Redis killed (SIGKILL)", 500*time.Millisecond, rs.Stop)
	phase("Redis restarted", 700*time.Millisecond, rs.Restart)
	close(stopping)
	wg.Wait()
	if failed > 0 {
		t.Fatalf("%d of %d turns failed", failed, turns)
	}
	// The deadline is 50 ms per lookup (and 200 ms per store, outside the
	// cache stage's timing); 1 s is far under go-redis' 3 s and leaves
	// room for a loaded machine.
	if slowest > time.Second {
		t.Errorf("a turn's cache stage took %v: it waited on Redis past the lookup deadline", slowest)
	}
	if !back.Available() {
		// After the restart, the pause ends with the next probe.
		deadline := time.Now().Add(5 * time.Second)
		for !back.Available() && time.Now().Before(deadline) {
			_, _, _ = back.Get(context.Background(), "probe")
			time.Sleep(50 * time.Millisecond)
		}
		if !back.Available() {
			t.Error("Redis is still skipped after it came back")
		}
	}
}
