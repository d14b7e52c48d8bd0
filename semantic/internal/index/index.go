// Package index holds the semantic tier's vector indexes: [FlatIndex],
// exact search, and [HNSW], approximate search for large namespaces. Both
// implement [VectorIndex].
package index

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// VectorIndex is a set of unit vectors, each with an id and an expiry,
// searched by cosine similarity (the dot product of unit vectors). Both
// implementations, [FlatIndex] (exact) and [HNSW] (approximate), are safe
// for concurrent use. Ids are the caller's: entries may be added from
// elsewhere (for example replicas sharing through Redis) with their own id,
// vector and expiry, enumerated with Range and removed with Delete.
type VectorIndex interface {
	// Add inserts a vector or replaces the one with the same id. It
	// copies vec and scales it to unit length. A zero expires means
	// never. It returns an error matching [ErrDimension] or
	// [ErrInvalidVector] for a vector it cannot hold.
	Add(id string, vec []float32, expires time.Time) error
	// Delete removes an id and reports whether it was there.
	Delete(id string) bool
	// Search returns at most k live (not deleted, not expired at now)
	// entries, most similar first.
	Search(query []float32, k int, now time.Time) []Match
	// Len returns the number of entries, expired ones included until
	// purged.
	Len() int
	// Range calls fn for every entry until fn returns false. vec is the
	// index's own copy: fn must not modify or keep it. fn must not call
	// the index's other methods.
	Range(fn func(id string, vec []float32, expires time.Time) bool)
	// Purge removes the entries expired at now and returns how many.
	Purge(now time.Time) int
	// Dimensions returns the length of the vectors.
	Dimensions() int
}

// Match is a search result.
type Match struct {
	ID         string  // the id given to Add
	Similarity float32 // cosine similarity, in [-1, 1]
}

// Errors of the vector indexes.
var (
	// ErrDimension: a vector's length is not the index's.
	ErrDimension = errors.New("semantic: vector has the wrong dimensions")
	// ErrInvalidVector: a vector is all zeros or holds a NaN or an
	// infinity.
	ErrInvalidVector = errors.New("semantic: invalid vector")
	// ErrInvalidConfig: an index was given an invalid setting. The
	// semantic package's ErrInvalidConfig is this error.
	ErrInvalidConfig = errors.New("semantic: invalid config")
)

// configErrorf returns an error matching [ErrInvalidConfig].
func configErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

var (
	_ VectorIndex = (*FlatIndex)(nil)
	_ VectorIndex = (*HNSW)(nil)
)

// FlatIndex is an exact [VectorIndex]: Search compares the query with
// every vector. It is the fastest choice up to a few thousand vectors
// (about 40 ns per 256-dimension vector on one core) and needs no tuning.
type FlatIndex struct {
	mu   sync.RWMutex
	dim  int
	ids  []string
	vecs []float32 // len(ids) * dim
	exp  []int64   // unix nanoseconds; 0 for never
	pos  map[string]int
}

// NewFlatIndex returns an empty exact index of vectors of dim dimensions.
// It returns an error matching [ErrInvalidConfig] when dim < 1.
func NewFlatIndex(dim int) (*FlatIndex, error) {
	if dim < 1 {
		return nil, configErrorf("index dimensions %d < 1", dim)
	}
	return &FlatIndex{dim: dim, pos: map[string]int{}}, nil
}

// Dimensions returns the length of the vectors.
func (x *FlatIndex) Dimensions() int { return x.dim }

// Len returns the number of entries.
func (x *FlatIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.ids)
}

// Add inserts or replaces a vector; see [VectorIndex].
func (x *FlatIndex) Add(id string, vec []float32, expires time.Time) error {
	unit, err := unitCopy(vec, x.dim)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if i, ok := x.pos[id]; ok {
		copy(x.vecs[i*x.dim:(i+1)*x.dim], unit)
		x.exp[i] = unixNano(expires)
		return nil
	}
	x.pos[id] = len(x.ids)
	x.ids = append(x.ids, id)
	x.vecs = append(x.vecs, unit...)
	x.exp = append(x.exp, unixNano(expires))
	return nil
}

// Get returns a copy of the vector and the expiry of id.
func (x *FlatIndex) Get(id string) ([]float32, time.Time, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i, ok := x.pos[id]
	if !ok {
		return nil, time.Time{}, false
	}
	return append([]float32(nil), x.vecs[i*x.dim:(i+1)*x.dim]...), fromUnixNano(x.exp[i]), true
}

