package companion

import (
	"fmt"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Source says where an answer came from.
type Source int

// The sources of an answer.
const (
	// SourceUpstream: the model answered this turn.
	SourceUpstream Source = iota
	// SourceExact: the exact cache held the same question in the same
	// namespace.
	SourceExact
	// SourceSemantic: the semantic cache held a paraphrase; see
	// Answer.Similarity.
	SourceSemantic
	// SourcePrewarmed: the cache held an answer precomputed ahead of time
	// (for example through the Batch API).
	SourcePrewarmed
)

// String returns "upstream", "exact", "semantic" or "prewarmed".
func (s Source) String() string {
	switch s {
	case SourceUpstream:
		return "upstream"
	case SourceExact:
		return "exact"
	case SourceSemantic:
		return "semantic"
	case SourcePrewarmed:
		return "prewarmed"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// Cached reports whether the answer came from a cache.
func (s Source) Cached() bool { return s != SourceUpstream }

// Answer is the tutor's answer to one [Question].
type Answer struct {
	// Text is the answer shown to the student, after post-processing.
	Text string
	// Source says where the answer came from.
	Source Source
	// Similarity is the cosine similarity of a semantic hit, 1 for an
	// exact or prewarmed hit, 0 for an upstream answer.
	Similarity float64
	// Model is the model that produced the answer.
	Model string
	// FinishReason is the upstream's finish reason ("stop", "length", …);
	// "stop" for a cache hit.
	FinishReason string
	// Usage counts the tokens this turn was billed for; zero for a cache
	// hit.
	Usage Usage
	// TokensSaved is how many prompt tokens the prompt stage removed.
	TokensSaved int
	// Cost is the turn's estimated price in US dollars (see [WithPrices]);
	// 0 for a cache hit.
	Cost float64
	// CostSaved is what the cache (the price of the cached answer) and
	// prompt compression (the removed tokens) saved, in US dollars.
	CostSaved float64
	// Coalesced reports an answer shared with a concurrent turn that asked
	// the same question; that turn was billed (Usage is zero here).
	Coalesced bool
	// Attempts is how many upstream attempts the answer took (see
	// [RetryPolicy]); 0 for a cache hit or a coalesced answer.
	Attempts int
	// Verdict is post-processing's verdict: Allow, possibly with reasons
	// (flags), or Rewrite when Text was rewritten. A blocked answer is
	// returned as a [*BlockedError] instead.
	Verdict Verdict
	// Timings measures each stage of the turn.
	Timings Timings

	// resp is the upstream's response when the answer came from a
	// non-streamed call, for the chat-completion mirror to return as the
	// upstream sent it.
	resp *openai.ChatCompletionResponse
}

// Usage counts billed tokens.
type Usage struct {
	PromptTokens       int `json:"prompt_tokens"`        // tokens of the prompt sent, system message and history included
	CompletionTokens   int `json:"completion_tokens"`    // tokens of the answer generated
	TotalTokens        int `json:"total_tokens"`         // PromptTokens + CompletionTokens, as the provider reports it
	CachedPromptTokens int `json:"cached_prompt_tokens"` // of PromptTokens, served from the provider's prompt cache
}

// Timings measures the stages of one turn. A stage that did not run has a
// zero duration.
type Timings struct {
	Cache      time.Duration // cache lookup
	Prompt     time.Duration // prompt build
	Queue      time.Duration // waiting for the limiter
	FirstToken time.Duration // from the start of the turn to the first answer text (for Ask: to the whole answer)
	Upstream   time.Duration // the model call, from request to last byte
	Post       time.Duration // post-processing
	Total      time.Duration // the whole turn
}
