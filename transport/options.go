package transport

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Option configures a [Transport]. Options are made by the With… functions
// of this package and applied in order, so a later option overrides an
// earlier one.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Defaults of the options, in one place (see defaultConfig).
const (
	// DefaultPoolSize is the default of [WithPoolSize]: the concurrency
	// limit of a Companion.
	DefaultPoolSize = 100
	// DefaultDialTimeout is the default of [WithDialTimeout].
	DefaultDialTimeout = 10 * time.Second
	// DefaultTLSHandshakeTimeout is the default of [WithTLSHandshakeTimeout].
	DefaultTLSHandshakeTimeout = 10 * time.Second
	// DefaultResponseHeaderTimeout is the default of
	// [WithResponseHeaderTimeout]: a non-streamed completion sends its
	// headers only when the whole answer is ready.
	DefaultResponseHeaderTimeout = 10 * time.Minute
	// DefaultIdleConnTimeout is the default of [WithIdleConnTimeout].
	DefaultIdleConnTimeout = 90 * time.Second
	// DefaultKeepAlive is the default TCP keep-alive period, and the HTTP/2
	// ping interval on a silent connection.
	DefaultKeepAlive = 30 * time.Second
	// DefaultMaxRetries is the default of [WithMaxRetries].
	DefaultMaxRetries = 2
	// DefaultMinBackoff and DefaultMaxBackoff are the defaults of
	// [WithBackoffRange].
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 8 * time.Second
	// DefaultMaxRetryWait is the default of [WithMaxRetryWait].
	DefaultMaxRetryWait = time.Minute
	// DefaultRetryBudgetRatio is the default ratio of [WithRetryBudget]:
	// retries and hedges add at most 10 % to the load.
	DefaultRetryBudgetRatio = 0.1
	// DefaultRetryBudgetMin is the default floor of [WithRetryBudget]:
	// retries always allowed per 10 s window, so that a quiet client can
	// still retry.
	DefaultRetryBudgetMin = 10
	// DefaultProbeInterval is the default of [WithProbeInterval].
	DefaultProbeInterval = 30 * time.Second
	// DefaultProbeTimeout is the default of [WithProbeTimeout].
	DefaultProbeTimeout = 5 * time.Second
	// DefaultHedgeFallbackDelay is the hedging delay used by an adaptive
	// [WithHedging] until enough first-byte times are known.
	DefaultHedgeFallbackDelay = time.Second
)

type config struct {
	poolSize      int
	tls           *tls.Config
	dialTimeout   time.Duration
	tlsTimeout    time.Duration
	headerTimeout time.Duration
	idleTimeout   time.Duration
	keepAlive     time.Duration
	maxRetries    int
	policy        RetryPolicy
	backoff       Backoff
	minBackoff    time.Duration
	maxBackoff    time.Duration
	maxRetryWait  time.Duration
	budgetRatio   float64
	budgetMin     int
	breaker       BreakerConfig
	endpoints     []*url.URL
	probeInterval time.Duration
	probeTimeout  time.Duration
	healthPath    string
	hedge         bool
	hedgeDelay    time.Duration
	h3            HTTP3 // nil without WithHTTP3
	h3cfg         h3config
	errs          []error
}

// defaultConfig holds every default in one place.
func defaultConfig() config {
	return config{
		poolSize:      DefaultPoolSize,
		dialTimeout:   DefaultDialTimeout,
		tlsTimeout:    DefaultTLSHandshakeTimeout,
		headerTimeout: DefaultResponseHeaderTimeout,
		idleTimeout:   DefaultIdleConnTimeout,
		keepAlive:     DefaultKeepAlive,
		maxRetries:    DefaultMaxRetries,
		policy:        DefaultRetryPolicy,
		backoff:       DefaultBackoff,
		minBackoff:    DefaultMinBackoff,
		maxBackoff:    DefaultMaxBackoff,
		maxRetryWait:  DefaultMaxRetryWait,
		budgetRatio:   DefaultRetryBudgetRatio,
		budgetMin:     DefaultRetryBudgetMin,
		breaker:       BreakerConfig{}.withDefaults(),
		probeInterval: DefaultProbeInterval,
		probeTimeout:  DefaultProbeTimeout,
	}
}

func (c *config) fail(option, format string, args ...any) {
	c.errs = append(c.errs, &ConfigError{Option: option, Reason: fmt.Sprintf(format, args...)})
}

