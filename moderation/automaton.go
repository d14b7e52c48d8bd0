package moderation

// automaton is an Aho-Corasick automaton over the bytes of normalized
// text, compiled to a dense DFA: one table lookup per byte, whatever the
// number of terms. Bytes that occur in no term share one class, so a row
// has as many entries as the terms have distinct bytes (plus one).
//
// State ids are premultiplied by the row width, and the states that end
// at least one term are numbered last, so the scan loop is
//
//	s = trans[s+cls[b]]
//	if s >= outMin { report }
type automaton struct {
	cls    [256]uint8
	stride uint32
	trans  []uint32
	outMin uint32
	// outStart[i]..outStart[i+1] index the terms ending in output state
	// outMin/stride + i, longest first.
	outStart []int32
	outs     []int32
	depth    []int32 // per state (id/stride): length of the prefix it stands for
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

// buildAutomaton compiles the terms (non-empty, distinct).
func buildAutomaton(terms []string) *automaton {
	nodes := []trieNode{{fail: 0, term: -1, dict: -1}}
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
				nodes[cur].next = append(nodes[cur].next, trieEdge{b, nx})
			}
			cur = nx
		}
		nodes[cur].term = int32(id)
	}

	a := &automaton{}
	nc := 1
	for b := 0; b < 256; b++ {
		if used[b] {
			a.cls[b] = uint8(nc)
			nc++
		}
	}
	a.stride = uint32(nc)

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

	// Number the states: those without output first, in BFS order (so
	// the root is 0), then those with output.
	id := make([]uint32, len(nodes))
	hasOut := func(u int32) bool { return nodes[u].term >= 0 || nodes[u].dict >= 0 }
	next := uint32(0)
	for _, u := range order {
		if !hasOut(u) {
			id[u] = next
			next++
		}
	}
	outFirst := next
	for _, u := range order {
		if hasOut(u) {
			id[u] = next
			next++
		}
	}
	a.outMin = outFirst * a.stride
	a.trans = make([]uint32, uint32(len(nodes))*a.stride)
	a.depth = make([]int32, len(nodes))
	a.outStart = make([]int32, int(next-outFirst)+1)

	// Rows in BFS order: a state's row is its fail state's row, with its
	// own edges on top. The fail state is shallower, so its row is done.
	for _, u := range order {
		row := a.trans[id[u]*a.stride : (id[u]+1)*a.stride]
		if u != 0 {
			f := nodes[u].fail
			copy(row, a.trans[id[f]*a.stride:(id[f]+1)*a.stride])
		}
		for _, e := range nodes[u].next {
			row[a.cls[e.b]] = id[e.node] * a.stride
		}
		a.depth[id[u]] = nodes[u].depth
	}

	// Outputs, per output state in id order.
	byID := make([]int32, len(nodes))
	for u := range nodes {
		byID[id[u]] = int32(u)
	}
	for s := outFirst; s < next; s++ {
		u := byID[s]
		a.outStart[s-outFirst] = int32(len(a.outs))
		if nodes[u].term >= 0 {
			a.outs = append(a.outs, nodes[u].term)
		}
		for d := nodes[u].dict; d >= 0; d = nodes[d].dict {
			a.outs = append(a.outs, nodes[d].term)
		}
	}
	a.outStart[next-outFirst] = int32(len(a.outs))
	return a
}

// terms returns the ids of the terms that end in output state s.
func (a *automaton) terms(s uint32) []int32 {
	i := (s - a.outMin) / a.stride
	return a.outs[a.outStart[i]:a.outStart[i+1]]
}

// stateDepth returns the length of the longest suffix of the text read so
// far that is a prefix of some term.
func (a *automaton) stateDepth(s uint32) int { return int(a.depth[s/a.stride]) }

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
// particular order. It cuts text into four parts scanned in lockstep, each
// started maxLen bytes early (the state at any offset depends only on the
// last maxLen bytes), so that four independent chains of table lookups
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
	t0, t1, t2, t3, t4, t5, t6, t7 := t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
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
	return len(a.trans)*4 + len(a.depth)*4 + len(a.outs)*4 + len(a.outStart)*4
}
