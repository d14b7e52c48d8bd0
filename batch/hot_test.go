package batch

import (
	"fmt"
	"strings"
	"testing"
)

func TestHotQuestions(t *testing.T) {
	log := []string{
		"What is Newton's second law?",
		"what is newtons second law",
		"牛顿第二定律是什么？",
		"  ",
		"What is Newton’s second law?",
		"what is newtons second law",
		"牛顿第二定律是什么?",
		"Solve 2x + 3 = 7",
		"Solve 2x+3=7",
		"What is 3.5 + 1?",
		"What is 35 + 1?",
	}
	got := HotQuestions(log, 3)
	want := "[{what is newtons second law 4} {牛顿第二定律是什么？ 2} {Solve 2x + 3 = 7 2}]"
	var b strings.Builder
	for _, h := range got {
		fmt.Fprintf(&b, "{%s %d} ", h.Text, h.Count)
	}
	if s := "[" + strings.TrimSuffix(b.String(), " ") + "]"; s != want {
		t.Errorf("HotQuestions = %s\nwant %s", s, want)
	}
	if all := HotQuestions(log, 0); len(all) != 5 {
		t.Errorf("all: %d questions, want 5 (3.5 and 35 differ)", len(all))
	}
	r, err := ReadHotQuestions(strings.NewReader(strings.Join(log, "\n")), 1)
	if err != nil || len(r) != 1 || r[0].Count != 4 || r[0].Normalized != "what is newtons second law" {
		t.Errorf("ReadHotQuestions = %+v, %v", r, err)
	}
}
