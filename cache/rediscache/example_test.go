package rediscache_test

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/cache/rediscache"
)

// A memory tier in front of Redis: each replica answers its own repeats
// from memory and the others' from Redis.
func ExampleNew() {
	// A server that is down: port 1 of loopback refuses every connection.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, PoolSize: 1})
	defer client.Close()
	shared, err := rediscache.New(client, rediscache.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	front, _ := cache.NewMemory(cache.MemoryConfig{})
	defer front.Close()
	tier := cache.NewTiered(front, shared)

	// With Redis unreachable the tier still stores in memory; the Redis
	// error is reported and then skipped while the store pauses.
	ctx := context.Background()
	_ = tier.Set(ctx, "k", cache.Entry{Question: "What is 2 + 2?", Answer: "4"}, 0)
	_, ok, _ := front.Get(ctx, "k")
	fmt.Println("stored:", ok)
	// Output: stored: true
}
