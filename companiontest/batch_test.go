package companiontest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// fastBatches is the batch timing of most tests: 10 ms per phase.
var fastBatches = WithBatchTiming(BatchTiming{
	Validating: 10 * time.Millisecond, InProgress: 10 * time.Millisecond, Finalizing: 10 * time.Millisecond,
})

// slowBatches never gets anywhere during a test on its own: the tests that
// use it drive the lifecycle with explicit times.
var slowBatches = WithBatchTiming(BatchTiming{Validating: time.Hour, InProgress: time.Hour, Finalizing: time.Hour})

// chatLine is an input line asking a chat completion.
func chatLine(customID, question string) string {
	body, _ := json.Marshal(map[string]any{
		"model":    "gpt-4o-mini",
		"messages": []map[string]string{{"role": "user", "content": question}},
	})
	return fmt.Sprintf(`{"custom_id":%q,"method":"POST","url":"/v1/chat/completions","body":%s}`, customID, body)
}

// chatLines returns n valid chat input lines with custom_ids q1…qn.
func chatLines(n int) []string {
	var lines []string
	for i := 1; i <= n; i++ {
		lines = append(lines, chatLine(fmt.Sprintf("q%d", i), fmt.Sprintf("What is %d + %d?", i, i)))
	}
	return lines
}

