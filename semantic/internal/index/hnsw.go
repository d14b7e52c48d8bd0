package index

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"
)

// HNSWConfig tunes an [HNSW] index. The zero value gives the defaults.
type HNSWConfig struct {
	// M is the number of links per node on the upper layers; layer 0 has
	// 2*M. More links raise recall and memory. Default 16; at least 2.
	M int
	// EfConstruction is the breadth of the search that finds a new
	// node's links. Higher builds a better graph, more slowly. Default
	// 100.
	EfConstruction int
	// EfSearch is the breadth of a query's search (at least k). Higher
	// raises recall and latency. Default 64.
	EfSearch int
	// CleanupRatio is the fraction of deleted nodes (tombstones) at which
	// a cleanup pass starts: it relinks the graph around them, a bounded
	// share of the nodes at each later Add, Delete or Purge, and then
	// frees their slots for reuse. Default 0.1; in (0, 1].
	CleanupRatio float64
	// Seed seeds the random choice of each node's layer, so that a build
	// is reproducible. Default 1.
	Seed uint64
}

// HNSW defaults.
const (
	DefaultHNSWM              = 16
	DefaultHNSWEfConstruction = 100
	DefaultHNSWEfSearch       = 64
	DefaultHNSWCleanupRatio   = 0.1
)

const (
	hnswMaxLevel     = 16
	hnswCleanupMin   = 64   // tombstones below this never start a pass
	hnswCleanupSteps = 2048 // nodes a pass visits per mutating call
)

// Node states.
const (
	nodeLive  uint8 = iota
	nodeDead        // deleted: a tombstone, still traversed by searches
	nodeDying       // deleted, being unlinked by the current cleanup pass
	nodeFree        // unlinked; the slot may be reused
)

// HNSW is an approximate [VectorIndex]: a hierarchical navigable small
// world graph (Malkov and Yashunin, 2016) over float32 unit vectors, with
// cosine similarity as the dot product. A search takes a few hundred
// microseconds among a hundred thousand vectors where an exact one takes
// milliseconds, and finds the true nearest neighbour more than 95 % of
// the time with the default settings.
//
// Delete marks a node as a tombstone: searches still walk through it but
// never return it. When tombstones reach [HNSWConfig.CleanupRatio] of the
// nodes, a cleanup pass relinks their neighbours (each to the closest
// neighbours of the removed node) a bounded number of nodes per call, and
// then frees the slots for new entries; [HNSW.Compact] finishes a pass at
// once. Expired entries are never returned; [HNSW.Purge] turns them into
// tombstones. Searches run concurrently; Add, Delete and Purge hold an
// exclusive lock.
type HNSW struct {
	mu      sync.RWMutex
	dim     int
	m, m0   int
	efC     int
	efS     int
	ml      float64
	ratio   float64
	rng     *rand.Rand
	vecs    []float32 // slot * dim
	nodes   []hnswNode
	inDeg   []int32 // links to each node on layer 0, to keep every node reachable
	byID    map[string]int32
	free    []int32
	entry   int32 // -1 when empty
	top     int   // the entry's level
	live    int   // nodes in state nodeLive
	dead    int   // nodes in state nodeDead
	dying   []int32
	cursor  int // next node the cleanup pass visits
	passEnd int // nodes the pass visits
	visits  sync.Pool
}

type hnswNode struct {
	id      string
	links   [][]int32 // per level
	expires int64     // unix nanoseconds; 0 for never
	state   uint8
}

// NewHNSW returns an empty approximate index of vectors of dim
// dimensions. It returns an error matching [ErrInvalidConfig] for an
// invalid setting.
func NewHNSW(dim int, cfg HNSWConfig) (*HNSW, error) {
	if dim < 1 {
		return nil, configErrorf("index dimensions %d < 1", dim)
	}
	if cfg.M == 0 {
		cfg.M = DefaultHNSWM
	}
	if cfg.EfConstruction == 0 {
		cfg.EfConstruction = DefaultHNSWEfConstruction
	}
	if cfg.EfSearch == 0 {
		cfg.EfSearch = DefaultHNSWEfSearch
	}
	if cfg.CleanupRatio == 0 {
		cfg.CleanupRatio = DefaultHNSWCleanupRatio
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	switch {
	case cfg.M < 2 || cfg.M > 256:
		return nil, configErrorf("HNSW M %d not in [2, 256]", cfg.M)
	case cfg.EfConstruction < 1 || cfg.EfSearch < 1:
		return nil, configErrorf("HNSW ef %d/%d < 1", cfg.EfConstruction, cfg.EfSearch)
	case !(cfg.CleanupRatio > 0 && cfg.CleanupRatio <= 1):
		return nil, configErrorf("HNSW cleanup ratio %v not in (0, 1]", cfg.CleanupRatio)
	}
	return &HNSW{
		dim:   dim,
		m:     cfg.M,
		m0:    2 * cfg.M,
		efC:   max(cfg.EfConstruction, cfg.M),
		efS:   cfg.EfSearch,
		ml:    1 / math.Log(float64(cfg.M)),
		ratio: cfg.CleanupRatio,
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		byID:  map[string]int32{},
		entry: -1,
	}, nil
}

// Dimensions returns the length of the vectors.
func (h *HNSW) Dimensions() int { return h.dim }

// Len returns the number of entries (expired ones included until purged).
func (h *HNSW) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.live
}

