package companion

import (
	"log/slog"
	"reflect"
	"time"

	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/transport"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures a [Companion]. Options are made by the With…
// functions of this package and applied in order, so a later option
// overrides an earlier one.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	apiKey           string
	baseURL          string
	model            string
	httpClient       *http.Client
	transport        http.RoundTripper
	logger           *slog.Logger
	concurrency      int
	limiter          Limiter
	cache            Cache
	prompt           PromptBuilder
	post             PostProcessor
	maxQuestionBytes int
	exact            cache.Store
	semantic         SemanticCache
	cacheTTL         time.Duration
	coalesce         *bool
	transportOpts    []transport.Option
	endpoints        []string
	tracerProvider   trace.TracerProvider
	meterProvider    metric.MeterProvider
	prices           Prices
	logText          bool
	retry            RetryPolicy
	streamIdle       time.Duration
	hedge            time.Duration // WithUpstreamHedge, 0 for none
	cacheTimeouts    CacheTimeouts
	errs             []error
}

// DefaultBaseURL is the OpenAI API's base URL.
const DefaultBaseURL = "https://api.openai.com/v1"

// Defaults of the options, in one place.
const (
	// DefaultConcurrency is the default of [WithConcurrency].
	DefaultConcurrency = 100
	// DefaultMaxQuestionBytes is the default of [WithMaxQuestionBytes].
	DefaultMaxQuestionBytes = 32 << 10
	// DefaultStreamIdleTimeout is the default of [WithStreamIdleTimeout].
	DefaultStreamIdleTimeout = time.Minute
)

func defaultConfig() config {
	return config{
		baseURL:          DefaultBaseURL,
		concurrency:      DefaultConcurrency,
		maxQuestionBytes: DefaultMaxQuestionBytes,
		prompt:           AssemblePrompt,
		cacheTTL:         cache.DefaultTTL,
		prices:           DefaultPrices(),
		retry:            DefaultRetryPolicy(),
		streamIdle:       DefaultStreamIdleTimeout,
		cacheTimeouts:    DefaultCacheTimeouts(),
	}
}

// WithAPIKey sets the API key sent as "Authorization: Bearer key".
// Default "": no Authorization header.
func WithAPIKey(key string) Option {
	return optionFunc(func(c *config) { c.apiKey = key })
}

// WithBaseURL sets the API's base URL, for example
// "https://api.openai.com/v1" or a companiontest server's URL. It must be
// an absolute http or https URL. Default [DefaultBaseURL].
func WithBaseURL(u string) Option {
	return optionFunc(func(c *config) {
		p, err := url.Parse(u)
		switch {
		case err != nil:
			c.errs = append(c.errs, &ConfigError{Option: "WithBaseURL", Reason: err.Error()})
		case p.Scheme != "http" && p.Scheme != "https":
			c.errs = append(c.errs, &ConfigError{Option: "WithBaseURL", Reason: "scheme must be http or https: " + u})
		case p.Host == "":
			c.errs = append(c.errs, &ConfigError{Option: "WithBaseURL", Reason: "no host: " + u})
		default:
			c.baseURL = strings.TrimRight(u, "/")
		}
	})
}

// WithModel sets the model asked when a call names none, for example
// "gpt-4.1-mini". Default "": every call must name its model
// (Question.Model, or the request's Model), else it fails with [ErrNoModel].
func WithModel(model string) Option {
	return optionFunc(func(c *config) { c.model = model })
}

// WithHTTPClient sets the HTTP client for every upstream call. It takes
// precedence over [WithTransport] and [WithTransportOptions]. Default: a
// client with no overall timeout (bound each turn with its context) on a
// tuned [transport.Transport].
func WithHTTPClient(hc *http.Client) Option {
	return optionFunc(func(c *config) {
		if isNil(hc) {
			c.errs = append(c.errs, &ConfigError{Option: "WithHTTPClient", Reason: "nil client"})
			return
		}
		c.httpClient = hc
	})
}

// WithTransport sets the RoundTripper of the HTTP client Companion builds,
// in place of the default [transport.Transport]. Ignored when
// [WithHTTPClient] is given. Default: a transport.Transport configured by
// [WithTransportOptions].
func WithTransport(rt http.RoundTripper) Option {
	return optionFunc(func(c *config) {
		if isNil(rt) {
			c.errs = append(c.errs, &ConfigError{Option: "WithTransport", Reason: "nil transport"})
			return
		}
		c.transport = rt
	})
}

// WithLogger sets the logger for events worth a look (a cache that fails,
// a stage that errs). Student text and API keys are never logged. Default:
// nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			c.errs = append(c.errs, &ConfigError{Option: "WithLogger", Reason: "nil logger (leave the option out to discard logs)"})
			return
		}
		c.logger = l
	})
}

// WithConcurrency limits how many turns call the upstream at once; the
// others queue, each until its context is done. -1 (not 0) removes the
// limit. Default [DefaultConcurrency] (100). Ignored when [WithLimiter] is
// given.
func WithConcurrency(n int) Option {
	return optionFunc(func(c *config) {
		if n == 0 || n < -1 {
			c.errs = append(c.errs, &ConfigError{Option: "WithConcurrency", Reason: "must be positive, or -1 for no limit"})
			return
		}
		c.concurrency = n
	})
}

