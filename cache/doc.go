// Package cache holds the exact answer caches of a tutoring turn and their
// keys: a [Store] is an exact tier, in memory on ristretto ([Memory]) or,
// with memory in front, in front of another store ([Tiered]); the shared
// tier on Redis is package rediscache, a module of its own so that users
// who don't use Redis don't compile or list go-redis. The semantic tier,
// which finds paraphrases, is package semantic.
//
// Keys are deterministic: [Key] hashes a canonical serialization of the
// namespace (model, system prompt, subject, grade, tenant, locale, history
// digest) and the [Normalize]d question, so every process of a host
// computes the same key for the same request, and one tenant never reads
// another's entries.
package cache
