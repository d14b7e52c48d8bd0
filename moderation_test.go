package companion

import (
	"context"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/moderation"
)

const newton2 = "What is Newton's second law?"

// physicsPipeline builds a word list of words from the fake tutor's answer
// to newton2 ("...the acceleration of an object is proportional to the net
// force on it and inversely proportional to its mass..."), with the given
// severities.
func physicsPipeline(t *testing.T, words ...moderation.Entry) *moderation.Pipeline {
	t.Helper()
	m, err := moderation.NewMatcher(words, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := moderation.NewPipeline(moderation.WithMatcher(m), moderation.WithValidator(moderation.MarkdownValidator{}, moderation.Flag))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// recvAll reads a stream to its end and returns the text received and the
// error that ended it (nil for io.EOF).
func recvAll(t *testing.T, s *Stream) (string, int, error) {
	t.Helper()
	defer s.Close()
	var b strings.Builder
	n := 0
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), n, nil
		}
		if err != nil {
			return b.String(), n, err
		}
		b.WriteString(ch.Text)
		n++
	}
}

func TestModerationBlocks(t *testing.T) {
	c, _ := newTest(t, nil, WithModeration(physicsPipeline(t,
		moderation.Entry{Term: "acceleration", Category: "physics", Severity: moderation.High})))
	ctx := context.Background()
	answer := companiontest.Answer(newton2)
	at := strings.Index(answer, "acceleration")
	if at < 0 {
		t.Fatalf("the fake's answer changed: %q", answer)
	}

	a, err := c.Ask(ctx, Question{Text: newton2})
	var be *BlockedError
	if !errors.As(err, &be) || !errors.Is(err, ErrBlocked) || a != nil {
		t.Fatalf("Ask = %v, %v; want a *BlockedError", a, err)
	}
	if be.Verdict.Action != Block || len(be.Verdict.Reasons) != 1 || be.Verdict.Reasons[0] != "word:physics" {
		t.Errorf("verdict = %+v", be.Verdict)
	}

	s, err := c.AskStream(ctx, Question{Text: newton2})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := recvAll(t, s)
	if !errors.As(err, &be) || be.Verdict.Action != Block {
		t.Fatalf("stream ended with %v, want a *BlockedError", err)
	}
	if !strings.HasPrefix(answer, got) || len(got) > at {
		t.Errorf("stream released %q: more than the text before the blocked word (%d bytes)", got, at)
	}
	if strings.Contains(got, "acc") {
		t.Errorf("stream released part of the blocked word: %q", got)
	}
	if s.Answer() != nil {
		t.Error("a blocked stream has an Answer")
	}
}

func TestModerationMasks(t *testing.T) {
	c, _ := newTest(t, nil, WithModeration(physicsPipeline(t,
		moderation.Entry{Term: "force", Category: "physics", Severity: moderation.Medium},
		moderation.Entry{Term: "mass", Category: "units", Severity: moderation.Low})))
	ctx := context.Background()
	answer := companiontest.Answer(newton2)
	// The word list's inflection rule masks the plural too, one * per
	// character.
	want := regexp.MustCompile(`\bforces?\b`).ReplaceAllStringFunc(answer, func(w string) string { return strings.Repeat("*", len(w)) })
	if want == answer {
		t.Fatalf("the fake's answer changed: %q", answer)
	}

	a, err := c.Ask(ctx, Question{Text: newton2})
	if err != nil {
		t.Fatal(err)
	}
	if a.Text != want {
		t.Errorf("Ask text = %q, want %q", a.Text, want)
	}
	if a.Verdict.Action != Rewrite || a.Verdict.Text != want || strings.Join(a.Verdict.Reasons, ",") != "word:physics,word:units" {
		t.Errorf("Ask verdict = %+v", a.Verdict)
	}

	s, err := c.AskStream(ctx, Question{Text: newton2})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := recvAll(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("stream = %q, want %q", got, want)
	}
	if sa := s.Answer(); sa == nil || sa.Text != want || sa.Verdict.Action != Rewrite {
		t.Errorf("stream answer = %+v", sa)
	}
}

func TestModerationFlags(t *testing.T) {
	c, _ := newTest(t, nil, WithModeration(physicsPipeline(t,
		moderation.Entry{Term: "mass", Category: "units", Severity: moderation.Low})))
	a, err := c.Ask(context.Background(), Question{Text: newton2})
	if err != nil {
		t.Fatal(err)
	}
	if a.Text != companiontest.Answer(newton2) || a.Verdict.Action != Allow || len(a.Verdict.Reasons) != 1 {
		t.Errorf("Ask = %q, verdict %+v", a.Text, a.Verdict)
	}
}

// holdRecorder wraps a stage and records, after every piece, how many
// characters its guard holds back.
type holdRecorder struct {
	*ModerationStage
	held []int
}

func (h *holdRecorder) GuardStream(ctx context.Context, q *Question) StreamGuard {
	return &recordingGuard{StreamGuard: h.ModerationStage.GuardStream(ctx, q), h: h}
}

