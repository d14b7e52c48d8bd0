package openaigo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/companion-go/companion"
	openai "github.com/sashabaranov/go-openai"
)

// respondStream answers a streaming chat completion request. The status
// is sent with the first chunk that has more than a role (content, a tool
// call, a finish reason, the usage), so an error before any of the answer
// (the upstream's status, a block of the first words) is an HTTP error like
// a JSON call's; later errors are SSE error events.
func respondStream(ctx context.Context, c *companion.Companion, r *http.Request, req openai.ChatCompletionRequest) (*http.Response, error) {
	s, err := c.CreateChatCompletionStream(ctx, req)
	if err != nil {
		return failed(r, err)
	}
	b := &sseBody{s: s}
	for lead := 0; ; lead++ {
		chunk, err := s.Recv()
		if errors.Is(err, io.EOF) {
			b.end()
			break
		}
		if err != nil {
			s.Close()
			return failed(r, err)
		}
		b.event(chunk)
		if b.err != nil || lead >= maxLead || !onlyRole(chunk) {
			break
		}
	}
	h := responseHeader(s.Header())
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies in front of a Handler pass the events on at once
	return newResponse(r, http.StatusOK, h, b, -1), nil
}

// maxLead bounds the chunks with only a role held before the status.
const maxLead = 8

// onlyRole reports whether a chunk carries nothing of the answer: no
// content, refusal, tool call, finish reason, log probabilities or usage.
func onlyRole(chunk openai.ChatCompletionStreamResponse) bool {
	if chunk.Usage != nil {
		return false
	}
	for _, c := range chunk.Choices {
		d := c.Delta
		if d.Content != "" || d.Refusal != "" || d.ReasoningContent != "" || len(d.ToolCalls) > 0 || d.FunctionCall != nil ||
			c.FinishReason != "" || c.Logprobs != nil {
			return false
		}
	}
	return true
}

// sseBody encodes a go-openai stream as OpenAI's server-sent events, one
// event a Recv, read as they arrive: a chunk is "data: {json}", the end is
// "data: [DONE]", an error is "data: {"error": {…}}" and then the end of
// the body. When the call's context ends, Read returns its error. Read is
// for one goroutine at a time; Close may be called from any.
type sseBody struct {
	s   *openai.ChatCompletionStream
	buf bytes.Buffer
	err error // what Read returns once buf is empty

	closeOnce sync.Once
	closeErr  error
}

// Read returns the next events.
func (b *sseBody) Read(p []byte) (int, error) {
	for b.buf.Len() == 0 {
		if b.err != nil {
			return 0, b.err
		}
		b.next()
	}
	return b.buf.Read(p)
}

// next receives one chunk and encodes it.
func (b *sseBody) next() {
	chunk, err := b.s.Recv()
	switch {
	case err == nil:
		b.event(chunk)
	case errors.Is(err, io.EOF):
		b.end()
	case isContext(err):
		b.err = err
	default:
		_, aerr, _ := errorFor(err)
		data, _ := json.Marshal(errorBody{Error: aerr}) // strings only: cannot fail
		b.write(data)
		b.err = io.EOF
	}
}

// event encodes a chunk.
func (b *sseBody) event(chunk openai.ChatCompletionStreamResponse) {
	data, err := encodeChunk(chunk)
	if err != nil {
		_, aerr, _ := errorFor(err)
		data, _ = json.Marshal(errorBody{Error: aerr}) // strings only: cannot fail
		b.err = io.EOF
	}
	b.write(data)
}

// write writes one event.
func (b *sseBody) write(data []byte) {
	b.buf.WriteString("data: ")
	b.buf.Write(data)
	b.buf.WriteString("\n\n")
}

// end writes the last event.
func (b *sseBody) end() {
	b.buf.WriteString("data: [DONE]\n\n")
	b.err = io.EOF
}

// Close stops the stream; it is safe to call more than once.
func (b *sseBody) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.s.Close() })
	return b.closeErr
}
