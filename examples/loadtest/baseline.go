package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/companion-go/companion"
)

// baseline is the article's "before": a client written the obvious way.
// Every call opens a new TCP connection and does a full TLS handshake
// (keep-alives off, no session cache) to the far endpoint; there is no
// cache; the prompt carries every snippet, every example, the whole
// history and the pretty-printed context; the answer is awaited whole,
// then checked serially: a substring scan for each sensitive word, a call
// to the moderation endpoint, a format check compiling its regular
// expressions each time. Only then is it shown.
type baseline struct {
	api   *openai.Client
	model string
	words []wordEntry
}

type wordEntry struct{ term, severity string }

func newBaseline(u *upstream, model string) (*baseline, error) {
	tr := &http.Transport{
		TLSClientConfig:   u.tls.Clone(), // no ClientSessionCache: no resumption
		DisableKeepAlives: true,
		ForceAttemptHTTP2: true,
	}
	cfg := openai.DefaultConfig("offline")
	cfg.BaseURL = u.far
	cfg.HTTPClient = &http.Client{Transport: tr}
	b := &baseline{api: openai.NewClientWithConfig(cfg), model: model}
	sc := bufio.NewScanner(bytes.NewReader(wordsTXT))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) == 3 && !strings.HasPrefix(f[0], "#") {
			b.words = append(b.words, wordEntry{term: f[0], severity: f[2]})
		}
	}
	if len(b.words) == 0 {
		return nil, errors.New("baseline: no sensitive words")
	}
	return b, nil
}

// messages assembles the full prompt the way the article's "before" did.
func fullMessages(q *companion.Question) []openai.ChatCompletionMessage {
	var sys strings.Builder
	sys.WriteString(q.SystemPrompt)
	if len(q.Snippets) > 0 {
		sys.WriteString("\n\nReference passages:\n")
		for _, s := range q.Snippets {
			sys.WriteString("[" + s.ID + "] " + s.Text + "\n")
		}
	}
	if len(q.Examples) > 0 {
		sys.WriteString("\nWorked examples:\n")
		for _, e := range q.Examples {
			sys.WriteString("Q: " + e.Question + "\nA: " + e.Answer + "\n")
		}
	}
	if len(q.Context) > 0 {
		sys.WriteString("\nStudent context:\n")
		sys.Write(q.Context)
	}
	msgs := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleSystem, Content: sys.String()}}
	for _, m := range q.History {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	return append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: q.Text})
}

// ask answers one turn; the answer is shown, all at once, when it returns.
func (b *baseline) ask(ctx context.Context, q *companion.Question) (result, error) {
	start := time.Now()
	resp, err := b.api.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: b.model, Messages: fullMessages(q)})
	if err != nil {
		return result{}, err
	}
	if len(resp.Choices) == 0 {
		return result{}, errors.New("baseline: no choices")
	}
	text, err := b.check(ctx, resp.Choices[0].Message.Content)
	if err != nil {
		return result{}, err
	}
	d := time.Since(start)
	u := companion.Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens, TotalTokens: resp.Usage.TotalTokens}
	return result{
		text: text, source: "upstream", ttft: d, total: d,
		promptTokens: u.PromptTokens, completionTokens: u.CompletionTokens,
		cost: companion.DefaultPrices().Cost(b.model, u, false),
	}, nil
}

var errBlocked = errors.New("baseline: answer blocked")

// check is the naive post-processing, one check after the other.
func (b *baseline) check(ctx context.Context, text string) (string, error) {
	masked, err := b.wordCheck(text)
	if err != nil {
		return "", err
	}
	mod, err := b.api.Moderations(ctx, openai.ModerationRequest{Input: masked, Model: "omni-moderation-latest"})
	if err != nil {
		return "", err
	}
	for _, r := range mod.Results {
		if r.Flagged {
			return "", errBlocked
		}
	}
	formatCheck(masked)
	return masked, nil
}

// wordCheck scans for each word in turn: high blocks, medium masks.
func (b *baseline) wordCheck(text string) (string, error) {
	for _, w := range b.words {
		low := strings.ToLower(text)
		i := strings.Index(low, w.term)
		if i < 0 {
			continue
		}
		switch w.severity {
		case "high":
			return "", errBlocked
		case "medium":
			if len(low) == len(text) { // byte offsets still line up
				text = text[:i] + strings.Repeat("*", len(w.term)) + text[i+len(w.term):]
			}
		}
	}
	return text, nil
}

// formatCheck reports unbalanced maths delimiters or code fences, the
// naive way: its expressions are compiled on every call.
func formatCheck(text string) []string {
	var problems []string
	if n := len(regexp.MustCompile("```").FindAllStringIndex(text, -1)); n%2 != 0 {
		problems = append(problems, "unbalanced code fence")
	}
	if n := len(regexp.MustCompile(`\$\$`).FindAllStringIndex(text, -1)); n%2 != 0 {
		problems = append(problems, "unbalanced $$")
	}
	if strings.Count(regexp.MustCompile(`\\\(`).ReplaceAllString(text, "("), "(") != strings.Count(text, ")") {
		problems = append(problems, "unbalanced parentheses")
	}
	return problems
}
