package companion

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/companion-go/companion/prompt"
)

// bigQuestion is the first development prompt of prompt/testdata: a
// physics question with 7 knowledge snippets (with summaries), 8 worked
// examples, 4 history messages and a student profile, about 2 300 tokens
// in full.
func bigQuestion(t *testing.T) Question {
	t.Helper()
	f, err := os.Open("prompt/testdata/prompts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		t.Fatal("no prompts")
	}
	var p struct {
		System   string `json:"system"`
		Snippets []struct {
			ID, Text, Summary string
		} `json:"snippets"`
		Examples []struct {
			Q string `json:"q"`
			A string `json:"a"`
		} `json:"examples"`
		History  []Message       `json:"history"`
		Context  json.RawMessage `json:"context"`
		Question string          `json:"question"`
	}
	if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	q := Question{Text: p.Question, SystemPrompt: p.System, History: p.History, Context: p.Context, Subject: "physics", Grade: 9}
	for _, s := range p.Snippets {
		q.Snippets = append(q.Snippets, Snippet{ID: s.ID, Text: s.Text, Summary: s.Summary})
	}
	for _, e := range p.Examples {
		q.Examples = append(q.Examples, Example{Question: e.Q, Answer: e.A})
	}
	return q
}

func TestPromptBudgetEndToEnd(t *testing.T) {
	ctx := context.Background()
	q := bigQuestion(t)

	plain, _ := newTest(t, nil)
	full, err := plain.Ask(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if full.TokensSaved != 0 {
		t.Errorf("without compression TokensSaved = %d", full.TokensSaved)
	}

	c, srv := newTest(t, nil, WithPromptBudget(2000, 500))
	a, err := c.Ask(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if a.TokensSaved <= 0 {
		t.Errorf("TokensSaved = %d, want > 0", a.TokensSaved)
	}
	// The fake server counts the prompt it received with tiktoken.
	if a.Usage.PromptTokens >= full.Usage.PromptTokens*6/10 || a.Usage.PromptTokens > 1500 {
		t.Errorf("prompt tokens upstream: %d compressed, %d in full; want at most 60 %% and within the budget",
			a.Usage.PromptTokens, full.Usage.PromptTokens)
	}
	// The stage's own count is exactly what the API bills.
	b, err := prompt.NewBuilder(prompt.WithBudget(2000), prompt.WithReserve(500))
	if err != nil {
		t.Fatal(err)
	}
	qq := q
	qq.Model = testModel
	p, err := promptStage{b}.BuildPrompt(ctx, &qq)
	if err != nil {
		t.Fatal(err)
	}
	if p.TokensAfter != a.Usage.PromptTokens || p.TokensBefore-p.TokensAfter != a.TokensSaved {
		t.Errorf("stage counts %d → %d, upstream billed %d, saved %d", p.TokensBefore, p.TokensAfter, a.Usage.PromptTokens, a.TokensSaved)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests", len(reqs))
	}
	var sent struct {
		Messages []struct{ Role, Content string }
	}
	if err := json.Unmarshal(reqs[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	if last := sent.Messages[len(sent.Messages)-1]; last.Role != RoleUser || last.Content != q.Text {
		t.Errorf("last message sent: %+v", last)
	}
	t.Logf("prompt tokens upstream: %d in full (AssemblePrompt), %d compressed; TokensSaved %d",
		full.Usage.PromptTokens, a.Usage.PromptTokens, a.TokensSaved)

	// Streams report the saving too.
	s, err := c.AskStream(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for {
		if _, err := s.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Answer().TokensSaved; got != a.TokensSaved {
		t.Errorf("stream TokensSaved = %d, want %d", got, a.TokensSaved)
	}
}

func TestPromptBudgetErrors(t *testing.T) {
	for _, opt := range []Option{WithPromptBudget(0, 0), WithPromptBudget(1000, 1000), WithPromptBudget(1000, -1), WithPromptCompression(nil)} {
		if _, err := New(opt); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New: %v, want ErrInvalidConfig", err)
		}
	}
	// A system prompt and question that cannot fit fail before any
	// request is sent.
	c, srv := newTest(t, nil, WithPromptBudget(120, 100))
	q := bigQuestion(t)
	_, err := c.Ask(context.Background(), q)
	var be *prompt.BudgetError
	if !errors.Is(err, prompt.ErrOverBudget) || !errors.As(err, &be) || be.Limit != 20 {
		t.Errorf("Ask = %v, want a *prompt.BudgetError with limit 20", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestPromptCompressionBuilder(t *testing.T) {
	b, err := prompt.NewBuilder(prompt.WithTopExamples(1), prompt.WithFullSnippets(0))
	if err != nil {
		t.Fatal(err)
	}
	c, srv := newTest(t, nil, WithPromptCompression(b))
	q := bigQuestion(t)
	a, err := c.Ask(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if a.TokensSaved <= 0 {
		t.Errorf("TokensSaved = %d", a.TokensSaved)
	}
	if body := string(srv.Requests()[0].Body); len(body) == 0 {
		t.Error("empty request")
	}
}
