package semantic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/companion-go/companion/semantic/internal/index"
	openai "github.com/sashabaranov/go-openai"
)

// OpenAI embedder defaults.
const (
	// DefaultEmbeddingModel is the OpenAI embedding model used when no
	// [WithEmbeddingModel] is given.
	DefaultEmbeddingModel = "text-embedding-3-small"
	// DefaultBatchSize is the most texts one embeddings request carries.
	DefaultBatchSize = 128
	// DefaultBatchDelay is how long the first text of a batch waits for
	// others to join it.
	DefaultBatchDelay = 5 * time.Millisecond
	// maxBatchSize is the API's limit of inputs per request.
	maxBatchSize = 2048
)

// WithEmbeddingModel sets the OpenAI embedding model. Default
// [DefaultEmbeddingModel]. OpenAI embedder only.
func WithEmbeddingModel(model string) EmbedderOption {
	return embedderOptionFunc(func(c *embedderConfig) {
		c.openaiSet = append(c.openaiSet, "WithEmbeddingModel")
		if model == "" {
			c.errs = append(c.errs, configErrorf("empty embedding model"))
		}
		c.model = model
	})
}

// WithBatchSize sets the most texts one embeddings request carries, in
// [1, 2048]; a full batch is sent at once. Default [DefaultBatchSize].
// OpenAI embedder only.
func WithBatchSize(n int) EmbedderOption {
	return embedderOptionFunc(func(c *embedderConfig) {
		c.openaiSet = append(c.openaiSet, "WithBatchSize")
		if n < 1 || n > maxBatchSize {
			c.errs = append(c.errs, configErrorf("batch size %d not in [1, %d]", n, maxBatchSize))
		}
		c.batch = n
	})
}

// WithBatchDelay sets how long the first text of a batch waits for others
// to join it before the request is sent; 0 sends every call's texts at
// once (concurrent calls are then not coalesced). Default
// [DefaultBatchDelay]. OpenAI embedder only.
func WithBatchDelay(d time.Duration) EmbedderOption {
	return embedderOptionFunc(func(c *embedderConfig) {
		c.openaiSet = append(c.openaiSet, "WithBatchDelay")
		if d < 0 {
			c.errs = append(c.errs, configErrorf("negative batch delay %v", d))
		}
		c.delay = d
		c.delaySet = true
	})
}

// OpenAIEmbedder is an [Embedder] on the OpenAI embeddings API (through
// go-openai's CreateEmbeddings, so any compatible server works). It
// coalesces concurrent Embed calls: texts that arrive within the batch
// delay of each other go out in one request of at most the batch size,
// each distinct text once, and every caller gets its own vectors back. A
// caller whose context is done returns at once with the context's error;
// the request goes on for the others, and is cancelled only when every
// caller waiting on it has gone. Close cancels what is in flight and
// waits for it: no goroutine outlives Close.
type OpenAIEmbedder struct {
	client    *openai.Client
	model     string
	dims      int
	maxBatch  int
	delay     time.Duration
	threshold float64

	mu       sync.Mutex
	closed   bool
	pending  *embedBatch          // collecting texts, not yet sent
	inflight map[*embedBatch]bool // sent, not yet answered
	wg       sync.WaitGroup       // requests in flight and armed timers
}

// embedBatch is one embeddings request in the making.
type embedBatch struct {
	texts  []string
	index  map[string]int // text → position in texts
	parts  []batchPart
	calls  map[*embedCall]bool // callers still waiting
	timer  *time.Timer
	sent   bool
	ctx    context.Context
	cancel context.CancelFunc
}

// batchPart is one text of one call.
type batchPart struct {
	call *embedCall
	out  int // index in call.out
	pos  int // index in batch.texts
}

// embedCall is one Embed call.
type embedCall struct {
	out       [][]float32
	remaining int
	err       error
	done      chan struct{}
	batches   []*embedBatch
}

