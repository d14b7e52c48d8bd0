package prompt

import (
	"context"
	"testing"
)

// benchInput is a development prompt cut to about 1 800 tokens before
// compression, the article's size.
func benchInput(b *testing.B) *Input {
	in := loadPrompts(b)[0].input("gpt-5")
	bl, err := NewBuilder()
	if err != nil {
		b.Fatal(err)
	}
	for {
		res, err := bl.Build(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		if res.Report.TokensBefore <= 1850 {
			return in
		}
		if len(in.Examples) > 6 {
			in.Examples = in.Examples[:len(in.Examples)-1]
		} else {
			in.Snippets = in.Snippets[:len(in.Snippets)-1]
		}
	}
}

// BenchmarkBuild builds a prompt of about 1 800 tokens (reported as
// tokens-before; tokens-after is the built prompt): "warm" with the memo
// holding the counts of its parts, as on every turn after the first with
// the same system prompt and knowledge base; "cold" with a new builder
// each time, counting everything. "dataset" cycles through the 40
// development prompts, warm.
//
//	go test -run '^$' -bench Build -benchtime 2000x ./prompt/
func BenchmarkBuild(b *testing.B) {
	ctx := context.Background()
	in := benchInput(b)
	b.Run("memo=warm", func(b *testing.B) {
		bl, _ := NewBuilder()
		res, _ := bl.Build(ctx, in)
		m := meterCPU(b, 0)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bl.Build(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
		m.report()
		b.ReportMetric(float64(res.Report.TokensBefore), "tokens-before")
		b.ReportMetric(float64(res.Report.TokensAfter), "tokens-after")
	})
	b.Run("memo=cold", func(b *testing.B) {
		m := meterCPU(b, 0)
		b.ReportAllocs()
		for b.Loop() {
			bl, _ := NewBuilder()
			if _, err := bl.Build(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
		m.report()
	})
	b.Run("dataset", func(b *testing.B) {
		var ins []*Input
		for _, tp := range loadPrompts(b) {
			ins = append(ins, tp.input("gpt-5"))
		}
		bl, _ := NewBuilder()
		for _, in := range ins {
			bl.Build(ctx, in)
		}
		m := meterCPU(b, 0)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := bl.Build(ctx, ins[i%len(ins)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		m.report()
	})
}
