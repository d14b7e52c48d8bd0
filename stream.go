package companion

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
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

	// mu guards src, release and up against Close from another goroutine
	// while a retry swaps them.
	mu sync.Mutex
	// attempts counts the upstream attempts of a stream that made its own
	// call; expect is the text already released that a retry's answer must
	// reproduce before it releases more, resumeErr the failure to report
	// when it does not.
	attempts  int
	expect    string
	resumeErr error
	upStart   time.Time     // the first attempt's start
	upQueued  time.Duration // t.t.Queue then: the attempts' waits for a slot are not upstream time
	// shutErr is what Recv returns after the stream was shut by its
	// context's end or by the idle timeout; ErrStreamClosed when nil.
	shutErr atomic.Pointer[error]
	// chunks, when set (by the go-openai bridge), turns what the stream
	// releases into the upstream's own chunks; see chunks.go.
	chunks  *chunkLog
	stopCtx func() bool // stops the shut on ctx's end
	// hedgeStop cancels the context of a call started while the cache
	// lookup ran (WithUpstreamHedge), once the stream has ended.
	hedgeStop context.CancelFunc
	idle      *time.Timer // the idle timeout, nil when off
	idleTime  time.Duration
}

// Chunk is a piece of a streamed answer.
type Chunk struct {
	Text string // the next piece of the answer, already passed by post-processing
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
	s.watchLife(ctx, c.idle)
	return s, nil
}

// watchLife makes sure the stream lets go of what it holds (the limiter's
// slot, the upstream connection, its place in a shared flight) when its
// context ends or nobody reads it for idle (0: never), whether or not the
// caller calls Close.
func (s *Stream) watchLife(ctx context.Context, idle time.Duration) {
	// The callbacks may run at once (ctx already done) and read these
	// fields in stopLife: s.mu orders the two.
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopCtx = context.AfterFunc(ctx, func() { s.shut(ctx.Err()) })
	if idle > 0 {
		s.idleTime = idle
		s.idle = time.AfterFunc(idle, func() { s.shut(ErrStreamClosed) })
	}
}

func (c *Companion) openStream(ctx context.Context, t *turn) (*Stream, error) {
	replay := func(hit CacheHit) *Stream {
		return &Stream{c: c, ctx: ctx, t: t, release: func() {}, hit: &hit,
			src: &replaySource{ctx: ctx, chunks: splitChunks(hit.Text)}}
	}
	if c.hedging(t) {
		return hedged(c, ctx, t, replay, c.openMiss,
			func(s *Stream, cancel context.CancelFunc) { s.hedgeStop = cancel },
			func(s *Stream) {
				s.ended.Store(true) // not a turn of its own: nothing to record
				s.Close()
			})
	}
	if hit, ok := c.lookup(ctx, t); ok {
		return replay(hit), nil
	}
	return c.openMiss(ctx, t)
}

// openMiss opens the stream of a turn the cache could not serve: a reader
// of the question's flight when coalescing is on, else a call of its own.
func (c *Companion) openMiss(ctx context.Context, t *turn) (*Stream, error) {
	if c.coalesce && t.cacheable {
		return c.joinStream(ctx, t)
	}
	s := &Stream{c: c, ctx: ctx, t: t, release: func() {}}
	if err := c.openUpstream(ctx, t, s); err != nil {
		return nil, err
	}
	return s, nil
}

// openUpstream runs the prompt and limiter stages and opens the upstream
// stream for s, checked by the guard as it arrives. An open that fails
// retryably is tried again as the [RetryPolicy] says.
func (c *Companion) openUpstream(ctx context.Context, t *turn, s *Stream) error {
	if err := c.build(ctx, t); err != nil {
		return err
	}
	c.retry.begin()
	s.upStart, s.upQueued = time.Now(), t.t.Queue
	if err := s.reopen(nil); err != nil {
		return err
	}
	if c.post != nil {
		if g, ok := c.post.(StreamGuarder); ok {
			s.guard = g.GuardStream(ctx, &t.q)
		} else {
			s.buffer = true
		}
	}
	return nil
}

