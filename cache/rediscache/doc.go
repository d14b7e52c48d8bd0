// Package rediscache keeps a tutoring service's answer caches in Redis, so
// that its replicas share them: [Store] is the shared exact tier (a
// cache.Store, usually behind a memory tier with cache.NewTiered), and
// [Shared] shares a semantic tier, each replica keeping its own index and
// following the others' additions through a Redis stream.
//
// It is a module of its own (github.com/companion-go/companion/cache/rediscache),
// so that hosts that don't use Redis neither compile nor list go-redis.
// Both types take any [redis.UniversalClient]: a single server, Sentinel or
// a Cluster. A Redis that fails costs turns their cache hits, never the
// turn: the store pauses with backoff and answers cache.ErrUnavailable,
// which the cache stage treats as a miss.
package rediscache
