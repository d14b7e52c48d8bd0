package cache

import (
	"context"
	"errors"
	"time"
)

// Tiered puts a fast tier (usually [Memory]) in front of a shared one
// (usually package rediscache's Store). Get asks the front first; a back
// hit is copied to the front for the rest of its life (at most FrontTTL).
// Set and Delete go to both. An error of one tier does not hide the
// other's answer.
type Tiered struct {
	Front, Back Store // Front is asked first (usually [Memory]); Back is shared (usually a rediscache.Store); neither may be nil
	// FrontTTL bounds how long a back hit lives in the front, so that a
	// Delete on another replica reaches this one in time. Default 0: the
	// entry's remaining life in the back.
	FrontTTL time.Duration
}

// NewTiered returns front in front of back.
func NewTiered(front, back Store) *Tiered { return &Tiered{Front: front, Back: back} }

// Get returns the entry from the front, else from the back.
func (t *Tiered) Get(ctx context.Context, key string) (Entry, bool, error) {
	e, ok, ferr := t.Front.Get(ctx, key)
	if ok {
		return e, true, nil
	}
	e, ok, berr := t.Back.Get(ctx, key)
	if !ok {
		return Entry{}, false, errors.Join(ferr, berr)
	}
	ttl := time.Duration(0)
	if !e.Expires.IsZero() {
		ttl = time.Until(e.Expires)
		if ttl <= 0 {
			return Entry{}, false, nil
		}
	}
	if t.FrontTTL > 0 && (ttl == 0 || ttl > t.FrontTTL) {
		ttl = t.FrontTTL
	}
	_ = t.Front.Set(ctx, key, e, ttl)
	return e, true, nil
}

// Set stores e in both tiers.
func (t *Tiered) Set(ctx context.Context, key string, e Entry, ttl time.Duration) error {
	return errors.Join(t.Front.Set(ctx, key, e, ttl), t.Back.Set(ctx, key, e, ttl))
}

// Delete removes key from both tiers.
func (t *Tiered) Delete(ctx context.Context, key string) error {
	return errors.Join(t.Front.Delete(ctx, key), t.Back.Delete(ctx, key))
}

var _ Store = (*Tiered)(nil)
