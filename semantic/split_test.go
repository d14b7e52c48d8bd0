package semantic

// The data are split before tuning, and the split is fixed here: the rules
// were tuned on one part and are reported on both, the other part never
// read while tuning.
//
//   - pairs.jsonl: by topic. Topics are the paraphrase groups (joined by
//     union-find), numbered in the order their first question appears in
//     the file; even topics are the tuning part, odd ones held out.
//   - PAWS-X and LCQMC: by data row (header excluded, counted from 0):
//     even rows tuning, odd rows held out.

// splitPairs returns the tuning and held-out parts of pairs.jsonl.
func splitPairs(pairs []labelledPair) (tune, held []labelledPair) {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		p, ok := parent[x]
		if !ok {
			parent[x] = x
			return x
		}
		if p == x {
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	for _, p := range pairs {
		a, b := find(p.A), find(p.B)
		if p.Same && a != b {
			parent[a] = b
		}
	}
	order := map[string]int{}
	for _, p := range pairs {
		for _, q := range []string{p.A, p.B} {
			if r := find(q); true {
				if _, ok := order[r]; !ok {
					order[r] = len(order)
				}
			}
		}
	}
	for _, p := range pairs {
		if order[find(p.A)]%2 == 0 {
			tune = append(tune, p)
		} else {
			held = append(held, p)
		}
	}
	return tune, held
}

// splitRows returns the even and odd rows.
func splitRows(pairs []labelledPair) (tune, held []labelledPair) {
	for i, p := range pairs {
		if i%2 == 0 {
			tune = append(tune, p)
		} else {
			held = append(held, p)
		}
	}
	return tune, held
}
