package moderation

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/companion-go/companion/companiontest"
)

// streamThrough pushes chunks through a guard and returns the text
// released, the verdict and the error that ended it.
func streamThrough(g *Guard, chunks []string) (string, Verdict, error) {
	var out strings.Builder
	for _, c := range chunks {
		safe, err := g.Push(c)
		out.WriteString(safe)
		if err != nil {
			var v Verdict
			if be, ok := err.(*BlockedError); ok {
				v = be.Verdict
			}
			return out.String(), v, err
		}
	}
	rest, v, err := g.Finish(context.Background())
	out.WriteString(rest)
	return out.String(), v, err
}

// randomCuts cuts s into pieces at random character boundaries.
func randomCuts(rng *rand.Rand, s string) []string {
	var out []string
	for len(s) > 0 {
		n := 1 + rng.IntN(12)
		i := 0
		for ; n > 0 && i < len(s); n-- {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

// TestGuardMatchesWholeText: whatever the cuts, the guard gives the whole
// text's verdict, releases the masked text, and releases nothing of a
// blocked hit.
func TestGuardMatchesWholeText(t *testing.T) {
	p, err := NewPipeline(WithMatcher(testMatcher(t)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	texts := []string{}
	for _, c := range readJSONL[wordCase](t, "testdata/cases.jsonl") {
		texts = append(texts, c.Text)
	}
	// Mixtures of the cases, so that hits fall anywhere.
	for range 200 {
		a, b := texts[rng.IntN(len(texts))], texts[rng.IntN(len(texts))]
		texts = append(texts, a+" "+b)
	}
	for _, text := range texts {
		whole, err := p.Check(context.Background(), Input{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			chunks := randomCuts(rng, text)
			out, v, err := streamThrough(p.NewGuard(Format{}), chunks)
			if whole.Action == Block {
				firstBlock := len(text)
				for _, f := range whole.Findings {
					if f.Action == Block {
						firstBlock = min(firstBlock, f.Start)
					}
				}
				if !errors.Is(err, ErrBlocked) || len(out) > firstBlock || !strings.HasPrefix(maskText(text, whole.Findings), out) {
					t.Fatalf("%q in %q: out %q, err %v; want blocked before %d", text, chunks, out, err, firstBlock)
				}
				continue
			}
			want := text
			if whole.Action == Mask {
				want = whole.Text
			}
			if err != nil || out != want || v.Action != whole.Action || strings.Join(v.Reasons(), ",") != strings.Join(whole.Reasons(), ",") {
				t.Fatalf("%q in %q: out %q %v %v, want %q %v", text, chunks, out, v.Action, err, want, whole.Action)
			}
		}
	}
}

// TestGuardHoldBack: on clean text the guard holds back no more than the
// longest term's length plus the word it is in.
func TestGuardHoldBack(t *testing.T) {
	m := testMatcher(t)
	p, err := NewPipeline(WithMatcher(m))
	if err != nil {
		t.Fatal(err)
	}
	maxTerm := 0
	for _, tm := range m.terms {
		maxTerm = max(maxTerm, utf8.RuneCountInString(tm.norm))
	}
	var texts []string
	for _, q := range benchQuestions {
		texts = append(texts, companiontest.Answer(q))
	}
	pushes, sum, most := 0, 0, 0
	for _, text := range texts {
		g := p.NewGuard(Format{})
		for _, c := range splitEvery(text, 4) {
			if _, err := g.Push(c); err != nil {
				t.Fatalf("%q: %v", text, err)
			}
			h := g.Held()
			pushes++
			sum += h
			most = max(most, h)
		}
		if _, _, err := g.Finish(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if most > maxTerm+4 {
		t.Errorf("held back up to %d characters; the longest term has %d", most, maxTerm)
	}
	t.Logf("hold-back over %d pushes of 4 characters: %.2f characters on average, %d at most (longest term %d)",
		pushes, float64(sum)/float64(pushes), most, maxTerm)
}

func TestGuardFinishChecks(t *testing.T) {
	m := mustMatcher(t, []Entry{{Term: "idiot", Category: "insult", Severity: Medium}}, nil)
	p, err := NewPipeline(WithMatcher(m), WithValidator(JSONValidator{}, Block), WithValidator(MarkdownValidator{}, Flag))
	if err != nil {
		t.Fatal(err)
	}
	// A JSON answer that is not JSON: blocked at Finish.
	g := p.NewGuard(Format{JSON: true})
	out, v, err := streamThrough(g, []string{"Sure! ", `{"a": 1}`})
	if !errors.Is(err, ErrBlocked) || v.Action != Block || v.Reasons()[0] != "format:invalid json" {
		t.Fatalf("out %q, %+v, %v", out, v, err)
	}
	if _, err := g.Push("more"); !errors.Is(err, ErrGuardDone) {
		t.Errorf("Push after Finish = %v", err)
	}
	if _, _, err := g.Finish(context.Background()); !errors.Is(err, ErrGuardDone) {
		t.Errorf("Finish after Finish = %v", err)
	}
	// Markdown problem: flagged, text released, masked.
	out, v, err = streamThrough(p.NewGuard(Format{}), []string{"You id", "iot, $x = 1"})
	if err != nil || out != "You *****, $x = 1" || v.Action != Mask || strings.Join(v.Reasons(), ",") != "word:insult,format:unbalanced $" {
		t.Errorf("out %q, %+v, %v", out, v, err)
	}
}

func TestGuardBuffered(t *testing.T) {
	srv := companiontest.NewServer()
	defer srv.Close()
	r, err := NewRemote(RemoteConfig{BaseURL: srv.URL, Timeout: 30 * time.Second, HTTPClient: testClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	m := mustMatcher(t, []Entry{{Term: "idiot", Category: "insult", Severity: Medium}}, nil)
	p, err := NewPipeline(WithMatcher(m), WithChecker("remote", r), WithBufferedStream())
	if err != nil {
		t.Fatal(err)
	}
	g := p.NewGuard(Format{})
	for _, c := range []string{"you ", "should kill ", "yourself"} {
		if safe, err := g.Push(c); safe != "" || err != nil {
			t.Fatalf("buffered Push = %q, %v", safe, err)
		}
	}
	if rest, v, err := g.Finish(context.Background()); !errors.Is(err, ErrBlocked) || rest != "" || v.Action != Block {
		t.Fatalf("Finish = %q, %+v, %v", rest, v, err)
	}
	out, v, err := streamThrough(p.NewGuard(Format{}), []string{"you ", "id", "iot"})
	if err != nil || out != "you *****" || v.Action != Mask {
		t.Errorf("buffered mask: %q, %+v, %v", out, v, err)
	}
}
