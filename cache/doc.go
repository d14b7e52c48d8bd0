// Package cache holds the answer caches of a tutoring turn: an exact tier
// (in memory on ristretto, shared through Redis, or both, memory in front),
// keyed by a [Namespace] and the normalized question, and a semantic tier
// that finds paraphrases by embedding and serves them only when guards
// agree that the two questions ask the same thing.
//
// Keys are deterministic: [Key] hashes a canonical serialization of the
// namespace (model, system prompt, subject, grade, tenant, locale, history
// digest) and the [Normalize]d question, so every process of a host
// computes the same key for the same request, and one tenant never reads
// another's entries.
package cache
