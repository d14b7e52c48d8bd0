package index_test

import (
	"fmt"
	"time"

	"github.com/companion-go/companion/semantic/internal/index"
)

func ExampleNewFlatIndex() {
	x, _ := index.NewFlatIndex(2)
	_ = x.Add("east", []float32{1, 0}, time.Time{})
	_ = x.Add("north", []float32{0, 3}, time.Time{}) // scaled to unit length
	for _, m := range x.Search([]float32{1, 0.1}, 2, time.Now()) {
		fmt.Printf("%s %.2f\n", m.ID, m.Similarity)
	}
	// Output:
	// east 1.00
	// north 0.10
}
