package rediscache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/internal/backoff"
	"github.com/redis/go-redis/v9"
)

// Store is the shared exact tier: entries in Redis under a key prefix,
// in a compact versioned form with a checksum, so replicas of a host share
// answers. It works with a single server, Sentinel or a Cluster through
// [redis.UniversalClient].
//
// When Redis fails, the store stops asking it for a while (Backoff, doubling up
// to MaxBackoff) and answers [cache.ErrUnavailable] at once, so a Redis outage
// costs the turns nothing but their cache hits; after the pause one request
// probes it again.
type Store struct {
	c      redis.UniversalClient
	prefix string
	ttl    time.Duration
	*guard
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
	MaxBackoff time.Duration // the longest pause: the doubling stops there
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
	return &Store{c: client, prefix: cfg.Prefix, ttl: cfg.TTL, guard: newGuard(client, cfg.Backoff, cfg.MaxBackoff)}, nil
}

// Get returns the entry stored under key. A value that fails to decode is
// deleted and reported as [cache.ErrCorrupt].
func (r *Store) Get(ctx context.Context, key string) (cache.Entry, bool, error) {
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	err := r.do(ctx, r.prefix+key, func(ctx context.Context) error {
		_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			get = p.Get(ctx, r.prefix+key)
			ttl = p.PTTL(ctx, r.prefix+key)
			return nil
		})
		if errors.Is(err, redis.Nil) {
			return nil
		}
		return err
	})
	if err != nil {
		return cache.Entry{}, false, err
	}
	b, err := get.Bytes()
	if errors.Is(err, redis.Nil) {
		return cache.Entry{}, false, nil
	}
	e, err := decodeEntry(b)
	if err != nil {
		_ = r.do(ctx, r.prefix+key, func(ctx context.Context) error { return r.c.Del(ctx, r.prefix+key).Err() })
		return cache.Entry{}, false, fmt.Errorf("%w (key %s)", err, key)
	}
	if d := ttl.Val(); d > 0 {
		e.Expires = time.Now().Add(d)
	}
	return e, true, nil
}

// Set stores e under key for ttl (<= 0: the configured TTL).
func (r *Store) Set(ctx context.Context, key string, e cache.Entry, ttl time.Duration) error {
	if ttl <= 0 {
		ttl = r.ttl
	}
	b := encodeEntry(&e)
	return r.do(ctx, r.prefix+key, func(ctx context.Context) error { return r.c.Set(ctx, r.prefix+key, b, ttl).Err() })
}

// Delete removes the entry under key.
func (r *Store) Delete(ctx context.Context, key string) error {
	return r.do(ctx, r.prefix+key, func(ctx context.Context) error { return r.c.Del(ctx, r.prefix+key).Err() })
}

// Available reports whether Redis is being asked (false while it is
// skipped after a failure; in a Cluster, while any of its masters is).
func (r *Store) Available() bool { return !r.paused(time.Now()) }

// guard cuts calls to Redis at the caller's deadline and pauses Redis
// after a failure: the whole of it, or in a Cluster the one master that
// failed, so that a master's failover costs the hits of its own slots
// only.
type guard struct {
	base, limit time.Duration
	pause       *backoff.Pause // a single server's, or of a Cluster's keyless calls
	// cluster is the client when it is a Cluster's. After a failure it is
	// told to reload the cluster's layout, since go-redis otherwise keeps
	// sending a dead master's slots to it until its next periodic reload
	// (ClusterStateReloadInterval, 60 s by default): a replica promoted
	// in two seconds would go unused for a minute.
	cluster *redis.ClusterClient
	masters sync.Map // a Cluster master's address → *backoff.Pause
}

// newGuard returns the guard of calls to client.
func newGuard(client redis.UniversalClient, base, limit time.Duration) *guard {
	cc, _ := client.(*redis.ClusterClient)
	limit = max(limit, base)
	return &guard{base: base, limit: limit, pause: &backoff.Pause{Base: base, Max: limit}, cluster: cc}
}

// pauseFor returns the pause that governs a call on key: in a Cluster,
// that of the master serving key's slot as the client knows it.
func (r *guard) pauseFor(ctx context.Context, key string) *backoff.Pause {
	if r.cluster == nil || key == "" {
		return r.pause
	}
	node, err := r.cluster.MasterForKey(ctx, key)
	if err != nil {
		return r.pause
	}
	addr := node.Options().Addr
	if p, ok := r.masters.Load(addr); ok {
		return p.(*backoff.Pause)
	}
	p, _ := r.masters.LoadOrStore(addr, &backoff.Pause{Base: r.base, Max: r.limit})
	return p.(*backoff.Pause)
}

// paused reports whether any pause is on at now.
func (r *guard) paused(now time.Time) bool {
	if r.pause.Paused(now) {
		return true
	}
	on := false
	r.masters.Range(func(_, p any) bool {
		on = p.(*backoff.Pause).Paused(now)
		return !on
	})
	return on
}

// do runs one call to Redis on key ("" for none) unless Redis, or key's
// master, is paused ([cache.ErrUnavailable] then), and returns when the
// call does or when ctx ends, whichever comes first: go-redis waits for
// its own read and write timeouts, not for the context, unless the
// client was built with ContextTimeoutEnabled, so a hung server would
// otherwise hold the turn for seconds. An abandoned call finishes in the
// background within the client's timeouts.
//
// A failure, or a call still running at ctx's deadline, pauses Redis (in
// a Cluster, key's master) and has a Cluster's client reload its layout
// (in the background, at most every 200 ms): a server slower than the
// caller's deadline is as good as down. A caller that cancels says
// nothing about Redis.
func (r *guard) do(ctx context.Context, key string, call func(context.Context) error) error {
	pause := r.pauseFor(ctx, key)
	if !pause.Admit(time.Now()) {
		return cache.ErrUnavailable
	}
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	switch {
	case err == nil:
		pause.Success()
		return nil
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		pause.Abandon()
		return err
	}
	pause.Failure(time.Now())
	if r.cluster != nil {
		r.cluster.ReloadState(context.Background())
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return fmt.Errorf("cache: redis: no answer within the caller's deadline: %w", err)
	}
	return fmt.Errorf("cache: redis: %w", err)
}

var _ cache.Store = (*Store)(nil)
