package semantic

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
	openai "github.com/sashabaranov/go-openai"
)

func TestOpenAIVerifierAgainstJudge(t *testing.T) {
	j := companiontest.NewJudge(func(a, b string) bool { return a == "What is a prime?" && b == "Define a prime." }, 0, 1)
	srv := httptest.NewServer(j)
	defer srv.Close()
	cfg := openai.DefaultConfig("test")
	cfg.BaseURL = srv.URL + "/v1"
	v, err := NewOpenAIVerifier(openai.NewClientWithConfig(cfg), WithVerifierTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if same, err := v.Verify(ctx, "What is a prime?", "Define a prime."); err != nil || !same {
		t.Errorf("same pair: %v %v", same, err)
	}
	if same, err := v.Verify(ctx, "What is a prime?", "What is a composite?"); err != nil || same {
		t.Errorf("different pair: %v %v", same, err)
	}
	// A slow judge times out: an error, which the tier takes as a miss.
	j.SetDelay(time.Second)
	v2, _ := NewOpenAIVerifier(openai.NewClientWithConfig(cfg), WithVerifierTimeout(50*time.Millisecond))
	if _, err := v2.Verify(ctx, "a", "b"); err == nil {
		t.Error("slow judge: no error")
	}
	if _, err := NewOpenAIVerifier(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil client: %v", err)
	}
}

func TestParseVerdictStrict(t *testing.T) {
	for _, c := range []string{"", "yes", `{"same": "true"}`, `{"same": true, "x": 1}`, `{}`, `{"same": true} {"same": false}`} {
		resp := openai.ChatCompletionResponse{Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Content: c}}}}
		if _, err := parseVerdict(resp); !errors.Is(err, ErrVerifier) {
			t.Errorf("%q: %v, want ErrVerifier", c, err)
		}
	}
}

// countingVerifier counts its calls and can fail.
type countingVerifier struct {
	calls atomic.Int64
	same  bool
	err   error
	delay time.Duration
}

func (c *countingVerifier) Verify(ctx context.Context, a, b string) (bool, error) {
	c.calls.Add(1)
	time.Sleep(c.delay)
	return c.same, c.err
}

func TestVerifierCachedCoalescedFailClosed(t *testing.T) {
	ctx := context.Background()
	cv := &countingVerifier{same: true, delay: 20 * time.Millisecond}
	s := mustSemantic(t, WithVerifier(cv))
	s.Add(ctx, nsMaths, cache.Entry{Question: "How do plants make food?", Answer: "photosynthesis"}, 0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, d, err := s.LookupDecision(ctx, nsMaths, "How do green plants make food?"); err != nil || !d.Serve || d.Reason != ReasonVerified {
				t.Errorf("decision %+v, %v", d, err)
			}
		}()
	}
	wg.Wait()
	if n := cv.calls.Load(); n != 1 {
		t.Errorf("verifier called %d times for one pair, want 1", n)
	}
	st := s.Stats()
	if st.Verified != 8 || st.Reasons[ReasonVerified] != 8 || len(st.Bands) == 0 {
		t.Errorf("stats %+v", st)
	}
	// A failing verifier is a miss.
	s2 := mustSemantic(t, WithVerifier(&countingVerifier{err: errors.New("down")}))
	s2.Add(ctx, nsMaths, cache.Entry{Question: "How do plants make food?", Answer: "a"}, 0)
	if _, d, err := s2.LookupDecision(ctx, nsMaths, "How do green plants make food?"); err != nil || d.Serve || d.Reason != ReasonVerifierError {
		t.Errorf("failing verifier: %+v, %v", d, err)
	}
	// A rule-proved difference never reaches the verifier.
	cv3 := &countingVerifier{same: true}
	s3 := mustSemantic(t, WithVerifier(cv3))
	s3.Add(ctx, nsMaths, cache.Entry{Question: "Solve 2x + 3 = 7.", Answer: "x = 2"}, 0)
	if _, d, _ := s3.LookupDecision(ctx, nsMaths, "Solve 2x + 3 = 9."); d.Serve || d.Reason != ReasonNumber || cv3.calls.Load() != 0 {
		t.Errorf("number difference: %+v, %d calls", d, cv3.calls.Load())
	}
}

