package backoff

import (
	"sync"
	"time"
)

// Budget caps retries at a share of first attempts over a sliding window,
// so that retries cannot multiply the load on an upstream that is failing
// for everyone: a retry may go while the window's retries stay under
// Ratio × its first attempts + Min. The zero value allows Min (0) retries;
// set the fields before use. It is safe for concurrent use.
type Budget struct {
	// Ratio is the share of first attempts that may be retried.
	Ratio float64
	// Min is how many retries each window allows whatever the traffic, so
	// that a quiet service can still retry.
	Min int
	// Window is the length of the sliding window; default 10 s.
	Window time.Duration

	mu      sync.Mutex
	buckets [10]bucket
}

// bucket counts one tenth of the window.
type bucket struct {
	slot            int64 // which tenth of time it counts; stale when old
	firsts, retries int64
}

// Request counts a first attempt at now.
func (b *Budget) Request(now time.Time) {
	b.mu.Lock()
	b.at(now).firsts++
	b.mu.Unlock()
}

// Retry reports whether a retry may go at now and, if so, counts it.
func (b *Budget) Retry(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	var firsts, retries int64
	cur := b.slot(now)
	for i := range b.buckets {
		if bk := &b.buckets[i]; bk.slot > cur-int64(len(b.buckets)) {
			firsts += bk.firsts
			retries += bk.retries
		}
	}
	if float64(retries) >= b.Ratio*float64(firsts)+float64(b.Min) {
		return false
	}
	b.at(now).retries++
	return true
}

// slot returns the tenth of the window that now falls in.
func (b *Budget) slot(now time.Time) int64 {
	w := b.Window
	if w <= 0 {
		w = 10 * time.Second
	}
	return now.UnixNano() / int64(w/time.Duration(len(b.buckets)))
}

// at returns now's bucket, emptied first if it counted an older slot.
func (b *Budget) at(now time.Time) *bucket {
	s := b.slot(now)
	bk := &b.buckets[s%int64(len(b.buckets))]
	if bk.slot != s {
		*bk = bucket{slot: s}
	}
	return bk
}
