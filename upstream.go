package companion

import (
	"context"
	"errors"
	"time"

	"github.com/companion-go/companion/internal/backoff"
	openai "github.com/sashabaranov/go-openai"
)

// complete makes the non-streamed upstream call of a turn, the one place
// every path (Ask, the chat-completion mirror, Prewarm's online path)
// calls the API through: each attempt holds a limiter slot while it runs,
// has its span, its watched body and its metrics, and a failed attempt is
// retried as [RetryPolicy] says. t.t.Upstream is the time of the
// attempts, the waits between them included and the waits for a limiter
// slot (t.t.Queue) left out.
func (c *Companion) complete(ctx context.Context, t *turn) (openai.ChatCompletionResponse, error) {
	c.retry.begin()
	start, queued := time.Now(), t.t.Queue
	defer func() { t.t.Upstream = time.Since(start) - (t.t.Queue - queued) }()
	var resp openai.ChatCompletionResponse
	err := c.retrying(ctx, &t.attempts, nil, func() error {
		var err error
		resp, err = c.attempt(ctx, t)
		return err
	})
	if err != nil {
		return openai.ChatCompletionResponse{}, err
	}
	return resp, nil
}

// retrying runs try until it succeeds or the [RetryPolicy] gives up,
// waiting between attempts as the policy says and counting them in *n;
// failed, when not nil, is the failure of an attempt already made (a
// stream that broke). It returns nil or the error the turn fails with.
// Every upstream attempt of every path goes through it.
func (c *Companion) retrying(ctx context.Context, n *int, failed error, try func() error) error {
	for {
		if failed != nil {
			wait, err := c.retry.next(ctx, *n, failed)
			if err != nil {
				if *n < c.retry.p.MaxAttempts && retriedKind(err) {
					c.tel.retry(ctx, err, true) // the budget or the deadline said no
				}
				return err
			}
			c.tel.retry(ctx, failed, false)
			if err := backoff.Sleep(ctx, wait); err != nil {
				return err
			}
		}
		*n++
		if failed = try(); failed == nil {
			return nil
		}
	}
}

// attempt is one upstream call of t.req.
func (c *Companion) attempt(ctx context.Context, t *turn) (openai.ChatCompletionResponse, error) {
	release, err := c.acquire(ctx, t, 0)
	if err != nil {
		return openai.ChatCompletionResponse{}, err
	}
	defer release()
	s := time.Now()
	uctx, span := c.upstreamSpan(ctx, t)
	wctx, w := watch(uctx)
	resp, err := c.client.CreateChatCompletion(wctx, t.req)
	if err != nil {
		err = classifyBody(ctx, err, w)
	} else if len(resp.Choices) == 0 {
		err = &UpstreamError{Kind: ErrMalformedResponse, Err: errNoChoices}
	}
	c.tel.upstream(ctx, t.req.Model, time.Since(s), usageOf(resp.Usage), err)
	end(span, err)
	return resp, err
}

// retriedKind reports whether err is a failure a retry could have fixed,
// so that a turn that gave up on one counts as a refused retry.
func retriedKind(err error) bool {
	var ue *UpstreamError
	return errors.As(err, &ue) && retryable(ue)
}
