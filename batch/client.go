package batch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/companion-go/companion/internal/backoff"
	openai "github.com/sashabaranov/go-openai"
)

// API is the part of go-openai's *openai.Client that a [Client] uses; an
// *openai.Client satisfies it.
type API interface {
	// CreateFileBytes uploads one part of a job as a JSONL input file
	// with purpose "batch" and returns the file, whose ID the batch names.
	CreateFileBytes(ctx context.Context, req openai.FileBytesRequest) (openai.File, error)
	// CreateBatch starts a batch on an uploaded input file, for the chat
	// completions endpoint, within the completion window of
	// [WithCompletionWindow].
	CreateBatch(ctx context.Context, req openai.CreateBatchRequest) (openai.BatchResponse, error)
	// RetrieveBatch returns a batch's current status, request counts and
	// output and error file IDs; a [Client] calls it to poll.
	RetrieveBatch(ctx context.Context, batchID string) (openai.BatchResponse, error)
	// CancelBatch asks the API to cancel a batch; the batch goes through
	// "cancelling" to "cancelled" and keeps the results it already has.
	CancelBatch(ctx context.Context, batchID string) (openai.BatchResponse, error)
	// GetFileContent downloads a batch's output or error file (JSONL, one
	// line per request); the caller closes it.
	GetFileContent(ctx context.Context, fileID string) (openai.RawResponse, error)
}

var _ API = (*openai.Client)(nil)

// Batch statuses, as the API reports them.
const (
	StatusValidating = "validating"
	StatusFailed     = "failed"
	StatusInProgress = "in_progress"
	StatusFinalizing = "finalizing"
	StatusCompleted  = "completed"
	StatusExpired    = "expired"
	StatusCancelling = "cancelling"
	StatusCancelled  = "cancelled"
)

// Final reports whether a batch with this status is over.
func Final(status string) bool {
	switch status {
	case StatusCompleted, StatusFailed, StatusExpired, StatusCancelled:
		return true
	}
	return false
}

// Client runs jobs through the Batch API. It is safe for concurrent use.
type Client struct {
	api API
	cfg config
}

// New returns a Client that calls api (usually an *openai.Client). It
// returns an error matching [ErrInvalidConfig] when api is nil or an
// option is invalid.
func New(api API, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if api == nil {
		cfg.invalid("New", "nil API")
	}
	if len(cfg.errs) > 0 {
		return nil, cfg.errs[0]
	}
	return &Client{api: api, cfg: cfg}, nil
}

// Request is one chat completion of a [Job].
type Request struct {
	// CustomID identifies the request's result; unique within a job.
	// Default: [ID] of the body, stable across processes.
	CustomID string
	// Body is the chat completion; it must not ask for a stream.
	Body openai.ChatCompletionRequest
}

// Job is a set of requests to run as one or more batches.
type Job struct {
	// Requests are the chat completions to run, at least one; their
	// custom IDs must be unique. A job over the API's limits per batch
	// (requests or bytes) is split into several batches.
	Requests []Request
	// Metadata is set on every batch of the job (at most 16 keys, as the
	// API allows).
	Metadata map[string]string
}

// Result is the outcome of one request: Response or Err is set.
type Result struct {
	// CustomID is the [Request.CustomID] the result answers.
	CustomID string
	// Response is the chat completion the API returned, nil when Err is
	// set.
	Response *openai.ChatCompletionResponse
	// Err is an [*ItemError], a [*LineError], a [*BatchError], or matches
	// [ErrNoResult] or [ErrTooLarge]; see the package doc.
	Err error
}

// Report is what a job produced.
type Report struct {
	// Results has one result per request of the job, in the job's order
	// ([Client.Run]), or one per line of the batches' files, in file order
	// ([Client.Resume]).
	Results []Result
	// Batches are the job's batches, in order, as last seen.
	Batches []Info
	// LineErrors are the malformed lines whose custom_id could not be
	// recovered (or named no request of the job).
	LineErrors []*LineError
}

