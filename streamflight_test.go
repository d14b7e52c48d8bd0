package companion

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/moderation"
	"github.com/companion-go/companion/transport"
)

// TestStreamCoalescing: concurrent streams of one question share one
// upstream stream; one that gives up does not end the others', one that
// joins after the first pieces still gets the whole answer, and only one
// turn is billed.
func TestStreamCoalescing(t *testing.T) {
	lat := companiontest.Latency{FirstToken: 150 * time.Millisecond, PerOutputToken: 3 * time.Millisecond}
	c, srv := newTest(t, []companiontest.Option{companiontest.WithLatency(lat)}, WithExactCache(newMemory(t)))
	q := Question{Text: "What is the Pythagorean theorem?"}
	want := companiontest.Answer(q.Text)
	const n = 12
	texts := make([]string, n)
	answers := make([]*Answer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx := context.Background()
			switch {
			case i == 0: // gives up while the call is under way
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 60*time.Millisecond)
				defer cancel()
			case i == n-1: // joins once pieces have been released
				time.Sleep(lat.FirstToken + 40*time.Millisecond)
			}
			s, err := c.AskStream(ctx, q)
			if err != nil {
				errs[i] = err
				return
			}
			texts[i], errs[i] = readAll(s)
			answers[i] = s.Answer()
		})
	}
	wg.Wait()
	if !errors.Is(errs[0], context.DeadlineExceeded) {
		t.Errorf("the stream that gave up got %v", errs[0])
	}
	billed := 0
	for i := 1; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("stream %d: %v", i, errs[i])
		}
		a := answers[i]
		if texts[i] != want || a.Text != want {
			t.Errorf("stream %d got %q (answer %q), want %q", i, texts[i], a.Text, want)
		}
		if a.Source != SourceUpstream {
			t.Errorf("stream %d: source %v", i, a.Source)
		}
		if a.Coalesced {
			if a.Usage != (Usage{}) || a.Cost != 0 {
				t.Errorf("coalesced stream %d reports usage %+v, cost %v", i, a.Usage, a.Cost)
			}
			continue
		}
		billed++
		if a.Usage.CompletionTokens == 0 {
			t.Errorf("the billed stream reports no usage: %+v", a)
		}
	}
	if billed != 1 {
		t.Errorf("%d streams billed, want 1", billed)
	}
	if got := srv.RequestCount("/v1/chat/completions"); got != 1 {
		t.Errorf("upstream saw %d requests for %d identical concurrent streams, want 1", got, n)
	}
	if st := c.CacheStats(); st.Coalesced != n-2 || st.Stores != 1 {
		t.Errorf("stats = %+v, want %d coalesced and 1 store", st, n-2)
	}
	// The shared answer was stored: the next turn is a hit.
	s, err := c.AskStream(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readAll(s); err != nil || got != want || s.Source() != SourceExact {
		t.Errorf("after the flight: %q, %v, source %v", got, err, s.Source())
	}
	if p := c.sflights.pending(); p != 0 {
		t.Errorf("%d streamed flights pending", p)
	}
}

// TestStreamCoalescingAllGone: when every stream of a flight has gone, the
// shared upstream call is cancelled at once.
func TestStreamCoalescingAllGone(t *testing.T) {
	released := make(chan time.Time, 3) // room for a call per stream, should they not share
	c, _ := newTest(t, []companiontest.Option{companiontest.WithLatency(companiontest.Latency{FirstToken: 100 * time.Millisecond, PerOutputToken: 500 * time.Millisecond})},
		WithExactCache(newMemory(t)), WithLimiter(releaseSignal{NewSemaphore(10), released}))
	q := Question{Text: "slow streamed question"}
	ctx := context.Background()
	var streams []*Stream
	for range 3 {
		s, err := c.AskStream(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, s)
	}
	// Closing from another goroutine wakes a Recv that is waiting.
	recvd := make(chan error, 1)
	go func() {
		for {
			if _, err := streams[0].Recv(); err != nil {
				recvd <- err
				return
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	for _, s := range streams {
		s.Close()
	}
	if err := <-recvd; !errors.Is(err, ErrStreamClosed) {
		t.Errorf("Recv after Close = %v", err)
	}
	select {
	case at := <-released:
		if d := at.Sub(start); d > 3*time.Second {
			t.Errorf("shared stream ended %v after the last Close", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the shared stream was not cancelled when every stream closed")
	}
	if p := c.sflights.pending(); p != 0 {
		t.Errorf("%d streamed flights pending", p)
	}
}

// TestStreamCoalescingErrors: an error opening the shared call reaches
// every stream from AskStream, and a block reaches every stream from
// Recv with nothing of the blocked word released.
func TestStreamCoalescingErrors(t *testing.T) {
	lat := companiontest.Latency{FirstToken: 80 * time.Millisecond, PerOutputToken: time.Millisecond}
	t.Run("open", func(t *testing.T) {
		// The fault answers after the round trip: long enough for the
		// five streams to join one flight, however loaded the machine.
		lat := lat
		lat.RTT = 300 * time.Millisecond
		c, srv := newTest(t, []companiontest.Option{companiontest.WithLatency(lat),
			companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultServerError, Path: "/v1/chat/completions"})},
			WithExactCache(newMemory(t)), WithTransportOptions(transport.WithMaxRetries(0)), WithRetry(RetryPolicy{MaxAttempts: 1}))
		errs := askStreams(c, Question{Text: "What is a prime number?"}, 5)
		for i, err := range errs {
			var ue *UpstreamError
			if !errors.As(err, &ue) || ue.StatusCode != 500 {
				t.Errorf("stream %d: %v, want a 500 *UpstreamError", i, err)
			}
		}
		if got := srv.RequestCount("/v1/chat/completions"); got != 1 {
			t.Errorf("upstream saw %d requests, want 1", got)
		}
	})
	t.Run("blocked", func(t *testing.T) {
		c, _ := newTest(t, []companiontest.Option{companiontest.WithLatency(lat)}, WithExactCache(newMemory(t)),
			WithModeration(physicsPipeline(t, moderation.Entry{Term: "acceleration", Category: "physics", Severity: moderation.High})))
		answer := companiontest.Answer(newton2)
		at := strings.Index(answer, "acceleration")
		var mu sync.Mutex
		var got []string
		errs := askStreamsWith(c, Question{Text: newton2}, 5, func(text string) {
			mu.Lock()
			got = append(got, text)
			mu.Unlock()
		})
		for i, err := range errs {
			var be *BlockedError
			if !errors.As(err, &be) {
				t.Errorf("stream %d: %v, want a *BlockedError", i, err)
			}
		}
		for _, g := range got {
			if len(g) > at || !strings.HasPrefix(answer, g) {
				t.Errorf("a stream released %q: more than the text before the blocked word", g)
			}
		}
		if st := c.CacheStats(); st.Stores != 0 {
			t.Errorf("a blocked answer was stored: %+v", st)
		}
	})
}

// askStreams runs n concurrent streams of q to their end and returns the
// error each ended with (nil for a whole answer).
func askStreams(c *Companion, q Question, n int) []error {
	return askStreamsWith(c, q, n, func(string) {})
}

func askStreamsWith(c *Companion, q Question, n int, text func(string)) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := c.AskStream(context.Background(), q)
			if err != nil {
				errs[i] = err
				return
			}
			var got string
			got, errs[i] = readAll(s)
			text(got)
		})
	}
	wg.Wait()
	return errs
}
