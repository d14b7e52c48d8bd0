package companiontest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The Batch API:
//
//	POST /v1/batches                      {input_file_id, endpoint, completion_window, metadata, output_expires_after}
//	GET  /v1/batches                      ?after= &limit=
//	GET  /v1/batches/{batch_id}
//	POST /v1/batches/{batch_id}/cancel
//
// A batch's lifecycle is a function of the time elapsed since it was created
// and of [BatchTiming], computed lazily whenever the batch is read: no
// goroutine or timer runs in the background. The requests of a batch are
// answered by the same code as the synchronous endpoints, without their
// latency or faults, when a read finds that the batch's clock has passed
// them: they are spread evenly over the in_progress phase.
//
//	validating ─Validating─▶ in_progress ─InProgress─▶ finalizing ─Finalizing─▶ completed
//	    │                         │
//	    ├─▶ failed (bad input)    └─▶ expired (BatchBehavior.Expire)
//	    │
//	    └─ cancel, from validating, in_progress or finalizing ─▶ cancelling ─Finalizing─▶ cancelled

// BatchBehavior says what goes wrong in the batches of a [Server]. The zero
// value is a well-behaved server: every batch with a valid input file
// completes, and every request whose body its endpoint accepts succeeds.
//
// Set it for the whole server with [WithBatchBehavior] or
// [Server.SetBatchBehavior], or per batch with the metadata keys
// [MetadataOutcome], [MetadataErrorEvery] and [MetadataMalformedOutputLines],
// which override the server's setting for that batch.
//
// Independently of BatchBehavior, an input file that is not valid (a line
// that is not JSON, a missing or duplicate custom_id, a method other than
// POST, a url other than the batch's endpoint, a missing body) makes the
// batch fail validation, and a request whose body the endpoint rejects (for
// example a chat completion without messages) gets its 4xx response in the
// error file while the others succeed.
type BatchBehavior struct {
	// Expire makes batches expire instead of completing: at the end of the
	// in_progress phase the batch becomes "expired". The first half of its
	// requests (rounded down) have outputs in the output file; the others
	// are in the error file with error code "batch_expired" and count as
	// failed. Default false. Per batch: metadata
	// "companiontest_outcome": "expired".
	Expire bool
	// Fail makes batches fail validation, whatever their input: after the
	// validating phase the batch becomes "failed" with one error of code
	// "forced_failure". Default false. Per batch: metadata
	// "companiontest_outcome": "failed".
	Fail bool
	// ErrorEvery makes every ErrorEvery-th request of a batch (requests N,
	// 2N, 3N… counting from 1 in input order) fail with a 500 server_error
	// response, written to the error file. Default 0: none. Per batch:
	// metadata "companiontest_error_every": "N".
	ErrorEvery int
	// MalformedOutputLines cuts the first MalformedOutputLines lines of each
	// output file in half, so that they are not valid JSON, to exercise a
	// client's parser; the batch still counts those requests as completed.
	// Default 0: none. Per batch: metadata
	// "companiontest_malformed_output_lines": "N".
	MalformedOutputLines int
}

// Metadata keys that select a batch's [BatchBehavior] when the batch is
// created. They are echoed back in the batch's metadata, as any key is. An
// unknown value is rejected with 400.
const (
	// MetadataOutcome forces the batch's final status: "completed" (the
	// normal lifecycle, even if the server's BatchBehavior says otherwise),
	// "expired" (BatchBehavior.Expire) or "failed" (BatchBehavior.Fail).
	MetadataOutcome = "companiontest_outcome"
	// MetadataErrorEvery is BatchBehavior.ErrorEvery as a decimal string;
	// "0" turns it off.
	MetadataErrorEvery = "companiontest_error_every"
	// MetadataMalformedOutputLines is BatchBehavior.MalformedOutputLines as
	// a decimal string; "0" turns it off.
	MetadataMalformedOutputLines = "companiontest_malformed_output_lines"
)

