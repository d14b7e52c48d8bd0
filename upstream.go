package companion

import (
	"context"
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
	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(ctx, t)
		if err == nil {
			t.attempts = attempt
			return resp, nil
		}
		wait, err := c.retry.next(ctx, attempt, err)
		if err != nil {
			if attempt < c.retry.p.MaxAttempts && retriedKind(err) {
				c.tel.retry(ctx, err, true)
			}
			return openai.ChatCompletionResponse{}, err
		}
		c.tel.retry(ctx, err, false)
		if err := backoff.Sleep(ctx, wait); err != nil {
			return openai.ChatCompletionResponse{}, err
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
	ue, ok := err.(*UpstreamError)
	return ok && retryable(ue)
}
