package companiontest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const chatPath = "/v1/chat/completions"

func TestFaultStatus(t *testing.T) {
	for _, tc := range []struct {
		kind   FaultKind
		status int
		typ    string
	}{
		{FaultRateLimit, http.StatusTooManyRequests, "requests"},
		{FaultServerError, http.StatusInternalServerError, "server_error"},
		{FaultBadGateway, http.StatusBadGateway, "server_error"},
		{FaultUnavailable, http.StatusServiceUnavailable, "server_error"},
		{FaultGatewayTimeout, http.StatusGatewayTimeout, "server_error"},
	} {
		s := chatServer(t, WithFaults(Fault{Kind: tc.kind}))
		res, data := postBody(t, s, "/chat/completions", chatBody("hi", nil))
		checkAPIError(t, res, data, tc.status, tc.typ, "")
	}
}

func TestFaultRateLimitHeaders(t *testing.T) {
	s := chatServer(t, WithFaults(Fault{Kind: FaultRateLimit, RetryAfter: 1500 * time.Millisecond, Count: 1}, Fault{Kind: FaultRateLimit}))
	res, data := postBody(t, s, "/chat/completions", chatBody("hi", nil))
	checkAPIError(t, res, data, http.StatusTooManyRequests, "requests", "")
	h := res.Header
	if h.Get("Retry-After") != "2" || h.Get("retry-after-ms") != "1500" || h.Get("x-ratelimit-reset-requests") != "1.5s" {
		t.Errorf("headers: %v", h)
	}
	if !strings.Contains(string(data), `"code":"rate_limit_exceeded"`) {
		t.Errorf("body: %s", data)
	}
	// The second fault has the default RetryAfter, 1 s.
	res, _ = postBody(t, s, "/chat/completions", chatBody("hi", nil))
	if res.Header.Get("Retry-After") != "1" || res.Header.Get("retry-after-ms") != "1000" {
		t.Errorf("default headers: %v", res.Header)
	}
}

