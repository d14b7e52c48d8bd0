package openaigo_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/companiontest"
)

func TestChat(t *testing.T) {
	forEachMode(t, func(t *testing.T, s *companiontest.Server, c *companion.Companion, client openai.Client) {
		const q = "solve 2x+3=7"
		var raw *http.Response
		res, err := client.Chat.Completions.New(bg, openai.ChatCompletionNewParams{
			Model:    openai.ChatModelGPT4oMini,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You are a patient maths tutor."), openai.UserMessage(q)},
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Choices) != 1 {
			t.Fatalf("%d choices", len(res.Choices))
		}
		ch := res.Choices[0]
		if ch.Message.Content != companiontest.Answer(q) || ch.Message.Role != "assistant" || ch.FinishReason != "stop" {
			t.Errorf("choice %+v", ch)
		}
		if !strings.HasPrefix(res.ID, "chatcmpl-") || res.Object != "chat.completion" || res.Model == "" || res.Created == 0 {
			t.Errorf("response id %q object %q model %q created %d", res.ID, res.Object, res.Model, res.Created)
		}
		u := res.Usage
		if u.PromptTokens == 0 || u.CompletionTokens == 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
			t.Errorf("usage %+v", u)
		}
		h := header(raw)
		if !strings.HasPrefix(h.Get("x-request-id"), "req_") || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Errorf("headers %v", h)
		}
		if n := chatRequests(s); n != 1 {
			t.Errorf("%d upstream calls", n)
		}
	})
}

func TestStream(t *testing.T) {
	forEachMode(t, func(t *testing.T, s *companiontest.Server, c *companion.Companion, client openai.Client) {
		const q = "What is Newton's third law?"
		params := userMessage(q)
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		var raw *http.Response
		stream := client.Chat.Completions.NewStreaming(bg, params, option.WithResponseInto(&raw))
		defer stream.Close()
		var acc openai.ChatCompletionAccumulator
		chunks, finished := 0, false
		for stream.Next() {
			if !acc.AddChunk(stream.Current()) {
				t.Fatalf("the accumulator rejected chunk %d: %s", chunks, stream.Current().RawJSON())
			}
			if _, ok := acc.JustFinishedContent(); ok {
				finished = true
			}
			chunks++
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		want := companiontest.Answer(q)
		if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != want || acc.Choices[0].FinishReason != "stop" {
			t.Fatalf("accumulated %+v", acc.Choices)
		}
		if chunks < 20 || !finished {
			t.Errorf("%d chunks, content finished %v", chunks, finished)
		}
		if acc.Usage.PromptTokens == 0 || acc.Usage.CompletionTokens == 0 {
			t.Errorf("usage %+v", acc.Usage)
		}
		h := header(raw)
		if !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") || !strings.HasPrefix(h.Get("x-request-id"), "req_") {
			t.Errorf("headers %v", h)
		}
	})
}

// The adapter passes chunks on as Companion releases them: the first
// arrives long before the last.
func TestStreamArrivesAsItComes(t *testing.T) {
	s := newServer(t, companiontest.WithLatency(companiontest.Latency{PerOutputToken: 8 * time.Millisecond}))
	c := newCompanion(t, s)
	client := sdkClient(s, c)
	start := time.Now()
	stream := client.Chat.Completions.NewStreaming(bg, userMessage("What is Newton's third law?"))
	defer stream.Close()
	var first time.Duration
	for stream.Next() {
		if first == 0 && stream.Current().Choices[0].Delta.Content != "" {
			first = time.Since(start)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	total := time.Since(start)
	if first == 0 || total-first < 300*time.Millisecond {
		t.Errorf("first content after %v, end after %v: not streamed", first, total)
	}
}

// weatherTool is a function tool with a JSON schema.
var weatherTool = openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("The weather in a city"),
	Strict:      openai.Bool(true),
	Parameters: openai.FunctionParameters{
		"type":                 "object",
		"properties":           map[string]any{"city": map[string]any{"type": "string"}},
		"required":             []string{"city"},
		"additionalProperties": false,
	},
})

// toolParams is a request with a tool, after a turn in which the
// assistant called it.
func toolParams() openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model: openai.ChatModelGPT4oMini,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("What is the weather in Paris?"),
			{OfAssistant: &openai.ChatCompletionAssistantMessageParam{
				ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{
					OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
						ID:       "call_1",
						Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Paris"}`},
					},
				}},
			}},
			openai.ToolMessage(`{"temperature_c":18}`, "call_1"),
			openai.UserMessage("And in Rome?"),
		},
		Tools:             []openai.ChatCompletionToolUnionParam{weatherTool},
		ToolChoice:        openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")},
		ParallelToolCalls: openai.Bool(false),
	}
}

