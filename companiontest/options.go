package companiontest

import "time"

// Option configures a [Server]. Options are made by the With… functions of
// this package.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	latency Latency
	faults  []Fault
	seed    uint64
	apiKey  string
	batch   BatchTiming

	batchBehavior BatchBehavior
	clock         func() time.Time
}

// defaultConfig holds every default in one place: no latency, no faults,
// seed 1, any API key accepted, a batch lifecycle of a few hundred
// milliseconds.
func defaultConfig() config {
	return config{
		seed:  1,
		batch: DefaultBatchTiming(),
		clock: time.Now,
	}
}

// Latency is the server's latency model. Every duration is waited on the
// server side and cut short when the client goes away. The zero value adds
// no latency.
type Latency struct {
	// RTT is one network round trip, added once before the response
	// headers are sent. Default 0.
	RTT time.Duration
	// FirstToken is the base time to first token of a chat completion,
	// after RTT. Default 0.
	FirstToken time.Duration
	// PerPromptToken is the prefill time per prompt token, added to
	// FirstToken. Default 0.
	PerPromptToken time.Duration
	// PerOutputToken is the decode time per completion token after the
	// first. Default 0.
	PerOutputToken time.Duration
}

// TimeToFirstToken returns the time to first token for a prompt of n tokens,
// including the round trip.
func (l Latency) TimeToFirstToken(promptTokens int) time.Duration {
	return l.RTT + l.FirstToken + time.Duration(promptTokens)*l.PerPromptToken
}

// ArticleLatency is the reference article's profile: a far endpoint
// (180 ms round trip) and about 2.1 s to first token for a 1 800-token
// prompt, then 20 ms per output token.
func ArticleLatency() Latency {
	return Latency{
		RTT:            180 * time.Millisecond,
		FirstToken:     1200 * time.Millisecond,
		PerPromptToken: 400 * time.Microsecond,
		PerOutputToken: 20 * time.Millisecond,
	}
}

// WithLatency sets the latency model. Default: no latency.
func WithLatency(l Latency) Option {
	return optionFunc(func(c *config) { c.latency = l })
}

// WithFaults injects faults into matching requests. Default: none. See
// [Fault] and [Server.SetFaults].
func WithFaults(faults ...Fault) Option {
	return optionFunc(func(c *config) { c.faults = append(c.faults, faults...) })
}

// WithSeed seeds the random choice of which requests get a fault, so that a
// run is reproducible. Default 1.
func WithSeed(seed uint64) Option {
	return optionFunc(func(c *config) { c.seed = seed })
}

// WithAPIKey makes the server reject requests whose Authorization header is
// not "Bearer key" with 401 invalid_api_key. Default "": any key, or none,
// is accepted.
func WithAPIKey(key string) Option {
	return optionFunc(func(c *config) { c.apiKey = key })
}

// WithClock sets the clock of the batch lifecycle and of file and batch
// timestamps, so a test can move batches through their phases without
// waiting: a clock that jumps an hour ahead makes a batch with hour-long
// phases in_progress. Chat latency still waits in real time. Default
// time.Now; nil keeps the default.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.clock = now
		}
	})
}

// WithBatchTiming sets how long each phase of a batch's lifecycle lasts.
// Default [DefaultBatchTiming].
func WithBatchTiming(t BatchTiming) Option {
	return optionFunc(func(c *config) { c.batch = t })
}

// WithBatchBehavior sets what goes wrong in batches created on the server:
// expiry, failing requests, malformed output lines. Default: the zero
// [BatchBehavior], every batch completes and every valid request succeeds.
// A batch's metadata can override it per batch; see [BatchBehavior] and
// [Server.SetBatchBehavior].
func WithBatchBehavior(b BatchBehavior) Option {
	return optionFunc(func(c *config) { c.batchBehavior = b })
}

// FaultKind says what goes wrong in an injected fault.
type FaultKind int

// The faults the server can inject.
const (
	// FaultRateLimit answers 429 with a Retry-After header (and
	// retry-after-ms) of Fault.RetryAfter.
	FaultRateLimit FaultKind = iota + 1
	// FaultServerError answers 500.
	FaultServerError
	// FaultBadGateway answers 502.
	FaultBadGateway
	// FaultUnavailable answers 503.
	FaultUnavailable
	// FaultGatewayTimeout answers 504.
	FaultGatewayTimeout
	// FaultSlowHeaders waits Fault.Delay before answering normally.
	FaultSlowHeaders
	// FaultMalformedJSON answers 200 with a body that is not valid JSON
	// (for a stream: an SSE event whose data is not valid JSON).
	FaultMalformedJSON
	// FaultDropStream drops the connection in the middle of the response
	// body (for a stream: after Fault.AfterChunks chunks).
	FaultDropStream
	// FaultBrokenSSE sends a stream whose framing is broken: a line that is
	// neither a field nor blank, then the stream ends without [DONE].
	FaultBrokenSSE
)

// Fault is a fault injected into some of the requests.
type Fault struct {
	// Kind is what goes wrong.
	Kind FaultKind
	// Path limits the fault to one endpoint, for example
	// "/v1/chat/completions". Default "": every endpoint.
	Path string
	// Rate is the fraction of matching requests that get the fault, drawn
	// with the server's seeded random source. 0 means every matching
	// request (within Count).
	Rate float64
	// Count limits the fault to the first Count matching requests that it
	// hits. Default 0: no limit.
	Count int
	// RetryAfter is the Retry-After of FaultRateLimit. Default 1 s.
	RetryAfter time.Duration
	// Delay is the wait of FaultSlowHeaders. Default 1 s.
	Delay time.Duration
	// AfterChunks is how many stream chunks FaultDropStream sends before
	// dropping the connection. Default 0.
	AfterChunks int

	hits int
}

// BatchTiming is how long each phase of a batch's lifecycle lasts on the
// fake server.
type BatchTiming struct {
	Validating time.Duration // validating → in_progress
	InProgress time.Duration // in_progress → finalizing
	Finalizing time.Duration // finalizing → completed
}

// DefaultBatchTiming is 50 ms for each phase, so a whole batch completes in
// about 150 ms.
func DefaultBatchTiming() BatchTiming {
	return BatchTiming{Validating: 50 * time.Millisecond, InProgress: 50 * time.Millisecond, Finalizing: 50 * time.Millisecond}
}
