package rediscache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/cache/cachetest"
	"github.com/companion-go/companion/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestCodec(t *testing.T) {
	e := cachetest.Sample(7)
	e.Prewarmed = true
	b := encodeEntry(&e)
	got, err := decodeEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != e {
		t.Errorf("round trip: %+v, want %+v", got, e)
	}
	// Every single-bit flip and every truncation is detected.
	for i := range len(b) * 8 {
		c := append([]byte(nil), b...)
		c[i/8] ^= 1 << (i % 8)
		if _, err := decodeEntry(c); !errors.Is(err, cache.ErrCorrupt) {
			t.Fatalf("bit %d flipped: %v, want ErrCorrupt", i, err)
		}
	}
	for n := range len(b) {
		if _, err := decodeEntry(b[:n]); !errors.Is(err, cache.ErrCorrupt) {
			t.Fatalf("truncated to %d: %v, want ErrCorrupt", n, err)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	e := cachetest.Sample(1)
	f.Add(encodeEntry(&e))
	f.Add([]byte{})
	f.Add([]byte("c\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			if !errors.Is(err, cache.ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		if again := encodeEntry(&e); string(again) != string(b) {
			t.Fatalf("decoded %+v re-encodes differently", e)
		}
	})
}

func newRedis(t *testing.T) (*redistest.Server, *redis.Client) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func TestRedis(t *testing.T) {
	_, c := newRedis(t)
	r, err := New(c, Config{})
	if err != nil {
		t.Fatal(err)
	}
	cachetest.Store(t, r)
	// A corrupt value is reported, deleted and then a plain miss.
	ctx := context.Background()
	if err := c.Set(ctx, "companion:bad", "not an entry at all", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.Get(ctx, "bad"); ok || !errors.Is(err, cache.ErrCorrupt) {
		t.Fatalf("Get of a corrupt value = %v, %v; want ErrCorrupt", ok, err)
	}
	if n := c.Exists(ctx, "companion:bad").Val(); n != 0 {
		t.Error("corrupt value was not deleted")
	}
	if _, err := New(nil, Config{}); !errors.Is(err, cache.ErrInvalidConfig) {
		t.Errorf("New(nil) = %v", err)
	}
}

func TestRedisOutage(t *testing.T) {
	srv, c := newRedis(t)
	r, err := New(c, Config{Backoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Set(ctx, "k", cachetest.Sample(1), 0); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, ok, err := r.Get(ctx, "k"); ok || err == nil {
		t.Fatalf("Get with Redis down = %v, %v; want an error", ok, err)
	}
	// While paused, calls fail at once without touching the network.
	start := time.Now()
	for range 100 {
		if _, _, err := r.Get(ctx, "k"); !errors.Is(err, cache.ErrUnavailable) && err == nil {
			t.Fatal("Get with Redis down succeeded")
		}
	}
	if r.Available() {
		t.Error("Available() with Redis down")
	}
	t.Logf("100 Gets with Redis down took %v", time.Since(start))
	srv.Restart() // empty
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := r.Set(ctx, "k", cachetest.Sample(2), 0)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis not used again after restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e, ok, err := r.Get(ctx, "k"); !ok || err != nil || e.Answer != cachetest.Sample(2).Answer {
		t.Fatalf("Get after restart = %+v, %v, %v", e, ok, err)
	}
}

func TestTiered(t *testing.T) {
	_, c := newRedis(t)
	back, err := New(c, Config{})
	if err != nil {
		t.Fatal(err)
	}
	front, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	tier := cache.NewTiered(front, back)
	cachetest.Store(t, tier)

	// Another replica's memory learns from Redis.
	ctx := context.Background()
	if err := tier.Set(ctx, "shared", cachetest.Sample(3), time.Minute); err != nil {
		t.Fatal(err)
	}
	front2, _ := cache.NewMemory(cache.MemoryConfig{})
	defer front2.Close()
	replica := cache.NewTiered(front2, back)
	if e, ok, err := replica.Get(ctx, "shared"); !ok || err != nil || e.Answer != cachetest.Sample(3).Answer {
		t.Fatalf("replica Get = %v, %v", ok, err)
	}
	if _, ok, _ := front2.Get(ctx, "shared"); !ok {
		t.Error("a back hit was not copied to the front")
	}
}