// Tombstones returns the number of deleted nodes not yet freed.
func (h *HNSW) Tombstones() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.dead + len(h.dying)
}

func (h *HNSW) vec(n int32) []float32 {
	i := int(n) * h.dim
	return h.vecs[i : i+h.dim : i+h.dim]
}

func (h *HNSW) maxLinks(level int) int {
	if level == 0 {
		return h.m0
	}
	return h.m
}

// Add inserts or replaces a vector; see [VectorIndex].
func (h *HNSW) Add(id string, vec []float32, expires time.Time) error {
	unit, err := unitCopy(vec, h.dim)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.byID[id]; ok {
		h.kill(old)
	}
	h.insert(id, unit, unixNano(expires))
	h.maintain()
	return nil
}

// Delete removes an id: its node becomes a tombstone.
func (h *HNSW) Delete(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, ok := h.byID[id]
	if !ok {
		return false
	}
	h.kill(n)
	h.maintain()
	return true
}

// Purge turns the entries expired at now into tombstones and returns how
// many.
func (h *HNSW) Purge(now time.Time) int {
	t := now.UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for i := range h.nodes {
		nd := &h.nodes[i]
		if nd.state == nodeLive && nd.expires != 0 && nd.expires <= t {
			h.kill(int32(i))
			n++
		}
	}
	h.maintain()
	return n
}

// Compact finishes the cleanup of every tombstone now: their neighbours
// are relinked and their slots freed.
func (h *HNSW) Compact() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		if h.passEnd == 0 {
			if h.dead == 0 {
				return
			}
			h.startPass()
		}
		h.stepPass(len(h.nodes) + 1)
	}
}

// Range calls fn for every live entry.
func (h *HNSW) Range(fn func(id string, vec []float32, expires time.Time) bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for i := range h.nodes {
		nd := &h.nodes[i]
		if nd.state != nodeLive {
			continue
		}
		if !fn(nd.id, h.vec(int32(i)), fromUnixNano(nd.expires)) {
			return
		}
	}
}

// kill makes node n a tombstone.
func (h *HNSW) kill(n int32) {
	nd := &h.nodes[n]
	if nd.state != nodeLive {
		return
	}
	delete(h.byID, nd.id)
	nd.state = nodeDead
	h.live--
	h.dead++
}

func (h *HNSW) randomLevel() int {
	u := 1 - h.rng.Float64() // (0, 1]
	return min(int(-math.Log(u)*h.ml), hnswMaxLevel)
}

// insert adds a new node for id with the unit vector unit.
func (h *HNSW) insert(id string, unit []float32, expires int64) {
	level := h.randomLevel()
	var n int32
	if k := len(h.free); k > 0 {
		n = h.free[k-1]
		h.free = h.free[:k-1]
		copy(h.vec(n), unit)
	} else {
		n = int32(len(h.nodes))
		h.nodes = append(h.nodes, hnswNode{})
		h.inDeg = append(h.inDeg, 0)
		h.vecs = append(h.vecs, unit...)
	}
	h.inDeg[n] = 0
	links := make([][]int32, level+1)
	for l := range links {
		links[l] = make([]int32, 0, h.maxLinks(l))
	}
	h.nodes[n] = hnswNode{id: id, links: links, expires: expires, state: nodeLive}
	h.byID[id] = n
	h.live++
	if h.entry < 0 {
		h.entry, h.top = n, level
		return
	}
	vis := h.visitor()
	defer h.visits.Put(vis)
	ep := h.entry
	epSim := dot(unit, h.vec(ep))
	for l := h.top; l > level; l-- {
		ep, epSim = h.greedy(unit, ep, epSim, l)
	}
	eps := []scored{{ep, epSim}}
	for l := min(level, h.top); l >= 0; l-- {
		found := h.searchLayer(unit, eps, h.efC, l, vis, func(c int32) bool { return c != n && h.nodes[c].state == nodeLive })
		neighbours := h.selectNeighbours(found, h.m)
		for _, s := range neighbours {
			h.nodes[n].links[l] = append(h.nodes[n].links[l], s.node)
			if l == 0 {
				h.inDeg[s.node]++
			}
			h.link(s.node, n, s.sim, l)
		}
		if len(found) > 0 {
			eps = found
		}
	}
	if level > h.top {
		h.entry, h.top = n, level
	}
	h.ensureInLink(n)
}