func TestFaultCountAndPath(t *testing.T) {
	s := chatServer(t, WithFaults(
		Fault{Kind: FaultServerError, Path: "/v1/embeddings"},
		Fault{Kind: FaultUnavailable, Path: chatPath, Count: 2},
	))
	var got []int
	for range 4 {
		res, _ := postBody(t, s, "/chat/completions", chatBody("hi", nil))
		got = append(got, res.StatusCode)
	}
	if want := []int{503, 503, 200, 200}; !equalInts(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	res, _ := postBody(t, s, "/embeddings", map[string]any{"model": "text-embedding-3-small", "input": "x"})
	if res.StatusCode != http.StatusInternalServerError {
		t.Errorf("embeddings: %d", res.StatusCode)
	}
	// SetFaults with no argument turns faults off.
	s.SetFaults()
	res, _ = postBody(t, s, "/embeddings", map[string]any{"model": "text-embedding-3-small", "input": "x"})
	if res.StatusCode != http.StatusOK {
		t.Errorf("embeddings after SetFaults(): %d", res.StatusCode)
	}
	// A path without the /v1 prefix matches too.
	s.SetFaults(Fault{Kind: FaultBadGateway, Path: "/chat/completions"})
	if res, _ := postBody(t, s, "/chat/completions", chatBody("hi", nil)); res.StatusCode != http.StatusBadGateway {
		t.Errorf("short path: %d", res.StatusCode)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFaultRate(t *testing.T) {
	pattern := func(seed uint64) []bool {
		s := NewUnstartedServer(WithSeed(seed), WithFaults(Fault{Kind: FaultServerError, Rate: 0.3}))
		defer s.Close()
		var out []bool
		for range 300 {
			out = append(out, serveDirect(s, http.MethodGet, "/v1/models", nil).Code == http.StatusInternalServerError)
		}
		return out
	}
	a, b, c := pattern(7), pattern(7), pattern(8)
	n := 0
	for _, f := range a {
		if f {
			n++
		}
	}
	if n < 60 || n > 120 {
		t.Errorf("%d of 300 requests failed at rate 0.3", n)
	}
	same := func(x, y []bool) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("the same seed gave different fault patterns")
	}
	if same(a, c) {
		t.Error("different seeds gave the same fault pattern")
	}
}

func TestFaultSlowHeaders(t *testing.T) {
	s := chatServer(t, WithFaults(Fault{Kind: FaultSlowHeaders, Delay: 60 * time.Millisecond}))
	start := time.Now()
	res, data := postBody(t, s, "/chat/completions", chatBody("solve 2x+3=7", nil))
	if took := time.Since(start); took < 60*time.Millisecond {
		t.Errorf("took %v, want at least 60ms", took)
	}
	if res.StatusCode != http.StatusOK || !strings.Contains(string(data), "x = 2") {
		t.Errorf("status %d: %s", res.StatusCode, data)
	}
}

func TestFaultMalformedJSON(t *testing.T) {
	s := chatServer(t, WithFaults(Fault{Kind: FaultMalformedJSON}))
	for _, path := range []string{"/chat/completions", "/embeddings", "/moderations"} {
		body := any(chatBody("hi", nil))
		if path != "/chat/completions" {
			body = map[string]any{"model": "text-embedding-3-small", "input": "hello"}
		}
		res, data := postBody(t, s, path, body)
		if res.StatusCode != http.StatusOK || json.Valid(data) || len(data) == 0 {
			t.Errorf("%s: status %d, valid JSON %v: %s", path, res.StatusCode, json.Valid(data), data)
		}
	}
	// Stream: an event whose data is not JSON.
	res, err := s.Client().Post(s.URL+"/chat/completions", "application/json", jsonReader(chatBody("hi", map[string]any{"stream": true})))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events, _, err := readSSE(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, ev := range events {
		if ev.data != "[DONE]" && !json.Valid([]byte(ev.data)) {
			bad++
		}
	}
	if bad != 1 {
		t.Errorf("%d malformed events in %v", bad, events)
	}
}

func jsonReader(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

func TestFaultDropStream(t *testing.T) {
	t.Run("json", func(t *testing.T) {
		s := chatServer(t, WithFaults(Fault{Kind: FaultDropStream}))
		res, err := s.Client().Post(s.URL+"/chat/completions", "application/json", jsonReader(chatBody("hi", nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, err := io.ReadAll(res.Body)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("read: %v after %d bytes, want unexpected EOF", err, len(data))
		}
	})
	for _, after := range []int{0, 3, 1000} {
		t.Run("stream", func(t *testing.T) {
			s := chatServer(t, WithFaults(Fault{Kind: FaultDropStream, AfterChunks: after}))
			res, err := s.Client().Post(s.URL+"/chat/completions", "application/json", jsonReader(chatBody("hi", map[string]any{"stream": true})))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			events, _, err := readSSE(res.Body)
			if err == nil {
				t.Error("the stream ended cleanly")
			}
			if after < 1000 && len(events) != after {
				t.Errorf("%d events before the drop, want %d", len(events), after)
			}
			for _, ev := range events {
				if ev.data == "[DONE]" {
					t.Error("[DONE] before the drop")
				}
			}
		})
	}
	t.Run("http2", func(t *testing.T) {
		s := NewUnstartedServer(WithFaults(Fault{Kind: FaultDropStream, AfterChunks: 2}))
		s.HTTP.EnableHTTP2 = true
		s.StartTLS()
		defer s.Close()
		res, err := s.Client().Post(s.URL+"/chat/completions", "application/json", jsonReader(chatBody("hi", map[string]any{"stream": true})))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.ProtoMajor != 2 {
			t.Fatalf("protocol %s", res.Proto)
		}
		events, _, err := readSSE(res.Body)
		if err == nil || len(events) != 2 {
			t.Errorf("%d events, err %v: want 2 and a stream error", len(events), err)
		}
	})
}

func TestFaultBrokenSSE(t *testing.T) {
	s := chatServer(t, WithFaults(Fault{Kind: FaultBrokenSSE, Count: 1}))
	res, err := s.Client().Post(s.URL+"/chat/completions", "application/json", jsonReader(chatBody("hi", map[string]any{"stream": true})))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events, stray, err := readSSE(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(stray) == 0 {
		t.Error("no broken line")
	}
	for _, ev := range events {
		if ev.data == "[DONE]" {
			t.Error("a broken stream ended with [DONE]")
		}
	}
	// Count 1: the next stream is whole.
	_, _, done := streamChat(t, s, chatBody("hi", map[string]any{"stream": true}))
	if !done {
		t.Error("second stream: no [DONE]")
	}
}

func TestFaultBodyOtherEndpoint(t *testing.T) {
	s := chatServer(t, WithFaults(Fault{Kind: FaultMalformedJSON, Path: "/v1/models"}))
	res, err := s.Client().Get(s.URL + "/models")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || json.Valid(data) {
		t.Errorf("status %d: %s", res.StatusCode, data)
	}
}
