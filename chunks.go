package companion

import (
	"io"
	"slices"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// chunkLog turns what a Stream of its own upstream call releases back into
// the upstream's chunks, for [Companion.CreateChatCompletionStream]: each
// chunk as the upstream sent it (ID, created, model, fingerprint, role,
// tool calls, refusal, logprobs, usage), its content replaced by the text
// the guard released when the chunk arrived. The finish and usage chunks
// wait for the end of the stream, so that text the guard held back until
// then comes before them.
type chunkLog struct {
	ready    []openai.ChatCompletionStreamResponse // released, for recvChunk
	tail     []openai.ChatCompletionStreamResponse // finish and usage chunks
	last     openai.ChatCompletionStreamResponse   // the last content chunk: the shape of text released at the end
	roleSent bool
}

// add records the chunk the stream just read, with the text released since
// pending held mark pieces.
func (l *chunkLog) add(s *Stream, mark int) {
	up, ok := s.src.(*upstreamSource)
	if !ok {
		return
	}
	text := l.take(s, mark)
	c := up.cur
	c.Choices = slices.Clone(c.Choices)
	if len(c.Choices) == 0 {
		l.tail = append(l.tail, c) // the usage chunk
		return
	}
	ch := &c.Choices[0]
	if ch.FinishReason != "" {
		fin := c
		fin.Choices = slices.Clone(c.Choices)
		fin.Choices[0].Delta = openai.ChatCompletionStreamChoiceDelta{}
		l.tail = append(l.tail, fin)
		if text == "" && !hasDelta(ch.Delta) {
			return
		}
		ch.FinishReason = ""
	}
	ch.Delta.Content = text
	if ch.Delta.Role != "" {
		if l.roleSent {
			ch.Delta.Role = "" // a retried attempt's role chunk: the reader has one
		}
		l.roleSent = true
	}
	if text == "" && !hasDelta(ch.Delta) && ch.Logprobs == nil {
		return // held back by the guard, or a retry repeating what was shown
	}
	if text != "" {
		l.last = c
	}
	l.ready = append(l.ready, c)
}

// end releases what the guard held until the end, in the shape of the
// last content chunk, then the finish and usage chunks.
func (l *chunkLog) end(s *Stream) {
	if text := l.take(s, 0); text != "" {
		c := l.last
		c.Choices = []openai.ChatCompletionStreamChoice{{Index: 0, Delta: openai.ChatCompletionStreamChoiceDelta{Content: text}}}
		if c.ID == "" && len(l.tail) > 0 {
			c.ID, c.Created, c.Model, c.SystemFingerprint = l.tail[0].ID, l.tail[0].Created, l.tail[0].Model, l.tail[0].SystemFingerprint
		}
		l.ready = append(l.ready, c)
	}
	l.ready = append(l.ready, l.tail...)
	l.tail = nil
}

// take removes the pieces the stream released since mark from its
// pending text and returns them joined.
func (l *chunkLog) take(s *Stream, mark int) string {
	if mark >= len(s.pending) {
		return ""
	}
	text := strings.Join(s.pending[mark:], "")
	s.pending = s.pending[:mark]
	return text
}

// hasDelta reports whether a delta carries anything but content.
func hasDelta(d openai.ChatCompletionStreamChoiceDelta) bool {
	return d.Role != "" || d.FunctionCall != nil || len(d.ToolCalls) > 0 || d.Refusal != "" || d.ReasoningContent != ""
}

// recvChunk is Recv for a stream in chunk mode: the next upstream chunk,
// io.EOF after the last, or the error that ended the stream.
func (s *Stream) recvChunk() (openai.ChatCompletionStreamResponse, error) {
	defer s.busy()()
	for {
		if s.closed.Load() {
			return openai.ChatCompletionStreamResponse{}, s.closedErr()
		}
		if l := s.chunks; len(l.ready) > 0 {
			c := l.ready[0]
			l.ready = l.ready[1:]
			if !s.first && len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
				s.first = true
				s.t.t.FirstToken = time.Since(s.t.start)
			}
			return c, nil
		}
		if s.err != nil {
			return openai.ChatCompletionStreamResponse{}, s.err
		}
		if s.done {
			return openai.ChatCompletionStreamResponse{}, io.EOF
		}
		s.step()
	}
}

// chunkMode turns chunk mode on for a stream of its own upstream call and
// reports whether it did; hits and shared calls are replayed from their
// text instead.
func (s *Stream) chunkMode() bool {
	up, ok := s.src.(*upstreamSource)
	if !ok {
		return false
	}
	up.every = true
	s.chunks = &chunkLog{}
	return true
}
