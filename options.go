package companion

import (
	"log/slog"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/transport"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"net/http"
	"net/url"
	"os"
	"strings"
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
)

func defaultConfig() config {
	return config{
		baseURL:          DefaultBaseURL,
		concurrency:      DefaultConcurrency,
		maxQuestionBytes: DefaultMaxQuestionBytes,
		prompt:           AssemblePrompt,
		cacheTTL:         cache.DefaultTTL,
		prices:           DefaultPrices(),
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
		if hc == nil {
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
		if rt == nil {
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
	return optionFunc(func(c *config) { c.logger = l })
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
	return optionFunc(func(c *config) { c.limiter = l })
}

// WithCache sets the answer cache stage. Default: none, every turn goes
// upstream.
func WithCache(cache Cache) Option {
	return optionFunc(func(c *config) { c.cache = cache })
}

// WithPromptBuilder replaces the prompt stage. Default [AssemblePrompt]:
// every part of the question in full, nothing counted.
func WithPromptBuilder(p PromptBuilder) Option {
	return optionFunc(func(c *config) {
		if p == nil {
			p = AssemblePrompt
		}
		c.prompt = p
	})
}

// WithPostProcessor sets the post-processing stage. Default: none, answers
// are returned as the model gave them.
func WithPostProcessor(p PostProcessor) Option {
	return optionFunc(func(c *config) { c.post = p })
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
