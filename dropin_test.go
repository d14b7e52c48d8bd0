package companion

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/companion-go/companion/companiontest"
	openai "github.com/sashabaranov/go-openai"
)

// chatAPI is what a host's code sees of go-openai: an *openai.Client and a
// *Companion both fit.
type chatAPI interface {
	CreateChatCompletion(context.Context, openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error)
	CreateChatCompletionStream(context.Context, openai.ChatCompletionRequest) (*openai.ChatCompletionStream, error)
}

var (
	_ chatAPI = (*openai.Client)(nil)
	_ chatAPI = (*Companion)(nil)
)

// dropInRequests are the requests of the comparison: plain, with tools
// (the fake calls a tool when tool_choice is required), with a seed.
func dropInRequests() map[string]openai.ChatCompletionRequest {
	user := []openai.ChatCompletionMessage{{Role: RoleSystem, Content: "You are a tutor."}, {Role: RoleUser, Content: "What is Newton's second law?"}}
	tools := []openai.Tool{{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "lookup_formula", Parameters: map[string]any{"type": "object"}}}}
	seed := 7
	return map[string]openai.ChatCompletionRequest{
		"plain": {Model: testModel, Messages: user},
		"tools": {Model: testModel, Messages: user, Tools: tools, ToolChoice: "required"},
		"seed":  {Model: testModel, Messages: user, Seed: &seed},
	}
}

// TestDropInFidelity compares, field by field, what a host gets from
// go-openai and from Companion (no cache) on the same fake upstream.
func TestDropInFidelity(t *testing.T) {
	srv := companiontest.NewServer()
	defer srv.Close()
	c, err := New(WithBaseURL(srv.URL), WithModel(testModel))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	clients := map[string]chatAPI{"go-openai": bare(srv), "companion": c}
	ctx := context.Background()
	for name, req := range dropInRequests() {
		t.Run(name, func(t *testing.T) {
			got := map[string]openai.ChatCompletionResponse{}
			for who, api := range clients {
				r, err := api.CreateChatCompletion(ctx, req)
				if err != nil {
					t.Fatalf("%s: %v", who, err)
				}
				got[who] = r
			}
			want, have := got["go-openai"], got["companion"]
			if !strings.HasPrefix(have.ID, "chatcmpl-") || have.ID == want.ID {
				t.Errorf("ID %q (go-openai's call %q): want the upstream's own, fresh per call", have.ID, want.ID)
			}
			if have.Object != want.Object || have.Model != want.Model || have.SystemFingerprint != want.SystemFingerprint || have.ServiceTier != want.ServiceTier {
				t.Errorf("envelope %q %q %q %q, want %q %q %q %q", have.Object, have.Model, have.SystemFingerprint, have.ServiceTier,
					want.Object, want.Model, want.SystemFingerprint, want.ServiceTier)
			}
			if have.Usage.PromptTokensDetails == nil || have.Usage.CompletionTokensDetails == nil || have.Usage.TotalTokens != want.Usage.TotalTokens {
				t.Errorf("usage %+v, want %+v with its details", have.Usage, want.Usage)
			}
			if have.Header().Get("x-request-id") == "" || have.Header().Get(sourceHeader) != "upstream" {
				t.Errorf("headers %v: want the upstream's x-request-id and %s", have.Header(), sourceHeader)
			}
			hc, wc := have.Choices[0], want.Choices[0]
			if hc.Message.Content != wc.Message.Content || hc.FinishReason != wc.FinishReason || hc.Message.Role != wc.Message.Role {
				t.Errorf("choice %+v, want %+v", hc, wc)
			}
			if len(hc.Message.ToolCalls) != len(wc.Message.ToolCalls) {
				t.Fatalf("%d tool calls, want %d", len(hc.Message.ToolCalls), len(wc.Message.ToolCalls))
			}
			for i := range hc.Message.ToolCalls {
				if h, w := hc.Message.ToolCalls[i], wc.Message.ToolCalls[i]; h.Function != w.Function || h.Type != w.Type || h.ID == "" {
					t.Errorf("tool call %+v, want %+v", h, w)
				}
			}

			// Streams, with and without the usage chunk.
			for _, usage := range []bool{false, true} {
				sreq := req
				sreq.Stream = true
				if usage {
					sreq.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
				}
				shapes := map[string]streamShape{}
				for who, api := range clients {
					s, err := api.CreateChatCompletionStream(ctx, sreq)
					if err != nil {
						t.Fatalf("%s stream: %v", who, err)
					}
					shapes[who] = readShape(t, s)
				}
				if h, w := shapes["companion"], shapes["go-openai"]; h != w {
					t.Errorf("stream (usage %v):\n companion %+v\n go-openai %+v", usage, h, w)
				}
			}
		})
	}
}

