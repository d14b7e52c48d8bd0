package companion

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/leak"
	"github.com/companion-go/companion/semantic"
)

// gatedSemantic is a semantic tier whose lookup waits until open says
// so (or ctx ends), then answers hit or miss: a slow remote embedder or
// verifier, made deterministic.
type gatedSemantic struct {
	open func() bool
	hit  bool
}

func (g *gatedSemantic) Lookup(ctx context.Context, ns cache.Namespace, question string) (semantic.Hit, bool, error) {
	for !g.open() {
		select {
		case <-ctx.Done():
			return semantic.Hit{}, false, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	if !g.hit {
		return semantic.Hit{}, false, nil
	}
	return semantic.Hit{Entry: cache.Entry{Question: question, Answer: "the cached answer"}, Similarity: 0.99}, true, nil
}

func (g *gatedSemantic) Add(context.Context, cache.Namespace, cache.Entry, time.Duration) error {
	return nil
}

// TestUpstreamHedge: with WithUpstreamHedge, a lookup that is still
// running after the delay has the upstream call started beside it. The
// lookup here returns only once the upstream has received the call, which
// it would never do without the hedge (it would run to its 1 s bound);
// then a miss answers from that call and a hit is served, the call
// abandoned, nothing left running.
func TestUpstreamHedge(t *testing.T) {
	for _, c := range []struct {
		name            string
		hit, stream, co bool
		source          Source
	}{
		{"ask, miss", false, false, true, SourceUpstream},
		{"ask, hit", true, false, true, SourceSemantic},
		{"ask, hit, not coalesced", true, false, false, SourceSemantic},
		{"stream, miss", false, true, true, SourceUpstream},
		{"stream, miss, not coalesced", false, true, false, SourceUpstream},
		{"stream, hit", true, true, true, SourceSemantic},
		{"stream, hit, not coalesced", true, true, false, SourceSemantic},
	} {
		t.Run(c.name, func(t *testing.T) {
			snap := leak.Take()
			srv := companiontest.NewServer(companiontest.WithLatency(companiontest.Latency{FirstToken: 50 * time.Millisecond, PerOutputToken: time.Millisecond}))
			sem := NewSemaphore(1)
			gate := &gatedSemantic{hit: c.hit, open: func() bool { return srv.RequestCount("/v1/chat/completions") > 0 }}
			comp, err := New(WithBaseURL(srv.URL), WithModel(testModel), WithLimiter(sem),
				WithSemanticCache(gate), WithUpstreamHedge(5*time.Millisecond), WithCoalescing(c.co))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			q := Question{Text: "What is the boiling point of water?", Subject: "chemistry"}
			var a *Answer
			if c.stream {
				s, err := comp.AskStream(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for {
					if _, err = s.Recv(); err != nil {
						break
					}
				}
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				a = s.Answer()
				s.Close()
			} else if a, err = comp.Ask(ctx, q); err != nil {
				t.Fatal(err)
			}
			if a.Source != c.source {
				t.Errorf("source %v, want %v", a.Source, c.source)
			}
			if c.hit && a.Text != "the cached answer" {
				t.Errorf("hit served %q", a.Text)
			}
			if a.Timings.Cache <= 0 {
				t.Errorf("cache time %v not recorded", a.Timings.Cache)
			}
			st := comp.CacheStats()
			abandoned := int64(0)
			if c.hit {
				abandoned = 1
			}
			if st.Hedged != 1 || st.HedgesAbandoned != abandoned {
				t.Errorf("hedged %d, abandoned %d; want 1, %d", st.Hedged, st.HedgesAbandoned, abandoned)
			}
			// The limiter's only slot is free again: the abandoned call gave
			// it back, and the next turn gets it.
			wait, cancel := context.WithTimeout(ctx, 5*time.Second)
			if release, err := sem.Acquire(wait, 1); err != nil {
				t.Errorf("the limiter's slot was not given back: %v", err)
			} else {
				release()
			}
			cancel()
			comp.Close()
			srv.Close()
			leak.Check(t, snap)
		})
	}
}

// TestUpstreamHedgeFastLookup: a lookup that answers within the delay is
// never hedged, and the option's value is checked.
func TestUpstreamHedgeFastLookup(t *testing.T) {
	gate := &gatedSemantic{open: func() bool { return true }}
	c, srv := newTest(t, nil, WithSemanticCache(gate), WithUpstreamHedge(time.Minute))
	if _, err := c.Ask(context.Background(), Question{Text: "What is a prime number?"}); err != nil {
		t.Fatal(err)
	}
	if st := c.CacheStats(); st.Hedged != 0 || srv.RequestCount("/v1/chat/completions") != 1 {
		t.Errorf("hedged %d, %d calls", st.Hedged, srv.RequestCount("/v1/chat/completions"))
	}
	var ce *ConfigError
	if _, err := New(WithUpstreamHedge(-time.Second)); !errors.As(err, &ce) {
		t.Errorf("negative hedge: %v", err)
	}
}
