package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/prompt"
	"github.com/companion-go/companion/transport"
	"gopkg.in/yaml.v3"
)

// testServer is the server as main runs it (newServer, serve), on a
// loopback port, in front of a companiontest upstream.
type testServer struct {
	URL  string
	Addr string
	fake *companiontest.Server
	// shutdown begins a graceful shutdown, as SIGTERM does; done is
	// closed when serve has returned err.
	shutdown context.CancelFunc
	done     chan struct{}
	err      error
}

func startServer(t *testing.T, lim limits, fakeOpts ...companiontest.Option) *testServer {
	t.Helper()
	fake := companiontest.NewServer(fakeOpts...)
	t.Cleanup(fake.Close)
	a, err := newApp(slog.New(slog.DiscardHandler), lim, companion.WithBaseURL(fake.URL), companion.WithModel("gpt-4.1-mini"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), fake: fake, shutdown: cancel, done: make(chan struct{})}
	srv := newServer(a.Handler(), lim)
	go func() {
		defer close(ts.done)
		ts.err = srv.serve(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(time.Minute):
			t.Error("server did not shut down")
		}
	})
	return ts
}

func postType(t *testing.T, url, contentType string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	return postType(t, url, "application/json", strings.NewReader(body))
}

// errorBody decodes an error answer.
func errorBody(t *testing.T, resp *http.Response) errorResponse {
	t.Helper()
	var e errorResponse
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("status %d: error body: %v", resp.StatusCode, err)
	}
	if e.Status != resp.StatusCode || e.Error == "" {
		t.Errorf("status %d: error body %+v", resp.StatusCode, e)
	}
	return e
}

// sseEvent is one server-sent event: its name ("" for a piece of text)
// and its data.
type sseEvent struct {
	name string
	data []byte
}

// readEvents reads a stream's events until it ends; each event is also
// sent on each, when not nil.
func readEvents(r io.Reader, each chan<- sseEvent) []sseEvent {
	var out []sseEvent
	name := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			e := sseEvent{name: name, data: []byte(strings.TrimPrefix(line, "data: "))}
			out = append(out, e)
			if each != nil {
				each <- e
			}
			name = ""
		}
	}
	return out
}

