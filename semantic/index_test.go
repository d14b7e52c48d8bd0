package semantic

import (
	"fmt"
	"testing"

	"github.com/companion-go/companion/semantic/internal/index"
)

// TestHNSWRecallTemplated checks the HNSW on the local embeddings of
// questions that differ only in their numbers ("What is 7 plus 14?"),
// queried with paraphrases of them: the near-duplicates a tutoring cache
// fills with, on which a graph easily leaves nodes unreachable.
func TestHNSWRecallTemplated(t *testing.T) {
	n := 1500
	if testing.Short() {
		n = 800
	}
	e, err := NewLocalEmbedder()
	if err != nil {
		t.Fatal(err)
	}
	templated := func(n int, format string) [][]float32 {
		out := make([][]float32, n)
		for i := range out {
			k := i * 7 % 1500
			out[i] = e.EmbedText(fmt.Sprintf(format, k, 2*k))
		}
		return out
	}
	r, err := index.Recall(templated(n, "What is %d plus %d?"), templated(300, "please compute %d plus %d"), HNSWConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("recall@1 = %.3f over %d vectors", r, n)
	if r < 0.95 {
		t.Errorf("recall@1 = %.3f, want ≥ 0.95", r)
	}
}
