package companion_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
	openai "github.com/sashabaranov/go-openai"
)

// ChatCompleter is what host code written for go-openai usually depends
// on: the one method of *openai.Client it calls. *companion.Companion has
// the same method, so it drops in without changing that code.
type ChatCompleter interface {
	CreateChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error)
}

// Both satisfy it, checked at compile time.
var (
	_ ChatCompleter = (*openai.Client)(nil)
	_ ChatCompleter = (*companion.Companion)(nil)
)

// The go-openai drop-in: code written against go-openai's
// CreateChatCompletion runs unchanged on a *companion.Companion, which adds
// its stages (here the exact cache: the second call is not sent).
func Example_dropIn() {
	srv := companiontest.NewServer()
	defer srv.Close()

	// Host code, written for go-openai.
	explain := func(ctx context.Context, client ChatCompleter, question string) (string, error) {
		resp, err := client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
			Model: "gpt-4.1-mini",
			Messages: []openai.ChatCompletionMessage{
				{Role: openai.ChatMessageRoleSystem, Content: "You are a patient maths tutor."},
				{Role: openai.ChatMessageRoleUser, Content: question},
			},
		})
		if err != nil {
			return "", err
		}
		return resp.Choices[0].Message.Content, nil
	}

	cfg := openai.DefaultConfig("sk-test")
	cfg.BaseURL = srv.URL
	direct := openai.NewClientWithConfig(cfg)

	mem, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		fmt.Println("cache:", err)
		return
	}
	defer mem.Close()
	comp, err := companion.New(
		companion.WithBaseURL(srv.URL),
		companion.WithAPIKey("sk-test"),
		companion.WithModel("gpt-4.1-mini"),
		companion.WithExactCache(mem),
	)
	if err != nil {
		fmt.Println("new:", err)
		return
	}
	defer comp.Close()

	ctx := context.Background()
	for _, client := range []ChatCompleter{direct, comp, comp} {
		text, err := explain(ctx, client, "Solve 2x + 3 = 7")
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println(strings.Contains(text, "x = 2"))
	}
	fmt.Println("sent upstream:", srv.RequestCount("/v1/chat/completions"))
	// Output:
	// true
	// true
	// true
	// sent upstream: 2
}

// Two equivalent endpoints (say two regions): the default transport sends
// each call to the fastest healthy one and fails over when one is down.
func ExampleWithEndpoints() {
	eu := companiontest.NewServer()
	us := companiontest.NewServer()
	defer us.Close()
	euURL := eu.URL
	eu.Close() // the EU region is down

	c, err := companion.New(
		companion.WithEndpoints(euURL, us.URL), // euURL is also the base URL
		companion.WithModel("gpt-4.1-mini"),
	)
	if err != nil {
		fmt.Println("new:", err)
		return
	}
	defer c.Close()

	a, err := c.Ask(context.Background(), companion.Question{Text: "Solve 2x + 3 = 7"})
	if err != nil {
		fmt.Println("ask:", err)
		return
	}
	fmt.Println(a.Source, strings.Contains(a.Text, "x = 2"))
	fmt.Println("answered by us:", us.RequestCount("/v1/chat/completions"))
	// Output:
	// upstream true
	// answered by us: 1
}
