// Package cachetest checks implementations of the cache package's
// interfaces: [Store] runs the contract every exact tier must keep, for this
// module's tiers and for a host's own.
package cachetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/cache"
)

// Sample returns the i-th of a family of distinct entries with every
// field set, Chinese and symbols included.
func Sample(i int) cache.Entry {
	return cache.Entry{
		Answer:       fmt.Sprintf("answer %d: F = m × a, 牛顿第二定律", i),
		Question:     fmt.Sprintf("question %d", i),
		Model:        "gpt-4.1-mini",
		Created:      time.UnixMilli(1_700_000_000_000 + int64(i)),
		PromptTokens: 100 + i, CompletionTokens: 200 + i,
	}
}

// Store runs the Store contract against s: a miss is (false, nil), Get
// returns what Set stored with every field and an expiry of about the TTL,
// Delete removes, a short TTL expires, and concurrent use from several
// goroutines works. It takes about 1.2 s (it waits for an expiry) and
// leaves keys beginning with "k1", "short" and "c" in s.
func Store(t *testing.T, s cache.Store) {
	t.Helper()
	ctx := context.Background()
	if _, ok, err := s.Get(ctx, "nope"); ok || err != nil {
		t.Fatalf("Get of a missing key = %v, %v", ok, err)
	}
	e := Sample(1)
	e.Prewarmed = true
	if err := s.Set(ctx, "k1", e, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Get(ctx, "k1")
	if err != nil || !ok {
		t.Fatalf("Get after Set = %v, %v", ok, err)
	}
	if got.Answer != e.Answer || got.Question != e.Question || got.Model != e.Model || !got.Prewarmed || !got.Created.Equal(e.Created) ||
		got.PromptTokens != e.PromptTokens || got.CompletionTokens != e.CompletionTokens {
		t.Errorf("Get = %+v, want %+v", got, e)
	}
	if d := time.Until(got.Expires); d <= 59*time.Minute || d > time.Hour {
		t.Errorf("Expires in %v, want about an hour", d)
	}
	if err := s.Delete(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, "k1"); ok {
		t.Error("Get after Delete is a hit")
	}
	// A short TTL expires.
	if err := s.Set(ctx, "short", e, 1100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if _, ok, _ := s.Get(ctx, "short"); ok {
		t.Error("entry outlived its TTL")
	}
	// Concurrent use.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				key := fmt.Sprintf("c%d-%d", i, j)
				if err := s.Set(ctx, key, Sample(j), 0); err != nil {
					t.Error(err)
					return
				}
				if _, _, err := s.Get(ctx, key); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
