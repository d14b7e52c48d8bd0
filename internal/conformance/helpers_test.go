package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/prompt"
)

// chatServer starts a companiontest server for the test.
func chatServer(t testing.TB, opts ...companiontest.Option) *companiontest.Server {
	t.Helper()
	s := companiontest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// upload builds a multipart/form-data body of the given fields and, unless
// filename is "-", a file part; it returns the content type and the body.
func upload(t testing.TB, fields map[string]string, filename string, content []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for name, value := range fields {
		must(t, w.WriteField(name, value))
	}
	if filename != "-" {
		part, err := w.CreateFormFile("file", filename)
		must(t, err)
		_, err = part.Write(content)
		must(t, err)
	}
	must(t, w.Close())
	return w.FormDataContentType(), buf.Bytes()
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// decode unmarshals b into a T or fails the test.
func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T: %v in %s", v, err, b)
	}
	return v
}

// testClock is a clock the test sets, for companiontest.WithClock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t and returns t.
func (c *testClock) Set(t time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	return t
}

// chatLines returns n batch input lines asking chat completions, with
// custom_ids q1…qn.
func chatLines(n int) []string {
	var lines []string
	for i := 1; i <= n; i++ {
		body, _ := json.Marshal(map[string]any{
			"model":    "gpt-4o-mini",
			"messages": []map[string]string{{"role": "user", "content": fmt.Sprintf("What is %d + %d?", i, i)}},
		})
		lines = append(lines, fmt.Sprintf(`{"custom_id":"q%d","method":"POST","url":"/v1/chat/completions","body":%s}`, i, body))
	}
	return lines
}

// uploadBatchInput uploads JSONL lines as a batch input file and returns
// its ID.
func uploadBatchInput(t testing.TB, s *companiontest.Server, lines []string) string {
	t.Helper()
	ct, body := upload(t, map[string]string{"purpose": "batch"}, "input.jsonl", []byte(strings.Join(lines, "\n")+"\n"))
	x := call(t, s, http.MethodPost, "/files", ct, body)
	if x.resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %d %s", x.resp.StatusCode, x.body)
	}
	return decode[fileObject](t, x.body).ID
}

// fileObject is the part of a file object the tests read.
type fileObject struct {
	ID string `json:"id"`
}

// batchObject is the part of a batch object the tests read.
type batchObject struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	OutputFileID string `json:"output_file_id"`
	ErrorFileID  string `json:"error_file_id"`
}

// outputLine is a line of a batch's output or error file.
type outputLine struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// counterFor returns the token counter of model or fails the test.
func counterFor(t testing.TB, model string) *prompt.Counter {
	t.Helper()
	c, err := prompt.CounterForModel(model)
	must(t, err)
	return c
}

// cosine is the cosine similarity of a and b.
func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

// newTest starts a fake server and a Companion pointed at it; both end
// with the test.
func newTest(t testing.TB, opts []companiontest.Option, copts ...companion.Option) (*companion.Companion, *companiontest.Server) {
	t.Helper()
	srv := companiontest.NewServer(opts...)
	t.Cleanup(srv.Close)
	c, err := companion.New(append([]companion.Option{companion.WithBaseURL(srv.URL), companion.WithModel("gpt-4.1-mini")}, copts...)...)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c, srv
}

// newMemory returns a memory tier closed with the test.
func newMemory(t testing.TB) *cache.Memory {
	t.Helper()
	m, err := cache.NewMemory(cache.MemoryConfig{})
	must(t, err)
	t.Cleanup(m.Close)
	return m
}

// drain reads a stream opened by AskStream to its end and returns the
// error that ended it (nil for io.EOF).
func drain(s *companion.Stream, err error) error {
	if err != nil {
		return err
	}
	defer s.Close()
	for {
		if _, err := s.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
