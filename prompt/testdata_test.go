package prompt

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// testPrompt is one line of testdata/prompts.jsonl.
type testPrompt struct {
	ID       string `json:"id"`
	Lang     string `json:"lang"`
	Subject  string `json:"subject"`
	Topic    string `json:"topic"`
	System   string `json:"system"`
	Snippets []struct {
		ID      string `json:"id"`
		Text    string `json:"text"`
		Summary string `json:"summary"`
	} `json:"snippets"`
	AnswerSnippet string `json:"answer_snippet"`
	Examples      []struct {
		Q string `json:"q"`
		A string `json:"a"`
	} `json:"examples"`
	RelevantExamples []int `json:"relevant_examples"`
	History          []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"history"`
	Context     json.RawMessage `json:"context"`
	Question    string          `json:"question"`
	AnswerFacts []string        `json:"answer_facts"`
}

func loadPrompts(t testing.TB) []testPrompt {
	t.Helper()
	f, err := os.Open("testdata/prompts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []testPrompt
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var p testPrompt
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// datasetCorpus returns every text field of the tutoring prompts.
func datasetCorpus(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, rec := range loadPrompts(t) {
		out = append(out, rec.System, rec.Question, string(rec.Context))
		for _, s := range rec.Snippets {
			out = append(out, s.Text, s.Summary)
		}
		for _, e := range rec.Examples {
			out = append(out, e.Q, e.A)
		}
		for _, h := range rec.History {
			out = append(out, h.Content)
		}
	}
	return out
}
