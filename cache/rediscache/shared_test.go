package rediscache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/cache/cachetest"
	"github.com/companion-go/companion/semantic"
)

func TestSharedSemantic(t *testing.T) {
	_, rc := newRedis(t)
	ctx := context.Background()
	replica := func() *Shared {
		t.Helper()
		s, err := semantic.NewSemantic()
		if err != nil {
			t.Fatal(err)
		}
		sh, err := NewShared(ctx, s, rc, SharedConfig{ReadBlock: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sh.Close() })
		return sh
	}
	ns := cache.Namespace{Model: "gpt-4.1-mini", Subject: "physics", Tenant: "t1"}
	a, b := replica(), replica()
	e := cache.Entry{Question: "What is Newton's second law?", Answer: "F = m a", Model: "gpt-4.1-mini", PromptTokens: 40, CompletionTokens: 90}
	if err := a.Add(ctx, ns, e, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Lookup(ctx, ns, "What is Newton's second law?"); !ok {
		t.Fatal("the replica that added the entry misses it")
	}
	// The other replica catches up within a second.
	start := time.Now()
	for {
		h, ok, err := b.Lookup(ctx, ns, "what is newtons second law")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			if h.Entry.Answer != e.Answer || h.Entry.CompletionTokens != 90 {
				t.Fatalf("replica b got %+v", h.Entry)
			}
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("replica b did not see the entry within a second")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("replica b caught up in %v", time.Since(start))
	// Other namespaces still miss on b.
	if _, ok, _ := b.Lookup(ctx, cache.Namespace{Model: "gpt-4.1-mini", Subject: "physics", Tenant: "t2"}, e.Question); ok {
		t.Error("another tenant was served the entry")
	}
	// A replica that starts late loads what Redis holds.
	c := replica()
	if _, ok, _ := c.Lookup(ctx, ns, e.Question); !ok {
		t.Error("a late replica did not load the entry")
	}
	if a.Applied() != 0 {
		t.Errorf("replica a applied its own announcement %d times", a.Applied())
	}
}

func TestSharedSemanticRedisDown(t *testing.T) {
	srv, rc := newRedis(t)
	ctx := context.Background()
	s, err := semantic.NewSemantic()
	if err != nil {
		t.Fatal(err)
	}
	sh, err := NewShared(ctx, s, rc, SharedConfig{ReadBlock: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	srv.Stop()
	ns := cache.Namespace{Model: "m"}
	err = sh.Add(ctx, ns, cache.Entry{Question: "What is density?", Answer: "mass per volume"}, time.Hour)
	if err == nil {
		t.Fatal("Add with Redis down reported no error")
	}
	if _, ok, _ := sh.Lookup(ctx, ns, "What is density?"); !ok {
		t.Error("with Redis down the entry was not kept locally")
	}
	time.Sleep(150 * time.Millisecond) // the follower retries without spinning
	srv.Restart()
}

func TestRecordCodec(t *testing.T) {
	r := semantic.Record{ID: "ns:abc", Vector: []float32{0.6, -0.8, 0}, Entry: cachetest.Sample(3), Expires: time.UnixMilli(1_800_000_000_000)}
	b := encodeRecord("ns", &r)
	nsID, got, err := decodeRecord(b)
	if err != nil || nsID != "ns" || got.ID != r.ID || got.Entry != r.Entry || !got.Expires.Equal(r.Expires) || len(got.Vector) != 3 || got.Vector[1] != -0.8 {
		t.Fatalf("round trip: %v %q %+v", err, nsID, got)
	}
	for n := range len(b) {
		if _, _, err := decodeRecord(b[:n]); !errors.Is(err, cache.ErrCorrupt) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	r := semantic.Record{ID: "x", Vector: []float32{1}, Entry: cachetest.Sample(1)}
	f.Add(encodeRecord("ns", &r))
	f.Add([]byte("s\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, _, err := decodeRecord(b); err != nil && !errors.Is(err, cache.ErrCorrupt) {
			t.Fatalf("error %v is not ErrCorrupt", err)
		}
	})
}
