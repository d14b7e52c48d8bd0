package prompt

import (
	"context"
	"strings"
	"testing"
)

// Questions of the shape, which the ranking cannot use: stop
// words only, or words and characters that no snippet has. Every snippet
// then scores 0.
var blindQuestions = []string{"Who is whom?", "Is it?", "Qwzx vbnk?", "嗯嗯？", "Who?"}

// TestFallback: on every development prompt, with a question the ranking
// cannot use, the builder falls back to every snippet's summary, so the
// answer snippet is in the prompt whenever the summaries fit; nothing is
// reported "not relevant" then, and what is dropped is "no room". The
// first half of the prompts and the second are reported apart (nothing
// was tuned on either: the fallback has no parameter).
//
//	go test -run TestFallback -v ./prompt/
func TestFallback(t *testing.T) {
	prompts := loadPrompts(t)
	b, err := NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	for _, budget := range []int{DefaultBudget, 1500} {
		for h, part := range [][]testPrompt{prompts[:len(prompts)/2], prompts[len(prompts)/2:]} {
			builds, kept, fell, unused := 0, 0, 0, 0
			for _, tp := range part {
				for _, q := range blindQuestions {
					in := tp.input("gpt-4o")
					in.Question, in.Budget = q, budget
					res, err := b.Build(context.Background(), in)
					if err != nil {
						t.Fatalf("%s %q: %v", tp.ID, q, err)
					}
					checkCounts(t, in, res)
					r := &res.Report
					builds++
					if r.Fallback {
						fell++
					}
					unused += r.Limit - r.TokensAfter
					for _, u := range r.SnippetUse {
						if r.Fallback && u.Why == NotRelevant {
							t.Errorf("%s %q: snippet %s not relevant under the fallback", tp.ID, q, u.ID)
						}
						if u.Form == Dropped && u.Why == Included {
							t.Errorf("%s %q: snippet %s dropped without a reason", tp.ID, q, u.ID)
						}
						if u.ID != tp.AnswerSnippet {
							continue
						}
						if u.Form != Dropped {
							kept++
						} else if fitsAll(b, in) {
							t.Errorf("%s %q (budget %d): answer snippet dropped (%v) though every summary fits", tp.ID, q, budget, u.Why)
						}
					}
				}
			}
			t.Logf("budget %d, prompts %d–%d: %d builds with a blind question, fallback in %d, answer snippet kept in %d (%.1f %%), %.0f tokens unused on average",
				budget, h*len(prompts)/2+1, (h+1)*len(prompts)/2, builds, fell, kept, 100*float64(kept)/float64(builds), float64(unused)/float64(builds))
			if kept != builds || fell != builds {
				t.Errorf("budget %d: answer snippet kept in %d of %d builds, fallback in %d", budget, kept, builds, fell)
			}
		}
	}
}

// fitsAll reports whether every snippet's summary fits beside the system
// prompt and the question.
func fitsAll(b *Builder, in *Input) bool {
	small := *in
	small.Examples, small.History, small.Context = nil, nil, nil
	res, err := b.Build(context.Background(), &small)
	if err != nil {
		return false
	}
	for _, u := range res.Report.SnippetUse {
		if u.Form == Dropped {
			return false
		}
	}
	return true
}

// TestFallbackReasons: when some snippets score and others do not, those
// that share no word are "not relevant", and those that lose the budget
// are "no room"; ties of positive scores also fall back.
func TestFallbackReasons(t *testing.T) {
	b, err := NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("Friction opposes motion between surfaces in contact. ", 30)
	in := &Input{
		Model:    "gpt-4o",
		Question: "What is friction?",
		Snippets: []Snippet{
			{ID: "f", Text: long},
			{ID: "w", Text: "Waves carry energy.", Summary: "Waves carry energy."},
			{ID: "f2", Text: long, Summary: long},
		},
		Budget: 700, Reserve: 100,
	}
	res, err := b.Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	why := map[string]Why{}
	for _, u := range res.Report.SnippetUse {
		why[u.ID] = u.Why
	}
	if res.Report.Fallback || why["f"] != Included || why["w"] != NotRelevant || why["f2"] != NoRoom {
		t.Errorf("reasons %v, fallback %v; report %s", why, res.Report.Fallback, res.Report.String())
	}

	in = &Input{
		Model:    "gpt-4o",
		Question: "Tell me about energy.",
		Snippets: []Snippet{
			{ID: "a", Text: "Energy is conserved. " + long, Summary: "Energy is conserved."},
			{ID: "b", Text: "Energy is conserved. " + long, Summary: "Energy is conserved."},
		},
	}
	res, err = b.Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Report
	if !r.Fallback || r.SnippetUse[0].Form != Summary || r.SnippetUse[1].Form != Summary {
		t.Errorf("a tie: fallback %v, %+v", r.Fallback, r.SnippetUse)
	}
	for _, w := range []Why{Included, NoRoom, NotRelevant, NotTop, Why(9)} {
		if w.String() == "" {
			t.Errorf("Why(%d) has no name", int(w))
		}
	}
}

// FuzzBuildFallback: any question gives a prompt within the budget whose
// report gives a reason for everything left out, and under the fallback
// no snippet is left out while another's summary is in after it.
//
//	go test -run '^$' -fuzz FuzzBuildFallback -fuzztime 20s ./prompt/
func FuzzBuildFallback(f *testing.F) {
	for _, q := range append(blindQuestions, "What is the acceleration of a 2 kg mass under 10 N?", "光合作用", "") {
		f.Add(q, 1500)
	}
	prompts := loadPrompts(f)
	b, err := NewBuilder()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string, budget int) {
		tp := prompts[len(q)%len(prompts)]
		in := tp.input("gpt-4o")
		in.Question, in.Budget = q, 600+abs(budget)%3000
		res, err := b.Build(context.Background(), in)
		if err != nil {
			return // bad UTF-8 or a question too long: typed errors, tested elsewhere
		}
		r := &res.Report
		if r.TokensAfter > r.Limit {
			t.Fatalf("%q: %d tokens over %d", q, r.TokensAfter, r.Limit)
		}
		for _, u := range r.SnippetUse {
			if u.Form == Dropped && u.Why == Included || u.Form != Dropped && u.Why != Included {
				t.Fatalf("%q: snippet %+v", q, u)
			}
		}
		for _, e := range r.ExampleUse {
			if !e.Kept && e.Why == Included || e.Kept && e.Why != Included {
				t.Fatalf("%q: example %+v", q, e)
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
