package companion

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/batch"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
)

var prewarmTiming = companiontest.BatchTiming{Validating: 5 * time.Millisecond, InProgress: 20 * time.Millisecond, Finalizing: 5 * time.Millisecond}

var fastPoll = PrewarmBatchOptions(batch.WithPollInterval(2*time.Millisecond, 10*time.Millisecond))

// newPrewarmTest returns a Companion with an in-memory exact cache against
// a fake server whose batches take a few tens of milliseconds.
func newPrewarmTest(t *testing.T, sopts []companiontest.Option, copts ...Option) (*Companion, *companiontest.Server) {
	t.Helper()
	mem, err := cache.NewMemory(cache.MemoryConfig{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	return newTest(t, append([]companiontest.Option{companiontest.WithBatchTiming(prewarmTiming)}, sopts...),
		append([]Option{WithExactCache(mem)}, copts...)...)
}

var hot = []Question{
	{Text: "What is Newton's second law?", Subject: "physics", Grade: 9, SystemPrompt: "You are a physics tutor."},
	{Text: "牛顿第二定律的例子", Subject: "physics", Grade: 9, SystemPrompt: "You are a physics tutor."},
	{Text: "What is 12*7?", Subject: "math", Grade: 5},
}

func TestPrewarmBatchThenAskIsAHit(t *testing.T) {
	c, srv := newPrewarmTest(t, nil)
	ctx := context.Background()
	var (
		mu    sync.Mutex
		calls [][3]int
	)
	qs := append(append([]Question(nil), hot...),
		Question{Text: "what is newtons second law", Subject: "physics", Grade: 9, SystemPrompt: "You are a physics tutor."}, // same key as hot[0]
		Question{Text: "How am I doing in physics?", Personal: true})
	rep, err := c.Prewarm(ctx, qs, fastPoll, PrewarmProgress(func(d, f, n int) {
		mu.Lock()
		calls = append(calls, [3]int{d, f, n})
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != PrewarmBatch || rep.Total != 4 || rep.Stored != 3 || rep.Failed != 1 || rep.Cached != 0 || len(rep.BatchIDs) != 1 {
		t.Fatalf("report = %+v", rep)
	}
	if !rep.Items[3].Duplicate || !rep.Items[3].Stored || rep.Items[3].Key != rep.Items[0].Key {
		t.Errorf("duplicate item = %+v", rep.Items[3])
	}
	var ie *InputError
	if !errors.Is(rep.Items[4].Err, ErrPersonal) || !errors.As(rep.Items[4].Err, &ie) || rep.Items[4].Stored {
		t.Errorf("personal item = %+v", rep.Items[4])
	}
	if last := calls[len(calls)-1]; last != [3]int{4, 1, 4} {
		t.Errorf("progress calls %v, want to end at (4, 1, 4)", calls)
	}
	if rep.Usage.PromptTokens == 0 || rep.CostBatch <= 0 || rep.Cost != rep.CostBatch || math.Abs(rep.CostOnline-2*rep.CostBatch) > 1e-12 {
		t.Errorf("usage %+v, cost %v, batch %v, online %v", rep.Usage, rep.Cost, rep.CostBatch, rep.CostOnline)
	}
	// The batch ran the requests; no chat call was made online.
	if n := srv.RequestCount("/v1/chat/completions"); n != 0 {
		t.Errorf("%d online chat calls", n)
	}

	// Asking is now a prewarmed hit, with the batch's answer.
	for _, q := range append(hot, qs[3]) {
		a, err := c.Ask(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if a.Source != SourcePrewarmed || a.Text == "" || a.CostSaved <= 0 {
			t.Errorf("Ask(%q) = %+v, want a prewarmed hit", q.Text, a)
		}
	}
	if n := srv.RequestCount("/v1/chat/completions"); n != 0 {
		t.Errorf("%d chat calls after prewarming", n)
	}
	if s := c.CacheStats(); s.Prewarmed != 4 {
		t.Errorf("stats %+v", s)
	}

	// Prewarming again finds them cached.
	rep, err = c.Prewarm(ctx, hot, fastPoll)
	if err != nil || rep.Cached != 3 || rep.Total != 0 || srv.RequestCount("/v1/batches") != 1 {
		t.Errorf("second prewarm: %+v, %v", rep, err)
	}
}

// The prompt a batch sends is the one Ask sends: the answer Ask gets
// online equals the prewarmed one.
func TestPrewarmSameRequestAsAsk(t *testing.T) {
	c, _ := newPrewarmTest(t, nil)
	ctx := context.Background()
	rep, err := c.Prewarm(ctx, hot[:1], fastPoll)
	if err != nil || rep.Stored != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	pre, err := c.Ask(ctx, hot[0])
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := newTest(t, nil)
	online, err := plain.Ask(ctx, hot[0])
	if err != nil {
		t.Fatal(err)
	}
	if pre.Text != online.Text || pre.Source != SourcePrewarmed {
		t.Errorf("prewarmed %q (%v), online %q", pre.Text, pre.Source, online.Text)
	}
}

func TestPrewarmOnlineWhenDeadlineIsShort(t *testing.T) {
	c, srv := newPrewarmTest(t, nil)
	ctx := context.Background()
	rep, err := c.Prewarm(ctx, hot, PrewarmDeadline(10*time.Second), PrewarmConcurrency(2))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != PrewarmOnline || rep.Stored != 3 || rep.Cost != rep.CostOnline || rep.CostOnline <= rep.CostBatch {
		t.Errorf("report = %+v", rep)
	}
	if srv.RequestCount("/v1/chat/completions") != 3 || srv.RequestCount("/v1/batches") != 0 {
		t.Errorf("%d chat calls, %d batches", srv.RequestCount("/v1/chat/completions"), srv.RequestCount("/v1/batches"))
	}
	a, err := c.Ask(ctx, hot[2])
	if err != nil || a.Source != SourcePrewarmed {
		t.Errorf("Ask = %+v, %v", a, err)
	}
}

func TestPrewarmNeedsExactCache(t *testing.T) {
	c, _ := newTest(t, nil)
	if _, err := c.Prewarm(context.Background(), hot); !errors.Is(err, ErrNoExactCache) {
		t.Errorf("err = %v, want ErrNoExactCache", err)
	}
	c2, _ := newPrewarmTest(t, nil)
	if _, err := c2.Prewarm(context.Background(), hot, PrewarmTTL(0)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("err = %v, want ErrInvalidConfig", err)
	}
}

type postFunc func(ctx context.Context, q *Question, answer string) (Verdict, error)

func (f postFunc) Check(ctx context.Context, q *Question, answer string) (Verdict, error) {
	return f(ctx, q, answer)
}

func TestPrewarmStoresOnlyCleanCompleteAnswers(t *testing.T) {
	post := postFunc(func(_ context.Context, q *Question, a string) (Verdict, error) {
		switch {
		case strings.Contains(q.Text, "12*7"):
			return Verdict{Action: Block, Reasons: []string{"test"}}, nil
		case strings.Contains(q.Text, "牛顿"):
			return Verdict{Action: Rewrite, Text: "***", Reasons: []string{"word:test"}}, nil
		}
		return Verdict{}, nil
	})
	c, _ := newPrewarmTest(t, nil, WithPostProcessor(post))
	qs := append(append([]Question(nil), hot...), Question{Text: "Explain photosynthesis in detail", MaxTokens: 3})
	rep, err := c.Prewarm(context.Background(), qs, fastPoll)
	if err != nil {
		t.Fatal(err)
	}
	var be *BlockedError
	if !rep.Items[0].Stored || !errors.As(rep.Items[2].Err, &be) || !errors.Is(rep.Items[1].Err, ErrNotCacheable) ||
		!errors.Is(rep.Items[3].Err, ErrNotCacheable) || !strings.Contains(rep.Items[3].Err.Error(), "length") {
		t.Errorf("items = %+v", rep.Items)
	}
	if rep.Stored != 1 || rep.Failed != 3 {
		t.Errorf("stored %d, failed %d", rep.Stored, rep.Failed)
	}
}

func TestPrewarmResumeAfterRestart(t *testing.T) {
	c, srv := newPrewarmTest(t, nil)
	ctx, stop := context.WithCancel(context.Background())
	var ids []string
	_, err := c.Prewarm(ctx, hot, fastPoll, PrewarmBatchOptions(batch.WithOnCreated(func(_ context.Context, id string) error {
		ids = append(ids, id)
		stop() // the process stops once the id is safe
		return nil
	})))
	if !errors.Is(err, context.Canceled) || len(ids) != 1 {
		t.Fatalf("err = %v, ids %v", err, ids)
	}
	rep, err := c.Prewarm(context.Background(), hot, fastPoll, PrewarmResume(ids...))
	if err != nil || rep.Stored != 3 || rep.BatchIDs[0] != ids[0] {
		t.Fatalf("resume: %+v, %v", rep, err)
	}
	if srv.RequestCount("/v1/batches") != 1 {
		t.Errorf("resume created a batch")
	}
	if a, err := c.Ask(context.Background(), hot[1]); err != nil || a.Source != SourcePrewarmed {
		t.Errorf("Ask = %+v, %v", a, err)
	}
}

func TestPrewarmExpiredBatchKeepsWhatRan(t *testing.T) {
	c, _ := newPrewarmTest(t, []companiontest.Option{companiontest.WithBatchBehavior(companiontest.BatchBehavior{Expire: true})})
	qs := append(append([]Question(nil), hot...), Question{Text: "What is 9*8?"})
	rep, err := c.Prewarm(context.Background(), qs, fastPoll)
	if !errors.Is(err, batch.ErrExpired) {
		t.Fatalf("err = %v, want batch.ErrExpired", err)
	}
	var ie *batch.ItemError
	if rep.Stored != 2 || rep.Failed != 2 || !errors.As(rep.Items[3].Err, &ie) || ie.Code != "batch_expired" {
		t.Errorf("report %+v", rep)
	}
}

// Prewarming the hottest questions through the Batch API of the fake
// server (its batches take milliseconds; the real API's up to 24 hours),
// then asking one: a prewarmed cache hit.
func ExampleCompanion_Prewarm() {
	srv := companiontest.NewServer(companiontest.WithBatchTiming(companiontest.BatchTiming{
		Validating: 5 * time.Millisecond, InProgress: 5 * time.Millisecond, Finalizing: 5 * time.Millisecond,
	}))
	defer srv.Close()
	mem, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		panic(err)
	}
	defer mem.Close()
	c, err := New(WithBaseURL(srv.URL), WithModel("gpt-4.1-mini"), WithExactCache(mem))
	if err != nil {
		panic(err)
	}
	defer c.Close()

	log := []string{"What is Newton's second law?", "what is newtons second law", "Solve 2x + 3 = 7", "牛顿第二定律是什么？"}
	var qs []Question
	for _, h := range batch.HotQuestions(log, 2) {
		qs = append(qs, Question{Text: h.Text, Subject: "physics", Grade: 9})
	}
	ctx := context.Background()
	rep, err := c.Prewarm(ctx, qs, PrewarmBatchOptions(batch.WithPollInterval(5*time.Millisecond, 50*time.Millisecond)))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %d stored, %d failed; online would cost %.0f× as much\n", rep.Mode, rep.Stored, rep.Failed, rep.CostOnline/rep.CostBatch)

	a, err := c.Ask(ctx, Question{Text: "What is Newton’s second law?", Subject: "physics", Grade: 9})
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Source)
	// Output:
	// batch: 2 stored, 0 failed; online would cost 2× as much
	// prewarmed
}