// SetBatchBehavior changes the [BatchBehavior] of batches created from now
// on; batches that exist keep theirs.
func (s *Server) SetBatchBehavior(b BatchBehavior) {
	s.mu.Lock()
	s.cfg.batchBehavior = b
	s.mu.Unlock()
}

// Batch statuses.
const (
	batchValidating = "validating"
	batchFailed     = "failed"
	batchInProgress = "in_progress"
	batchFinalizing = "finalizing"
	batchCompleted  = "completed"
	batchExpired    = "expired"
	batchCancelling = "cancelling"
	batchCancelled  = "cancelled"
)

// Limits of the real API that the fake enforces.
const (
	maxBatchListLimit   = 100
	defaultBatchLimit   = 20
	maxBatchRequests    = 50000
	maxBatchErrors      = 1000 // validation errors reported per batch
	maxMetadataKeys     = 16
	maxMetadataKeyLen   = 64
	maxMetadataValueLen = 512
	completionWindow    = 24 * time.Hour
)

// batchEndpoint returns the function that answers a request of a batch to
// url, or nil if batches cannot hold requests to url. Each answers a request
// body the way its endpoint's handler does, without latency or faults: the
// status and the response or error object.
func (s *Server) batchEndpoint(url string) func(body []byte) (int, any) {
	switch url {
	case "/v1/chat/completions":
		return s.chatResult
	case "/v1/embeddings":
		return s.embeddingsResult
	case "/v1/moderations":
		return s.moderationsResult
	}
	return nil
}

// specBatchEndpoints are the endpoints the real API accepts (schema
// CreateBatchRequest), to tell "not supported here" from "not valid".
var specBatchEndpoints = []string{
	"/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions",
	"/v1/moderations", "/v1/images/generations", "/v1/images/edits", "/v1/videos",
}

// batchState holds the server's files and batches. Lock order: a batch's mu,
// then batchState.mu, then Server.mu.
type batchState struct {
	mu         sync.Mutex
	files      map[string]*storedFile
	fileOrder  []string // upload order
	batches    map[string]*batch
	batchOrder []string // creation order
}

func (b *batchState) init() {
	b.files = make(map[string]*storedFile)
	b.batches = make(map[string]*batch)
}

// stop has nothing to stop: the lifecycle runs lazily in request handlers,
// which Server.Close waits for.
func (b *batchState) stop() {}

func (s *Server) batchRoutes(mux *http.ServeMux) {
	s.fileRoutes(mux)
	mux.HandleFunc("POST /v1/batches", s.handleCreateBatch)
	mux.HandleFunc("GET /v1/batches", s.handleListBatches)
	mux.HandleFunc("GET /v1/batches/{batch_id}", s.handleGetBatch)
	mux.HandleFunc("POST /v1/batches/{batch_id}/cancel", s.handleCancelBatch)
}

