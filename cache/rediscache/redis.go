package rediscache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/redis/go-redis/v9"
)

// Store is the shared exact tier: entries in Redis under a key prefix,
// in a compact versioned form with a checksum, so replicas of a host share
// answers. It works with a single server, Sentinel or a Cluster through
// [redis.UniversalClient].
//
// When Redis fails, the store stops asking it for a while (Backoff, doubling up
// to MaxBackoff) and answers [ErrUnavailable] at once, so a Redis outage
// costs the turns nothing but their cache hits; after the pause one request
// probes it again.
type Store struct {
	c          redis.UniversalClient
	prefix     string
	ttl        time.Duration
	backoff    time.Duration
	maxBackoff time.Duration

	mu        sync.Mutex
	downUntil time.Time
	pause     time.Duration
	probing   bool
}

// Config configures [New]. The zero value is valid.
type Config struct {
	// Prefix is prepended to every key. Default "companion:".
	Prefix string
	// TTL is the entry lifetime used when Set is given none. Default
	// [DefaultTTL] (24 h).
	TTL time.Duration
	// Backoff is how long Redis is skipped after a failure; it doubles
	// with each failed probe up to MaxBackoff. Defaults 250 ms and 5 s.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// New returns a Redis exact tier on client. Give the client short
// timeouts (for example DialTimeout 200 ms, ReadTimeout and WriteTimeout
// 100 ms): a cache that answers late is worse than a miss.
func New(client redis.UniversalClient, cfg Config) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil redis client", cache.ErrInvalidConfig)
	}
	if cfg.TTL < 0 || cfg.Backoff < 0 || cfg.MaxBackoff < 0 {
		return nil, fmt.Errorf("%w: negative Config duration", cache.ErrInvalidConfig)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "companion:"
	}
	if cfg.TTL == 0 {
		cfg.TTL = cache.DefaultTTL
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	return &Store{c: client, prefix: cfg.Prefix, ttl: cfg.TTL, backoff: cfg.Backoff, maxBackoff: max(cfg.MaxBackoff, cfg.Backoff)}, nil
}

// Get returns the entry stored under key. A value that fails to decode is
// deleted and reported as [ErrCorrupt].
func (r *Store) Get(ctx context.Context, key string) (cache.Entry, bool, error) {
	if err := r.admit(); err != nil {
		return cache.Entry{}, false, err
	}
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, r.prefix+key)
		ttl = p.PTTL(ctx, r.prefix+key)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		r.ok()
		return cache.Entry{}, false, nil
	}
	if err != nil {
		return cache.Entry{}, false, r.fail(ctx, err)
	}
	r.ok()
	b, _ := get.Bytes()
	e, err := decodeEntry(b)
	if err != nil {
		_ = r.c.Del(ctx, r.prefix+key).Err()
		return cache.Entry{}, false, fmt.Errorf("%w (key %s)", err, key)
	}
	if d := ttl.Val(); d > 0 {
		e.Expires = time.Now().Add(d)
	}
	return e, true, nil
}

// Set stores e under key for ttl (<= 0: the configured TTL).
func (r *Store) Set(ctx context.Context, key string, e cache.Entry, ttl time.Duration) error {
	if err := r.admit(); err != nil {
		return err
	}
	if ttl <= 0 {
		ttl = r.ttl
	}
	if err := r.c.Set(ctx, r.prefix+key, encodeEntry(&e), ttl).Err(); err != nil {
		return r.fail(ctx, err)
	}
	r.ok()
	return nil
}

// Delete removes the entry under key.
func (r *Store) Delete(ctx context.Context, key string) error {
	if err := r.admit(); err != nil {
		return err
	}
	if err := r.c.Del(ctx, r.prefix+key).Err(); err != nil {
		return r.fail(ctx, err)
	}
	r.ok()
	return nil
}

// Available reports whether Redis is being asked (false while it is skipped
// after a failure).
func (r *Store) Available() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !time.Now().Before(r.downUntil)
}

// admit lets a call through unless Redis is paused; after a pause, one call
// at a time probes it.
func (r *Store) admit() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.downUntil.IsZero() {
		return nil
	}
	if time.Now().Before(r.downUntil) || r.probing {
		return cache.ErrUnavailable
	}
	r.probing = true
	return nil
}

func (r *Store) ok() {
	r.mu.Lock()
	r.downUntil, r.pause, r.probing = time.Time{}, 0, false
	r.mu.Unlock()
}

// fail records a failure. A cancelled caller says nothing about Redis.
func (r *Store) fail(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		r.mu.Lock()
		r.probing = false
		r.mu.Unlock()
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pause = min(max(r.pause*2, r.backoff), r.maxBackoff)
	r.downUntil = time.Now().Add(r.pause)
	r.probing = false
	return fmt.Errorf("cache: redis: %w", err)
}

var _ cache.Store = (*Store)(nil)