// WithLimiter replaces the limiter stage. Default: a [Semaphore] of
// [WithConcurrency] slots.
func WithLimiter(l Limiter) Option {
	return optionFunc(func(c *config) {
		if isNil(l) {
			c.errs = append(c.errs, &ConfigError{Option: "WithLimiter", Reason: "nil limiter"})
			return
		}
		c.limiter = l
	})
}

// WithCache sets the answer cache stage. Default: none, every turn goes
// upstream.
func WithCache(cache Cache) Option {
	return optionFunc(func(c *config) {
		if isNil(cache) {
			c.errs = append(c.errs, &ConfigError{Option: "WithCache", Reason: "nil cache"})
			return
		}
		c.cache = cache
	})
}

// WithPromptBuilder replaces the prompt stage. Default [AssemblePrompt]:
// every part of the question in full, nothing counted.
func WithPromptBuilder(p PromptBuilder) Option {
	return optionFunc(func(c *config) {
		if isNil(p) {
			p = AssemblePrompt
		}
		c.prompt = p
	})
}

// WithPostProcessor sets the post-processing stage. Default: none, answers
// are returned as the model gave them.
func WithPostProcessor(p PostProcessor) Option {
	return optionFunc(func(c *config) {
		if isNil(p) {
			c.errs = append(c.errs, &ConfigError{Option: "WithPostProcessor", Reason: "nil post-processor"})
			return
		}
		c.post = p
	})
}

// WithMaxQuestionBytes bounds Question.Text; a longer question fails with
// [ErrTooLong] before any work is done. -1 removes the bound. Default
// [DefaultMaxQuestionBytes] (32 KiB).
func WithMaxQuestionBytes(n int) Option {
	return optionFunc(func(c *config) {
		if n == 0 || n < -1 {
			c.errs = append(c.errs, &ConfigError{Option: "WithMaxQuestionBytes", Reason: "must be positive, or -1 for no limit"})
			return
		}
		c.maxQuestionBytes = n
	})
}

// FromEnv reads OPENAI_API_KEY, OPENAI_BASE_URL and COMPANION_MODEL, and
// applies those that are set as [WithAPIKey], [WithBaseURL] and
// [WithModel]. Companion reads the environment only through this option;
// put it first so that explicit options override it.
func FromEnv() Option {
	return fromEnv(os.Getenv)
}

func fromEnv(getenv func(string) string) Option {
	return optionFunc(func(c *config) {
		if v := getenv("OPENAI_API_KEY"); v != "" {
			WithAPIKey(v).apply(c)
		}
		if v := getenv("OPENAI_BASE_URL"); v != "" {
			WithBaseURL(v).apply(c)
		}
		if v := getenv("COMPANION_MODEL"); v != "" {
			WithModel(v).apply(c)
		}
	})
}

func (c *config) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.New(slog.DiscardHandler)
}

// WithStreamIdleTimeout closes a [Stream] that nobody has read for d: its
// limiter slot, upstream connection and goroutines are released, and the
// next Recv returns [ErrStreamClosed]. It guards against a caller that
// neither reads nor closes a stream. Default [DefaultStreamIdleTimeout]
// (1 min); -1 turns it off.
func WithStreamIdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		switch {
		case d == -1:
			c.streamIdle = 0
		case d <= 0:
			c.errs = append(c.errs, &ConfigError{Option: "WithStreamIdleTimeout", Reason: "must be positive, or -1 for none"})
		default:
			c.streamIdle = d
		}
	})
}

// CacheTimeouts bound the cache stage's calls to its tiers, whatever the
// tiers' own timeouts are: a lookup still running at its bound is a miss,
// a store is given up. A slow or hung tier (a Redis that stopped
// answering) then costs a turn at most Lookup (plus SemanticLookup with a
// semantic tier) and Store.
type CacheTimeouts struct {
	// Lookup bounds one lookup in the exact tier. Default 50 ms.
	Lookup time.Duration
	// SemanticLookup bounds one lookup in the semantic tier, the
	// question's embedding included: a remote embedder (the OpenAI
	// embeddings API) needs its round trip. Default 1 s.
	SemanticLookup time.Duration
	// Store bounds storing one answer in every tier. Default 200 ms.
	Store time.Duration
}

// DefaultCacheTimeouts returns the defaults of [WithCacheTimeouts].
func DefaultCacheTimeouts() CacheTimeouts {
	return CacheTimeouts{Lookup: 50 * time.Millisecond, SemanticLookup: time.Second, Store: 200 * time.Millisecond}
}

// WithCacheTimeouts sets the cache stage's bounds; fields left zero keep
// their defaults ([DefaultCacheTimeouts]).
func WithCacheTimeouts(t CacheTimeouts) Option {
	return optionFunc(func(c *config) {
		if t.Lookup < 0 || t.SemanticLookup < 0 || t.Store < 0 {
			c.errs = append(c.errs, &ConfigError{Option: "WithCacheTimeouts", Reason: "negative timeout"})
			return
		}
		d := c.cacheTimeouts
		if t.Lookup > 0 {
			d.Lookup = t.Lookup
		}
		if t.SemanticLookup > 0 {
			d.SemanticLookup = t.SemanticLookup
		}
		if t.Store > 0 {
			d.Store = t.Store
		}
		c.cacheTimeouts = d
	})
}

// isNil reports whether v is nil or a typed nil (a nil pointer, map,
// func, channel or slice in an interface), which would panic when used.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
