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
//
// The semantic tier's threshold belongs to its embedder: 0.92 for OpenAI
// embeddings ([NewOpenAIEmbedder]); 0.65 for the default local, lexical
// embedder ([NewLocalEmbedder]), which on the labelled pairs in testdata
// hits 23 % of paraphrases at 0.92 and 67 % at 0.65, with no false hit at
// either. The guards (numbers, units, formulas, negation, contrast terms,
// order, key terms) keep the hard negatives out whatever the threshold:
// without them 47 % of the different pairs would hit at 0.65.
//
// [Shared] shares a semantic tier between replicas through Redis.
package cache
