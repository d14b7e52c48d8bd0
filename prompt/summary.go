package prompt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/sync/errgroup"
)

// Summarizer shortens knowledge-base snippets. Summarize returns one
// summary a text, in order. A [Builder] uses summaries in place of
// snippets that are not relevant enough, or too long, to send in full.
// Summaries are meant to be computed ahead of time ([Builder.Prepare]) and
// are cached by content ([SummaryCache]).
type Summarizer interface {
	// Summarize returns one summary per text, in the order of texts, or
	// an error.
	Summarize(ctx context.Context, texts []string) ([]string, error)
}

// Extractive is an offline [Summarizer]: it keeps the sentences of a text
// that share the most words with the rest of it (the first sentence,
// which usually states the topic, counts a little more), in their order.
// The zero value keeps 2 sentences of at most 40 % of the text.
type Extractive struct {
	// Sentences is how many sentences to keep. Default 2.
	Sentences int
	// MaxRatio bounds the summary's length, as a fraction of the text's
	// (in bytes); at least one sentence is kept. Default 0.4.
	MaxRatio float64
}

// Summarize returns the summary of each text. It never fails.
func (e Extractive) Summarize(_ context.Context, texts []string) ([]string, error) {
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = e.Summary(t)
	}
	return out, nil
}

// Summary returns the summary of one text; a text of few sentences is
// returned whole.
func (e Extractive) Summary(text string) string {
	keep := e.Sentences
	if keep <= 0 {
		keep = 2
	}
	ratio := e.MaxRatio
	if ratio <= 0 {
		ratio = 0.4
	}
	sents := sentences(text)
	if len(sents) <= keep {
		return strings.TrimSpace(text)
	}
	// Term frequencies over the whole text.
	all := indexTerms(text)
	scores := make([]float64, len(sents))
	for i, s := range sents {
		ts := indexTerms(s)
		var sum float64
		for _, t := range ts.tf {
			sum += float64(all.freq(t.term) - t.n) // shared with the other sentences
		}
		scores[i] = sum / math.Sqrt(float64(1+len(ts.tf)))
		if i == 0 {
			scores[i] *= 1.25
		}
	}
	budget := int(ratio * float64(len(text)))
	var chosen []int
	size := 0
	for _, i := range order(scores) {
		if len(chosen) == keep {
			break
		}
		if len(chosen) > 0 && size+len(sents[i]) > budget {
			continue
		}
		chosen = append(chosen, i)
		size += len(sents[i])
	}
	slices.Sort(chosen)
	var b strings.Builder
	for _, i := range chosen {
		s := strings.TrimSpace(sents[i])
		if b.Len() > 0 && !startsCJK(s) {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

func startsCJK(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isCJK(r)
}

// sentences splits text after '.', '!', '?' or ';' followed by white space
// (so "9.8" is not split) and after '。', '！', '？' or '；'.
func sentences(text string) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); {
		r, w := utf8.DecodeRuneInString(text[i:])
		i += w
		end := false
		switch r {
		case '。', '！', '？', '；':
			end = true
		case '.', '!', '?', ';':
			next, _ := utf8.DecodeRuneInString(text[i:])
			end = i == len(text) || unicode.IsSpace(next)
		}
		if end {
			if s := strings.TrimSpace(text[start:i]); s != "" {
				out = append(out, s)
			}
			start = i
		}
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// SummaryCache is a [Summarizer] that remembers the summaries of another
// by the content of the text (a 64-bit hash and the length), so each text
// is summarized once. It holds a bounded number of summaries and forgets
// the least recently used first. It is safe for concurrent use.
type SummaryCache struct {
	s     Summarizer
	cache *bounded[string]
}

// NewSummaryCache returns a cache in front of s holding up to entries
// summaries (0 means [DefaultMemoEntries]).
func NewSummaryCache(s Summarizer, entries int) *SummaryCache {
	if entries <= 0 {
		entries = DefaultMemoEntries
	}
	return &SummaryCache{s: s, cache: newBounded[string](entries)}
}

// Cached returns the summary of text if the cache holds it.
func (c *SummaryCache) Cached(text string) (string, bool) {
	return c.cache.get(keyOf(text))
}

// Summarize returns the summaries of texts, asking the underlying
// summarizer, in one call, only for those the cache does not hold.
func (c *SummaryCache) Summarize(ctx context.Context, texts []string) ([]string, error) {
	out := make([]string, len(texts))
	var missing []string
	var at []int
	for i, t := range texts {
		if s, ok := c.cache.get(keyOf(t)); ok {
			out[i] = s
			continue
		}
		missing = append(missing, t)
		at = append(at, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	got, err := c.s.Summarize(ctx, missing)
	if err != nil {
		return nil, err
	}
	if len(got) != len(missing) {
		return nil, fmt.Errorf("prompt: summarizer returned %d summaries for %d texts", len(got), len(missing))
	}
	for j, s := range got {
		c.cache.put(keyOf(missing[j]), s)
		out[at[j]] = s
	}
	return out, nil
}

// ChatClient makes chat completions. go-openai's *openai.Client has this
// method, and so does a *companion.Companion.
type ChatClient interface {
	// CreateChatCompletion sends one chat completion request and returns
	// the model's response, with go-openai's signature.
	CreateChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error)
}

// DefaultSummaryInstructions is the system prompt of [LLMSummarizer].
const DefaultSummaryInstructions = "Summarize the passage the user sends in one or two sentences " +
	"for a tutor who will answer students from it. Keep every formula, number, unit, name and " +
	"definition a question could need; drop examples and explanations. Write in the passage's " +
	"language. Reply with the summary only."

// ErrEmptySummary: the model returned no text for a summary.
var ErrEmptySummary = errors.New("prompt: empty summary")

// LLMSummarizer is a [Summarizer] that asks a chat model for each summary,
// a few requests at a time. Put a [SummaryCache] in front of it (a
// [Builder] does) so that each text is summarized once. For many texts at
// half the price, the Batch API can serve the same requests.
type LLMSummarizer struct {
	// Client makes the requests, for example an *openai.Client. Required.
	Client ChatClient
	// Model is the model asked, for example "gpt-4.1-mini". Required.
	Model string
	// Instructions is the system prompt. Default
	// [DefaultSummaryInstructions].
	Instructions string
	// MaxTokens bounds each summary's completion tokens (reasoning
	// included, for reasoning models). Default 0: the API's limit.
	MaxTokens int
	// Concurrency is how many requests run at once. Default 4.
	Concurrency int
}

// Summarize asks the model for the summary of each text. It returns the
// first error (a failed request, or [ErrEmptySummary]) and stops the
// requests not yet sent.
func (s *LLMSummarizer) Summarize(ctx context.Context, texts []string) ([]string, error) {
	if s.Client == nil || s.Model == "" {
		return nil, errors.New("prompt: LLMSummarizer needs a Client and a Model")
	}
	instr := s.Instructions
	if instr == "" {
		instr = DefaultSummaryInstructions
	}
	out := make([]string, len(texts))
	g, gctx := errgroup.WithContext(ctx)
	limit := s.Concurrency
	if limit <= 0 {
		limit = 4
	}
	g.SetLimit(limit)
	for i, text := range texts {
		g.Go(func() error {
			resp, err := s.Client.CreateChatCompletion(gctx, openai.ChatCompletionRequest{
				Model: s.Model,
				Messages: []openai.ChatCompletionMessage{
					{Role: openai.ChatMessageRoleSystem, Content: instr},
					{Role: openai.ChatMessageRoleUser, Content: text},
				},
				MaxCompletionTokens: s.MaxTokens,
			})
			if err != nil {
				return fmt.Errorf("prompt: summarize text %d: %w", i, err)
			}
			if len(resp.Choices) == 0 || strings.TrimSpace(resp.Choices[0].Message.Content) == "" {
				return fmt.Errorf("%w (text %d)", ErrEmptySummary, i)
			}
			out[i] = strings.TrimSpace(resp.Choices[0].Message.Content)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

var (
	_ Summarizer = Extractive{}
	_ Summarizer = (*SummaryCache)(nil)
	_ Summarizer = (*LLMSummarizer)(nil)
)
