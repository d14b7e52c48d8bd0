package openaigo_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/companion-go/companion/openaigo"
)

// errorShape checks that a response is an error in OpenAI's shape and
// returns its fields.
func errorShape(t *testing.T, status int, h http.Header, body []byte) map[string]any {
	t.Helper()
	var out struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Error == nil {
		t.Fatalf("%d: not an error object: %v: %s", status, err, body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := out.Error[k]; !ok {
			t.Errorf("%d: no %q in %s", status, k, body)
		}
	}
	if msg, _ := out.Error["message"].(string); msg == "" {
		t.Errorf("%d: no message in %s", status, body)
	}
	if !strings.HasPrefix(h.Get("x-request-id"), "req_") || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("%d: headers %v", status, h)
	}
	return out.Error
}

// Bodies that are not a chat completion request are answered 400 in
// OpenAI's shape and never reach the upstream.
func TestHandlerBadInput(t *testing.T) {
	s := newServer(t)
	h := openaigo.Handler(newCompanion(t, s), nil)
	cases := []struct {
		name, body  string
		status      int
		param, code any
	}{
		{"empty", "", 400, nil, nil},
		{"malformed JSON", `{"model": "gpt-4o-mini", "messages": [`, 400, nil, nil},
		{"invalid UTF-8", "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}", 400, nil, "invalid_encoding"},
		{"not an object", `[{"role":"user","content":"hi"}]`, 400, nil, nil},
		{"two values", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]} {}`, 400, nil, nil},
		{"messages not a list", `{"model":"gpt-4o-mini","messages":"hi"}`, 400, "messages", "invalid_type"},
		{"no messages", `{"model":"gpt-4o-mini","messages":[]}`, 400, "messages", nil},
		{"unknown role", `{"model":"gpt-4o-mini","messages":[{"role":"robot","content":"hi"}]}`, 400, "messages[0].role", nil},
		{"content a number", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":7}]}`, 400, "messages.content", "invalid_type"},
		{"unknown field", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"modalities":["text","audio"]}`, 400, "modalities", "unsupported_parameter"},
		{"assistant audio", `{"model":"gpt-4o-mini","messages":[{"role":"assistant","audio":{"id":"a1"}},{"role":"user","content":"hi"}]}`, 400, "messages[0].audio", "unsupported_parameter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(tc.body)))
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			e := errorShape(t, rec.Code, rec.Header(), rec.Body.Bytes())
			if e["type"] != "invalid_request_error" || e["param"] != tc.param || e["code"] != tc.code {
				t.Errorf("error %v, want param %v code %v", e, tc.param, tc.code)
			}
		})
	}
	if n := chatRequests(s); n != 0 {
		t.Errorf("%d bad requests went upstream", n)
	}

	// A body over the limit is 413.
	rec := httptest.NewRecorder()
	big := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("a", 32<<20) + `"}]}`
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(big)))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d for a body over 32 MiB", rec.Code)
	}
	errorShape(t, rec.Code, rec.Header(), rec.Body.Bytes())

	// Other requests go to next; without one they are 404.
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/v1/chat/completions", nil),
		httptest.NewRequest(http.MethodPost, "/v1/chat/completions/chatcmpl-1", strings.NewReader(`{"metadata":{}}`)),
		httptest.NewRequest(http.MethodPost, "/v1/embeddings", strings.NewReader(`{}`)),
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s %s: status %d", r.Method, r.URL.Path, rec.Code)
		}
		if e := errorShape(t, rec.Code, rec.Header(), rec.Body.Bytes()); e["code"] != "unknown_url" {
			t.Errorf("%s %s: %v", r.Method, r.URL.Path, e)
		}
	}
}

// The middleware answers a bad body itself, without calling next.
func TestMiddlewareBadInput(t *testing.T) {
	s := newServer(t)
	mw := openaigo.Middleware(newCompanion(t, s))
	next := func(*http.Request) (*http.Response, error) {
		t.Error("next called")
		return nil, io.EOF
	}
	req := httptest.NewRequest(http.MethodPost, "https://api.openai.com/v1/chat/completions", strings.NewReader("{"))
	resp, err := mw(req, next)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || resp.Request != req {
		t.Errorf("status %d", resp.StatusCode)
	}
	errorShape(t, resp.StatusCode, resp.Header, body)
}

// Whatever the body, the handler answers with a status and, unless it is
// 200, an error in OpenAI's shape; it never panics.
func FuzzHandler(f *testing.F) {
	for _, seed := range []string{
		`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"solve 2x+3=7"}]}`,
		`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"temperature":0,"stop":"x"}`,
		`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}]}`,
		`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}}`,
		`{"messages":null}`, `{"model":1}`, `null`, `"x"`, `{"stop":[1]}`, "\xff", `{"messages":[{"role":"user","content":"\ud800"}]}`,
	} {
		f.Add([]byte(seed))
	}
	s := newServer(f)
	h := openaigo.Handler(newCompanion(f, s), nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body)))
		if rec.Code == http.StatusOK {
			return
		}
		if rec.Code < 400 {
			t.Fatalf("status %d", rec.Code)
		}
		errorShape(t, rec.Code, rec.Header(), rec.Body.Bytes())
	})
}
