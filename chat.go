package companion

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
)

// CreateChatCompletion has go-openai's signature, so a Companion can stand
// where a host used an *openai.Client. The request is sent as the caller
// built it (the prompt stage does not run); the cache, the limiter and
// post-processing do. A request is looked up in and stored to the cache
// only when it is a plain question: one choice, no tools, functions or
// response format, and a last message from the user; the namespace is
// the model and the system messages, the earlier messages are the history.
// A request with no model gets the Companion's.
func (c *Companion) CreateChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	t, err := c.rawTurn(req)
	if err != nil {
		return openai.ChatCompletionResponse{}, err
	}
	if !t.cacheable {
		var resp openai.ChatCompletionResponse
		_, err := c.observe(ctx, t, func(ctx context.Context, t *turn) (*Answer, error) {
			var err error
			resp, err = c.rawCompletion(ctx, t)
			if err != nil {
				return nil, err
			}
			a := &Answer{Source: SourceUpstream, Model: resp.Model, Usage: usageOf(resp.Usage)}
			c.price(a)
			a.Timings.Total = time.Since(t.start)
			a.Timings.FirstToken = a.Timings.Total
			return a, nil
		})
		return resp, err
	}
	a, err := c.observe(ctx, t, c.ask)
	if err != nil {
		return openai.ChatCompletionResponse{}, err
	}
	return completionResponse(t, a), nil
}

// rawCompletion answers a request the cache cannot take: limiter, upstream,
// post-processing of every choice.
func (c *Companion) rawCompletion(ctx context.Context, t *turn) (openai.ChatCompletionResponse, error) {
	if err := ctx.Err(); err != nil {
		return openai.ChatCompletionResponse{}, err
	}
	resp, err := c.complete(ctx, t)
	if err != nil {
		return openai.ChatCompletionResponse{}, err
	}
	for i := range resp.Choices {
		v, err := c.check(ctx, t, resp.Choices[i].Message.Content)
		if err != nil {
			return openai.ChatCompletionResponse{}, err
		}
		if v.Action == Rewrite {
			resp.Choices[i].Message.Content = v.Text
		}
	}
	return resp, nil
}

// CreateChatCompletionStream has go-openai's signature. It runs the same
// stages as [Companion.CreateChatCompletion], streaming: a cache hit is
// replayed as chunks, post-processing checks the stream as it arrives, and
// errors from Recv are Companion's typed errors. Close the stream when
// done.
func (c *Companion) CreateChatCompletionStream(ctx context.Context, req openai.ChatCompletionRequest) (*openai.ChatCompletionStream, error) {
	t, err := c.rawTurn(req)
	if err != nil {
		return nil, err
	}
	s, err := c.stream(ctx, t)
	if err != nil {
		return nil, err
	}
	// go-openai's stream type can only be made by its client, so a client
	// whose transport is the Stream itself re-encodes it as SSE.
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	bctx := context.WithValue(ctx, bridgeKey{}, &bridgeBody{s: s, model: t.req.Model, includeUsage: includeUsage})
	breq := openai.ChatCompletionRequest{Model: t.req.Model, Messages: []openai.ChatCompletionMessage{{Role: RoleUser, Content: "-"}}}
	out, err := c.bridge.CreateChatCompletionStream(bctx, breq)
	if err != nil {
		s.Close()
		return nil, err
	}
	return out, nil
}

// rawTurn checks a chat completion request and makes a turn of it.
func (c *Companion) rawTurn(req openai.ChatCompletionRequest) (*turn, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if req.Model == "" {
		req.Model = c.model
	}
	if req.Model == "" {
		return nil, &InputError{Field: "Model", Err: ErrNoModel}
	}
	if len(req.Messages) == 0 {
		return nil, &InputError{Field: "Messages", Err: ErrNoMessages}
	}
	for i, m := range req.Messages {
		if !knownRole(m.Role) && m.Role != openai.ChatMessageRoleFunction {
			return nil, &InputError{Field: fmt.Sprintf("Messages[%d].Role", i), Err: fmt.Errorf("%w %q", ErrUnknownRole, m.Role)}
		}
		if !utf8.ValidString(m.Content) {
			return nil, &InputError{Field: fmt.Sprintf("Messages[%d].Content", i), Err: ErrInvalidUTF8}
		}
		for j, p := range m.MultiContent {
			if !utf8.ValidString(p.Text) {
				return nil, &InputError{Field: fmt.Sprintf("Messages[%d].MultiContent[%d].Text", i, j), Err: ErrInvalidUTF8}
			}
		}
	}
	req.Stream = false
	t := &turn{start: time.Now(), req: req, raw: true}
	last := req.Messages[len(req.Messages)-1]
	var sys []string
	for _, m := range req.Messages[:len(req.Messages)-1] {
		if m.Role == RoleSystem || m.Role == RoleDeveloper {
			sys = append(sys, m.Content)
			continue
		}
		t.q.History = append(t.q.History, Message{Role: m.Role, Content: m.Content})
	}
	t.q.SystemPrompt = strings.Join(sys, "\n")
	t.q.Text = last.Content
	t.q.Model = req.Model
	t.q.MaxTokens = max(req.MaxTokens, req.MaxCompletionTokens)
	t.cacheable = req.N <= 1 && len(req.Tools) == 0 && len(req.Functions) == 0 && req.ResponseFormat == nil &&
		!req.LogProbs && last.Role == RoleUser && len(last.MultiContent) == 0 && strings.TrimSpace(last.Content) != "" &&
		(c.maxBytes < 0 || len(last.Content) <= c.maxBytes) && historyPlain(req.Messages)
	return t, nil
}

