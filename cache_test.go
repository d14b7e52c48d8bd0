package companion

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
)

func newMemory(t testing.TB) *cache.Memory {
	m, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func TestExactCache(t *testing.T) {
	c, srv := newTest(t, nil, WithExactCache(newMemory(t)))
	ctx := context.Background()
	q := Question{Text: "What is Newton's second law?", Subject: "physics", Grade: 9, Tenant: "school-a"}
	first, err := c.Ask(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// The same question written differently is the same key.
	q2 := q
	q2.Text = "  what is NEWTON’S second law？"
	hit, err := c.Ask(ctx, q2)
	if err != nil {
		t.Fatal(err)
	}
	if hit.Source != SourceExact || hit.Text != first.Text || hit.Usage != (Usage{}) {
		t.Fatalf("second ask = %+v, want an exact hit", hit)
	}
	// Other tenants, grades, models, system prompts and conversations miss.
	for _, other := range []Question{
		{Text: q.Text, Subject: "physics", Grade: 9, Tenant: "school-b"},
		{Text: q.Text, Subject: "physics", Grade: 10, Tenant: "school-a"},
		{Text: q.Text, Subject: "physics", Grade: 9, Tenant: "school-a", Model: "gpt-4o"},
		{Text: q.Text, Subject: "physics", Grade: 9, Tenant: "school-a", SystemPrompt: "Answer in rhymes."},
		{Text: q.Text, Subject: "physics", Grade: 9, Tenant: "school-a", History: []Message{{Role: RoleUser, Content: "hi"}}},
		{Text: q.Text, Subject: "physics", Grade: 9, Tenant: "school-a", Personal: true},
	} {
		a, err := c.Ask(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if a.Source != SourceUpstream {
			t.Errorf("%+v was served from the cache", other)
		}
	}
	st := c.CacheStats()
	if st.ExactHits != 1 || st.Uncacheable != 1 || st.Lookups != 7 || st.Misses != 6 || st.Stores != 6 {
		t.Errorf("stats = %+v", st)
	}
	if n := srv.RequestCount("/v1/chat/completions"); n != 7 {
		t.Errorf("upstream saw %d requests, want 7", n)
	}
}

func TestPrewarmedSource(t *testing.T) {
	m := newMemory(t)
	c, srv := newTest(t, nil, WithExactCache(m))
	q := Question{Text: "What is density?", Subject: "physics"}
	q.Model = testModel
	if err := m.Set(context.Background(), questionKey(&q), cache.Entry{Answer: "Density is mass per volume.", Prewarmed: true, Model: testModel}, 0); err != nil {
		t.Fatal(err)
	}
	a, err := c.Ask(context.Background(), Question{Text: "What is density?", Subject: "physics"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Source != SourcePrewarmed || a.Text != "Density is mass per volume." || srv.RequestCount("") != 0 {
		t.Errorf("answer = %+v, want the prewarmed one", a)
	}
	if st := c.CacheStats(); st.Prewarmed != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCoalescing(t *testing.T) {
	c, srv := newTest(t, []companiontest.Option{companiontest.WithLatency(companiontest.Latency{FirstToken: 200 * time.Millisecond})},
		WithExactCache(newMemory(t)))
	q := Question{Text: "What is the Pythagorean theorem?"}
	const n = 20
	var wg sync.WaitGroup
	answers := make([]*Answer, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i == 0 { // one waiter gives up; the others still get their answer
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
			}
			answers[i], errs[i] = c.Ask(ctx, q)
		}()
	}
	wg.Wait()
	if !errors.Is(errs[0], context.DeadlineExceeded) {
		t.Errorf("the waiter that gave up got %v", errs[0])
	}
	paid := 0
	for i := 1; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("turn %d: %v", i, errs[i])
		}
		if answers[i].Text != answers[1].Text {
			t.Errorf("turn %d got another answer", i)
		}
		if !answers[i].Coalesced {
			paid++
		}
	}
	if got := srv.RequestCount("/v1/chat/completions"); got != 1 {
		t.Errorf("upstream saw %d requests for %d identical concurrent turns, want 1", got, n)
	}
	if paid > 1 {
		t.Errorf("%d turns report usage; only the one that paid should", paid)
	}
}

func TestCoalescingAllWaitersGone(t *testing.T) {
	released := make(chan time.Time, 1)
	c, _ := newTest(t, []companiontest.Option{companiontest.WithLatency(companiontest.Latency{FirstToken: 5 * time.Second})},
		WithExactCache(newMemory(t)), WithLimiter(releaseSignal{NewSemaphore(10), released}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Ask(ctx, Question{Text: "slow question"}); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Ask = %v", err)
			}
		}()
	}
	wg.Wait()
	select {
	case at := <-released: // the shared upstream call ended early: it was cancelled
		if d := at.Sub(start); d > 3*time.Second {
			t.Errorf("shared call ended after %v", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the shared call was not cancelled when every waiter left")
	}
	if n := c.flights.pending(); n != 0 {
		t.Errorf("%d flights pending", n)
	}
}

// releaseSignal is a limiter that reports when a slot is released.
type releaseSignal struct {
	Limiter
	released chan time.Time
}

func (l releaseSignal) Acquire(ctx context.Context, n int) (func(), error) {
	release, err := l.Limiter.Acquire(ctx, n)
	if err != nil {
		return nil, err
	}
	return func() { release(); l.released <- time.Now() }, nil
}
