package moderation

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// Checker is one check of a [Pipeline]. Check returns what it found in
// in.Text (nothing when the text is fine), or an error when it could not
// check. It must return promptly when ctx is done, must not modify in, and
// must be safe for concurrent use. [*Matcher] and [*Remote] are Checkers;
// [WithValidator] makes one of a [Validator].
type Checker interface {
	// Check returns the findings in in.Text, none when the text is fine,
	// or an error when it could not check.
	Check(ctx context.Context, in *Input) ([]Finding, error)
}

// CheckFunc adapts a function to the [Checker] interface.
type CheckFunc func(ctx context.Context, in *Input) ([]Finding, error)

// Check calls f.
func (f CheckFunc) Check(ctx context.Context, in *Input) ([]Finding, error) { return f(ctx, in) }

// Option configures a [Pipeline]. Options are made by the With… functions
// of this package; checks run in the order their options are given, and
// the verdict lists their findings in that order.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	stages   []stage
	buffered bool
	errs     []error
}

// stage is one check of a pipeline.
type stage struct {
	name string
	c    Checker
	m    *Matcher // a word list: checked piece by piece on streams
}

// WithMatcher adds a word list. On a stream it is checked as the text
// arrives (see [Guard]). Default: none.
func WithMatcher(m *Matcher) Option {
	return optionFunc(func(c *config) {
		if m == nil {
			c.errs = append(c.errs, &ConfigError{Field: "WithMatcher", Reason: "nil matcher"})
			return
		}
		c.stages = append(c.stages, stage{name: "word", c: m, m: m})
	})
}

// WithValidator adds a format validator; a problem it finds becomes a
// "format" finding with action onProblem, which must be Flag or Block
// (a format problem has no span to mask). On a stream it runs once the
// whole answer is there. Default: none.
func WithValidator(v Validator, onProblem Action) Option {
	return optionFunc(func(c *config) {
		switch {
		case v == nil:
			c.errs = append(c.errs, &ConfigError{Field: "WithValidator", Reason: "nil validator"})
		case onProblem != Flag && onProblem != Block:
			c.errs = append(c.errs, &ConfigError{Field: "WithValidator", Reason: fmt.Sprintf("action must be flag or block, not %v", onProblem)})
		default:
			c.stages = append(c.stages, stage{name: "format", c: validatorCheck{v, onProblem}})
		}
	})
}

// WithChecker adds a check, for example a [*Remote]. On a stream it runs
// once the whole answer is there. name is used in errors. Default: none.
func WithChecker(name string, ch Checker) Option {
	return optionFunc(func(c *config) {
		switch {
		case ch == nil:
			c.errs = append(c.errs, &ConfigError{Field: "WithChecker", Reason: "nil checker"})
		case name == "":
			c.errs = append(c.errs, &ConfigError{Field: "WithChecker", Reason: "empty name"})
		default:
			c.stages = append(c.stages, stage{name: name, c: ch})
		}
	})
}

// WithBufferedStream makes a [Guard] hold the whole answer back until
// every check has seen all of it, instead of releasing text as soon as the
// word lists allow. Use it when a check that cannot see a stream piece by
// piece (a validator, the remote adapter) must be able to block a streamed
// answer before any of it is shown. Default: off.
func WithBufferedStream() Option {
	return optionFunc(func(c *config) { c.buffered = true })
}

// Pipeline runs checks on an answer in parallel and combines what they
// find into one [Verdict]. A Pipeline is safe for concurrent use; build
// one and share it.
type Pipeline struct {
	stages   []stage
	buffered bool
}

// NewPipeline returns a pipeline of the checks given by opts. It returns a
// [*ConfigError] when an option is invalid or when there is no check.
func NewPipeline(opts ...Option) (*Pipeline, error) {
	var c config
	for _, o := range opts {
		o.apply(&c)
	}
	if len(c.errs) > 0 {
		return nil, c.errs[0]
	}
	if len(c.stages) == 0 {
		return nil, &ConfigError{Field: "NewPipeline", Reason: "no check"}
	}
	return &Pipeline{stages: c.stages, buffered: c.buffered}, nil
}

// errStop cancels the other checks once one has blocked.
var errStop = errors.New("moderation: blocked, stop")

// Check runs every check on in, in parallel, and returns the verdict: the
// strongest action of the findings, their list, and the masked text when
// the verdict is Mask. The first check that finds something to block
// cancels the others (their findings are then left out). Check returns a
// [*CheckError] when a check fails, and ctx's error when ctx is done
// first. A Block verdict is a result, not an error.
func (p *Pipeline) Check(ctx context.Context, in Input) (Verdict, error) {
	findings, err := p.run(ctx, &in, p.stages)
	if err != nil {
		return Verdict{}, err
	}
	return verdict(in.Text, findings), nil
}

// run runs stages on in in parallel and returns their findings in stage
// order.
func (p *Pipeline) run(ctx context.Context, in *Input, stages []stage) ([]Finding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	results := make([][]Finding, len(stages))
	g, gctx := errgroup.WithContext(ctx)
	for i, st := range stages {
		g.Go(func() error {
			f, err := st.c.Check(gctx, in)
			if err != nil {
				if gctx.Err() != nil {
					return nil // cancelled: another check blocked, or ctx is done
				}
				return &CheckError{Check: st.name, Err: err}
			}
			results[i] = f
			for _, x := range f {
				if x.Action == Block {
					return errStop
				}
			}
			return nil
		})
	}
	err := g.Wait()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	var out []Finding
	for _, f := range results {
		out = append(out, f...)
	}
	return out, nil
}

// validatorCheck runs a Validator as a Checker.
type validatorCheck struct {
	v      Validator
	action Action
}

// Check runs the validator; a *FormatError becomes a "format" finding.
func (c validatorCheck) Check(ctx context.Context, in *Input) ([]Finding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	err := c.v.Validate(in)
	if err == nil {
		return nil, nil
	}
	if fe, ok := formatProblem(err); ok {
		return []Finding{{Check: "format", Category: fe.Problem, Action: c.action, Err: fe}}, nil
	}
	return nil, err
}

var (
	_ Checker = (*Matcher)(nil)
	_ Checker = CheckFunc(nil)
	_ Checker = validatorCheck{}
)