// Info is a batch as last polled.
type Info struct {
	// ID is the API's batch ID ("batch_…"), the one [Client.Resume] and
	// [Client.Cancel] take.
	ID string
	// Status is one of the Status constants: StatusValidating,
	// StatusInProgress, StatusFinalizing or StatusCancelling while the
	// batch runs; StatusCompleted, StatusFailed, StatusExpired or
	// StatusCancelled once it is over ([Final] reports which).
	Status string
	// Total is the number of requests in the batch; 0 until the API has
	// validated its input file.
	Total int
	// Completed is the number of requests answered successfully so far.
	Completed int
	// Failed is the number of requests that ended in an error so far.
	Failed int
	// OutputFileID is the file of the responses; empty until the batch
	// has produced one.
	OutputFileID string
	// ErrorFileID is the file of the requests that failed; empty when
	// none did or the batch is not over.
	ErrorFileID string
}

// Run sends a job and waits for its results: it splits the requests into
// batches within the limits, creates them (calling the [WithOnCreated]
// hook with each id), polls them until they are over and returns one
// result per request. The error is nil when every batch completed (per
// request errors are in the results), the joined [*BatchError]s of the
// batches that did not (the results of the requests they ran are still
// there), an error of the API, or ctx's error when ctx is done first (the
// batches created go on; see [Client.Resume] and [Client.Cancel]).
func (c *Client) Run(ctx context.Context, job Job) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	reqs, err := prepare(job.Requests)
	if err != nil {
		return nil, err
	}
	rep := &Report{Results: make([]Result, len(reqs))}
	lines := make([][]byte, len(reqs))
	for i, r := range reqs {
		rep.Results[i].CustomID = r.CustomID
		l, err := encodeLine(r)
		if err != nil {
			return nil, fmt.Errorf("%w: request %q: %v", ErrInvalidRequest, r.CustomID, err)
		}
		lines[i] = l
	}
	parts, tooLarge := split(lines, c.cfg.maxRequests, c.cfg.maxBytes)
	got := make([]bool, len(reqs))
	for _, i := range tooLarge {
		rep.Results[i].Err = fmt.Errorf("%w: request %q is %d bytes, limit %d", ErrTooLarge, reqs[i].CustomID, len(lines[i])+1, c.cfg.maxBytes)
		got[i] = true
	}
	ids, err := c.submit(ctx, parts, job.Metadata)
	for _, id := range ids {
		rep.Batches = append(rep.Batches, Info{ID: id, Status: StatusValidating})
	}
	if err != nil {
		return rep, err
	}
	index := make(map[string]int, len(reqs))
	for i, r := range reqs {
		index[r.CustomID] = i
	}
	berrs, err := c.collect(ctx, rep, ids, len(reqs)-len(tooLarge), func(res Result) bool {
		i, ok := index[res.CustomID]
		if !ok || got[i] {
			return false
		}
		rep.Results[i], got[i] = res, true
		return true
	})
	if err != nil {
		return rep, err
	}
	for p, pt := range parts {
		for _, i := range pt.idx {
			if got[i] {
				continue
			}
			if berrs[p] != nil {
				rep.Results[i].Err = berrs[p]
			} else {
				rep.Results[i].Err = fmt.Errorf("%w: %q in batch %s", ErrNoResult, reqs[i].CustomID, ids[p])
			}
		}
	}
	return rep, joinBatchErrors(berrs)
}

// Resume waits for batches created earlier (by a process that stopped,
// for example; their ids came from the [WithOnCreated] hook) and returns
// their results in file order. Its error is as [Client.Run]'s.
func (c *Client) Resume(ctx context.Context, batchIDs ...string) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(batchIDs) == 0 {
		return nil, fmt.Errorf("%w: no batch ids", ErrInvalidRequest)
	}
	rep := &Report{}
	for _, id := range batchIDs {
		rep.Batches = append(rep.Batches, Info{ID: id})
	}
	seen := make(map[string]bool)
	berrs, err := c.collect(ctx, rep, batchIDs, 0, func(res Result) bool {
		if seen[res.CustomID] {
			return false
		}
		seen[res.CustomID] = true
		rep.Results = append(rep.Results, res)
		return true
	})
	if err != nil {
		return rep, err
	}
	return rep, joinBatchErrors(berrs)
}

