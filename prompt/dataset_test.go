package prompt

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// input renders a test prompt as an Input, the context pretty-printed
// (indent 2) as the data's README prescribes for the "before" size.
func (tp *testPrompt) input(model string) *Input {
	in := &Input{Model: model, System: tp.System, Question: tp.Question}
	for _, s := range tp.Snippets {
		in.Snippets = append(in.Snippets, Snippet{ID: s.ID, Text: s.Text, Summary: s.Summary})
	}
	for _, e := range tp.Examples {
		in.Examples = append(in.Examples, Example{Question: e.Q, Answer: e.A})
	}
	for _, h := range tp.History {
		in.History = append(in.History, Message{Role: h.Role, Content: h.Content})
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, tp.Context, "", "  "); err != nil {
		panic(err)
	}
	in.Context = pretty.Bytes()
	return in
}

// TestDataset builds every development prompt with the default builder
// and checks the issues' targets: a token reduction of at least 55 % and
// the answer-bearing snippet (text or summary) surviving in at least 95 %
// of prompts. It logs the figures, and the precision of the kept worked
// examples against relevant_examples.
//
//	go test -run TestDataset -v ./prompt/
func TestDataset(t *testing.T) {
	prompts := loadPrompts(t)
	for _, model := range []string{"gpt-4o", "gpt-4"} {
		b, err := NewBuilder()
		if err != nil {
			t.Fatal(err)
		}
		var before, after, survived, full, top1, kept, keptRelevant, relevant int
		for _, tp := range prompts {
			res, err := b.Build(context.Background(), tp.input(model))
			if err != nil {
				t.Fatalf("%s: %v", tp.ID, err)
			}
			r := &res.Report
			c, _ := CounterForModel(model)
			if got := c.CountMessages(res.Messages); got != r.TokensAfter {
				t.Errorf("%s: report says %d tokens, messages count %d", tp.ID, r.TokensAfter, got)
			}
			if r.TokensAfter > r.Limit {
				t.Errorf("%s: %d tokens over the limit %d", tp.ID, r.TokensAfter, r.Limit)
			}
			before += r.TokensBefore
			after += r.TokensAfter
			for rank, u := range r.SnippetUse {
				if u.ID != tp.AnswerSnippet {
					continue
				}
				if u.Form != Dropped {
					survived++
				} else {
					t.Logf("%s: answer snippet %s dropped", tp.ID, u.ID)
				}
				if u.Form == Full {
					full++
				}
				if rank == 0 {
					top1++
				}
			}
			rel := map[int]bool{}
			for _, i := range tp.RelevantExamples {
				rel[i] = true
			}
			relevant += len(rel)
			for _, u := range r.ExampleUse {
				if u.Kept {
					kept++
					if rel[u.Index] {
						keptRelevant++
					}
				}
			}
		}
		n := float64(len(prompts))
		reduction := 1 - float64(after)/float64(before)
		survival := float64(survived) / n
		t.Logf("%s: %d prompts, mean tokens %.0f → %.0f (−%.1f %%); answer snippet survives %.1f %% (in full %.1f %%, ranked first %.1f %%); examples kept %d, precision %.1f %%, recall %.1f %%",
			EncodingForModel(model), len(prompts), float64(before)/n, float64(after)/n, 100*reduction,
			100*survival, 100*float64(full)/n, 100*float64(top1)/n,
			kept, 100*float64(keptRelevant)/float64(max(kept, 1)), 100*float64(keptRelevant)/float64(relevant))
		if reduction < 0.55 {
			t.Errorf("%s: token reduction %.1f %%, want ≥ 55 %%", model, 100*reduction)
		}
		if survival < 0.95 {
			t.Errorf("%s: answer snippet survival %.1f %%, want ≥ 95 %%", model, 100*survival)
		}
	}
}