func TestAsk(t *testing.T) {
	srv := startServer(t, defaultLimits())
	var first, second askResponse
	for _, out := range []*askResponse{&first, &second} {
		resp := post(t, srv.URL+"/ask", `{"text":"Solve 2x + 3 = 7","subject":"math","grade":8}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	if first.Source != "upstream" || second.Source != "exact" || second.Text != first.Text || !strings.Contains(first.Text, "x = 2") {
		t.Errorf("answers: %+v then %+v", first, second)
	}
	if first.CostUSD <= 0 || second.SavedUSD != first.CostUSD || first.Usage.PromptTokens == 0 {
		t.Errorf("costs: %+v then %+v", first, second)
	}
	for body, want := range map[string]int{
		`{"text":""}`:      http.StatusBadRequest,
		`{"text":"\xff"}`:  http.StatusBadRequest, // \x is not a JSON escape
		`{"nope":1}`:       http.StatusBadRequest,
		`not json`:         http.StatusBadRequest,
		`{"text":"hi"} {}`: http.StatusBadRequest,
		`{"text":"hi","history":[{"Role":"robot","Content":"x"}]}`: http.StatusBadRequest,
	} {
		resp := post(t, srv.URL+"/ask", body)
		if resp.StatusCode != want {
			t.Errorf("POST /ask %s: status %d, want %d", body, resp.StatusCode, want)
			continue
		}
		errorBody(t, resp)
	}
	// The upstream's rate limit is not the client's: 503, not 429, with
	// the upstream's Retry-After (companiontest's: 1 s).
	srv.fake.SetFaults(companiontest.Fault{Kind: companiontest.FaultRateLimit, Count: 100})
	if resp := post(t, srv.URL+"/ask", `{"text":"What is density?"}`); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("upstream 429: status %d, want 503", resp.StatusCode)
	} else if e := errorBody(t, resp); e.RetryAfter <= 0 || resp.Header.Get("Retry-After") != strconv.Itoa(e.RetryAfter) {
		t.Errorf("upstream 429: Retry-After %q, body %+v", resp.Header.Get("Retry-After"), e)
	}
}

func TestAskStream(t *testing.T) {
	srv := startServer(t, defaultLimits())
	resp := post(t, srv.URL+"/ask/stream", `{"text":"解方程 3x - 4 = 11"}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var text strings.Builder
	var done askResponse
	chunks := 0
	for _, e := range readEvents(resp.Body, nil) {
		switch e.name {
		case "":
			var c chunkEvent
			if err := json.Unmarshal(e.data, &c); err != nil {
				t.Fatal(err)
			}
			text.WriteString(c.Text)
			chunks++
		case "done":
			if err := json.Unmarshal(e.data, &done); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("event %s: %s", e.name, e.data)
		}
	}
	if chunks < 3 || !strings.Contains(text.String(), "x = 5") || done.Source != "upstream" || done.Usage.CompletionTokens == 0 {
		t.Errorf("%d chunks, text %q, done %+v", chunks, text.String(), done)
	}
}

// snakeCase matches a JSON field name as the server writes them.
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// checkNames reports every object key in the JSON doc that is not
// snake_case, and returns the keys it saw, as dotted paths.
func checkNames(t *testing.T, what string, doc []byte) map[string]bool {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, doc)
	}
	seen := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if !snakeCase.MatchString(k) {
					t.Errorf("%s: field %q is not snake_case: %s", what, path+k, doc)
				}
				seen[path+k] = true
				walk(path+k+".", x)
			}
		case []any:
			for _, x := range v {
				walk(path, x)
			}
		}
	}
	walk("", v)
	return seen
}

// Every JSON the server writes, answers and events alike, names its
// fields in snake_case; usage has OpenAI's names.
func TestJSONFieldNames(t *testing.T) {
	srv := startServer(t, defaultLimits())
	resp := post(t, srv.URL+"/ask", `{"text":"What is Ohm's law?"}`)
	body, _ := io.ReadAll(resp.Body)
	seen := checkNames(t, "POST /ask", body)
	for _, k := range []string{"usage.prompt_tokens", "usage.completion_tokens", "usage.total_tokens", "usage.cached_prompt_tokens", "timings_ms.first_token", "finish_reason"} {
		if !seen[k] {
			t.Errorf("POST /ask: no %s: %s", k, body)
		}
	}

	resp = post(t, srv.URL+"/ask/stream", `{"text":"What is a prime number?"}`)
	names := map[string]int{}
	for _, e := range readEvents(resp.Body, nil) {
		names[e.name]++
		seen := checkNames(t, "event "+e.name, e.data)
		if e.name == "done" && !seen["usage.prompt_tokens"] {
			t.Errorf("done event: no usage.prompt_tokens: %s", e.data)
		}
	}
	if names[""] == 0 || names["done"] != 1 {
		t.Errorf("events %v", names)
	}

	resp = post(t, srv.URL+"/ask", `{"text":""}`)
	body, _ = io.ReadAll(resp.Body)
	if seen := checkNames(t, "error", body); !seen["status"] || !seen["error"] {
		t.Errorf("error body %s", body)
	}

	// A stream cut after a few chunks: an error event, or an error answer
	// if Companion gave up before releasing any text.
	srv.fake.SetFaults(companiontest.Fault{Kind: companiontest.FaultDropStream, AfterChunks: 3, Count: 100})
	resp = post(t, srv.URL+"/ask/stream", `{"text":"What is photosynthesis?"}`)
	if resp.StatusCode != http.StatusOK {
		body, _ = io.ReadAll(resp.Body)
		if seen := checkNames(t, "stream error answer", body); !seen["status"] || !seen["error"] {
			t.Errorf("stream error answer %d: %s", resp.StatusCode, body)
		}
		return
	}
	var last sseEvent
	for _, e := range readEvents(resp.Body, nil) {
		last = e
	}
	if last.name != "error" {
		t.Fatalf("cut stream: last event %q %s", last.name, last.data)
	}
	if seen := checkNames(t, "error event", last.data); !seen["status"] || !seen["error"] {
		t.Errorf("error event %s", last.data)
	}
}

