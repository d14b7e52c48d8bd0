package prompt

import (
	"strings"
	"sync"
	"testing"
)

func TestMemo(t *testing.T) {
	c := counter(t, O200kBase)
	m := NewMemo(c, 64)
	if m.Counter() != c {
		t.Error("Counter()")
	}
	texts := datasetCorpus(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, s := range texts {
				if i%4 != g && i%3 != 0 {
					continue
				}
				if got, want := m.Count(s), c.Count(s); got != want {
					t.Errorf("Memo.Count = %d, Count %d", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := m.Len(); n == 0 || n > 64 {
		t.Errorf("memo holds %d counts, bound 64", n)
	}
	parts := []string{"Q: ", "What is a force?", "\nA: ", "A push or a pull.", "\n"}
	if got, want := m.countParts(parts...), c.Count(strings.Join(parts, "")); got != want {
		t.Errorf("countParts = %d, want %d", got, want)
	}
	if keyOfParts(parts...) != keyOf(strings.Join(parts, "")) {
		t.Error("keyOfParts differs from keyOf of the join")
	}
}
