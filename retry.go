package companion

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/companion-go/companion/internal/backoff"
)

// RetryPolicy says when a turn tries the upstream again. It works above
// the transport's retries, on what they cannot see: a body that was cut
// short or malformed, a broken event stream, a status the transport gave
// up on. An attempt that fails retryably — a 408, 409, 425, 429, 500, 502,
// 503 or 504, a malformed or cut body, broken server-sent events, a
// connection that could not be made or dropped — is tried again, up to
// MaxAttempts in all, within the turn's deadline and the retry budget,
// after a full-jitter backoff or the upstream's Retry-After, whichever is
// longer. A streamed turn retries the same way; once text has reached the
// reader, a retry must reproduce that text before it goes on, so a
// deterministic upstream resumes where it broke and any other fails with
// [ErrStreamInterrupted] rather than show a different answer.
//
// When the upstream asks for a wait longer than the turn's deadline
// leaves, the turn fails at once with an [*UpstreamError] matching
// [ErrRateLimited] whose RetryAfter carries the wait.
type RetryPolicy struct {
	// MaxAttempts is the most upstream attempts of one turn, the first
	// included; 1 turns turn-level retries off. Default 5.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait before retry n: uniform in
	// [0, min(MaxBackoff, MinBackoff × 2^n)). Defaults 25 ms and 1 s.
	MinBackoff, MaxBackoff time.Duration
	// Budget is the share of turns' first attempts that may be retried,
	// over a sliding window of 10 s, on top of MinRetries retries per
	// window; a retry past it fails the turn. It keeps a failing upstream
	// from being sent more than (1 + Budget) times its traffic. Default
	// 0.5 and 20: at a 20 % error rate about 25 % of first attempts are
	// retried.
	Budget     float64
	MinRetries int // retries per window allowed whatever the ratio; default 20
}

// DefaultRetryPolicy returns the defaults: 5 attempts, backoff 25 ms to
// 1 s, a budget of 50 % of first attempts plus 20 retries per 10 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, MinBackoff: 25 * time.Millisecond, MaxBackoff: time.Second, Budget: 0.5, MinRetries: 20}
}

// WithRetry sets the turn-level retry policy. Default
// [DefaultRetryPolicy]; fields left zero take their defaults.
func WithRetry(p RetryPolicy) Option {
	return optionFunc(func(c *config) {
		d := DefaultRetryPolicy()
		if p.MaxAttempts == 0 {
			p.MaxAttempts = d.MaxAttempts
		}
		if p.MinBackoff == 0 {
			p.MinBackoff = d.MinBackoff
		}
		if p.MaxBackoff == 0 {
			p.MaxBackoff = d.MaxBackoff
		}
		if p.Budget == 0 {
			p.Budget = d.Budget
		}
		if p.MinRetries == 0 {
			p.MinRetries = d.MinRetries
		}
		switch {
		case p.MaxAttempts < 1:
			c.errs = append(c.errs, &ConfigError{Option: "WithRetry", Reason: fmt.Sprintf("MaxAttempts %d < 1", p.MaxAttempts)})
		case p.MinBackoff < 0 || p.MaxBackoff < p.MinBackoff:
			c.errs = append(c.errs, &ConfigError{Option: "WithRetry", Reason: fmt.Sprintf("backoff range [%v, %v]", p.MinBackoff, p.MaxBackoff)})
		case p.Budget < 0 || p.MinRetries < 0:
			c.errs = append(c.errs, &ConfigError{Option: "WithRetry", Reason: "negative budget"})
		default:
			c.retry = p
		}
	})
}

// retrier applies a RetryPolicy, with its budget, to the turns of one
// Companion.
type retrier struct {
	p      RetryPolicy
	budget backoff.Budget
}

func newRetrier(p RetryPolicy) *retrier {
	return &retrier{p: p, budget: backoff.Budget{Ratio: p.Budget, Min: p.MinRetries}}
}

// begin counts a turn's first attempt.
func (r *retrier) begin() { r.budget.Request(time.Now()) }

// next decides what follows attempt number attempt (1 for the first) that
// failed with err: a wait before the next attempt, or the error the turn
// fails with.
func (r *retrier) next(ctx context.Context, attempt int, err error) (time.Duration, error) {
	var ue *UpstreamError
	if !errors.As(err, &ue) {
		return 0, err // the context's, the input's, a block: never retried
	}
	ue.Attempts = attempt
	if !retryable(ue) || attempt >= r.p.MaxAttempts {
		return 0, err
	}
	wait := max(backoff.FullJitter(r.p.MinBackoff, r.p.MaxBackoff, attempt-1), ue.RetryAfter)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
		return 0, err // waiting would outlast the turn: fail now, with the wait in RetryAfter
	}
	if !r.budget.Retry(time.Now()) {
		return 0, err
	}
	return wait, nil
}

// retryable reports whether an attempt that failed with e may be tried
// again: the upstream may answer differently next time.
func retryable(e *UpstreamError) bool {
	switch {
	case errors.Is(e.Kind, ErrUnreachable), errors.Is(e.Kind, ErrMalformedResponse), errors.Is(e.Kind, ErrStreamInterrupted),
		errors.Is(e.Kind, ErrCircuitOpen):
		return true
	case errors.Is(e.Kind, ErrStatus):
		switch e.StatusCode {
		case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
	}
	return false
}