// sentFields decodes the named fields of the last chat completion request
// s received.
func sentFields(t *testing.T, s *companiontest.Server, names ...string) map[string]any {
	t.Helper()
	body := lastChatBody(t, s, "")
	out := map[string]any{}
	for _, n := range names {
		out[n] = body[n]
	}
	return out
}

// lastChatBody decodes the body of the last chat completion request s
// received that has the field with, or of the last one when with is "".
func lastChatBody(t *testing.T, s *companiontest.Server, with string) map[string]any {
	t.Helper()
	reqs := s.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path != "/v1/chat/completions" {
			continue
		}
		var body map[string]any
		if err := json.Unmarshal(reqs[i].Body, &body); err != nil {
			t.Fatal(err)
		}
		if _, ok := body[with]; ok || with == "" {
			return body
		}
	}
	t.Fatalf("no chat completion request with %q", with)
	return nil
}

// A request with tools, a tool choice and a history with a tool call
// reaches the upstream as the SDK sent it, and is never answered from the
// cache. (The last user message names no tool, so companiontest's "auto"
// answers with text.)
func TestToolsPassThrough(t *testing.T) {
	direct := newServer(t)
	dc := sdkClient(direct, nil)
	if _, err := dc.Chat.Completions.New(bg, toolParams()); err != nil {
		t.Fatal(err)
	}
	want := sentFields(t, direct, "tools", "tool_choice", "parallel_tool_calls", "messages")

	s := newServer(t)
	c := newCompanion(t, s, withMemoryCache(t))
	client := sdkClient(s, c)
	for i := range 2 {
		res, err := client.Chat.Completions.New(bg, toolParams())
		if err != nil {
			t.Fatal(err)
		}
		if res.Choices[0].Message.Content == "" || res.Choices[0].FinishReason != "stop" {
			t.Errorf("answer %+v", res.Choices[0])
		}
		if got := sentFields(t, s, "tools", "tool_choice", "parallel_tool_calls", "messages"); !reflect.DeepEqual(got, want) {
			t.Errorf("call %d: upstream got\n%v\nwant\n%v", i, got, want)
		}
	}
	stream := client.Chat.Completions.NewStreaming(bg, toolParams())
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	_ = stream.Close()
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content == "" {
		t.Errorf("stream accumulated %+v", acc.Choices)
	}
	if got := sentFields(t, s, "tools", "tool_choice", "parallel_tool_calls", "messages"); !reflect.DeepEqual(got, want) {
		t.Errorf("stream: upstream got\n%v\nwant\n%v", got, want)
	}
	if n := chatRequests(s); n != 3 {
		t.Errorf("%d upstream calls for 3 requests with tools: one was answered from the cache", n)
	}
}

// companiontest answers with a tool call when tool_choice is "required":
// the SDK gets it, in a JSON answer and accumulated from a stream.
func TestToolCalls(t *testing.T) {
	forEachMode(t, func(t *testing.T, s *companiontest.Server, c *companion.Companion, client openai.Client) {
		p := toolParams()
		p.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}
		const wantArgs = `{"question":"And in Rome?"}`
		res, err := client.Chat.Completions.New(bg, p)
		if err != nil {
			t.Fatal(err)
		}
		ch := res.Choices[0]
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 {
			t.Fatalf("finish %q, %d tool calls", ch.FinishReason, len(ch.Message.ToolCalls))
		}
		tc := ch.Message.ToolCalls[0]
		if !strings.HasPrefix(tc.ID, "call_") || tc.Type != "function" || tc.Function.Name != "get_weather" || tc.Function.Arguments != wantArgs {
			t.Errorf("tool call %+v", tc)
		}

		stream := client.Chat.Completions.NewStreaming(bg, p)
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
		if len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "tool_calls" || len(acc.Choices[0].Message.ToolCalls) != 1 {
			t.Fatalf("accumulated %+v", acc.Choices)
		}
		if got := acc.Choices[0].Message.ToolCalls[0]; got.Function.Name != "get_weather" || got.Function.Arguments != wantArgs || !strings.HasPrefix(got.ID, "call_") {
			t.Errorf("streamed tool call %+v", got)
		}
		if finished == nil || finished.Name != "get_weather" || finished.Arguments != wantArgs {
			t.Errorf("JustFinishedToolCall %+v", finished)
		}
	})
}

