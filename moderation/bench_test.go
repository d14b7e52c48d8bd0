package moderation

import (
	"context"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/companion-go/companion/companiontest"
)

// Benchmarks, with synthetic words only (no real list beyond testdata):
//
//	go test -run '^$' -bench 'Scan|Pipeline|Guard' -benchtime 2s ./moderation/
//
// BenchmarkMatcherScan: mixed Chinese and English tutor answers (64 KB of
// the fake tutor's answers) against 10 000 random synthetic terms;
// BenchmarkMatcherScanNearMiss against 10 000 terms made to walk deep into
// the automaton. BenchmarkPipeline2KB: the whole pipeline (that word list,
// Markdown/LaTeX, JSON and regex validators, in parallel) on a 2 KB answer.
// Beside the wall-clock figures, cpu-MB/s and cpu-µs/op count CPU time
// only, the per-core figures on a machine shared with other work.

var benchQuestions = []string{
	"What is Newton's second law?", "牛顿第二定律是什么？", "How does photosynthesis work?", "光合作用是怎么进行的？",
	"solve 2x + 3 = 7", "解方程 3x - 4 = 11", "What is the water cycle?", "水循环是什么？",
	"What is Ohm's law?", "欧姆定律是什么？", "x^2 - 5x + 6 = 0", "什么是质数？", "What is a prime number?",
	"How do I find the area of a circle with radius 3 cm?", "半径为3厘米的圆面积是多少？", "What is density?",
	"什么是密度？", "What is kinetic energy of a 2 kg ball at 3 m/s?", "浮力是怎么产生的？", "What are cells made of?",
	"细胞由什么组成？", "What is the Pythagorean theorem?", "勾股定理是什么？", "What is 15% of 80?",
	"Why is the sky blue?", "为什么天空是蓝色的？", "How do I write a good essay?", "怎样写好一篇作文？",
}

var (
	benchOnce     sync.Once
	benchText     string // about 64 KB of mixed answers
	benchAnswer   string // about 2 KB
	benchMatcher  *Matcher
	nearMissOnce  sync.Once
	nearMissMatch *Matcher
)

func benchSetup(b testing.TB) {
	benchOnce.Do(func() {
		var sb strings.Builder
		for sb.Len() < 64<<10 {
			for _, q := range benchQuestions {
				sb.WriteString(companiontest.Answer(q))
				sb.WriteString("\n\n")
			}
		}
		benchText = sb.String()
		var ab strings.Builder
		for _, q := range benchQuestions {
			a := companiontest.Answer(q)
			if ab.Len()+len(a) > 2048 {
				break
			}
			ab.WriteString(a)
			ab.WriteString("\n\n")
		}
		for ab.Len() < 2048 {
			ab.WriteString("Check the units: $a = F/m$ in m/s². ")
		}
		benchAnswer = ab.String()[:2048]
		for !utf8.ValidString(benchAnswer) {
			benchAnswer = benchAnswer[:len(benchAnswer)-1]
		}
		m, err := NewMatcher(randomWords(10000), nil)
		if err != nil {
			panic(err)
		}
		benchMatcher = m
	})
}

// randomWords returns n made-up terms: half Latin (4 to 9 letters a–z),
// half Chinese (2 to 4 ideographs of U+4E00–U+9FA5), all random.
func randomWords(n int) []Entry {
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	var out []Entry
	sev := []Severity{Low, Medium, High}
	for len(out) < n {
		var b strings.Builder
		if len(out)%2 == 0 {
			for range 4 + rng.IntN(6) {
				b.WriteByte(byte('a' + rng.IntN(26)))
			}
		} else {
			for range 2 + rng.IntN(3) {
				b.WriteRune(rune(0x4e00 + rng.IntN(0x9fa5-0x4e00)))
			}
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			out = append(out, Entry{Term: w, Category: "synthetic", Severity: sev[len(out)%3]})
		}
	}
	return out
}

