package moderation

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error of this package matches one of these with
// errors.Is, or wraps the context's error.
var (
	// ErrBlocked: the checks blocked a text. The error is a
	// [*BlockedError] carrying the verdict.
	ErrBlocked = errors.New("moderation: blocked")
	// ErrInvalidConfig: a constructor was given an invalid configuration;
	// the error is a [*ConfigError] that says which part.
	ErrInvalidConfig = errors.New("moderation: invalid config")
	// ErrInvalidList: a word list or allow-list could not be parsed; the
	// error is a [*ParseError] with the line.
	ErrInvalidList = errors.New("moderation: invalid list")
	// ErrFormat: a validator found a format problem; the error is a
	// [*FormatError] that names it.
	ErrFormat = errors.New("moderation: format problem")
	// ErrRemote: the remote moderation call failed (timeout, HTTP error
	// status, unreadable answer); the error is a [*RemoteError]. The
	// remote adapter turns it into an "unavailable" finding by its
	// fail-open or fail-closed policy; the finding's Err holds it.
	ErrRemote = errors.New("moderation: remote check failed")
	// ErrGuardDone: Push or Finish was called on a [Guard] after Finish or
	// after it blocked.
	ErrGuardDone = errors.New("moderation: guard already finished")
)

// BlockedError reports a text the checks blocked. It matches [ErrBlocked].
type BlockedError struct {
	// Verdict is the pipeline's verdict on the text: its action is
	// Block, and its findings say why.
	Verdict Verdict
}

// Error returns a message with the blocked text's reasons.
func (e *BlockedError) Error() string {
	rs := e.Verdict.Reasons()
	if len(rs) == 0 {
		return ErrBlocked.Error()
	}
	return ErrBlocked.Error() + ": " + strings.Join(rs, "; ")
}

// Is reports whether target is [ErrBlocked].
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// ConfigError reports an invalid configuration. It matches
// [ErrInvalidConfig].
type ConfigError struct {
	Field  string // what is wrong, e.g. "RemoteConfig.BaseURL" or "WithValidator"
	Reason string // why it is invalid, e.g. "empty term"
}

// Error returns a message with what is invalid.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("moderation: invalid config: %s: %s", e.Field, e.Reason)
}

// Is reports whether target is [ErrInvalidConfig].
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// ParseError reports a line of a list that could not be parsed. It
// matches [ErrInvalidList].
type ParseError struct {
	Line   int    // 1-based
	Reason string // what is wrong with the line, e.g. "empty term" or "invalid UTF-8"
}

// Error returns a message with the line and what is wrong with it.
func (e *ParseError) Error() string {
	return fmt.Sprintf("moderation: invalid list: line %d: %s", e.Line, e.Reason)
}

// Is reports whether target is [ErrInvalidList].
func (e *ParseError) Is(target error) bool { return target == ErrInvalidList }

// FormatError reports a format problem. It matches [ErrFormat].
type FormatError struct {
	// Validator names the validator: "markdown", "json" or "regex".
	Validator string
	// Problem says what is wrong, e.g. "unbalanced $$",
	// "unclosed code fence", "invalid json", "missing field steps",
	// "wrong type answer", or a regex rule's name.
	Problem string
	// Offset is the byte offset in the text where the problem is, -1 when
	// it concerns the whole text.
	Offset int
}

// Error returns a message with the validator and the problem.
func (e *FormatError) Error() string {
	return fmt.Sprintf("moderation: format problem: %s: %s", e.Validator, e.Problem)
}

// Is reports whether target is [ErrFormat].
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

// RemoteError reports a failed remote moderation call. It matches
// [ErrRemote] and unwraps to the underlying error (a context deadline, a
// network error), if any.
type RemoteError struct {
	StatusCode int   // the HTTP status, 0 when none was received
	Err        error // the cause: the API's error, a network error or ctx's error
}

// Error returns a message with the status and the cause.
func (e *RemoteError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("%v (status %d): %v", ErrRemote, e.StatusCode, e.Err)
	}
	return fmt.Sprintf("%v: %v", ErrRemote, e.Err)
}

// Is reports whether target is [ErrRemote].
func (e *RemoteError) Is(target error) bool { return target == ErrRemote }

// Unwrap returns the underlying error.
func (e *RemoteError) Unwrap() error { return e.Err }

// CheckError reports a check that failed (returned an error other than a
// verdict). It unwraps to the check's error.
type CheckError struct {
	Check string // the failed check's name in the pipeline
	Err   error  // the check's error
}

// Error returns a message with the check and its error.
func (e *CheckError) Error() string { return fmt.Sprintf("moderation: check %s: %v", e.Check, e.Err) }

// Unwrap returns the check's error.
func (e *CheckError) Unwrap() error { return e.Err }