func TestContentType(t *testing.T) {
	srv := startServer(t, defaultLimits())
	for ct, want := range map[string]int{
		"application/json":                  http.StatusOK,
		"application/json; charset=utf-8":   http.StatusOK,
		"Application/JSON; Charset=UTF-8":   http.StatusOK,
		"":                                  http.StatusUnsupportedMediaType,
		"text/plain":                        http.StatusUnsupportedMediaType,
		"application/x-www-form-urlencoded": http.StatusUnsupportedMediaType, // curl -d without -H
		"application/json; charset=latin1":  http.StatusUnsupportedMediaType,
		"application/json; version=2":       http.StatusUnsupportedMediaType,
		"application/jsonl":                 http.StatusUnsupportedMediaType,
		"application/json;;":                http.StatusUnsupportedMediaType,
	} {
		for _, path := range []string{"/ask", "/ask/stream"} {
			resp := postType(t, srv.URL+path, ct, strings.NewReader(`{"text":"What is an atom?"}`))
			if resp.StatusCode != want {
				t.Errorf("POST %s as %q: status %d, want %d", path, ct, resp.StatusCode, want)
			} else if want != http.StatusOK {
				errorBody(t, resp)
			}
		}
	}
}

// hideLength hides a reader's length from net/http, so that the body is
// sent chunked.
type hideLength struct{ io.Reader }

func TestBodyTooLarge(t *testing.T) {
	srv := startServer(t, defaultLimits())
	big := make([]byte, 50<<20)
	copy(big, `{"text":"`)
	for i := len(`{"text":"`); i < len(big); i++ {
		big[i] = 'a'
	}
	for name, body := range map[string]func() io.Reader{
		"content-length": func() io.Reader { return bytes.NewReader(big) },
		"chunked":        func() io.Reader { return hideLength{bytes.NewReader(big)} },
	} {
		t.Run(name, func(t *testing.T) {
			resp := postType(t, srv.URL+"/ask", "application/json", body())
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			errorBody(t, resp)
		})
	}
	// Just under the limit is read (and refused by Companion for its
	// length, with 413 as well, but as a question too long).
	under := append(append([]byte(`{"text":"`), bytes.Repeat([]byte("a"), 1<<20-20)...), `"}`...)
	resp := postType(t, srv.URL+"/ask", "application/json", bytes.NewReader(under))
	if e := errorBody(t, resp); resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(e.Error, "too long") {
		t.Errorf("a 1 MiB question: status %d, %+v", resp.StatusCode, e)
	}
}

func TestInvalidUTF8(t *testing.T) {
	srv := startServer(t, defaultLimits())
	for _, body := range []string{
		"{\"text\":\"caf\xe9?\"}", // Latin-1 é
		"{\"text\":\"hi\",\"history\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}",
		"{\"text\":\"hi\",\"subject\":\"\xc3\"}",                                    // a cut UTF-8 sequence
		"{\"text\":\"hi\",\"snippets\":[{\"id\":\"a\",\"text\":\"\xed\xa0\x80\"}]}", // a surrogate encoded in UTF-8
		`{"text":"lone \ud800 high"}`,
		`{"text":"lone \udc00 low"}`,
		`{"text":"high then letter \ud800\u0041"}`,
		`{"text":"high at the end \ud83d"}`,
	} {
		resp := post(t, srv.URL+"/ask", body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", body, resp.StatusCode)
			continue
		}
		if e := errorBody(t, resp); !strings.Contains(e.Error, "UTF") {
			t.Errorf("%q: %+v", body, e)
		}
	}
	for _, body := range []string{
		`{"text":"What is 😀 in \ud83d\ude00?"}`,
		`{"text":"A path C:\\ud800 is only text"}`,
		`{"text":"Was ist die Ableitung von x²? \u00e9"}`,
	} {
		if resp := post(t, srv.URL+"/ask", body); resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Errorf("%s: status %d: %s", body, resp.StatusCode, b)
		}
	}
}

