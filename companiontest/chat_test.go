package companiontest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/companion-go/companion/internal/leak"

	"github.com/companion-go/companion/prompt"
)

func TestMain(m *testing.M) {
	leak.VerifyTestMain(m)
}

// chatServer starts a server closed at the end of the test.
func chatServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// postBody posts a JSON body (a string is sent as is) to path under the
// server's URL and returns the response with its body read.
func postBody(t testing.TB, s *Server, path string, body any) (*http.Response, []byte) {
	t.Helper()
	return postBodyCtx(context.Background(), t, s, path, body)
}

func postBodyCtx(ctx context.Context, t testing.TB, s *Server, path string, body any) (*http.Response, []byte) {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return res, data
}

// chatBody is a chat request with one user message.
func chatBody(question string, extra map[string]any) map[string]any {
	b := map[string]any{
		"model":    "gpt-4o-mini",
		"messages": []map[string]any{{"role": "user", "content": question}},
	}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// completionJSON mirrors the response schema with pointers and raw values,
// so that null and absent fields can be told apart.
type completionJSON struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Created           int64  `json:"created"`
	Model             string `json:"model"`
	SystemFingerprint string `json:"system_fingerprint"`
	Choices           []struct {
		Index   int `json:"index"`
		Message struct {
			Role    string          `json:"role"`
			Content string          `json:"content"`
			Refusal json.RawMessage `json:"refusal"`
		} `json:"message"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason string          `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails *struct {
			CachedTokens *int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
		CompletionTokensDetails *struct {
			ReasoningTokens *int `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	} `json:"usage"`
}

func counterFor(t testing.TB, model string) *prompt.Counter {
	t.Helper()
	c, err := prompt.CounterForModel(model)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChatCompletion(t *testing.T) {
	s := chatServer(t)
	const q = "solve 2x+3=7"
	body := map[string]any{
		"model": "gpt-4o-mini",
		"messages": []map[string]any{
			{"role": "system", "content": "You are a patient maths tutor."},
			{"role": "user", "content": "hello"},
			{"role": "assistant", "content": "Hi! What shall we study?"},
			{"role": "user", "content": q, "name": "ana"},
		},
		"temperature": 0.2,
	}
	res, data := postBody(t, s, "/chat/completions", body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, data)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var c completionJSON
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, "chatcmpl-") || c.Object != "chat.completion" || c.Model != "gpt-4o-mini" || c.Created == 0 || c.SystemFingerprint == "" {
		t.Errorf("envelope: %+v", c)
	}
	if len(c.Choices) != 1 {
		t.Fatalf("%d choices", len(c.Choices))
	}
	ch := c.Choices[0]
	want := Answer(q)
	if ch.Message.Role != "assistant" || ch.Message.Content != want || ch.FinishReason != "stop" || ch.Index != 0 {
		t.Errorf("choice: %+v\nwant content %q", ch, want)
	}
	if !strings.Contains(ch.Message.Content, "x = 2") {
		t.Errorf("the tutor did not solve the equation: %q", ch.Message.Content)
	}
	if string(ch.Message.Refusal) != "null" || string(ch.Logprobs) != "null" {
		t.Errorf("refusal %s, logprobs %s: want null", ch.Message.Refusal, ch.Logprobs)
	}
	cnt := counterFor(t, "gpt-4o-mini")
	wantPrompt := cnt.CountMessages([]prompt.Message{
		{Role: "system", Content: "You are a patient maths tutor."},
		{Role: "user", Content: "hello"},
		{Role: "assistant", Content: "Hi! What shall we study?"},
		{Role: "user", Content: q, Name: "ana"},
	})
	u := c.Usage
	if u.PromptTokens != wantPrompt || u.CompletionTokens != cnt.Count(want) || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("usage %+v, want prompt %d completion %d", u, wantPrompt, cnt.Count(want))
	}
	if u.PromptTokensDetails == nil || u.PromptTokensDetails.CachedTokens == nil || *u.PromptTokensDetails.CachedTokens != 0 ||
		u.CompletionTokensDetails == nil || u.CompletionTokensDetails.ReasoningTokens == nil {
		t.Errorf("usage details missing: %s", data)
	}
	if res.Header.Get("x-request-id") == "" {
		t.Error("no x-request-id header")
	}
}

func TestChatIDsUnique(t *testing.T) {
	s := chatServer(t)
	seen := map[string]bool{}
	for range 20 {
		_, data := postBody(t, s, "/chat/completions", chatBody("hi", nil))
		var c completionJSON
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		if seen[c.ID] {
			t.Fatalf("duplicate id %s", c.ID)
		}
		seen[c.ID] = true
	}
}

func TestChatContentParts(t *testing.T) {
	s := chatServer(t)
	body := map[string]any{
		"model": "gpt-4.1",
		"messages": []map[string]any{
			{"role": "developer", "content": []map[string]any{{"type": "text", "text": "Be brief."}}},
			{"role": "user", "content": []map[string]any{
				{"type": "text", "text": "What is Newton's second law?"},
				{"type": "image_url", "image_url": map[string]any{"url": "https://example.com/a.png"}},
			}},
		},
	}
	res, data := postBody(t, s, "/chat/completions", body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, data)
	}
	var c completionJSON
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Choices[0].Message.Content, Answer("What is Newton's second law?"); got != want {
		t.Errorf("content %q, want %q", got, want)
	}
	cnt := counterFor(t, "gpt-4.1")
	want := cnt.CountMessages([]prompt.Message{{Role: "developer", Content: "Be brief."}, {Role: "user", Content: "What is Newton's second law?"}})
	if c.Usage.PromptTokens != want {
		t.Errorf("prompt tokens %d, want %d", c.Usage.PromptTokens, want)
	}
}

// sseEvent is one parsed server-sent event: its data, or raw for a line
// that is not "data: ...".
type sseEvent struct {
	data string
	at   time.Time
}

// readSSE reads an event stream until EOF or an error, returning the data
// of each event, the stray lines and the read error (nil at a clean EOF).
func readSSE(r io.Reader) (events []sseEvent, stray []string, err error) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" && strings.HasSuffix(line, "\n") {
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
			case strings.HasPrefix(line, "data: "):
				events = append(events, sseEvent{data: strings.TrimPrefix(line, "data: "), at: time.Now()})
			default:
				stray = append(stray, line)
			}
		} else if line != "" {
			stray = append(stray, line)
		}
		if err == io.EOF {
			return events, stray, nil
		}
		if err != nil {
			return events, stray, err
		}
	}
}

type chunkJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage json.RawMessage `json:"usage"`
}

// streamChat posts a streaming request and parses every event but [DONE].
func streamChat(t *testing.T, s *Server, body map[string]any) (chunks []chunkJSON, raw []map[string]json.RawMessage, done bool) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := s.Client().Post(s.URL+"/chat/completions", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(res.Body)
		t.Fatalf("status %d: %s", res.StatusCode, data)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	events, stray, err := readSSE(res.Body)
	if err != nil || len(stray) > 0 {
		t.Fatalf("stream: err %v, stray lines %q", err, stray)
	}
	for i, ev := range events {
		if ev.data == "[DONE]" {
			if i != len(events)-1 {
				t.Errorf("[DONE] is event %d of %d", i, len(events))
			}
			done = true
			continue
		}
		var c chunkJSON
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, ev.data)
		}
		_ = json.Unmarshal([]byte(ev.data), &m)
		chunks = append(chunks, c)
		raw = append(raw, m)
	}
	return chunks, raw, done
}

func TestChatStream(t *testing.T) {
	s := chatServer(t)
	const q = "解方程 3x - 4 = 11"
	chunks, raw, done := streamChat(t, s, chatBody(q, map[string]any{"stream": true}))
	if !done {
		t.Fatal("no [DONE]")
	}
	if len(chunks) < 20 {
		t.Errorf("only %d chunks", len(chunks))
	}
	first := chunks[0]
	if first.Choices[0].Delta.Role != "assistant" || first.Choices[0].Delta.Content == nil || *first.Choices[0].Delta.Content != "" {
		t.Errorf("first chunk: %+v", first)
	}
	var content strings.Builder
	for i, c := range chunks {
		if c.Object != "chat.completion.chunk" || c.ID != first.ID || c.Created != first.Created || c.Model != "gpt-4o-mini" {
			t.Errorf("chunk %d envelope: %+v", i, c)
		}
		if _, ok := raw[i]["usage"]; ok {
			t.Errorf("chunk %d has a usage field without include_usage", i)
		}
		if len(c.Choices) != 1 {
			t.Fatalf("chunk %d: %d choices", i, len(c.Choices))
		}
		if c.Choices[0].Delta.Content != nil {
			content.WriteString(*c.Choices[0].Delta.Content)
		}
		last := i == len(chunks)-1
		if (c.Choices[0].FinishReason != nil) != last {
			t.Errorf("chunk %d: finish_reason %v", i, c.Choices[0].FinishReason)
		}
	}
	if fr := chunks[len(chunks)-1].Choices[0].FinishReason; fr == nil || *fr != "stop" {
		t.Errorf("finish_reason %v", fr)
	}
	if got, want := content.String(), Answer(q); got != want {
		t.Errorf("content %q, want %q", got, want)
	}
	if !strings.Contains(content.String(), "x = 5") {
		t.Errorf("equation not solved: %q", content.String())
	}
}

func TestChatStreamIncludeUsage(t *testing.T) {
	s := chatServer(t)
	const q = "What is 12*7?"
	chunks, raw, done := streamChat(t, s, chatBody(q, map[string]any{
		"stream": true, "stream_options": map[string]any{"include_usage": true},
	}))
	if !done {
		t.Fatal("no [DONE]")
	}
	n := len(chunks)
	for i := range n - 1 {
		if u, ok := raw[i]["usage"]; !ok || string(u) != "null" {
			t.Errorf("chunk %d: usage %s, want null", i, u)
		}
	}
	last := chunks[n-1]
	if len(last.Choices) != 0 {
		t.Errorf("usage chunk has %d choices", len(last.Choices))
	}
	if string(raw[n-1]["choices"]) != "[]" {
		t.Errorf("usage chunk choices = %s, want []", raw[n-1]["choices"])
	}
	var u struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	}
	if err := json.Unmarshal(last.Usage, &u); err != nil {
		t.Fatal(err)
	}
	cnt := counterFor(t, "gpt-4o-mini")
	want := Answer(q)
	if u.PromptTokens != cnt.CountMessages([]prompt.Message{{Role: "user", Content: q}}) ||
		u.CompletionTokens != cnt.Count(want) || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("usage %+v", u)
	}
	if fr := chunks[n-2].Choices[0].FinishReason; fr == nil || *fr != "stop" {
		t.Errorf("finish chunk: %v", fr)
	}
}

func TestChatMaxTokens(t *testing.T) {
	s := chatServer(t)
	const q = "What is Newton's first law?"
	full := Answer(q)
	cnt := counterFor(t, "gpt-4o-mini")
	for _, param := range []string{"max_tokens", "max_completion_tokens"} {
		t.Run(param, func(t *testing.T) {
			_, data := postBody(t, s, "/chat/completions", chatBody(q, map[string]any{param: 12}))
			var c completionJSON
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			got := c.Choices[0].Message.Content
			if c.Choices[0].FinishReason != "length" || c.Usage.CompletionTokens != 12 {
				t.Errorf("finish %q, completion tokens %d", c.Choices[0].FinishReason, c.Usage.CompletionTokens)
			}
			if !strings.HasPrefix(full, got) || got == "" || cnt.Count(got) > 12 {
				t.Errorf("truncated content %q (%d tokens) is not a ≤12-token prefix", got, cnt.Count(got))
			}
		})
	}
	t.Run("stream", func(t *testing.T) {
		chunks, _, _ := streamChat(t, s, chatBody(q, map[string]any{"max_tokens": 5, "stream": true}))
		var b strings.Builder
		for _, c := range chunks {
			if c.Choices[0].Delta.Content != nil {
				b.WriteString(*c.Choices[0].Delta.Content)
			}
		}
		if fr := chunks[len(chunks)-1].Choices[0].FinishReason; fr == nil || *fr != "length" {
			t.Errorf("finish_reason %v", fr)
		}
		if !strings.HasPrefix(full, b.String()) || cnt.Count(b.String()) > 5 {
			t.Errorf("content %q", b.String())
		}
	})
	t.Run("large limit", func(t *testing.T) {
		_, data := postBody(t, s, "/chat/completions", chatBody(q, map[string]any{"max_tokens": 4096}))
		var c completionJSON
		_ = json.Unmarshal(data, &c)
		if c.Choices[0].FinishReason != "stop" || c.Choices[0].Message.Content != full {
			t.Errorf("finish %q", c.Choices[0].FinishReason)
		}
	})
}

func TestChatBadRequests(t *testing.T) {
	s := chatServer(t)
	msgs := `[{"role":"user","content":"hi"}]`
	for _, tc := range []struct {
		name, body, param string
	}{
		{"bad JSON", `{"model": "gpt-4o",`, ""},
		{"not an object", `[1,2]`, ""},
		{"no model", `{"messages":` + msgs + `}`, "model"},
		{"no messages", `{"model":"gpt-4o"}`, "messages"},
		{"empty messages", `{"model":"gpt-4o","messages":[]}`, "messages"},
		{"unknown role", `{"model":"gpt-4o","messages":[{"role":"robot","content":"hi"}]}`, "messages[0].role"},
		{"no role", `{"model":"gpt-4o","messages":[{"content":"hi"}]}`, "messages[0].role"},
		{"no content", `{"model":"gpt-4o","messages":[{"role":"user"}]}`, "messages[0].content"},
		{"content number", `{"model":"gpt-4o","messages":[{"role":"user","content":42}]}`, "messages[0].content"},
		{"unknown part", `{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"video","video":"x"}]}]}`, "messages[0].content[0].type"},
		{"part without text", `{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages[0].content[0].text"},
		{"n=2", `{"model":"gpt-4o","n":2,"messages":` + msgs + `}`, "n"},
		{"max_tokens 0", `{"model":"gpt-4o","max_tokens":0,"messages":` + msgs + `}`, "max_tokens"},
		{"max_tokens string", `{"model":"gpt-4o","max_tokens":"ten","messages":` + msgs + `}`, "max_tokens"},
		{"stream_options without stream", `{"model":"gpt-4o","stream_options":{"include_usage":true},"messages":` + msgs + `}`, "stream_options"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, data := postBody(t, s, "/chat/completions", tc.body)
			checkAPIError(t, res, data, http.StatusBadRequest, "invalid_request_error", tc.param)
		})
	}
}

