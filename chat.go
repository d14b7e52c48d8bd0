package companion

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
)

// CreateChatCompletion has go-openai's signature, so a Companion can stand
// where a host used an *openai.Client. The request is sent as the caller
// built it (the prompt stage does not run); the cache, the limiter and
// post-processing do. A request is looked up in and stored to the cache
// only when it is a plain question, whose answer the cache can replay
// exactly: one choice, no tools, functions, response format, seed or
// logprobs, and a last message from the user; the namespace is the model
// and the system messages, the earlier messages are the history. Any
// other request passes through as it is. An upstream answer is returned
// as the upstream sent it (ID, created, fingerprint, service tier, usage
// with its details, tool calls, headers), its text as post-processing
// left it; a hit has an ID stable per cached answer and zero usage with
// its details. Every response has an X-Companion-Source header. A request
// with no model gets the Companion's.
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
			resp.SetHeader(withSource(resp.Header(), SourceUpstream))
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
// stages as [Companion.CreateChatCompletion], streaming: an upstream
// answer comes chunk for chunk as the upstream sent it (ID, created, model,
// fingerprint, the first chunk's role, tool calls, refusals, logprobs, the
// usage chunk when asked, and the response headers), its content the text
// post-processing released when the chunk arrived; a cache hit or a shared
// call is replayed as chunks of the same shape, with an ID stable per
// cached answer. Errors from Recv are Companion's typed errors. Close the
// stream when done.
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
	b := &bridgeBody{s: s, model: t.req.Model, includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage}
	var upstream http.Header
	if s.chunkMode() {
		upstream = s.src.(*upstreamSource).s.Header()
	}
	b.header = withSource(upstream, s.Source())
	bctx := context.WithValue(ctx, bridgeKey{}, b)
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
	t.cacheable = req.N <= 1 && len(req.Tools) == 0 && len(req.Functions) == 0 && req.ResponseFormat == nil && req.Seed == nil &&
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

// completionResponse renders an answer as a chat completion response: the
// upstream's own when the answer came from a call (its ID, created,
// model, fingerprint, service tier, usage with its details and headers),
// with the text post-processing allowed; for a cache hit a response with
// an ID stable per cached answer, zero usage with its details present
// (zero, not nil), and a header X-Companion-Source naming the tier.
func completionResponse(t *turn, a *Answer) openai.ChatCompletionResponse {
	if a.resp != nil {
		r := *a.resp
		r.Choices = slices.Clone(r.Choices)
		r.Choices[0].Message.Content = a.Text
		r.SetHeader(withSource(r.Header(), a.Source))
		return r
	}
	r := openai.ChatCompletionResponse{
		ID:      hitID(a),
		Object:  "chat.completion",
		Created: t.start.Unix(),
		Model:   a.Model,
		Choices: []openai.ChatCompletionChoice{{
			Index:        0,
			Message:      openai.ChatCompletionMessage{Role: RoleAssistant, Content: a.Text},
			FinishReason: openai.FinishReason(a.FinishReason),
		}},
		Usage: zeroUsage(),
	}
	r.SetHeader(withSource(nil, a.Source))
	return r
}

// withSource returns a copy of the upstream's headers h (nil for none)
// with [sourceHeader] set to src.
func withSource(h http.Header, src Source) http.Header {
	h = h.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(sourceHeader, src.String())
	return h
}

// sourceHeader names the answer's source (upstream, exact, semantic,
// prewarmed) on the mirrors' responses.
const sourceHeader = "X-Companion-Source"

// zeroUsage is the usage of a cache hit, billed nothing: zero counts with
// their details present, as the API sends them, so that host code reading
// Usage.PromptTokensDetails.CachedTokens works on a hit too.
func zeroUsage() openai.Usage {
	return openai.Usage{PromptTokensDetails: &openai.PromptTokensDetails{}, CompletionTokensDetails: &openai.CompletionTokensDetails{}}
}

// hitID is the response ID of a cached answer: the same for every replay
// of the same answer, shaped like the API's (chatcmpl- and 29 characters).
func hitID(a *Answer) string { return stableID(a.Model + "\x00" + a.Text) }