func TestEmbeddingsPassThrough(t *testing.T) {
	forEachMode(t, func(t *testing.T, s *companiontest.Server, c *companion.Companion, client openai.Client) {
		inputs := []string{"What is Newton's second law?", "How does photosynthesis work?"}
		res, err := client.Embeddings.New(bg, openai.EmbeddingNewParams{
			Model:      openai.EmbeddingModelTextEmbedding3Small,
			Input:      openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs},
			Dimensions: openai.Int(64),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Data) != 2 || res.Usage.TotalTokens == 0 {
			t.Fatalf("response %+v", res)
		}
		for i, in := range inputs {
			want := companiontest.Embed(in, 64)
			for j, x := range res.Data[i].Embedding {
				if float32(x) != want[j] {
					t.Fatalf("embedding %d differs from Embed at %d", i, j)
				}
			}
		}
		if n := s.RequestCount("/v1/embeddings"); n != 1 {
			t.Errorf("%d embedding requests", n)
		}
	})
}

// Chat completions are made with the Companion's configuration, every
// other request with the SDK's.
func TestPassThroughUsesTheSDKsConfiguration(t *testing.T) {
	s := newServer(t)
	c := newCompanion(t, s, companion.WithAPIKey("companion-key"))
	client := sdkClient(s, c, option.WithAPIKey("sdk-key"), option.WithHeader("X-Custom", "1"))
	if _, err := client.Chat.Completions.New(bg, userMessage("hi")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Models.List(bg); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Requests() {
		want := "Bearer sdk-key"
		if r.Path == "/v1/chat/completions" {
			want = "Bearer companion-key"
		}
		if got := r.Header.Get("Authorization"); got != want {
			t.Errorf("%s %s: Authorization %q, want %q", r.Method, r.Path, got, want)
		}
		if custom := r.Header.Get("X-Custom"); (custom == "1") == (r.Path == "/v1/chat/completions") {
			t.Errorf("%s: X-Custom %q", r.Path, custom)
		}
	}
	if len(s.Requests()) != 2 {
		t.Errorf("%d requests", len(s.Requests()))
	}
}

func TestCacheHit(t *testing.T) {
	s := newServer(t)
	c := newCompanion(t, s, withMemoryCache(t))
	client := sdkClient(s, c)
	const q = "What is Newton's third law?"
	var ids, sources []string
	for range 2 {
		var raw *http.Response
		res, err := client.Chat.Completions.New(bg, userMessage(q), option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if res.Choices[0].Message.Content != companiontest.Answer(q) || res.Choices[0].FinishReason != "stop" {
			t.Errorf("choice %+v", res.Choices[0])
		}
		ids = append(ids, header(raw).Get("x-request-id"))
		sources = append(sources, header(raw).Get("X-Companion-Source"))
	}
	stream := client.Chat.Completions.NewStreaming(bg, userMessage(q))
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	_ = stream.Close()
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != companiontest.Answer(q) {
		t.Errorf("streamed hit %+v", acc.Choices)
	}
	if n := chatRequests(s); n != 1 {
		t.Errorf("%d upstream calls for one question asked three times", n)
	}
	if !strings.HasPrefix(ids[1], "req_") || ids[0] == ids[1] {
		t.Errorf("request ids %q", ids)
	}
	if sources[0] != "upstream" || sources[1] != "exact" {
		t.Errorf("X-Companion-Source %q", sources)
	}
}

// apiError is the *openai.Error in err, or fails the test.
func apiError(t *testing.T, err error) *openai.Error {
	t.Helper()
	var e *openai.Error
	if !errors.As(err, &e) {
		t.Fatalf("err %T %v, want *openai.Error", err, err)
	}
	return e
}

func TestUpstreamErrors(t *testing.T) {
	cases := []struct {
		name   string
		fault  companiontest.Fault
		status int
		typ    string
		code   string
	}{
		{"server error", companiontest.Fault{Kind: companiontest.FaultServerError, Count: 1}, 500, "server_error", ""},
		{"rate limit", companiontest.Fault{Kind: companiontest.FaultRateLimit, Count: 1, RetryAfter: time.Second}, 429, "requests", "rate_limit_exceeded"},
		{"unavailable", companiontest.Fault{Kind: companiontest.FaultUnavailable, Count: 1}, 503, "server_error", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, s *companiontest.Server, c *companion.Companion, client openai.Client) {
				s.SetFaults(tc.fault)
				_, err := client.Chat.Completions.New(bg, userMessage("hi"))
				e := apiError(t, err)
				if e.StatusCode != tc.status || e.Type != tc.typ || e.Code != tc.code || e.Message == "" {
					t.Errorf("status %d type %q code %q message %q", e.StatusCode, e.Type, e.Code, e.Message)
				}
				h := e.Response.Header
				if !strings.HasPrefix(h.Get("x-request-id"), "req_") {
					t.Errorf("x-request-id %q", h.Get("x-request-id"))
				}
				if tc.fault.RetryAfter > 0 && (h.Get("Retry-After") != "1" || h.Get("Retry-After-Ms") != "1000") {
					t.Errorf("Retry-After %q, retry-after-ms %q", h.Get("Retry-After"), h.Get("Retry-After-Ms"))
				}
				if c != nil && h.Get("x-should-retry") != "false" {
					t.Errorf("x-should-retry %q", h.Get("x-should-retry"))
				}

				// The same before a stream's first chunk: an HTTP error.
				s.SetFaults(tc.fault)
				stream := client.Chat.Completions.NewStreaming(bg, userMessage("hi"))
				for stream.Next() {
				}
				e = apiError(t, stream.Err())
				_ = stream.Close()
				if e.StatusCode != tc.status || e.Type != tc.typ {
					t.Errorf("stream: status %d type %q", e.StatusCode, e.Type)
				}
			})
		})
	}
}

