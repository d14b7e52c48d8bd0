package prompt

import (
	"slices"
	"strings"
)

// Pre-merging three-byte characters.
//
// Chinese text is mostly three-byte UTF-8 characters, and byte-pair
// merging spends most of its steps joining the bytes of each character
// before it joins characters. For a character C whose bytes can be shown
// to merge into C on their own, whatever surrounds them, the merge loops
// start with C as one part instead of three bytes. The result is the same
// as tiktoken's merge of the bytes when:
//
//  1. C's merge in isolation ends in the single token C, and every rank on
//     the way is below rank(C);
//  2. no token joins a proper part of C's bytes to bytes around C in the
//     piece: no token L+P, where L ends the bytes before C and P is a
//     proper prefix of C, and no token S+R, where S is a proper suffix of
//     C and R starts the bytes after C;
//  3. every token that holds C's bytes and more ranks above C.
//
// By 2, C's bytes only ever merge with each other, in the order they would
// in isolation, and, by 1, into C. Starting C whole only makes the pairs
// (X, C) and (C, Y) available earlier; by 3 they rank above C, and while
// C is still in parts the merge loop takes only ranks below C's next
// merge, which by 1 is below rank(C). So the pairs seen early never win a
// step they would not win in tiktoken's order, and the merges, hence the
// count, are the same. Conditions 1 and 3 are checked for every character
// when the ranks load; condition 2 is checked where a character occurs,
// against the few tokens that hold part of a three-byte character
// (precomputed by the part they hold). TestMergeVariants and the fuzz
// targets compare the result with tiktoken's algorithm.

// premerge holds what the pre-merge needs about three-byte characters.
type premerge struct {
	// ok holds, by char3 index, 0 when conditions 1 or 3 fail, else 1 +
	// the index in checks of what condition 2 must check.
	ok     *[1 << 16]uint16
	checks []charChecks
}

// charChecks are the tokens that join part of a character to its
// neighbours: the character may start whole unless the bytes before it
// end with one of left or the bytes after it start with one of right.
type charChecks struct {
	left, right []string
	// lastL and firstR hold the last bytes of left and the first bytes of
	// right, as bit sets: most neighbours are ruled out by one byte.
	lastL, firstR [4]uint64
}

func addByte(set *[4]uint64, b byte) { set[b>>6] |= 1 << (b & 63) }

func hasByte(set *[4]uint64, b byte) bool { return set[b>>6]&(1<<(b&63)) != 0 }

func isCont(b byte) bool { return b&0xc0 == 0x80 }

// partKey packs one or two bytes with their count.
func partKey(b []byte) uint32 {
	if len(b) == 1 {
		return 1<<16 | uint32(b[0])
	}
	return 2<<16 | uint32(b[0])<<8 | uint32(b[1])
}

// newPremerge analyses the tokens (toks[i] has rank ranks[i]) of a table
// t that already holds them.
func newPremerge(t *rankTable, toks [][]byte, ranks []int32) *premerge {
	left := map[uint32][]string{}  // proper prefix P (partKey) → every L with L+P a token
	right := map[uint32][]string{} // proper suffix S (partKey) → every R with S+R a token
	var bad [1 << 16]bool
	for i, tok := range toks {
		n := len(tok)
		for k := 1; k <= 2 && k < n; k++ {
			// L+P: P = tok[n-k:] a proper prefix of a three-byte character.
			if tok[n-k]&0xf0 == 0xe0 && (k == 1 || isCont(tok[n-1])) {
				key := partKey(tok[n-k:])
				left[key] = append(left[key], string(tok[:n-k]))
			}
			// S+R: S = tok[:k] a proper suffix (continuation bytes).
			if isCont(tok[0]) && (k == 1 || isCont(tok[1])) {
				key := partKey(tok[:k])
				right[key] = append(right[key], string(tok[k:]))
			}
		}
		// Condition 3, for every three-byte character inside tok.
		for o := 0; n > 3 && o+3 <= n; o++ {
			if c, ok := char3(tok[o], tok[o+1], tok[o+2]); ok && ranks[i] < t.chars3[c] {
				bad[c] = true
			}
		}
	}
	p := &premerge{ok: new([1 << 16]uint16), checks: []charChecks{{}}}
	seen := map[string]uint16{"": 0}
	for c := range 1 << 16 {
		rc := t.chars3[c]
		if rc == noRank || bad[c] {
			continue
		}
		b := [3]byte{0xe0 | byte(c>>12), 0x80 | byte(c>>6&0x3f), 0x80 | byte(c&0x3f)}
		// Condition 1: isolation merges b0b1 or b1b2 first (the lower
		// rank), then the remaining byte, into C.
		r := min(t.pairs[int(b[0])<<8|int(b[1])], t.pairs[int(b[1])<<8|int(b[2])])
		if r == noRank || r >= rc {
			continue
		}
		cc := charChecks{
			left:  slices.Concat(left[partKey(b[:1])], left[partKey(b[:2])]),
			right: slices.Concat(right[partKey(b[2:])], right[partKey(b[1:])]),
		}
		for _, L := range cc.left {
			addByte(&cc.lastL, L[len(L)-1])
		}
		for _, R := range cc.right {
			addByte(&cc.firstR, R[0])
		}
		id := strings.Join(cc.left, "\x00") + "\x01" + strings.Join(cc.right, "\x00")
		if len(cc.left)+len(cc.right) == 0 {
			id = ""
		}
		k, ok := seen[id]
		if !ok {
			k = uint16(len(p.checks))
			p.checks = append(p.checks, cc)
			seen[id] = k
		}
		p.ok[c] = 1 + k
	}
	return p
}

// whole reports whether the three-byte character at key[i:i+3] (key holds
// a piece of n bytes) may start as one part.
func (p *premerge) whole(key []byte, i, n int) bool {
	if i+3 > n {
		return false
	}
	c, ok := char3(key[i], key[i+1], key[i+2])
	if !ok || p.ok[c] == 0 {
		return false
	}
	if p.ok[c] == 1 {
		return true // nothing to check
	}
	cc := &p.checks[p.ok[c]-1]
	if i > 0 && hasByte(&cc.lastL, key[i-1]) {
		for _, L := range cc.left {
			if len(L) <= i && string(key[i-len(L):i]) == L {
				return false
			}
		}
	}
	if i+3 < n && hasByte(&cc.firstR, key[i+3]) {
		for _, R := range cc.right {
			if i+3+len(R) <= n && string(key[i+3:i+3+len(R)]) == R {
				return false
			}
		}
	}
	return true
}

// parts writes the start of each initial part of the piece key[:n] to
// starts, followed by n, and returns the number of parts: one a byte,
// except pre-merged characters.
func (p *premerge) parts(key []byte, n int, starts []int32) int {
	m := 0
	for i := 0; i < n; {
		starts[m] = int32(i)
		m++
		if key[i]&0xf0 == 0xe0 && p.whole(key, i, n) {
			i += 3
		} else {
			i++
		}
	}
	starts[m] = int32(n)
	return m
}
