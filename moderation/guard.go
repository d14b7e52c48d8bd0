package moderation

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"
)

// Guard checks one streamed answer as it arrives. Push takes each piece
// and returns the text that is now safe to show; Finish ends the answer and
// returns the rest with the verdict. Make one per answer with
// [Pipeline.NewGuard]; it is not safe for concurrent use.
//
// The word lists are checked piece by piece. The guard holds back only
// what a hit could still need: the trailing characters that begin a listed
// term (or a run of single letters that may still spell one), and a hit
// whose allow-list context has not arrived yet ("想死" waits to see whether
// "你了" follows). Everything before that is released at once, masked where
// a Mask hit lies. A Block hit stops the guard with a [*BlockedError]
// before any of its text is released. That error may come from Finish
// rather than Push: a word at the very end of the answer ("… you idiot")
// is only settled when Finish says no letter follows it (it might still
// have been "idiotic"), so a stream's consumer must treat a
// [*BlockedError] from Finish like one from Push.
//
// The other checks (validators, [*Remote], [WithChecker]) need the whole
// answer and run in Finish: a Block from them ends the stream with a
// [*BlockedError] but cannot recall what was released before. With
// [WithBufferedStream], or without a word list, the guard releases nothing
// before Finish.
type Guard struct {
	p        *Pipeline
	format   Format
	buf      strings.Builder
	scanners []*scanner
	matchers []*Matcher
	seen     []int // found hits of each scanner already taken
	others   []stage

	released int
	masks    [][2]int
	findings []Finding // word findings settled so far
	done     bool
}

// NewGuard returns a guard for one streamed answer to a request that asked
// for format f.
func (p *Pipeline) NewGuard(f Format) *Guard {
	g := &Guard{p: p, format: f}
	for _, st := range p.stages {
		if st.m != nil && !p.buffered {
			sc := &scanner{}
			sc.reset(st.m)
			g.scanners = append(g.scanners, sc)
			g.matchers = append(g.matchers, st.m)
			g.seen = append(g.seen, 0)
		} else {
			g.others = append(g.others, st)
		}
	}
	return g
}

// Push adds the next piece of the answer and returns the text that is now
// safe to show, "" when all of it must wait. It returns a [*BlockedError]
// when a word list blocks the answer; after that, and after Finish, it
// returns [ErrGuardDone].
func (g *Guard) Push(chunk string) (string, error) {
	if g.done {
		return "", ErrGuardDone
	}
	g.buf.WriteString(chunk)
	if len(g.scanners) == 0 {
		return "", nil
	}
	text := g.buf.String()
	if err := g.scan(text, false); err != nil {
		return "", err
	}
	f := len(text)
	for _, sc := range g.scanners {
		f = min(f, sc.hold())
	}
	return g.release(text, f), nil
}

// Finish ends the answer: it settles the word lists, runs the other checks
// on the whole answer, and returns the text held back until now with the
// verdict on the whole answer. When the verdict is Block it returns a
// [*BlockedError] (and the verdict) instead of the text.
func (g *Guard) Finish(ctx context.Context) (string, Verdict, error) {
	if g.done {
		return "", Verdict{}, ErrGuardDone
	}
	text := g.buf.String()
	if err := g.scan(text, true); err != nil {
		var v Verdict
		if be, ok := err.(*BlockedError); ok {
			v = be.Verdict
		}
		return "", v, err
	}
	g.done = true
	var extra []Finding
	if len(g.others) > 0 {
		var err error
		extra, err = g.p.run(ctx, &Input{Text: text, Format: g.format}, g.others)
		if err != nil {
			return "", Verdict{}, err
		}
	}
	v := verdict(text, append(slices.Clone(g.findings), extra...))
	if v.Action == Block {
		return "", v, &BlockedError{Verdict: v}
	}
	for _, f := range extra {
		if f.Action == Mask && f.End > f.Start {
			g.masks = append(g.masks, [2]int{f.Start, f.End})
		}
	}
	return g.release(text, len(text)), v, nil
}

// Released returns how many bytes of the pushed text the guard has
// released so far: the offset in the original text, in the same bytes as
// [Finding].Start and End, up to which the stream has been shown. (A
// masked span is released as one '*' per visible character, so the text
// returned may be shorter than that.)
func (g *Guard) Released() int { return g.released }

// Held returns how many characters the guard holds back now: pushed but
// not yet released.
func (g *Guard) Held() int {
	return utf8.RuneCountInString(g.buf.String()[g.released:])
}

// scan advances every word list over text and takes the hits they settled;
// it returns a *BlockedError when one blocks.
func (g *Guard) scan(text string, eof bool) error {
	blocked := false
	for i, sc := range g.scanners {
		sc.advance(text, eof)
		for _, h := range sc.found[g.seen[i]:] {
			f := g.matchers[i].finding(h)
			g.findings = append(g.findings, f)
			switch f.Action {
			case Block:
				blocked = true
			case Mask:
				g.masks = append(g.masks, [2]int{f.Start, f.End})
			}
		}
		g.seen[i] = len(sc.found)
	}
	if blocked {
		g.done = true
		v := verdict(text, g.findings)
		v.Text = ""
		return &BlockedError{Verdict: v}
	}
	return nil
}

// release returns text[g.released:f] masked, and moves g.released to f. It
// never cuts through a masked span.
func (g *Guard) release(text string, f int) string {
	for _, m := range g.masks {
		if m[0] < f && m[1] > f {
			f = m[0]
		}
	}
	if f <= g.released {
		return ""
	}
	if len(g.masks) == 0 {
		out := text[g.released:f]
		g.released = f
		return out
	}
	var b strings.Builder
	b.Grow(f - g.released)
	writeMasked(&b, text, g.released, f, g.masks)
	g.released = f
	return b.String()
}