// nearMissSetup builds the harder dictionary of [nearMissWords].
func nearMissSetup(b testing.TB) *Matcher {
	benchSetup(b)
	nearMissOnce.Do(func() {
		m, err := NewMatcher(nearMissWords(10000, benchText), nil)
		if err != nil {
			panic(err)
		}
		nearMissMatch = m
	})
	return nearMissMatch
}

// nearMissWords returns n made-up terms, half English, half Chinese, built
// to be hard: many are the text's own words plus a letter, or made of the
// text's own characters, so the scan walks deep into the automaton at
// almost every character without a hit — as a real list of 10 000 terms
// does on Chinese text, where the terms' characters cover the common ones.
func nearMissWords(n int, text string) []Entry {
	rng := rand.New(rand.NewPCG(7, 11))
	var latin []string
	var han []rune
	seenHan := map[rune]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if w[0] < utf8.RuneSelf && len(w) >= 3 {
			latin = append(latin, w)
		}
		for _, r := range w {
			if isHanFast(r) && !seenHan[r] {
				seenHan[r] = true
				han = append(han, r)
			}
		}
	}
	seen := map[string]bool{}
	var out []Entry
	sev := []Severity{Low, Medium, High}
	add := func(w string) {
		if n := Normalize(w); n != "" && !seen[n] {
			seen[n] = true
			out = append(out, Entry{Term: w, Category: "synthetic", Severity: sev[len(out)%3]})
		}
	}
	letters := "etaoinshrdlcumwfgypbvkjxqz"
	for len(out) < n/2 {
		var b strings.Builder
		switch len(out) % 3 {
		case 0: // a word of the text and a letter: a near miss
			b.WriteString(latin[rng.IntN(len(latin))])
			b.WriteByte(letters[rng.IntN(len(letters))])
		case 1: // frequent letters
			for range 4 + rng.IntN(6) {
				b.WriteByte(letters[rng.IntN(12)])
			}
		default: // two words
			b.WriteString(latin[rng.IntN(len(latin))])
			b.WriteByte(' ')
			b.WriteString(latin[rng.IntN(len(latin))])
			b.WriteByte(letters[rng.IntN(len(letters))])
		}
		add(b.String())
	}
	for len(out) < n {
		var b strings.Builder
		k := 2 + rng.IntN(3)
		for i := range k {
			if i < k-1 && len(han) > 0 && rng.IntN(4) != 0 {
				b.WriteRune(han[rng.IntN(len(han))]) // the text's characters: deep walks
			} else {
				b.WriteRune(rune(0x4e00 + rng.IntN(0x9fa5-0x4e00)))
			}
		}
		add(b.String())
	}
	return out
}

// cpuMeter reports CPU time per operation, and CPU throughput when bytes
// is set: the per-core figures, whatever else runs on the machine.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
	bytes int
}

func meterCPU(b *testing.B, bytes int) *cpuMeter {
	b.SetBytes(int64(bytes))
	return &cpuMeter{b: b, start: cpuTime(), bytes: bytes}
}

func (m *cpuMeter) report() {
	d := cpuTime() - m.start
	if d <= 0 || m.b.N == 0 {
		return
	}
	m.b.ReportMetric(float64(d.Nanoseconds())/float64(m.b.N)/1e3, "cpu-µs/op")
	if m.bytes > 0 {
		m.b.ReportMetric(float64(m.bytes)*float64(m.b.N)/d.Seconds()/1e6, "cpu-MB/s")
	}
}

// BenchmarkMatcherScan: 10 000 random synthetic terms.
func BenchmarkMatcherScan(b *testing.B) {
	benchSetup(b)
	benchScan(b, benchMatcher)
}

// BenchmarkMatcherScanNearMiss: 10 000 near-miss terms (see nearMissWords).
func BenchmarkMatcherScanNearMiss(b *testing.B) {
	benchScan(b, nearMissSetup(b))
}

