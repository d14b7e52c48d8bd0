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
//
// # Keys
//
// Every command touches one key, so every operation is valid in a Cluster
// whatever slots its keys hash to; no hash tag is needed, and the keys
// spread over the masters. (Shared used to write a record and its
// announcement in one MULTI, which a Cluster refuses with CROSSSLOT
// unless both share a hash tag; a tag common to the stream and every
// record would have put the whole tier on one master. It now writes the
// record, then announces it.) With the default prefixes:
//
//	key                                      type    size                              TTL
//	companion:<namespace>:<question hash>    string  the entry: ~20 B + answer,        the entry's (24 h
//	  (Store; both parts 32 hex digits)              question and model                by default)
//	companion:sem:r:<namespace>:<hash>       string  a record: ~110 B + 4 B per        the entry's
//	  (Shared, one per semantic entry)               dimension (512 B at 128) + entry
//	companion:sem:stream                     stream  one announcement per Add          none; trimmed to
//	  (Shared)                                       (~140 B: record key, origin)      MaxStreamLen (~100 000)
//
// Measured on the load test's traffic (go run ./examples/loadtest
// -scenario replicas), 100 000 semantic entries take 159 MiB of Redis
// memory, records and stream, across the masters.
//
// # Cluster and failover
//
// In a Cluster, a failure pauses only the master that failed (keyed by
// its address), and tells the client to reload the cluster's layout:
// go-redis otherwise keeps sending a dead master's slots to it until
// ClusterStateReloadInterval (60 s by default) passes. When a master
// dies, the turns whose keys it held miss until its replica takes over
// (cluster-node-timeout plus the election: 2.2–2.5 s with a 1 s node
// timeout in TestCluster/Failover, where 0 turns fail); the other
// masters' keys miss too while the cluster reports itself down (from
// the node timeout to the promotion, with Redis' default
// cluster-require-full-coverage). The local memory and semantic tiers
// keep serving throughout.
//
// # Where this design stops
//
// Every replica holds every semantic vector, with its entry, in memory:
// 152 MiB of Go heap per 100 000 entries (128-dimension local embedder,
// the load test's answers), and a new replica loads 100 000 entries from
// a Cluster in 1.2 s (6 s while the machine's two cores were busy). That is sensible up to a few hundred thousand
// entries per replica, while the shared tier's memory is small beside the
// replica's own; at a million entries it is 1.5 GiB in every replica and
// a minute to start, and with 1 536-dimension OpenAI embeddings twelve
// times the vector memory. Past that point, keep the vectors in a vector
// store (Redis' own vector search, pgvector, a dedicated service) behind
// the semantic package's VectorIndex interface (internal to it today:
// exporting it with an option that takes an implementation is that
// step), so that replicas share one index instead of each holding a
// copy.
package rediscache
