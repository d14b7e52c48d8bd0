package batch

import (
	"errors"
	"fmt"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// Errors of the batch package.
var (
	// ErrFailed matches the [*BatchError] of a batch whose input failed
	// validation.
	ErrFailed = errors.New("batch: batch failed")
	// ErrExpired matches the [*BatchError] of a batch that did not finish
	// within its completion window.
	ErrExpired = errors.New("batch: batch expired")
	// ErrCancelled matches the [*BatchError] of a cancelled batch.
	ErrCancelled = errors.New("batch: batch cancelled")
	// ErrMalformedLine matches a [*LineError]: a line of an output or
	// error file that is not what the API documents.
	ErrMalformedLine = errors.New("batch: malformed line")
	// ErrNoResult: neither the output nor the error file of a completed
	// batch holds a line for the request.
	ErrNoResult = errors.New("batch: no result for request")
	// ErrTooLarge: the request's JSONL line alone is larger than the file
	// size limit ([WithMaxFileBytes]); it was not sent.
	ErrTooLarge = errors.New("batch: request larger than the file size limit")
	// ErrInvalidRequest: a [Job] cannot be sent as it is (no requests, a
	// duplicate custom_id, a streaming request, no messages).
	ErrInvalidRequest = errors.New("batch: invalid request")
	// ErrInvalidConfig: an option was given an invalid value.
	ErrInvalidConfig = errors.New("batch: invalid config")
)

// BatchError is a batch that ended without completing: Status is "failed",
// "expired" or "cancelled". It matches [ErrFailed], [ErrExpired] or
// [ErrCancelled] with errors.Is.
type BatchError struct {
	// ID is the batch's ID.
	ID string
	// Status is the batch's final status: StatusFailed, StatusExpired or
	// StatusCancelled.
	Status string
	// Errors are the API's reasons, for a failed batch: the validation
	// errors of its input file.
	Errors []Problem
}

// Problem is one of the API's reasons for a failed batch.
type Problem struct {
	Code    string // the API's code for the reason
	Message string // the API's explanation, for people
	Param   string // the offending parameter, if any
	Line    int    // 1-based line of the input file, 0 if none
}

// Error names the batch, its status and its first reasons.
func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "batch: %s %s", e.ID, e.Status)
	for i, p := range e.Errors {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Errors)-i)
			break
		}
		sep := ": "
		if i > 0 {
			sep = "; "
		}
		b.WriteString(sep)
		if p.Line > 0 {
			fmt.Fprintf(&b, "line %d: ", p.Line)
		}
		b.WriteString(p.Code)
		if p.Message != "" {
			b.WriteString(" ")
			b.WriteString(p.Message)
		}
	}
	return b.String()
}

// Is matches the sentinel of e's status.
func (e *BatchError) Is(target error) bool {
	switch e.Status {
	case StatusFailed:
		return target == ErrFailed
	case StatusExpired:
		return target == ErrExpired
	case StatusCancelled:
		return target == ErrCancelled
	}
	return false
}

// ItemError is the API's error for one request of a batch: a response
// with a status other than 200, or a line of the error file with no
// response (Code "batch_expired", for example; StatusCode is then 0).
type ItemError struct {
	CustomID   string // the failed request's [Request.CustomID]
	StatusCode int    // the response's HTTP status, 0 if there was none
	Code       string // the API's error code, if any
	Type       string // the API's error type, if any
	Message    string // the API's explanation, for people
	RequestID  string // the API's request id, if any
}

// Error names the request, its status, code and message.
func (e *ItemError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "batch: request %q", e.CustomID)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": status %d", e.StatusCode)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// Unwrap returns the error as go-openai's [*openai.APIError], so that code
// written for go-openai's errors reaches it with errors.As.
func (e *ItemError) Unwrap() error {
	var code any
	if e.Code != "" {
		code = e.Code
	}
	return &openai.APIError{Code: code, Message: e.Message, Type: e.Type, HTTPStatusCode: e.StatusCode}
}

// LineError is a line of a batch output or error file that could not be
// parsed. It matches [ErrMalformedLine].
type LineError struct {
	File     string // the file's id
	Line     int    // 1-based
	CustomID string // the line's custom_id when it could be recovered, else ""
	Reason   string // what is wrong
}

// Error names the file, the line and what is wrong with it.
func (e *LineError) Error() string {
	s := fmt.Sprintf("batch: malformed line %d of file %s: %s", e.Line, e.File, e.Reason)
	if e.CustomID != "" {
		s += fmt.Sprintf(" (custom_id %q)", e.CustomID)
	}
	return s
}

// Is matches [ErrMalformedLine].
func (e *LineError) Is(target error) bool { return target == ErrMalformedLine }
