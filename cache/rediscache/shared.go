package rediscache

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/internal/backoff"
	"github.com/companion-go/companion/semantic"
	"github.com/redis/go-redis/v9"
)

// Shared shares a [Semantic] tier between the replicas of a host through
// Redis. Each entry added on one replica is stored in Redis with its vector
// (so no replica embeds it again) under its TTL, and announced on a Redis
// Stream; every replica reads the stream and adds what the others announce
// to its own in-memory index, within a few milliseconds of the
// announcement (at most ReadBlock when idle). A replica that starts late
// loads what Redis holds first, then follows the stream from the point it
// started loading, so nothing is missed between the two.
//
// Lookups are local and never touch Redis. If Redis fails, Add still adds
// locally and returns the Redis error; the reader retries with backoff and
// resumes where it stopped. Close stops the reader.
type Shared struct {
	*semantic.Semantic
	rc        redis.UniversalClient
	prefix    string
	stream    string
	maxLen    int64
	block     time.Duration
	origin    string
	cancel    context.CancelFunc
	done      chan struct{}
	applied   atomic.Int64
	readErrs  atomic.Int64
	closeOnce sync.Once
	*guard
}

// SharedConfig configures [NewShared]. The zero value is valid.
type SharedConfig struct {
	// Prefix is prepended to the records' keys and the stream's. Default
	// "companion:sem:".
	Prefix string
	// MaxStreamLen caps the announcement stream (approximately, with
	// MAXLEN ~). Default 100 000.
	MaxStreamLen int64
	// ReadBlock is how long one read of the stream waits for news.
	// Default 500 ms.
	ReadBlock time.Duration
	// Backoff is how long Add skips Redis after a failure; it doubles
	// with each failed probe up to MaxBackoff. Defaults 250 ms and 5 s.
	Backoff    time.Duration
	MaxBackoff time.Duration // the longest pause: the doubling stops there
}

// NewShared loads the records Redis holds into s and starts following the
// announcement stream in the background. ctx bounds the initial load only.
func NewShared(ctx context.Context, s *semantic.Semantic, client redis.UniversalClient, cfg SharedConfig) (*Shared, error) {
	if s == nil || client == nil {
		return nil, fmt.Errorf("%w: NewShared needs a semantic.Semantic and a Redis client", cache.ErrInvalidConfig)
	}
	if cfg.MaxStreamLen < 0 || cfg.ReadBlock < 0 || cfg.Backoff < 0 || cfg.MaxBackoff < 0 {
		return nil, fmt.Errorf("%w: negative SharedConfig field", cache.ErrInvalidConfig)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "companion:sem:"
	}
	if cfg.MaxStreamLen == 0 {
		cfg.MaxStreamLen = 100_000
	}
	if cfg.ReadBlock == 0 {
		cfg.ReadBlock = 500 * time.Millisecond
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	sh := &Shared{
		Semantic: s, rc: client, prefix: cfg.Prefix, stream: cfg.Prefix + "stream",
		maxLen: cfg.MaxStreamLen, block: cfg.ReadBlock, origin: hex.EncodeToString(id[:]),
		done:  make(chan struct{}),
		guard: newGuard(client, cfg.Backoff, cfg.MaxBackoff),
	}
	// Where the stream is now: what comes after is read by the follower,
	// what came before is in the records loaded next.
	last := "0-0"
	msgs, err := client.XRevRangeN(ctx, sh.stream, "+", "-", 1).Result()
	if err != nil {
		return nil, fmt.Errorf("cache: shared semantic: %w", err)
	}
	if len(msgs) > 0 {
		last = msgs[0].ID
	}
	if err := sh.load(ctx); err != nil {
		return nil, err
	}
	fctx, cancel := context.WithCancel(context.Background())
	sh.cancel = cancel
	go sh.follow(fctx, last)
	return sh, nil
}

// Add adds e locally, then stores its record in Redis and announces it on
// the stream: two commands of one key each (the record, then the
// announcement, so that a replica reading the announcement finds the
// record), valid in a Cluster whatever slots the two keys hash to. The
// calls to Redis end at ctx's deadline; after a failure Redis is skipped
// for a while (as [Store] does) and Add returns [cache.ErrUnavailable]
// at once, keeping the entry locally.
func (sh *Shared) Add(ctx context.Context, ns cache.Namespace, e cache.Entry, ttl time.Duration) error {
	nsID, r, err := sh.NewRecord(ctx, ns, e, ttl)
	if err != nil {
		return err
	}
	if err := sh.Put(nsID, r); err != nil {
		return err
	}
	// The record lives in Redis as long as in the index (NewRecord has
	// resolved a zero ttl to the tier's own).
	life := time.Duration(0)
	if !r.Expires.IsZero() {
		if life = time.Until(r.Expires); life <= 0 {
			return nil
		}
	}
	key := sh.recordKey(r.ID)
	b := encodeRecord(nsID, &r)
	err = sh.do(ctx, key, func(ctx context.Context) error { return sh.rc.Set(ctx, key, b, life).Err() })
	if err == nil {
		err = sh.do(ctx, sh.stream, func(ctx context.Context) error {
			return sh.rc.XAdd(ctx, &redis.XAddArgs{Stream: sh.stream, MaxLen: sh.maxLen, Approx: true,
				Values: []any{"key", key, "origin", sh.origin}}).Err()
		})
	}
	if err != nil {
		return fmt.Errorf("cache: shared semantic: %w", err)
	}
	return nil
}

// recordKey is the Redis key of the record with the given id (which
// starts with its namespace's ID, see [cache.KeyIn]).
func (sh *Shared) recordKey(id string) string { return sh.prefix + "r:" + id }

// Applied returns how many records from other replicas were added.
func (sh *Shared) Applied() int64 { return sh.applied.Load() }

// Close stops following the stream; it does not touch Redis or the local
// entries.
func (sh *Shared) Close() error {
	sh.closeOnce.Do(func() {
		sh.cancel()
		<-sh.done
	})
	return nil
}

// load adds every record Redis holds: in a Cluster, those of every
// master, read in parallel (a SCAN reaches one node only).
func (sh *Shared) load(ctx context.Context) error {
	var err error
	if cc, ok := sh.rc.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return sh.loadFrom(ctx, node) })
	} else {
		err = sh.loadFrom(ctx, sh.rc)
	}
	if err != nil {
		return fmt.Errorf("cache: shared semantic: load: %w", err)
	}
	return nil
}