// batchObject is the API's batch object (schema Batch). Fields that the
// real API sends as null are omitted, as the schema does not allow null.
type batchObject struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"` // "batch"
	Endpoint         string            `json:"endpoint"`
	Model            string            `json:"model,omitempty"`
	Errors           *batchErrors      `json:"errors,omitempty"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     string            `json:"output_file_id,omitempty"`
	ErrorFileID      string            `json:"error_file_id,omitempty"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     int64             `json:"in_progress_at,omitempty"`
	ExpiresAt        int64             `json:"expires_at,omitempty"`
	FinalizingAt     int64             `json:"finalizing_at,omitempty"`
	CompletedAt      int64             `json:"completed_at,omitempty"`
	FailedAt         int64             `json:"failed_at,omitempty"`
	ExpiredAt        int64             `json:"expired_at,omitempty"`
	CancellingAt     int64             `json:"cancelling_at,omitempty"`
	CancelledAt      int64             `json:"cancelled_at,omitempty"`
	RequestCounts    batchCounts       `json:"request_counts"`
	Usage            *batchUsage       `json:"usage,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
}

type batchErrors struct {
	Object string       `json:"object"` // "list"
	Data   []batchError `json:"data"`
}

// batchError is one validation error of an input file (schema BatchError).
type batchError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	Line    *int    `json:"line"`
}

type batchCounts struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
}

type batchUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

// batchList is the API's list of batches (schema ListBatchesResponse).
type batchList struct {
	Object  string        `json:"object"` // "list"
	Data    []batchObject `json:"data"`
	FirstID string        `json:"first_id,omitempty"`
	LastID  string        `json:"last_id,omitempty"`
	HasMore bool          `json:"has_more"`
}

// batch is one batch and its progress. Its mu guards every field but the
// immutable ones set at creation.
type batch struct {
	mu  sync.Mutex
	obj batchObject

	created      time.Time
	timing       BatchTiming
	behavior     BatchBehavior
	input        []byte // the input file's content when the batch was created
	outputExpiry int64  // output_expires_after.seconds, 0 if not asked

	lines    []batchLine
	results  []*lineResult // results[i] is lines[i]'s, nil until it ran
	done     int           // lines[:done] have run
	usage    batchUsage
	cancelAt time.Time // when cancel was called; zero if it was not
}

// batchLine is one request of an input file.
type batchLine struct {
	Line     int // 1-based line number in the file
	CustomID string
	Method   string
	URL      string
	Body     json.RawMessage
}

// lineResult is one line of the output file (ok) or of the error file.
type lineResult struct {
	ok   bool
	line []byte
}

// batchOutputLine is a line of an output or error file.
type batchOutputLine struct {
	ID       string             `json:"id"`
	CustomID string             `json:"custom_id"`
	Response *batchLineResponse `json:"response"`
	Error    *batchLineError    `json:"error"`
}

type batchLineResponse struct {
	StatusCode int             `json:"status_code"`
	RequestID  string          `json:"request_id"`
	Body       json.RawMessage `json:"body"`
}

type batchLineError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Server) handleCreateBatch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		InputFileID        string          `json:"input_file_id"`
		Endpoint           string          `json:"endpoint"`
		CompletionWindow   string          `json:"completion_window"`
		Metadata           json.RawMessage `json:"metadata"`
		OutputExpiresAfter *struct {
			Anchor  string `json:"anchor"`
			Seconds int64  `json:"seconds"`
		} `json:"output_expires_after"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		errInvalidRequest(w, "", "We could not parse the JSON body of your request. ("+err.Error()+")")
		return
	}
	switch {
	case req.InputFileID == "":
		errInvalidRequest(w, "input_file_id", "Missing required parameter: 'input_file_id'.")
		return
	case req.Endpoint == "":
		errInvalidRequest(w, "endpoint", "Missing required parameter: 'endpoint'.")
		return
	case !slices.Contains(specBatchEndpoints, req.Endpoint):
		errInvalidRequest(w, "endpoint", fmt.Sprintf("'%s' is not one of %s - 'endpoint'", req.Endpoint, quoteList(specBatchEndpoints)))
		return
	case s.batchEndpoint(req.Endpoint) == nil:
		errInvalidRequest(w, "endpoint", "companiontest does not serve "+req.Endpoint+
			" in batches; use /v1/chat/completions, /v1/embeddings or /v1/moderations.")
		return
	case req.CompletionWindow == "":
		errInvalidRequest(w, "completion_window", "Missing required parameter: 'completion_window'.")
		return
	case req.CompletionWindow != "24h":
		errInvalidRequest(w, "completion_window", fmt.Sprintf("'%s' is not one of ['24h'] - 'completion_window'", req.CompletionWindow))
		return
	}
	var expiry int64
	if e := req.OutputExpiresAfter; e != nil {
		if e.Anchor != "created_at" {
			errInvalidRequest(w, "output_expires_after.anchor", "output_expires_after.anchor must be 'created_at'.")
			return
		}
		if e.Seconds < minFileExpiry || e.Seconds > maxFileExpiry {
			errInvalidRequest(w, "output_expires_after.seconds", fmt.Sprintf(
				"output_expires_after.seconds must be between %d and %d.", minFileExpiry, maxFileExpiry))
			return
		}
		expiry = e.Seconds
	}
	meta, err := parseMetadata(req.Metadata)
	if err != nil {
		errInvalidRequest(w, "metadata", err.Error())
		return
	}
	s.mu.Lock()
	timing, behavior := s.cfg.batch, s.cfg.batchBehavior
	s.mu.Unlock()
	behavior, err = behaviorFromMetadata(behavior, meta)
	if err != nil {
		errInvalidRequest(w, "metadata", err.Error())
		return
	}
	f, ok := s.file(req.InputFileID)
	if !ok {
		writeErrorParam(w, http.StatusNotFound, "invalid_request_error", "", "input_file_id",
			"No such File object: "+req.InputFileID)
		return
	}
	if f.obj.Purpose != "batch" {
		errInvalidRequest(w, "input_file_id", fmt.Sprintf(
			"The input file %s has purpose '%s'; a batch needs a file uploaded with purpose 'batch'.", f.obj.ID, f.obj.Purpose))
		return
	}

	now := s.cfg.clock()
	b := &batch{
		obj: batchObject{
			ID:               s.genID("batch_", 24),
			Object:           "batch",
			Endpoint:         req.Endpoint,
			InputFileID:      req.InputFileID,
			CompletionWindow: req.CompletionWindow,
			Status:           batchValidating,
			CreatedAt:        now.Unix(),
			ExpiresAt:        now.Add(completionWindow).Unix(),
			Metadata:         meta,
		},
		created:      now,
		timing:       timing,
		behavior:     behavior,
		input:        f.data,
		outputExpiry: expiry,
	}
	st := &s.batches
	st.mu.Lock()
	st.batches[b.obj.ID] = b
	st.batchOrder = append(st.batchOrder, b.obj.ID)
	st.mu.Unlock()

	writeJSON(w, http.StatusOK, s.readBatch(b, now))
}

