package companion

import (
	"context"

	"github.com/companion-go/companion/prompt"
	openai "github.com/sashabaranov/go-openai"
)

// WithPromptBudget compresses prompts to fit a token budget: the prompt
// stage becomes a [prompt.Builder] with prompt.WithBudget(budget) and
// prompt.WithReserve(reserve), so a prompt gets at most budget − reserve
// tokens. It sends the most relevant snippet in full and the others as
// summaries (made offline, by extraction, for snippets that have none;
// cached by content), keeps the 3 most relevant worked examples, the
// latest history and the minified JSON context, and leaves out what does
// not fit. Answer.TokensSaved reports what it removed. A turn whose system
// prompt and question alone exceed the budget fails with a
// [*prompt.BudgetError] (matching [prompt.ErrOverBudget]). budget must be
// positive and reserve less than budget. Default: no compression
// ([AssemblePrompt]); see [prompt.DefaultBudget] and
// [prompt.DefaultReserve] for the builder's own defaults.
func WithPromptBudget(budget, reserve int) Option {
	return optionFunc(func(c *config) {
		b, err := prompt.NewBuilder(prompt.WithBudget(budget), prompt.WithReserve(reserve))
		if err != nil {
			c.errs = append(c.errs, &ConfigError{Option: "WithPromptBudget", Reason: err.Error()})
			return
		}
		c.prompt = promptStage{b}
	})
}

// WithPromptCompression makes b, configured as the host likes (ranking by
// embeddings, an LLM summarizer, other limits), the prompt stage. See
// [WithPromptBudget]. Default: no compression ([AssemblePrompt]).
func WithPromptCompression(b *prompt.Builder) Option {
	return optionFunc(func(c *config) {
		if b == nil {
			c.errs = append(c.errs, &ConfigError{Option: "WithPromptCompression", Reason: "nil builder"})
			return
		}
		c.prompt = promptStage{b}
	})
}

// promptStage adapts a [prompt.Builder] to the [PromptBuilder] interface:
// the question's system prompt, snippets, examples, history, context and
// text become the builder's input, counted with the encoding of the
// turn's model, and the built prompt's token counts before and after
// become Prompt.TokensBefore and TokensAfter.
type promptStage struct{ b *prompt.Builder }

var _ PromptBuilder = promptStage{}

// BuildPrompt builds q's prompt with the builder.
func (s promptStage) BuildPrompt(ctx context.Context, q *Question) (*Prompt, error) {
	in := prompt.Input{
		Model:    q.Model,
		System:   q.SystemPrompt,
		Context:  q.Context,
		Question: q.Text,
	}
	if len(q.Snippets) > 0 {
		in.Snippets = make([]prompt.Snippet, len(q.Snippets))
		for i, sn := range q.Snippets {
			in.Snippets[i] = prompt.Snippet{ID: sn.ID, Text: sn.Text, Summary: sn.Summary}
		}
	}
	if len(q.Examples) > 0 {
		in.Examples = make([]prompt.Example, len(q.Examples))
		for i, e := range q.Examples {
			in.Examples[i] = prompt.Example{Question: e.Question, Answer: e.Answer}
		}
	}
	if len(q.History) > 0 {
		in.History = make([]prompt.Message, len(q.History))
		for i, m := range q.History {
			in.History[i] = prompt.Message{Role: m.Role, Content: m.Content}
		}
	}
	res, err := s.b.Build(ctx, &in)
	if err != nil {
		return nil, err
	}
	msgs := make([]openai.ChatCompletionMessage, len(res.Messages))
	for i, m := range res.Messages {
		msgs[i] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content, Name: m.Name}
	}
	return &Prompt{Messages: msgs, TokensBefore: res.Report.TokensBefore, TokensAfter: res.Report.TokensAfter}, nil
}
