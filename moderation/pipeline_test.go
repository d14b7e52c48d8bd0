package moderation

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"
)

func TestPipelineCombines(t *testing.T) {
	m := mustMatcher(t, []Entry{
		{Term: "idiot", Category: "insult", Severity: Medium},
		{Term: "hell", Category: "rude", Severity: Low},
	}, nil)
	p, err := NewPipeline(
		WithMatcher(m),
		WithValidator(MarkdownValidator{}, Flag),
		WithChecker("custom", CheckFunc(func(_ context.Context, in *Input) ([]Finding, error) {
			return []Finding{{Check: "custom", Category: "length", Action: Flag}}, nil
		})),
	)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.Check(context.Background(), Input{Text: "What the hell, idiot: $x = 1."})
	if err != nil {
		t.Fatal(err)
	}
	if v.Action != Mask || v.Text != "What the hell, *****: $x = 1." {
		t.Errorf("verdict %v %q", v.Action, v.Text)
	}
	if got := v.Reasons(); !slices.Equal(got, []string{"word:rude", "word:insult", "format:unbalanced $", "custom:length"}) {
		t.Errorf("reasons = %q", got)
	}
	v, err = p.Check(context.Background(), Input{Text: "All fine."})
	if err != nil || v.Action != Flag || v.Text != "" {
		t.Errorf("clean text: %+v, %v", v, err)
	}
}

// TestPipelineBlockCancels: the first check that blocks cancels the others,
// a slow remote call included.
func TestPipelineBlockCancels(t *testing.T) {
	srv := companiontest.NewServer(companiontest.WithFaults(companiontest.Fault{
		Kind: companiontest.FaultSlowHeaders, Path: "/v1/moderations", Delay: 10 * time.Second,
	}))
	defer srv.Close()
	r, err := NewRemote(RemoteConfig{BaseURL: srv.URL, Timeout: -1, HTTPClient: testClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	var cancelled atomic.Bool
	slow := CheckFunc(func(ctx context.Context, _ *Input) ([]Finding, error) {
		select {
		case <-ctx.Done():
			cancelled.Store(true)
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
			return nil, nil
		}
	})
	m := mustMatcher(t, []Entry{{Term: "作弊器", Category: "cheating", Severity: High}}, nil)
	p, err := NewPipeline(WithChecker("remote", r), WithChecker("slow", slow), WithMatcher(m))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	v, err := p.Check(context.Background(), Input{Text: "谁有作弊器？"})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Check took %v: the block did not cancel the others", d)
	}
	if v.Action != Block || !slices.Equal(v.Reasons(), []string{"word:cheating"}) || !cancelled.Load() {
		t.Errorf("verdict %+v, slow check cancelled: %v", v, cancelled.Load())
	}
}

func TestPipelineErrors(t *testing.T) {
	boom := errors.New("boom")
	p, err := NewPipeline(WithChecker("broken", CheckFunc(func(context.Context, *Input) ([]Finding, error) { return nil, boom })),
		WithValidator(ValidatorFunc(func(*Input) error { return nil }), Block))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Check(context.Background(), Input{Text: "x"})
	var ce *CheckError
	if !errors.As(err, &ce) || ce.Check != "broken" || !errors.Is(err, boom) {
		t.Errorf("Check = %v, want a *CheckError wrapping boom", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Check(ctx, Input{Text: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Check(cancelled) = %v", err)
	}
	// A validator that cannot check: its error, not a finding.
	vp, err := NewPipeline(WithValidator(ValidatorFunc(func(*Input) error { return boom }), Flag))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vp.Check(context.Background(), Input{Text: "x"}); !errors.Is(err, boom) {
		t.Errorf("validator error = %v", err)
	}

	for _, opts := range [][]Option{
		nil,
		{WithMatcher(nil)},
		{WithValidator(nil, Flag)},
		{WithValidator(MarkdownValidator{}, Mask)},
		{WithValidator(MarkdownValidator{}, Allow)},
		{WithChecker("", CheckFunc(nil))},
		{WithChecker("x", nil)},
	} {
		if _, err := NewPipeline(opts...); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewPipeline(%d options) = %v, want ErrInvalidConfig", len(opts), err)
		}
	}
}
