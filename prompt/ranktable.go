package prompt

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// rankTable maps tokens (byte strings of 1 to 255 bytes) to their ranks.
// It is an open-addressing hash table with linear probing, kept under 40 %
// full, whose 16-byte slots hold a token's first 8 bytes inline: most
// lookups of a merge loop are of short tokens and touch one cache line,
// where a map[string]int32 touches its control word, the key's header and
// the key's bytes.
//
// In front of it sits a blocked Bloom filter of 8 bits a token (one
// 64-bit word a lookup, two bits of it), small enough to stay in cache:
// most lookups of a merge loop are of byte strings that are not tokens,
// and the filter answers them without touching the table.
type rankTable struct {
	slots  []rankSlot
	shift  uint     // 64 - log2(len(slots))
	arena  []byte   // bytes of tokens longer than 8, padded by 8 bytes
	filter []uint64 // the Bloom filter
	fshift uint     // 64 - log2(len(filter))
	// pairs holds the ranks of all two-byte strings, indexed by
	// b[0]<<8|b[1]: a merge loop starts by ranking every adjacent pair of
	// bytes, and the pairs a text uses are few.
	pairs *[1 << 16]int32
	// chars3 holds the ranks of the three-byte UTF-8 sequences (the rest
	// of the Basic Multilingual Plane, CJK among it), indexed by their
	// 16 payload bits: Chinese text asks for these more than anything.
	chars3 *[1 << 16]int32
	maxLen int       // the longest token
	pre    *premerge // which three-byte characters may start whole
}

type rankSlot struct {
	key  uint64 // the first 8 bytes, zero beyond the token's length
	meta uint32 // arena offset << 8 | length; 0 for an empty slot
	rank int32
}

const maxArena = 1 << 24

func newRankTable(n int) *rankTable {
	size := 1 << bits.Len(uint(n*5/2))
	words := 1 << bits.Len(uint(n/8)) // 8 to 16 bits a token
	pairs, chars3 := new([1 << 16]int32), new([1 << 16]int32)
	for i := range pairs {
		pairs[i], chars3[i] = noRank, noRank
	}
	return &rankTable{
		pairs:  pairs,
		chars3: chars3,
		slots:  make([]rankSlot, size),
		shift:  uint(64 - bits.TrailingZeros(uint(size))),
		filter: make([]uint64, words),
		fshift: uint(64 - bits.TrailingZeros(uint(words))),
	}
}

// load8 returns the 8 bytes at b[i:] as a little-endian word, keeping only
// the first n (n < 8 masks the rest). b must hold 8 bytes from i.
func load8(b []byte, i, n int) uint64 {
	w := binary.LittleEndian.Uint64(b[i : i+8])
	if n < 8 {
		w &= 1<<(8*uint(n)) - 1
	}
	return w
}

func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// hash returns the hash of b[i:j] whose first word is w.
func hash(b []byte, i, j int, w uint64) uint64 {
	n := j - i
	h := w ^ uint64(n)<<58
	if n > 8 {
		h = hashTail(b, i, j, h)
	}
	return mix(h)
}

func hashTail(b []byte, i, j int, h uint64) uint64 {
	for k := i + 8; k < j; k += 8 {
		h = bits.RotateLeft64(h*0x9e3779b97f4a7c15, 31) ^ load8(b, k, j-k)
	}
	return h
}

// get returns the rank of b[i:j], or noRank. b must hold 8 bytes past j.
func (t *rankTable) get(b []byte, i, j int) int32 {
	n := j - i
	switch {
	case n == 2:
		return t.pair(b, i)
	case n == 3:
		if k, ok := char3(b[i], b[i+1], b[i+2]); ok {
			return t.chars3[k]
		}
	case n > t.maxLen:
		return noRank
	}
	w := load8(b, i, n)
	h := hash(b, i, j, w)
	if t.filter[h>>t.fshift]&filterBits(h) != filterBits(h) {
		return noRank
	}
	mask := uint64(len(t.slots) - 1)
	for idx := h >> t.shift; ; idx = (idx + 1) & mask {
		s := &t.slots[idx]
		if s.meta == 0 {
			return noRank
		}
		if int(s.meta&0xff) != n || s.key != w {
			continue
		}
		if n <= 8 {
			return s.rank
		}
		off := int(s.meta >> 8)
		if string(t.arena[off+8:off+n]) == string(b[i+8:j]) {
			return s.rank
		}
	}
}

// pair returns the rank of b[i:i+2], or noRank.
func (t *rankTable) pair(b []byte, i int) int32 {
	return t.pairs[int(b[i])<<8|int(b[i+1])]
}

// char3 returns the index of a three-byte UTF-8 sequence (lead byte
// 1110xxxx, two continuation bytes) in chars3.
func char3(b0, b1, b2 byte) (int, bool) {
	if b0&0xf0 != 0xe0 || b1&0xc0 != 0x80 || b2&0xc0 != 0x80 {
		return 0, false
	}
	return int(b0&0x0f)<<12 | int(b1&0x3f)<<6 | int(b2&0x3f), true
}

// insert adds a token; tokens must be distinct.
func (t *rankTable) insert(tok []byte, rank int32) error {
	n := len(tok)
	if n == 0 || n > 255 {
		return errors.New("token length out of range")
	}
	t.maxLen = max(t.maxLen, n)
	if n == 2 {
		t.pairs[int(tok[0])<<8|int(tok[1])] = rank
	}
	if n == 3 {
		if k, ok := char3(tok[0], tok[1], tok[2]); ok {
			t.chars3[k] = rank
		}
	}
	padded := make([]byte, n+8)
	copy(padded, tok)
	w := load8(padded, 0, n)
	meta := uint32(n)
	if n > 8 {
		off := len(t.arena)
		if off+n+8 > maxArena {
			return errors.New("tokens too large for the rank table")
		}
		t.arena = append(t.arena, padded...)
		meta |= uint32(off) << 8
	}
	mask := uint64(len(t.slots) - 1)
	h := hash(padded, 0, n, w)
	t.filter[h>>t.fshift] |= filterBits(h)
	idx := h >> t.shift
	for t.slots[idx].meta != 0 {
		idx = (idx + 1) & mask
	}
	t.slots[idx] = rankSlot{key: w, meta: meta, rank: rank}
	return nil
}

// filterBits are the two bits of a hash's filter word.
func filterBits(h uint64) uint64 { return 1<<(h&63) | 1<<(h>>6&63) }
