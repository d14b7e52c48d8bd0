package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/prompt"
	"github.com/companion-go/companion/transport"
)

// statusClientClosed is nginx's 499: the client went away before the
// answer. Nobody reads it; it is what the access log and the metrics say.
const statusClientClosed = 499

// errorResponse is the body of every error answer, and the data of a
// stream's "error" event.
type errorResponse struct {
	Status int    `json:"status"` // the HTTP status, also in a stream's error event
	Error  string `json:"error"`  // what went wrong, for people
	// LimitTokens and RequiredTokens come with a 413 for a prompt over
	// its token budget: what the budget leaves for the system prompt and
	// the question, and what they need.
	LimitTokens    int `json:"limit_tokens,omitempty"`
	RequiredTokens int `json:"required_tokens,omitempty"`
	// RetryAfter comes with a 503 when the upstream said how long to
	// wait, in whole seconds, as the Retry-After header of the answer.
	RetryAfter int `json:"retry_after,omitempty"`
}

// errShutdown is the cause of the context of every request still running
// when shutdown's drain time is over.
var errShutdown = errors.New("server shutting down")

// classifyTurn is classify for the turn of r: a turn cancelled because the
// server is shutting down gets 503, not the 499 of a client that left.
func classifyTurn(r *http.Request, err error) errorResponse {
	if errors.Is(err, context.Canceled) && errors.Is(context.Cause(r.Context()), errShutdown) {
		return errorResponse{Status: http.StatusServiceUnavailable, Error: "server shutting down; try again"}
	}
	return classify(err)
}

// classify maps an error of the request or of Companion to the answer the
// client gets:
//
//   - the request's own problems (Content-Type, size, time, UTF-8, JSON):
//     415, 413, 408 or 400, as question says;
//   - a prompt over its token budget (a system prompt and question that
//     alone exceed it: *prompt.BudgetError, prompt.ErrOverBudget) and a
//     question longer than WithMaxQuestionBytes (companion.ErrTooLong):
//     413 Content Too Large, the status that tells a client to send less,
//     which is the only remedy; the budget's figures are in the body;
//   - any other *companion.InputError or *prompt.InputError: 400;
//   - an answer moderation withheld (*companion.BlockedError): 422, the
//     request was understood and cannot be answered as asked;
//   - the client gone (context.Canceled): 499;
//   - the turn's deadline (context.DeadlineExceeded), an upstream 408 or
//     504: 504 Gateway Timeout;
//   - the upstream out of capacity (its 429, companion.ErrRateLimited, or
//     its 503) or out of reach (companion.ErrUnreachable, an open circuit
//     breaker): 503 Service Unavailable, worth retrying later, with the
//     upstream's Retry-After when it gave one; the upstream's rate limit
//     is not the client's, so it is not passed on as a 429;
//   - a Companion already closed (companion.ErrClosed): 503;
//   - any other upstream failure (an error status, a malformed or cut
//     answer): 502 Bad Gateway;
//   - a misconfigured server, or anything else: 500.
func classify(err error) errorResponse {
	var (
		re *requestError
		be *prompt.BudgetError
		ue *companion.UpstreamError
	)
	switch {
	case errors.As(err, &re):
		return errorResponse{Status: re.status, Error: re.msg}
	case errors.As(err, &be):
		return errorResponse{
			Status:      http.StatusRequestEntityTooLarge,
			Error:       fmt.Sprintf("the system prompt and the question need %d tokens; the prompt budget leaves %d", be.Required, be.Limit),
			LimitTokens: be.Limit, RequiredTokens: be.Required,
		}
	case errors.Is(err, prompt.ErrOverBudget), errors.Is(err, companion.ErrTooLong):
		return errorResponse{Status: http.StatusRequestEntityTooLarge, Error: err.Error()}
	case errors.Is(err, companion.ErrInvalidConfig), errors.Is(err, prompt.ErrInvalidConfig):
		return errorResponse{Status: http.StatusInternalServerError, Error: "server misconfigured"}
	case errors.As(err, new(*companion.InputError)), errors.As(err, new(*prompt.InputError)):
		return errorResponse{Status: http.StatusBadRequest, Error: err.Error()}
	case errors.Is(err, companion.ErrBlocked):
		return errorResponse{Status: http.StatusUnprocessableEntity, Error: "the answer was withheld by moderation"}
	case errors.Is(err, context.Canceled):
		return errorResponse{Status: statusClientClosed, Error: "client closed request"}
	case errors.Is(err, context.DeadlineExceeded):
		return errorResponse{Status: http.StatusGatewayTimeout, Error: "timed out"}
	case errors.Is(err, companion.ErrClosed):
		return errorResponse{Status: http.StatusServiceUnavailable, Error: "server shutting down; try again"}
	case errors.As(err, &ue):
		retry := int(math.Ceil(ue.RetryAfter.Seconds()))
		switch {
		case ue.StatusCode == http.StatusTooManyRequests, errors.Is(err, companion.ErrRateLimited):
			return errorResponse{Status: http.StatusServiceUnavailable, Error: "upstream rate limit; try again later", RetryAfter: retry}
		case ue.StatusCode == http.StatusServiceUnavailable, errors.Is(err, companion.ErrUnreachable), errors.Is(err, transport.ErrCircuitOpen):
			return errorResponse{Status: http.StatusServiceUnavailable, Error: "upstream unavailable; try again later", RetryAfter: retry}
		case ue.StatusCode == http.StatusRequestTimeout, ue.StatusCode == http.StatusGatewayTimeout:
			return errorResponse{Status: http.StatusGatewayTimeout, Error: "upstream timed out"}
		}
		return errorResponse{Status: http.StatusBadGateway, Error: "upstream failed"}
	}
	return errorResponse{Status: http.StatusInternalServerError, Error: "internal error"}
}