// NewOpenAIEmbedder returns an embedder that calls the embeddings API
// through client. It accepts every [EmbedderOption]; it returns an error
// matching [ErrInvalidConfig] for a nil client or an invalid option.
func NewOpenAIEmbedder(client *openai.Client, opts ...EmbedderOption) (*OpenAIEmbedder, error) {
	if client == nil {
		return nil, configErrorf("nil OpenAI client")
	}
	c := embedderConfig{model: DefaultEmbeddingModel, batch: DefaultBatchSize, threshold: DefaultThreshold}
	for _, o := range opts {
		if o != nil {
			o.applyEmbedder(&c)
		}
	}
	if len(c.errs) > 0 {
		return nil, c.errs[0]
	}
	if c.dims < 0 {
		return nil, configErrorf("dimensions %d < 0", c.dims)
	}
	if !c.delaySet {
		c.delay = DefaultBatchDelay
	}
	e := &OpenAIEmbedder{
		client:    client,
		model:     c.model,
		dims:      c.dims,
		maxBatch:  c.batch,
		delay:     c.delay,
		threshold: c.threshold,
		inflight:  map[*embedBatch]bool{},
	}
	return e, nil
}

// Threshold returns the cosine threshold for this embedder:
// [DefaultThreshold] unless set by [WithEmbedderThreshold].
func (e *OpenAIEmbedder) Threshold() float64 { return e.threshold }

// Embed returns the vectors of texts, each of unit length. Texts must not
// be empty ([ErrEmptyQuestion]). API errors are returned wrapped, so that
// errors.As reaches go-openai's *openai.APIError; a response that does not
// fit the request gives an error matching [ErrEmbedding]; after Close, an
// error matching [ErrClosed].
func (e *OpenAIEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("semantic: text %d: %w", i, ErrEmptyQuestion)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	call := &embedCall{out: make([][]float32, len(texts)), remaining: len(texts), done: make(chan struct{})}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	for i, t := range texts {
		e.enqueue(ctx, call, i, t)
	}
	if e.delay == 0 && e.pending != nil {
		e.send(e.pending)
	}
	e.mu.Unlock()

	select {
	case <-call.done:
		if call.err != nil {
			return nil, call.err
		}
		return call.out, nil
	case <-ctx.Done():
		e.abandon(call)
		return nil, ctx.Err()
	}
}

// enqueue adds text i of call to the pending batch; the caller holds e.mu.
func (e *OpenAIEmbedder) enqueue(ctx context.Context, call *embedCall, i int, text string) {
	b := e.pending
	if b != nil {
		if _, dup := b.index[text]; !dup && len(b.texts) >= e.maxBatch {
			e.send(b)
			b = nil
		}
	}
	if b == nil {
		b = &embedBatch{index: map[string]int{}, calls: map[*embedCall]bool{}}
		// The request keeps the first caller's values (trace ids) but not
		// its cancellation: it is cancelled when every caller has gone, or
		// by Close.
		b.ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
		e.pending = b
		if e.delay > 0 {
			e.wg.Add(1)
			b.timer = time.AfterFunc(e.delay, func() {
				defer e.wg.Done()
				e.mu.Lock()
				defer e.mu.Unlock()
				if e.pending == b {
					b.timer = nil
					e.send(b)
				}
			})
		}
	}
	pos, ok := b.index[text]
	if !ok {
		pos = len(b.texts)
		b.index[text] = pos
		b.texts = append(b.texts, text)
	}
	b.parts = append(b.parts, batchPart{call: call, out: i, pos: pos})
	if !b.calls[call] {
		b.calls[call] = true
		call.batches = append(call.batches, b)
	}
	if len(b.texts) >= e.maxBatch {
		e.send(b)
	}
}

// stopTimer disarms b's timer; the caller holds e.mu.
func (e *OpenAIEmbedder) stopTimer(b *embedBatch) {
	if b.timer != nil && b.timer.Stop() {
		e.wg.Done() // the callback will not run
	}
	b.timer = nil
}

// send starts b's request; the caller holds e.mu.
func (e *OpenAIEmbedder) send(b *embedBatch) {
	if e.pending == b {
		e.pending = nil
	}
	e.stopTimer(b)
	b.sent = true
	e.inflight[b] = true
	e.wg.Add(1)
	go e.run(b)
}

