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
	TokensAfter  int // the built prompt's tokens, see TokensBefore
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
	// Fallback reports that the ranking told the snippets apart by
	// nothing (every snippet scored alike, e.g. 0 for a question of stop
	// words only), so the builder filled the budget without it: every
	// snippet as its summary (its text when it has none), in input order;
	// then the worked examples in input order, or by similarity. The
	// examples fall back alike when they all score alike.
	Fallback bool
	// Ranker is "bm25" or "embedder": how snippets and examples were
	// ranked. RankErr is the embedder's error when it failed and BM25
	// ranked instead.
	Ranker  string
	RankErr error // nil unless the embedder failed and BM25 ranked instead
}

// PartTokens is a part's tokens before and after compression.
type PartTokens struct {
	Before, After int // the part's tokens in full, and in the built prompt
}

// Form is how a snippet went into the prompt.
type Form int

// The forms of a snippet.
const (
	// Full: the snippet's text.
	Full Form = iota
	// Summary: the snippet's summary, given or made by the summarizer.
	Summary
	// Dropped: left out; [SnippetUse].Why says why.
	Dropped
)

// Why says why a snippet or a worked example was left out.
type Why int

// The reasons for leaving a part out.
const (
	// Included: not left out.
	Included Why = iota
	// NoRoom: it did not fit in what was left of the budget.
	NoRoom
	// NotRelevant: it shares no word with the question while others do
	// (BM25 scores it 0).
	NotRelevant
	// NotTop: a worked example beyond the top k ([WithTopExamples]).
	NotTop
)

// String returns "included", "no room", "not relevant" or "not top".
func (w Why) String() string {
	switch w {
	case Included:
		return "included"
	case NoRoom:
		return "no room"
	case NotRelevant:
		return "not relevant"
	case NotTop:
		return "not top"
	}
	return fmt.Sprintf("Why(%d)", int(w))
}

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
	ID     string  // the snippet's [Snippet.ID]
	Index  int     // in Input.Snippets
	Score  float64 // relevance to the question (BM25 or cosine)
	Form   Form    // Full, Summary or Dropped
	Tokens int     // in the prompt, 0 when dropped
	Why    Why     // why it was dropped; Included otherwise
}

// ExampleUse is what became of one worked example.
type ExampleUse struct {
	Index  int     // in Input.Examples
	Score  float64 // similarity of its question to the student's (BM25 or cosine)
	Kept   bool    // whether it went into the prompt
	Tokens int     // in the prompt, 0 when not kept
	Why    Why     // why it was not kept; Included otherwise
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

// Dropped describes what was left out and why, for logs: "snippet s3
// (no room)", "snippet s4 (not relevant)", "example 4 (not top)",
// "history 0-1", "context".
func (r *Report) Dropped() []string {
	var out []string
	why := func(w Why) string {
		if w == Included {
			return "" // a report not made by Build
		}
		return " (" + w.String() + ")"
	}
	for _, s := range r.SnippetUse {
		if s.Form == Dropped {
			out = append(out, "snippet "+s.ID+why(s.Why))
		}
	}
	for _, e := range r.ExampleUse {
		if !e.Kept {
			out = append(out, fmt.Sprintf("example %d%s", e.Index, why(e.Why)))
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
