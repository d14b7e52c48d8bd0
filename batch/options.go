package batch

import (
	"context"
	"fmt"
	"time"
)

// Defaults of a [Client], each set by the option named in its comment.
const (
	// DefaultPollInterval is the first wait between two polls of a batch
	// ([WithPollInterval]).
	DefaultPollInterval = 5 * time.Second
	// DefaultMaxPollInterval is the longest wait between two polls; the
	// wait grows by half after each poll up to it ([WithPollInterval]).
	DefaultMaxPollInterval = time.Minute
	// DefaultCompletionWindow is the time the API has to run a batch
	// ([WithCompletionWindow]); "24h" is the only value the API accepts
	// today.
	DefaultCompletionWindow = "24h"
	// DefaultMaxRequests is the API's limit of requests per batch
	// ([WithMaxRequests]).
	DefaultMaxRequests = 50000
	// DefaultMaxFileBytes is the API's limit on the size of a batch input
	// file, 200 MB ([WithMaxFileBytes]).
	DefaultMaxFileBytes = 200 * 1000 * 1000
	// DefaultPollRetries is how many polls in a row may fail with a
	// transient error (a 408, 429 or 5xx status, or a network error)
	// before Run gives up ([WithPollRetries]).
	DefaultPollRetries = 5
)

// Option configures a [Client]. Options are made by the With… functions
// of this package.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	poll, maxPoll time.Duration
	window        string
	maxRequests   int
	maxBytes      int
	pollRetries   int
	onCreated     func(ctx context.Context, batchID string) error
	progress      func(Progress)
	errs          []error
}

func defaultConfig() config {
	return config{
		poll:        DefaultPollInterval,
		maxPoll:     DefaultMaxPollInterval,
		window:      DefaultCompletionWindow,
		maxRequests: DefaultMaxRequests,
		maxBytes:    DefaultMaxFileBytes,
		pollRetries: DefaultPollRetries,
	}
}

func (c *config) invalid(option, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, option, fmt.Sprintf(format, args...)))
}

// WithPollInterval sets the first wait between two polls of a batch and
// the longest: each wait is half as long again as the one before, up to
// max, with ±10 % jitter. Defaults [DefaultPollInterval] (5 s) and
// [DefaultMaxPollInterval] (1 min).
func WithPollInterval(first, max time.Duration) Option {
	return optionFunc(func(c *config) {
		if first <= 0 || max < first {
			c.invalid("WithPollInterval", "want 0 < first <= max, got %v, %v", first, max)
			return
		}
		c.poll, c.maxPoll = first, max
	})
}

// WithCompletionWindow sets the completion window of new batches. Default
// [DefaultCompletionWindow] ("24h").
func WithCompletionWindow(w string) Option {
	return optionFunc(func(c *config) {
		if w == "" {
			c.invalid("WithCompletionWindow", "empty window")
			return
		}
		c.window = w
	})
}

// WithMaxRequests sets the most requests put in one batch; a larger job is
// split. Default [DefaultMaxRequests] (50 000, the API's limit).
func WithMaxRequests(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.invalid("WithMaxRequests", "must be positive, got %d", n)
			return
		}
		c.maxRequests = n
	})
}

// WithMaxFileBytes sets the largest input file, in bytes; a larger job is
// split. Default [DefaultMaxFileBytes] (200 MB, the API's limit).
func WithMaxFileBytes(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.invalid("WithMaxFileBytes", "must be positive, got %d", n)
			return
		}
		c.maxBytes = n
	})
}

// WithPollRetries sets how many polls in a row may fail with a transient
// error before Run returns it. Default [DefaultPollRetries] (5); 0 returns
// the first error.
func WithPollRetries(n int) Option {
	return optionFunc(func(c *config) {
		if n < 0 {
			c.invalid("WithPollRetries", "must not be negative, got %d", n)
			return
		}
		c.pollRetries = n
	})
}

// WithOnCreated sets the persistence hook: f is called with the id of each
// batch right after it is created, before Run polls it, so that the caller
// can store the id and [Client.Resume] the batch after a restart. If f
// returns an error, the batch is cancelled and Run returns the error.
// Default: none.
func WithOnCreated(f func(ctx context.Context, batchID string) error) Option {
	return optionFunc(func(c *config) { c.onCreated = f })
}

// WithProgress sets a callback that receives the job's progress after
// each poll in which it changed. It is called from Run's goroutine.
// Default: none.
func WithProgress(f func(Progress)) Option {
	return optionFunc(func(c *config) { c.progress = f })
}

// Progress is how far a job has come, summed over its batches.
type Progress struct {
	Total     int // requests in the job
	Completed int // requests answered successfully
	Failed    int // requests that failed
	Batches   int // batches of the job
	Done      int // of Batches, those that are over
}
