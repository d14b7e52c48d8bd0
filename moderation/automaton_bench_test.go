package moderation

import "testing"

// BenchmarkAutomatonScan and BenchmarkAutomatonScanNearMiss: the automaton
// alone over the normalized benchmark text, without the normalizer and
// without settling hits, to tell the two costs of a scan apart.
func BenchmarkAutomatonScan(b *testing.B) {
	benchSetup(b)
	benchAutomaton(b, benchMatcher)
}

func BenchmarkAutomatonScanNearMiss(b *testing.B) {
	benchAutomaton(b, nearMissSetup(b))
}

func benchAutomaton(b *testing.B, m *Matcher) {
	out := []byte(Normalize(benchText))
	hits := 0
	cpu := meterCPU(b, len(out))
	for b.Loop() {
		m.ac.scanAll(out, m.maxLen, func(int, uint32) { hits++ })
	}
	cpu.report()
}
