package semantic

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/semantic/internal/index"
)

// Synthetic tutoring questions for the 100 000-entry benchmarks: templates
// × topics × numbers, English and Chinese, so that the index holds many
// near neighbours (the same template about another topic, the same topic
// with other numbers), as a real cache does.
var (
	benchTopicsEN = []string{
		"photosynthesis", "cellular respiration", "the water cycle", "plate tectonics", "the Pythagorean theorem",
		"Newton's first law", "Newton's second law", "Newton's third law", "kinetic energy", "potential energy",
		"an acid", "a base", "a chemical bond", "an ionic bond", "a covalent bond", "the periodic table",
		"a prime number", "a fraction", "a decimal", "a percentage", "a ratio", "a linear equation",
		"a quadratic equation", "the slope of a line", "the area of a circle", "the volume of a cube",
		"the speed of light", "the speed of sound", "gravity", "friction", "momentum", "density",
		"an electric circuit", "Ohm's law", "magnetism", "the solar system", "the Moon's phases", "tides",
		"the seasons", "climate change", "an ecosystem", "a food chain", "DNA", "a cell membrane",
		"mitosis", "meiosis", "evolution", "natural selection", "the French Revolution", "World War I",
		"World War II", "the Roman Empire", "the Industrial Revolution", "a noun", "a verb", "an adjective",
		"the past tense", "a metaphor", "a simile", "the main idea of a text", "supply and demand",
		"inflation", "democracy", "the carbon cycle", "the nitrogen cycle", "an atom", "a molecule",
		"an electron", "a proton", "a neutron", "isotopes", "radioactivity", "the greenhouse effect",
		"volcanoes", "earthquakes", "erosion", "the rock cycle", "a triangle", "a rectangle", "a polygon",
		"probability", "the mean", "the median", "standard deviation", "a function", "a derivative",
		"an integral", "a vector", "a matrix", "a logarithm", "an exponent", "a square root", "pi",
	}
	benchTemplatesEN = []string{
		"What is %s?", "Can you explain %s?", "Why is %s important?", "Give an example of %s.",
		"How does %s work?", "What are the main features of %s?", "How do I remember %s?",
		"What is a common mistake about %s?", "How is %s used in real life?", "Summarize %s in one sentence.",
	}
	benchTopicsZH = []string{
		"光合作用", "呼吸作用", "水循环", "板块构造", "勾股定理", "牛顿第一定律", "牛顿第二定律", "牛顿第三定律",
		"动能", "势能", "酸", "碱", "化学键", "离子键", "共价键", "元素周期表", "质数", "分数", "小数", "百分数",
		"比例", "一元一次方程", "一元二次方程", "直线的斜率", "圆的面积", "正方体的体积", "光速", "声速", "重力",
		"摩擦力", "动量", "密度", "电路", "欧姆定律", "磁场", "太阳系", "月相", "潮汐", "四季", "气候变化",
		"生态系统", "食物链", "细胞膜", "有丝分裂", "减数分裂", "进化论", "自然选择", "法国大革命", "工业革命",
		"名词", "动词", "形容词", "比喻", "拟人", "通货膨胀", "原子", "分子", "电子", "质子", "中子", "同位素",
	}
	benchTemplatesZH = []string{
		"什么是%s？", "请解释一下%s", "%s为什么重要？", "举一个%s的例子", "%s是怎么回事？", "%s有哪些特点？",
		"怎样记住%s？", "关于%s常见的错误是什么？", "%s在生活中有什么应用？", "用一句话概括%s",
	}
)

// benchQuestion returns synthetic question i (of many) and a paraphrase
// of it to look up.
func benchQuestion(i int) (q, paraphrase string) {
	grade := i / 2000 // the same question for other grades and units
	if i%3 == 2 {
		t := benchTopicsZH[i%len(benchTopicsZH)]
		tpl := benchTemplatesZH[(i/len(benchTopicsZH))%len(benchTemplatesZH)]
		q = fmt.Sprintf(tpl, t) + fmt.Sprintf("（第%d单元）", grade+1)
		return q, "请问" + q
	}
	t := benchTopicsEN[i%len(benchTopicsEN)]
	tpl := benchTemplatesEN[(i/len(benchTopicsEN))%len(benchTemplatesEN)]
	q = fmt.Sprintf(tpl, t) + fmt.Sprintf(" (unit %d)", grade+1)
	return q, "Please, " + q
}

const benchEntries = 100_000

var (
	bench100kOnce sync.Once
	bench100k     *Semantic
)

// semantic100k returns a tier holding 100 000 entries in one namespace
// (an HNSW index), built once per test binary.
func semantic100k(b *testing.B) *Semantic {
	bench100kOnce.Do(func() {
		start := time.Now()
		bench100k = buildSemantic(b, benchEntries)
		b.Logf("built %d entries in %v", benchEntries, time.Since(start).Round(time.Millisecond))
	})
	return bench100k
}

