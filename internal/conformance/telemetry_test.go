package conformance

// OpenTelemetry: the spans and metrics of a turn, read through the SDK's
// in-memory recorder and reader, against the GenAI semantic conventions;
// here, so that the library's go.mod does not list the SDK.

import (
	"context"
	"errors"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/semantic"
	"github.com/companion-go/companion/transport"
	"go.opentelemetry.io/otel/attribute"
)

func TestTelemetry(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	c, _ := newTest(t, []companiontest.Option{companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultServerError, Count: 1})},
		companion.WithTracerProvider(tp), companion.WithMeterProvider(mp), companion.WithExactCache(newMemory(t)), companion.WithHTTPClient(&http.Client{}), companion.WithRetry(companion.RetryPolicy{MaxAttempts: 1}))
	ctx := context.Background()
	q := companion.Question{Text: "What is Ohm's law?"}
	if _, err := c.Ask(ctx, q); !errors.Is(err, companion.ErrStatus) { // the injected 500
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
	if err := drain(c.AskStream(ctx, companion.Question{Text: "What is density?"})); err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, s := range spans.Ended() {
		names = append(names, s.Name())
	}
	for _, want := range []string{"companion.ask", "companion.cache", "companion.prompt", "companion.queue", "chat " + "gpt-4.1-mini"} {
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
			if in, _ := attrs.Value("gen_ai.request.model"); in.AsString() != "gpt-4.1-mini" {
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
		companion.WithTracerProvider(tp), companion.WithTransportOptions(transport.WithBackoffRange(time.Millisecond, 2*time.Millisecond)))
	if _, err := c.Ask(context.Background(), companion.Question{Text: "What is density?"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range spans.Ended() {
		if s.Name() != "chat "+"gpt-4.1-mini" {
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

// BenchmarkTelemetry measures what telemetry costs per turn, on a turn that
// does little else (an exact cache hit): off (the default), metrics on, and
// metrics and tracing on (SDK providers, spans recorded in memory).
//
//	go test -run '^$' -bench Telemetry ./internal/conformance/
func BenchmarkTelemetry(b *testing.B) {
	srv := companiontest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	q := companion.Question{Text: "What is Newton's second law?", Subject: "physics"}
	for _, mode := range []string{"off", "metrics", "metrics+tracing"} {
		b.Run("telemetry="+mode, func(b *testing.B) {
			opts := []companion.Option{companion.WithBaseURL(srv.URL), companion.WithModel("gpt-4.1-mini"), companion.WithExactCache(newMemory(b))}
			if mode != "off" {
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				defer mp.Shutdown(ctx)
				opts = append(opts, companion.WithMeterProvider(mp))
			}
			if mode == "metrics+tracing" {
				tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()), sdktrace.WithSampler(sdktrace.AlwaysSample()))
				defer tp.Shutdown(ctx)
				opts = append(opts, companion.WithTracerProvider(tp))
			}
			c, err := companion.New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Ask(ctx, q); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Ask(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTelemetryTurnRetries: a turn-level retry is counted under the error
// type of the attempt that failed.
func TestTelemetryTurnRetries(t *testing.T) {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	c, _ := newTest(t, []companiontest.Option{companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultMalformedJSON, Count: 1, Path: "/v1/chat/completions"})},
		companion.WithMeterProvider(mp), companion.WithRetry(companion.RetryPolicy{MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	if _, err := c.Ask(ctx, companion.Question{Text: "What is density?"}); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "companion.turn.retries" {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || len(sum.DataPoints) != 1 {
				t.Fatalf("retries %+v, want one series", m.Data)
			}
			dp := sum.DataPoints[0]
			et, _ := dp.Attributes.Value("error.type")
			res, _ := dp.Attributes.Value("result")
			if dp.Value != 1 || et.AsString() != "malformed_response" || res.AsString() != "retried" {
				t.Errorf("retries = %d {error.type=%q result=%q}, want 1 {malformed_response retried}", dp.Value, et.AsString(), res.AsString())
			}
			return
		}
	}
	t.Fatal("no companion.turn.retries metric")
}

// The semantic tier's lookups are counted by the reason of its decision,
// so that a host can alert on, say, a verifier that keeps failing.
func TestTelemetrySemanticReasons(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	sem, err := semantic.NewSemantic()
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newTest(t, nil, companion.WithMeterProvider(mp), companion.WithSemanticCache(sem))
	ctx := context.Background()
	first, second := "What is Ohm's law?", "Can you explain Ohm's law?"
	for _, q := range []string{first, second} {
		if _, err := c.Ask(ctx, companion.Question{Text: q}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := sem.Match(ctx, first, second)
	if err != nil {
		t.Fatal(err)
	}
	result := "miss"
	if d.Serve {
		result = "hit"
	}
	got := counts(t, reader, "companion.cache.lookups", "companion.cache.reason", "companion.cache.result")
	want := map[string]int64{"no-candidate/miss": 1, string(d.Reason) + "/" + result: 1}
	if !maps.Equal(got, want) {
		t.Errorf("semantic lookups by reason/result = %v, want %v", got, want)
	}
}

// A turn whose lookup waits on the verifier has its upstream call started
// beside it (WithUpstreamHedge), counted by what became of the call.
func TestTelemetryHedges(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	judge := companiontest.NewJudge(func(a, b string) bool { return true }, 0, 1)
	judge.SetDelay(200 * time.Millisecond)
	sem, err := semantic.NewSemantic(semantic.WithVerifier(judge))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newTest(t, nil, companion.WithMeterProvider(mp), companion.WithSemanticCache(sem), companion.WithUpstreamHedge(10*time.Millisecond))
	ctx := context.Background()
	var last *companion.Answer
	for _, q := range []string{"What is the capital of France?", "Which city is the capital of France?"} {
		if last, err = c.Ask(ctx, companion.Question{Text: q}); err != nil {
			t.Fatal(err)
		}
	}
	want := "used"
	if last.Source == companion.SourceSemantic {
		want = "abandoned"
	}
	got := counts(t, reader, "companion.turn.hedges", "companion.hedge.result")
	if !maps.Equal(got, map[string]int64{want: 1}) || judge.Calls() != 1 {
		t.Errorf("hedges = %v, want {%s: 1}; judge calls %d", got, want, judge.Calls())
	}
	if st := c.CacheStats(); st.Hedged != 1 {
		t.Errorf("CacheStats.Hedged = %d", st.Hedged)
	}
}

// counts collects reader's int64 counter name, summed by the values of
// keys joined with "/" ("no-candidate/miss").
func counts(t *testing.T, reader *sdkmetric.ManualReader, name string, keys ...attribute.Key) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || m.Name != name {
				continue
			}
			for _, p := range sum.DataPoints {
				vals := make([]string, len(keys))
				for i, k := range keys {
					v, _ := p.Attributes.Value(k)
					vals[i] = v.AsString()
				}
				got[strings.Join(vals, "/")] += p.Value
			}
		}
	}
	return got
}