// A 400 of the upstream keeps its param.
func TestUpstreamInvalidRequest(t *testing.T) {
	forEachMode(t, func(t *testing.T, s *companiontest.Server, c *companion.Companion, client openai.Client) {
		p := userMessage("hi")
		p.N = openai.Int(3)
		_, err := client.Chat.Completions.New(bg, p)
		e := apiError(t, err)
		if e.StatusCode != 400 || e.Type != "invalid_request_error" || e.Param != "n" {
			t.Errorf("status %d type %q param %q: %s", e.StatusCode, e.Type, e.Param, e.RawJSON())
		}
	})
}

// A stream whose connection drops midway ends with an error the SDK
// reports, after the chunks that arrived.
func TestStreamInterrupted(t *testing.T) {
	forEachMode(t, func(t *testing.T, s *companiontest.Server, c *companion.Companion, client openai.Client) {
		s.SetFaults(companiontest.Fault{Kind: companiontest.FaultDropStream, AfterChunks: 5, Count: 1})
		stream := client.Chat.Completions.NewStreaming(bg, userMessage("What is Newton's third law?"))
		defer stream.Close()
		n := 0
		for stream.Next() {
			n++
		}
		err := stream.Err()
		if err == nil || n == 0 {
			t.Fatalf("%d chunks, err %v", n, err)
		}
		if c != nil {
			var se *ssestream.StreamError
			if !errors.As(err, &se) || !strings.Contains(se.Message, "upstream_stream_interrupted") {
				t.Errorf("err %T %v", err, err)
			}
		}
	})
}

// blocker blocks every answer; as a stream guard it lets pass words
// until it has seen limit pieces.
type blocker struct{ limit int }

func (blocker) Check(context.Context, *companion.Question, string) (companion.Verdict, error) {
	return companion.Verdict{Action: companion.Block, Reasons: []string{"word:test"}}, nil
}

func (b blocker) GuardStream(context.Context, *companion.Question) companion.StreamGuard {
	return &blockGuard{left: b.limit}
}

type blockGuard struct{ left int }

func (g *blockGuard) Push(chunk string) (string, error) {
	if g.left--; g.left < 0 {
		return "", &companion.BlockedError{Verdict: companion.Verdict{Action: companion.Block, Reasons: []string{"word:test"}}}
	}
	return chunk, nil
}

func (g *blockGuard) Finish() (string, companion.Verdict, error) { return "", companion.Verdict{}, nil }

func TestBlocked(t *testing.T) {
	s := newServer(t)
	const q = "What is Newton's third law?"

	// Before anything is sent: 422.
	c := newCompanion(t, s, companion.WithPostProcessor(blocker{limit: 0}))
	client := sdkClient(s, c)
	_, err := client.Chat.Completions.New(bg, userMessage(q))
	e := apiError(t, err)
	if e.StatusCode != http.StatusUnprocessableEntity || e.Type != "content_filter_error" || e.Code != "answer_blocked" ||
		!strings.Contains(e.Message, "word:test") || strings.Contains(e.Message, "Newton") {
		t.Errorf("status %d: %s", e.StatusCode, e.RawJSON())
	}
	stream := client.Chat.Completions.NewStreaming(bg, userMessage(q))
	n := 0
	for stream.Next() {
		n++
	}
	e = apiError(t, stream.Err())
	_ = stream.Close()
	if n != 0 || e.StatusCode != http.StatusUnprocessableEntity || e.Code != "answer_blocked" {
		t.Errorf("stream: %d chunks, status %d", n, e.StatusCode)
	}

	// After some words: an error event, and nothing after it.
	c = newCompanion(t, s, companion.WithPostProcessor(blocker{limit: 5}))
	client = sdkClient(s, c)
	stream = client.Chat.Completions.NewStreaming(bg, userMessage(q))
	var text strings.Builder
	for stream.Next() {
		if ch := stream.Current().Choices; len(ch) > 0 {
			text.WriteString(ch[0].Delta.Content)
		}
	}
	_ = stream.Close()
	var se *ssestream.StreamError
	if !errors.As(stream.Err(), &se) || !strings.Contains(se.Message, "answer_blocked") {
		t.Fatalf("err %T %v", stream.Err(), stream.Err())
	}
	if text.Len() == 0 || !strings.HasPrefix(companiontest.Answer(q), text.String()) || text.String() == companiontest.Answer(q) {
		t.Errorf("streamed %q before the block", text.String())
	}
}

