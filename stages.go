package companion

import (
	"context"
	"strings"

	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/sync/semaphore"
)

// The stages of a turn, in the order they run:
//
//	Cache.Lookup → PromptBuilder → Limiter → upstream → PostProcessor → Cache.Store
//
// Each is an interface with a default (see [New]); a host replaces one with
// the matching option. Stages receive the turn's context and must return
// promptly when it is done.

// Cache is the answer cache. Lookup runs first; Store is offered each
// answer that is clean (post-processing allowed it unchanged), complete
// (finish reason "stop") and not personal. Cache errors never fail a turn:
// Companion logs them and goes on as on a miss.
type Cache interface {
	// Lookup returns the cached answer for q, if any.
	Lookup(ctx context.Context, q *Question) (hit CacheHit, ok bool, err error)
	// Store offers an answer to q for caching.
	Store(ctx context.Context, q *Question, a *Answer) error
}

// CacheHit is an answer found by a [Cache].
type CacheHit struct {
	Text       string  // the cached answer, served as it is
	Source     Source  // SourceExact, SourceSemantic or SourcePrewarmed
	Similarity float64 // 1 for an exact or prewarmed hit
	Model      string  // the model that produced the answer, if known
	Usage      Usage   // what producing the answer cost, if known
}

// PromptBuilder turns a question into the messages sent to the model. The
// default, [AssemblePrompt], sends every part of the question in full.
type PromptBuilder interface {
	// BuildPrompt returns the messages to send for q; an error fails the
	// turn before any upstream call.
	BuildPrompt(ctx context.Context, q *Question) (*Prompt, error)
}

// Prompt is a built prompt.
type Prompt struct {
	// Messages are the chat messages sent to the model, in order: the
	// system message first, the question last.
	Messages []openai.ChatCompletionMessage
	// TokensBefore and TokensAfter count the prompt's tokens before and
	// after compression; both are 0 when the builder does not count.
	TokensBefore int
	TokensAfter  int // the tokens of Messages; see TokensBefore
}

// Limiter admits turns to the upstream. Acquire blocks until the turn may
// proceed or ctx is done (then it returns ctx's error); the caller calls
// release exactly once when its upstream call is over (for a stream: when
// it ends or is closed). promptTokens is the prompt's size when known, for
// limiters that budget tokens per minute.
type Limiter interface {
	// Acquire waits until the turn may call the upstream and returns the
	// release func to call once when the call is over, or ctx's error.
	Acquire(ctx context.Context, promptTokens int) (release func(), err error)
}

// PostProcessor checks an answer before it reaches the student. Check
// receives the whole answer; to check a stream as it arrives, a
// PostProcessor also implements [StreamGuarder]. Without one, a streamed
// answer is held back until Check has seen all of it, so that nothing a
// check would block reaches the caller.
type PostProcessor interface {
	// Check returns the verdict on the whole answer to q; an error fails
	// the turn, and the answer is not shown.
	Check(ctx context.Context, q *Question, answer string) (Verdict, error)
}

// StreamGuarder is implemented by a [PostProcessor] that can check a
// streamed answer incrementally.
type StreamGuarder interface {
	// GuardStream returns a fresh guard for one streamed answer to q.
	GuardStream(ctx context.Context, q *Question) StreamGuard
}

// StreamGuard checks one streamed answer. Push receives each piece as it
// arrives and returns the text that is now safe to show (it may hold back
// a few trailing characters); Finish is called once at the end and returns
// what was held back with the verdict on the whole answer. Either returns a
// [*BlockedError] to stop the stream.
type StreamGuard interface {
	// Push takes the next piece of the answer and returns the text now
	// safe to show, possibly "".
	Push(chunk string) (safe string, err error)
	// Finish ends the answer: it returns the text held back and the
	// verdict on the whole answer.
	Finish() (safe string, v Verdict, err error)
}

// Action is what post-processing decided.
type Action int

