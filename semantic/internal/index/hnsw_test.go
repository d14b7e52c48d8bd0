package index

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// randomUnit returns n random unit vectors of dim dimensions.
func randomUnit(rng *rand.Rand, n, dim int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		Normalize(v)
		out[i] = v
	}
	return out
}

// clustered returns n unit vectors around c random centres, each at
// cosine about 0.8 from its centre: the shape of cached questions, many
// of which are variants of a few topics.
func clustered(rng *rand.Rand, n, dim, c int) [][]float32 {
	centres := randomUnit(rng, c, dim)
	out := make([][]float32, n)
	for i := range out {
		ctr := centres[rng.IntN(c)]
		v := make([]float32, dim)
		for j := range v {
			v[j] = ctr[j] + 0.75*float32(rng.NormFloat64())/float32(math.Sqrt(float64(dim)))
		}
		Normalize(v)
		out[i] = v
	}
	return out
}

func TestHNSWRecall(t *testing.T) {
	n := 1500
	if testing.Short() {
		n = 800
	}
	rng := rand.New(rand.NewPCG(7, 8))
	const dim = 64
	for _, tc := range []struct {
		name    string
		data    [][]float32
		queries [][]float32
	}{
		{"random", randomUnit(rng, n, dim), randomUnit(rng, 300, dim)},
		{"clustered", clustered(rng, n, dim, 40), clustered(rng, 300, dim, 40)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Recall(tc.data, tc.queries, HNSWConfig{})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("recall@1 = %.3f over %d vectors", r, len(tc.data))
			if r < 0.95 {
				t.Errorf("recall@1 = %.3f, want ≥ 0.95", r)
			}
		})
	}
}

func TestHNSWDeleteAndCleanup(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const dim, n = 32, 1200
	data := clustered(rng, n, dim, 20)
	h, _ := NewHNSW(dim, HNSWConfig{})
	flat, _ := NewFlatIndex(dim)
	for i, v := range data {
		h.Add(fmt.Sprint(i), v, time.Time{})
		flat.Add(fmt.Sprint(i), v, time.Time{})
	}
	// Delete two thirds, in several rounds, re-adding some: the graph must
	// stay searchable while tombstones are cleaned up.
	now := time.Now()
	for i := 0; i < n; i++ {
		if i%3 != 0 {
			if !h.Delete(fmt.Sprint(i)) {
				t.Fatalf("delete %d: not found", i)
			}
			flat.Delete(fmt.Sprint(i))
		}
		if i%300 == 299 {
			for j := i - 100; j < i; j += 7 {
				id := fmt.Sprintf("re%d", j)
				h.Add(id, data[j], time.Time{})
				flat.Add(id, data[j], time.Time{})
			}
		}
	}
	if h.Delete("1") {
		t.Error("deleted twice")
	}
	if got, want := h.Len(), flat.Len(); got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
	hits := 0
	queries := clustered(rng, 200, dim, 20)
	for _, q := range queries {
		got := h.Search(q, 1, now)
		want := flat.Search(q, 1, now)
		if len(got) != 1 {
			t.Fatalf("no result")
		}
		if got[0].ID == want[0].ID {
			hits++
		}
		if id := got[0].ID; id[0] != 'r' {
			var k int
			fmt.Sscan(id, &k)
			if k%3 != 0 {
				t.Fatalf("deleted %s returned", id)
			}
		}
	}
	if r := float64(hits) / float64(len(queries)); r < 0.9 {
		t.Errorf("recall@1 after deletes = %.2f", r)
	}
	h.Compact()
	if ts := h.Tombstones(); ts != 0 {
		t.Errorf("%d tombstones after Compact", ts)
	}
	// Freed slots are reused.
	before := len(h.nodes)
	for i := 0; i < 100; i++ {
		h.Add(fmt.Sprintf("new%d", i), data[i], time.Time{})
	}
	if len(h.nodes) != before {
		t.Errorf("nodes grew from %d to %d though slots were free", before, len(h.nodes))
	}
	// Every link points to a node in use.
	for i, nd := range h.nodes {
		for l, links := range nd.links {
			for _, x := range links {
				if h.nodes[x].state == nodeFree {
					t.Fatalf("node %d level %d links free slot %d", i, l, x)
				}
			}
		}
	}
}

