package batch_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/companion-go/companion/batch"
	"github.com/companion-go/companion/companiontest"
	openai "github.com/sashabaranov/go-openai"
)

// Two questions through the Batch API of the fake server, whose batches
// complete in a few milliseconds; the real API takes up to 24 hours.
func Example() {
	srv := companiontest.NewServer(companiontest.WithBatchTiming(companiontest.BatchTiming{
		Validating: 5 * time.Millisecond, InProgress: 5 * time.Millisecond, Finalizing: 5 * time.Millisecond,
	}))
	defer srv.Close()
	cfg := openai.DefaultConfig("test-key")
	cfg.BaseURL = srv.URL

	var saved []string // a real caller persists the ids, to resume after a restart
	c, err := batch.New(openai.NewClientWithConfig(cfg),
		batch.WithPollInterval(5*time.Millisecond, 50*time.Millisecond),
		batch.WithOnCreated(func(_ context.Context, id string) error { saved = append(saved, id); return nil }))
	if err != nil {
		panic(err)
	}
	ask := func(id, q string) batch.Request {
		return batch.Request{CustomID: id, Body: openai.ChatCompletionRequest{
			Model:    "gpt-4.1-mini",
			Messages: []openai.ChatCompletionMessage{{Role: "user", Content: q}},
		}}
	}
	rep, err := c.Run(context.Background(), batch.Job{Requests: []batch.Request{
		ask("q1", "What is 12*7?"),
		ask("q2", "What is 9*8?"),
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(saved), "batch", rep.Batches[0].Status)
	for _, r := range rep.Results {
		if r.Err != nil {
			fmt.Println(r.CustomID, "failed:", r.Err)
			continue
		}
		first, _, _ := strings.Cut(r.Response.Choices[0].Message.Content, "\n")
		fmt.Println(r.CustomID, first)
	}
	// Output:
	// 1 batch completed
	// q1 12 × 7 = 84.
	// q2 9 × 8 = 72.
}

// Picking the questions worth prewarming from a log.
func ExampleHotQuestions() {
	log := []string{"What is gravity?", "what is gravity", "Solve 2x+3=7", "WHAT IS GRAVITY?", "Solve 2x + 3 = 7", "What is a vector?"}
	for _, h := range batch.HotQuestions(log, 2) {
		fmt.Println(h.Count, h.Text)
	}
	// Output:
	// 3 What is gravity?
	// 2 Solve 2x+3=7
}
