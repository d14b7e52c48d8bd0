package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// summary is what the table shows of one client's run.
type summary struct {
	turns, errors, wrong               int
	ttft, total                        dist
	throughput                         float64 // turns per second
	bySource                           map[string]int
	upstream                           int // turns that called the model
	coalesced                          int // turns that shared a concurrent turn's call
	promptTokens, promptTokensUpstream int // in all; mean per upstream call
	saved                              int
	cost, extra                        float64
}

// dist is a latency distribution.
type dist struct{ mean, p50, p90, p99, max time.Duration }

func newDist(ds []time.Duration) dist {
	if len(ds) == 0 {
		return dist{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	q := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return dist{mean: sum / time.Duration(len(s)), p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[len(s)-1]}
}

func summarize(st runStats) summary {
	sm := summary{turns: len(st.results), bySource: map[string]int{}, extra: st.extra}
	var ttft, total []time.Duration
	for _, r := range st.results {
		if r.err != nil {
			sm.errors++
			continue
		}
		if r.wrong {
			sm.wrong++
		}
		ttft = append(ttft, r.ttft)
		total = append(total, r.total)
		sm.bySource[r.source]++
		switch {
		case r.coalesced:
			sm.coalesced++
		case r.source == "upstream":
			sm.upstream++
		}
		sm.promptTokens += r.promptTokens
		sm.saved += r.saved
		sm.cost += r.cost
	}
	sm.ttft, sm.total = newDist(ttft), newDist(total)
	if sm.upstream > 0 {
		sm.promptTokensUpstream = sm.promptTokens / sm.upstream
	}
	if st.wall > 0 {
		sm.throughput = float64(sm.turns) / st.wall.Seconds()
	}
	return sm
}

// sec formats a latency: seconds, or milliseconds below 10 ms (a cache
// hit), which three decimals of a second would show as 0.
func sec(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1e3)
	}
	return fmt.Sprintf("%.3f s", d.Seconds())
}

func change(before, after float64) string {
	if before == 0 {
		return ""
	}
	return fmt.Sprintf("%+.0f %%", 100*(after-before)/before)
}

// table writes the before-and-after table in Markdown.
func table(out io.Writer, b, c summary, model string) {
	pct := func(n, of int) string {
		if of == 0 {
			return "0 %"
		}
		return fmt.Sprintf("%.1f %%", 100*float64(n)/float64(of))
	}
	rows := [][4]string{}
	lat := func(name string, bd, cd dist) {
		rows = append(rows,
			[4]string{name + " mean", sec(bd.mean), sec(cd.mean), change(bd.mean.Seconds(), cd.mean.Seconds())},
			[4]string{name + " p50", sec(bd.p50), sec(cd.p50), change(bd.p50.Seconds(), cd.p50.Seconds())},
			[4]string{name + " p90", sec(bd.p90), sec(cd.p90), change(bd.p90.Seconds(), cd.p90.Seconds())},
			[4]string{name + " p99", sec(bd.p99), sec(cd.p99), change(bd.p99.Seconds(), cd.p99.Seconds())},
		)
	}
	lat("time to first token", b.ttft, c.ttft)
	lat("whole answer", b.total, c.total)
	hits := func(s summary) string {
		h := s.bySource["exact"] + s.bySource["semantic"] + s.bySource["prewarmed"]
		return pct(h, s.turns-s.errors)
	}
	tier := func(s summary, src string) string { return pct(s.bySource[src], s.turns-s.errors) }
	cost := func(s summary) float64 { return s.cost + s.extra }
	rows = append(rows,
		[4]string{"throughput", fmt.Sprintf("%.1f turns/s", b.throughput), fmt.Sprintf("%.1f turns/s", c.throughput), change(b.throughput, c.throughput)},
		[4]string{"cache hits, all tiers", hits(b), hits(c), ""},
		[4]string{"  exact", tier(b, "exact"), tier(c, "exact"), ""},
		[4]string{"  semantic", tier(b, "semantic"), tier(c, "semantic"), ""},
		[4]string{"  prewarmed (Batch API)", tier(b, "prewarmed"), tier(c, "prewarmed"), ""},
		[4]string{"shared a concurrent call (coalesced)", pct(b.coalesced, b.turns-b.errors), pct(c.coalesced, c.turns-c.errors), ""},
		[4]string{"model calls", fmt.Sprint(b.upstream), fmt.Sprint(c.upstream), change(float64(b.upstream), float64(c.upstream))},
		[4]string{"prompt tokens per call", fmt.Sprint(b.promptTokensUpstream), fmt.Sprint(c.promptTokensUpstream), change(float64(b.promptTokensUpstream), float64(c.promptTokensUpstream))},
		[4]string{"prompt tokens, all turns", fmt.Sprint(b.promptTokens), fmt.Sprint(c.promptTokens), change(float64(b.promptTokens), float64(c.promptTokens))},
		[4]string{"estimated cost (" + model + ")", fmt.Sprintf("$%.4f", cost(b)), fmt.Sprintf("$%.4f", cost(c)), change(cost(b), cost(c))},
		[4]string{"  of which prewarming", "", fmt.Sprintf("$%.4f", c.extra), ""},
		[4]string{"errors", fmt.Sprint(b.errors), fmt.Sprint(c.errors), ""},
		[4]string{"wrong answers (another question's)", fmt.Sprint(b.wrong), fmt.Sprint(c.wrong), ""},
	)
	fmt.Fprintln(out, "| metric | baseline | Companion | change |")
	fmt.Fprintln(out, "|---|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(out, "| %s | %s | %s | %s |\n", r[0], r[1], r[2], r[3])
	}
}

// chart draws the distributions of both clients' latencies as cumulative
// curves on a logarithmic time axis, and saves them as SVG or PNG (by the
// extension of path).
func chart(path string, b, c runStats) error {
	p := plot.New()
	p.Title.Text = "Latency per turn, same traffic: baseline vs Companion"
	p.X.Label.Text = "seconds (log scale)"
	p.Y.Label.Text = "share of turns answered within"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	curve := func(rs []result, f func(result) time.Duration) plotter.XYs {
		var ds []float64
		for _, r := range rs {
			if r.err == nil {
				ds = append(ds, max(f(r).Seconds(), 1e-4))
			}
		}
		slices.Sort(ds)
		xys := make(plotter.XYs, len(ds))
		for i, d := range ds {
			xys[i] = plotter.XY{X: d, Y: float64(i+1) / float64(len(ds))}
		}
		return xys
	}
	ttft := func(r result) time.Duration { return r.ttft }
	total := func(r result) time.Duration { return r.total }
	if err := plotutil.AddLines(p,
		"baseline (first token = whole answer)", curve(b.results, total),
		"Companion, first token", curve(c.results, ttft),
		"Companion, whole answer", curve(c.results, total),
	); err != nil {
		return err
	}
	p.Legend.Top = false
	p.Legend.Left = true
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// String describes the traffic in one line.
func (m mix) String() string {
	return fmt.Sprintf("%d turns: %d curriculum questions (pairs.jsonl), %d tutoring prompts with history (prompts.jsonl), %d GSM8K word problems; "+
		"%d repeats of an earlier question, %d paraphrases of one, %d first asks; %d distinct questions; %d turns whose hard negative was asked before them",
		m.turns, m.curriculum, m.prompts, m.gsm8k, m.repeats, m.paraphrases, m.firstSeen, m.distinct, m.negatives)
}
