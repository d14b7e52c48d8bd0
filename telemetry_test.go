package companion

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/transport"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
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

func TestTelemetry(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	c, _ := newTest(t, []companiontest.Option{companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultServerError, Count: 1})},
		WithTracerProvider(tp), WithMeterProvider(mp), WithExactCache(newMemory(t)), WithHTTPClient(&http.Client{}), WithRetry(RetryPolicy{MaxAttempts: 1}))
	ctx := context.Background()
	q := Question{Text: "What is Ohm's law?"}
	if _, err := c.Ask(ctx, q); !errors.Is(err, ErrStatus) { // the injected 500
		t.Fatalf("first Ask = %v, want the injected 500", err)
	}
	miss, err := c.Ask(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	hit, err := c.Ask(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if miss.Cost <= 0 || hit.Cost != 0 || math.Abs(hit.CostSaved-miss.Cost) > 1e-12 {
		t.Errorf("miss cost %v, hit cost %v saved %v", miss.Cost, hit.Cost, hit.CostSaved)
	}
	if err := drain(c.AskStream(ctx, Question{Text: "What is density?"})); err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, s := range spans.Ended() {
		names = append(names, s.Name())
	}
	for _, want := range []string{"companion.ask", "companion.cache", "companion.prompt", "companion.queue", "chat " + testModel} {
		if !slices.Contains(names, want) {
			t.Errorf("no %q span among %v", want, names)
		}
	}
	for _, s := range spans.Ended() {
		if s.Name() != "companion.ask" {
			continue
		}
		attrs := attribute.NewSet(s.Attributes()...)
		if v, ok := attrs.Value("companion.source"); ok && v.AsString() == "exact" {
			if in, _ := attrs.Value("gen_ai.request.model"); in.AsString() != testModel {
				t.Errorf("turn span lacks gen_ai.request.model: %v", s.Attributes())
			}
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					key := m.Name
					if v, ok := p.Attributes.Value("error.type"); ok && v.AsString() != "" {
						key += "{error=" + v.AsString() + "}"
					}
					got[key] += float64(p.Count)
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					key := m.Name
					for _, kv := range p.Attributes.ToSlice() {
						key += "," + string(kv.Key) + "=" + kv.Value.Emit()
					}
					got[key] += float64(p.Value)
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					key := m.Name
					for _, kv := range p.Attributes.ToSlice() {
						key += "," + string(kv.Key) + "=" + kv.Value.Emit()
					}
					got[key] += p.Value
				}
			}
		}
	}
	for key, want := range map[string]float64{
		"companion.turn.duration":            3, // two answers, one stream
		"companion.turn.duration{error=500}": 1,
		"companion.cache.lookups,companion.cache.result=hit,companion.cache.tier=exact":  1,
		"companion.cache.lookups,companion.cache.result=miss,companion.cache.tier=exact": 3,
		"companion.upstream.errors,error.type=500":                                       1,
		"companion.turns.inflight":                                                       0,
		"gen_ai.client.operation.duration":                                               2,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	if got["companion.cost,companion.cost.kind=spent"] <= 0 || got["companion.cost,companion.cost.kind=saved"] <= 0 {
		t.Errorf("cost metrics: %v", got)
	}
	if t.Failed() {
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.Logf("metrics: %s", strings.Join(keys, "\n"))
	}
}

// The default transport adds an event per attempt to the upstream span, so
// a retried call shows its retries.
func TestTelemetryAttempts(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	c, _ := newTest(t, []companiontest.Option{companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultUnavailable, Count: 1})},
		WithTracerProvider(tp), WithTransportOptions(transport.WithBackoffRange(time.Millisecond, 2*time.Millisecond)))
	if _, err := c.Ask(context.Background(), Question{Text: "What is density?"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range spans.Ended() {
		if s.Name() != "chat "+testModel {
			continue
		}
		var statuses []int64
		for _, e := range s.Events() {
			if e.Name != "attempt" {
				continue
			}
			for _, kv := range e.Attributes {
				if kv.Key == "http.response.status_code" {
					statuses = append(statuses, kv.Value.AsInt64())
				}
			}
		}
		if !slices.Equal(statuses, []int64{503, 200}) {
			t.Errorf("attempt statuses %v, want [503 200]", statuses)
		}
		return
	}
	t.Fatal("no upstream span")
}
