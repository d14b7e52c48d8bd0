package prompt

import (
	"strings"
	"testing"
	"time"

	"github.com/pkoukk/tiktoken-go"
)

// mixedText is the tutoring prompts' texts, Chinese and English
// interleaved as they come (about 380 KB).
func mixedText(b *testing.B) string {
	b.Helper()
	return strings.Join(datasetCorpus(b), "\n")
}

// BenchmarkCount compares the fast counter with tiktoken-go's
// EncodeOrdinary on the tutoring prompts' texts, Chinese and English
// (about 380 KB, 45 % of it Chinese); the MB/s columns give the speed-up.
// Beside the wall-clock figures, cpu-MB/s counts CPU time (garbage
// collection included), which other work on the machine does not skew.
//
//	go test -run '^$' -bench 'Count$' -benchtime 5x -count 3 ./prompt/
func BenchmarkCount(b *testing.B) {
	text := mixedText(b)
	for _, enc := range []string{O200kBase, Cl100kBase} {
		c := counter(b, enc)
		tk, err := tiktoken.GetEncoding(enc)
		if err != nil {
			b.Fatal(err)
		}
		if got, want := c.Count(text), len(tk.EncodeOrdinary(text)); got != want {
			b.Fatalf("%s: %d tokens, tiktoken-go %d", enc, got, want)
		}
		b.Run("enc="+enc+"/impl=tiktoken-go", func(b *testing.B) {
			m := meterCPU(b, len(text))
			for b.Loop() {
				tk.EncodeOrdinary(text)
			}
			m.report()
		})
		b.Run("enc="+enc+"/impl=fast", func(b *testing.B) {
			m := meterCPU(b, len(text))
			b.ReportAllocs()
			for b.Loop() {
				c.Count(text)
			}
			m.report()
		})
	}
}

// BenchmarkCount700 counts about 700 tokens of mixed Chinese and English,
// the size the issue measured tiktoken-go at (about 1 ms).
//
//	go test -run '^$' -bench 'Count700' -benchtime 200x ./prompt/
func BenchmarkCount700(b *testing.B) {
	ps := loadPrompts(b)
	var parts []string
	for _, tp := range []testPrompt{ps[0], ps[4]} { // English, Chinese
		for _, s := range tp.Snippets[:2] {
			parts = append(parts, s.Text)
		}
	}
	text := strings.Join(parts, "\n")
	c := counter(b, O200kBase)
	tk, err := tiktoken.GetEncoding(O200kBase)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("impl=tiktoken-go", func(b *testing.B) {
		m := meterCPU(b, len(text))
		for b.Loop() {
			tk.EncodeOrdinary(text)
		}
		m.report()
	})
	b.Run("impl=fast", func(b *testing.B) {
		m := meterCPU(b, len(text))
		b.ReportAllocs()
		for b.Loop() {
			c.Count(text)
		}
		m.report()
		b.ReportMetric(float64(c.Count(text)), "tokens")
	})
}

// cpuMeter reports CPU time per operation, and CPU throughput when bytes
// is set.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
	bytes int
}

func meterCPU(b *testing.B, bytes int) *cpuMeter {
	if bytes > 0 {
		b.SetBytes(int64(bytes))
	}
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
