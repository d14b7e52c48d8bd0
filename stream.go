package companion

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	openai "github.com/sashabaranov/go-openai"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Stream is an answer arriving piece by piece, from [Companion.AskStream].
// A cache hit is replayed as a stream too, so callers have one code path.
//
// Call Recv until it returns io.EOF (then Answer holds the whole answer) or
// another error; call Close when done, in every case. Recv is not safe for
// concurrent use; Close may be called from another goroutine to abort a
// Recv that is waiting.
type Stream struct {
	c   *Companion
	ctx context.Context
	t   *turn
	src deltaSource

	guard  StreamGuard // checks the stream as it arrives, or
	buffer bool        // holds it all back for PostProcessor.Check
	held   []string
	raw    strings.Builder // the upstream's text
	out    strings.Builder // the text released to the caller

	pending []string
	verdict Verdict
	hit     *CacheHit
	answer  *Answer
	err     error
	done    bool
	first   bool
	release func()
	closed  atomic.Bool
	span    trace.Span // the turn's, nil when tracing is off
	up      trace.Span // the upstream call's
	ended   atomic.Bool
}

// Chunk is a piece of a streamed answer.
type Chunk struct {
	Text string
}

// deltaSource yields the pieces of an answer; io.EOF after the last.
type deltaSource interface {
	next() (string, error)
	close()
}

// AskStream answers one question as a stream. Errors before the first
// piece (a bad question, a cancelled context while queued, an upstream
// that refuses the request) are returned here; later ones by
// [Stream.Recv]. It returns the same kinds of errors as [Companion.Ask].
func (c *Companion) AskStream(ctx context.Context, q Question) (*Stream, error) {
	t, err := c.newTurn(q)
	if err != nil {
		return nil, err
	}
	return c.stream(ctx, t)
}

func (c *Companion) stream(ctx context.Context, t *turn) (*Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx, span := c.tel.span(ctx, "companion.ask", trace.SpanKindInternal,
		attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.request.model", t.q.Model),
		attribute.Bool("companion.stream", true))
	c.tel.begin(ctx)
	s, err := c.openStream(ctx, t)
	if err != nil {
		c.tel.finish(ctx, span, t, nil, err)
		return nil, err
	}
	s.span = span
	return s, nil
}

func (c *Companion) openStream(ctx context.Context, t *turn) (*Stream, error) {
	s := &Stream{c: c, ctx: ctx, t: t, release: func() {}}
	if hit, ok := c.lookup(ctx, t); ok {
		s.hit = &hit
		s.src = &replaySource{ctx: ctx, chunks: splitChunks(hit.Text)}
		return s, nil
	}
	if c.coalesce && t.cacheable {
		return c.joinStream(ctx, t)
	}
	if err := c.openUpstream(ctx, t, s); err != nil {
		return nil, err
	}
	return s, nil
}