// WithPoolSize sets how many idle connections per host are kept, and so
// how many concurrent HTTP/1.1 requests reuse a connection; set it to the
// concurrency limit. HTTP/2 and HTTP/3 multiplex requests on one
// connection. Default [DefaultPoolSize] (100).
func WithPoolSize(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.fail("WithPoolSize", "must be positive, got %d", n)
			return
		}
		c.poolSize = n
	})
}

// WithTLSConfig sets the TLS client configuration (for example RootCAs to
// trust a test server). It is cloned; a zero MinVersion becomes TLS 1.3 and
// a nil ClientSessionCache becomes an LRU cache of 256 sessions, so that new
// connections resume. Default: TLS 1.3 minimum, the system roots, a session
// cache.
func WithTLSConfig(cfg *tls.Config) Option {
	return optionFunc(func(c *config) {
		if cfg == nil {
			c.fail("WithTLSConfig", "nil config")
			return
		}
		c.tls = cfg.Clone()
	})
}

func positiveDuration(c *config, option string, d time.Duration, dst *time.Duration) {
	if d <= 0 {
		c.fail(option, "must be positive, got %v", d)
		return
	}
	*dst = d
}

// WithDialTimeout bounds a TCP connect. Default [DefaultDialTimeout] (10 s).
func WithDialTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { positiveDuration(c, "WithDialTimeout", d, &c.dialTimeout) })
}

// WithTLSHandshakeTimeout bounds a TLS handshake. Default
// [DefaultTLSHandshakeTimeout] (10 s).
func WithTLSHandshakeTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { positiveDuration(c, "WithTLSHandshakeTimeout", d, &c.tlsTimeout) })
}

// WithResponseHeaderTimeout bounds the wait for response headers after the
// request is sent. The body, however long it streams, is never cut by the
// transport: bound a whole call with its context. -1 removes the bound.
// Default [DefaultResponseHeaderTimeout] (10 min).
func WithResponseHeaderTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		switch {
		case d == -1:
			c.headerTimeout = 0
		case d <= 0:
			c.fail("WithResponseHeaderTimeout", "must be positive, or -1 for none, got %v", d)
		default:
			c.headerTimeout = d
		}
	})
}

// WithIdleConnTimeout sets how long an idle connection stays in the pool.
// Default [DefaultIdleConnTimeout] (90 s).
func WithIdleConnTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { positiveDuration(c, "WithIdleConnTimeout", d, &c.idleTimeout) })
}

// WithMaxRetries sets how many times a failed request is retried (see
// [DefaultRetryPolicy] for what is retried). 0 disables retries. Default
// [DefaultMaxRetries] (2).
func WithMaxRetries(n int) Option {
	return optionFunc(func(c *config) {
		if n < 0 {
			c.fail("WithMaxRetries", "must not be negative, got %d", n)
			return
		}
		c.maxRetries = n
	})
}

// WithRetryPolicy sets the decision whether to retry. Default
// [DefaultRetryPolicy]; wrap it to retry more or less.
func WithRetryPolicy(p RetryPolicy) Option {
	return optionFunc(func(c *config) {
		if p == nil {
			p = DefaultRetryPolicy
		}
		c.policy = p
	})
}

// WithBackoff sets the wait before a retry. Default [DefaultBackoff].
func WithBackoff(b Backoff) Option {
	return optionFunc(func(c *config) {
		if b == nil {
			b = DefaultBackoff
		}
		c.backoff = b
	})
}

// WithBackoffRange sets the min and max passed to the [Backoff]. Default
// [DefaultMinBackoff] (250 ms) and [DefaultMaxBackoff] (8 s).
func WithBackoffRange(minWait, maxWait time.Duration) Option {
	return optionFunc(func(c *config) {
		if minWait <= 0 || maxWait < minWait {
			c.fail("WithBackoffRange", "want 0 < min <= max, got %v, %v", minWait, maxWait)
			return
		}
		c.minBackoff, c.maxBackoff = minWait, maxWait
	})
}

// WithMaxRetryWait bounds the wait before a retry: when the server asks to
// wait longer (Retry-After), or the request's context would end first, the
// last response is returned at once. Default [DefaultMaxRetryWait] (1 min).
func WithMaxRetryWait(d time.Duration) Option {
	return optionFunc(func(c *config) { positiveDuration(c, "WithMaxRetryWait", d, &c.maxRetryWait) })
}