// dripped sends head, then body one byte a second, and returns what the
// server answered (maybe nothing) and how long it kept the connection.
func dripped(t *testing.T, addr, head, body string) (string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(conn)
		got <- b
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case b := <-got:
			return string(b), time.Since(start)
		case <-tick.C:
			if i < len(body) {
				_, _ = conn.Write([]byte{body[i]}) // fails once the server has closed
			}
			if time.Since(start) > time.Minute {
				t.Fatal("the server kept a dripping client for a minute")
			}
		}
	}
}

// A client that sends its request a byte a second is cut off long before
// 20 s: after the body timeout with a 408, or after the header timeout.
func TestSlowClient(t *testing.T) {
	srv := startServer(t, defaultLimits())
	lim := defaultLimits()
	body := `{"text":"What is the speed of light in a vacuum, in metres per second?"}`
	t.Run("body", func(t *testing.T) {
		t.Parallel()
		head := fmt.Sprintf("POST /ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		got, took := dripped(t, srv.Addr, head, body)
		if !strings.HasPrefix(got, "HTTP/1.1 408 ") {
			t.Errorf("answer %q", got)
		}
		if took > 20*time.Second || took < lim.BodyTimeout/2 {
			t.Errorf("connection kept %v; body timeout %v", took, lim.BodyTimeout)
		}
	})
	t.Run("headers", func(t *testing.T) {
		t.Parallel()
		head := "POST /ask HTTP/1.1\r\n"
		rest := fmt.Sprintf("Host: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		got, took := dripped(t, srv.Addr, head, rest)
		if strings.HasPrefix(got, "HTTP/1.1 200 ") {
			t.Errorf("answer %q", got)
		}
		if took > 20*time.Second {
			t.Errorf("connection kept %v; header timeout %v", took, lim.HeaderTimeout)
		}
	})
}

// The read and write deadlines bound the request and each write, not the
// turn: a turn that takes longer than all of them is answered, streamed
// or not, and the next request on the same connection gets deadlines of
// its own.
func TestTimeoutsBoundRequestsNotTurns(t *testing.T) {
	lim := defaultLimits()
	lim.HeaderTimeout, lim.BodyTimeout, lim.ReadTimeout, lim.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	srv := startServer(t, lim, companiontest.WithLatency(companiontest.Latency{FirstToken: 1200 * time.Millisecond}))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	do := func(method, path, body string) (*http.Response, bool) {
		t.Helper()
		reused := false
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp, reused
	}
	resp, _ := do(http.MethodPost, "/ask", `{"text":"What is inertia?"}`)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		t.Errorf("POST /ask: status %d: %s", resp.StatusCode, b)
	}
	time.Sleep(2 * lim.WriteTimeout) // the deadline of the answer's write has passed
	resp, reused := do(http.MethodGet, "/healthz", "")
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || !reused {
		t.Errorf("GET /healthz after a turn, reused connection %v: status %d: %s", reused, resp.StatusCode, b)
	}
	resp, _ = do(http.MethodPost, "/ask/stream", `{"text":"What is momentum?"}`)
	events := readEvents(resp.Body, nil)
	if resp.StatusCode != http.StatusOK || len(events) == 0 || events[len(events)-1].name != "done" {
		t.Errorf("POST /ask/stream: status %d, events %q", resp.StatusCode, events)
	}
}

// A system prompt that alone exceeds the prompt budget is the client's to
// shorten: 413 with the budget's figures, not 502.
func TestPromptOverBudget(t *testing.T) {
	srv := startServer(t, defaultLimits())
	system := strings.Repeat("Always answer as a patient tutor who explains every step. ", 300)
	body, _ := json.Marshal(map[string]string{"text": "What is 2 + 2?", "system": system})
	for _, path := range []string{"/ask", "/ask/stream"} {
		resp := post(t, srv.URL+path, string(body))
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			b, _ := io.ReadAll(resp.Body)
			t.Errorf("POST %s: status %d: %s", path, resp.StatusCode, b)
			continue
		}
		e := errorBody(t, resp)
		if e.LimitTokens != prompt.DefaultBudget-prompt.DefaultReserve || e.RequiredTokens <= e.LimitTokens {
			t.Errorf("POST %s: %+v", path, e)
		}
	}
}