// stableID is a response ID derived from key: shaped like the API's
// (chatcmpl- and 29 characters), the same for the same key.
func stableID(key string) string {
	h := sha256.Sum256([]byte(key))
	return "chatcmpl-" + hex.EncodeToString(h[:])[:29]
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
	h := b.header.Clone()
	h.Set("Content-Type", "text/event-stream")
	return &http.Response{
		Status:     "200 OK",
		StatusCode: http.StatusOK,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
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
	header       http.Header // the upstream's response headers, and the source
	buf          bytes.Buffer
	err          error
	ended        bool
	started      bool   // a replay's role chunk is out
	id           string // a replay's ID
}

func (b *bridgeBody) Read(p []byte) (int, error) {
	for b.buf.Len() == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if b.s.chunks != nil {
			b.forward()
		} else {
			b.replay()
		}
	}
	return b.buf.Read(p)
}

// forward writes the next chunk of the stream's own upstream call.
func (b *bridgeBody) forward() {
	if b.ended {
		b.err = io.EOF
		return
	}
	c, err := b.s.recvChunk()
	switch {
	case errors.Is(err, io.EOF):
		b.buf.WriteString("data: [DONE]\n\n")
		b.ended = true
	case err != nil:
		b.err = err
	case len(c.Choices) == 0 && c.Usage != nil && !b.includeUsage:
		// Companion asked for the usage chunk; the caller did not.
	default:
		b.write(c)
	}
}

// replay writes the next chunk of a cache hit or a shared call, shaped as
// the API's: a role chunk, content chunks, the finish chunk, the usage
// chunk when asked.
func (b *bridgeBody) replay() {
	if b.ended {
		b.err = io.EOF
		return
	}
	if !b.started {
		b.started = true
		b.event(openai.ChatCompletionStreamChoiceDelta{Role: RoleAssistant}, "")
		return
	}
	chunk, err := b.s.Recv()
	switch {
	case errors.Is(err, io.EOF):
		a := b.s.Answer()
		b.event(openai.ChatCompletionStreamChoiceDelta{}, openai.FinishReason(a.FinishReason))
		if b.includeUsage {
			u := zeroUsage()
			u.PromptTokens, u.CompletionTokens, u.TotalTokens = a.Usage.PromptTokens, a.Usage.CompletionTokens, a.Usage.TotalTokens
			b.write(openai.ChatCompletionStreamResponse{ID: b.replayID(), Object: "chat.completion.chunk", Created: b.s.t.start.Unix(),
				Model: b.model, Choices: []openai.ChatCompletionStreamChoice{}, Usage: &u})
		}
		b.buf.WriteString("data: [DONE]\n\n")
		b.ended = true
	case err != nil:
		b.err = err
	default:
		b.event(openai.ChatCompletionStreamChoiceDelta{Content: chunk.Text}, "")
	}
}

// replayID is a replay's response ID: a hit's is stable per cached answer
// (as CreateChatCompletion's), a shared call's per question.
func (b *bridgeBody) replayID() string {
	if b.id == "" {
		if h := b.s.hit; h != nil {
			m := h.Model
			if m == "" {
				m = b.s.t.q.Model // as CreateChatCompletion's hit names it
			}
			b.id = hitID(&Answer{Model: m, Text: h.Text})
		} else {
			b.id = stableID(questionKey(&b.s.t.q))
		}
	}
	return b.id
}

func (b *bridgeBody) event(d openai.ChatCompletionStreamChoiceDelta, finish openai.FinishReason) {
	b.write(openai.ChatCompletionStreamResponse{
		ID: b.replayID(), Object: "chat.completion.chunk", Created: b.s.t.start.Unix(), Model: b.model,
		Choices: []openai.ChatCompletionStreamChoice{{Delta: d, FinishReason: finish}},
	})
}

func (b *bridgeBody) write(r openai.ChatCompletionStreamResponse) {
	data, _ := json.Marshal(r) // plain structs of strings and numbers: cannot fail
	b.buf.WriteString("data: ")
	b.buf.Write(data)
	b.buf.WriteString("\n\n")
}

func (b *bridgeBody) Close() error { return b.s.Close() }