// Cancel cancels batches. The requests they ran keep their results, which
// [Client.Resume] collects once the batches are "cancelled". A batch that
// is already over is not an error.
func (c *Client) Cancel(ctx context.Context, batchIDs ...string) error {
	var errs []error
	for _, id := range batchIDs {
		if _, err := c.api.CancelBatch(ctx, id); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if b, rerr := c.api.RetrieveBatch(ctx, id); rerr == nil && Final(b.Status) {
				continue
			}
			errs = append(errs, fmt.Errorf("batch: cancel %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// prepare checks a job's requests and fills in missing custom_ids.
func prepare(in []Request) ([]Request, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: no requests", ErrInvalidRequest)
	}
	reqs := make([]Request, len(in))
	seen := make(map[string]int, len(in))
	for i, r := range in {
		if r.CustomID == "" {
			r.CustomID = ID(r.Body)
		}
		switch {
		case r.Body.Stream:
			return nil, fmt.Errorf("%w: request %q asks for a stream", ErrInvalidRequest, r.CustomID)
		case len(r.Body.Messages) == 0:
			return nil, fmt.Errorf("%w: request %q has no messages", ErrInvalidRequest, r.CustomID)
		}
		if j, dup := seen[r.CustomID]; dup {
			return nil, fmt.Errorf("%w: requests %d and %d have the same custom_id %q", ErrInvalidRequest, j, i, r.CustomID)
		}
		seen[r.CustomID] = i
		reqs[i] = r
	}
	return reqs, nil
}

// submit uploads each part and creates its batch. It returns the ids of
// the batches created, also when it fails part way.
func (c *Client) submit(ctx context.Context, parts []part, meta map[string]string) ([]string, error) {
	var md map[string]any
	if len(meta) > 0 {
		md = make(map[string]any, len(meta))
		for k, v := range meta {
			md[k] = v
		}
	}
	var ids []string
	for p, pt := range parts {
		f, err := c.api.CreateFileBytes(ctx, openai.FileBytesRequest{
			Name:    fmt.Sprintf("batch-%d-of-%d.jsonl", p+1, len(parts)),
			Bytes:   pt.data,
			Purpose: openai.PurposeBatch,
		})
		if err != nil {
			return ids, ctxOr(ctx, fmt.Errorf("batch: upload part %d of %d: %w", p+1, len(parts), err))
		}
		b, err := c.api.CreateBatch(ctx, openai.CreateBatchRequest{
			InputFileID:      f.ID,
			Endpoint:         openai.BatchEndpointChatCompletions,
			CompletionWindow: c.cfg.window,
			Metadata:         md,
		})
		if err != nil {
			return ids, ctxOr(ctx, fmt.Errorf("batch: create batch %d of %d: %w", p+1, len(parts), err))
		}
		if c.cfg.onCreated != nil {
			if err := c.cfg.onCreated(ctx, b.ID); err != nil {
				_, _ = c.api.CancelBatch(context.WithoutCancel(ctx), b.ID)
				return ids, fmt.Errorf("batch: OnCreated hook for %s: %w", b.ID, err)
			}
		}
		ids = append(ids, b.ID)
	}
	return ids, nil
}

// collect polls the batches until they are over, then reads their files,
// offering each result to take (which reports whether it was wanted). It
// returns each batch's [*BatchError] (nil when it completed).
func (c *Client) collect(ctx context.Context, rep *Report, ids []string, total int, take func(Result) bool) ([]error, error) {
	final, err := c.poll(ctx, rep, ids, total)
	if err != nil {
		return nil, err
	}
	berrs := make([]error, len(ids))
	for i, b := range final {
		berrs[i] = batchError(b)
		for _, fid := range []*string{b.OutputFileID, b.ErrorFileID} {
			if fid == nil || *fid == "" {
				continue
			}
			err := c.download(ctx, *fid, func(res *Result, le *LineError) {
				switch {
				case le != nil:
					rep.LineErrors = append(rep.LineErrors, le)
				case !take(*res):
					rep.LineErrors = append(rep.LineErrors, &LineError{File: *fid, CustomID: res.CustomID,
						Reason: "custom_id names no request of the job, or one already answered"})
				}
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return berrs, nil
}

// poll retrieves the batches until all are over, with backoff.
func (c *Client) poll(ctx context.Context, rep *Report, ids []string, total int) ([]openai.Batch, error) {
	final := make([]openai.Batch, len(ids))
	done := make([]bool, len(ids))
	wait, fails := c.cfg.poll, 0
	var last Progress
	for {
		failed := false
		for i, id := range ids {
			if done[i] {
				continue
			}
			b, err := c.api.RetrieveBatch(ctx, id)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if !transient(err) || fails >= c.cfg.pollRetries {
					return nil, fmt.Errorf("batch: retrieve %s: %w", id, err)
				}
				failed = true
				continue
			}
			final[i], done[i] = b.Batch, Final(b.Status)
			rep.Batches[i] = infoOf(b.Batch)
		}
		if failed {
			fails++
		} else {
			fails = 0
		}
		p := Progress{Total: total, Batches: len(ids)}
		for i, b := range final {
			if total == 0 {
				p.Total += b.RequestCounts.Total
			}
			p.Completed += b.RequestCounts.Completed
			p.Failed += b.RequestCounts.Failed
			if done[i] {
				p.Done++
			}
		}
		if c.cfg.progress != nil && p != last {
			c.cfg.progress(p)
		}
		last = p
		if p.Done == len(ids) {
			return final, nil
		}
		if err := backoff.Sleep(ctx, backoff.Jitter(wait, 0.1)); err != nil {
			return nil, err
		}
		wait = min(wait*3/2, c.cfg.maxPoll)
	}
}

// download reads a file and parses it, retrying transient errors; emit
// sees the lines only once the whole file was read.
func (c *Client) download(ctx context.Context, fileID string, emit func(*Result, *LineError)) error {
	type line struct {
		res *Result
		le  *LineError
	}
	for attempt := 0; ; attempt++ {
		var lines []line
		err := func() error {
			rc, err := c.api.GetFileContent(ctx, fileID)
			if err != nil {
				return err
			}
			defer rc.Close()
			return parseFile(rc, fileID, func(res *Result, le *LineError) { lines = append(lines, line{res, le}) })
		}()
		if err == nil {
			for _, l := range lines {
				emit(l.res, l.le)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !transient(err) || attempt >= c.cfg.pollRetries {
			return fmt.Errorf("batch: download %s: %w", fileID, err)
		}
		if err := backoff.Sleep(ctx, backoff.Jitter(c.cfg.poll, 0.1)); err != nil {
			return err
		}
	}
}

func infoOf(b openai.Batch) Info {
	in := Info{ID: b.ID, Status: b.Status, Total: b.RequestCounts.Total, Completed: b.RequestCounts.Completed, Failed: b.RequestCounts.Failed}
	if b.OutputFileID != nil {
		in.OutputFileID = *b.OutputFileID
	}
	if b.ErrorFileID != nil {
		in.ErrorFileID = *b.ErrorFileID
	}
	return in
}

// batchError returns the error of a batch that is over, nil if it
// completed.
func batchError(b openai.Batch) error {
	if b.Status == StatusCompleted {
		return nil
	}
	e := &BatchError{ID: b.ID, Status: b.Status}
	if b.Errors != nil {
		for _, d := range b.Errors.Data {
			p := Problem{Code: d.Code, Message: d.Message}
			if d.Param != nil {
				p.Param = *d.Param
			}
			if d.Line != nil {
				p.Line = *d.Line
			}
			e.Errors = append(e.Errors, p)
		}
	}
	return e
}

func joinBatchErrors(errs []error) error {
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return errors.Join(out...)
}

// transient reports an error worth retrying: a 408, 409, 429 or 5xx
// status, or a network error.
func transient(err error) bool {
	status := 0
	var ae *openai.APIError
	var re *openai.RequestError
	switch {
	case errors.As(err, &ae):
		status = ae.HTTPStatusCode
	case errors.As(err, &re):
		status = re.HTTPStatusCode
	}
	if status != 0 {
		return status == http.StatusRequestTimeout || status == http.StatusConflict ||
			status == http.StatusTooManyRequests || status >= 500
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, net.ErrClosed)
}

// ctxOr returns ctx's error if ctx is done, else err.
func ctxOr(ctx context.Context, err error) error {
	if e := ctx.Err(); e != nil {
		return e
	}
	return err
}
