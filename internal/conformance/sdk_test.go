package conformance

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/companion-go/companion/prompt"
)

// The official SDK, github.com/openai/openai-go, against the fake server:
// it must parse every response and see the same content and usage.

func sdkClient(s *companiontest.Server, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(s.URL + "/"),
		option.WithAPIKey("test"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(s.Client()),
	}, opts...)...)
}

func TestSDKChatCompletion(t *testing.T) {
	s := chatServer(t)
	c := sdkClient(s)
	const q = "解方程 2x+3=7"
	res, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: openai.ChatModelGPT4oMini,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("你是一位耐心的数学老师。"),
			openai.UserMessage(q),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Choices) != 1 {
		t.Fatalf("%d choices", len(res.Choices))
	}
	got := res.Choices[0].Message.Content
	if got != companiontest.Answer(q) || !strings.Contains(got, "x = 2") {
		t.Errorf("content %q", got)
	}
	if res.Choices[0].FinishReason != "stop" || !strings.HasPrefix(res.ID, "chatcmpl-") || res.Object != "chat.completion" {
		t.Errorf("response: %+v", res)
	}
	cnt := counterFor(t, "gpt-4o-mini")
	wantPrompt := cnt.CountMessages([]prompt.Message{{Role: "system", Content: "你是一位耐心的数学老师。"}, {Role: "user", Content: q}})
	u := res.Usage
	if u.PromptTokens != int64(wantPrompt) || u.CompletionTokens != int64(cnt.Count(got)) || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("usage %d/%d/%d, want prompt %d completion %d", u.PromptTokens, u.CompletionTokens, u.TotalTokens, wantPrompt, cnt.Count(got))
	}
	if !u.JSON.PromptTokensDetails.Valid() || !u.JSON.CompletionTokensDetails.Valid() {
		t.Error("usage details missing")
	}
}

func TestSDKChatStream(t *testing.T) {
	s := chatServer(t)
	c := sdkClient(s)
	const q = "What is Newton's third law?"
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:         openai.ChatModelGPT4oMini,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage(q)},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	defer stream.Close()
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	finished := false
	for stream.Next() {
		chunk := stream.Current()
		if !acc.AddChunk(chunk) {
			t.Fatalf("the accumulator rejected chunk %d", chunks)
		}
		if _, ok := acc.JustFinishedContent(); ok {
			finished = true
		}
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if chunks < 20 || !finished {
		t.Errorf("%d chunks, content finished %v", chunks, finished)
	}
	want := companiontest.Answer(q)
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != want || acc.Choices[0].FinishReason != "stop" {
		t.Fatalf("accumulated %+v", acc.Choices)
	}
	cnt := counterFor(t, "gpt-4o-mini")
	if acc.Usage.PromptTokens != int64(cnt.CountMessages([]prompt.Message{{Role: "user", Content: q}})) ||
		acc.Usage.CompletionTokens != int64(cnt.Count(want)) {
		t.Errorf("usage %+v", acc.Usage)
	}
}

func TestSDKMaxTokensAndErrors(t *testing.T) {
	s := chatServer(t)
	c := sdkClient(s)
	res, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:               openai.ChatModelGPT4oMini,
		Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Explain photosynthesis")},
		MaxCompletionTokens: openai.Int(8),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Choices[0].FinishReason != "length" || res.Usage.CompletionTokens != 8 {
		t.Errorf("finish %q, %d tokens", res.Choices[0].FinishReason, res.Usage.CompletionTokens)
	}

	// A 400 reaches the caller as *openai.Error with the param.
	_, err = c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    openai.ChatModelGPT4oMini,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		N:        openai.Int(3),
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Param != "n" || apiErr.Type != "invalid_request_error" {
		t.Errorf("err %v", err)
	}

	// A rate limit is retried after Retry-After when retries are on.
	s.SetFaults(companiontest.Fault{Kind: companiontest.FaultRateLimit, RetryAfter: 10 * time.Millisecond, Count: 1})
	retrying := sdkClient(s, option.WithMaxRetries(2))
	s.ResetRequests()
	if _, err := retrying.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    openai.ChatModelGPT4oMini,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil {
		t.Fatal(err)
	}
	if n := s.RequestCount("/v1/chat/completions"); n != 2 {
		t.Errorf("%d requests, want 2 (one 429, one retry)", n)
	}
}

func TestSDKEmbeddings(t *testing.T) {
	s := chatServer(t)
	c := sdkClient(s)
	inputs := []string{"What is Newton's second law?", "what is newtons second law", "How does photosynthesis work?"}
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		res, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
			Model:          openai.EmbeddingModelTextEmbedding3Small,
			Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs},
			Dimensions:     openai.Int(512),
			EncodingFormat: format,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Data) != 3 || res.Model != "text-embedding-3-small" {
			t.Fatalf("%s: %d embeddings", format, len(res.Data))
		}
		vec := func(i int) []float32 {
			out := make([]float32, len(res.Data[i].Embedding))
			for j, x := range res.Data[i].Embedding {
				out[j] = float32(x)
			}
			return out
		}
		for i := range inputs {
			if v := vec(i); len(v) != 512 || cosine(v, companiontest.Embed(inputs[i], 512)) < 0.9999 {
				t.Errorf("%s: embedding %d differs from Embed", format, i)
			}
		}
		if near, far := cosine(vec(0), vec(1)), cosine(vec(0), vec(2)); near < 0.92 || far > 0.3 {
			t.Errorf("%s: paraphrase %.3f, unrelated %.3f", format, near, far)
		}
		cnt := counterFor(t, "text-embedding-3-small")
		want := int64(cnt.Count(inputs[0]) + cnt.Count(inputs[1]) + cnt.Count(inputs[2]))
		if res.Usage.PromptTokens != want || res.Usage.TotalTokens != want {
			t.Errorf("%s: usage %+v, want %d", format, res.Usage, want)
		}
	}
}

func TestSDKModerations(t *testing.T) {
	s := chatServer(t)
	c := sdkClient(s)
	res, err := c.Moderations.New(context.Background(), openai.ModerationNewParams{
		Input: openai.ModerationNewParamsInputUnion{OfStringArray: []string{"solve 2x+3=7", "I want to kill myself"}},
		Model: openai.ModerationModelOmniModerationLatest,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 2 || !strings.HasPrefix(res.ID, "modr-") || res.Model != "omni-moderation-latest" {
		t.Fatalf("response %+v", res)
	}
	clean, bad := res.Results[0], res.Results[1]
	if clean.Flagged || !bad.Flagged || !bad.Categories.SelfHarmIntent || bad.Categories.Harassment || bad.CategoryScores.SelfHarmIntent < 0.9 {
		t.Errorf("results: %+v / %+v", clean.Categories, bad.Categories)
	}
	if !bad.JSON.CategoryAppliedInputTypes.Valid() || len(bad.CategoryAppliedInputTypes.SelfHarmIntent) != 1 {
		t.Errorf("applied input types: %+v", bad.CategoryAppliedInputTypes)
	}
}