// streamShape is what a host reads from a stream, IDs aside.
type streamShape struct {
	chunks, roles, usageChunks int
	roleFirst, sameID          bool
	content, toolArgs, tools   string
	finish                     openai.FinishReason
	fingerprint, model         string
	requestID                  bool
}

func readShape(t *testing.T, s *openai.ChatCompletionStream) streamShape {
	t.Helper()
	defer s.Close()
	var sh streamShape
	var content, args, tools strings.Builder
	id := ""
	sh.sameID = true
	sh.requestID = s.Header().Get("x-request-id") != ""
	for {
		r, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if id == "" {
			id = r.ID
		}
		sh.sameID = sh.sameID && r.ID == id
		sh.fingerprint, sh.model = r.SystemFingerprint, r.Model
		if r.Usage != nil {
			sh.usageChunks++
		}
		if len(r.Choices) == 0 {
			continue
		}
		sh.chunks++
		ch := r.Choices[0]
		if ch.Delta.Role != "" {
			sh.roles++
			sh.roleFirst = sh.chunks == 1 && ch.Delta.Content == ""
		}
		content.WriteString(ch.Delta.Content)
		for _, tc := range ch.Delta.ToolCalls {
			args.WriteString(tc.Function.Arguments)
			tools.WriteString(tc.Function.Name)
		}
		if ch.FinishReason != "" {
			sh.finish = ch.FinishReason
		}
	}
	sh.content, sh.toolArgs, sh.tools = content.String(), args.String(), tools.String()
	return sh
}

// TestDropInHits: a cached answer comes back shaped as the upstream's,
// whole and streamed, with an ID stable per cached answer and usage
// details present.
func TestDropInHits(t *testing.T) {
	srv := companiontest.NewServer()
	defer srv.Close()
	c, err := New(WithBaseURL(srv.URL), WithModel(testModel), WithExactCache(newMemory(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	req := dropInRequests()["plain"]
	first, err := c.CreateChatCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 2 {
		hit, err := c.CreateChatCompletion(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if hit.Header().Get(sourceHeader) != "exact" || hit.Choices[0].Message.Content != first.Choices[0].Message.Content {
			t.Fatalf("hit %+v, want the cached answer", hit)
		}
		if hit.Usage.PromptTokensDetails == nil || hit.Usage.CompletionTokensDetails == nil || hit.Usage.TotalTokens != 0 {
			t.Errorf("hit usage %+v: want zero, with its details", hit.Usage)
		}
		ids = append(ids, hit.ID)
	}
	if ids[0] != ids[1] || !strings.HasPrefix(ids[0], "chatcmpl-") || len(ids[0]) != len(first.ID) {
		t.Errorf("hit IDs %q, want one stable ID shaped like %q", ids, first.ID)
	}
	sreq := req
	sreq.Stream = true
	sreq.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	up, err := bare(srv).CreateChatCompletionStream(ctx, sreq)
	if err != nil {
		t.Fatal(err)
	}
	want := readShape(t, up)
	s, err := c.CreateChatCompletionStream(ctx, sreq)
	if err != nil {
		t.Fatal(err)
	}
	got := readShape(t, s)
	// A replay is cut in its own pieces and has no fingerprint: the rest
	// is the upstream's shape.
	got.chunks, want.chunks = 0, 0
	got.fingerprint, want.fingerprint = "", ""
	got.requestID, want.requestID = false, false
	if got != want {
		t.Errorf("streamed hit:\n got  %+v\n want %+v", got, want)
	}
}