func buildSemantic(b *testing.B, n int) *Semantic {
	s, err := NewSemantic(WithSemanticMaxEntries(n))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range n {
		q, _ := benchQuestion(i)
		if err := s.Add(ctx, nsMaths, cache.Entry{Question: q, Answer: "An answer of a few words."}, 0); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkSemanticLookup100k measures one lookup (local embedding of the
// question, HNSW search, rules) among 100 000 entries, on one goroutine;
// it reports the p50 and p99 latencies and the hit ratio (three lookups in
// four are paraphrases of a cached question, one in four is not cached).
//
//	go test -run '^$' -bench SemanticLookup100k -benchtime 3000x -cpu 1 ./semantic/
//
// Building the 100 000 entries takes 35-50 s (one goroutine inserting
// into the HNSW graph); the timer starts after.
func BenchmarkSemanticLookup100k(b *testing.B) {
	s := semantic100k(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, 1<<14)
	hits := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		var q string
		if i%4 == 3 {
			q = fmt.Sprintf("How many legs does animal number %d have?", rng.IntN(1000))
		} else {
			_, q = benchQuestion(rng.IntN(benchEntries))
		}
		t0 := time.Now()
		_, ok, err := s.Lookup(ctx, nsMaths, q)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			hits++
		}
	}
	b.StopTimer()
	reportLatency(b, lat)
	b.ReportMetric(float64(hits)/float64(len(lat)), "hit-ratio")
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

// BenchmarkSemanticMemory100k reports the heap held by a tier of 100 000
// entries (vectors, graph, entries with a short answer), per entry.
//
//	go test -run '^$' -bench SemanticMemory100k -benchtime 1x ./cache/
//
// Run it alone: each iteration builds 100 000 entries.
func BenchmarkSemanticMemory100k(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := buildSemantic(b, benchEntries)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/benchEntries, "bytes/entry")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB")
		runtime.KeepAlive(s)
	}
}

// BenchmarkHNSWSearch100k measures the index alone.
//
//	go test -run '^$' -bench 'Search100k' -benchtime 2000x ./cache/
func BenchmarkHNSWSearch100k(b *testing.B) {
	s := semantic100k(b)
	idx := s.parts[nsMaths.ID()].index
	e, _ := NewLocalEmbedder()
	rng := rand.New(rand.NewPCG(3, 4))
	lat := make([]time.Duration, 0, 1<<14)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_, q := benchQuestion(rng.IntN(benchEntries))
		v := e.EmbedText(q)
		t0 := time.Now()
		idx.Search(v, DefaultCandidates, time.Now())
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkFlatSearch100k is the exact search the HNSW index replaces.
func BenchmarkFlatSearch100k(b *testing.B) {
	e, _ := NewLocalEmbedder()
	flat, _ := index.NewFlatIndex(e.Dimensions())
	for i := range benchEntries {
		q, _ := benchQuestion(i)
		flat.Add(fmt.Sprint(i), e.EmbedText(q), time.Time{})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	b.ResetTimer()
	for b.Loop() {
		_, q := benchQuestion(rng.IntN(benchEntries))
		flat.Search(e.EmbedText(q), DefaultCandidates, time.Now())
	}
}

// BenchmarkHNSWRecall100k reports recall@1 of the HNSW index against
// exact search on the benchmark's questions.
func BenchmarkHNSWRecall100k(b *testing.B) {
	s := semantic100k(b)
	idx := s.parts[nsMaths.ID()].index
	e, _ := NewLocalEmbedder()
	flat, _ := index.NewFlatIndex(e.Dimensions())
	idx.Range(func(id string, vec []float32, exp time.Time) bool {
		flat.Add(id, vec, exp)
		return true
	})
	rng := rand.New(rand.NewPCG(5, 6))
	hit, n := 0, 0
	for b.Loop() {
		_, q := benchQuestion(rng.IntN(benchEntries))
		v := e.EmbedText(q)
		got, want := idx.Search(v, 1, time.Now()), flat.Search(v, 1, time.Now())
		n++
		if len(got) == 1 && len(want) == 1 && got[0].Similarity >= want[0].Similarity {
			hit++
		}
	}
	b.ReportMetric(float64(hit)/float64(n), "recall@1")
}

// BenchmarkLocalEmbed measures the local embedder on one question.
func BenchmarkLocalEmbed(b *testing.B) {
	e, _ := NewLocalEmbedder()
	for _, q := range []string{"A 2 kg block is pushed with a force of 10 N. What is its acceleration?", "质量为2千克的物体受到10牛的力，加速度是多少？"} {
		b.Run(fmt.Sprint(len(q)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.EmbedText(q)
			}
		})
	}
}

// BenchmarkExplain measures the rules on one pair of questions.
func BenchmarkExplain(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Explain("A 2 kg block is pushed with a force of 10 N. What is its acceleration?",
			"What is the acceleration of a 2 kg block pushed by a 10 N force?")
	}
}

// BenchmarkExplainLong is the rules on two questions of about 2 000
// tokens that differ only by a coordination swapped near their end,
// after a run of coordinators: the work stays linear in the length (the
// swap search looks only near the difference).
func BenchmarkExplainLong(b *testing.B) {
	long := strings.Repeat("丙和", 1000)
	x, y := long+"甲和乙", long+"乙和甲"
	b.ReportAllocs()
	for b.Loop() {
		Explain(x, y)
	}
}
