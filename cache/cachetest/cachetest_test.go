package cachetest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/cache/cachetest"
)

func TestMemoryKeepsContract(t *testing.T) {
	m, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cachetest.Store(t, m)
}

// forgetful is a store that loses what it is given: the contract must
// catch it.
type forgetful struct{}

func (forgetful) Get(context.Context, string) (cache.Entry, bool, error) {
	return cache.Entry{}, false, nil
}
func (forgetful) Set(context.Context, string, cache.Entry, time.Duration) error { return nil }
func (forgetful) Delete(context.Context, string) error                          { return nil }

func TestContractCatchesForgetfulStore(t *testing.T) {
	// Run the contract in a subtest whose failure is expected; the outer
	// test fails if it passes.
	inner := &testing.T{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		cachetest.Store(inner, forgetful{})
	}()
	<-done
	if !inner.Failed() {
		t.Fatal("the contract passed a store that keeps nothing")
	}
}

// A tier of your own keeps the contract when its test runs
//
//	func TestMyStore(t *testing.T) { cachetest.Store(t, NewMyStore()) }
//
// Sample gives distinct entries with every field set for tests of your own.
func ExampleSample() {
	e := cachetest.Sample(2)
	fmt.Println(e.Question, "|", e.Model, "|", e.PromptTokens, e.CompletionTokens)
	// Output: question 2 | gpt-4.1-mini | 102 202
}
