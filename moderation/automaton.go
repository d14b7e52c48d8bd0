package moderation

import "slices"

// automaton is an Aho-Corasick automaton over the bytes of normalized
// text, compiled to a DFA: one table lookup per byte, whatever the number
// of terms.
//
// The text is UTF-8, so a state other than the root stands either for a
// prefix that ends between two characters (it reads ASCII and leading
// bytes next) or for one that ends inside a character (it reads
// continuation bytes next); only the root, the empty prefix, reads both.
// Bytes are numbered in classes, those that occur in no term sharing the
// first class of their kind: first the classes of ASCII and leading bytes
// (width of them), then those of continuation bytes. A state between
// characters has a row of the first classes; a state inside a character a
// row of the second, and its value is where that row begins less width,
// so that it too is read as trans[s+cls[b]]. With Latin and Chinese terms
// a row is then about 35 or 65 entries long, not 100 as one width for
// all would make it, and the table half as big.
//
// States are thus offsets in trans, and the states that end at least one
// term come last (all between characters, so with rows of one width):
// the scan loop is
//
//	s = trans[s+cls[b]]
//	if s >= outMin { report }
type automaton struct {
	cls    [256]uint32 // class of each byte
	width  uint32      // classes of ASCII and leading bytes: a row between characters
	trans  []uint32    // rows, then padding so that no class reads past the end
	outMin uint32
	// outStart[i]..outStart[i+1] index the terms ending in output state
	// outMin + i*width, longest first.
	outStart []int32
	outs     []int32
	rows     []uint32 // the states between characters and the root, ascending
	depth    []int32  // per state of rows: the length of the prefix it stands for
	maxDepth int      // the longest term
}

type trieNode struct {
	next  []trieEdge
	fail  int32
	term  int32 // term id ending here, or -1
	depth int32
	dict  int32 // nearest node on the fail chain that ends a term, or -1
}

type trieEdge struct {
	b    byte
	node int32
}

func (t *trieNode) child(b byte) int32 {
	for _, e := range t.next {
		if e.b == b {
			return e.node
		}
	}
	return -1
}

// isCont reports whether b is a UTF-8 continuation byte.
func isCont(b byte) bool { return b&0xc0 == 0x80 }

// buildAutomaton compiles the terms (non-empty, distinct, valid UTF-8).
func buildAutomaton(terms []string) *automaton {
	a := &automaton{}
	nodes := []trieNode{{fail: 0, term: -1, dict: -1}}
	inside := []bool{false} // per node: the prefix ends inside a character
	var used [256]bool
	for id, t := range terms {
		cur := int32(0)
		for i := 0; i < len(t); i++ {
			b := t[i]
			used[b] = true
			nx := nodes[cur].child(b)
			if nx < 0 {
				nx = int32(len(nodes))
				nodes = append(nodes, trieNode{term: -1, dict: -1, depth: nodes[cur].depth + 1})
				inside = append(inside, i+1 < len(t) && isCont(t[i+1]))
				nodes[cur].next = append(nodes[cur].next, trieEdge{b, nx})
			}
			cur = nx
		}
		nodes[cur].term = int32(id)
		a.maxDepth = max(a.maxDepth, len(t))
	}

	between, within := 1, 1 // the first class of each kind: bytes in no term
	for b := 0; b < 256; b++ {
		switch {
		case !used[b]:
		case isCont(byte(b)):
			a.cls[b] = uint32(within)
			within++
		default:
			a.cls[b] = uint32(between)
			between++
		}
	}
	a.width = uint32(between)
	for b := 0x80; b < 0xc0; b++ {
		a.cls[b] += uint32(between) // after the other classes
	}

	// Breadth-first: fail and dictionary links.
	order := make([]int32, 0, len(nodes))
	order = append(order, 0)
	for qi := 0; qi < len(order); qi++ {
		u := order[qi]
		for _, e := range nodes[u].next {
			v := e.node
			if u == 0 {
				nodes[v].fail = 0
			} else {
				f := nodes[u].fail
				for {
					if w := nodes[f].child(e.b); w >= 0 {
						nodes[v].fail = w
						break
					}
					if f == 0 {
						nodes[v].fail = 0
						break
					}
					f = nodes[f].fail
				}
			}
			f := nodes[v].fail
			if nodes[f].term >= 0 {
				nodes[v].dict = f
			} else {
				nodes[v].dict = nodes[f].dict
			}
			order = append(order, v)
		}
	}

	// Lay out the rows: states without output first, in BFS order (so
	// the root is 0), then those with output, which end a term and so
	// lie between characters. Classes of continuation bytes follow
	// those of the other bytes: the root reads both (after a mismatch
	// inside a character it is reached there), a state between
	// characters the first, a state inside one the second, so its value
	// is the start of its row less a.width.
	start := make([]uint32, len(nodes)) // where each node's row begins
	val := make([]uint32, len(nodes))   // the state each node is
	next := uint32(0)
	var outs []int32 // output states in row order
	for _, out := range []bool{false, true} {
		if out {
			a.outMin = next
		}
		for _, u := range order {
			if (nodes[u].term >= 0 || nodes[u].dict >= 0) != out {
				continue
			}
			start[u], val[u] = next, next
			switch {
			case u == 0:
				next += a.width + uint32(within)
			case inside[u]:
				val[u] = next - a.width
				next += uint32(within)
			default:
				next += a.width
			}
			if !inside[u] {
				a.rows = append(a.rows, val[u])
				a.depth = append(a.depth, nodes[u].depth)
			}
			if out {
				outs = append(outs, u)
			}
		}
	}
	a.trans = make([]uint32, next+uint32(between+within))

	// Rows in BFS order: a state's row is its fail state's row, with its
	// own edges on top. The fail state is shallower, so its row is done;
	// it reads the same kind of byte, or it is the root.
	for _, u := range order {
		if u != 0 {
			first, n := uint32(0), a.width // the columns u reads
			if inside[u] {
				first, n = a.width, uint32(within)
			}
			from := val[nodes[u].fail] + first
			copy(a.trans[start[u]:start[u]+n], a.trans[from:from+n])
		}
		for _, e := range nodes[u].next {
			a.trans[val[u]+uint32(a.cls[e.b])] = val[e.node]
		}
	}

	// Outputs, per output state in row order.
	a.outStart = make([]int32, len(outs)+1)
	for i, u := range outs {
		a.outStart[i] = int32(len(a.outs))
		if nodes[u].term >= 0 {
			a.outs = append(a.outs, nodes[u].term)
		}
		for d := nodes[u].dict; d >= 0; d = nodes[d].dict {
			a.outs = append(a.outs, nodes[d].term)
		}
	}
	a.outStart[len(outs)] = int32(len(a.outs))
	return a
}