// parseMetadata checks metadata as the API does: null, or an object of at
// most 16 string values, keys up to 64 characters, values up to 512.
func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, badRequestf("Invalid 'metadata': must be an object of string values (%v).", err)
	}
	if len(m) > maxMetadataKeys {
		return nil, badRequestf("Invalid 'metadata': at most %d keys, got %d.", maxMetadataKeys, len(m))
	}
	for k, v := range m {
		if len(k) > maxMetadataKeyLen {
			return nil, badRequestf("Invalid 'metadata': key %q is longer than %d characters.", k, maxMetadataKeyLen)
		}
		if len(v) > maxMetadataValueLen {
			return nil, badRequestf("Invalid 'metadata': the value of %q is longer than %d characters.", k, maxMetadataValueLen)
		}
	}
	return m, nil
}

// badRequest is an error whose message is sent to the client as is, in the
// API's style (capitalized, ending with a period).
type badRequest string

func (e badRequest) Error() string { return string(e) }

func badRequestf(format string, args ...any) error { return badRequest(fmt.Sprintf(format, args...)) }

// behaviorFromMetadata applies the companiontest_* metadata keys to b.
func behaviorFromMetadata(b BatchBehavior, meta map[string]string) (BatchBehavior, error) {
	if v, ok := meta[MetadataOutcome]; ok {
		switch v {
		case batchCompleted:
			b.Expire, b.Fail = false, false
		case batchExpired:
			b.Expire, b.Fail = true, false
		case batchFailed:
			b.Expire, b.Fail = false, true
		default:
			return b, badRequestf("Invalid metadata %s=%q: want \"completed\", \"expired\" or \"failed\".", MetadataOutcome, v)
		}
	}
	for _, k := range []string{MetadataErrorEvery, MetadataMalformedOutputLines} {
		v, ok := meta[k]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return b, badRequestf("Invalid metadata %s=%q: want a non-negative integer.", k, v)
		}
		if k == MetadataErrorEvery {
			b.ErrorEvery = n
		} else {
			b.MalformedOutputLines = n
		}
	}
	return b, nil
}