// checkAPIError checks an error response: status, the {"error": {...}}
// body with message, type and param.
func checkAPIError(t *testing.T, res *http.Response, data []byte, status int, typ, param string) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", res.StatusCode, status, data)
	}
	var e struct {
		Error *struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &e); err != nil || e.Error == nil {
		t.Fatalf("error body %s: %v", data, err)
	}
	if e.Error.Message == "" || e.Error.Type != typ {
		t.Errorf("error %+v, want type %q", e.Error, typ)
	}
	if param != "" && (e.Error.Param == nil || *e.Error.Param != param) {
		t.Errorf("param %v, want %q", e.Error.Param, param)
	}
}

func TestChatAPIKey(t *testing.T) {
	s := chatServer(t, WithAPIKey("sk-test"))
	res, data := postBody(t, s, "/chat/completions", chatBody("hi", nil))
	checkAPIError(t, res, data, http.StatusUnauthorized, "invalid_request_error", "")

	req, _ := http.NewRequest(http.MethodPost, s.URL+"/chat/completions", strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer sk-test")
	res2, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != http.StatusOK {
		t.Errorf("with the key: status %d", res2.StatusCode)
	}
}

func TestRequestRecording(t *testing.T) {
	s := chatServer(t)
	postBody(t, s, "/chat/completions", chatBody("one", nil))
	postBody(t, s, "/embeddings", map[string]any{"model": "text-embedding-3-small", "input": "two"})
	postBody(t, s, "/chat/completions", chatBody("three", nil))
	if n := s.RequestCount("/v1/chat/completions"); n != 2 {
		t.Errorf("chat requests: %d", n)
	}
	if n := s.RequestCount(""); n != 3 {
		t.Errorf("all requests: %d", n)
	}
	reqs := s.Requests()
	if len(reqs) != 3 || reqs[1].Path != "/v1/embeddings" || reqs[0].Method != http.MethodPost ||
		!strings.Contains(string(reqs[2].Body), `"three"`) || reqs[0].Header.Get("Content-Type") != "application/json" {
		t.Errorf("requests: %+v", reqs)
	}
	s.ResetRequests()
	if n := s.RequestCount(""); n != 0 {
		t.Errorf("after reset: %d", n)
	}
}

func TestLatencyJSON(t *testing.T) {
	lat := Latency{RTT: 10 * time.Millisecond, FirstToken: 20 * time.Millisecond, PerPromptToken: 200 * time.Microsecond, PerOutputToken: 300 * time.Microsecond}
	s := chatServer(t, WithLatency(lat))
	const q = "What is the density of a 200 g block with a volume of 50 cm^3?"
	cnt := counterFor(t, "gpt-4o-mini")
	promptTokens := cnt.CountMessages([]prompt.Message{{Role: "user", Content: q}})
	outTokens := cnt.Count(Answer(q))
	want := lat.TimeToFirstToken(promptTokens) + time.Duration(outTokens-1)*lat.PerOutputToken

	start := time.Now()
	res, data := postBody(t, s, "/chat/completions", chatBody(q, nil))
	if took := time.Since(start); took < want {
		t.Errorf("took %v, want at least %v", took, want)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, data)
	}
	// SetLatency applies from the next request on.
	s.SetLatency(Latency{})
	start = time.Now()
	postBody(t, s, "/chat/completions", chatBody(q, nil))
	t.Logf("without latency: %v (with: at least %v)", time.Since(start), want)
}

