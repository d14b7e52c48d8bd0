package semantic

import (
	"math"
	"sync"
)

// DefaultMaxError is the error a tier with a verifier accepts for what it
// serves without asking or on the verifier's word: 0.5 %.
const DefaultMaxError = 0.005

// bandWidth is the width of a similarity band of the error bound.
const bandWidth = 0.05

// exploreEvery: where the bound lets the tier serve without asking, it
// still asks about one lookup in exploreEvery, so that the estimate keeps
// learning.
const exploreEvery = 20

// z is the one-sided normal quantile of the confidence bounds: 95 %.
const z = 1.645

// bounds learns, per similarity band and rule verdict, how often the
// verifier says a candidate is the same question, and bounds the error of
// serving it.
type bounds struct {
	mu    sync.Mutex
	cells map[bandKey]*cell
}

type bandKey struct {
	verdict Verdict
	band    int
}

type cell struct {
	asked, yes uint64 // verifier decisions in this cell
	skipped    uint64 // lookups served without asking
	passed     uint64 // lookups not asked for the band's low yield
}

func bandOf(sim float64) int {
	if !(sim > 0) {
		return 0
	}
	return int(math.Floor(sim / bandWidth))
}

// wilsonUpper is the upper confidence bound of a proportion k/n; 1 for n
// = 0.
func wilsonUpper(k, n uint64) float64 {
	if n == 0 {
		return 1
	}
	p := float64(k) / float64(n)
	nf := float64(n)
	d := 1 + z*z/nf
	c := p + z*z/(2*nf)
	r := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return math.Min(1, (c+r)/d)
}

// wilsonLower is the lower confidence bound of k/n; 0 for n = 0.
func wilsonLower(k, n uint64) float64 {
	if n == 0 {
		return 0
	}
	return math.Max(0, 1-wilsonUpper(n-k, n))
}

// skip reports whether a candidate of this verdict and similarity may be
// served without asking: the upper bound of the share of "no" in its cell
// is at most maxErr, and this is not the cell's exploration turn. It
// returns the bound as the estimated error.
func (b *bounds) skip(v Verdict, sim, maxErr float64) (bool, float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.cells[bandKey{v, bandOf(sim)}]
	if c == nil {
		return false, 1
	}
	ub := wilsonUpper(c.asked-c.yes, c.asked)
	if ub > maxErr {
		return false, ub
	}
	c.skipped++
	if c.skipped%exploreEvery == 0 {
		return false, ub
	}
	return true, ub
}

// worthAsking reports whether a candidate of this verdict and similarity,
// below the verify threshold, is worth a verifier call: its cell has not
// been asked, or the upper bound of its share of yes is at least yield,
// or (when learn) it is the cell's exploration turn. learn false only
// predicts, changing nothing.
func (b *bounds) worthAsking(v Verdict, sim, yield float64, learn bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.cells[bandKey{v, bandOf(sim)}]
	if c == nil || wilsonUpper(c.yes, c.asked) >= yield {
		return true
	}
	if !learn {
		return false
	}
	c.passed++
	return c.passed%exploreEvery == 0
}

// record adds a verifier decision to its cell.
func (b *bounds) record(v Verdict, sim float64, same bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cells == nil {
		b.cells = map[bandKey]*cell{}
	}
	k := bandKey{v, bandOf(sim)}
	c := b.cells[k]
	if c == nil {
		c = &cell{}
		b.cells[k] = c
	}
	c.asked++
	if same {
		c.yes++
	}
}

// trustYes returns the upper bound of the chance that a yes of a verifier
// wrong at rate eps is wrong in this cell, from the cell's share of yes:
// where the verifier mostly says no, most of its yeses are its errors.
// With eps 0 the verifier is taken at its word.
func (b *bounds) trustYes(v Verdict, sim, eps float64) float64 {
	if eps <= 0 {
		return 0
	}
	b.mu.Lock()
	c := b.cells[bandKey{v, bandOf(sim)}]
	var asked, yes uint64
	if c != nil {
		asked, yes = c.asked, c.yes
	}
	b.mu.Unlock()
	r := wilsonLower(yes, asked) // the share of yes, pessimistically
	// r = p(1-eps) + (1-p)eps, for p the share of candidates that are the
	// same question.
	p := (r - eps) / (1 - 2*eps)
	p = math.Max(0, math.Min(1, p))
	yesRate := p*(1-eps) + (1-p)*eps
	if yesRate <= 0 {
		return 1
	}
	return (1 - p) * eps / yesRate
}

// BandStats is what the error bound learned in one similarity band for
// one rule verdict: see [SemanticStats.Bands].
type BandStats struct {
	Verdict Verdict // the rules' verdict: Same or Unsure
	// Low is the band's lowest similarity; the band is [Low, Low+0.05).
	Low float64
	// Verified counts the verifier's decisions in the band, Yes its yes.
	Verified, Yes uint64
	// Skipped counts lookups served without asking.
	Skipped uint64
	// Passed counts lookups below the verify threshold not asked
	// because the band's yes was too rare ([WithVerifyYield]).
	Passed uint64
	// ErrorBound is the upper 95 % confidence bound of the share of
	// candidates the verifier refuses: the error of serving the band
	// without asking.
	ErrorBound float64
}

func (b *bounds) stats() []BandStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]BandStats, 0, len(b.cells))
	for k, c := range b.cells {
		out = append(out, BandStats{Verdict: k.verdict, Low: float64(k.band) * bandWidth,
			Verified: c.asked, Yes: c.yes, Skipped: c.skipped, Passed: c.passed, ErrorBound: wilsonUpper(c.asked-c.yes, c.asked)})
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && (out[j].Verdict < out[j-1].Verdict || out[j].Verdict == out[j-1].Verdict && out[j].Low < out[j-1].Low); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
