package prompt_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/prompt"
	openai "github.com/sashabaranov/go-openai"
)

func Example() {
	b, err := prompt.NewBuilder(prompt.WithBudget(1200), prompt.WithReserve(400))
	if err != nil {
		panic(err)
	}
	res, err := b.Build(context.Background(), &prompt.Input{
		Model:  "gpt-4.1-mini",
		System: "You are a patient physics tutor. Cite the passages you use.",
		Snippets: []prompt.Snippet{
			{ID: "kb-waves", Text: "All waves transfer energy without transferring matter. The wave equation links speed, frequency and wavelength: v = f × λ. In transverse waves the vibrations are at right angles to the direction of travel; in longitudinal waves, such as sound, they are parallel to it.",
				Summary: "Waves carry energy, not matter; v = fλ."},
			{ID: "kb-newton-2", Text: "Newton's second law links the resultant force on an object to its acceleration: F = ma. First combine all forces into one resultant force; forces in opposite directions subtract. Then a = F/m, in the direction of the resultant force.",
				Summary: "F = ma with the resultant force; a = F/m."},
			{ID: "kb-density", Text: "Density is mass per unit volume, ρ = m/V. An object floats in water when the upward force of the water can balance its weight, that is when its average density is below 1.0 g/cm³.",
				Summary: "ρ = m/V; less dense than water floats."},
		},
		Examples: []prompt.Example{
			{Question: "A 5 kg trolley is pulled with a net force of 20 N. What is its acceleration?", Answer: "a = F/m = 20 ÷ 5 = 4 m/s²."},
			{Question: "A wave has frequency 2 Hz and wavelength 1.5 m. How fast is it?", Answer: "v = fλ = 3 m/s."},
			{Question: "What force gives a 0.5 kg ball an acceleration of 8 m/s²?", Answer: "F = ma = 0.5 × 8 = 4 N."},
		},
		History: []prompt.Message{
			{Role: prompt.RoleUser, Content: "Is weight the same as mass?"},
			{Role: prompt.RoleAssistant, Content: "No: weight is the force of gravity on a mass, W = mg."},
		},
		Context:  json.RawMessage(`{"student": {"grade": 9, "weak_topics": ["forces"]}}`),
		Question: "A 1200 kg car has a driving force of 4000 N and friction of 1000 N. What is its acceleration?",
	})
	if err != nil {
		panic(err)
	}
	r := res.Report
	fmt.Println(r.TokensBefore, "→", r.TokensAfter, "tokens; limit", r.Limit)
	for _, s := range r.SnippetUse {
		fmt.Println(s.ID, s.Form)
	}
	fmt.Println("dropped:", r.Dropped())
	fmt.Println(len(res.Messages), "messages")
	// Output:
	// 387 → 257 tokens; limit 800
	// kb-newton-2 full
	// kb-density summary
	// kb-waves dropped
	// dropped: [snippet kb-waves (not relevant) example 1 (not relevant)]
	// 4 messages
}

// An LLM-backed summarizer, here against the fake server, behind a cache
// so that each passage is summarized once.
func ExampleLLMSummarizer() {
	srv := companiontest.NewServer()
	defer srv.Close()
	cfg := openai.DefaultConfig("")
	cfg.BaseURL = srv.URL

	s := prompt.NewSummaryCache(&prompt.LLMSummarizer{Client: openai.NewClientWithConfig(cfg), Model: "gpt-4.1-mini"}, 0)
	b, err := prompt.NewBuilder(prompt.WithSummarizer(s))
	if err != nil {
		panic(err)
	}
	kb := []prompt.Snippet{
		{ID: "kb-1", Text: "Momentum is mass times velocity, p = mv. It is conserved in collisions when no external force acts."},
		{ID: "kb-2", Text: "Pressure is force per unit area, p = F/A, measured in pascals."},
	}
	// Summarize the knowledge base once, ahead of the turns.
	if err := b.Prepare(context.Background(), kb); err != nil {
		panic(err)
	}
	fmt.Println(srv.RequestCount("/v1/chat/completions"), "requests")
	_, cached := s.Cached(kb[0].Text)
	fmt.Println("cached:", cached)
	// Output:
	// 2 requests
	// cached: true
}