// ensureInLink gives node n a link from its most similar neighbour when no
// node links to it on layer 0 (the neighbours all preferred others), so
// that every node stays reachable.
func (h *HNSW) ensureInLink(n int32) {
	links := h.nodes[n].links[0]
	if h.inDeg[n] > 0 || n == h.entry || len(links) == 0 {
		return
	}
	y := links[0]
	yl := h.nodes[y].links[0]
	if len(yl) < h.m0 {
		h.nodes[y].links[0] = append(yl, n)
		h.inDeg[n]++
		return
	}
	// Replace y's link to the node with the most other links to it.
	best := -1
	for i, z := range yl {
		if h.inDeg[z] >= 2 && (best < 0 || h.inDeg[z] > h.inDeg[yl[best]]) {
			best = i
		}
	}
	if best >= 0 {
		h.inDeg[yl[best]]--
		yl[best] = n
		h.inDeg[n]++
	}
}

// link adds a link from node a to node b (at similarity sim) on level l;
// when a has too many links, the heuristic of selectNeighbours chooses
// which to keep.
func (h *HNSW) link(a, b int32, sim float32, l int) {
	nd := &h.nodes[a]
	if l >= len(nd.links) {
		return
	}
	links := nd.links[l]
	if len(links) < h.maxLinks(l) {
		nd.links[l] = append(links, b)
		if l == 0 {
			h.inDeg[b]++
		}
		return
	}
	va := h.vec(a)
	cands := make([]scored, 0, len(links)+1)
	cands = append(cands, scored{b, sim})
	for _, x := range links {
		cands = append(cands, scored{x, dot(va, h.vec(x))})
	}
	sortBySim(cands)
	kept := h.selectNeighbours(cands, h.maxLinks(l))
	if l == 0 {
		h.protectOrphans(links, b, cands, kept)
		for _, x := range links {
			h.inDeg[x]--
		}
		for _, s := range kept {
			h.inDeg[s.node]++
		}
	}
	links = links[:0]
	for _, s := range kept {
		links = append(links, s.node)
	}
	nd.links[l] = links
}

// protectOrphans changes kept, the links a node keeps on layer 0 out of
// cands (its old links plus b), so that no dropped node is left with no
// link to it: such a node takes the place of a kept one that others link
// to as well.
func (h *HNSW) protectOrphans(old []int32, b int32, cands, kept []scored) {
	in := func(x int32, set []scored) bool {
		return slices.ContainsFunc(set, func(s scored) bool { return s.node == x })
	}
	wasOld := func(x int32) int32 {
		if x != b {
			return 1 // every candidate but b was an old link
		}
		return 0
	}
	for _, d := range cands {
		if in(d.node, kept) || h.inDeg[d.node]-wasOld(d.node) > 0 {
			continue
		}
		// d would have no link to it: replace the least similar kept node
		// that keeps another link.
		for i := len(kept) - 1; i >= 0; i-- {
			k := kept[i].node
			if h.inDeg[k]-wasOld(k)+1 >= 2 && k != b {
				kept[i] = d
				break
			}
		}
	}
	_ = old
}

func sortBySim(s []scored) {
	slices.SortFunc(s, func(a, b scored) int {
		switch {
		case a.sim > b.sim:
			return -1
		case a.sim < b.sim:
			return 1
		}
		return int(a.node - b.node)
	})
}

// greedy walks level l from ep towards q and returns the closest node
// found.
func (h *HNSW) greedy(q []float32, ep int32, epSim float32, l int) (int32, float32) {
	for changed := true; changed; {
		changed = false
		nd := &h.nodes[ep]
		if l >= len(nd.links) {
			break
		}
		for _, c := range nd.links[l] {
			if s := dot(q, h.vec(c)); s > epSim {
				ep, epSim, changed = c, s, true
			}
		}
	}
	return ep, epSim
}