func TestHNSWExpiry(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const dim = 16
	data := randomUnit(rng, 300, dim)
	h, _ := NewHNSW(dim, HNSWConfig{})
	now := time.Unix(1_700_000_000, 0)
	for i, v := range data {
		exp := now.Add(time.Hour)
		if i%2 == 0 {
			exp = now.Add(time.Minute)
		}
		h.Add(fmt.Sprint(i), v, exp)
	}
	later := now.Add(10 * time.Minute)
	for i := 0; i < 300; i += 2 {
		if got := h.Search(data[i], 1, later); len(got) == 1 && got[0].ID == fmt.Sprint(i) {
			t.Fatalf("expired %d returned", i)
		}
		if got := h.Search(data[i], 1, now); len(got) != 1 || got[0].ID != fmt.Sprint(i) {
			t.Fatalf("live %d not found before expiry: %v", i, got)
		}
	}
	if n := h.Purge(later); n != 150 {
		t.Errorf("Purge = %d, want 150", n)
	}
	if h.Len() != 150 {
		t.Errorf("Len = %d", h.Len())
	}
	n := 0
	h.Range(func(id string, vec []float32, exp time.Time) bool {
		n++
		if !exp.Equal(now.Add(time.Hour)) {
			t.Errorf("%s expires %v", id, exp)
		}
		return true
	})
	if n != 150 {
		t.Errorf("Range saw %d", n)
	}
}

func TestIndexErrors(t *testing.T) {
	for _, mk := range []func() (VectorIndex, error){
		func() (VectorIndex, error) { return NewFlatIndex(4) },
		func() (VectorIndex, error) { return NewHNSW(4, HNSWConfig{}) },
	} {
		x, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Add("a", []float32{1, 2, 3}, time.Time{}); !errors.Is(err, ErrDimension) {
			t.Errorf("%T short vector: %v", x, err)
		}
		if err := x.Add("a", []float32{0, 0, 0, 0}, time.Time{}); !errors.Is(err, ErrInvalidVector) {
			t.Errorf("%T zero vector: %v", x, err)
		}
		nan := float32(math.NaN())
		if err := x.Add("a", []float32{nan, 1, 0, 0}, time.Time{}); !errors.Is(err, ErrInvalidVector) {
			t.Errorf("%T NaN vector: %v", x, err)
		}
		if got := x.Search([]float32{1, 0, 0, 0}, 3, time.Now()); len(got) != 0 {
			t.Errorf("%T empty search: %v", x, got)
		}
		if got := x.Search([]float32{1}, 3, time.Now()); got != nil {
			t.Errorf("%T short query: %v", x, got)
		}
		// Not unit length: stored normalized.
		if err := x.Add("a", []float32{3, 4, 0, 0}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		got := x.Search([]float32{0.6, 0.8, 0, 0}, 1, time.Now())
		if len(got) != 1 || math.Abs(float64(got[0].Similarity)-1) > 1e-5 {
			t.Errorf("%T: %v", x, got)
		}
		// Replace keeps one entry.
		x.Add("a", []float32{0, 0, 1, 0}, time.Time{})
		if x.Len() != 1 {
			t.Errorf("%T Len after replace = %d", x, x.Len())
		}
	}
	if _, err := NewHNSW(4, HNSWConfig{M: 1}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("M=1: %v", err)
	}
	if _, err := NewFlatIndex(0); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("dim 0: %v", err)
	}
}

func TestHNSWConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const dim = 16
	data := randomUnit(rng, 1000, dim)
	h, _ := NewHNSW(dim, HNSWConfig{M: 8})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(data); i += 4 {
				h.Add(fmt.Sprint(i), data[i], time.Time{})
				if i%5 == 0 {
					h.Delete(fmt.Sprint(i - 4))
				}
				h.Search(data[(i*7)%len(data)], 3, time.Now())
			}
		}()
	}
	wg.Wait()
	h.Compact()
	if h.Len() == 0 {
		t.Fatal("empty")
	}
}