// uploadBatchInput uploads JSONL lines with purpose batch.
func uploadBatchInput(t testing.TB, c *openai.Client, lines []string) string {
	t.Helper()
	f, err := c.CreateFileBytes(context.Background(), openai.FileBytesRequest{
		Name: "input.jsonl", Bytes: []byte(strings.Join(lines, "\n") + "\n"), Purpose: openai.PurposeBatch,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f.ID
}

// createBatch uploads lines and creates a chat batch.
func createBatch(t testing.TB, c *openai.Client, lines []string, metadata map[string]any) openai.Batch {
	t.Helper()
	b, err := c.CreateBatch(context.Background(), openai.CreateBatchRequest{
		InputFileID: uploadBatchInput(t, c, lines), Endpoint: openai.BatchEndpointChatCompletions, Metadata: metadata,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Batch
}

// final reports whether a batch status is final.
func final(status string) bool {
	switch status {
	case batchCompleted, batchFailed, batchExpired, batchCancelled:
		return true
	}
	return false
}

// waitBatch polls a batch until its status is final and returns it with
// the statuses it was seen in.
func waitBatch(t testing.TB, c *openai.Client, id string) (openai.Batch, []string) {
	t.Helper()
	var seen []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := c.RetrieveBatch(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) == 0 || seen[len(seen)-1] != b.Status {
			seen = append(seen, b.Status)
		}
		if final(b.Status) {
			return b.Batch, seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %s still %s after 10 s", id, b.Status)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// outputLine is a line of an output or error file, as a client reads it.
type outputLine struct {
	ID       string `json:"id"`
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		RequestID  string          `json:"request_id"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// fileLines downloads a file and returns its raw lines.
func fileLines(t testing.TB, c *openai.Client, id *string) [][]byte {
	t.Helper()
	if id == nil || *id == "" {
		return nil
	}
	raw, err := c.GetFileContent(context.Background(), *id)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var lines [][]byte
	sc := bufio.NewScanner(raw)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, slices.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// parseLines decodes every line of a file; it fails on a malformed one.
func parseLines(t testing.TB, c *openai.Client, id *string) []outputLine {
	t.Helper()
	var out []outputLine
	for _, l := range fileLines(t, c, id) {
		out = append(out, decode[outputLine](t, l))
	}
	return out
}

func customIDs(lines []outputLine) []string {
	var ids []string
	for _, l := range lines {
		ids = append(ids, l.CustomID)
	}
	return ids
}

func TestBatchLifecycle(t *testing.T) {
	s := NewServer(fastBatches)
	defer s.Close()
	c := newClient(s)

	b := createBatch(t, c, chatLines(3), map[string]any{"job": "nightly"})
	if b.Status != batchValidating || !strings.HasPrefix(b.ID, "batch_") || b.Object != "batch" ||
		b.CompletionWindow != "24h" || b.Endpoint != openai.BatchEndpointChatCompletions ||
		b.ExpiresAt == nil || *b.ExpiresAt != b.CreatedAt+24*3600 || b.Metadata["job"] != "nightly" {
		t.Fatalf("created batch %+v", b)
	}
	b, seen := waitBatch(t, c, b.ID)
	order := []string{batchValidating, batchInProgress, batchFinalizing, batchCompleted}
	i := 0
	for _, st := range seen {
		for i < len(order) && order[i] != st {
			i++
		}
		if i == len(order) {
			t.Fatalf("statuses %v out of lifecycle order", seen)
		}
	}
	if b.Status != batchCompleted {
		t.Fatalf("status %s, errors %+v", b.Status, b.Errors)
	}
	if b.RequestCounts != (openai.BatchRequestCounts{Total: 3, Completed: 3}) {
		t.Fatalf("request counts %+v", b.RequestCounts)
	}
	for name, ts := range map[string]*int{"in_progress_at": b.InProgressAt, "finalizing_at": b.FinalizingAt, "completed_at": b.CompletedAt} {
		if ts == nil || *ts < b.CreatedAt {
			t.Errorf("%s = %v", name, ts)
		}
	}
	if b.FailedAt != nil || b.ExpiredAt != nil || b.CancelledAt != nil || b.CancellingAt != nil || b.ErrorFileID != nil {
		t.Errorf("unexpected fields in %+v", b)
	}
	if b.OutputFileID == nil {
		t.Fatal("no output file")
	}
	out, err := c.GetFile(context.Background(), *b.OutputFileID)
	if err != nil || out.Purpose != "batch_output" {
		t.Fatalf("output file %+v, %v", out, err)
	}
	lines := parseLines(t, c, b.OutputFileID)
	if got := customIDs(lines); !slices.Equal(got, []string{"q1", "q2", "q3"}) {
		t.Fatalf("output custom_ids %v", got)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l.ID, "batch_req_") || l.Error != nil || l.Response == nil ||
			l.Response.StatusCode != http.StatusOK || l.Response.RequestID == "" {
			t.Fatalf("output line %+v", l)
		}
		var cc openai.ChatCompletionResponse
		if err := json.Unmarshal(l.Response.Body, &cc); err != nil || len(cc.Choices) == 0 ||
			cc.Choices[0].Message.Content == "" || cc.Usage.TotalTokens == 0 {
			t.Fatalf("output body %s: %v", l.Response.Body, err)
		}
	}
	// The requests ran in process: the server recorded only the client's.
	if n := s.RequestCount("/v1/chat/completions"); n != 0 {
		t.Errorf("%d chat requests recorded", n)
	}
}

// drive creates a batch on a server with slowBatches and returns it for
// tests that set the time themselves.
func drive(t *testing.T, s *Server, lines []string, metadata map[string]any) *batch {
	t.Helper()
	created := createBatch(t, newClient(s), lines, metadata)
	b, ok := s.batch(created.ID)
	if !ok {
		t.Fatal("batch not stored")
	}
	return b
}

func TestBatchPhasesFollowTheClock(t *testing.T) {
	s := NewServer(slowBatches)
	defer s.Close()
	b := drive(t, s, chatLines(4), nil)
	at := func(d time.Duration) batchObject { return s.readBatch(b, b.created.Add(d)) }
	h := time.Hour

	steps := []struct {
		at        time.Duration
		status    string
		completed int
	}{
		{0, batchValidating, 0},
		{h - 1, batchValidating, 0},
		{h, batchInProgress, 0},
		{h + h/4, batchInProgress, 1},
		{h + h/2 + 1, batchInProgress, 2},
		{2*h - 1, batchInProgress, 3},
		{2 * h, batchFinalizing, 4},
		{3*h - 1, batchFinalizing, 4},
		{3 * h, batchCompleted, 4},
		{100 * h, batchCompleted, 4},
	}
	for _, st := range steps {
		o := at(st.at)
		if o.Status != st.status || o.RequestCounts.Completed != st.completed {
			t.Fatalf("at %v: %s with %d completed, want %s with %d", st.at, o.Status, o.RequestCounts.Completed, st.status, st.completed)
		}
	}
	o := at(3 * h)
	c0 := b.created
	if o.InProgressAt != c0.Add(h).Unix() || o.FinalizingAt != c0.Add(2*h).Unix() || o.CompletedAt != c0.Add(3*h).Unix() ||
		o.RequestCounts.Total != 4 || o.Model != "gpt-4o-mini" || o.OutputFileID == "" || o.Usage == nil || o.Usage.TotalTokens == 0 {
		t.Fatalf("completed batch %+v", o)
	}
}

func TestBatchValidationFailures(t *testing.T) {
	valid := chatLine("ok", "hello")
	tests := []struct {
		name  string
		lines []string
		code  string
		param string
		line  int
	}{
		{"missing custom_id", []string{valid, `{"method":"POST","url":"/v1/chat/completions","body":{}}`}, "missing_required_parameter", "custom_id", 2},
		{"empty custom_id", []string{`{"custom_id":"","method":"POST","url":"/v1/chat/completions","body":{}}`}, "missing_required_parameter", "custom_id", 1},
		{"duplicate custom_id", []string{valid, chatLine("x", "a"), chatLine("ok", "b")}, "duplicate_custom_id", "custom_id", 3},
		{"wrong url", []string{`{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{}}`}, "invalid_url", "url", 1},
		{"wrong method", []string{`{"custom_id":"a","method":"GET","url":"/v1/chat/completions","body":{}}`}, "invalid_method", "method", 1},
		{"missing body", []string{`{"custom_id":"a","method":"POST","url":"/v1/chat/completions"}`}, "missing_required_parameter", "body", 1},
		{"body not an object", []string{`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":"hi"}`}, "invalid_request", "body", 1},
		{"custom_id not a string", []string{`{"custom_id":7,"method":"POST","url":"/v1/chat/completions","body":{}}`}, "invalid_request", "custom_id", 1},
		{"not json", []string{valid, `{"custom_id":`}, "invalid_json_line", "", 2},
		{"json but not an object", []string{`[1,2]`}, "invalid_json_line", "", 1},
		{"empty file", []string{"", "  "}, "empty_file", "", 0},
	}
	s := NewServer(fastBatches)
	defer s.Close()
	c := newClient(s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := createBatch(t, c, tt.lines, nil)
			b, _ = waitBatch(t, c, b.ID)
			if b.Status != batchFailed || b.FailedAt == nil || b.Errors == nil || b.Errors.Object != "list" || len(b.Errors.Data) == 0 {
				t.Fatalf("batch %+v", b)
			}
			e := b.Errors.Data[0]
			if e.Code != tt.code || e.Message == "" {
				t.Fatalf("error %+v, want code %s", e, tt.code)
			}
			if tt.param != "" && (e.Param == nil || *e.Param != tt.param) {
				t.Errorf("param %v, want %s", e.Param, tt.param)
			}
			if tt.line != 0 && (e.Line == nil || *e.Line != tt.line) {
				t.Errorf("line %v, want %d", e.Line, tt.line)
			}
			if b.OutputFileID != nil || b.ErrorFileID != nil || b.RequestCounts.Total != 0 {
				t.Errorf("a failed batch has results: %+v", b)
			}
		})
	}
}

func TestBatchForcedFailure(t *testing.T) {
	s := NewServer(fastBatches, WithBatchBehavior(BatchBehavior{Fail: true}))
	defer s.Close()
	c := newClient(s)
	b, _ := waitBatch(t, c, createBatch(t, c, chatLines(2), nil).ID)
	if b.Status != batchFailed || b.Errors.Data[0].Code != "forced_failure" {
		t.Fatalf("batch %+v", b)
	}
	// Metadata overrides the server's behavior for one batch.
	b, _ = waitBatch(t, c, createBatch(t, c, chatLines(2), map[string]any{MetadataOutcome: "completed"}).ID)
	if b.Status != batchCompleted {
		t.Fatalf("batch %+v", b)
	}
	s.SetBatchBehavior(BatchBehavior{})
	b, _ = waitBatch(t, c, createBatch(t, c, chatLines(2), map[string]any{MetadataOutcome: "failed"}).ID)
	if b.Status != batchFailed {
		t.Fatalf("batch %+v", b)
	}
}

func TestBatchExpired(t *testing.T) {
	check := func(t *testing.T, c *openai.Client, b openai.Batch) {
		t.Helper()
		b, _ = waitBatch(t, c, b.ID)
		if b.Status != batchExpired || b.ExpiredAt == nil || b.CompletedAt != nil || b.FinalizingAt != nil {
			t.Fatalf("batch %+v", b)
		}
		if b.RequestCounts != (openai.BatchRequestCounts{Total: 5, Completed: 2, Failed: 3}) {
			t.Fatalf("request counts %+v", b.RequestCounts)
		}
		if got := customIDs(parseLines(t, c, b.OutputFileID)); !slices.Equal(got, []string{"q1", "q2"}) {
			t.Fatalf("outputs %v", got)
		}
		errs := parseLines(t, c, b.ErrorFileID)
		if got := customIDs(errs); !slices.Equal(got, []string{"q3", "q4", "q5"}) {
			t.Fatalf("errors %v", got)
		}
		for _, e := range errs {
			if e.Response != nil || e.Error == nil || e.Error.Code != "batch_expired" || e.Error.Message == "" {
				t.Fatalf("error line %+v", e)
			}
		}
	}
	t.Run("server", func(t *testing.T) {
		s := NewServer(fastBatches, WithBatchBehavior(BatchBehavior{Expire: true}))
		defer s.Close()
		c := newClient(s)
		check(t, c, createBatch(t, c, chatLines(5), nil))
	})
	t.Run("metadata", func(t *testing.T) {
		s := NewServer(fastBatches)
		defer s.Close()
		c := newClient(s)
		check(t, c, createBatch(t, c, chatLines(5), map[string]any{MetadataOutcome: "expired"}))
	})
}

func TestBatchCancel(t *testing.T) {
	t.Run("partial output", func(t *testing.T) {
		s := NewServer(slowBatches)
		defer s.Close()
		b := drive(t, s, chatLines(4), nil)
		h := time.Hour
		o, err := s.cancelBatch(b, b.created.Add(h+h/2)) // half of in_progress
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != batchCancelling || o.CancellingAt != b.created.Add(h+h/2).Unix() || o.RequestCounts.Completed != 2 {
			t.Fatalf("cancelling %+v", o)
		}
		// Cancelling again is harmless, and no more requests run.
		if o, err = s.cancelBatch(b, b.created.Add(2*h)); err != nil || o.Status != batchCancelling || o.RequestCounts.Completed != 2 {
			t.Fatalf("second cancel: %+v, %v", o, err)
		}
		o = s.readBatch(b, b.created.Add(2*h+h/2)) // the cancel plus Finalizing
		if o.Status != batchCancelled || o.CancelledAt != b.created.Add(2*h+h/2).Unix() || o.CompletedAt != 0 ||
			o.RequestCounts != (batchCounts{Total: 4, Completed: 2}) || o.ErrorFileID != "" {
			t.Fatalf("cancelled %+v", o)
		}
		c := newClient(s)
		if got := customIDs(parseLines(t, c, &o.OutputFileID)); !slices.Equal(got, []string{"q1", "q2"}) {
			t.Fatalf("outputs %v", got)
		}
		if _, err := s.cancelBatch(b, b.created.Add(4*h)); err == nil {
			t.Fatal("cancelled a cancelled batch")
		}
	})
	t.Run("through the API", func(t *testing.T) {
		s := NewServer(WithBatchTiming(BatchTiming{InProgress: time.Hour, Finalizing: 10 * time.Millisecond}))
		defer s.Close()
		c := newClient(s)
		b := createBatch(t, c, chatLines(3), nil)
		if b.Status != batchInProgress {
			t.Fatalf("status %s, want in_progress (no validating phase)", b.Status)
		}
		r, err := c.CancelBatch(context.Background(), b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != batchCancelling || r.CancellingAt == nil {
			t.Fatalf("cancel answered %+v", r.Batch)
		}
		b, _ = waitBatch(t, c, b.ID)
		if b.Status != batchCancelled || b.CancelledAt == nil || b.RequestCounts.Total != 3 || b.RequestCounts.Completed != 0 || b.OutputFileID != nil {
			t.Fatalf("cancelled batch %+v", b)
		}
		_, err = c.CancelBatch(context.Background(), b.ID)
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusBadRequest {
			t.Fatalf("cancel of a cancelled batch: %v", err)
		}
	})
	t.Run("while validating", func(t *testing.T) {
		s := NewServer(slowBatches)
		defer s.Close()
		b := drive(t, s, chatLines(2), nil)
		if _, err := s.cancelBatch(b, b.created.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		o := s.readBatch(b, b.created.Add(2*time.Hour))
		if o.Status != batchCancelled || o.InProgressAt != 0 || o.OutputFileID != "" || o.RequestCounts != (batchCounts{}) {
			t.Fatalf("batch %+v", o)
		}
	})
}

func TestBatchPartialErrors(t *testing.T) {
	s := NewServer(fastBatches, WithBatchBehavior(BatchBehavior{ErrorEvery: 3}))
	defer s.Close()
	c := newClient(s)
	lines := chatLines(7)
	lines[1] = `{"custom_id":"no-messages","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini"}}`
	lines[4] = `{"custom_id":"stream","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}}`
	b, _ := waitBatch(t, c, createBatch(t, c, lines, nil).ID)
	if b.Status != batchCompleted {
		t.Fatalf("batch %+v", b)
	}
	// Failing: line 2 (no messages), 3 and 6 (every 3rd), 5 (stream).
	if b.RequestCounts != (openai.BatchRequestCounts{Total: 7, Completed: 3, Failed: 4}) {
		t.Fatalf("request counts %+v", b.RequestCounts)
	}
	if got := customIDs(parseLines(t, c, b.OutputFileID)); !slices.Equal(got, []string{"q1", "q4", "q7"}) {
		t.Fatalf("outputs %v", got)
	}
	errs := parseLines(t, c, b.ErrorFileID)
	want := map[string]int{"no-messages": 400, "q3": 500, "stream": 400, "q6": 500}
	if got := customIDs(errs); !slices.Equal(got, []string{"no-messages", "q3", "stream", "q6"}) {
		t.Fatalf("errors %v", got)
	}
	for _, e := range errs {
		if e.Error != nil || e.Response == nil || e.Response.StatusCode != want[e.CustomID] {
			t.Fatalf("error line %+v", e)
		}
		var body struct {
			Error *apiError `json:"error"`
		}
		if err := json.Unmarshal(e.Response.Body, &body); err != nil || body.Error == nil || body.Error.Message == "" {
			t.Fatalf("error body %s", e.Response.Body)
		}
	}
	// Metadata overrides ErrorEvery for one batch.
	b, _ = waitBatch(t, c, createBatch(t, c, chatLines(3), map[string]any{MetadataErrorEvery: "0"}).ID)
	if b.RequestCounts.Completed != 3 || b.ErrorFileID != nil {
		t.Fatalf("batch %+v", b)
	}
}

func TestBatchMalformedOutputLines(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []Option
		meta map[string]any
	}{
		{"server", []Option{WithBatchBehavior(BatchBehavior{MalformedOutputLines: 2})}, nil},
		{"metadata", nil, map[string]any{MetadataMalformedOutputLines: "2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(append(tt.opts, fastBatches)...)
			defer s.Close()
			c := newClient(s)
			b, _ := waitBatch(t, c, createBatch(t, c, chatLines(4), tt.meta).ID)
			if b.Status != batchCompleted || b.RequestCounts.Completed != 4 {
				t.Fatalf("batch %+v", b)
			}
			lines := fileLines(t, c, b.OutputFileID)
			if len(lines) != 4 {
				t.Fatalf("%d output lines", len(lines))
			}
			for i, l := range lines {
				if valid := json.Valid(l); valid != (i >= 2) {
					t.Errorf("line %d valid=%v: %s", i+1, valid, l)
				}
			}
		})
	}
}

func TestBatchEmbeddingsAndModerations(t *testing.T) {
	s := NewServer(fastBatches)
	defer s.Close()
	c := newClient(s)
	for _, tt := range []struct {
		endpoint openai.BatchEndpoint
		body     string
		field    string
	}{
		{openai.BatchEndpointEmbeddings, `{"model":"text-embedding-3-small","input":"gravity"}`, "data"},
		{"/v1/moderations", `{"model":"omni-moderation-latest","input":"hello"}`, "results"},
	} {
		t.Run(string(tt.endpoint), func(t *testing.T) {
			line := fmt.Sprintf(`{"custom_id":"a","method":"POST","url":%q,"body":%s}`, tt.endpoint, tt.body)
			r, err := c.CreateBatch(context.Background(), openai.CreateBatchRequest{
				InputFileID: uploadBatchInput(t, c, []string{line}), Endpoint: tt.endpoint,
			})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := waitBatch(t, c, r.ID)
			if b.Status != batchCompleted || b.RequestCounts.Completed != 1 {
				t.Fatalf("batch %+v; errors %s", b, fileLines(t, c, b.ErrorFileID))
			}
			out := parseLines(t, c, b.OutputFileID)
			var body map[string]json.RawMessage
			if err := json.Unmarshal(out[0].Response.Body, &body); err != nil || body[tt.field] == nil {
				t.Fatalf("body %s", out[0].Response.Body)
			}
		})
	}
}

func TestBatchList(t *testing.T) {
	s := NewServer(fastBatches)
	defer s.Close()
	c := newClient(s)
	var ids []string // creation order
	for range 5 {
		ids = append(ids, createBatch(t, c, chatLines(1), nil).ID)
	}
	slices.Reverse(ids) // the list is newest first

	var got []string
	var after *string
	for page := 0; ; page++ {
		limit := 2
		l, err := c.ListBatch(context.Background(), after, &limit)
		if err != nil {
			t.Fatal(err)
		}
		if l.Object != "list" || len(l.Data) == 0 || l.FirstID != l.Data[0].ID || l.LastID != l.Data[len(l.Data)-1].ID {
			t.Fatalf("page %d: %+v", page, l)
		}
		for _, b := range l.Data {
			got = append(got, b.ID)
		}
		if !l.HasMore {
			break
		}
		after = &l.LastID
		if page > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("listed %v, want %v", got, ids)
	}
	l, err := c.ListBatch(context.Background(), nil, nil)
	if err != nil || len(l.Data) != 5 || l.HasMore {
		t.Fatalf("default page: %+v, %v", l, err)
	}
	// Listing advances the batches too.
	time.Sleep(40 * time.Millisecond)
	l, _ = c.ListBatch(context.Background(), nil, nil)
	for _, b := range l.Data {
		if b.Status != batchCompleted {
			t.Fatalf("batch %s is %s", b.ID, b.Status)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=two", "?after=batch_nope"} {
		st, body := do(t, s, http.MethodGet, "/batches"+q, "", nil)
		wantAPIError(t, st, body, http.StatusBadRequest, "")
	}
	st, body := do(t, s, http.MethodGet, "/batches", "", nil)
	if st != http.StatusOK || !bytes.Contains(body, []byte(`"has_more":false`)) {
		t.Fatalf("%d %s", st, body)
	}
}

func TestBatchResumeWithANewClient(t *testing.T) {
	s := NewServer(fastBatches)
	defer s.Close()
	// The first process creates the batch and goes away.
	id := createBatch(t, newClient(s), chatLines(2), nil).ID
	// A new one, which only kept the id, finds it and its results.
	c := newClient(s)
	b, _ := waitBatch(t, c, id)
	if b.Status != batchCompleted {
		t.Fatalf("batch %+v", b)
	}
	if got := customIDs(parseLines(t, c, b.OutputFileID)); !slices.Equal(got, []string{"q1", "q2"}) {
		t.Fatalf("outputs %v", got)
	}
	// Reading it again changes nothing.
	again, err := c.RetrieveBatch(context.Background(), id)
	if err != nil || again.Status != batchCompleted || *again.OutputFileID != *b.OutputFileID || *again.CompletedAt != *b.CompletedAt {
		t.Fatalf("second read %+v, %v", again.Batch, err)
	}
}

func TestConcurrentBatches(t *testing.T) {
	s := NewServer(fastBatches)
	defer s.Close()
	const n = 8
	var wg sync.WaitGroup
	outputs := make([]string, n)
	for i := range n {
		wg.Go(func() {
			c := newClient(s)
			lines := chatLines(3)
			for j := range lines {
				lines[j] = strings.Replace(lines[j], `"q`, fmt.Sprintf(`"b%d-q`, i), 1)
			}
			b, _ := waitBatch(t, c, createBatch(t, c, lines, nil).ID)
			if b.Status != batchCompleted || b.RequestCounts.Completed != 3 {
				t.Errorf("batch %d: %+v", i, b)
				return
			}
			outputs[i] = strings.Join(customIDs(parseLines(t, c, b.OutputFileID)), ",")
		})
	}
	// Meanwhile, list and read everything.
	c := newClient(s)
	for range 20 {
		l, err := c.ListBatch(context.Background(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range l.Data {
			if _, err := c.RetrieveBatch(context.Background(), b.ID); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	for i, o := range outputs {
		if want := fmt.Sprintf("b%d-q1,b%d-q2,b%d-q3", i, i, i); o != want {
			t.Errorf("batch %d outputs %s, want %s", i, o, want)
		}
	}
}

func TestBatchBadRequests(t *testing.T) {
	s := NewServer(fastBatches)
	defer s.Close()
	c := newClient(s)
	input := uploadBatchInput(t, c, chatLines(1))
	ct, body := multipartBody(t, map[string]string{"purpose": "user_data"}, "x.jsonl", []byte(chatLine("a", "b")))
	_, resp := do(t, s, http.MethodPost, "/files", ct, body)
	userFile := decode[fileObject](t, resp).ID

	req := func(fields string) []byte { return []byte(fields) }
	tests := []struct {
		name   string
		body   []byte
		status int
		param  string
	}{
		{"not json", req(`{"input_file_id":`), 400, ""},
		{"wrong type", req(`{"input_file_id":7}`), 400, ""},
		{"no input file", req(`{"endpoint":"/v1/chat/completions","completion_window":"24h"}`), 400, "input_file_id"},
		{"unknown input file", req(`{"input_file_id":"file-nope","endpoint":"/v1/chat/completions","completion_window":"24h"}`), 404, "input_file_id"},
		{"file not for batch", req(`{"input_file_id":"` + userFile + `","endpoint":"/v1/chat/completions","completion_window":"24h"}`), 400, "input_file_id"},
		{"no endpoint", req(`{"input_file_id":"` + input + `","completion_window":"24h"}`), 400, "endpoint"},
		{"bad endpoint", req(`{"input_file_id":"` + input + `","endpoint":"/v1/nope","completion_window":"24h"}`), 400, "endpoint"},
		{"unserved endpoint", req(`{"input_file_id":"` + input + `","endpoint":"/v1/responses","completion_window":"24h"}`), 400, "endpoint"},
		{"no window", req(`{"input_file_id":"` + input + `","endpoint":"/v1/chat/completions"}`), 400, "completion_window"},
		{"bad window", req(`{"input_file_id":"` + input + `","endpoint":"/v1/chat/completions","completion_window":"1h"}`), 400, "completion_window"},
		{"metadata not strings", req(`{"input_file_id":"` + input + `","endpoint":"/v1/chat/completions","completion_window":"24h","metadata":{"a":1}}`), 400, "metadata"},
		{"metadata too long", req(`{"input_file_id":"` + input + `","endpoint":"/v1/chat/completions","completion_window":"24h","metadata":{"a":"` + strings.Repeat("x", 513) + `"}}`), 400, "metadata"},
		{"unknown outcome", req(`{"input_file_id":"` + input + `","endpoint":"/v1/chat/completions","completion_window":"24h","metadata":{"companiontest_outcome":"exploded"}}`), 400, "metadata"},
		{"bad error_every", req(`{"input_file_id":"` + input + `","endpoint":"/v1/chat/completions","completion_window":"24h","metadata":{"companiontest_error_every":"-1"}}`), 400, "metadata"},
		{"bad output expiry", req(`{"input_file_id":"` + input + `","endpoint":"/v1/chat/completions","completion_window":"24h","output_expires_after":{"anchor":"created_at","seconds":5}}`), 400, "output_expires_after.seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, resp := do(t, s, http.MethodPost, "/batches", "application/json", tt.body)
			wantAPIError(t, st, resp, tt.status, tt.param)
		})
	}
	st, resp := do(t, s, http.MethodGet, "/batches/batch_nope", "", nil)
	wantAPIError(t, st, resp, http.StatusNotFound, "batch_id")
	st, resp = do(t, s, http.MethodPost, "/batches/batch_nope/cancel", "", nil)
	wantAPIError(t, st, resp, http.StatusNotFound, "batch_id")
	_, err := c.RetrieveBatch(context.Background(), "batch_nope")
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusNotFound {
		t.Fatalf("RetrieveBatch: %v", err)
	}
	l, _ := c.ListBatch(context.Background(), nil, nil)
	if len(l.Data) != 0 {
		t.Fatalf("a bad request created a batch: %+v", l.Data)
	}
}

func TestBatchOutputExpiry(t *testing.T) {
	s := NewServer(fastBatches)
	defer s.Close()
	c := newClient(s)
	input := uploadBatchInput(t, c, chatLines(1))
	st, resp := do(t, s, http.MethodPost, "/batches", "application/json", []byte(`{"input_file_id":"`+input+
		`","endpoint":"/v1/chat/completions","completion_window":"24h","output_expires_after":{"anchor":"created_at","seconds":3600}}`))
	if st != http.StatusOK {
		t.Fatalf("%d %s", st, resp)
	}
	b, _ := waitBatch(t, c, decode[batchObject](t, resp).ID)
	_, resp = do(t, s, http.MethodGet, "/files/"+*b.OutputFileID, "", nil)
	if f := decode[fileObject](t, resp); f.ExpiresAt != f.CreatedAt+3600 {
		t.Fatalf("output file %+v", f)
	}
}

func TestBatchInputFileDeletedAfterCreate(t *testing.T) {
	s := NewServer(fastBatches)
	defer s.Close()
	c := newClient(s)
	b := createBatch(t, c, chatLines(2), nil)
	if err := c.DeleteFile(context.Background(), b.InputFileID); err != nil {
		t.Fatal(err)
	}
	if b, _ = waitBatch(t, c, b.ID); b.Status != batchCompleted {
		t.Fatalf("batch %+v", b)
	}
}

func TestParseBatchInput(t *testing.T) {
	in := strings.Join([]string{chatLine("a", "x"), "", "  ", chatLine("b", "y") + "\r"}, "\n")
	lines, errs := parseBatchInput([]byte(in), "/v1/chat/completions")
	if errs != nil || len(lines) != 2 || lines[0].Line != 1 || lines[1].Line != 4 || lines[1].CustomID != "b" {
		t.Fatalf("lines %+v, errors %+v", lines, errs)
	}
	// Every bad line is reported, not just the first.
	in = strings.Join([]string{"nope", chatLine("a", "x"), chatLine("a", "y"), "{}"}, "\n")
	_, errs = parseBatchInput([]byte(in), "/v1/chat/completions")
	var codes []string
	for _, e := range errs {
		codes = append(codes, fmt.Sprintf("%d:%s", *e.Line, e.Code))
	}
	want := "1:invalid_json_line 3:duplicate_custom_id 4:missing_required_parameter 4:missing_required_parameter 4:missing_required_parameter 4:missing_required_parameter"
	if got := strings.Join(codes, " "); got != want {
		t.Fatalf("errors %s, want %s", got, want)
	}
	// The number of errors is bounded.
	_, errs = parseBatchInput(bytes.Repeat([]byte("x\n"), 3*maxBatchErrors), "/v1/chat/completions")
	if len(errs) != maxBatchErrors {
		t.Fatalf("%d errors", len(errs))
	}
}

func FuzzParseBatchInput(f *testing.F) {
	f.Add([]byte(strings.Join(chatLines(2), "\n")))
	f.Add([]byte(chatLine("a", "x") + "\n" + chatLine("a", "x")))
	f.Add([]byte(`{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"input":"x"}}`))
	f.Add([]byte(`{"custom_id":null,"method":1,"url":[],"body":"x"}` + "\n\n[]\nnull\n{"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, errs := parseBatchInput(data, "/v1/chat/completions")
		if (lines == nil) == (errs == nil) {
			t.Fatalf("want lines or errors: %d lines, %d errors", len(lines), len(errs))
		}
		seen := make(map[string]bool)
		prev := 0
		for _, l := range lines {
			if l.CustomID == "" || seen[l.CustomID] || l.Method != "POST" || l.URL != "/v1/chat/completions" ||
				!json.Valid(l.Body) || l.Body[0] != '{' || l.Line <= prev {
				t.Fatalf("bad line accepted: %+v", l)
			}
			seen[l.CustomID] = true
			prev = l.Line
		}
		for _, e := range errs {
			if e.Code == "" || e.Message == "" {
				t.Fatalf("empty error %+v", e)
			}
		}
	})
}
