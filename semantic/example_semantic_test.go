package semantic_test

import (
	"context"
	"fmt"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/semantic"
	openai "github.com/sashabaranov/go-openai"
)

// The semantic tier serves a paraphrase of a cached question, and refuses
// a question that differs in a number, however similar.
func ExampleSemantic() {
	ctx := context.Background()
	sem, err := semantic.NewSemantic() // the local embedder, no model, no network
	if err != nil {
		panic(err)
	}
	ns := cache.Namespace{Model: "gpt-4o-mini", Subject: "maths", Grade: 8}
	sem.Add(ctx, ns, cache.Entry{Question: "Solve 2x + 3 = 7.", Answer: "2x = 4, so x = 2."}, 0)

	for _, q := range []string{
		"How do I solve the equation 2x + 3 = 7?",
		"Solve 2x + 3 = 9.",
	} {
		hit, ok, err := sem.Lookup(ctx, ns, q)
		if err != nil {
			panic(err)
		}
		if ok {
			fmt.Printf("%q: hit (%q)\n", q, hit.Entry.Answer)
		} else {
			fmt.Printf("%q: miss\n", q)
		}
	}
	st := sem.Stats()
	fmt.Println("hits:", st.Hits, "refused for a number:", st.Rejections[semantic.ReasonNumber])
	// Output:
	// "How do I solve the equation 2x + 3 = 7?": hit ("2x = 4, so x = 2.")
	// "Solve 2x + 3 = 9.": miss
	// hits: 1 refused for a number: 1
}

// Explain tells what the rules make of two questions, and why.
func ExampleExplain() {
	for _, p := range [][2]string{
		{"What is Newton's second law?", "what does newtons 2nd law say"},
		{"What is Newton's second law?", "What is Newton's third law?"},
		{"How do I convert 5 km to miles?", "How do I convert 5 miles to km?"},
		{"为什么猫怕狗", "为什么狗怕猫"},
		{"What is the capital of Australia?", "What is the capital of Austria?"},
	} {
		e := semantic.Explain(p[0], p[1])
		fmt.Println(e.Verdict, e.Reason)
	}
	// Output:
	// same explained
	// different number
	// different order
	// unsure order
	// unsure term
}

// An OpenAI embedder coalesces concurrent calls into one request; here it
// runs against the fake server of package companiontest.
func ExampleNewOpenAIEmbedder() {
	srv := companiontest.NewServer()
	defer srv.Close()
	cfg := openai.DefaultConfig("sk-test")
	cfg.BaseURL = srv.URL
	emb, err := semantic.NewOpenAIEmbedder(openai.NewClientWithConfig(cfg), semantic.WithDimensions(256))
	if err != nil {
		panic(err)
	}
	defer emb.Close()

	sem, err := semantic.NewSemantic(semantic.WithEmbedder(emb)) // threshold 0.92
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	ns := cache.Namespace{Model: "gpt-4o-mini"}
	sem.Add(ctx, ns, cache.Entry{Question: "What is photosynthesis?", Answer: "Plants turning light into sugar."}, 0)
	hit, ok, _ := sem.Lookup(ctx, ns, "what is photosynthesis")
	fmt.Println(ok, hit.Entry.Answer, sem.Threshold())
	// Output:
	// true Plants turning light into sugar. 0.92
}