// Delete removes an id; the last entry takes its place.
func (x *FlatIndex) Delete(id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.deleteLocked(id)
}

func (x *FlatIndex) deleteLocked(id string) bool {
	i, ok := x.pos[id]
	if !ok {
		return false
	}
	last := len(x.ids) - 1
	if i != last {
		x.ids[i] = x.ids[last]
		copy(x.vecs[i*x.dim:(i+1)*x.dim], x.vecs[last*x.dim:])
		x.exp[i] = x.exp[last]
		x.pos[x.ids[i]] = i
	}
	delete(x.pos, id)
	x.ids[last] = ""
	x.ids = x.ids[:last]
	x.vecs = x.vecs[:last*x.dim]
	x.exp = x.exp[:last]
	return true
}

// Search compares query with every live vector.
func (x *FlatIndex) Search(query []float32, k int, now time.Time) []Match {
	if k <= 0 || len(query) != x.dim {
		return nil
	}
	t := now.UnixNano()
	x.mu.RLock()
	defer x.mu.RUnlock()
	top := newTopK(k)
	for i := range x.ids {
		if e := x.exp[i]; e != 0 && e <= t {
			continue
		}
		top.push(int32(i), dot(query, x.vecs[i*x.dim:(i+1)*x.dim]))
	}
	out := make([]Match, len(top.items))
	for j, it := range top.sorted() {
		out[j] = Match{ID: x.ids[it.node], Similarity: it.sim}
	}
	return out
}

// Range calls fn for every entry.
func (x *FlatIndex) Range(fn func(id string, vec []float32, expires time.Time) bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for i, id := range x.ids {
		if !fn(id, x.vecs[i*x.dim:(i+1)*x.dim:(i+1)*x.dim], fromUnixNano(x.exp[i])) {
			return
		}
	}
}

// Purge removes the entries expired at now.
func (x *FlatIndex) Purge(now time.Time) int {
	t := now.UnixNano()
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for i := len(x.ids) - 1; i >= 0; i-- {
		if e := x.exp[i]; e != 0 && e <= t {
			x.deleteLocked(x.ids[i])
			n++
		}
	}
	return n
}

// unitCopy checks vec and returns a unit-length copy.
func unitCopy(vec []float32, dim int) ([]float32, error) {
	if len(vec) != dim {
		return nil, fmt.Errorf("%w: %d, want %d", ErrDimension, len(vec), dim)
	}
	out := make([]float32, dim)
	copy(out, vec)
	if !Normalize(out) {
		return nil, ErrInvalidVector
	}
	for _, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, ErrInvalidVector
		}
	}
	return out, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	n := t.UnixNano()
	if n == 0 {
		n = 1 // 0 means never
	}
	return n
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// dot returns the dot product of two vectors of equal length.
func dot(a, b []float32) float32 {
	n := min(len(a), len(b))
	a, b = a[:n], b[:n]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		aa := a[i : i+8 : i+8]
		bb := b[i : i+8 : i+8]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
		s4 += aa[4] * bb[4]
		s5 += aa[5] * bb[5]
		s6 += aa[6] * bb[6]
		s7 += aa[7] * bb[7]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3) + (s4 + s5) + (s6 + s7)
}

// scored is a node and its similarity to a query.
type scored struct {
	node int32
	sim  float32
}

// topK keeps the k most similar nodes seen, in a min-heap on sim.
type topK struct {
	k     int
	items []scored
}

func newTopK(k int) *topK { return &topK{k: k, items: make([]scored, 0, min(k, 64))} }

func (t *topK) push(node int32, sim float32) {
	if len(t.items) < t.k {
		t.items = append(t.items, scored{node, sim})
		t.up(len(t.items) - 1)
		return
	}
	if sim <= t.items[0].sim {
		return
	}
	t.items[0] = scored{node, sim}
	t.down(0)
}

func (t *topK) up(i int) {
	h := t.items
	for i > 0 {
		p := (i - 1) / 2
		if h[p].sim <= h[i].sim {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (t *topK) down(i int) {
	h := t.items
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].sim < h[l].sim {
			m = r
		}
		if h[i].sim <= h[m].sim {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// sorted returns the items most similar first (destroying the heap).
func (t *topK) sorted() []scored {
	out := make([]scored, len(t.items))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = t.items[0]
		last := len(t.items) - 1
		t.items[0] = t.items[last]
		t.items = t.items[:last]
		t.down(0)
	}
	return out
}

// Normalize scales v to unit L2 norm in place (a zero vector stays zero)
// and reports whether it was nonzero and finite.
func Normalize(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return false
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
	return true
}