// reopen makes upstream attempts until one opens, after failed (nil for
// the first attempt), as the retry policy says.
func (s *Stream) reopen(failed error) error {
	return s.c.retrying(s.ctx, &s.attempts, failed, func() error { return s.c.openAttempt(s.ctx, s.t, s) })
}

// openAttempt is one attempt at opening the upstream stream: a limiter
// slot, held until the stream ends, and the call.
func (c *Companion) openAttempt(ctx context.Context, t *turn, s *Stream) error {
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
	wctx, w := watch(uctx)
	up, err := c.client.CreateChatCompletionStream(wctx, req)
	if err != nil {
		release()
		err = classifyBody(ctx, err, w)
		c.tel.upstream(ctx, req.Model, time.Since(start), Usage{}, err)
		end(upSpan, err)
		return err
	}
	src := &upstreamSource{s: up, model: req.Model, start: start}
	s.mu.Lock()
	if s.closed.Load() { // shut while the attempt was opening
		s.mu.Unlock()
		src.close()
		release()
		end(upSpan, ErrStreamClosed)
		return s.closedErr()
	}
	s.src, s.release, s.up = src, release, upSpan
	s.mu.Unlock()
	return nil
}

// resume tries the upstream again after the stream failed with err, when
// the policy allows: the failed attempt is recorded and let go, a new one
// opened and checked by a new guard, and the text already released must
// come again before anything more is released. It reports whether the
// stream goes on.
func (s *Stream) resume(err error) bool {
	up, own := s.src.(*upstreamSource)
	if !own || s.closed.Load() {
		return false
	}
	if _, ok := err.(*UpstreamError); !ok {
		return false
	}
	s.c.tel.upstream(s.ctx, s.t.req.Model, time.Since(up.start), Usage{}, err)
	end(s.up, err)
	s.mu.Lock()
	src, release := s.src, s.release
	s.release, s.up = func() {}, nil
	s.mu.Unlock()
	src.close()
	release()
	if rerr := s.reopen(err); rerr != nil {
		s.resumeErr = rerr
		return false
	}
	if s.guard != nil {
		s.guard = s.c.post.(StreamGuarder).GuardStream(s.ctx, &s.t.q)
	}
	s.raw.Reset()
	s.held = nil
	s.expect = s.out.String()
	s.resumeErr = err
	return true
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
	defer s.busy()()
	for {
		if s.closed.Load() {
			return Chunk{}, s.closedErr()
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
		err = classify(s.ctx, err)
		if s.resume(err) {
			return
		}
		if s.resumeErr != nil {
			err = s.resumeErr
		}
		s.fail(err)
		return
	}
	mark := len(s.pending)
	defer func() {
		if s.chunks != nil && s.err == nil {
			s.chunks.add(s, mark)
		}
	}()
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

// emit releases text to the reader. After a retry, the text the reader
// already has is checked off first; an answer that differs from it fails
// the stream rather than show the student two different answers.
func (s *Stream) emit(text string) {
	if s.err != nil {
		return
	}
	if s.expect != "" && text != "" {
		n := min(len(text), len(s.expect))
		if text[:n] != s.expect[:n] {
			s.expect = ""
			s.fail(s.diverged())
			return
		}
		s.expect, text = s.expect[n:], text[n:]
	}
	if text != "" {
		s.pending = append(s.pending, text)
		s.out.WriteString(text)
	}
}

// diverged is the error of a retry whose answer differs from the text
// already released: the original interruption.
func (s *Stream) diverged() error {
	if s.resumeErr != nil {
		return s.resumeErr
	}
	return &UpstreamError{Kind: ErrStreamInterrupted, Err: errors.New("retried answer differs from the text already shown")}
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
	if s.err != nil { // a retry's answer differed from what was shown
		return
	}
	if s.chunks != nil {
		s.chunks.end(s)
	}
	if s.expect != "" { // a retry's answer is shorter than what was shown
		s.expect = ""
		s.fail(s.diverged())
		return
	}
	s.stopLife()
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
	s.t.t.Upstream = up.end.Sub(s.upStart) - (s.t.t.Queue - s.upQueued) // every attempt, waits between them included, slot waits not
	a := &Answer{
		Text:         s.out.String(),
		Source:       SourceUpstream,
		Model:        up.model,
		FinishReason: up.finish,
		Usage:        up.usage,
		TokensSaved:  s.t.saved,
		Attempts:     s.attempts,
		Verdict:      s.verdict,
	}
	s.c.price(a)
	return a
}

func (s *Stream) fail(err error) {
	s.stopLife()
	s.err = err
	s.pending = nil
	if s.chunks != nil {
		s.chunks.ready = nil
	}
	s.src.close()
	s.release()
	if up, own := s.src.(*upstreamSource); own && s.up != nil {
		var ue *UpstreamError
		if errors.As(err, &ue) {
			s.c.tel.upstream(s.ctx, s.t.req.Model, time.Since(up.start), Usage{}, err)
		}
		end(s.up, err)
	}
	s.record(nil, err)
}

// busy stops the idle timeout while a Recv runs (one waiting on the
// upstream is not idle) and returns what restarts it.
func (s *Stream) busy() func() {
	if s.idle == nil {
		return func() {}
	}
	s.idle.Stop()
	return func() {
		if !s.closed.Load() && !s.done && s.err == nil {
			s.idle.Reset(s.idleTime)
		}
	}
}

// stopLife stops watching the context and the idle time: the stream has
// ended by itself.
func (s *Stream) stopLife() {
	s.mu.Lock()
	stop, idle, hedge := s.stopCtx, s.idle, s.hedgeStop
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	if hedge != nil {
		hedge()
	}
	if idle != nil {
		idle.Stop()
	}
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
// goroutine than Recv's. A stream is also let go of, as by Close, when its
// context ends or nobody reads it for [WithStreamIdleTimeout].
func (s *Stream) Close() error {
	s.shut(nil)
	return nil
}

// shut ends the stream once, from any goroutine; err is what Recv returns
// afterwards (nil for [ErrStreamClosed]).
func (s *Stream) shut(err error) {
	s.mu.Lock()
	if s.closed.Swap(true) {
		s.mu.Unlock()
		return
	}
	if err != nil {
		s.shutErr.Store(&err)
	}
	src, release, up := s.src, s.release, s.up
	s.mu.Unlock()
	s.stopLife()
	if src != nil {
		src.close()
	}
	release()
	if !s.ended.Load() {
		e := s.closedErr()
		end(up, e)
		s.record(nil, e)
	}
}

// closedErr is what Recv returns once the stream is shut.
func (s *Stream) closedErr() error {
	if p := s.shutErr.Load(); p != nil {
		return *p
	}
	return ErrStreamClosed
}

// upstreamSource reads the deltas of a go-openai stream.
type upstreamSource struct {
	s          *openai.ChatCompletionStream
	model      string
	finish     string
	usage      Usage
	start, end time.Time
	// every: next returns at every chunk, with or without content, for a
	// stream whose chunks are forwarded (the go-openai bridge); cur is the
	// chunk next last read.
	every bool
	cur   openai.ChatCompletionStreamResponse
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
			if u.finish != "" {
				// The last chunk, with its finish reason, arrived: the
				// answer is whole even if the connection then dropped
				// before [DONE] (a usage chunk may be lost with it).
				u.end = time.Now()
				return "", io.EOF
			}
			return "", err
		}
		if resp.Model != "" {
			u.model = resp.Model
		}
		if resp.Usage != nil {
			u.usage = usageOf(*resp.Usage)
		}
		u.cur = resp
		if len(resp.Choices) == 0 {
			if u.every {
				return "", nil
			}
			continue
		}
		ch := resp.Choices[0]
		if ch.FinishReason != "" {
			u.finish = string(ch.FinishReason)
		}
		if ch.Delta.Content != "" || u.every {
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