// terms returns the ids of the terms that end in output state s.
func (a *automaton) terms(s uint32) []int32 {
	i := (s - a.outMin) / a.width
	return a.outs[a.outStart[i]:a.outStart[i+1]]
}

// stateDepth returns the length of the longest suffix of the text read so
// far that is a prefix of some term.
// s must be read after whole characters, as all of the text so far is;
// for any other state it returns the length of the longest term, which is
// at least as long.
func (a *automaton) stateDepth(s uint32) int {
	i, found := slices.BinarySearch(a.rows, s)
	if !found {
		return a.maxDepth
	}
	return int(a.depth[i])
}

// scan runs the automaton over text from state s and calls hit for every
// output state reached, with the end offset in text. It returns the final
// state.
func (a *automaton) scan(s uint32, text []byte, hit func(end int, s uint32)) uint32 {
	trans, cls, outMin := a.trans, &a.cls, a.outMin
	for i, b := range text {
		s = trans[s+uint32(cls[b])]
		if s >= outMin {
			hit(i+1, s)
		}
	}
	return s
}

// scanAll runs the automaton over all of text from the root and calls hit
// for every output state reached, with the end offset in text, in no
// particular order. It cuts text into eight parts scanned in lockstep, each
// started maxLen bytes early (the state at any offset depends only on the
// last maxLen bytes), so that eight independent chains of table lookups
// overlap in the processor instead of one waiting on the other. It returns
// the final state.
func (a *automaton) scanAll(text []byte, maxLen int, hit func(end int, s uint32)) uint32 {
	const ways = 8
	part := len(text) / ways
	if part < 4*maxLen || part < 256 {
		return a.scan(0, text, hit)
	}
	w := maxLen
	n := part
	var base [ways]int
	var t [ways][]byte
	for k := range ways {
		base[k] = max(0, k*part-w)
		if k == 0 {
			base[k] = 0
		}
		t[k] = text[base[k] : base[k]+n]
	}
	trans, cls, outMin := a.trans, &a.cls, a.outMin
	var s [ways]uint32
	// Each part is n bytes long: said again, so that reading t0[i] and
	// the others needs no bounds check.
	t0, t1, t2, t3, t4, t5, t6, t7 := t[0][:n], t[1][:n], t[2][:n], t[3][:n], t[4][:n], t[5][:n], t[6][:n], t[7][:n]
	s0, s1, s2, s3, s4, s5, s6, s7 := s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
	for i := 0; i < n; i++ {
		s0 = trans[s0+uint32(cls[t0[i]])]
		s1 = trans[s1+uint32(cls[t1[i]])]
		s2 = trans[s2+uint32(cls[t2[i]])]
		s3 = trans[s3+uint32(cls[t3[i]])]
		s4 = trans[s4+uint32(cls[t4[i]])]
		s5 = trans[s5+uint32(cls[t5[i]])]
		s6 = trans[s6+uint32(cls[t6[i]])]
		s7 = trans[s7+uint32(cls[t7[i]])]
		if max(s0, s1, s2, s3, s4, s5, s6, s7) >= outMin {
			st := [ways]uint32{s0, s1, s2, s3, s4, s5, s6, s7}
			for k := range ways {
				if st[k] >= outMin && (k == 0 || i >= w) {
					hit(base[k]+i+1, st[k])
				}
			}
		}
	}
	s = [ways]uint32{s0, s1, s2, s3, s4, s5, s6, s7}
	var last uint32
	for k := range ways {
		end := (k + 1) * part
		if k == ways-1 {
			end = len(text)
		}
		from := base[k] + n
		last = a.scan(s[k], text[from:end], func(e int, st uint32) { hit(from+e, st) })
	}
	return last
}

// size returns the bytes the automaton holds.
func (a *automaton) size() int {
	return len(a.trans)*4 + len(a.rows)*4 + len(a.depth)*4 + len(a.outs)*4 + len(a.outStart)*4
}