func TestBoundServesWithoutAsking(t *testing.T) {
	ctx := context.Background()
	cv := &countingVerifier{same: true}
	s := mustSemantic(t, WithVerifier(cv), WithMaxError(0.01))
	// Explained paraphrases, verified until the bound holds.
	for i := range 600 {
		ns := cache.Namespace{Model: "m", Tenant: string(rune('a'+i%26)) + string(rune('a'+i/26))}
		s.Add(ctx, ns, cache.Entry{Question: "What is Newton's second law?", Answer: "F = ma"}, 0)
		if _, ok, err := s.Lookup(ctx, ns, "Explain Newton's second law."); !ok || err != nil {
			t.Fatalf("lookup %d: %v %v", i, ok, err)
		}
	}
	st := s.Stats()
	if st.Reasons[ReasonWithinBound] == 0 || st.Verified >= 600 {
		t.Errorf("never served within the bound: %+v", st.Reasons)
	}
	if st.EstimatedError <= 0 || st.EstimatedError > 0.01 {
		t.Errorf("estimated error %v", st.EstimatedError)
	}
}

func TestMatch(t *testing.T) {
	ctx := context.Background()
	s := mustSemantic(t)
	d, err := s.Match(ctx, "What is Newton's second law?", "what does newtons 2nd law say")
	if err != nil || !d.Serve || d.Reason != ReasonExplained || d.Similarity < 0.99 {
		t.Errorf("paraphrase: %+v %v", d, err)
	}
	d, _ = s.Match(ctx, "Convert 5 km to miles", "Convert 5 miles to km")
	if d.Serve || d.Reason != ReasonOrder {
		t.Errorf("direction: %+v", d)
	}
	d, _ = s.Match(ctx, "What is photosynthesis?", "Who won the world cup?")
	if d.Serve || d.Reason != ReasonBelowThreshold {
		t.Errorf("unrelated: %+v", d)
	}
	if _, err := s.Match(ctx, " ", "x"); !errors.Is(err, ErrEmptyQuestion) {
		t.Errorf("empty: %v", err)
	}
	if s.Stats().Lookups != 0 {
		t.Error("Match counted as a lookup")
	}
}

func TestWilson(t *testing.T) {
	if u := wilsonUpper(0, 600); u > 0.005 {
		t.Errorf("0/600: %v", u)
	}
	if u := wilsonUpper(0, 0); u != 1 {
		t.Errorf("0/0: %v", u)
	}
	if l := wilsonLower(10, 10); l < 0.7 || l > 1 {
		t.Errorf("10/10 lower: %v", l)
	}
}