// WithRetryBudget bounds the extra load of retries and hedges: in any
// 10-second window they may number at most min + ratio × requests. 0 ≤
// ratio; min ≥ 0. Default [DefaultRetryBudgetRatio] (0.1) and
// [DefaultRetryBudgetMin] (10).
func WithRetryBudget(ratio float64, minRetries int) Option {
	return optionFunc(func(c *config) {
		if ratio < 0 || minRetries < 0 {
			c.fail("WithRetryBudget", "ratio and min must not be negative, got %v, %d", ratio, minRetries)
			return
		}
		c.budgetRatio, c.budgetMin = ratio, minRetries
	})
}

// WithBreaker sets each endpoint's circuit breaker (see [BreakerConfig]):
// it opens when failures (connection errors, 500, 502, 503, 504) reach
// Ratio of at least MinRequests attempts in Window, keeps requests away
// from the endpoint for Cooldown while another can take them, and then
// probes it with Probes requests at a time. With one endpoint, or every
// endpoint open, the least recently failed one still takes Probes
// requests at a time, so an outage is noticed to end without a wait; the
// requests beyond those get the endpoint's last failure replayed, marked
// with [CircuitHeader] (or an [*Error] matching [ErrCircuitOpen] and the
// last connection error). Defaults: ratio 0.5 of at least 20 attempts in
// 10 s, cooldown 5 s, 3 probes. BreakerConfig{Off: true} turns it off.
func WithBreaker(cfg BreakerConfig) Option {
	return optionFunc(func(c *config) {
		if cfg.Off {
			c.breaker = cfg
			return
		}
		d := cfg.withDefaults()
		if d.Ratio <= 0 || d.Ratio > 1 || d.MinRequests < 1 || d.Window < 10*time.Millisecond || d.Cooldown < 0 || d.Probes < 1 {
			c.fail("WithBreaker", "want ratio in (0, 1], min requests ≥ 1, window ≥ 10 ms, cooldown ≥ 0, probes ≥ 1, got %+v", cfg)
			return
		}
		c.breaker = d
	})
}

// WithEndpoints sets equivalent base URLs (regions, proxies), for example
// "https://eu.example.com/v1" and "https://us.example.com/v1". A request
// whose URL starts with any of them is sent to the fastest healthy one
// (connect + TLS time, plus a health request with [WithHealthPath]), and
// fails over to the next on errors; [Transport.Endpoint] says which is
// chosen. Default: none; every request goes where its URL says.
func WithEndpoints(urls ...string) Option {
	return optionFunc(func(c *config) {
		c.endpoints = nil
		for _, s := range urls {
			u, err := url.Parse(strings.TrimRight(s, "/"))
			switch {
			case err != nil:
				c.fail("WithEndpoints", "%v", err)
				continue
			case u.Scheme != "http" && u.Scheme != "https":
				c.fail("WithEndpoints", "scheme must be http or https: %s", s)
				continue
			case u.Host == "":
				c.fail("WithEndpoints", "no host: %s", s)
				continue
			}
			c.endpoints = append(c.endpoints, u)
		}
	})
}

// WithProbeInterval sets how often the endpoints are measured again, in
// the background, while requests flow. Default [DefaultProbeInterval]
// (30 s).
func WithProbeInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { positiveDuration(c, "WithProbeInterval", d, &c.probeInterval) })
}

// WithProbeTimeout bounds one endpoint measurement. Default
// [DefaultProbeTimeout] (5 s).
func WithProbeTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { positiveDuration(c, "WithProbeTimeout", d, &c.probeTimeout) })
}

// WithHealthPath adds a GET of base URL + path (for example "/models") to
// each endpoint measurement; an endpoint that answers it with an error or
// a status ≥ 500 is not chosen. Default "": connect + TLS time only.
func WithHealthPath(path string) Option {
	return optionFunc(func(c *config) { c.healthPath = path })
}

// WithHedging sends one more attempt when a request has no response after
// delay, to another endpoint if there is one; the first response wins and
// the other attempt is cancelled (on HTTP/2 and HTTP/3 its connection stays
// in use). A delay of 0 adapts: the observed p95 of time to first byte, or
// [DefaultHedgeFallbackDelay] until 20 times are known. Hedges count
// against the retry budget, and need a replayable body (GetBody). Default:
// off.
func WithHedging(delay time.Duration) Option {
	return optionFunc(func(c *config) {
		if delay < 0 {
			c.fail("WithHedging", "delay must not be negative, got %v", delay)
			return
		}
		c.hedge, c.hedgeDelay = true, delay
	})
}
