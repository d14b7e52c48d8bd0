package prompt

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/pkoukk/tiktoken-go-loader/assets"
)

// bpe is one encoding's byte-pair ranks and pre-tokenizer, for counting.
type bpe struct {
	ranks   *rankTable
	next    func(s string, i int) int
	mergers sync.Pool // of *merger
}

// loadBPE reads an encoding's ranks from tiktoken-go-loader's embedded
// assets (the files OpenAI publishes: one "base64(token) rank" a line).
func loadBPE(encoding string) (*bpe, error) {
	var next func(string, int) int
	switch encoding {
	case O200kBase:
		next = nextO200k
	case Cl100kBase:
		next = nextCl100k
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownEncoding, encoding)
	}
	data, err := assets.Assets.ReadFile(encoding + ".tiktoken")
	if err != nil {
		return nil, fmt.Errorf("prompt: load %s: %w", encoding, err)
	}
	lines := bytes.Count(data, []byte{'\n'}) + 1
	ranks := newRankTable(lines)
	toks, tokRanks := make([][]byte, 0, lines), make([]int32, 0, lines)
	var buf [512]byte
	for line := range bytes.Lines(data) {
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			continue
		}
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 {
			return nil, fmt.Errorf("prompt: load %s: malformed line %q", encoding, line)
		}
		n, err := base64.StdEncoding.Decode(buf[:], line[:sp])
		if err != nil {
			return nil, fmt.Errorf("prompt: load %s: %w", encoding, err)
		}
		rank, err := strconv.Atoi(string(line[sp+1:]))
		if err != nil || rank < 0 || rank > math.MaxInt32 {
			return nil, fmt.Errorf("prompt: load %s: bad rank in %q", encoding, line)
		}
		if err := ranks.insert(buf[:n], int32(rank)); err != nil {
			return nil, fmt.Errorf("prompt: load %s: %w", encoding, err)
		}
		toks, tokRanks = append(toks, bytes.Clone(buf[:n])), append(tokRanks, int32(rank))
	}
	ranks.pre = newPremerge(ranks, toks, tokRanks)
	loadClasses()
	b := &bpe{ranks: ranks, next: next}
	b.mergers.New = func() any { return &merger{t: ranks} }
	return b, nil
}

// count returns the number of tokens tiktoken-go's EncodeOrdinary gives
// for s, which must be valid UTF-8.
func (b *bpe) count(s string) int {
	m := b.mergers.Get().(*merger)
	n := 0
	for i := 0; i < len(s); {
		j := b.next(s, i)
		n += m.pieceTokens(s[i:j])
		i = j
	}
	b.mergers.Put(m)
	return n
}

// noRank marks a pair of parts whose concatenation is not a token.
const noRank = math.MaxInt32

// linearMax is the most parts merged with linear scans (mergeLinear);
// more use a heap (mergeHeap).
const linearMax = 16

// cacheBits is log2 of the entries of a merger's lookup cache.
const cacheBits = 12

// merger counts the tokens of pieces. One merger serves one goroutine at
// a time; mergers are pooled per encoding, so their buffers and their
// lookup cache are reused.
//
// The lookup cache is direct-mapped and holds rank lookups of 4 to 8
// bytes, the ones that miss the rank table's direct arrays. Its contents
// depend only on the encoding, so it stays warm across calls, and it
// fits in the L1 or L2 cache where the rank table does not.
type merger struct {
	t     *rankTable
	cache [1 << cacheBits]cacheEntry
	// Buffers, grown to the longest piece seen.
	key                     []byte // the piece, padded for 8-byte loads
	starts, next, prev, rnk []int32
	heap                    []uint64
}

type cacheEntry struct {
	key  uint64 // the bytes, as rankTable keys them
	n    int32  // their length; 0 for an empty entry
	rank int32
}

// get returns the rank of b[i:j] (see rankTable.get).
func (m *merger) get(b []byte, i, j int) int32 {
	n := j - i
	if n <= 3 || n > 8 {
		return m.t.get(b, i, j)
	}
	w := load8(b, i, n)
	e := &m.cache[((w^uint64(n)<<58)*0x9e3779b97f4a7c15)>>(64-cacheBits)]
	if e.n == int32(n) && e.key == w {
		return e.rank
	}
	r := m.t.get(b, i, j)
	*e = cacheEntry{key: w, n: int32(n), rank: r}
	return r
}