// searchLayer returns up to ef nodes accepted by accept that are the most
// similar to q on level l, most similar first, walking from eps through
// every node.
func (h *HNSW) searchLayer(q []float32, eps []scored, ef, l int, vis *visitSet, accept func(int32) bool) []scored {
	vis.reset(len(h.nodes))
	var cand maxHeap
	res := newTopK(ef)
	for _, e := range eps {
		if vis.visit(e.node) {
			continue
		}
		cand.push(e)
		if accept(e.node) {
			res.push(e.node, e.sim)
		}
	}
	for len(cand) > 0 {
		c := cand.pop()
		if len(res.items) >= ef && c.sim < res.items[0].sim {
			break
		}
		nd := &h.nodes[c.node]
		if l >= len(nd.links) {
			continue
		}
		for _, x := range nd.links[l] {
			if vis.visit(x) {
				continue
			}
			s := dot(q, h.vec(x))
			if len(res.items) < ef || s >= res.items[0].sim {
				cand.push(scored{x, s})
				if accept(x) {
					res.push(x, s)
				}
			}
		}
	}
	return res.sorted()
}

// selectNeighbours picks up to m of the candidates (most similar first)
// with the heuristic of the HNSW paper: a candidate is kept when it is
// closer to the new node than to every neighbour kept so far, so that the
// links spread in all directions; the remaining places go to the best of
// the others.
func (h *HNSW) selectNeighbours(cands []scored, m int) []scored {
	if len(cands) <= m {
		return cands
	}
	out := make([]scored, 0, m)
	var pruned []scored
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		good := true
		vc := h.vec(c.node)
		for _, r := range out {
			if dot(vc, h.vec(r.node)) > c.sim {
				good = false
				break
			}
		}
		if good {
			out = append(out, c)
		} else {
			pruned = append(pruned, c)
		}
	}
	for _, c := range pruned {
		if len(out) >= m {
			break
		}
		out = append(out, c)
	}
	return out
}

// Search returns the k most similar live entries found; query should be
// of unit length.
func (h *HNSW) Search(query []float32, k int, now time.Time) []Match {
	if k <= 0 || len(query) != h.dim {
		return nil
	}
	t := now.UnixNano()
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.entry < 0 {
		return nil
	}
	vis := h.visitor()
	defer h.visits.Put(vis)
	ep := h.entry
	epSim := dot(query, h.vec(ep))
	for l := h.top; l > 0; l-- {
		ep, epSim = h.greedy(query, ep, epSim, l)
	}
	found := h.searchLayer(query, []scored{{ep, epSim}}, max(h.efS, k), 0, vis, func(c int32) bool {
		nd := &h.nodes[c]
		return nd.state == nodeLive && (nd.expires == 0 || nd.expires > t)
	})
	if len(found) > k {
		found = found[:k]
	}
	out := make([]Match, len(found))
	for i, s := range found {
		out[i] = Match{ID: h.nodes[s.node].id, Similarity: s.sim}
	}
	return out
}

// ---- cleanup ----

// maintain starts or continues a cleanup pass; the caller holds the lock.
func (h *HNSW) maintain() {
	if h.passEnd == 0 {
		if h.dead < hnswCleanupMin || float64(h.dead) < h.ratio*float64(h.live+h.dead) {
			return
		}
		h.startPass()
	}
	h.stepPass(hnswCleanupSteps)
}

// startPass takes every tombstone into a new cleanup pass.
func (h *HNSW) startPass() {
	h.dying = h.dying[:0]
	for i := range h.nodes {
		if h.nodes[i].state == nodeDead {
			h.nodes[i].state = nodeDying
			h.dying = append(h.dying, int32(i))
		}
	}
	h.dead = 0
	h.cursor = 0
	h.passEnd = len(h.nodes)
	if len(h.dying) == 0 {
		h.passEnd = 0
	}
}

