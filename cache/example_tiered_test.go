package cache_test

import (
	"context"
	"fmt"

	"github.com/companion-go/companion/cache"
)

// Two replicas, each with its own memory tier in front of a shared one
// (a second Memory stands in for Redis here). An answer one replica
// stores is found by the other in the shared tier and copied to its
// front, which answers from then on.
func ExampleNewTiered() {
	ctx := context.Background()
	newMemory := func() *cache.Memory {
		m, err := cache.NewMemory(cache.MemoryConfig{MaxBytes: 1 << 20})
		if err != nil {
			panic(err) // only for a negative config field
		}
		return m
	}
	shared := newMemory() // in production: rediscache.New
	defer shared.Close()
	frontA, frontB := newMemory(), newMemory()
	defer frontA.Close()
	defer frontB.Close()
	replicaA := cache.NewTiered(frontA, shared)
	replicaB := cache.NewTiered(frontB, shared)

	ns := cache.Namespace{Model: "gpt-4.1-mini", Subject: "math", Grade: 8}
	key := cache.Key(ns, "Solve 2x + 3 = 7")
	if err := replicaA.Set(ctx, key, cache.Entry{Answer: "x = 2", Model: ns.Model}, 0); err != nil {
		fmt.Println("set:", err)
		return
	}

	_, inFront, _ := frontB.Get(ctx, key)
	fmt.Println("in B's front before:", inFront)
	e, ok, err := replicaB.Get(ctx, key)
	fmt.Println("B gets:", e.Answer, ok, err)
	_, inFront, _ = frontB.Get(ctx, key)
	fmt.Println("in B's front after:", inFront)
	// Output:
	// in B's front before: false
	// B gets: x = 2 true <nil>
	// in B's front after: true
}
