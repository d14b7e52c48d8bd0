package cache_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/cache/cachetest"
)

func TestMemory(t *testing.T) {
	m, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cachetest.Store(t, m)
	if _, err := cache.NewMemory(cache.MemoryConfig{MaxBytes: -1}); !errors.Is(err, cache.ErrInvalidConfig) {
		t.Errorf("NewMemory(-1) = %v, want ErrInvalidConfig", err)
	}
}

func TestMemoryBound(t *testing.T) {
	m, err := cache.NewMemory(cache.MemoryConfig{MaxBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	big := cache.Entry{Answer: strings.Repeat("x", 1000)}
	for i := range 1000 { // 1 MB offered to a 64 KiB cache
		_ = m.Set(ctx, fmt.Sprint(i), big, 0)
	}
	held := 0
	for i := range 1000 {
		if _, ok, _ := m.Get(ctx, fmt.Sprint(i)); ok {
			held++
		}
	}
	const size = 1000 + 96 // what the tier charges for big: its strings and a fixed part
	if held*size > 64<<10 {
		t.Errorf("memory tier holds %d entries of %d bytes, over its 64 KiB bound", held, size)
	}
	if held == 0 {
		t.Error("memory tier holds nothing")
	}
}

func TestTiered(t *testing.T) {
	front, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	back, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	cachetest.Store(t, cache.NewTiered(front, back))

	// Another replica's front learns from the shared back.
	ctx := context.Background()
	if err := back.Set(ctx, "shared", cachetest.Sample(3), time.Minute); err != nil {
		t.Fatal(err)
	}
	front2, _ := cache.NewMemory(cache.MemoryConfig{})
	defer front2.Close()
	if e, ok, err := cache.NewTiered(front2, back).Get(ctx, "shared"); !ok || err != nil || e.Answer != cachetest.Sample(3).Answer {
		t.Fatalf("replica Get = %v, %v", ok, err)
	}
	if _, ok, _ := front2.Get(ctx, "shared"); !ok {
		t.Error("a back hit was not copied to the front")
	}
}

func TestKeyNamespaces(t *testing.T) {
	base := cache.Namespace{Model: "gpt-4.1", SystemPrompt: "tutor", Subject: "physics", Grade: 9, Tenant: "a", Locale: "en"}
	q := "What is Newton's second law?"
	k := cache.Key(base, q)
	if cache.Key(base, "  what is NEWTON’S second law ") != k {
		t.Error("normalized variants of a question have different keys")
	}
	for _, other := range []cache.Namespace{
		{Model: "gpt-4o", SystemPrompt: "tutor", Subject: "physics", Grade: 9, Tenant: "a", Locale: "en"},
		{Model: "gpt-4.1", SystemPrompt: "tutor!", Subject: "physics", Grade: 9, Tenant: "a", Locale: "en"},
		{Model: "gpt-4.1", SystemPrompt: "tutor", Subject: "math", Grade: 9, Tenant: "a", Locale: "en"},
		{Model: "gpt-4.1", SystemPrompt: "tutor", Subject: "physics", Grade: 10, Tenant: "a", Locale: "en"},
		{Model: "gpt-4.1", SystemPrompt: "tutor", Subject: "physics", Grade: 9, Tenant: "b", Locale: "en"},
		{Model: "gpt-4.1", SystemPrompt: "tutor", Subject: "physics", Grade: 9, Tenant: "a", Locale: "zh"},
		{Model: "gpt-4.1", SystemPrompt: "tutor", Subject: "physics", Grade: 9, Tenant: "a", Locale: "en", History: cache.HistoryDigest("user", "hi")},
		// Field boundaries are unambiguous.
		{Model: "gpt-4.1t", SystemPrompt: "tutor", Subject: "physics", Grade: 9, Tenant: "", Locale: "en"},
	} {
		if cache.Key(other, q) == k {
			t.Errorf("namespace %+v shares a key with %+v", other, base)
		}
	}
	if cache.HistoryDigest("user", "ab", "assistant", "c") == cache.HistoryDigest("user", "a", "bassistant", "c") {
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
		ns := cache.Namespace{Model: "gpt-5", SystemPrompt: "You are a tutor.", Subject: "math", Grade: 8, Tenant: "t1", Locale: "en",
			History: cache.HistoryDigest("user", "hello", "assistant", "hi")}
		fmt.Fprintf(&b, "%s\n", cache.Key(ns, q))
	}
	return b.String()
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"What is Newton's second law?", "ｓｏｌｖｅ　２ｘ＋３＝７", "解方程 3x - 4 = 11。", "3.5,1:2", "\xff\xfe", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := cache.Normalize(s)
		if cache.Normalize(n) != n {
			t.Fatalf("Normalize is not idempotent: %q -> %q -> %q", s, n, cache.Normalize(n))
		}
		if strings.ToValidUTF8(n, "") != n {
			t.Fatalf("Normalize(%q) = %q is not valid UTF-8", s, n)
		}
	})
}