// Requests the Companion refuses, and requests go-openai's type cannot
// carry, are answered 400 with the field as param.
func TestInvalidRequests(t *testing.T) {
	s := newServer(t)
	c := newCompanion(t, s)
	client := sdkClient(s, c)
	cases := []struct {
		name  string
		opts  []option.RequestOption
		param string
		code  string
	}{
		{"unknown role", []option.RequestOption{option.WithJSONSet("messages.0.role", "robot")}, "messages[0].role", ""},
		{"unknown field", []option.RequestOption{option.WithJSONSet("prompt_cache_key", "k")}, "prompt_cache_key", "unsupported_parameter"},
		{"audio part", []option.RequestOption{option.WithJSONSet("messages.0.content", []map[string]any{
			{"type": "input_audio", "input_audio": map[string]any{"data": "AAAA", "format": "wav"}},
		})}, "messages[0].content[0].input_audio", "unsupported_parameter"},
		{"wrong type", []option.RequestOption{option.WithJSONSet("max_completion_tokens", "many")}, "max_completion_tokens", "invalid_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Chat.Completions.New(bg, userMessage("hi"), tc.opts...)
			e := apiError(t, err)
			if e.StatusCode != 400 || e.Type != "invalid_request_error" || e.Param != tc.param || e.Code != tc.code {
				t.Errorf("status %d: %s", e.StatusCode, e.RawJSON())
			}
			if !strings.HasPrefix(e.Response.Header.Get("x-request-id"), "req_") {
				t.Errorf("headers %v", e.Response.Header)
			}
		})
	}
	if n := chatRequests(s); n != 0 {
		t.Errorf("%d invalid requests went upstream", n)
	}
}

// go-openai drops a zero temperature; the adapter keeps it near zero, and
// a stop string becomes a list.
func TestSamplingParameters(t *testing.T) {
	s := newServer(t)
	client := sdkClient(s, newCompanion(t, s))
	p := userMessage("hi")
	p.Temperature = openai.Float(0)
	p.TopP = openai.Float(0.5)
	p.Seed = openai.Int(0)
	p.Stop = openai.ChatCompletionNewParamsStopUnion{OfString: openai.String("END")}
	if _, err := client.Chat.Completions.New(bg, p); err != nil {
		t.Fatal(err)
	}
	got := sentFields(t, s, "temperature", "top_p", "seed", "stop")
	temp, ok := got["temperature"].(float64)
	if !ok || temp < 0 || temp > 1e-30 {
		t.Errorf("temperature %v", got["temperature"])
	}
	if got["top_p"] != 0.5 || got["seed"] != 0.0 || !reflect.DeepEqual(got["stop"], []any{"END"}) {
		t.Errorf("sent %v", got)
	}
}

// Cancelling the call's context stops the Companion's stream and the
// upstream call.
func TestStreamCancel(t *testing.T) {
	s := newServer(t, companiontest.WithLatency(companiontest.Latency{PerOutputToken: 50 * time.Millisecond}))
	c := newCompanion(t, s)
	client := sdkClient(s, c)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	stream := client.Chat.Completions.NewStreaming(ctx, userMessage("What is Newton's third law?"))
	defer stream.Close()
	if !stream.Next() {
		t.Fatal(stream.Err())
	}
	start := time.Now()
	cancel()
	for stream.Next() {
	}
	if err := stream.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the stream went on %v after the cancel", d)
	}

	ctx, cancel2 := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel2()
	s.SetLatency(companiontest.Latency{FirstToken: 5 * time.Second})
	_, err := client.Chat.Completions.New(ctx, userMessage("hi"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v", err)
	}
}
