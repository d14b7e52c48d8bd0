package semantic

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/internal/leak"
	"github.com/companion-go/companion/semantic/internal/index"
)

func TestMain(m *testing.M) {
	leak.VerifyTestMain(m)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

var nsMaths = cache.Namespace{Model: "gpt-4o-mini", SystemPrompt: "You are a tutor.", Subject: "maths", Grade: 8, Tenant: "school-1"}

func mustSemantic(t testing.TB, opts ...SemanticOption) *Semantic {
	t.Helper()
	s, err := NewSemantic(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSemanticHitAndMiss(t *testing.T) {
	ctx := context.Background()
	s := mustSemantic(t)
	if s.Threshold() != LocalThreshold {
		t.Fatalf("threshold %v, want the local embedder's %v", s.Threshold(), LocalThreshold)
	}
	if err := s.Add(ctx, nsMaths, cache.Entry{Question: "Solve 2x + 3 = 7.", Answer: "x = 2"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctx, nsMaths, cache.Entry{Question: "What is Newton's second law?", Answer: "F = ma"}, 0); err != nil {
		t.Fatal(err)
	}
	hit, ok, err := s.Lookup(ctx, nsMaths, "Solve for x: 2x+3=7")
	if err != nil || !ok {
		t.Fatalf("paraphrase missed: %v %v", ok, err)
	}
	if hit.Entry.Answer != "x = 2" || hit.Similarity < s.Threshold() || hit.Similarity > 1.0001 {
		t.Errorf("hit %+v", hit)
	}
	for _, q := range []string{
		"Solve 2x + 3 = 9.",           // number
		"Solve 2x - 3 = 7.",           // formula
		"What is Newton's third law?", // ordinal
		"Why is the sky blue?",        // unrelated
	} {
		if hit, ok, err := s.Lookup(ctx, nsMaths, q); err != nil || ok {
			t.Errorf("Lookup(%q) = %+v, %v, %v; want a miss", q, hit, ok, err)
		}
	}
	st := s.Stats()
	if st.Lookups != 5 || st.Hits != 1 || st.Misses != 4 || st.Entries != 2 || st.Namespaces != 1 {
		t.Errorf("stats %+v", st)
	}
	if st.Rejections[ReasonNumber] != 2 || st.Rejections[ReasonFormula] != 1 || st.BelowThreshold != 1 {
		t.Errorf("rejections %v, below threshold %d", st.Rejections, st.BelowThreshold)
	}
	if r := st.HitRatio(); r != 0.2 {
		t.Errorf("hit ratio %v", r)
	}
}

func TestSemanticNamespaces(t *testing.T) {
	ctx := context.Background()
	s := mustSemantic(t)
	s.Add(ctx, nsMaths, cache.Entry{Question: "What is photosynthesis?", Answer: "maths tenant"}, 0)
	for _, ns := range []cache.Namespace{
		{Model: nsMaths.Model, SystemPrompt: nsMaths.SystemPrompt, Subject: "maths", Grade: 8, Tenant: "school-2"},
		{Model: "gpt-4o", SystemPrompt: nsMaths.SystemPrompt, Subject: "maths", Grade: 8, Tenant: "school-1"},
		{Model: nsMaths.Model, SystemPrompt: "Other prompt", Subject: "maths", Grade: 8, Tenant: "school-1"},
		{Model: nsMaths.Model, SystemPrompt: nsMaths.SystemPrompt, Subject: "maths", Grade: 9, Tenant: "school-1"},
		{Model: nsMaths.Model, SystemPrompt: nsMaths.SystemPrompt, Subject: "maths", Grade: 8, Tenant: "school-1", History: cache.HistoryDigest("user", "hi")},
	} {
		if _, ok, _ := s.Lookup(ctx, ns, "What is photosynthesis?"); ok {
			t.Errorf("namespace %+v met another's entry", ns)
		}
	}
	if _, ok, _ := s.Lookup(ctx, nsMaths, "Can you explain photosynthesis?"); !ok {
		t.Error("own namespace missed")
	}
}

func TestSemanticTTLAndPurge(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := mustSemantic(t, WithSemanticClock(clk.Now), WithSemanticTTL(time.Hour))
	s.Add(ctx, nsMaths, cache.Entry{Question: "What is photosynthesis?", Answer: "a"}, 0)
	s.Add(ctx, nsMaths, cache.Entry{Question: "What is the capital of France?", Answer: "Paris"}, 3*time.Hour)
	clk.Add(2 * time.Hour)
	if _, ok, _ := s.Lookup(ctx, nsMaths, "What is photosynthesis?"); ok {
		t.Error("expired entry served")
	}
	if _, ok, _ := s.Lookup(ctx, nsMaths, "What is the capital of France?"); !ok {
		t.Error("live entry missed")
	}
	if n := s.Purge(); n != 1 || s.Len() != 1 {
		t.Errorf("Purge = %d, Len = %d", n, s.Len())
	}
	clk.Add(2 * time.Hour)
	// An Add after purgeEvery purges the rest.
	s.Add(ctx, cache.Namespace{Tenant: "other"}, cache.Entry{Question: "What is an atom?", Answer: "a"}, 0)
	if s.Len() != 1 || s.Stats().Namespaces != 1 || s.Stats().Expired != 2 {
		t.Errorf("after auto purge: %+v", s.Stats())
	}
	if err := s.Add(ctx, nsMaths, cache.Entry{Question: "q", Answer: "a"}, -time.Second); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("negative TTL: %v", err)
	}
}

func TestSemanticEviction(t *testing.T) {
	ctx := context.Background()
	s := mustSemantic(t, WithSemanticMaxEntries(10))
	for i := range 25 {
		ns := cache.Namespace{Tenant: fmt.Sprint("t", i%3)}
		if err := s.Add(ctx, ns, cache.Entry{Question: fmt.Sprintf("What is %d times %d?", i, i+1), Answer: "a"}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != 10 {
		t.Fatalf("Len = %d", s.Len())
	}
	if st := s.Stats(); st.Evictions != 15 {
		t.Errorf("evictions %d", st.Evictions)
	}
	// The newest survive, the oldest are gone.
	if _, ok, _ := s.Lookup(ctx, cache.Namespace{Tenant: "t0"}, "What is 24 times 25?"); !ok {
		t.Error("newest entry evicted")
	}
	if _, ok, _ := s.Lookup(ctx, cache.Namespace{Tenant: "t0"}, "What is 0 times 1?"); ok {
		t.Error("oldest entry kept")
	}
	// Replacing an entry does not count twice.
	for range 5 {
		s.Add(ctx, cache.Namespace{Tenant: "t0"}, cache.Entry{Question: "What is 24 times 25?", Answer: "600"}, 0)
	}
	if s.Len() != 10 {
		t.Errorf("Len after replacing = %d", s.Len())
	}
	hit, _, _ := s.Lookup(ctx, cache.Namespace{Tenant: "t0"}, "What is 24 times 25?")
	if hit.Entry.Answer != "600" {
		t.Errorf("replaced answer %q", hit.Entry.Answer)
	}
}

func TestSemanticIndexKinds(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []SemanticOption
		want string
	}{
		{"auto grows", []SemanticOption{WithHNSWAbove(20)}, "*index.HNSW"},
		{"flat", []SemanticOption{WithIndex(IndexFlat), WithHNSWAbove(20)}, "*index.FlatIndex"},
		{"hnsw", []SemanticOption{WithIndex(IndexHNSW), WithHNSW(HNSWConfig{M: 8})}, "*index.HNSW"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSemantic(t, tc.opts...)
			for i := range 40 {
				s.Add(ctx, nsMaths, cache.Entry{Question: fmt.Sprintf("What is %d plus %d?", i, 2*i), Answer: fmt.Sprint(3 * i)}, 0)
			}
			p := s.parts[nsMaths.ID()]
			if got := fmt.Sprintf("%T", p.index); got != tc.want {
				t.Errorf("index %s, want %s", got, tc.want)
			}
			if p.index.Len() != 40 || p.shadow != nil {
				t.Errorf("index holds %d entries, shadow %v", p.index.Len(), p.shadow != nil)
			}
			for i := range 40 {
				hit, ok, err := s.Lookup(ctx, nsMaths, fmt.Sprintf("what is %d plus %d", i, 2*i))
				if err != nil || !ok || hit.Entry.Answer != fmt.Sprint(3*i) {
					t.Fatalf("%d: %+v %v %v", i, hit, ok, err)
				}
			}
		})
	}
}

func TestSemanticGrowsWhileDeleting(t *testing.T) {
	ctx := context.Background()
	s := mustSemantic(t, WithHNSWAbove(100))
	for i := range 300 {
		s.Add(ctx, nsMaths, cache.Entry{Question: fmt.Sprintf("What is %d plus %d?", i, 2*i), Answer: fmt.Sprint(3 * i)}, 0)
		if i%3 == 0 && i > 0 {
			s.Delete(nsMaths, fmt.Sprintf("What is %d plus %d?", i-1, 2*(i-1)))
		}
	}
	p := s.parts[nsMaths.ID()]
	if _, ok := p.index.(*index.HNSW); !ok {
		t.Fatalf("index %T", p.index)
	}
	if p.index.Len() != s.Len() || s.Len() != len(p.entries) {
		t.Fatalf("index %d, tier %d, entries %d", p.index.Len(), s.Len(), len(p.entries))
	}
	for id := range p.entries {
		found := false
		p.index.Range(func(x string, _ []float32, _ time.Time) bool {
			found = x == id
			return !found
		})
		if !found {
			t.Fatalf("entry %s missing from the index", id)
		}
	}
}

func TestSemanticPutRangeDelete(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	a := mustSemantic(t, WithSemanticClock(clk.Now))
	b := mustSemantic(t, WithSemanticClock(clk.Now))
	a.Add(ctx, nsMaths, cache.Entry{Question: "What is photosynthesis?", Answer: "light to sugar"}, time.Hour)
	a.Add(ctx, nsMaths, cache.Entry{Question: "What is an atom?", Answer: "a"}, time.Hour)
	// Copy a's records to b, as a replica would.
	n := 0
	a.Range(func(nsID string, r Record) bool {
		n++
		if err := b.Put(nsID, r); err != nil {
			t.Fatal(err)
		}
		return true
	})
	if n != 2 || b.Len() != 2 {
		t.Fatalf("copied %d, b has %d", n, b.Len())
	}
	hit, ok, _ := b.Lookup(ctx, nsMaths, "Can you explain photosynthesis?")
	if !ok || hit.Entry.Answer != "light to sugar" || hit.ID != cache.KeyIn(nsMaths.ID(), "What is photosynthesis?") {
		t.Fatalf("replica lookup: %+v %v", hit, ok)
	}
	if !b.DeleteID(nsMaths.ID(), hit.ID) || b.DeleteID(nsMaths.ID(), hit.ID) {
		t.Error("DeleteID")
	}
	if !a.Delete(nsMaths, "What is an atom?") || a.Len() != 1 {
		t.Error("Delete")
	}
	if err := b.Put(nsMaths.ID(), Record{ID: "x", Vector: []float32{1, 2}, Entry: cache.Entry{Question: "q"}}); !errors.Is(err, ErrDimension) {
		t.Errorf("wrong dimensions: %v", err)
	}
	if err := b.Put(nsMaths.ID(), Record{ID: "", Vector: []float32{1}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("empty id: %v", err)
	}
	if err := b.Put("other", Record{ID: "x"}); !errors.Is(err, ErrInvalidVector) {
		t.Errorf("no vector: %v", err)
	}
	// An expired record is ignored.
	if err := b.Put("ns", Record{ID: "old", Vector: []float32{1}, Expires: clk.Now()}); err != nil || b.Stats().Namespaces != 1 {
		t.Errorf("expired record: %v, %d namespaces", err, b.Stats().Namespaces)
	}
}

func TestSemanticBadInput(t *testing.T) {
	ctx := context.Background()
	s := mustSemantic(t)
	for _, q := range []string{"", "   ", "\n\t"} {
		if _, _, err := s.Lookup(ctx, nsMaths, q); !errors.Is(err, ErrEmptyQuestion) {
			t.Errorf("Lookup(%q): %v", q, err)
		}
		if err := s.Add(ctx, nsMaths, cache.Entry{Question: q}, 0); !errors.Is(err, ErrEmptyQuestion) {
			t.Errorf("Add(%q): %v", q, err)
		}
	}
	if err := s.Add(ctx, nsMaths, cache.Entry{Question: "???"}, 0); !errors.Is(err, ErrInvalidVector) {
		t.Errorf("nothing to embed: %v", err)
	}
	if s.Stats().Namespaces != 0 {
		t.Error("a failed Add left a namespace")
	}
	for _, q := range []string{"\xff\xfe\xfd", "什么\xff是", "x\x00y"} {
		if err := s.Add(ctx, nsMaths, cache.Entry{Question: q, Answer: "a"}, 0); err != nil {
			t.Errorf("Add(%q): %v", q, err)
		}
		if _, _, err := s.Lookup(ctx, nsMaths, q); err != nil {
			t.Errorf("Lookup(%q): %v", q, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.Lookup(cctx, nsMaths, "What is an atom?"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled lookup: %v", err)
	}
	var nilS *Semantic
	if _, ok, err := nilS.Lookup(ctx, nsMaths, "q"); ok || err != nil {
		t.Error("nil Semantic")
	}
	for _, o := range []SemanticOption{WithThreshold(0), WithThreshold(2), WithEmbedder(nil), WithIndex(9),
		WithHNSWAbove(0), WithHNSW(HNSWConfig{M: 1}), WithSemanticTTL(0), WithSemanticMaxEntries(0),
		WithCandidates(0), WithSemanticClock(nil)} {
		if _, err := NewSemantic(o); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("option: %v", err)
		}
	}
}

func TestSemanticThresholdDefaults(t *testing.T) {
	// An embedder without a calibrated threshold gets DefaultThreshold.
	s := mustSemantic(t, WithEmbedder(plainEmbedder{}))
	if s.Threshold() != DefaultThreshold {
		t.Errorf("threshold %v", s.Threshold())
	}
	s = mustSemantic(t, WithThreshold(0.8))
	if s.Threshold() != 0.8 {
		t.Errorf("threshold %v", s.Threshold())
	}
	// Without the rules the threshold alone decides: for measurement only.
	ctx := context.Background()
	s = mustSemantic(t, WithThresholdOnly())
	s.Add(ctx, nsMaths, cache.Entry{Question: "Solve 2x + 3 = 7.", Answer: "x = 2"}, 0)
	if _, ok, _ := s.Lookup(ctx, nsMaths, "Solve 2x + 3 = 9."); !ok {
		t.Error("without the rules, a near question should hit")
	}
	// A wrapper keeps the threshold of what it wraps.
	le, _ := NewLocalEmbedder(WithEmbedderThreshold(0.7))
	s = mustSemantic(t, WithEmbedder(wrapped{le}))
	if s.Threshold() != 0.7 {
		t.Errorf("wrapped embedder: threshold %v, want 0.7", s.Threshold())
	}
}

// wrapped is an embedder wrapping another, as a metrics decorator would.
type wrapped struct{ e Embedder }

func (w wrapped) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return w.e.Embed(ctx, texts)
}
func (w wrapped) Unwrap() Embedder { return w.e }

// plainEmbedder wraps the local embedder without its Calibrated method.
type plainEmbedder struct{}

func (plainEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e, _ := NewLocalEmbedder()
	return e.Embed(ctx, texts)
}

// failingEmbedder fails every call.
type failingEmbedder struct{}

func (failingEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("boom")
}

func TestSemanticEmbedderErrors(t *testing.T) {
	ctx := context.Background()
	good := mustSemantic(t)
	good.Add(ctx, nsMaths, cache.Entry{Question: "What is an atom?", Answer: "a"}, 0)
	s := mustSemantic(t, WithEmbedder(failingEmbedder{}))
	if err := s.Add(ctx, nsMaths, cache.Entry{Question: "What is an atom?"}, 0); err == nil {
		t.Error("Add with a failing embedder")
	}
	// A lookup in an empty namespace does not embed, so does not fail.
	if _, ok, err := s.Lookup(ctx, nsMaths, "What is an atom?"); ok || err != nil {
		t.Errorf("empty namespace: %v %v", ok, err)
	}
	good.Range(func(nsID string, r Record) bool { s.Put(nsID, r); return true })
	if _, _, err := s.Lookup(ctx, nsMaths, "What is an atom?"); err == nil || s.Stats().Errors != 1 {
		t.Errorf("lookup with a failing embedder: %v, %+v", err, s.Stats())
	}
}

func TestSemanticConcurrent(t *testing.T) {
	ctx := context.Background()
	s := mustSemantic(t, WithHNSWAbove(50), WithSemanticMaxEntries(300))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := cache.Namespace{Tenant: fmt.Sprint("t", w%2)}
			for i := range 200 {
				q := fmt.Sprintf("What is %d times %d?", i, w)
				if err := s.Add(ctx, ns, cache.Entry{Question: q, Answer: "a"}, 0); err != nil {
					t.Error(err)
					return
				}
				if _, _, err := s.Lookup(ctx, ns, q); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					s.Delete(ns, fmt.Sprintf("What is %d times %d?", i/2, w))
				}
				if i%50 == 0 {
					s.Purge()
					s.Stats()
				}
			}
		}()
	}
	wg.Wait()
	if n := s.Len(); n > 300 || n < 1 {
		t.Errorf("Len = %d", n)
	}
	total := 0
	s.Range(func(string, Record) bool { total++; return true })
	if total != s.Len() {
		t.Errorf("Range saw %d, Len %d", total, s.Len())
	}
}