// historyPlain reports whether every message is plain text without tool
// calls, so the question can stand for the request in a cache key.
func historyPlain(msgs []openai.ChatCompletionMessage) bool {
	for _, m := range msgs {
		if len(m.MultiContent) > 0 || len(m.ToolCalls) > 0 || m.FunctionCall != nil || m.ToolCallID != "" {
			return false
		}
	}
	return true
}

// completionResponse renders an answer as a chat completion response.
func completionResponse(t *turn, a *Answer) openai.ChatCompletionResponse {
	return openai.ChatCompletionResponse{
		ID:      completionID(a),
		Object:  "chat.completion",
		Created: t.start.Unix(),
		Model:   a.Model,
		Choices: []openai.ChatCompletionChoice{{
			Index:        0,
			Message:      openai.ChatCompletionMessage{Role: RoleAssistant, Content: a.Text},
			FinishReason: openai.FinishReason(a.FinishReason),
		}},
		Usage: openai.Usage{
			PromptTokens:     a.Usage.PromptTokens,
			CompletionTokens: a.Usage.CompletionTokens,
			TotalTokens:      a.Usage.TotalTokens,
		},
	}
}

func completionID(a *Answer) string {
	return "chatcmpl-companion-" + a.Source.String()
}

// bridgeKey carries a bridgeBody to bridgeDoer through a request context.
type bridgeKey struct{}

// bridgeDoer is the HTTP client of Companion's bridge go-openai client: it
// answers a streaming request with the SSE encoding of the Stream found in
// the request's context.
type bridgeDoer struct{}

func (bridgeDoer) Do(req *http.Request) (*http.Response, error) {
	b, ok := req.Context().Value(bridgeKey{}).(*bridgeBody)
	if !ok {
		return nil, errors.New("companion: bridge request without a stream")
	}
	return &http.Response{
		Status:     "200 OK",
		StatusCode: http.StatusOK,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       b,
		Request:    req,
	}, nil
}

// bridgeBody encodes a Stream as OpenAI's server-sent events. A Stream
// error is returned from Read as it is, and go-openai passes it on to the
// caller of Recv unchanged.
type bridgeBody struct {
	s            *Stream
	model        string
	includeUsage bool
	buf          bytes.Buffer
	err          error
	ended        bool
}

func (b *bridgeBody) Read(p []byte) (int, error) {
	for b.buf.Len() == 0 {
		if b.err != nil {
			return 0, b.err
		}
		b.fill()
	}
	return b.buf.Read(p)
}

func (b *bridgeBody) fill() {
	if b.ended {
		b.err = io.EOF
		return
	}
	chunk, err := b.s.Recv()
	switch {
	case errors.Is(err, io.EOF):
		a := b.s.Answer()
		b.event(openai.ChatCompletionStreamResponse{
			Choices: []openai.ChatCompletionStreamChoice{{FinishReason: openai.FinishReason(a.FinishReason)}},
		})
		if b.includeUsage {
			b.event(openai.ChatCompletionStreamResponse{
				Choices: []openai.ChatCompletionStreamChoice{},
				Usage: &openai.Usage{
					PromptTokens: a.Usage.PromptTokens, CompletionTokens: a.Usage.CompletionTokens, TotalTokens: a.Usage.TotalTokens,
				},
			})
		}
		b.buf.WriteString("data: [DONE]\n\n")
		b.ended = true
	case err != nil:
		b.err = err
	default:
		b.event(openai.ChatCompletionStreamResponse{
			Choices: []openai.ChatCompletionStreamChoice{{
				Delta: openai.ChatCompletionStreamChoiceDelta{Role: RoleAssistant, Content: chunk.Text},
			}},
		})
	}
}

func (b *bridgeBody) event(r openai.ChatCompletionStreamResponse) {
	r.ID = "chatcmpl-companion-" + b.s.Source().String()
	r.Object = "chat.completion.chunk"
	r.Model = b.model
	r.Created = b.s.t.start.Unix()
	data, _ := json.Marshal(r) // plain structs of strings and numbers: cannot fail
	b.buf.WriteString("data: ")
	b.buf.Write(data)
	b.buf.WriteString("\n\n")
}

func (b *bridgeBody) Close() error { return b.s.Close() }