type recordingGuard struct {
	StreamGuard
	h       *holdRecorder
	in, out strings.Builder
}

func (g *recordingGuard) Push(chunk string) (string, error) {
	safe, err := g.StreamGuard.Push(chunk)
	g.in.WriteString(chunk)
	g.out.WriteString(safe)
	g.h.held = append(g.h.held, utf8.RuneCountInString(g.in.String())-utf8.RuneCountInString(g.out.String()))
	return safe, err
}

// TestModerationCleanStream checks that a clean answer flows through the
// guard whole, held back by no more than a word, and measures the hold-back
// and the time to first token with and without the guard.
func TestModerationCleanStream(t *testing.T) {
	lat := companiontest.Latency{FirstToken: 20 * time.Millisecond, PerOutputToken: 2 * time.Millisecond}
	stage := &holdRecorder{ModerationStage: &ModerationStage{Pipeline: physicsPipeline(t,
		moderation.Entry{Term: "momentum", Category: "physics", Severity: moderation.High},
		moderation.Entry{Term: "kilograms per second", Category: "units", Severity: moderation.High},
		moderation.Entry{Term: "加速度计", Category: "physics", Severity: moderation.High})}}
	guarded, _ := newTest(t, []companiontest.Option{companiontest.WithLatency(lat)}, WithPostProcessor(stage))
	plain, _ := newTest(t, []companiontest.Option{companiontest.WithLatency(lat)})
	ctx := context.Background()

	for _, q := range []string{newton2, "牛顿第二定律是什么？"} {
		stage.held = nil
		answer := companiontest.Answer(q)
		s, err := guarded.AskStream(ctx, Question{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		got, n, err := recvAll(t, s)
		if err != nil {
			t.Fatal(err)
		}
		if got != answer {
			t.Errorf("guarded stream = %q, want %q", got, answer)
		}
		a := s.Answer()
		if a == nil || a.Verdict.Action != Allow || len(a.Verdict.Reasons) != 0 {
			t.Errorf("verdict = %+v", a)
		}
		maxHeld, sum, pieces := 0, 0, len(stage.held)
		for _, h := range stage.held {
			maxHeld = max(maxHeld, h)
			sum += h
		}
		// The longest term is 20 characters; a clean answer is held back
		// by at most the word or phrase that might begin one.
		if maxHeld > 20 {
			t.Errorf("held back up to %d characters", maxHeld)
		}
		// Time to first token, median of three, with and without the guard.
		ttft := func(c *Companion) time.Duration {
			var ds []time.Duration
			for range 3 {
				s, err := c.AskStream(ctx, Question{Text: q})
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := recvAll(t, s); err != nil {
					t.Fatal(err)
				}
				ds = append(ds, s.Answer().Timings.FirstToken)
			}
			slices.Sort(ds)
			return ds[1]
		}
		tg, tp := ttft(guarded), ttft(plain)
		t.Logf("%q: %d pieces in, %d out; held back %.1f characters on average, %d at most; "+
			"first token after %v with the guard, %v without (median of 3); post-processing %v for the whole stream",
			q, pieces, n, float64(sum)/float64(max(1, pieces)), maxHeld,
			tg.Round(100*time.Microsecond), tp.Round(100*time.Microsecond), a.Timings.Post)
	}
}

// TestModerationJSONFormat checks the Format hook: a question that asks for
// JSON gets its answer checked as JSON.
func TestModerationJSONFormat(t *testing.T) {
	m, err := moderation.NewMatcher([]moderation.Entry{{Term: "idiot", Category: "insult", Severity: moderation.Medium}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := moderation.NewPipeline(moderation.WithMatcher(m), moderation.WithValidator(moderation.JSONValidator{}, moderation.Block))
	if err != nil {
		t.Fatal(err)
	}
	stage := &ModerationStage{Pipeline: p, Format: func(q *Question) moderation.Format {
		return moderation.Format{JSON: q.Subject == "json"}
	}}
	c, _ := newTest(t, nil, WithPostProcessor(stage))
	ctx := context.Background()
	if _, err := c.Ask(ctx, Question{Text: newton2}); err != nil {
		t.Fatalf("plain question: %v", err)
	}
	_, err = c.Ask(ctx, Question{Text: newton2, Subject: "json"})
	var be *BlockedError
	if !errors.As(err, &be) || be.Verdict.Reasons[0] != "format:invalid json" {
		t.Fatalf("JSON question: %v, want blocked for invalid json", err)
	}
	s, err := c.AskStream(ctx, Question{Text: newton2, Subject: "json"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := recvAll(t, s); !errors.As(err, &be) {
		t.Fatalf("JSON stream: %v, want blocked", err)
	}
}

func TestWithModerationNil(t *testing.T) {
	if _, err := New(WithModeration(nil)); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("New(WithModeration(nil)) = %v, want ErrInvalidConfig", err)
	}
}