// openUpstream runs the prompt and limiter stages and opens the upstream
// stream for s, checked by the guard as it arrives.
func (c *Companion) openUpstream(ctx context.Context, t *turn, s *Stream) error {
	if err := c.build(ctx, t); err != nil {
		return err
	}
	release, err := c.acquire(ctx, t, 0)
	if err != nil {
		return err
	}
	req := t.req
	req.Stream = true
	if req.StreamOptions == nil || !req.StreamOptions.IncludeUsage {
		req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	start := time.Now()
	uctx, upSpan := c.upstreamSpan(ctx, t)
	up, err := c.client.CreateChatCompletionStream(uctx, req)
	if err != nil {
		release()
		err = classify(ctx, err)
		c.tel.upstream(ctx, req.Model, time.Since(start), Usage{}, err)
		end(upSpan, err)
		return err
	}
	s.release = release
	s.up = upSpan
	s.src = &upstreamSource{s: up, model: req.Model, start: start}
	if c.post != nil {
		if g, ok := c.post.(StreamGuarder); ok {
			s.guard = g.GuardStream(ctx, &t.q)
		} else {
			s.buffer = true
		}
	}
	return nil
}

// Source says where the answer comes from; it is known before the first
// piece.
func (s *Stream) Source() Source {
	if s.hit != nil {
		return s.hit.Source
	}
	return SourceUpstream
}

// Recv returns the next piece of the answer, io.EOF after the last one, or
// an error: ctx's error when it is done, an [*UpstreamError] when the
// upstream fails (for example [ErrStreamInterrupted]), a [*BlockedError]
// when post-processing blocks the answer (nothing blocked is ever
// returned), or [ErrStreamClosed] after Close.
func (s *Stream) Recv() (Chunk, error) {
	for {
		if s.closed.Load() {
			return Chunk{}, ErrStreamClosed
		}
		if len(s.pending) > 0 {
			text := s.pending[0]
			s.pending = s.pending[1:]
			if !s.first {
				s.first = true
				s.t.t.FirstToken = time.Since(s.t.start)
			}
			return Chunk{Text: text}, nil
		}
		if s.err != nil {
			return Chunk{}, s.err
		}
		if s.done {
			return Chunk{}, io.EOF
		}
		s.step()
	}
}

// step pulls one piece from the source through the guard.
func (s *Stream) step() {
	delta, err := s.src.next()
	if errors.Is(err, io.EOF) {
		s.finish()
		return
	}
	if err != nil {
		s.fail(classify(s.ctx, err))
		return
	}
	if delta == "" {
		return
	}
	s.raw.WriteString(delta)
	switch {
	case s.guard != nil:
		start := time.Now()
		safe, err := s.guard.Push(delta)
		s.t.t.Post += time.Since(start)
		if err != nil {
			s.fail(s.guardErr(err))
			return
		}
		s.emit(safe)
	case s.buffer:
		s.held = append(s.held, delta)
	default:
		s.emit(delta)
	}
}

func (s *Stream) emit(text string) {
	if text != "" {
		s.pending = append(s.pending, text)
		s.out.WriteString(text)
	}
}

func (s *Stream) guardErr(err error) error {
	if ctxErr := s.ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return err
}

// finish runs the end of the turn: the last check, the answer, the cache
// fill.
func (s *Stream) finish() {
	switch {
	case s.guard != nil:
		start := time.Now()
		safe, v, err := s.guard.Finish()
		s.t.t.Post += time.Since(start)
		if err == nil && v.Action == Block {
			err = &BlockedError{Verdict: v}
		}
		if err != nil {
			s.fail(s.guardErr(err))
			return
		}
		s.verdict = v
		s.emit(safe)
	case s.buffer:
		v, err := s.c.check(s.ctx, s.t, s.raw.String())
		if err != nil {
			s.fail(err)
			return
		}
		s.verdict = v
		if v.Action == Rewrite {
			for _, c := range splitChunks(v.Text) {
				s.emit(c)
			}
		} else {
			for _, c := range s.held {
				s.emit(c)
			}
		}
		s.held = nil
	}
	s.release()
	s.done = true
	s.answer = s.buildAnswer()
	if _, own := s.src.(*upstreamSource); own { // the stream made the call: it records and stores it
		s.c.tel.upstream(s.ctx, s.t.req.Model, s.t.t.Upstream, s.answer.Usage, nil)
		end(s.up, nil)
		s.c.store(s.ctx, s.t, s.answer)
	}
	s.t.t.Total = time.Since(s.t.start)
	s.answer.Timings = s.t.t
	s.record(s.answer, nil)
}

// record ends the turn's telemetry, once.
func (s *Stream) record(a *Answer, err error) {
	if s.ended.Swap(true) {
		return
	}
	s.c.tel.finish(s.ctx, s.span, s.t, a, err)
}

func (s *Stream) buildAnswer() *Answer {
	if s.hit != nil {
		return s.c.hitAnswer(s.t, *s.hit)
	}
	if r, ok := s.src.(*flightReader); ok {
		return r.answer(s.t)
	}
	up := s.src.(*upstreamSource)
	s.t.t.Upstream = up.end.Sub(up.start)
	a := &Answer{
		Text:         s.out.String(),
		Source:       SourceUpstream,
		Model:        up.model,
		FinishReason: up.finish,
		Usage:        up.usage,
		TokensSaved:  s.t.saved,
		Verdict:      s.verdict,
	}
	s.c.price(a)
	return a
}

func (s *Stream) fail(err error) {
	s.err = err
	s.pending = nil
	s.src.close()
	s.release()
	if up, own := s.src.(*upstreamSource); own {
		var ue *UpstreamError
		if errors.As(err, &ue) {
			s.c.tel.upstream(s.ctx, s.t.req.Model, time.Since(up.start), Usage{}, err)
		}
		end(s.up, err)
	}
	s.record(nil, err)
}

// Answer returns the whole answer once Recv has returned io.EOF, and nil
// before that or after an error.
func (s *Stream) Answer() *Answer {
	if !s.done || s.err != nil {
		return nil
	}
	return s.answer
}

// Close ends the stream and frees what it holds (the upstream connection,
// the limiter's slot). It is safe to call more than once and from another
// goroutine than Recv's.
func (s *Stream) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.src.close()
	s.release()
	if !s.ended.Load() {
		end(s.up, ErrStreamClosed)
		s.record(nil, ErrStreamClosed)
	}
	return nil
}

// upstreamSource reads the deltas of a go-openai stream.
type upstreamSource struct {
	s          *openai.ChatCompletionStream
	model      string
	finish     string
	usage      Usage
	start, end time.Time
}

func (u *upstreamSource) next() (string, error) {
	for {
		resp, err := u.s.Recv()
		if errors.Is(err, io.EOF) {
			u.end = time.Now()
			if u.finish == "" {
				// The stream ended without a finish reason: the
				// connection dropped or the framing broke.
				return "", io.ErrUnexpectedEOF
			}
			return "", io.EOF
		}
		if err != nil {
			return "", err
		}
		if resp.Model != "" {
			u.model = resp.Model
		}
		if resp.Usage != nil {
			u.usage = usageOf(*resp.Usage)
		}
		if len(resp.Choices) == 0 {
			continue
		}
		ch := resp.Choices[0]
		if ch.FinishReason != "" {
			u.finish = string(ch.FinishReason)
		}
		if ch.Delta.Content != "" {
			return ch.Delta.Content, nil
		}
	}
}

func (u *upstreamSource) close() { u.s.Close() }

// replaySource replays a cached answer in several pieces.
type replaySource struct {
	ctx    context.Context
	chunks []string
}

func (r *replaySource) next() (string, error) {
	if err := r.ctx.Err(); err != nil {
		return "", err
	}
	if len(r.chunks) == 0 {
		return "", io.EOF
	}
	c := r.chunks[0]
	r.chunks = r.chunks[1:]
	return c, nil
}

// close does nothing: Recv stops at Close, and next may be running in
// another goroutine.
func (r *replaySource) close() {}

// splitChunks cuts text into pieces of a few words (or a few CJK
// characters), as a model would stream them. It never splits a rune.
func splitChunks(text string) []string {
	const (
		target = 16 // bytes: about three English words or five CJK characters
		limit  = 48
	)
	var out []string
	start := 0
	for i, r := range text {
		n := i - start
		if n == 0 {
			continue
		}
		if n >= limit || n >= target && (unicode.IsSpace(r) || r >= 0x2E80 || unicode.IsPunct(r)) {
			out = append(out, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}
