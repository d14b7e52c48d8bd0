package companion

import (
	"context"
	"errors"

	"github.com/companion-go/companion/moderation"
)

// WithModeration sets the post-processing stage to a moderation pipeline
// (word lists, format validators, the remote moderation endpoint, in
// parallel), for [Companion.Ask] and, checked as it arrives,
// [Companion.AskStream]. It is [WithPostProcessor] with a
// [ModerationStage]; use the stage directly to say what format each
// question asks for. Default: no post-processing.
func WithModeration(p *moderation.Pipeline) Option {
	return optionFunc(func(c *config) {
		if p == nil {
			c.errs = append(c.errs, &ConfigError{Option: "WithModeration", Reason: "nil pipeline"})
			return
		}
		c.post = &ModerationStage{Pipeline: p}
	})
}

// ModerationStage adapts a [moderation.Pipeline] to the [PostProcessor]
// and [StreamGuarder] interfaces. The pipeline's verdict maps to a
// [Verdict]: block → [Block] (the turn fails with a [*BlockedError]),
// mask → [Rewrite] with the masked text, flag → [Allow] with the reasons;
// reasons read "word:insult", "format:unbalanced $$", "remote:harassment".
//
// On a stream the word lists run on each piece as it arrives: the stream
// holds back only the few trailing characters a hit across a piece boundary
// needs, and a blocked word stops it before any of the word is returned.
// The other checks run at the end of the stream (see [moderation.Guard]).
type ModerationStage struct {
	// Pipeline runs the checks. Required.
	Pipeline *moderation.Pipeline
	// Format says what format the answer to q must have, for the
	// validators (for example JSON with a schema). Default nil: plain
	// text (Markdown with maths).
	Format func(q *Question) moderation.Format
}

func (s *ModerationStage) format(q *Question) moderation.Format {
	if s.Format == nil || q == nil {
		return moderation.Format{}
	}
	return s.Format(q)
}

// Check runs the pipeline on a whole answer.
func (s *ModerationStage) Check(ctx context.Context, q *Question, answer string) (Verdict, error) {
	v, err := s.Pipeline.Check(ctx, moderation.Input{Text: answer, Format: s.format(q)})
	if err != nil {
		return Verdict{}, err
	}
	return fromModeration(v), nil
}

// GuardStream returns a guard that checks a streamed answer piece by
// piece.
func (s *ModerationStage) GuardStream(ctx context.Context, q *Question) StreamGuard {
	return &moderationGuard{ctx: ctx, g: s.Pipeline.NewGuard(s.format(q))}
}

// moderationGuard adapts a moderation.Guard to StreamGuard. It keeps the
// turn's context for Finish, which runs the whole-answer checks; the
// StreamGuard interface has no context of its own.
type moderationGuard struct {
	ctx context.Context
	g   *moderation.Guard
}

// Push checks the next piece; a block becomes a *BlockedError.
func (m *moderationGuard) Push(chunk string) (string, error) {
	safe, err := m.g.Push(chunk)
	return safe, fromModerationErr(err)
}

// Finish runs the whole-answer checks and returns what was held back.
func (m *moderationGuard) Finish() (string, Verdict, error) {
	safe, v, err := m.g.Finish(m.ctx)
	if err != nil {
		return "", fromModeration(v), fromModerationErr(err)
	}
	return safe, fromModeration(v), nil
}

// fromModeration maps a moderation verdict to a Verdict.
func fromModeration(v moderation.Verdict) Verdict {
	out := Verdict{Reasons: v.Reasons()}
	switch v.Action {
	case moderation.Block:
		out.Action = Block
	case moderation.Mask:
		out.Action, out.Text = Rewrite, v.Text
	default:
		out.Action = Allow
	}
	return out
}

// fromModerationErr turns moderation's *BlockedError into a *BlockedError
// and leaves other errors as they are.
func fromModerationErr(err error) error {
	var be *moderation.BlockedError
	if errors.As(err, &be) {
		return &BlockedError{Verdict: fromModeration(be.Verdict)}
	}
	return err
}

var (
	_ PostProcessor = (*ModerationStage)(nil)
	_ StreamGuarder = (*ModerationStage)(nil)
)