func TestLatencyStream(t *testing.T) {
	lat := Latency{RTT: 5 * time.Millisecond, FirstToken: 30 * time.Millisecond, PerOutputToken: time.Millisecond}
	s := chatServer(t, WithLatency(lat))
	const q = "How does photosynthesis work?"
	cnt := counterFor(t, "gpt-4o-mini")
	ttft := lat.TimeToFirstToken(cnt.CountMessages([]prompt.Message{{Role: "user", Content: q}}))
	decode := time.Duration(cnt.Count(Answer(q))-1) * lat.PerOutputToken

	b, _ := json.Marshal(chatBody(q, map[string]any{"stream": true}))
	start := time.Now()
	res, err := s.Client().Post(s.URL+"/chat/completions", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events, _, err := readSSE(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 3 {
		t.Fatalf("%d events", len(events))
	}
	if first := events[0].at.Sub(start); first < ttft {
		t.Errorf("first chunk after %v, want at least %v", first, ttft)
	}
	// The decode time is spread over the chunks: a lower bound only,
	// leaving room for timer slack that sums up over the many sleeps.
	if spread := events[len(events)-1].at.Sub(events[0].at); spread < decode*9/10 {
		t.Errorf("stream took %v after the first chunk, want at least %v", spread, decode)
	}
}

// TestClientCancel checks that a client going away stops the handler at
// once, during the wait for the first token and in the middle of a stream:
// no goroutine of the request outlives it, although the latency model has
// minutes left to wait.
func TestClientCancel(t *testing.T) {
	t.Run("before first token", func(t *testing.T) {
		s := chatServer(t, WithLatency(Latency{FirstToken: time.Minute}))
		ignore := leak.Take()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		b, _ := json.Marshal(chatBody("hi", nil))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/chat/completions", bytes.NewReader(b))
		_, err := s.Client().Do(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want a deadline", err)
		}
		leak.Check(t, ignore)
	})
	t.Run("mid stream", func(t *testing.T) {
		s := chatServer(t, WithLatency(Latency{PerOutputToken: time.Minute / 100}))
		ignore := leak.Take()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b, _ := json.Marshal(chatBody("hi", map[string]any{"stream": true}))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/chat/completions", bytes.NewReader(b))
		res, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(res.Body).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "data: ") {
			t.Fatalf("first line %q, %v", line, err)
		}
		cancel()
		res.Body.Close()
		leak.Check(t, ignore)
	})
}

// serveDirect runs the server's handler on a request without the network.
func serveDirect(s *Server, method, path string, body []byte) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	s.HTTP.Config.Handler.ServeHTTP(rec, req)
	return rec
}

