package openaigo_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/openaigo"
	"github.com/companion-go/companion/transport"
)

// toolUpstream is an upstream that answers every chat completion with a
// call of get_weather: testdata/upstream/toolcall.json, or .sse for a
// stream. Its URL ends in "/v1".
func toolUpstream(t *testing.T) string {
	t.Helper()
	jsonBody, err := os.ReadFile("testdata/upstream/toolcall.json")
	if err != nil {
		t.Fatal(err)
	}
	sseBody, err := os.ReadFile("testdata/upstream/toolcall.sse")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct{ Stream bool }
		_ = json.Unmarshal(body, &req)
		w.Header().Set("x-request-id", "req_toolupstream")
		if req.Stream {
			w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
			for _, ev := range bytes.SplitAfter(sseBody, []byte("\n\n")) {
				_, _ = w.Write(ev)
				http.NewResponseController(w).Flush()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jsonBody)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

// An upstream's tool calls, in the real API's shape (arguments split
// mid-token, content and refusal null), reach the SDK in a JSON answer and
// in a stream; the direct client checks the canned answers themselves.
func TestUpstreamToolCalls(t *testing.T) {
	url := toolUpstream(t)
	c, err := companion.New(companion.WithBaseURL(url), companion.WithAPIKey("test"),
		companion.WithRetry(companion.RetryPolicy{MaxAttempts: 1}), companion.WithTransportOptions(transport.WithMaxRetries(0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	clients := map[string]openai.Client{
		"direct":  openai.NewClient(option.WithBaseURL(url+"/"), option.WithAPIKey("test"), option.WithMaxRetries(0)),
		"adapter": openai.NewClient(option.WithBaseURL(url+"/"), option.WithAPIKey("test"), option.WithMaxRetries(0), option.WithMiddleware(openaigo.Middleware(c))),
	}
	const wantArgs = `{"city":"Rome"}`
	for _, name := range []string{"direct", "adapter"} {
		client := clients[name]
		t.Run(name+"/json", func(t *testing.T) {
			res, err := client.Chat.Completions.New(bg, toolParams())
			if err != nil {
				t.Fatal(err)
			}
			ch := res.Choices[0]
			if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 {
				t.Fatalf("finish %q, %d tool calls", ch.FinishReason, len(ch.Message.ToolCalls))
			}
			tc := ch.Message.ToolCalls[0]
			if tc.ID != "call_5vXk3z1lQm0rXqjT2hY8b9Wd" || tc.Type != "function" || tc.Function.Name != "get_weather" || tc.Function.Arguments != wantArgs {
				t.Errorf("tool call %+v", tc)
			}
		})
		t.Run(name+"/stream", func(t *testing.T) {
			stream := client.Chat.Completions.NewStreaming(bg, toolParams())
			defer stream.Close()
			var acc openai.ChatCompletionAccumulator
			var finished *openai.FinishedChatCompletionToolCall
			for stream.Next() {
				if !acc.AddChunk(stream.Current()) {
					t.Fatalf("the accumulator rejected %s", stream.Current().RawJSON())
				}
				if tc, ok := acc.JustFinishedToolCall(); ok {
					finished = &tc
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "tool_calls" {
				t.Fatalf("accumulated %+v", acc.Choices)
			}
			calls := acc.Choices[0].Message.ToolCalls
			if len(calls) != 1 || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != wantArgs || calls[0].ID != "call_5vXk3z1lQm0rXqjT2hY8b9Wd" {
				t.Errorf("tool calls %+v", calls)
			}
			if finished == nil || finished.Arguments != wantArgs {
				t.Errorf("JustFinishedToolCall %+v", finished)
			}
		})
	}
}