// FuzzParseVerdict checks that the verifier's answer parser never panics
// and accepts only {"same": bool}.
func FuzzParseVerdict(f *testing.F) {
	for _, s := range []string{`{"same":true}`, `{"same": false}`, "", "yes", `{"same":1}`, `[true]`, `{"same":true,"x":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		resp := openai.ChatCompletionResponse{Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Content: s}}}}
		same, err := parseVerdict(resp)
		if err == nil && same != (s != "" && strings.Contains(s, "true")) {
			t.Fatalf("%q parsed as %v", s, same)
		}
	})
}

// TestVerifyYield: below the verify threshold the tier asks only where
// the verifier's yes is common enough to pay, and still explores there.
func TestVerifyYield(t *testing.T) {
	ctx := context.Background()
	run := func(same bool) (*Semantic, *countingVerifier) {
		cv := &countingVerifier{same: same}
		s := mustSemantic(t, WithVerifier(cv))
		for i := range 200 {
			ns := cache.Namespace{Model: "m", Tenant: fmt.Sprint("t", i)}
			// Pairs the verifier's cache tells apart, the rules do not.
			s.Add(ctx, ns, cache.Entry{Question: "Explain the water cycle in a rainforest.", Answer: "a"}, 0)
			_, d, err := s.LookupDecision(ctx, ns, "How does rain form in a rainforest"+strings.Repeat(" ", i)+"?")
			if err != nil || d.Similarity < 0.30 || d.Similarity >= 0.50 {
				t.Fatalf("lookup %d: %+v %v: not between the verify floor and threshold", i, d, err)
			}
		}
		return s, cv
	}
	s, cv := run(false)
	st := s.Stats()
	// Wilson's upper bound of 0 yes in n falls below 0.2 at n = 11; then
	// one lookup in 20 explores.
	if n := cv.calls.Load(); n < 11 || n > 30 {
		t.Errorf("a verifier that never says yes was asked %d times in 200 lookups, want about 11 + 189/20", n)
	}
	if st.Reasons[ReasonLowYield] < 150 {
		t.Errorf("low-yield misses %d, want most of 200: %v", st.Reasons[ReasonLowYield], st.Reasons)
	}
	var passed uint64
	for _, b := range st.Bands {
		passed += b.Passed
	}
	if passed < uint64(st.Reasons[ReasonLowYield]) {
		t.Errorf("bands passed %d, low-yield misses %d", passed, st.Reasons[ReasonLowYield])
	}
	// Match predicts without learning: no call, the same reason.
	before := cv.calls.Load()
	if d, err := s.Match(ctx, "Explain the water cycle in a rainforest.", "How does rain form in a rainforest?"); err != nil || d.Serve || d.Reason != ReasonLowYield || cv.calls.Load() != before {
		t.Errorf("Match after learning: %+v %v, %d calls", d, err, cv.calls.Load()-before)
	}
	// A verifier that always says yes is always worth asking.
	s, cv = run(true)
	if n := cv.calls.Load(); n != 200 || s.Stats().Reasons[ReasonVerified] != 200 {
		t.Errorf("a verifier that always says yes: %d calls, reasons %v", n, s.Stats().Reasons)
	}
	// At most one call below the verify threshold per lookup.
	cv = &countingVerifier{}
	s = mustSemantic(t, WithVerifier(cv))
	s.Add(ctx, nsMaths, cache.Entry{Question: "Explain the water cycle in a rainforest.", Answer: "a"}, 0)
	s.Add(ctx, nsMaths, cache.Entry{Question: "Explain the water cycle in a tropical rainforest.", Answer: "b"}, 0)
	if d, _ := s.Match(ctx, "Explain the water cycle in a tropical rainforest.", "How does rain form in a rainforest?"); d.Similarity < 0.30 {
		t.Fatalf("second candidate at %v, below the verify floor", d.Similarity)
	}
	cv.calls.Store(0)
	if _, d, _ := s.LookupDecision(ctx, nsMaths, "How does rain form in a rainforest?"); d.Serve || cv.calls.Load() != 1 {
		t.Errorf("two candidates below the verify threshold: %+v, %d calls", d, cv.calls.Load())
	}
	// Two candidates above the verify threshold are both asked, in one
	// verified lookup.
	cv = &countingVerifier{}
	s = mustSemantic(t, WithVerifier(cv))
	s.Add(ctx, nsMaths, cache.Entry{Question: "How do plants make food?", Answer: "a"}, 0)
	s.Add(ctx, nsMaths, cache.Entry{Question: "How do green plants make food?", Answer: "b"}, 0)
	if _, d, _ := s.LookupDecision(ctx, nsMaths, "How do desert plants make food?"); d.Serve || cv.calls.Load() != 2 || s.Stats().Verified != 1 {
		t.Errorf("two candidates above the verify threshold: %+v, %d calls, %d lookups verified", d, cv.calls.Load(), s.Stats().Verified)
	}
	// A floor at the verify threshold turns it off.
	cv = &countingVerifier{same: true}
	s = mustSemantic(t, WithVerifier(cv), WithVerifyFloor(0.9))
	s.Add(ctx, nsMaths, cache.Entry{Question: "Explain the water cycle in a rainforest.", Answer: "a"}, 0)
	if _, d, _ := s.LookupDecision(ctx, nsMaths, "How does rain form in a rainforest?"); d.Serve || d.Reason != ReasonBelowThreshold || cv.calls.Load() != 0 {
		t.Errorf("floor at the verify threshold: %+v, %d calls", d, cv.calls.Load())
	}
	for _, o := range []SemanticOption{WithVerifyFloor(0), WithVerifyFloor(1.5), WithVerifyYield(0), WithVerifyYield(1)} {
		if _, err := NewSemantic(o); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("bad option accepted: %v", err)
		}
	}
}