// stepPass relinks up to steps nodes around the dying ones, and ends the
// pass when every node has been visited.
func (h *HNSW) stepPass(steps int) {
	for ; h.cursor < h.passEnd && steps > 0; h.cursor++ {
		steps--
		h.repair(int32(h.cursor))
	}
	if h.cursor < h.passEnd {
		return
	}
	var orphans []int32
	for _, d := range h.dying {
		for _, x := range h.nodes[d].links[0] {
			h.inDeg[x]--
			if h.inDeg[x] == 0 {
				orphans = append(orphans, x)
			}
		}
	}
	for _, d := range h.dying {
		h.nodes[d] = hnswNode{state: nodeFree}
		h.inDeg[d] = 0
		h.free = append(h.free, d)
	}
	h.dying = h.dying[:0]
	h.passEnd, h.cursor = 0, 0
	if h.entry >= 0 && h.nodes[h.entry].state == nodeFree {
		h.entry, h.top = -1, 0
		for i := range h.nodes {
			nd := &h.nodes[i]
			if nd.state != nodeFree && (h.entry < 0 || len(nd.links)-1 > h.top) {
				h.entry, h.top = int32(i), len(nd.links)-1
			}
		}
	}
	for _, x := range orphans {
		if h.nodes[x].state != nodeFree && h.inDeg[x] == 0 {
			h.ensureInLink(x)
		}
	}
}

// repair removes node n's links to dying nodes and replaces them with the
// most similar of the dying nodes' own links.
func (h *HNSW) repair(n int32) {
	nd := &h.nodes[n]
	if nd.state == nodeDying || nd.state == nodeFree {
		return
	}
	for l, links := range nd.links {
		if !slices.ContainsFunc(links, func(x int32) bool { return h.nodes[x].state == nodeDying }) {
			continue
		}
		kept := links[:0]
		var from []int32
		for _, x := range links {
			if h.nodes[x].state == nodeDying {
				from = append(from, x)
			} else {
				kept = append(kept, x)
			}
		}
		need := h.maxLinks(l) - len(kept)
		var cands []scored
		vn := h.vec(n)
		for _, d := range from {
			dl := h.nodes[d].links
			if l >= len(dl) {
				continue
			}
			for _, c := range dl[l] {
				st := h.nodes[c].state
				if c == n || st == nodeDying || st == nodeFree || slices.Contains(kept, c) ||
					slices.ContainsFunc(cands, func(s scored) bool { return s.node == c }) {
					continue
				}
				cands = append(cands, scored{c, dot(vn, h.vec(c))})
			}
		}
		sortBySim(cands)
		for _, c := range cands[:min(need, len(cands))] {
			kept = append(kept, c.node)
			if l == 0 {
				h.inDeg[c.node]++
			}
		}
		nd.links[l] = kept
	}
}

// ---- search helpers ----

// visitSet marks visited nodes with a generation number, so that it is
// cleared in O(1).
type visitSet struct {
	gen   uint32
	marks []uint32
}

func (h *HNSW) visitor() *visitSet {
	if v, ok := h.visits.Get().(*visitSet); ok {
		return v
	}
	return &visitSet{}
}

func (v *visitSet) reset(n int) {
	if len(v.marks) < n {
		v.marks = make([]uint32, n+n/4)
		v.gen = 0
	}
	v.gen++
	if v.gen == 0 {
		clear(v.marks)
		v.gen = 1
	}
}

// visit marks n and reports whether it was already marked.
func (v *visitSet) visit(n int32) bool {
	if v.marks[n] == v.gen {
		return true
	}
	v.marks[n] = v.gen
	return false
}

// maxHeap is a max-heap on similarity.
type maxHeap []scored

func (q *maxHeap) push(s scored) {
	*q = append(*q, s)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].sim >= h[i].sim {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (q *maxHeap) pop() scored {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r].sim > h[l].sim {
			m = r
		}
		if h[i].sim >= h[m].sim {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// Recall measures an HNSW of cfg against exact search: the share of
// queries whose nearest neighbour among data the HNSW finds (or one as
// similar). The recall tests of this package and of the semantic tier
// use it.
func Recall(data, queries [][]float32, cfg HNSWConfig) (float64, error) {
	if len(data) == 0 || len(queries) == 0 {
		return 0, configErrorf("recall needs data and queries")
	}
	dim := len(data[0])
	flat, err := NewFlatIndex(dim)
	if err != nil {
		return 0, err
	}
	h, err := NewHNSW(dim, cfg)
	if err != nil {
		return 0, err
	}
	for i, v := range data {
		id := strconv.Itoa(i)
		if err := flat.Add(id, v, time.Time{}); err != nil {
			return 0, err
		}
		if err := h.Add(id, v, time.Time{}); err != nil {
			return 0, err
		}
	}
	now := time.Now()
	hits := 0
	for _, q := range queries {
		want, got := flat.Search(q, 1, now), h.Search(q, 1, now)
		if len(got) == 1 && len(want) == 1 && (got[0].ID == want[0].ID || got[0].Similarity >= want[0].Similarity) {
			hits++
		}
	}
	return float64(hits) / float64(len(queries)), nil
}