func TestClassify(t *testing.T) {
	budget := &prompt.BudgetError{Limit: 1500, Required: 4000}
	for _, c := range []struct {
		err  error
		want int
	}{
		{&companion.InputError{Field: "Text", Err: companion.ErrEmptyQuestion}, 400},
		{&companion.InputError{Field: "History[0].Role", Err: companion.ErrUnknownRole}, 400},
		{&prompt.InputError{Field: "Snippets[0].Text", Err: prompt.ErrInvalidUTF8}, 400},
		{&companion.InputError{Field: "Text", Err: fmt.Errorf("%w: 40000 bytes", companion.ErrTooLong)}, 413},
		{budget, 413},
		{fmt.Errorf("companion: prompt: %w", budget), 413},
		{&companion.InputError{Field: "SystemPrompt", Err: fmt.Errorf("%w: %w", companion.ErrTooLong, budget)}, 413},
		{&companion.BlockedError{}, 422},
		{context.Canceled, 499},
		{fmt.Errorf("turn: %w", context.DeadlineExceeded), 504},
		{&companion.UpstreamError{Kind: companion.ErrStatus, StatusCode: 429, Err: errors.New("slow down")}, 503},
		{&companion.UpstreamError{Kind: companion.ErrStatus, StatusCode: 429, RetryAfter: 1500 * time.Millisecond, Err: errors.New("slow down")}, 503},
		{&companion.UpstreamError{Kind: companion.ErrUnreachable, Err: transport.ErrCircuitOpen}, 503},
		{fmt.Errorf("ask: %w", companion.ErrClosed), 503},
		{&companion.UpstreamError{Kind: companion.ErrStatus, StatusCode: 503, Err: errors.New("overloaded")}, 503},
		{&companion.UpstreamError{Kind: companion.ErrUnreachable, Err: errors.New("circuit open")}, 503},
		{&companion.UpstreamError{Kind: companion.ErrStatus, StatusCode: 504, Err: errors.New("gateway")}, 504},
		{&companion.UpstreamError{Kind: companion.ErrStatus, StatusCode: 500, Err: errors.New("oops")}, 502},
		{&companion.UpstreamError{Kind: companion.ErrStatus, StatusCode: 401, Err: errors.New("bad key")}, 502},
		{&companion.UpstreamError{Kind: companion.ErrMalformedResponse, Err: errors.New("{")}, 502},
		{&companion.UpstreamError{Kind: companion.ErrStreamInterrupted, Err: io.ErrUnexpectedEOF}, 502},
		{&companion.ConfigError{Option: "WithModel", Reason: "empty"}, 500},
		{errors.New("something else"), 500},
	} {
		if got := classify(c.err); got.Status != c.want || got.Error == "" {
			t.Errorf("classify(%v) = %+v, want status %d", c.err, got, c.want)
		}
	}
	if got := classify(&companion.UpstreamError{Kind: companion.ErrStatus, StatusCode: 429, RetryAfter: 1500 * time.Millisecond}); got.RetryAfter != 2 {
		t.Errorf("a 429 asking for 1.5 s: %+v, want retry_after 2", got)
	}
	r, _ := http.NewRequest(http.MethodPost, "/ask", nil)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errShutdown)
	if got := classifyTurn(r.WithContext(ctx), context.Canceled); got.Status != http.StatusServiceUnavailable {
		t.Errorf("a turn cancelled by shutdown: %+v", got)
	}
	if got := classifyTurn(r, context.Canceled); got.Status != statusClientClosed {
		t.Errorf("a turn cancelled by its client: %+v", got)
	}
}

