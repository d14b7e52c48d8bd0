package prompt

import (
	"hash/maphash"
	"strings"
	"sync"
)

// DefaultMemoEntries is the default capacity of a [Memo] and of the
// builder's caches ([WithMemoEntries]).
const DefaultMemoEntries = 1 << 16

// Memo counts text through a [Counter], remembering the counts of texts it
// has seen: the system prompt, snippets, worked examples and summaries
// repeat from turn to turn, and a remembered count costs a hash of the
// text instead of its tokenization. It holds at most its capacity of
// counts (about 40 bytes each, the texts are not kept) and forgets the
// least recently used first. It is safe for concurrent use.
type Memo struct {
	c     *Counter
	cache *bounded[int]
}

// NewMemo returns a memo over c that holds up to entries counts (0 means
// [DefaultMemoEntries]).
func NewMemo(c *Counter, entries int) *Memo {
	if entries <= 0 {
		entries = DefaultMemoEntries
	}
	return &Memo{c: c, cache: newBounded[int](entries)}
}

// Counter returns the counter the memo counts with.
func (m *Memo) Counter() *Counter { return m.c }

// Count returns c.Count(text), from memory when it can.
func (m *Memo) Count(text string) int {
	if len(text) < 16 {
		return m.c.Count(text) // cheaper than a lookup
	}
	k := keyOf(text)
	if n, ok := m.cache.get(k); ok {
		return n
	}
	n := m.c.Count(text)
	m.cache.put(k, n)
	return n
}

// countParts returns Count(strings.Join(parts, "")), joining only when
// the count is not remembered.
func (m *Memo) countParts(parts ...string) int {
	k := keyOfParts(parts...)
	if n, ok := m.cache.get(k); ok {
		return n
	}
	n := m.c.Count(strings.Join(parts, ""))
	m.cache.put(k, n)
	return n
}

// Len returns the number of counts the memo holds.
func (m *Memo) Len() int { return m.cache.len() }

// key identifies a text by a 64-bit seeded hash and its length. Two texts
// of the same length collide with probability 2⁻⁶⁴.
type key struct {
	h uint64
	n int
}

var seed = maphash.MakeSeed()

func keyOf(s string) key { return key{maphash.String(seed, s), len(s)} }

// keyOfParts is keyOf(strings.Join(parts, "")) without the join (a
// maphash.Hash of a sequence of writes is the hash of their
// concatenation).
func keyOfParts(parts ...string) key {
	var h maphash.Hash
	h.SetSeed(seed)
	n := 0
	for _, p := range parts {
		h.WriteString(p)
		n += len(p)
	}
	return key{h.Sum64(), n}
}

// bounded is a size-bounded map from keys to values, safe for concurrent
// use: shards (16, or 1 when small), each two generations of maps. New entries go to the
// young generation; when it is full it becomes the old one and the old
// one is dropped; a hit in the old generation moves the entry to the
// young one. So it holds at most its capacity and keeps what is in use.
type bounded[V any] struct {
	shards []shard[V]
}

type shard[V any] struct {
	mu         sync.Mutex
	young, old map[key]V
	max        int // entries a generation
}

func newBounded[V any](entries int) *bounded[V] {
	n := 16
	if entries < 1024 {
		n = 1
	}
	b := &bounded[V]{shards: make([]shard[V], n)}
	per := max(entries/n/2, 1)
	for i := range b.shards {
		b.shards[i].max = per
		b.shards[i].young = make(map[key]V)
	}
	return b
}

func (b *bounded[V]) shard(k key) *shard[V] { return &b.shards[(k.h>>60)%uint64(len(b.shards))] }

func (b *bounded[V]) get(k key) (V, bool) {
	s := b.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.young[k]; ok {
		return v, true
	}
	v, ok := s.old[k]
	if ok {
		s.add(k, v)
	}
	return v, ok
}

func (b *bounded[V]) put(k key, v V) {
	s := b.shard(k)
	s.mu.Lock()
	s.add(k, v)
	s.mu.Unlock()
}

func (s *shard[V]) add(k key, v V) {
	if len(s.young) >= s.max {
		s.old, s.young = s.young, make(map[key]V, s.max)
	}
	s.young[k] = v
}

func (b *bounded[V]) len() int {
	n := 0
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		n += len(s.young) + len(s.old)
		s.mu.Unlock()
	}
	return n
}
