package prompt

import "fmt"

// Defaults of the [Builder]'s options, in one place.
const (
	// DefaultBudget is the default of [WithBudget]: the tokens of a whole
	// exchange, prompt and answer.
	DefaultBudget = 2000
	// DefaultReserve is the default of [WithReserve]: the tokens kept for
	// the answer, so prompts get at most DefaultBudget − DefaultReserve.
	DefaultReserve = 500
	// DefaultTopExamples is the default of [WithTopExamples].
	DefaultTopExamples = 3
	// DefaultFullSnippets is the default of [WithFullSnippets].
	DefaultFullSnippets = 1
	// DefaultKeepTurns is the default of [WithKeepTurns].
	DefaultKeepTurns = 6
)

// Option configures a [Builder]. Options are made by the With… functions
// of this package and applied in order.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	budget, reserve int
	topExamples     int
	fullSnippets    int
	keepTurns       int
	embedder        Embedder
	summarizer      Summarizer
	memoEntries     int
	errs            []error
}

func defaultConfig() config {
	return config{
		budget:       DefaultBudget,
		reserve:      DefaultReserve,
		topExamples:  DefaultTopExamples,
		fullSnippets: DefaultFullSnippets,
		keepTurns:    DefaultKeepTurns,
		summarizer:   Extractive{},
		memoEntries:  DefaultMemoEntries,
	}
}

func (c *config) fail(option, format string, args ...any) {
	c.errs = append(c.errs, &ConfigError{Option: option, Reason: fmt.Sprintf(format, args...)})
}

// WithBudget sets the tokens of a whole exchange: the prompt may use the
// budget less the reserve ([WithReserve]), and never more. An [Input] may
// set its own. Default [DefaultBudget] (2000).
func WithBudget(tokens int) Option {
	return optionFunc(func(c *config) {
		if tokens <= 0 {
			c.fail("WithBudget", "must be positive, got %d", tokens)
			return
		}
		c.budget = tokens
	})
}

// WithReserve sets the tokens of the budget kept for the answer; it must
// be less than the budget. An [Input] may set its own. Default
// [DefaultReserve] (500).
func WithReserve(tokens int) Option {
	return optionFunc(func(c *config) {
		if tokens < 0 {
			c.fail("WithReserve", "must not be negative, got %d", tokens)
			return
		}
		c.reserve = tokens
	})
}

// WithTopExamples sets how many worked examples, the most relevant to the
// question, the prompt keeps; 0 keeps none. Default [DefaultTopExamples]
// (3).
func WithTopExamples(k int) Option {
	return optionFunc(func(c *config) {
		if k < 0 {
			c.fail("WithTopExamples", "must not be negative, got %d", k)
			return
		}
		c.topExamples = k
	})
}

// WithFullSnippets sets how many snippets, the most relevant to the
// question, go in full text when they fit (with any others scoring within
// 10 % of the best); the others go as their summaries. 0 sends only
// summaries; -1 sends every snippet in full when it fits. Default
// [DefaultFullSnippets] (1).
func WithFullSnippets(n int) Option {
	return optionFunc(func(c *config) {
		if n < -1 {
			c.fail("WithFullSnippets", "must be -1 or more, got %d", n)
			return
		}
		c.fullSnippets = n
	})
}

// WithKeepTurns sets how many of the latest history messages the prompt
// keeps (fewer when the budget is short); older ones are dropped, except
// system and developer messages. -1 keeps all that fit. Default
// [DefaultKeepTurns] (6).
func WithKeepTurns(n int) Option {
	return optionFunc(func(c *config) {
		if n < -1 {
			c.fail("WithKeepTurns", "must be -1 or more, got %d", n)
			return
		}
		c.keepTurns = n
	})
}

// WithEmbedder ranks snippets and examples by the cosine similarity of
// their embeddings to the question's; the embeddings of snippets and
// examples are cached by content. If the embedder fails, the builder
// ranks with BM25 and says so in the report. Default: none, BM25 over
// words, and character pairs in Chinese, Japanese and Korean.
func WithEmbedder(e Embedder) Option {
	return optionFunc(func(c *config) { c.embedder = e })
}

// WithSummarizer sets how summaries are made for snippets that have none
// and are not sent in full; summaries are cached by content. nil sends
// such snippets in full when they fit. Use [Builder.Prepare] to summarize
// ahead of time with a slow summarizer such as [LLMSummarizer]. Default
// [Extractive]{}.
func WithSummarizer(s Summarizer) Option {
	return optionFunc(func(c *config) { c.summarizer = s })
}

// WithMemoEntries bounds each of the builder's caches: token counts (per
// encoding), index terms, embeddings and summaries. Default
// [DefaultMemoEntries] (65 536); a count costs about 40 bytes.
func WithMemoEntries(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.fail("WithMemoEntries", "must be positive, got %d", n)
			return
		}
		c.memoEntries = n
	})
}