func (e *OpenAIEmbedder) run(b *embedBatch) {
	defer e.wg.Done()
	defer b.cancel()
	req := openai.EmbeddingRequestStrings{Input: b.texts, Model: openai.EmbeddingModel(e.model), Dimensions: e.dims}
	resp, err := e.client.CreateEmbeddings(b.ctx, req)
	var vecs [][]float32
	if err == nil {
		vecs, err = e.check(resp, len(b.texts))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.inflight, b)
	switch {
	case err == nil:
	case e.closed:
		err = ErrClosed
	case !errors.Is(err, ErrEmbedding):
		err = fmt.Errorf("semantic: embeddings request: %w", err)
	}
	e.deliver(b, vecs, err)
}

// check validates a response to a request of n texts and returns the
// vectors in input order, each scaled to unit length.
func (e *OpenAIEmbedder) check(resp openai.EmbeddingResponse, n int) ([][]float32, error) {
	if len(resp.Data) != n {
		return nil, fmt.Errorf("%w: %d embeddings for %d texts", ErrEmbedding, len(resp.Data), n)
	}
	out := make([][]float32, n)
	dim := -1
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= n || out[d.Index] != nil {
			return nil, fmt.Errorf("%w: bad or repeated index %d", ErrEmbedding, d.Index)
		}
		if dim < 0 {
			dim = len(d.Embedding)
		}
		if len(d.Embedding) == 0 || len(d.Embedding) != dim || e.dims > 0 && dim != e.dims {
			return nil, fmt.Errorf("%w: embedding of %d dimensions", ErrEmbedding, len(d.Embedding))
		}
		v := append([]float32(nil), d.Embedding...)
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%w: not a number", ErrEmbedding)
			}
		}
		if !index.Normalize(v) {
			return nil, fmt.Errorf("%w: zero vector", ErrEmbedding)
		}
		out[d.Index] = v
	}
	return out, nil
}

// deliver hands b's result to its callers; the caller holds e.mu.
func (e *OpenAIEmbedder) deliver(b *embedBatch, vecs [][]float32, err error) {
	var given []bool
	if err == nil {
		given = make([]bool, len(vecs))
	}
	for _, p := range b.parts {
		c := p.call
		if c.remaining == 0 {
			continue // already finished (failed elsewhere)
		}
		if err != nil {
			if c.err == nil {
				c.err = err
			}
		} else {
			v := vecs[p.pos]
			if given[p.pos] {
				v = append([]float32(nil), v...) // each caller its own copy
			}
			given[p.pos] = true
			c.out[p.out] = v
		}
		c.remaining--
		if c.remaining == 0 {
			close(c.done)
		}
	}
	b.parts = nil
}

// abandon withdraws a caller whose context is done; a batch nobody waits
// for any more is dropped, or its request cancelled.
func (e *OpenAIEmbedder) abandon(c *embedCall) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range c.batches {
		delete(b.calls, c)
		if len(b.calls) > 0 {
			continue
		}
		if !b.sent {
			if e.pending == b {
				e.pending = nil
			}
			e.stopTimer(b)
		}
		b.cancel()
	}
}

// Close cancels the requests in flight, fails the callers waiting with
// [ErrClosed], and returns when every goroutine of the embedder has
// ended. Embed after Close returns [ErrClosed]. Close is idempotent.
func (e *OpenAIEmbedder) Close() error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		if b := e.pending; b != nil {
			e.pending = nil
			e.stopTimer(b)
			b.cancel()
			e.deliver(b, nil, ErrClosed)
		}
		for b := range e.inflight {
			b.cancel()
		}
	}
	e.mu.Unlock()
	e.wg.Wait()
	return nil
}

var (
	_ Embedder   = (*OpenAIEmbedder)(nil)
	_ Calibrated = (*OpenAIEmbedder)(nil)
	_ Embedder   = (*LocalEmbedder)(nil)
	_ Calibrated = (*LocalEmbedder)(nil)
)
