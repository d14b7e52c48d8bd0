// Package semantic is the semantic answer cache of a tutoring turn: after
// an exact miss it finds a cached question that asks the same thing in
// other words, by embedding the question and searching the namespace's
// vector index, and serves its answer only when it can explain every
// difference between the two questions ([Explain]): question frames and
// fillers, inflection and spelling, numbers in digits, words or Chinese
// numerals, formulas in symbols or words, units and curated synonyms,
// with the same content words, numbers, units and formulas in the same
// order. What the rules cannot explain is a miss with a [Reason], or goes
// to a [Verifier] ([WithVerifier]) under an error bound ([WithMaxError]).
// The lexicons are data files embedded in the package (lexicon/).
//
// [Semantic.LookupDecision] and [Semantic.Match] tell why a question hit
// or missed; [SemanticStats] counts lookups by reason, verified lookups
// and the estimated error. The quality measurements, on a tuning part
// and a held-out part of each data set, are in the README and asserted
// by quality_test.go.
//
// Entries and namespaces are the cache package's ([cache.Entry],
// [cache.Namespace]); each namespace has its own index, exact while small
// and an HNSW graph once it grows (see [WithIndex]). Package rediscache
// shares a semantic tier between replicas through Redis.
package semantic
