package openaigo_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/openaigo"
)

// An openai-go client whose chat completions run through a Companion with
// an exact cache: the second time the question is asked, the upstream is
// not called.
func Example() {
	srv := companiontest.NewServer() // stands for the OpenAI API
	defer srv.Close()

	store, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	c, err := companion.New(
		companion.WithBaseURL(srv.URL),
		companion.WithAPIKey("key"),
		companion.WithExactCache(store),
	)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	client := openai.NewClient(
		option.WithBaseURL(srv.URL+"/"),
		option.WithAPIKey("key"),
		option.WithMiddleware(openaigo.Middleware(c)),
	)
	for range 2 {
		res, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:    openai.ChatModelGPT4oMini,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("solve 2x+3=7")},
		})
		if err != nil {
			panic(err)
		}
		fmt.Println(strings.Split(res.Choices[0].Message.Content, "\n")[0])
	}
	fmt.Println("upstream calls:", srv.RequestCount("/v1/chat/completions"))
	// Output:
	// Let's solve 2x+3=7 step by step.
	// Let's solve 2x+3=7 step by step.
	// upstream calls: 1
}

// An OpenAI-compatible endpoint for clients in other languages: chat
// completions are answered by the Companion, everything else is proxied to
// the API.
func ExampleHandler() {
	srv := companiontest.NewServer() // stands for the OpenAI API
	defer srv.Close()
	c, err := companion.New(companion.WithBaseURL(srv.URL), companion.WithAPIKey("key"))
	if err != nil {
		panic(err)
	}
	defer c.Close()

	api, _ := url.Parse(srv.HTTP.URL)
	rp := httputil.NewSingleHostReverseProxy(api)
	rp.FlushInterval = -1
	endpoint := httptest.NewServer(openaigo.Handler(c, rp)) // or http.ListenAndServe(addr, …)
	defer endpoint.Close()

	res, err := endpoint.Client().Post(endpoint.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "solve 2x+3=7"}], "stream": true}`))
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"))
	// Output:
	// 200 text/event-stream; charset=utf-8
}