func TestCheckText(t *testing.T) {
	for in, ok := range map[string]bool{
		`{}`:                   true,
		`"\u0041\n\\\"\/"`:     true,
		`"\ud83d\ude00"`:       true,
		`"\uD83D\uDE00"`:       true,
		`"\\ud800"`:            true,
		`"\\\ud800"`:           false,
		`"\ud800"`:             false,
		`"\udfff"`:             false,
		`"\ud800\ud800"`:       false,
		`"\ud800\n"`:           false,
		`"\ud83d\ude0"`:        false,
		`"\u12"`:               true, // not JSON: the decoder refuses it
		"\"\xff\"":             false,
		"\"\xf0\x9f\x98\x80\"": true,
		`\`:                    true,
	} {
		if got := checkText([]byte(in)) == nil; got != ok {
			t.Errorf("checkText(%s) ok = %v, want %v", in, got, ok)
		}
	}
}

// inflight polls /metrics until n turns are in flight.
func inflight(t *testing.T, url string, n int) {
	t.Helper()
	want := fmt.Sprintf("\ncompanion_turns_inflight %d\n", n)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), want) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("never %d turns in flight", n)
}

// result is what a client got from one request.
type result struct {
	status int
	body   []byte
	events []sseEvent
	err    error
}

// goAsk sends body to path in the background; a stream's events are also
// sent on each, when not nil.
func goAsk(url, path, body string, each chan<- sseEvent) <-chan result {
	out := make(chan result, 1)
	go func() {
		resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
		if err != nil {
			out <- result{err: err}
			return
		}
		defer resp.Body.Close()
		r := result{status: resp.StatusCode}
		if resp.Header.Get("Content-Type") == "text/event-stream" {
			r.events = readEvents(resp.Body, each)
		} else {
			r.body, r.err = io.ReadAll(resp.Body)
		}
		out <- r
	}()
	return out
}

// Shutdown stops accepting connections at once and waits for the turns in
// flight, a JSON answer and a stream, to finish.
func TestShutdownDrainsInFlight(t *testing.T) {
	srv := startServer(t, defaultLimits(), companiontest.WithLatency(companiontest.Latency{
		FirstToken: time.Second, PerOutputToken: 20 * time.Millisecond,
	}))
	chunks := make(chan sseEvent, 1000)
	stream := goAsk(srv.URL, "/ask/stream", `{"text":"Explain Newton's second law"}`, chunks)
	ask := goAsk(srv.URL, "/ask", `{"text":"What is 7 times 8?"}`, nil)
	inflight(t, srv.URL, 2)
	select {
	case <-chunks: // the stream is under way
	case <-time.After(time.Minute):
		t.Fatal("no chunk")
	}
	srv.shutdown()
	// New connections are refused while the turns finish.
	refused := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", srv.Addr, time.Second)
		if err != nil {
			refused = true
			break
		}
		c.Close()
	}
	if !refused {
		t.Error("still accepting connections after shutdown began")
	}

	a := <-ask
	var ans askResponse
	if a.err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &ans) != nil || ans.Text == "" {
		t.Errorf("POST /ask during shutdown: %d %s %v", a.status, a.body, a.err)
	}
	s := <-stream
	if s.err != nil || s.status != http.StatusOK || len(s.events) < 3 || s.events[len(s.events)-1].name != "done" {
		t.Errorf("POST /ask/stream during shutdown: %d, %d events, %v", s.status, len(s.events), s.err)
	}
	select {
	case <-srv.done:
		if srv.err != nil {
			t.Errorf("serve: %v", srv.err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not return")
	}
}

// Turns still running when the drain time is over are cancelled and
// answered 503, a stream under way with an error event, and serve
// returns.
func TestShutdownDrainDeadline(t *testing.T) {
	lim := defaultLimits()
	lim.Drain = 300 * time.Millisecond
	// The first token at once, the next one after ten minutes.
	srv := startServer(t, lim, companiontest.WithLatency(companiontest.Latency{PerOutputToken: 10 * time.Minute}))
	ask := goAsk(srv.URL, "/ask", `{"text":"What is 7 times 8?"}`, nil)
	stream := goAsk(srv.URL, "/ask/stream", `{"text":"Explain Newton's second law"}`, nil)
	inflight(t, srv.URL, 2)
	start := time.Now()
	srv.shutdown()
	select {
	case <-srv.done:
		if !errors.Is(srv.err, context.DeadlineExceeded) {
			t.Errorf("serve: %v, want the drain's deadline", srv.err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not return")
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("shutdown took %v with a drain of %v", took, lim.Drain)
	}
	if a := <-ask; a.status != http.StatusServiceUnavailable {
		t.Errorf("POST /ask cut by shutdown: %d %s %v", a.status, a.body, a.err)
	}
	s := <-stream
	switch {
	case s.status == http.StatusOK && len(s.events) > 0:
		last := s.events[len(s.events)-1]
		var e errorResponse
		if last.name != "error" || json.Unmarshal(last.data, &e) != nil || e.Status != http.StatusServiceUnavailable {
			t.Errorf("POST /ask/stream cut by shutdown: last event %s %s", last.name, last.data)
		}
	case s.status != http.StatusServiceUnavailable: // cut before it began
		t.Errorf("POST /ask/stream cut by shutdown: %d, %q, %v", s.status, s.events, s.err)
	}
}

// runMainEnv, set in the environment of this test binary, makes it the
// server: TestMain runs main with the arguments that follow "--".
const runMainEnv = "COMPANION_SERVER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{os.Args[0]}, os.Args[i+1:]...)
				break
			}
		}
		main()
		return
	}
	os.Exit(m.Run())
}

// The server's main, run as a process of its own and sent SIGTERM with a
// turn in flight, answers it, then exits 0.
func TestSIGTERM(t *testing.T) {
	cmd := exec.Command(os.Args[0], "--", "-addr", "127.0.0.1:0", "-latency", "article")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "OPENAI_API_KEY=", "OPENAI_BASE_URL=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	addr := make(chan string, 1)
	var logs bytes.Buffer
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		listening := regexp.MustCompile(`msg=listening addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a
	case <-time.After(time.Minute):
		t.Fatal("the server did not start")
	}
	ask := goAsk(url, "/ask", `{"text":"What is the boiling point of water?"}`, nil)
	inflight(t, url, 1)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-ask
	if a.err != nil || a.status != http.StatusOK {
		t.Errorf("POST /ask during shutdown: %d %s %v", a.status, a.body, a.err)
	}
	exited := make(chan error, 1)
	go func() { <-logged; exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("the server did not exit\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "shut down") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

// The alerting rules parse, say what the article's alerts say, and name
// only metrics and labels that the server exports.
func TestAlertRules(t *testing.T) {
	srv := startServer(t, defaultLimits())
	post(t, srv.URL+"/ask", `{"text":"What is Ohm's law?"}`)
	post(t, srv.URL+"/ask", `{"text":"What is Ohm's law?"}`)
	post(t, srv.URL+"/ask", `{"text":""}`)
	srv.fake.SetFaults(companiontest.Fault{Kind: companiontest.FaultServerError, Count: 100})
	post(t, srv.URL+"/ask", `{"text":"What is a volt?"}`)
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	exported := string(metrics)

	raw, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert       string
				Expr        string
				For         string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	if len(doc.Groups) != 1 || len(doc.Groups[0].Rules) != 3 {
		t.Fatalf("want one group of three rules, got %+v", doc)
	}
	want := map[string]*regexp.Regexp{
		"CompanionP99LatencyHigh":   regexp.MustCompile(`histogram_quantile\(0\.99,[\s\S]*companion_turn_time_to_first_token_seconds_bucket[\s\S]*\)\s*>\s*2\s*$`),
		"CompanionErrorRateHigh":    regexp.MustCompile(`companion_turn_duration_seconds_count[\s\S]*/[\s\S]*companion_turn_duration_seconds_count[\s\S]*>\s*0\.01\s*$`),
		"CompanionCacheHitRatioLow": regexp.MustCompile(`companion_turn_duration_seconds_count\{[^}]*companion_source=~"exact\|semantic\|prewarmed"[\s\S]*/[\s\S]*companion_turn_duration_seconds_count[\s\S]*<\s*0\.40\s*$`),
	}
	metricName := regexp.MustCompile(`\b(companion_[a-z_]+)\s*[{\[]`)
	label := regexp.MustCompile(`([a-z_]+)\s*(=~|!~|!=|=)\s*"`)
	for _, r := range doc.Groups[0].Rules {
		re, ok := want[r.Alert]
		if !ok {
			t.Errorf("unexpected alert %q", r.Alert)
			continue
		}
		if !re.MatchString(strings.TrimSpace(r.Expr)) {
			t.Errorf("%s: expr %q does not say what it should", r.Alert, r.Expr)
		}
		if strings.Contains(r.Expr, "companion_cache_lookups_total") {
			t.Errorf("%s: counts lookups, not turns", r.Alert)
		}
		if r.For == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
			t.Errorf("%s: needs for, a severity label and a summary", r.Alert)
		}
		for _, m := range metricName.FindAllStringSubmatch(r.Expr, -1) {
			if !strings.Contains(exported, "\n"+m[1]+"{") && !strings.Contains(exported, "\n"+m[1]+" ") {
				t.Errorf("%s: metric %s is not exported by /metrics", r.Alert, m[1])
			}
		}
		for _, l := range label.FindAllStringSubmatch(r.Expr, -1) {
			if !strings.Contains(exported, l[1]+"=\"") {
				t.Errorf("%s: label %s is not exported by /metrics", r.Alert, l[1])
			}
		}
	}
	// The rules rely on these label values: answered turns have their
	// source and no error type, failed ones the source "none".
	for _, v := range []string{
		`companion_turn_duration_seconds_count{companion_source="upstream",error_type=""}`,
		`companion_turn_duration_seconds_count{companion_source="exact",error_type=""}`,

		`companion_turn_time_to_first_token_seconds_bucket{companion_source="exact",error_type="",le="2"}`,
	} {
		if !strings.Contains(exported, v) {
			t.Errorf("/metrics has no %s", v)
		}
	}
	if !regexp.MustCompile(`\ncompanion_turn_duration_seconds_count\{companion_source="none",error_type="[a-z0-9_]+"\} 1\n`).MatchString(exported) {
		t.Error("/metrics has no failed turn with source none and an error type")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", exported)
	}
}

// promtool's tests of the rules (testdata/alerts_test.yml): each alert
// fires when it should and stays silent when it should.
func TestAlertRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found (Debian: apt-get install prometheus); the alert rule tests did not run")
	}
	if out, err := exec.Command(promtool, "check", "rules", "alerts.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if out, err := exec.Command(promtool, "test", "rules", filepath.Join("testdata", "alerts_test.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}
