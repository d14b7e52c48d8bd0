package batch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/leak"
	openai "github.com/sashabaranov/go-openai"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

// fast is a batch lifecycle of a few tens of milliseconds.
var fast = companiontest.BatchTiming{Validating: 5 * time.Millisecond, InProgress: 20 * time.Millisecond, Finalizing: 5 * time.Millisecond}

func apiFor(srv *companiontest.Server) *openai.Client {
	cfg := openai.DefaultConfig("test-key")
	cfg.BaseURL = srv.URL
	return openai.NewClientWithConfig(cfg)
}

// newTest starts a fake server with timing and a Client polling it every
// few milliseconds.
func newTest(t *testing.T, timing companiontest.BatchTiming, opts ...Option) (*Client, *companiontest.Server) {
	t.Helper()
	srv := companiontest.NewServer(companiontest.WithBatchTiming(timing))
	t.Cleanup(srv.Close)
	c, err := New(apiFor(srv), append([]Option{WithPollInterval(2*time.Millisecond, 10*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func requests(n int) []Request {
	reqs := make([]Request, n)
	for i := range reqs {
		reqs[i] = Request{CustomID: fmt.Sprintf("q%d", i+1), Body: openai.ChatCompletionRequest{
			Model:    "gpt-4.1-mini",
			Messages: []openai.ChatCompletionMessage{{Role: "user", Content: fmt.Sprintf("What is %d*7?", i+2)}},
		}}
	}
	return reqs
}

func TestRunCompleted(t *testing.T) {
	var (
		created  []string
		progress []Progress
	)
	c, srv := newTest(t, fast,
		WithOnCreated(func(_ context.Context, id string) error { created = append(created, id); return nil }),
		WithProgress(func(p Progress) { progress = append(progress, p) }))
	rep, err := c.Run(context.Background(), Job{Requests: requests(5)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 5 || len(rep.LineErrors) != 0 {
		t.Fatalf("report = %+v", rep)
	}
	for i, r := range rep.Results {
		want := fmt.Sprintf("%d × 7 = %d", i+2, (i+2)*7)
		if r.CustomID != fmt.Sprintf("q%d", i+1) || r.Err != nil || r.Response == nil ||
			!strings.Contains(r.Response.Choices[0].Message.Content, want) || r.Response.Usage.TotalTokens == 0 {
			t.Errorf("result %d = %+v, want an answer with %q", i, r, want)
		}
	}
	if len(created) != 1 || len(rep.Batches) != 1 || rep.Batches[0].ID != created[0] || rep.Batches[0].Status != StatusCompleted {
		t.Errorf("created %v, batches %+v", created, rep.Batches)
	}
	last := progress[len(progress)-1]
	if last != (Progress{Total: 5, Completed: 5, Batches: 1, Done: 1}) {
		t.Errorf("last progress = %+v", last)
	}
	if n := srv.RequestCount("/v1/files"); n != 1 {
		t.Errorf("%d uploads, want 1", n)
	}
}

func TestRunSplitsWithinLimits(t *testing.T) {
	c, srv := newTest(t, fast, WithMaxRequests(2))
	rep, err := c.Run(context.Background(), Job{Requests: requests(5)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Batches) != 3 || srv.RequestCount("/v1/batches") != 3 {
		t.Fatalf("%d batches, want 3 (2+2+1)", len(rep.Batches))
	}
	for i, r := range rep.Results {
		if r.Err != nil || r.CustomID != fmt.Sprintf("q%d", i+1) {
			t.Errorf("result %d = %+v", i, r)
		}
	}

	// By bytes: each line is about 160 bytes; 400 fit two. A request with a
	// long message does not fit at all and is not sent.
	reqs := requests(4)
	reqs[2].Body.Messages[0].Content = strings.Repeat("x", 500)
	c2, _ := newTest(t, fast, WithMaxFileBytes(400))
	rep, err = c2.Run(context.Background(), Job{Requests: reqs})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Batches) != 2 {
		t.Errorf("%d batches, want 2", len(rep.Batches))
	}
	for i, r := range rep.Results {
		if i == 2 {
			if !errors.Is(r.Err, ErrTooLarge) {
				t.Errorf("result 2 err = %v, want ErrTooLarge", r.Err)
			}
			continue
		}
		if r.Err != nil || r.Response == nil {
			t.Errorf("result %d = %+v", i, r)
		}
	}
}

func TestSplit(t *testing.T) {
	lines := [][]byte{[]byte("aaaa"), []byte("bb"), nil, []byte("cccccccccc"), []byte("d"), []byte("e")}
	parts, tooLarge := split(lines, 2, 8)
	var got []string
	for _, p := range parts {
		got = append(got, fmt.Sprint(p.idx, len(p.data)))
	}
	// "aaaa\n"+"bb\n" = 8; "cccccccccc\n" > 8; "d\ne\n".
	if strings.Join(got, " ") != "[0 1] 8 [4 5] 4" || fmt.Sprint(tooLarge) != "[3]" {
		t.Errorf("parts %v, too large %v", got, tooLarge)
	}
}

func TestRunFailed(t *testing.T) {
	c, _ := newTest(t, fast)
	rep, err := c.Run(context.Background(), Job{Requests: requests(3),
		Metadata: map[string]string{companiontest.MetadataOutcome: "failed"}})
	var be *BatchError
	if !errors.Is(err, ErrFailed) || !errors.As(err, &be) || be.Status != StatusFailed ||
		len(be.Errors) == 0 || be.Errors[0].Code != "forced_failure" {
		t.Fatalf("err = %v, want a failed *BatchError with its reasons", err)
	}
	for _, r := range rep.Results {
		if r.Response != nil || !errors.Is(r.Err, ErrFailed) {
			t.Errorf("result %+v, want the batch's error", r)
		}
	}
}

func TestRunExpired(t *testing.T) {
	c, _ := newTest(t, fast)
	rep, err := c.Run(context.Background(), Job{Requests: requests(4),
		Metadata: map[string]string{companiontest.MetadataOutcome: "expired"}})
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("err = %v, want ErrExpired", err)
	}
	// The fake runs the first half before the window ends.
	for i, r := range rep.Results {
		var ie *ItemError
		switch {
		case i < 2 && (r.Err != nil || r.Response == nil):
			t.Errorf("result %d = %+v, want an answer", i, r)
		case i >= 2 && (!errors.As(r.Err, &ie) || ie.Code != "batch_expired" || ie.CustomID != r.CustomID):
			t.Errorf("result %d err = %v, want a batch_expired *ItemError", i, r.Err)
		}
	}
	if rep.Batches[0].Status != StatusExpired || rep.Batches[0].Completed != 2 || rep.Batches[0].Failed != 2 {
		t.Errorf("batch = %+v", rep.Batches[0])
	}
}

func TestRunCancelled(t *testing.T) {
	slow := companiontest.BatchTiming{InProgress: 400 * time.Millisecond, Finalizing: 5 * time.Millisecond}
	created := make(chan string, 1)
	var once sync.Once
	started := make(chan struct{})
	c, _ := newTest(t, slow,
		WithOnCreated(func(_ context.Context, id string) error { created <- id; return nil }),
		WithProgress(func(p Progress) {
			if p.Completed > 0 {
				once.Do(func() { close(started) })
			}
		}))
	type out struct {
		rep *Report
		err error
	}
	done := make(chan out, 1)
	go func() {
		rep, err := c.Run(context.Background(), Job{Requests: requests(8)})
		done <- out{rep, err}
	}()
	id := <-created
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("no request ran")
	}
	if err := c.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	o := <-done
	if !errors.Is(o.err, ErrCancelled) {
		t.Fatalf("err = %v, want ErrCancelled", o.err)
	}
	answered, cancelled := 0, 0
	for _, r := range o.rep.Results {
		switch {
		case r.Response != nil && r.Err == nil:
			answered++
		case errors.Is(r.Err, ErrCancelled):
			cancelled++
		default:
			t.Errorf("result %+v", r)
		}
	}
	if answered == 0 || cancelled == 0 || answered+cancelled != 8 {
		t.Errorf("%d answered, %d cancelled, want some of each", answered, cancelled)
	}
	// Cancelling a batch that is over is not an error.
	if err := c.Cancel(context.Background(), id); err != nil {
		t.Errorf("second cancel: %v", err)
	}
}

func TestRunPartialErrors(t *testing.T) {
	c, _ := newTest(t, fast)
	rep, err := c.Run(context.Background(), Job{Requests: requests(5),
		Metadata: map[string]string{companiontest.MetadataErrorEvery: "2"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rep.Results {
		if (i+1)%2 != 0 {
			if r.Err != nil || r.Response == nil {
				t.Errorf("result %d = %+v, want an answer", i, r)
			}
			continue
		}
		var ie *ItemError
		var ae *openai.APIError
		if !errors.As(r.Err, &ie) || ie.StatusCode != 500 || ie.Type != "server_error" || !errors.As(r.Err, &ae) || ae.HTTPStatusCode != 500 {
			t.Errorf("result %d err = %#v, want a 500 *ItemError reaching *openai.APIError", i, r.Err)
		}
	}
}

func TestRunMalformedLines(t *testing.T) {
	c, _ := newTest(t, fast)
	rep, err := c.Run(context.Background(), Job{Requests: requests(5),
		Metadata: map[string]string{companiontest.MetadataMalformedOutputLines: "2"}})
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, r := range rep.Results {
		var le *LineError
		switch {
		case errors.As(r.Err, &le):
			bad++
			if !errors.Is(r.Err, ErrMalformedLine) || le.CustomID != r.CustomID || le.Line == 0 || le.File == "" {
				t.Errorf("result %d err = %#v", i, le)
			}
		case r.Err != nil || r.Response == nil:
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if bad != 2 {
		t.Errorf("%d malformed results, want 2", bad)
	}
}

func TestResumeAfterRestart(t *testing.T) {
	srv := companiontest.NewServer(companiontest.WithBatchTiming(fast))
	defer srv.Close()
	// The first process persists the id, then stops while polling.
	var persisted []string
	ctx, stop := context.WithCancel(context.Background())
	c1, err := New(apiFor(srv), WithPollInterval(2*time.Millisecond, 10*time.Millisecond),
		WithOnCreated(func(_ context.Context, id string) error { persisted = append(persisted, id); stop(); return nil }))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c1.Run(ctx, Job{Requests: requests(3)})
	if !errors.Is(err, context.Canceled) || len(persisted) != 1 {
		t.Fatalf("first run: err %v, persisted %v", err, persisted)
	}
	// The second process, with a new client, resumes by id.
	c2, err := New(apiFor(srv), WithPollInterval(2*time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c2.Resume(context.Background(), persisted...)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rep.Results {
		if r.Err != nil {
			t.Fatalf("result %+v", r)
		}
		got[r.CustomID] = r.Response.Choices[0].Message.Content
	}
	if len(got) != 3 || !strings.Contains(got["q3"], "4 × 7 = 28") {
		t.Errorf("results %v", got)
	}
	if srv.RequestCount("/v1/batches") != 1 {
		t.Errorf("resume created a batch")
	}
}

func TestRunCtxCancelledWhilePolling(t *testing.T) {
	c, _ := newTest(t, companiontest.BatchTiming{InProgress: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Run(ctx, Job{Requests: requests(2)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run took %v after its deadline", d)
	}
}

func TestPollRetriesTransientErrors(t *testing.T) {
	var srv *companiontest.Server
	c, srv := newTest(t, fast, WithOnCreated(func(_ context.Context, id string) error {
		srv.SetFaults(companiontest.Fault{Kind: companiontest.FaultServerError, Path: "/v1/batches/" + id, Count: 3})
		return nil
	}))
	rep, err := c.Run(context.Background(), Job{Requests: requests(2)})
	if err != nil || rep.Results[1].Response == nil {
		t.Fatalf("err %v, report %+v", err, rep)
	}

	// A permanent error is returned at once.
	c2, srv2 := newTest(t, fast, WithPollRetries(0))
	srv2.SetFaults(companiontest.Fault{Kind: companiontest.FaultServerError, Path: "/v1/files"})
	if _, err := c2.Run(context.Background(), Job{Requests: requests(1)}); err == nil || !strings.Contains(err.Error(), "upload") {
		t.Errorf("err = %v, want the upload's", err)
	}
}

func TestInvalidJobs(t *testing.T) {
	c, _ := newTest(t, fast)
	r := requests(2)
	dup := []Request{r[0], r[0]}
	stream := requests(1)
	stream[0].Body.Stream = true
	for name, reqs := range map[string][]Request{"none": nil, "duplicate": dup, "stream": stream, "no messages": {{CustomID: "x"}}} {
		if _, err := c.Run(context.Background(), Job{Requests: reqs}); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
	if _, err := New(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New(nil): %v", err)
	}
	if _, err := New(apiFor(&companiontest.Server{}), WithMaxRequests(0)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("WithMaxRequests(0): %v", err)
	}
	// Without ids, requests get stable ones.
	a, b := requests(1)[0], requests(1)[0]
	a.CustomID, b.CustomID = "", ""
	if ID(a.Body) != ID(b.Body) || !strings.HasPrefix(ID(a.Body), "req-") {
		t.Errorf("ID not stable: %s %s", ID(a.Body), ID(b.Body))
	}
}

func TestOnCreatedErrorCancelsTheBatch(t *testing.T) {
	var id string
	boom := errors.New("disk full")
	c, srv := newTest(t, companiontest.BatchTiming{InProgress: time.Hour},
		WithOnCreated(func(_ context.Context, b string) error { id = b; return boom }))
	_, err := c.Run(context.Background(), Job{Requests: requests(1)})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the hook's", err)
	}
	b, err := apiFor(srv).RetrieveBatch(context.Background(), id)
	if err != nil || (b.Status != StatusCancelling && b.Status != StatusCancelled) {
		t.Errorf("batch %s is %q (%v), want it cancelled", id, b.Status, err)
	}
}
