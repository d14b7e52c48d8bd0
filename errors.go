package companion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/companion-go/companion/transport"
	openai "github.com/sashabaranov/go-openai"
)

// Sentinel errors. Each error Companion returns matches one of these with
// errors.Is, or is one of the typed errors below (reach them with
// errors.As), or wraps the context's error.
var (
	// ErrEmptyQuestion: the question's text is empty or only white space.
	ErrEmptyQuestion = errors.New("companion: empty question")
	// ErrInvalidUTF8: a text field is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("companion: invalid UTF-8")
	// ErrUnknownRole: a history message has a role other than system,
	// developer, user, assistant or tool.
	ErrUnknownRole = errors.New("companion: unknown role")
	// ErrTooLong: the question's text is longer than the configured limit
	// (see [WithMaxQuestionBytes]), or the system prompt and the question
	// alone need more tokens than the prompt budget leaves (see
	// [WithPromptBudget]; the error then also wraps the
	// [*prompt.BudgetError], which says how many).
	ErrTooLong = errors.New("companion: question too long")
	// ErrInvalidJSON: the question's structured context is not valid JSON.
	ErrInvalidJSON = errors.New("companion: invalid JSON context")
	// ErrNoMessages: a chat completion request has no messages.
	ErrNoMessages = errors.New("companion: no messages")
	// ErrNoModel: neither the call nor the Companion names a model.
	ErrNoModel = errors.New("companion: no model")
	// ErrInvalidRequest: go-openai refused the request before sending it
	// (for example MaxTokens with a reasoning model, or a completion-only
	// model); the error wraps go-openai's.
	ErrInvalidRequest = errors.New("companion: invalid request")

	// ErrInvalidConfig: an option passed to [New] is invalid; the error is
	// a [*ConfigError] that says which.
	ErrInvalidConfig = errors.New("companion: invalid config")

	// ErrUnreachable: the upstream could not be reached (DNS, connect or
	// TLS failure). The error is an [*UpstreamError].
	ErrUnreachable = errors.New("companion: upstream unreachable")
	// ErrMalformedResponse: the upstream answered with a body that is not
	// the JSON or server-sent events the API specifies. The error is an
	// [*UpstreamError].
	ErrMalformedResponse = errors.New("companion: malformed upstream response")
	// ErrStreamInterrupted: the upstream's answer ended before it was
	// complete (the connection dropped, or the stream closed without a
	// finish reason). The error is an [*UpstreamError].
	ErrStreamInterrupted = errors.New("companion: upstream stream interrupted")
	// ErrStatus: the upstream answered with an HTTP error status. The
	// error is an [*UpstreamError] whose StatusCode says which, and which
	// unwraps to go-openai's [*openai.APIError] or [*openai.RequestError].
	ErrStatus = errors.New("companion: upstream error status")

	// ErrCircuitOpen: the request was not sent because the circuit
	// breaker of every endpoint was open and their probe slots busy (see
	// transport.WithBreaker). The error is an [*UpstreamError] that wraps
	// the endpoint's last failure: its StatusCode and go-openai's
	// [*openai.APIError] when that was an error response, the network
	// error when it was a connection error. Retried like the failure.
	ErrCircuitOpen = errors.New("companion: upstream circuit open")
	// ErrRateLimited: the upstream answered 429 Too Many Requests, and the
	// turn could not wait as long as it asked (its Retry-After outlasts
	// the turn's deadline) or ran out of attempts. The error is an
	// [*UpstreamError] with StatusCode 429 that also matches [ErrStatus];
	// its RetryAfter says how long the upstream asked to wait.
	ErrRateLimited = errors.New("companion: upstream rate limit")

	// ErrBlocked: post-processing blocked the answer. The error is a
	// [*BlockedError] carrying the verdict.
	ErrBlocked = errors.New("companion: answer blocked")
	// ErrClosed: the Companion was closed; it answers no more turns.
	ErrClosed = errors.New("companion: closed")
	// ErrStreamClosed: Recv was called on a [Stream] after Close, or after
	// the stream was let go of for [WithStreamIdleTimeout].
	ErrStreamClosed = errors.New("companion: stream closed")
)

// InputError reports an invalid question or request. Err is one of
// [ErrEmptyQuestion], [ErrInvalidUTF8], [ErrUnknownRole], [ErrTooLong],
// [ErrInvalidJSON], [ErrNoMessages], [ErrNoModel] or [ErrInvalidRequest].
type InputError struct {
	Field string // the offending field, e.g. "Text" or "History[2].Role"
	Err   error  // the sentinel that says what is wrong, e.g. [ErrInvalidUTF8]
}

// Error describes the problem.
func (e *InputError) Error() string {
	return fmt.Sprintf("companion: invalid input: %s: %s", e.Field, trimPrefix(e.Err))
}

// Unwrap returns the sentinel that says what is wrong.
func (e *InputError) Unwrap() error { return e.Err }

// ConfigError reports an invalid option given to [New]. It matches
// [ErrInvalidConfig] with errors.Is.
type ConfigError struct {
	Option string // the option, e.g. "WithBaseURL"
	Reason string // what is wrong with its value, e.g. "must be positive"
}

// Error describes the problem.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("companion: invalid config: %s: %s", e.Option, e.Reason)
}

