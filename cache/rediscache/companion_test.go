package rediscache_test

import (
	"context"
	"testing"
	"time"

	"github.com/companion-go/companion"
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
