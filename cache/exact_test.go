package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func sample(i int) Entry {
	return Entry{
		Answer:       fmt.Sprintf("answer %d: F = m × a, 牛顿第二定律", i),
		Question:     fmt.Sprintf("question %d", i),
		Model:        "gpt-4.1-mini",
		Created:      time.UnixMilli(1_700_000_000_000 + int64(i)),
		PromptTokens: 100 + i, CompletionTokens: 200 + i,
	}
}

// testStore runs the Store contract against s.
func testStore(t *testing.T, s Store) {
	ctx := context.Background()
	if _, ok, err := s.Get(ctx, "nope"); ok || err != nil {
		t.Fatalf("Get of a missing key = %v, %v", ok, err)
	}
	e := sample(1)
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
				if err := s.Set(ctx, key, sample(j), 0); err != nil {
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

func TestMemory(t *testing.T) {
	m, err := NewMemory(MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	testStore(t, m)
	if _, err := NewMemory(MemoryConfig{MaxBytes: -1}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewMemory(-1) = %v, want ErrInvalidConfig", err)
	}
}

func TestMemoryBound(t *testing.T) {
	m, err := NewMemory(MemoryConfig{MaxBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	big := Entry{Answer: strings.Repeat("x", 1000)}
	for i := range 1000 { // 1 MB offered to a 64 KiB cache
		_ = m.Set(ctx, fmt.Sprint(i), big, 0)
	}
	held := 0
	for i := range 1000 {
		if _, ok, _ := m.Get(ctx, fmt.Sprint(i)); ok {
			held++
		}
	}
	if held*int(big.size()) > 64<<10 {
		t.Errorf("memory tier holds %d entries of %d bytes, over its 64 KiB bound", held, big.size())
	}
	if held == 0 {
		t.Error("memory tier holds nothing")
	}
}

func TestCodec(t *testing.T) {
	e := sample(7)
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
		if _, err := decodeEntry(c); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("bit %d flipped: %v, want ErrCorrupt", i, err)
		}
	}
	for n := range len(b) {
		if _, err := decodeEntry(b[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d: %v, want ErrCorrupt", n, err)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	e := sample(1)
	f.Add(encodeEntry(&e))
	f.Add([]byte{})
	f.Add([]byte("c\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
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
	r, err := NewRedis(c, RedisConfig{})
	if err != nil {
		t.Fatal(err)
	}
	testStore(t, r)
	// A corrupt value is reported, deleted and then a plain miss.
	ctx := context.Background()
	if err := c.Set(ctx, "companion:bad", "not an entry at all", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.Get(ctx, "bad"); ok || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a corrupt value = %v, %v; want ErrCorrupt", ok, err)
	}
	if n := c.Exists(ctx, "companion:bad").Val(); n != 0 {
		t.Error("corrupt value was not deleted")
	}
	if _, err := NewRedis(nil, RedisConfig{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewRedis(nil) = %v", err)
	}
}

func TestRedisOutage(t *testing.T) {
	srv, c := newRedis(t)
	r, err := NewRedis(c, RedisConfig{Backoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Set(ctx, "k", sample(1), 0); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, ok, err := r.Get(ctx, "k"); ok || err == nil {
		t.Fatalf("Get with Redis down = %v, %v; want an error", ok, err)
	}
	// While paused, calls fail at once without touching the network.
	start := time.Now()
	for range 100 {
		if _, _, err := r.Get(ctx, "k"); !errors.Is(err, ErrUnavailable) && err == nil {
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
		err := r.Set(ctx, "k", sample(2), 0)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis not used again after restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e, ok, err := r.Get(ctx, "k"); !ok || err != nil || e.Answer != sample(2).Answer {
		t.Fatalf("Get after restart = %+v, %v, %v", e, ok, err)
	}
}

func TestTiered(t *testing.T) {
	_, c := newRedis(t)
	back, err := NewRedis(c, RedisConfig{})
	if err != nil {
		t.Fatal(err)
	}
	front, err := NewMemory(MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	tier := NewTiered(front, back)
	testStore(t, tier)

	// Another replica's memory learns from Redis.
	ctx := context.Background()
	if err := tier.Set(ctx, "shared", sample(3), time.Minute); err != nil {
		t.Fatal(err)
	}
	front2, _ := NewMemory(MemoryConfig{})
	defer front2.Close()
	replica := NewTiered(front2, back)
	if e, ok, err := replica.Get(ctx, "shared"); !ok || err != nil || e.Answer != sample(3).Answer {
		t.Fatalf("replica Get = %v, %v", ok, err)
	}
	if _, ok, _ := front2.Get(ctx, "shared"); !ok {
		t.Error("a back hit was not copied to the front")
	}
}

func TestKeyNamespaces(t *testing.T) {
	base := Namespace{Model: "gpt-4.1", SystemPrompt: "tutor", Subject: "physics", Grade: 9, Tenant: "a", Locale: "en"}
	q := "What is Newton's second law?"
	k := Key(base, q)
	if Key(base, "  what is NEWTON’S second law ") != k {
		t.Error("normalized variants of a question have different keys")
	}
	for _, other := range []Namespace{
		{Model: "gpt-4o", SystemPrompt: "tutor", Subject: "physics", Grade: 9, Tenant: "a", Locale: "en"},
		{Model: "gpt-4.1", SystemPrompt: "tutor!", Subject: "physics", Grade: 9, Tenant: "a", Locale: "en"},
		{Model: "gpt-4.1", SystemPrompt: "tutor", Subject: "math", Grade: 9, Tenant: "a", Locale: "en"},
		{Model: "gpt-4.1", SystemPrompt: "tutor", Subject: "physics", Grade: 10, Tenant: "a", Locale: "en"},
		{Model: "gpt-4.1", SystemPrompt: "tutor", Subject: "physics", Grade: 9, Tenant: "b", Locale: "en"},
		{Model: "gpt-4.1", SystemPrompt: "tutor", Subject: "physics", Grade: 9, Tenant: "a", Locale: "zh"},
		{Model: "gpt-4.1", SystemPrompt: "tutor", Subject: "physics", Grade: 9, Tenant: "a", Locale: "en", History: HistoryDigest("user", "hi")},
		// Field boundaries are unambiguous.
		{Model: "gpt-4.1t", SystemPrompt: "tutor", Subject: "physics", Grade: 9, Tenant: "", Locale: "en"},
	} {
		if Key(other, q) == k {
			t.Errorf("namespace %+v shares a key with %+v", other, base)
		}
	}
	if HistoryDigest("user", "ab", "assistant", "c") == HistoryDigest("user", "a", "bassistant", "c") {
		t.Error("history digest is ambiguous")
	}
}

// The same request gives the same key in another process.
func TestKeyAcrossProcesses(t *testing.T) {
	if os.Getenv("CACHE_KEY_CHILD") == "1" {
		fmt.Print(keysForProcessTest())
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeyAcrossProcesses$")
	cmd.Env = append(os.Environ(), "CACHE_KEY_CHILD=1", "GODEBUG=randseednop=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child process: %v", err)
	}
	want := keysForProcessTest()
	if !strings.Contains(string(out), want) {
		t.Errorf("child computed\n%s\nwant\n%s", out, want)
	}
}

func keysForProcessTest() string {
	var b strings.Builder
	for _, q := range []string{"What is Newton's second law?", "解方程 3x - 4 = 11", "Solve 2x + 3 = 7.5"} {
		ns := Namespace{Model: "gpt-5", SystemPrompt: "You are a tutor.", Subject: "math", Grade: 8, Tenant: "t1", Locale: "en",
			History: HistoryDigest("user", "hello", "assistant", "hi")}
		fmt.Fprintf(&b, "%s\n", Key(ns, q))
	}
	return b.String()
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"What is Newton's second law?", "ｓｏｌｖｅ　２ｘ＋３＝７", "解方程 3x - 4 = 11。", "3.5,1:2", "\xff\xfe", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Fatalf("Normalize is not idempotent: %q -> %q -> %q", s, n, Normalize(n))
		}
		if strings.ToValidUTF8(n, "") != n {
			t.Fatalf("Normalize(%q) = %q is not valid UTF-8", s, n)
		}
	})
}
