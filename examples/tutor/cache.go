package main

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/companion-go/companion"
)

// exactCache is the smallest useful answer cache: an unbounded map keyed by
// the namespace and the question folded to lower case with white space
// and trailing punctuation dropped. It shows the cache stage's wiring; the
// cache package provides the real tiers (bounded memory, Redis, semantic).
type exactCache struct {
	mu sync.Mutex
	m  map[string]string
}

func newExactCache() *exactCache { return &exactCache{m: map[string]string{}} }

func key(q *companion.Question) string {
	text := strings.Join(strings.Fields(strings.ToLower(q.Text)), " ")
	text = strings.TrimRightFunc(text, unicode.IsPunct)
	return strings.Join([]string{q.Model, q.SystemPrompt, q.Subject, strconv.Itoa(q.Grade), q.Tenant, q.Locale, text}, "\x00")
}

func (c *exactCache) Lookup(_ context.Context, q *companion.Question) (companion.CacheHit, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	text, ok := c.m[key(q)]
	if !ok {
		return companion.CacheHit{}, false, nil
	}
	return companion.CacheHit{Text: text, Source: companion.SourceExact, Similarity: 1}, true, nil
}

func (c *exactCache) Store(_ context.Context, q *companion.Question, a *companion.Answer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key(q)] = a.Text
	return nil
}