// pieceTokens returns the number of tokens of one pre-tokenized piece:
// 1 if the piece is a token, else the number of parts left by tiktoken's
// byte_pair_merge: repeatedly merge the adjacent pair of parts whose
// concatenation has the lowest rank (the leftmost on ties) until no
// adjacent pair is a token.
func (m *merger) pieceTokens(p string) int {
	n := len(p)
	if n == 1 {
		return 1 // every byte is a token
	}
	if cap(m.key) < n+8 {
		c := max(n+8, 2*cap(m.key), 128)
		m.key = make([]byte, c)
		m.starts = make([]int32, c)
		m.next, m.prev, m.rnk = make([]int32, c), make([]int32, c), make([]int32, c)
		m.heap = make([]uint64, 0, 3*c)
	}
	key := m.key[:n+8]
	copy(key, p)
	if m.get(key, 0, n) != noRank {
		return 1
	}
	starts := m.starts[:n+1]
	parts := m.t.pre.parts(key, n, starts)
	if parts <= linearMax {
		return m.mergeLinear(key, starts[:parts+1])
	}
	return m.mergeHeap(key, n, starts[:parts+1])
}

// mergeLinear merges the parts that start at starts (the last entry is
// the piece's end) as tiktoken does, with a linear scan for the lowest
// rank.
func (m *merger) mergeLinear(key []byte, starts []int32) int {
	// ranks[k] is the rank of parts k and k+1 merged, noRank if that is
	// not a token (and for the last part).
	var rankBuf [linearMax]int32
	ranks := rankBuf[:len(starts)-1]
	for k := range ranks {
		ranks[k] = noRank
		if k+2 < len(starts) {
			ranks[k] = m.get(key, int(starts[k]), int(starts[k+2]))
		}
	}
	// rankAt is the rank of parts i and i+1 merged with the part after
	// them, as tiktoken's get_rank(i, 1).
	rankAt := func(i int) int32 {
		if i+3 < len(starts) {
			return m.get(key, int(starts[i]), int(starts[i+3]))
		}
		return noRank
	}
	for len(ranks) > 1 {
		minRank, i := ranks[0], 0
		for k, r := range ranks[1:] {
			if r < minRank {
				minRank, i = r, k+1
			}
		}
		if minRank == noRank {
			break
		}
		ranks[i] = rankAt(i)
		if i > 0 {
			ranks[i-1] = rankAt(i - 1)
		}
		starts = append(starts[:i+1], starts[i+2:]...)
		ranks = append(ranks[:i+1], ranks[i+2:]...)
	}
	return len(ranks)
}

// mergeHeap gives the same result as mergeLinear in O(n log n) for a
// piece of n bytes: parts are a linked list indexed by their first byte,
// and candidate merges sit in a min-heap ordered by rank, then position,
// so each step merges the same lowest-rank, leftmost pair as the linear
// scan. Stale entries (a part merged away, or whose rank has changed
// since) are skipped when popped. A heap entry is rank<<32 | position, so
// entries compare as integers. The heap needs room for two entries a
// part: one at the start and at most two pushes a merge, which pops one.
func (m *merger) mergeHeap(key []byte, n int, starts []int32) int {
	next, prev, rank, heap := m.next[:n], m.prev[:n], m.rnk[:n], m.heap[:0]
	parts := len(starts) - 1
	for k := range parts {
		i := starts[k]
		next[i] = starts[k+1]
		prev[i] = -1
		if k > 0 {
			prev[i] = starts[k-1]
		}
		rank[i] = noRank
		if k+2 < len(starts) {
			r := m.get(key, int(i), int(starts[k+2]))
			rank[i] = r
			if r != noRank {
				heap = append(heap, uint64(r)<<32|uint64(i))
			}
		}
	}
	for i := len(heap)/2 - 1; i >= 0; i-- {
		heapDown(heap, i)
	}
	// pairRank is the rank of part i merged with its next part.
	pairRank := func(i int32) int32 {
		j := next[i]
		if j >= int32(n) {
			return noRank
		}
		return m.get(key, int(i), int(next[j]))
	}
	for len(heap) > 0 {
		top := heap[0]
		last := len(heap) - 1
		heap[0] = heap[last]
		heap = heap[:last]
		heapDown(heap, 0)
		i := int32(uint32(top))
		if rank[i] != int32(top>>32) || prev[i] == -2 {
			continue // stale
		}
		// Merge part i with its next part j.
		j := next[i]
		next[i] = next[j]
		if next[i] < int32(n) {
			prev[next[i]] = i
		}
		prev[j] = -2 // dead
		rank[j] = noRank
		parts--
		r := pairRank(i)
		rank[i] = r
		if r != noRank {
			heap = heapPush(heap, uint64(r)<<32|uint64(i))
		}
		if pi := prev[i]; pi >= 0 {
			r := pairRank(pi)
			rank[pi] = r
			if r != noRank {
				heap = heapPush(heap, uint64(r)<<32|uint64(pi))
			}
		}
	}
	return parts
}

func heapPush(h []uint64, x uint64) []uint64 {
	h = append(h, x)
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if h[i] >= h[parent] {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
	return h
}

func heapDown(h []uint64, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		small := l
		if r := l + 1; r < len(h) && h[r] < h[l] {
			small = r
		}
		if h[small] >= h[i] {
			return
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
}
