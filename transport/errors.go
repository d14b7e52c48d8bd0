package transport

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrInvalidOption is matched by every [*ConfigError].
	ErrInvalidOption = errors.New("transport: invalid option")
	// ErrCircuitOpen means the circuit breaker of every endpoint a request
	// could go to is open, so it was not sent.
	ErrCircuitOpen = errors.New("transport: circuit open")
	// ErrClosed means the Transport was closed.
	ErrClosed = errors.New("transport: closed")
)

// ConfigError is an invalid option given to [New].
type ConfigError struct {
	Option string // the option's function name, e.g. "WithPoolSize"
	Reason string // what is wrong with its value
}

// Error describes the problem.
func (e *ConfigError) Error() string {
	return "transport: " + e.Option + ": " + e.Reason
}

// Is reports whether target is [ErrInvalidOption].
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidOption }

// Error is a request that failed without a response: every attempt ended
// in a connection error, or no endpoint was open. It unwraps to the last
// attempt's error (or [ErrCircuitOpen]). A request that got a response,
// even a 429 or a 503 after all retries, returns that response, not an
// error, so that API clients can read the error body.
type Error struct {
	Method   string // the request's HTTP method, e.g. "POST"
	URL      string // the last URL tried
	Attempts int    // attempts sent, hedges included
	Err      error  // the last attempt's error, or ErrCircuitOpen
}

// Error describes the problem.
func (e *Error) Error() string {
	return fmt.Sprintf("transport: %s %s: %d attempts: %v", e.Method, e.URL, e.Attempts, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *Error) Unwrap() error { return e.Err }