// loadPage is how many keys one SCAN step asks for, and so how many GETs
// one pipeline sends.
const loadPage = 1000

// loadFrom adds the records of one server (a whole Redis, or one master
// of a Cluster).
func (sh *Shared) loadFrom(ctx context.Context, c redis.Cmdable) error {
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, sh.prefix+"r:*", loadPage).Result()
		if err != nil {
			return err
		}
		if err := sh.applyAll(ctx, c, keys); err != nil {
			return err
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// applyAll reads the records under keys in one pipeline and adds them; a
// record that is gone (expired) or corrupt is skipped.
func (sh *Shared) applyAll(ctx context.Context, c redis.Cmdable, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	for _, cmd := range cmds {
		b, err := cmd.Bytes()
		if err != nil {
			continue
		}
		nsID, r, err := decodeRecord(b)
		if err != nil {
			continue
		}
		if sh.Put(nsID, r) == nil {
			sh.applied.Add(1)
		}
	}
	return nil
}

// follow reads the stream from after id until ctx is done.
func (sh *Shared) follow(ctx context.Context, id string) {
	defer close(sh.done)
	failures := 0
	for ctx.Err() == nil {
		streams, err := sh.rc.XRead(ctx, &redis.XReadArgs{Streams: []string{sh.stream, id}, Count: 256, Block: sh.block}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		var keys []string
		if err == nil {
			last := id
			for _, st := range streams {
				for _, m := range st.Messages {
					last = m.ID
					if m.Values["origin"] == sh.origin {
						continue
					}
					if key, ok := m.Values["key"].(string); ok {
						keys = append(keys, key)
					}
				}
			}
			if err = sh.applyAll(ctx, sh.rc, keys); err == nil {
				id = last
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			sh.readErrs.Add(1)
			if sh.cluster != nil {
				sh.cluster.ReloadState(ctx)
			}
			if backoff.Sleep(ctx, backoff.Exponential(50*time.Millisecond, 2*time.Second, failures)) != nil {
				return
			}
			failures++
			continue
		}
		failures = 0
	}
}

// The stored form of a record: 's' | version 1 | expires (varint unix ms,
// 0 for never) | namespace id, record id (uvarint length + bytes) |
// dimensions (uvarint) | float32 little-endian vector | the entry's own
// stored form (see codec.go) | CRC-32C of all before.
func encodeRecord(nsID string, r *semantic.Record) []byte {
	entry := encodeEntry(&r.Entry)
	b := make([]byte, 0, 2+3*binary.MaxVarintLen64+len(nsID)+len(r.ID)+4*len(r.Vector)+len(entry)+4)
	b = append(b, 's', 1)
	var exp int64
	if !r.Expires.IsZero() {
		exp = r.Expires.UnixMilli()
	}
	b = binary.AppendVarint(b, exp)
	for _, s := range []string{nsID, r.ID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Vector)))
	for _, f := range r.Vector {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	b = append(b, entry...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeRecord(b []byte) (string, semantic.Record, error) {
	if len(b) < 2+4 || b[0] != 's' || b[1] != 1 {
		return "", semantic.Record{}, fmt.Errorf("%w: not a semantic record", cache.ErrCorrupt)
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return "", semantic.Record{}, fmt.Errorf("%w: record checksum mismatch", cache.ErrCorrupt)
	}
	p := body[2:]
	exp, n := binary.Varint(p)
	if n <= 0 {
		return "", semantic.Record{}, fmt.Errorf("%w: bad expiry", cache.ErrCorrupt)
	}
	p = p[n:]
	var r semantic.Record
	if exp != 0 {
		r.Expires = time.UnixMilli(exp)
	}
	var nsID string
	for _, dst := range []*string{&nsID, &r.ID} {
		l, n := binary.Uvarint(p)
		if n <= 0 || l > uint64(len(p)-n) {
			return "", semantic.Record{}, fmt.Errorf("%w: bad length", cache.ErrCorrupt)
		}
		*dst = string(p[n : n+int(l)])
		p = p[n+int(l):]
	}
	dim, n := binary.Uvarint(p)
	if n <= 0 || dim > uint64(len(p)-n)/4 {
		return "", semantic.Record{}, fmt.Errorf("%w: bad dimensions", cache.ErrCorrupt)
	}
	p = p[n:]
	r.Vector = make([]float32, dim)
	for i := range r.Vector {
		r.Vector[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	e, err := decodeEntry(p[4*dim:])
	if err != nil {
		return "", semantic.Record{}, err
	}
	r.Entry = e
	return nsID, r, nil
}
