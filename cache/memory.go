package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// Memory is the in-process exact tier, on ristretto: bounded by the bytes
// of its entries, with TinyLFU admission and per-entry TTL. It is safe for
// concurrent use; Close it to stop its goroutines.
type Memory struct {
	c   *ristretto.Cache[string, *Entry]
	ttl time.Duration
}

// MemoryConfig configures [NewMemory]. The zero value is valid.
type MemoryConfig struct {
	// MaxBytes bounds the bytes of the entries held (answer, question and
	// model text plus a fixed 96 bytes each). Default 256 MiB.
	MaxBytes int64
	// TTL is the entry lifetime used when Set is given none. Default
	// [DefaultTTL] (24 h).
	TTL time.Duration
	// ExpectedEntries sizes the admission counters. Default MaxBytes / 2 KiB.
	ExpectedEntries int64
}

// NewMemory returns an in-memory exact tier.
func NewMemory(cfg MemoryConfig) (*Memory, error) {
	if cfg.MaxBytes < 0 || cfg.TTL < 0 || cfg.ExpectedEntries < 0 {
		return nil, fmt.Errorf("%w: negative MemoryConfig field: %+v", ErrInvalidConfig, cfg)
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 256 << 20
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.ExpectedEntries == 0 {
		cfg.ExpectedEntries = max(cfg.MaxBytes/2048, 100)
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, *Entry]{
		NumCounters:        cfg.ExpectedEntries * 10,
		MaxCost:            cfg.MaxBytes,
		BufferItems:        64,
		Cost:               func(e *Entry) int64 { return e.size() },
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return &Memory{c: c, ttl: cfg.TTL}, nil
}

// Get returns the entry stored under key.
func (m *Memory) Get(_ context.Context, key string) (Entry, bool, error) {
	e, ok := m.c.Get(key)
	if !ok {
		return Entry{}, false, nil
	}
	return *e, true, nil
}

// Set stores e under key for ttl (<= 0: the configured TTL). It returns
// once the entry is visible to Get, or dropped by the admission policy.
func (m *Memory) Set(_ context.Context, key string, e Entry, ttl time.Duration) error {
	if ttl <= 0 {
		ttl = m.ttl
	}
	if e.Expires.IsZero() || time.Until(e.Expires) > ttl {
		e.Expires = time.Now().Add(ttl)
	}
	m.c.SetWithTTL(key, &e, 0, time.Until(e.Expires))
	m.c.Wait()
	return nil
}

// Delete removes the entry under key.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.c.Del(key)
	return nil
}

// Close stops the cache's goroutines and drops its entries.
func (m *Memory) Close() { m.c.Close() }

var _ Store = (*Memory)(nil)