// Is reports whether target is [ErrInvalidConfig].
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// UpstreamError reports a failed call to the model's API. It matches one of
// [ErrUnreachable], [ErrMalformedResponse], [ErrStreamInterrupted] or
// [ErrStatus] with errors.Is, and unwraps to the underlying error, so
// errors.As still reaches go-openai's [*openai.APIError] or
// [*openai.RequestError], or a [*net.OpError].
type UpstreamError struct {
	Kind       error // ErrUnreachable, ErrMalformedResponse, ErrStreamInterrupted or ErrStatus
	StatusCode int   // the HTTP status, or 0 when none was received
	Err        error // the underlying error
	// RetryAfter is how long the upstream asked the client to wait
	// (Retry-After, retry-after-ms or x-ratelimit-reset-* on an error
	// response), 0 when it did not say.
	RetryAfter time.Duration
	// Attempts is how many upstream attempts the turn made before it gave
	// up, the first included.
	Attempts int
	// Header holds the headers of the upstream's error response (its
	// x-request-id, rate-limit headers, …), nil when no response came.
	Header http.Header
}

// Error describes the problem.
func (e *UpstreamError) Error() string {
	msg := fmt.Sprintf("%v: %v", e.Kind, e.Err)
	if e.StatusCode != 0 {
		msg = fmt.Sprintf("%v (status %d): %v", e.Kind, e.StatusCode, e.Err)
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %v)", e.RetryAfter)
	}
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	return msg
}

// Unwrap returns the kind and the underlying error.
func (e *UpstreamError) Unwrap() []error { return []error{e.Kind, e.Err} }

// Is reports whether target is [ErrRateLimited] and the upstream answered
// 429.
func (e *UpstreamError) Is(target error) bool {
	return target == ErrRateLimited && e.StatusCode == 429
}

// BlockedError reports an answer that post-processing blocked. No part of
// a blocked answer is returned or streamed to the caller, and it is never
// cached.
type BlockedError struct {
	// Verdict is the post-processor's decision, with the reasons the
	// answer was blocked.
	Verdict Verdict
}

// Error describes the problem.
func (e *BlockedError) Error() string {
	if len(e.Verdict.Reasons) == 0 {
		return ErrBlocked.Error()
	}
	return fmt.Sprintf("%v: %s", ErrBlocked, joinReasons(e.Verdict.Reasons))
}

// Is reports whether target is [ErrBlocked].
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// classify turns an error from go-openai into the error Companion returns:
// the context's error when ctx is done, otherwise an [*UpstreamError].
func classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var (
		ue *UpstreamError
		be *BlockedError
		ie *InputError
	)
	if errors.As(err, &ue) || errors.As(err, &be) || errors.As(err, &ie) || errors.Is(err, ErrStreamClosed) {
		return err // already Companion's: a coalesced stream passes its flight's error on
	}
	for _, local := range localErrors {
		if errors.Is(err, local) {
			return &InputError{Field: "Request", Err: fmt.Errorf("%w: %w", ErrInvalidRequest, err)}
		}
	}
	if errors.Is(err, transport.ErrCircuitOpen) {
		return &UpstreamError{Kind: ErrCircuitOpen, Err: err}
	}
	var (
		apiErr *openai.APIError
		reqErr *openai.RequestError
	)
	switch {
	case errors.As(err, &apiErr):
		return &UpstreamError{Kind: ErrStatus, StatusCode: apiErr.HTTPStatusCode, Err: err}
	case errors.As(err, &reqErr):
		if reqErr.HTTPStatusCode >= 200 && reqErr.HTTPStatusCode < 300 {
			return &UpstreamError{Kind: ErrMalformedResponse, StatusCode: reqErr.HTTPStatusCode, Err: err}
		}
		return &UpstreamError{Kind: ErrStatus, StatusCode: reqErr.HTTPStatusCode, Err: err}
	}
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		urlErr    *url.Error
		opErr     *net.OpError
		dnsErr    *net.DNSError
	)
	switch {
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr):
		return &UpstreamError{Kind: ErrMalformedResponse, Err: err}
	case errors.Is(err, openai.ErrTooManyEmptyStreamMessages):
		return &UpstreamError{Kind: ErrMalformedResponse, Err: err}
	case errors.As(err, &dnsErr), errors.As(err, &opErr) && opErr.Op == "dial":
		return &UpstreamError{Kind: ErrUnreachable, Err: err}
	case errors.As(err, &urlErr):
		// The request failed before a response arrived, for another
		// reason than dialing (TLS handshake, reset, refused write).
		return &UpstreamError{Kind: ErrUnreachable, Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.As(err, &opErr):
		return &UpstreamError{Kind: ErrStreamInterrupted, Err: err}
	}
	return &UpstreamError{Kind: ErrMalformedResponse, Err: err}
}

// localErrors are go-openai's checks that fail a request before it is sent.
var localErrors = []error{
	openai.ErrChatCompletionInvalidModel,
	openai.ErrChatCompletionStreamNotSupported,
	openai.ErrContentFieldsMisused,
	openai.ErrReasoningModelMaxTokensDeprecated,
	openai.ErrReasoningModelLimitationsLogprobs,
	openai.ErrReasoningModelLimitationsOther,
	openai.ErrReasoningEffortUnsupported,
	openai.ErrReasoningToolsRequireResponses,
	openai.ErrReasoningSamplingUnsupported,
	openai.ErrO1BetaLimitationsMessageTypes,
	openai.ErrO1BetaLimitationsTools,
}

var errNoChoices = errors.New("response has no choices")

func trimPrefix(err error) string {
	const p = "companion: "
	s := err.Error()
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func joinReasons(rs []string) string {
	out := rs[0]
	for _, r := range rs[1:] {
		out += "; " + r
	}
	return out
}