// batch returns a batch by id.
func (s *Server) batch(id string) (*batch, bool) {
	st := &s.batches
	st.mu.Lock()
	defer st.mu.Unlock()
	b, ok := st.batches[id]
	return b, ok
}

func noSuchBatch(w http.ResponseWriter, id string) {
	writeErrorParam(w, http.StatusNotFound, "invalid_request_error", "", "batch_id", "No such Batch object: "+id)
}

func (s *Server) handleGetBatch(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("batch_id")
	b, ok := s.batch(id)
	if !ok {
		noSuchBatch(w, id)
		return
	}
	writeJSON(w, http.StatusOK, s.readBatch(b, s.cfg.clock()))
}

func (s *Server) handleListBatches(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := listLimit(w, q, defaultBatchLimit, maxBatchListLimit)
	if !ok {
		return
	}
	after := q.Get("after")

	st := &s.batches
	st.mu.Lock()
	ids := slices.Clone(st.batchOrder)
	all := make([]*batch, 0, len(ids))
	slices.Reverse(ids) // newest first
	start := 0
	if after != "" {
		i := slices.Index(ids, after)
		if i < 0 {
			st.mu.Unlock()
			errInvalidRequest(w, "after", "Invalid 'after': no batch with id "+after+".")
			return
		}
		start = i + 1
	}
	for _, id := range ids[start:] {
		all = append(all, st.batches[id])
	}
	st.mu.Unlock()

	out := batchList{Object: "list", Data: []batchObject{}}
	if len(all) > limit {
		all, out.HasMore = all[:limit], true
	}
	now := s.cfg.clock()
	for _, b := range all {
		out.Data = append(out.Data, s.readBatch(b, now))
	}
	if n := len(out.Data); n > 0 {
		out.FirstID, out.LastID = out.Data[0].ID, out.Data[n-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCancelBatch(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("batch_id")
	b, ok := s.batch(id)
	if !ok {
		noSuchBatch(w, id)
		return
	}
	obj, err := s.cancelBatch(b, s.cfg.clock())
	if err != nil {
		errInvalidRequest(w, "", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// cancelBatch cancels b at time now: the requests that ran by then keep
// their results, the others never run. It fails if b is already over.
func (s *Server) cancelBatch(b *batch, now time.Time) (batchObject, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s.advance(b, now)
	switch b.obj.Status {
	case batchValidating, batchInProgress, batchFinalizing:
		b.cancelAt = now
		b.obj.Status = batchCancelling
		b.obj.CancellingAt = now.Unix()
		s.advance(b, now)
	case batchCancelling:
		// Cancelling twice is harmless.
	default:
		return batchObject{}, badRequestf("Cannot cancel a batch with status '%s'.", b.obj.Status)
	}
	return b.view(), nil
}

// readBatch brings b up to date at now and returns its object.
func (s *Server) readBatch(b *batch, now time.Time) batchObject {
	b.mu.Lock()
	defer b.mu.Unlock()
	s.advance(b, now)
	return b.view()
}

// view returns a copy of the batch's object. b.mu must be held.
func (b *batch) view() batchObject {
	obj := b.obj
	if b.usage.TotalTokens > 0 {
		u := b.usage
		obj.Usage = &u
	}
	return obj
}

// advance moves b through its lifecycle up to now: it validates the input,
// runs the requests whose time has come and writes the output files. b.mu
// must be held.
func (s *Server) advance(b *batch, now time.Time) {
	tValidated := b.created.Add(b.timing.Validating)
	tProcessed := tValidated.Add(b.timing.InProgress)
	tFinalized := tProcessed.Add(b.timing.Finalizing)
	for {
		switch b.obj.Status {
		case batchValidating:
			if now.Before(tValidated) {
				return
			}
			s.validate(b, tValidated)
		case batchInProgress:
			until := now
			if until.After(tProcessed) {
				until = tProcessed
			}
			s.runUpTo(b, b.dueBy(until))
			if now.Before(tProcessed) {
				return
			}
			if b.behavior.Expire {
				s.expire(b, tProcessed)
				return
			}
			b.obj.Status = batchFinalizing
			b.obj.FinalizingAt = tProcessed.Unix()
		case batchFinalizing:
			s.runUpTo(b, len(b.lines))
			if now.Before(tFinalized) {
				return
			}
			s.finish(b, batchCompleted, tFinalized)
		case batchCancelling:
			end := b.cancelAt.Add(b.timing.Finalizing)
			if now.Before(end) {
				return
			}
			s.finish(b, batchCancelled, end)
		default: // failed, completed, expired, cancelled: final
			return
		}
	}
}

// dueBy returns how many requests have run by time t of the in_progress
// phase: they are spread evenly over it (over twice its length when the
// batch is to expire, so that half of them are done when it does).
func (b *batch) dueBy(t time.Time) int {
	total := len(b.lines)
	phase := b.timing.InProgress
	if b.behavior.Expire {
		phase *= 2
	}
	if phase <= 0 {
		return total
	}
	elapsed := t.Sub(b.created.Add(b.timing.Validating))
	n := int(math.Floor(float64(total) * float64(elapsed) / float64(phase)))
	return min(max(n, 0), total)
}

// validate parses the input file at the end of the validating phase: the
// batch fails or goes in progress.
func (s *Server) validate(b *batch, at time.Time) {
	lines, errs := parseBatchInput(b.input, b.obj.Endpoint)
	b.input = nil
	if b.behavior.Fail {
		errs = append(errs, batchError{Code: "forced_failure",
			Message: "companiontest: the batch failed as asked by BatchBehavior.Fail or metadata " + MetadataOutcome + "=failed."})
	}
	if len(errs) > 0 {
		b.obj.Status = batchFailed
		b.obj.FailedAt = at.Unix()
		b.obj.Errors = &batchErrors{Object: "list", Data: errs}
		return
	}
	b.lines = lines
	b.results = make([]*lineResult, len(lines))
	b.obj.Status = batchInProgress
	b.obj.InProgressAt = at.Unix()
	b.obj.RequestCounts.Total = len(lines)
	var m struct {
		Model string `json:"model"`
	}
	if json.Unmarshal(lines[0].Body, &m) == nil {
		b.obj.Model = m.Model
	}
}

// runUpTo runs the requests lines[b.done:n].
func (s *Server) runUpTo(b *batch, n int) {
	for ; b.done < n; b.done++ {
		i := b.done
		res := s.runLine(b, i)
		b.results[i] = res
		if res.ok {
			b.obj.RequestCounts.Completed++
		} else {
			b.obj.RequestCounts.Failed++
		}
	}
}

// runLine runs one request of the batch and returns its output line.
func (s *Server) runLine(b *batch, i int) *lineResult {
	l := b.lines[i]
	var (
		status int
		body   []byte
	)
	switch {
	case b.behavior.ErrorEvery > 0 && (i+1)%b.behavior.ErrorEvery == 0:
		status, body = http.StatusInternalServerError, errorBody("server_error", "",
			"The server had an error while processing your request. Sorry about that!")
	case wantsStream(l.Body):
		status, body = http.StatusBadRequest, errorBody("invalid_request_error", "",
			"Streaming is not supported in the Batch API.")
	default:
		status, body = s.execBatchLine(l)
	}
	if !json.Valid(body) {
		status, body = http.StatusInternalServerError, errorBody("server_error", "",
			"The server had an error while processing your request. Sorry about that!")
	}
	if status == http.StatusOK {
		b.addUsage(body)
	}
	// Marshal cannot fail: body is valid JSON.
	line, _ := json.Marshal(batchOutputLine{
		ID:       s.genID("batch_req_", 24),
		CustomID: l.CustomID,
		Response: &batchLineResponse{StatusCode: status, RequestID: s.genID("req_", 24), Body: body},
	})
	return &lineResult{ok: status == http.StatusOK, line: line}
}

// execBatchLine answers one request of a batch and returns the response's
// status and body.
func (s *Server) execBatchLine(l batchLine) (int, []byte) {
	answer := s.batchEndpoint(l.URL)
	if answer == nil { // cannot happen: validation makes every url the batch's endpoint
		return http.StatusBadRequest, errorBody("invalid_request_error", "invalid_url", "Unsupported url "+l.URL+".")
	}
	status, v := answer(l.Body)
	body, err := json.Marshal(v)
	if err != nil {
		return http.StatusInternalServerError, errorBody("server_error", "", "companiontest: "+err.Error())
	}
	return status, body
}

// wantsStream reports whether a request body asks for a stream.
func wantsStream(body []byte) bool {
	var v struct {
		Stream bool `json:"stream"`
	}
	return json.Unmarshal(body, &v) == nil && v.Stream
}

// addUsage adds a response's usage to the batch's.
func (b *batch) addUsage(body []byte) {
	var r struct {
		Usage struct {
			PromptTokens        int `json:"prompt_tokens"`
			CompletionTokens    int `json:"completion_tokens"`
			TotalTokens         int `json:"total_tokens"`
			PromptTokensDetails struct {
				CachedTokens int `json:"cached_tokens"`
			} `json:"prompt_tokens_details"`
			CompletionTokensDetails struct {
				ReasoningTokens int `json:"reasoning_tokens"`
			} `json:"completion_tokens_details"`
		} `json:"usage"`
	}
	if json.Unmarshal(body, &r) != nil {
		return
	}
	u := &b.usage
	u.InputTokens += r.Usage.PromptTokens
	u.InputTokensDetails.CachedTokens += r.Usage.PromptTokensDetails.CachedTokens
	u.OutputTokens += r.Usage.CompletionTokens
	u.OutputTokensDetails.ReasoningTokens += r.Usage.CompletionTokensDetails.ReasoningTokens
	u.TotalTokens += r.Usage.TotalTokens
}

// expire ends the batch as expired: the requests not run yet go to the
// error file as batch_expired.
func (s *Server) expire(b *batch, at time.Time) {
	for i := b.done; i < len(b.lines); i++ {
		line, _ := json.Marshal(batchOutputLine{
			ID:       s.genID("batch_req_", 24),
			CustomID: b.lines[i].CustomID,
			Error: &batchLineError{Code: "batch_expired",
				Message: "This request could not be executed before the completion window expired."},
		})
		b.results[i] = &lineResult{line: line}
		b.obj.RequestCounts.Failed++
	}
	b.done = len(b.lines)
	s.finish(b, batchExpired, at)
}

// finish writes the output and error files and puts the batch in its final
// status at time at.
func (s *Server) finish(b *batch, status string, at time.Time) {
	var out, errs bytes.Buffer
	malformed := b.behavior.MalformedOutputLines
	for _, r := range b.results {
		switch {
		case r == nil: // not run: cancelled before its time
		case r.ok:
			line := r.line
			if malformed > 0 {
				line, malformed = line[:len(line)/2], malformed-1
			}
			out.Write(line)
			out.WriteByte('\n')
		default:
			errs.Write(r.line)
			errs.WriteByte('\n')
		}
	}
	var expires int64
	if b.outputExpiry > 0 {
		expires = at.Unix() + b.outputExpiry
	}
	if out.Len() > 0 {
		b.obj.OutputFileID = s.addFile("batch_output", "batch_"+b.obj.ID+"_output.jsonl", out.Bytes(), at.Unix(), expires).ID
	}
	if errs.Len() > 0 {
		b.obj.ErrorFileID = s.addFile("batch_output", "batch_"+b.obj.ID+"_error.jsonl", errs.Bytes(), at.Unix(), expires).ID
	}
	b.obj.Status = status
	switch status {
	case batchCompleted:
		b.obj.CompletedAt = at.Unix()
	case batchExpired:
		b.obj.ExpiredAt = at.Unix()
	case batchCancelled:
		b.obj.CancelledAt = at.Unix()
	}
	b.results = nil // the files hold them now
}

// errorBody is an error response body: {"error": {...}}.
func errorBody(typ, code, msg string) []byte {
	e := apiError{Message: msg, Type: typ}
	if code != "" {
		e.Code = &code
	}
	body, _ := json.Marshal(struct {
		Error apiError `json:"error"`
	}{e})
	return body
}

// parseBatchInput parses and validates a batch input file: JSONL, one
// request {"custom_id", "method": "POST", "url": endpoint, "body": {...}}
// per line; blank lines are skipped. It returns the requests, or the
// validation errors (at most maxBatchErrors) if there are any.
func parseBatchInput(data []byte, endpoint string) ([]batchLine, []batchError) {
	var (
		lines []batchLine
		errs  []batchError
		seen  = make(map[string]int)
	)
	fail := func(n int, code, param, msg string) {
		if len(errs) >= maxBatchErrors {
			return
		}
		e := batchError{Code: code, Message: msg, Line: &n}
		if param != "" {
			e.Param = &param
		}
		errs = append(errs, e)
	}
	n := 0
	for rest := data; len(rest) > 0; {
		var raw []byte
		raw, rest, _ = bytes.Cut(rest, []byte("\n"))
		n++
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
			fail(n, "invalid_json_line", "", "This line is not parseable as valid JSON.")
			continue
		}
		l := batchLine{Line: n}
		ok := true
		str := func(name string, dst *string) {
			v, present := fields[name]
			if !present || string(v) == "null" {
				fail(n, "missing_required_parameter", name, "Missing required parameter: '"+name+"'.")
				ok = false
				return
			}
			if json.Unmarshal(v, dst) != nil {
				fail(n, "invalid_request", name, "Invalid '"+name+"': expected a string.")
				ok = false
				return
			}
			if *dst == "" {
				fail(n, "missing_required_parameter", name, "Missing required parameter: '"+name+"'.")
				ok = false
			}
		}
		str("custom_id", &l.CustomID)
		str("method", &l.Method)
		str("url", &l.URL)
		if l.Method != "" && l.Method != http.MethodPost {
			fail(n, "invalid_method", "method", "The method '"+l.Method+"' is not supported; batch requests must use POST.")
			ok = false
		}
		if l.URL != "" && l.URL != endpoint {
			fail(n, "invalid_url", "url", "The URL provided for this request ("+l.URL+
				") does not match the batch endpoint ("+endpoint+").")
			ok = false
		}
		switch body := bytes.TrimSpace(fields["body"]); {
		case len(body) == 0 || string(body) == "null":
			fail(n, "missing_required_parameter", "body", "Missing required parameter: 'body'.")
			ok = false
		case body[0] != '{':
			fail(n, "invalid_request", "body", "Invalid 'body': expected an object.")
			ok = false
		default:
			l.Body = body
		}
		if l.CustomID != "" {
			if first, dup := seen[l.CustomID]; dup {
				fail(n, "duplicate_custom_id", "custom_id", fmt.Sprintf(
					"The custom_id for this request is a duplicate of another request (line %d). "+
						"The custom_id parameter must be unique for each individual request in a batch.", first))
				ok = false
			} else {
				seen[l.CustomID] = n
			}
		}
		if ok {
			lines = append(lines, l)
		}
	}
	switch {
	case len(errs) > 0:
		return nil, errs
	case len(lines) == 0:
		return nil, []batchError{{Code: "empty_file", Message: "The batch input file is empty."}}
	case len(lines) > maxBatchRequests:
		return nil, []batchError{{Code: "too_many_requests", Message: fmt.Sprintf(
			"The batch input file has %d requests; the limit is %d.", len(lines), maxBatchRequests)}}
	}
	return lines, nil
}
