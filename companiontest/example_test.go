package companiontest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/companion-go/companion/companiontest"
)

// A chat completion with plain net/http: the fake tutor solves the equation.
func Example() {
	srv := companiontest.NewServer()
	defer srv.Close()

	body := `{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "solve 2x+3=7"}]}`
	res, err := srv.Client().Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	var out struct {
		Choices []struct {
			Message      struct{ Content string }
			FinishReason string `json:"finish_reason"`
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		panic(err)
	}
	content := out.Choices[0].Message.Content
	fmt.Println(strings.Split(content, "\n")[0])
	fmt.Println(content == companiontest.Answer("solve 2x+3=7"))
	fmt.Println(out.Choices[0].FinishReason)
	// Output:
	// Let's solve 2x+3=7 step by step.
	// true
	// stop
}

// The go-openai client, which the companion library speaks, pointed at the
// fake server. Token counts are real.
func Example_goOpenAI() {
	srv := companiontest.NewServer()
	defer srv.Close()

	cfg := openai.DefaultConfig("test-key")
	cfg.BaseURL = srv.URL
	cfg.HTTPClient = srv.Client()
	client := openai.NewClientWithConfig(cfg)

	res, err := client.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model:     openai.GPT4oMini,
		Messages:  []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "12乘7等于多少"}},
		MaxTokens: 10,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Choices[0].Message.Content)
	fmt.Println(res.Choices[0].FinishReason, res.Usage.CompletionTokens)
	// Output:
	// 12 × 7 = 84。
	//
	// 计算方法
	// length 10
}

// The scripted tutor's answer, to compare with what a client received.
func ExampleAnswer() {
	a := companiontest.Answer("解方程 3x - 4 = 11")
	for _, line := range strings.Split(a, "\n") {
		if strings.HasPrefix(line, "答") {
			fmt.Println(line)
		}
	}
	// Output:
	// 答：x = 5。
}

// Injecting a rate limit into the first request.
func ExampleFault() {
	srv := companiontest.NewServer(companiontest.WithFaults(companiontest.Fault{
		Kind:       companiontest.FaultRateLimit,
		Path:       "/v1/chat/completions",
		Count:      1,
		RetryAfter: 2 * time.Second,
	}))
	defer srv.Close()

	body := `{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}`
	for range 2 {
		res, err := srv.Client().Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		res.Body.Close()
		fmt.Printf("%d Retry-After: %q\n", res.StatusCode, res.Header.Get("Retry-After"))
	}
	fmt.Println(srv.RequestCount("/v1/chat/completions"), "requests")
	// Output:
	// 429 Retry-After: "2"
	// 200 Retry-After: ""
	// 2 requests
}

// Latency: the time to first token of the reference article's profile.
func ExampleLatency() {
	l := companiontest.ArticleLatency()
	fmt.Println(l.TimeToFirstToken(1800))
	// Output:
	// 2.1s
}
