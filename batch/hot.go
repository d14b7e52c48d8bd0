package batch

import (
	"bufio"
	"io"
	"slices"
	"strings"

	"github.com/companion-go/companion/cache"
)

// HotQuestion is a question that comes back often in a log of past
// questions.
type HotQuestion struct {
	// Text is the question as it was most often written (the first such
	// spelling on a tie).
	Text string
	// Normalized is the text the cache keys by ([cache.Normalize]).
	Normalized string
	// Count is how many times the question was asked, in any spelling.
	Count int
}

// HotQuestions returns the n most frequent questions of log, counting
// spellings that [cache.Normalize] folds together as one question; n <= 0
// returns them all. Questions are ordered by count, most frequent first,
// then by first appearance. Blank entries are skipped.
func HotQuestions(log []string, n int) []HotQuestion {
	var h hotCounter
	for _, q := range log {
		h.add(q)
	}
	return h.top(n)
}

// ReadHotQuestions is [HotQuestions] over a log with one question per line
// (a line may be up to 1 MiB long). It returns the reader's error, if any.
func ReadHotQuestions(r io.Reader, n int) ([]HotQuestion, error) {
	var h hotCounter
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		h.add(sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return h.top(n), nil
}

type hotGroup struct {
	norm      string
	count     int
	first     int            // order of first appearance
	spellings map[string]int // original (trimmed) text → count
	order     []string       // spellings in order of first appearance
}

type hotCounter struct {
	groups map[string]*hotGroup
	list   []*hotGroup
}

func (h *hotCounter) add(q string) {
	q = strings.TrimSpace(q)
	if q == "" {
		return
	}
	norm := cache.Normalize(q)
	if norm == "" {
		return
	}
	if h.groups == nil {
		h.groups = make(map[string]*hotGroup)
	}
	g, ok := h.groups[norm]
	if !ok {
		g = &hotGroup{norm: norm, first: len(h.list), spellings: make(map[string]int)}
		h.groups[norm] = g
		h.list = append(h.list, g)
	}
	g.count++
	if g.spellings[q] == 0 {
		g.order = append(g.order, q)
	}
	g.spellings[q]++
}

func (h *hotCounter) top(n int) []HotQuestion {
	list := slices.Clone(h.list)
	slices.SortStableFunc(list, func(a, b *hotGroup) int { return b.count - a.count })
	if n > 0 && len(list) > n {
		list = list[:n]
	}
	out := make([]HotQuestion, len(list))
	for i, g := range list {
		best := g.order[0]
		for _, s := range g.order[1:] {
			if g.spellings[s] > g.spellings[best] {
				best = s
			}
		}
		out[i] = HotQuestion{Text: best, Normalized: g.norm, Count: g.count}
	}
	return out
}