func benchScan(b *testing.B, m *Matcher) {
	hits := len(m.Find(benchText))
	cpu := meterCPU(b, len(benchText))
	for b.Loop() {
		if len(m.Find(benchText)) != hits {
			b.Fatal("hits changed")
		}
	}
	cpu.report()
	b.ReportMetric(float64(m.ac.size())/(1<<20), "MiB-automaton")
}

func BenchmarkNormalize(b *testing.B) {
	benchSetup(b)
	var n normalizer
	cpu := meterCPU(b, len(benchText))
	for b.Loop() {
		n.reset(0, false)
		n.feed(benchText, 0, true)
	}
	cpu.report()
}

func benchPipeline(b testing.TB) *Pipeline {
	benchSetup(b)
	rv, err := NewRegexValidator(DefaultRegexRules()...)
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPipeline(
		WithMatcher(benchMatcher),
		WithValidator(MarkdownValidator{}, Flag),
		WithValidator(JSONValidator{}, Block),
		WithValidator(rv, Flag),
	)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkPipeline2KB(b *testing.B) {
	p := benchPipeline(b)
	ctx := context.Background()
	in := Input{Text: benchAnswer}
	cpu := meterCPU(b, len(benchAnswer))
	for b.Loop() {
		if _, err := p.Check(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report()
}

// BenchmarkGuard2KB streams the 2 KB answer through the guard in pieces of
// about 16 bytes, as a model streams it.
func BenchmarkGuard2KB(b *testing.B) {
	p := benchPipeline(b)
	ctx := context.Background()
	chunks := splitEvery(benchAnswer, 6)
	// The hold-back: characters pushed but not yet released, after each
	// piece — what the guard adds to the time to first token.
	g := p.NewGuard(Format{})
	held, most := 0, 0
	for _, c := range chunks {
		if _, err := g.Push(c); err != nil {
			b.Fatal(err)
		}
		held += g.Held()
		most = max(most, g.Held())
	}
	cpu := meterCPU(b, len(benchAnswer))
	defer func() {
		cpu.report()
		b.ReportMetric(float64(held)/float64(len(chunks)), "held-avg-chars")
		b.ReportMetric(float64(most), "held-max-chars")
	}()
	for b.Loop() {
		g := p.NewGuard(Format{})
		for _, c := range chunks {
			if _, err := g.Push(c); err != nil {
				b.Fatal(err)
			}
		}
		if _, _, err := g.Finish(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatcherScanRealText: the development list with the Chinese
// probe lists (testdata/words.txt, zh_probe.txt, zh_probe_issue.txt; so
// one-character terms, the compound lexicon and inflected forms all in
// play) on real text: GSM8K problems with their answers and LCQMC
// questions, interleaved, about 256 KB (from ../shared; skipped when it
// is absent).
func BenchmarkMatcherScanRealText(b *testing.B) {
	load := func(path string) []string {
		data, err := os.ReadFile(sharedData + path)
		if err != nil {
			b.Skipf("shared data set not found (%v): skipping", err)
		}
		return strings.Split(string(data), "\n")
	}
	gsm, lcqmc := load("workload/gsm8k-test.jsonl"), load("semantic/lcqmc-dev.tsv")
	var sb strings.Builder
	for i := 0; sb.Len() < 256<<10; i++ {
		sb.WriteString(gsm[i%len(gsm)])
		sb.WriteByte('\n')
		for j := range 4 {
			sb.WriteString(lcqmc[(4*i+j)%len(lcqmc)])
			sb.WriteByte('\n')
		}
	}
	text := sb.String()
	var words []Entry
	for _, p := range []string{"testdata/words.txt", "testdata/zh_probe.txt", "testdata/zh_probe_issue.txt"} {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		ws, err := ParseWords(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		words = append(words, ws...)
	}
	m, err := NewMatcher(words, nil)
	if err != nil {
		b.Fatal(err)
	}
	hits := len(m.Find(text))
	cpu := meterCPU(b, len(text))
	for b.Loop() {
		if len(m.Find(text)) != hits {
			b.Fatal("hits changed")
		}
	}
	cpu.report()
}