// The actions of a [Verdict].
const (
	// Allow: the answer may be shown as it is. Reasons, if any, are flags.
	Allow Action = iota
	// Rewrite: the answer may be shown as Verdict.Text (for example with
	// words masked).
	Rewrite
	// Block: the answer must not be shown.
	Block
)

// String returns "allow", "rewrite" or "block".
func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Rewrite:
		return "rewrite"
	case Block:
		return "block"
	}
	return "Action(?)"
}

// Verdict is the outcome of post-processing.
type Verdict struct {
	Action  Action   // Allow, Rewrite or Block; the zero value allows
	Text    string   // the rewritten answer, when Action is Rewrite
	Reasons []string // why, for logs and metrics, e.g. "word:violence"
}

// clean reports whether an answer with this verdict may be cached.
func (v Verdict) clean() bool { return v.Action == Allow && len(v.Reasons) == 0 }

// PromptFunc adapts a function to the [PromptBuilder] interface.
type PromptFunc func(ctx context.Context, q *Question) (*Prompt, error)

// BuildPrompt calls f.
func (f PromptFunc) BuildPrompt(ctx context.Context, q *Question) (*Prompt, error) { return f(ctx, q) }

// AssemblePrompt is the default prompt stage: no compression, no counting.
// The system message holds the system prompt, the snippets (as "[id] text"),
// the worked examples and the JSON context; then come the history and the
// question as the last user message.
var AssemblePrompt PromptBuilder = PromptFunc(assemble)

func assemble(_ context.Context, q *Question) (*Prompt, error) {
	msgs := make([]openai.ChatCompletionMessage, 0, len(q.History)+2)
	if sys := systemMessage(q); sys != "" {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: RoleSystem, Content: sys})
	}
	for _, m := range q.History {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	msgs = append(msgs, openai.ChatCompletionMessage{Role: RoleUser, Content: q.Text})
	return &Prompt{Messages: msgs}, nil
}

func systemMessage(q *Question) string {
	if len(q.Snippets) == 0 && len(q.Examples) == 0 && len(q.Context) == 0 {
		return q.SystemPrompt
	}
	var b strings.Builder
	b.WriteString(q.SystemPrompt)
	if len(q.Snippets) > 0 {
		sep(&b)
		b.WriteString("Reference passages:")
		for _, s := range q.Snippets {
			b.WriteString("\n[")
			b.WriteString(s.ID)
			b.WriteString("] ")
			b.WriteString(s.Text)
		}
	}
	if len(q.Examples) > 0 {
		sep(&b)
		b.WriteString("Worked examples:")
		for _, e := range q.Examples {
			b.WriteString("\nQ: ")
			b.WriteString(e.Question)
			b.WriteString("\nA: ")
			b.WriteString(e.Answer)
		}
	}
	if len(q.Context) > 0 {
		sep(&b)
		b.WriteString("Context: ")
		b.Write(q.Context)
	}
	return b.String()
}

func sep(b *strings.Builder) {
	if b.Len() > 0 {
		b.WriteString("\n\n")
	}
}

// Semaphore is the default [Limiter]: at most n turns call the upstream at
// once; the others wait in FIFO order, each until its context is done.
type Semaphore struct{ w *semaphore.Weighted }

// NewSemaphore returns a limiter that admits n concurrent turns.
func NewSemaphore(n int) *Semaphore { return &Semaphore{w: semaphore.NewWeighted(int64(n))} }

// Acquire waits for a free slot or for ctx to be done.
func (s *Semaphore) Acquire(ctx context.Context, _ int) (func(), error) {
	if err := s.w.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	return func() { s.w.Release(1) }, nil
}

// TryAcquire takes a slot if one is free now, without waiting.
func (s *Semaphore) TryAcquire() (release func(), ok bool) {
	if !s.w.TryAcquire(1) {
		return nil, false
	}
	return func() { s.w.Release(1) }, true
}

var (
	_ Limiter       = (*Semaphore)(nil)
	_ PromptBuilder = PromptFunc(nil)
)
