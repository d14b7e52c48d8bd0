package prompt

import (
	"fmt"
	"strings"
)

// Report says what a [Builder.Build] did: tokens before and after, per
// part, and what it dropped or summarized.
type Report struct {
	// TokensBefore is the prompt's size with every part in full (the
	// snippets' texts, all examples and history, the context as given),
	// laid out as Build lays out the prompt; TokensAfter is the size of
	// the built prompt. Both count as the API bills chat messages.
	TokensBefore int
	TokensAfter  int
	// Limit is the budget less the reserve: TokensAfter ≤ Limit.
	Limit int

	// Tokens of each part, before and after. Framing is the chat
	// format's overhead (per message and for the reply) and the section
	// headings.
	System, Snippets, Examples, History, Context, Question, Framing PartTokens

	// SnippetUse lists every snippet, the most relevant first.
	SnippetUse []SnippetUse
	// ExampleUse lists every worked example, the most relevant first.
	ExampleUse []ExampleUse
	// HistoryDropped is the number of history messages left out (the
	// oldest).
	HistoryDropped int
	// ContextDropped reports whether the JSON context was left out for
	// lack of room; otherwise it was sent minified.
	ContextDropped bool
	// Ranker is "bm25" or "embedder": how snippets and examples were
	// ranked. RankErr is the embedder's error when it failed and BM25
	// ranked instead.
	Ranker  string
	RankErr error
}

// PartTokens is a part's tokens before and after compression.
type PartTokens struct {
	Before, After int
}

// Form is how a snippet went into the prompt.
type Form int

// The forms of a snippet.
const (
	// Full: the snippet's text.
	Full Form = iota
	// Summary: the snippet's summary, given or made by the summarizer.
	Summary
	// Dropped: left out, for lack of room.
	Dropped
)

// String returns "full", "summary" or "dropped".
func (f Form) String() string {
	switch f {
	case Full:
		return "full"
	case Summary:
		return "summary"
	case Dropped:
		return "dropped"
	}
	return fmt.Sprintf("Form(%d)", int(f))
}

// SnippetUse is what became of one snippet.
type SnippetUse struct {
	ID     string
	Index  int     // in Input.Snippets
	Score  float64 // relevance to the question (BM25 or cosine)
	Form   Form
	Tokens int // in the prompt, 0 when dropped
}

// ExampleUse is what became of one worked example.
type ExampleUse struct {
	Index  int // in Input.Examples
	Score  float64
	Kept   bool
	Tokens int // in the prompt, 0 when not kept
}

// Saved returns TokensBefore − TokensAfter.
func (r *Report) Saved() int { return r.TokensBefore - r.TokensAfter }

// Summarized returns the IDs of the snippets sent as their summary.
func (r *Report) Summarized() []string {
	var ids []string
	for _, s := range r.SnippetUse {
		if s.Form == Summary {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// Dropped describes what was left out, for logs: "snippet s3",
// "example 4", "history 0-1", "context".
func (r *Report) Dropped() []string {
	var out []string
	for _, s := range r.SnippetUse {
		if s.Form == Dropped {
			out = append(out, "snippet "+s.ID)
		}
	}
	for _, e := range r.ExampleUse {
		if !e.Kept {
			out = append(out, fmt.Sprintf("example %d", e.Index))
		}
	}
	switch r.HistoryDropped {
	case 0:
	case 1:
		out = append(out, "history 0")
	default:
		out = append(out, fmt.Sprintf("history 0-%d", r.HistoryDropped-1))
	}
	if r.ContextDropped {
		out = append(out, "context")
	}
	return out
}

// String summarizes the report on one line.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d → %d tokens (limit %d)", r.TokensBefore, r.TokensAfter, r.Limit)
	if s := r.Summarized(); len(s) > 0 {
		fmt.Fprintf(&b, "; summarized %s", strings.Join(s, " "))
	}
	if d := r.Dropped(); len(d) > 0 {
		fmt.Fprintf(&b, "; dropped %s", strings.Join(d, ", "))
	}
	return b.String()
}
