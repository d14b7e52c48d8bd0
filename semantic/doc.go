// Package semantic is the semantic answer cache of a tutoring turn: after
// an exact miss it finds a cached question that asks the same thing in
// other words, by embedding the question and searching the namespace's
// vector index, and serves its answer only when guards agree that the two
// questions ask the same thing.
//
// The threshold belongs to the embedder: 0.92 for OpenAI embeddings
// ([NewOpenAIEmbedder]); 0.65 for the default local, lexical embedder
// ([NewLocalEmbedder]), which on the labelled pairs in testdata hits 23 %
// of paraphrases at 0.92 and 67 % at 0.65, with no false hit at either. The
// guards (numbers, units, formulas, negation, contrast terms, order, key
// terms) keep the hard negatives out whatever the threshold: without them
// 47 % of the different pairs would hit at 0.65.
//
// Entries and namespaces are the cache package's ([cache.Entry],
// [cache.Namespace]); each namespace has its own index, exact while small
// and an HNSW graph once it grows (see [WithIndex]). Package rediscache
// shares a semantic tier between replicas through Redis.
package semantic
