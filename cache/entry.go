package cache

import (
	"context"
	"errors"
	"time"
)

// Entry is a cached answer.
type Entry struct {
	// Answer is the answer's text.
	Answer string
	// Question is the question as asked (not normalized); the semantic
	// tier's guards compare it with a new question.
	Question string
	// Model is the model that produced the answer.
	Model string
	// Prewarmed marks an answer computed ahead of time (for example
	// through the Batch API) rather than for a student's turn.
	Prewarmed bool
	// PromptTokens and CompletionTokens are what producing the answer
	// cost, so that a hit can report what it saved.
	PromptTokens     int
	CompletionTokens int // tokens of the answer, as the upstream billed them
	// Created is when the answer was produced.
	Created time.Time
	// Expires is when the entry expires, as a tier reports it on Get; zero
	// when unknown or never.
	Expires time.Time
}

// Store is an exact tier: answers by key. Get reports a miss as ok ==
// false with a nil error; an error means the tier could not answer (the
// caller treats it as a miss). Implementations are safe for concurrent
// use.
type Store interface {
	// Get returns the entry stored under key: ok false and a nil error on
	// a miss (an expired entry is a miss), a non-nil error when the tier
	// could not answer.
	Get(ctx context.Context, key string) (e Entry, ok bool, err error)
	// Set stores e under key for ttl; ttl <= 0 means [DefaultTTL].
	Set(ctx context.Context, key string, e Entry, ttl time.Duration) error
	// Delete removes the entry under key; deleting a key that is not
	// there is not an error.
	Delete(ctx context.Context, key string) error
}

// size is an entry's cost in bytes for a memory bound: its strings plus
// the fixed part.
func (e *Entry) size() int64 {
	return int64(len(e.Answer)+len(e.Question)+len(e.Model)) + 96
}

// Errors of the cache package.
var (
	// ErrCorrupt: a stored value failed its checksum or could not be
	// decoded; the entry is treated as a miss and deleted.
	ErrCorrupt = errors.New("cache: corrupt entry")
	// ErrInvalidConfig: a constructor was given an invalid setting.
	ErrInvalidConfig = errors.New("cache: invalid config")
	// ErrUnavailable: a tier is skipping its backend after a failure
	// (package rediscache's Redis store, paused with backoff); the caller
	// treats it as a miss, and a turn's cache stage does not log it.
	ErrUnavailable = errors.New("cache: tier unavailable")
)

// DefaultTTL is how long an entry lives when no TTL is given: 24 hours,
// the life of a prewarmed answer.
const DefaultTTL = 24 * time.Hour
