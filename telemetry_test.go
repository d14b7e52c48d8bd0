package companion

import (
	"math"
	"testing"
)

func TestPrices(t *testing.T) {
	p := DefaultPrices()
	if pr, ok := p.Lookup("gpt-4.1-mini-2025-04-14"); !ok || pr != p["gpt-4.1-mini"] {
		t.Errorf("Lookup by longest prefix = %+v, %v", pr, ok)
	}
	if _, ok := p.Lookup("llama-3"); ok {
		t.Error("unknown model has a price")
	}
	u := Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000}
	if got := p.Cost("gpt-4.1-mini", u, false); math.Abs(got-2.0) > 1e-9 {
		t.Errorf("cost = %v, want 2.0", got)
	}
	if got := p.Cost("gpt-4.1-mini", u, true); math.Abs(got-1.0) > 1e-9 {
		t.Errorf("batch cost = %v, want half", got)
	}
	u.CachedPromptTokens = 500_000
	if got := p.Cost("gpt-4.1-mini", u, false); math.Abs(got-(0.2+0.05+1.6)) > 1e-9 {
		t.Errorf("cost with cached prompt tokens = %v", got)
	}
}