func FuzzChatRequest(f *testing.F) {
	for _, seed := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"solve 2x+3=7"}]}`,
		`{"model":"gpt-4o","messages":[{"role":"user","content":"12乘7等于多少"}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"gpt-4o","max_tokens":3,"messages":[{"role":"system","content":"x"},{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
		`{"model":"gpt-4o","messages":[{"role":"assistant","content":null,"tool_calls":[]}]}`,
		`{"model":"","messages":[]}`,
		`{"model":"gpt-4o","n":null,"messages":[{"role":"user","content":{}}]}`,
		`not json`,
		``,
	} {
		f.Add([]byte(seed))
	}
	s := NewUnstartedServer()
	defer s.Close()
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := serveDirect(s, http.MethodPost, "/v1/chat/completions", body)
		if rec.Code != http.StatusOK && (rec.Code < 400 || rec.Code > 499) {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code != http.StatusOK {
			var e struct {
				Error *apiError `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == nil || e.Error.Message == "" {
				t.Fatalf("status %d with a body that is no API error: %s", rec.Code, rec.Body)
			}
		}
		s.ResetRequests()
	})
}

func TestSplitStream(t *testing.T) {
	texts := []string{"", " ", "a", "Hello, world!\n\nNext line.", "Supercalifragilisticexpialidocious words", "中文和English混合 text，好的。"}
	for _, tc := range topicQuestions {
		texts = append(texts, Answer(tc.q))
	}
	for _, text := range texts {
		pieces := splitStream(text)
		if strings.Join(pieces, "") != text {
			t.Errorf("pieces of %q do not concatenate to it: %q", text, pieces)
		}
		for _, p := range pieces {
			if p == "" {
				t.Errorf("empty piece in %q", pieces)
			}
			if n := len([]rune(strings.TrimSpace(p))); n > 8 {
				t.Errorf("piece %q of %d runes", p, n)
			}
		}
	}
	if n := len(splitStream(Answer("牛顿第二定律是什么？"))); n < 60 {
		t.Errorf("a Chinese answer streams in only %d pieces", n)
	}
}
