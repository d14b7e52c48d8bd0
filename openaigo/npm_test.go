package openaigo_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/companiontest"
)

// npmDir holds the npm client: package.json, package-lock.json and
// client.mjs; `npm ci --prefix testdata/npm` installs the openai package.
const npmDir = "testdata/npm"

// npmError is what the npm client reports of an error.
type npmError struct {
	Class      string `json:"class"`
	APIError   bool   `json:"api_error"`
	Status     int    `json:"status"`
	RequestID  string `json:"request_id"`
	Type       string `json:"type"`
	Code       string `json:"code"`
	Param      string `json:"param"`
	Message    string `json:"message"`
	RetryAfter string `json:"retry_after"`
}

type npmUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type npmToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// npmResult is the npm client's output: one member per step it ran.
type npmResult struct {
	Chat struct {
		ID           string    `json:"id"`
		Object       string    `json:"object"`
		Model        string    `json:"model"`
		Created      int64     `json:"created"`
		Content      string    `json:"content"`
		Role         string    `json:"role"`
		FinishReason string    `json:"finish_reason"`
		Usage        npmUsage  `json:"usage"`
		RequestID    string    `json:"request_id"`
		ContentType  string    `json:"content_type"`
		Error        *npmError `json:"error"`
	} `json:"chat"`
	Stream struct {
		Content           string    `json:"content"`
		FinishReason      string    `json:"finish_reason"`
		Usage             *npmUsage `json:"usage"`
		Chunks            int       `json:"chunks"`
		Roles             int       `json:"roles"`
		FinalContent      string    `json:"final_content"`
		FinalFinishReason string    `json:"final_finish_reason"`
		Error             *npmError `json:"error"`
	} `json:"stream"`
	Tools struct {
		FinishReason       string        `json:"finish_reason"`
		ToolCalls          []npmToolCall `json:"tool_calls"`
		StreamFinishReason string        `json:"stream_finish_reason"`
		StreamToolCalls    []npmToolCall `json:"stream_tool_calls"`
		Error              *npmError     `json:"error"`
	} `json:"tools"`
	Embeddings struct {
		Model      string      `json:"model"`
		Embeddings [][]float64 `json:"embeddings"`
		Usage      npmUsage    `json:"usage"`
		Error      *npmError   `json:"error"`
	} `json:"embeddings"`
	Invalid struct {
		Error *npmError `json:"error"`
	} `json:"invalid"`
	Fault struct {
		Error *npmError `json:"error"`
	} `json:"fault"`
}

// runNPM runs the npm client against baseURL with the given steps, or
// skips the test when node or the openai package is missing.
func runNPM(t *testing.T, baseURL string, steps ...string) npmResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: the npm client test needs node ≥ 20")
	}
	if _, err := os.Stat(filepath.Join(npmDir, "node_modules", "openai", "package.json")); err != nil {
		t.Skipf("the openai npm package is not installed: run `npm ci --prefix %s`", filepath.Join("openaigo", npmDir))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"client.mjs"}, steps...)...)
	cmd.Dir = npmDir
	cmd.Env = append(os.Environ(), "OPENAI_BASE_URL="+baseURL, "OPENAI_API_KEY=test")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client.mjs %v: %v\n%s", steps, err, stderr.String())
	}
	var r npmResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("npm client output: %v\n%s", err, out)
	}
	t.Logf("npm client: %s", out)
	return r
}

// noError fails the test when a step failed.
func noError(t *testing.T, step string, e *npmError) {
	t.Helper()
	if e != nil {
		t.Fatalf("%s: %+v", step, *e)
	}
}

