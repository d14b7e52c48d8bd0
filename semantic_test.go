package companion

import (
	"context"
	"testing"

	"github.com/companion-go/companion/semantic"
)

func newSemantic(t testing.TB) *semantic.Semantic {
	s, err := semantic.NewSemantic()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSemanticCache(t *testing.T) {
	sem := newSemantic(t)
	c, srv := newTest(t, nil, WithExactCache(newMemory(t)), WithSemanticCache(sem))
	ctx := context.Background()
	ask := func(q Question) *Answer {
		t.Helper()
		a, err := c.Ask(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	first := ask(Question{Text: "What does Newton's second law say?", Subject: "physics"})
	para := ask(Question{Text: "what does newton's 2nd law say", Subject: "physics"})
	if para.Source != SourceSemantic || para.Text != first.Text || para.Similarity < sem.Threshold() {
		t.Errorf("paraphrase: source %v similarity %.3f (threshold %.2f)", para.Source, para.Similarity, sem.Threshold())
	}

	// Close in any embedding, different in meaning: the guards refuse.
	ask(Question{Text: "Solve the equation 2x + 3 = 7 for x", Subject: "math"})
	other := ask(Question{Text: "Solve the equation 2x + 3 = 9 for x", Subject: "math"})
	if other.Source != SourceUpstream {
		t.Errorf("2x+3=9 was served the answer to 2x+3=7 (%v, %.3f)", other.Source, other.Similarity)
	}
	third := ask(Question{Text: "What does Newton's third law say?", Subject: "physics"})
	if third.Source != SourceUpstream {
		t.Errorf("the third law was served the second law's answer (%v, %.3f)", third.Source, third.Similarity)
	}
	// Another namespace never meets these entries.
	if a := ask(Question{Text: "What does Newton's second law say?", Subject: "physics", Tenant: "other"}); a.Source != SourceUpstream {
		t.Errorf("another tenant got %v", a.Source)
	}
	// A follow-up that leans on its conversation bypasses the semantic tier.
	follow := ask(Question{Text: "what does newton's 2nd law say", Subject: "physics",
		History: []Message{{Role: RoleUser, Content: "Who was Isaac Newton?"}, {Role: RoleAssistant, Content: "An English physicist."}}})
	if follow.Source != SourceUpstream {
		t.Errorf("a turn with history was served from %v", follow.Source)
	}
	st := c.CacheStats()
	if st.Semantic != 1 || st.Rejections < 1 {
		t.Errorf("stats = %+v", st)
	}
	if n := srv.RequestCount("/v1/chat/completions"); n != 6 {
		t.Errorf("upstream saw %d requests, want 6", n)
	}
	// A semantic hit streams like any other.
	s, err := c.AskStream(ctx, Question{Text: "What does Newton’s second law say", Subject: "physics"})
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, s); got != first.Text || s.Answer().Source == SourceUpstream {
		t.Errorf("streamed hit: %v %q", s.Answer().Source, got)
	}
}