// The official npm package against companiontest, directly and through
// the adapter's Handler: chat, stream, a request with tools, embeddings
// (passed through) and error responses.
func TestNPMClient(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := newServer(t)
			url := s.URL
			var c *companion.Companion
			if m.adapter {
				c = newCompanion(t, s)
				url = proxy(t, s, c)
			}
			r := runNPM(t, url, "chat", "stream", "tools", "embeddings", "invalid")

			noError(t, "chat", r.Chat.Error)
			if r.Chat.Content != companiontest.Answer("solve 2x+3=7") || r.Chat.Role != "assistant" || r.Chat.FinishReason != "stop" {
				t.Errorf("chat: %+v", r.Chat)
			}
			if !strings.HasPrefix(r.Chat.ID, "chatcmpl-") || r.Chat.Object != "chat.completion" || r.Chat.Created == 0 || r.Chat.Model == "" {
				t.Errorf("chat: id %q object %q created %d model %q", r.Chat.ID, r.Chat.Object, r.Chat.Created, r.Chat.Model)
			}
			if u := r.Chat.Usage; u.PromptTokens == 0 || u.CompletionTokens == 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("chat usage %+v", u)
			}
			if !strings.HasPrefix(r.Chat.RequestID, "req_") || !strings.HasPrefix(r.Chat.ContentType, "application/json") {
				t.Errorf("chat: request id %q, content type %q", r.Chat.RequestID, r.Chat.ContentType)
			}

			noError(t, "stream", r.Stream.Error)
			want := companiontest.Answer("What is Newton's third law?")
			if r.Stream.Content != want || r.Stream.FinishReason != "stop" || r.Stream.Chunks < 20 {
				t.Errorf("stream: %d chunks, finish %q, content %q", r.Stream.Chunks, r.Stream.FinishReason, r.Stream.Content)
			}
			if r.Stream.FinalContent != want || r.Stream.FinalFinishReason != "stop" {
				t.Errorf("stream helper: finish %q, content %q", r.Stream.FinalFinishReason, r.Stream.FinalContent)
			}
			if u := r.Stream.Usage; u == nil || u.PromptTokens == 0 || u.CompletionTokens == 0 {
				t.Errorf("stream usage %+v", u)
			}
			if r.Stream.Roles != 1 {
				t.Errorf("stream: the role is in %d deltas, the API sends it in the first only", r.Stream.Roles)
			}

			noError(t, "tools", r.Tools.Error)
			for _, call := range []struct {
				how    string
				finish string
				calls  []npmToolCall
			}{{"json", r.Tools.FinishReason, r.Tools.ToolCalls}, {"stream", r.Tools.StreamFinishReason, r.Tools.StreamToolCalls}} {
				if call.finish != "tool_calls" || len(call.calls) != 1 {
					t.Errorf("tools (%s): finish %q, %d tool calls", call.how, call.finish, len(call.calls))
					continue
				}
				tc := call.calls[0]
				if !strings.HasPrefix(tc.ID, "call_") || tc.Type != "function" || tc.Function.Name != "get_weather" || tc.Function.Arguments != `{"question":"And in Rome?"}` {
					t.Errorf("tools (%s): %+v", call.how, tc)
				}
			}
			got := lastChatBody(t, s, "tools")
			if tools, _ := got["tools"].([]any); len(tools) != 1 || got["tool_choice"] != "required" || got["parallel_tool_calls"] != false {
				t.Errorf("tools sent upstream: %v", got)
			}
			if msgs, _ := got["messages"].([]any); len(msgs) != 4 {
				t.Errorf("messages sent upstream: %v", got["messages"])
			}

			noError(t, "embeddings", r.Embeddings.Error)
			inputs := []string{"What is Newton's second law?", "How does photosynthesis work?"}
			if len(r.Embeddings.Embeddings) != len(inputs) || r.Embeddings.Usage.TotalTokens == 0 {
				t.Fatalf("embeddings: %d vectors, usage %+v", len(r.Embeddings.Embeddings), r.Embeddings.Usage)
			}
			for i, in := range inputs {
				want := companiontest.Embed(in, 64)
				v := r.Embeddings.Embeddings[i]
				if len(v) != len(want) {
					t.Fatalf("embedding %d: %d dimensions", i, len(v))
				}
				for j := range v {
					if math.Abs(v[j]-float64(want[j])) > 1e-6 {
						t.Fatalf("embedding %d differs from Embed at %d: %v, %v", i, j, v[j], want[j])
					}
				}
			}

			e := r.Invalid.Error
			if e == nil || !e.APIError || e.Status != 400 || e.Type != "invalid_request_error" || e.Param != "n" {
				t.Errorf("invalid: %+v", e)
			} else if !strings.HasPrefix(e.RequestID, "req_") {
				t.Errorf("invalid: request id %q", e.RequestID)
			}

			// A 500 of the upstream, not retried.
			s.SetFaults(companiontest.Fault{Kind: companiontest.FaultServerError, Path: "/v1/chat/completions", Count: 1})
			r = runNPM(t, url, "fault")
			e = r.Fault.Error
			if e == nil || !e.APIError || e.Class != "InternalServerError" || e.Status != 500 || e.Type != "server_error" {
				t.Errorf("fault: %+v", e)
			} else if !strings.HasPrefix(e.RequestID, "req_") {
				t.Errorf("fault: request id %q", e.RequestID)
			}
		})
	}
}

// The npm client through the adapter sees Companion's own errors in
// OpenAI's shape: a blocked answer is a 422 UnprocessableEntityError.
func TestNPMClientBlocked(t *testing.T) {
	s := newServer(t)
	c := newCompanion(t, s, companion.WithPostProcessor(blocker{}))
	r := runNPM(t, proxy(t, s, c), "fault")
	e := r.Fault.Error
	if e == nil || e.Class != "UnprocessableEntityError" || e.Status != 422 || e.Type != "content_filter_error" ||
		e.Code != "answer_blocked" || !strings.HasPrefix(e.RequestID, "req_") {
		t.Errorf("blocked: %+v", e)
	}
}
