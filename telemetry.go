package companion

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/companion-go/companion/semantic"
	"github.com/companion-go/companion/transport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// instrumentation is the name of Companion's tracer and meter.
const instrumentation = "github.com/companion-go/companion"

// WithTracerProvider turns tracing on: a span per turn ("companion.ask")
// with a child per stage ("companion.cache", "companion.prompt",
// "companion.queue", "chat {model}" for the upstream call,
// "companion.post"), carrying the OpenTelemetry GenAI attributes
// (gen_ai.operation.name, gen_ai.request.model, gen_ai.response.model,
// gen_ai.usage.input_tokens, gen_ai.usage.output_tokens,
// gen_ai.response.finish_reasons) and Companion's (companion.source,
// companion.similarity, companion.tokens_saved, companion.cost_usd). With
// the default transport, the upstream span has an "attempt" event per
// attempt (endpoint, retry number, protocol, status), so retries and hedges
// show in place. Default: no tracing, at no cost.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if isNil(tp) {
			c.errs = append(c.errs, &ConfigError{Option: "WithTracerProvider", Reason: "nil provider"})
			return
		}
		c.tracerProvider = tp
	})
}

// WithMeterProvider turns metrics on. The instruments, for alerts and
// dashboards (Prometheus names in brackets, through the OTel exporter):
//
//   - companion.turn.duration, s [companion_turn_duration_seconds]: each
//     turn, by companion.source and error.type ("" when it succeeded).
//   - companion.turn.time_to_first_token, s: to the first answer text.
//   - companion.queue.wait, s: time spent waiting for the limiter.
//   - companion.cache.lookups [companion_cache_lookups_total]: by
//     companion.cache.tier (exact, semantic) and companion.cache.result
//     (hit, miss, error, rejected); the semantic tier's also by
//     companion.cache.reason, the [semantic.Reason] of its decision.
//   - companion.tokens [companion_tokens_total]: by companion.token.type
//     (input, output, saved).
//   - companion.cost, USD [companion_cost_USD_total]: by companion.cost.kind
//     (spent; saved, for what cache hits and prompt compression saved).
//   - companion.upstream.errors: failed upstream calls by error.type.
//   - companion.turn.retries: attempts made again, by error.type and
//     result (retried, refused).
//   - companion.turn.hedges [companion_turn_hedges_total]: upstream calls
//     started while the lookup ran ([WithUpstreamHedge]), by
//     companion.hedge.result (used, abandoned).
//   - companion.turns.inflight: turns in progress.
//   - gen_ai.client.operation.duration, s and gen_ai.client.token.usage:
//     the GenAI semantic conventions' client metrics for upstream calls.
//
// Durations use buckets from 1 ms to 60 s. Default: no metrics, at no cost.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if isNil(mp) {
			c.errs = append(c.errs, &ConfigError{Option: "WithMeterProvider", Reason: "nil provider"})
			return
		}
		c.meterProvider = mp
	})
}

// WithPrices sets the price table used to estimate each turn's cost
// (Answer.Cost, Answer.CostSaved and the companion.cost metric). Default
// [DefaultPrices].
func WithPrices(p Prices) Option {
	return optionFunc(func(c *config) { c.prices = p })
}

// WithLogText lets debug logs of each turn include the student's question.
// Default false: questions and answers are never logged. API keys are never
// logged at all.
func WithLogText(on bool) Option {
	return optionFunc(func(c *config) { c.logText = on })
}

// Price is a model's price in US dollars per million tokens.
type Price struct {
	Input       float64 // prompt tokens
	CachedInput float64 // prompt tokens served from the provider's prompt cache
	Output      float64 // completion tokens
}

// Prices maps model names to prices. A model is priced by the longest key
// that is a prefix of its name ("gpt-4.1-mini-2025-04-14" by
// "gpt-4.1-mini"); a model with no key costs 0.
type Prices map[string]Price

// DefaultPrices returns OpenAI's list prices (standard tier, USD per
// million tokens, as published in 2025) for the models a tutoring backend
// is likely to use. Set your own with [WithPrices] when yours differ.
func DefaultPrices() Prices {
	return Prices{
		"gpt-5":        {Input: 1.25, CachedInput: 0.125, Output: 10},
		"gpt-5-mini":   {Input: 0.25, CachedInput: 0.025, Output: 2},
		"gpt-5-nano":   {Input: 0.05, CachedInput: 0.005, Output: 0.4},
		"gpt-4.1":      {Input: 2, CachedInput: 0.5, Output: 8},
		"gpt-4.1-mini": {Input: 0.4, CachedInput: 0.1, Output: 1.6},
		"gpt-4.1-nano": {Input: 0.1, CachedInput: 0.025, Output: 0.4},
		"gpt-4o":       {Input: 2.5, CachedInput: 1.25, Output: 10},
		"gpt-4o-mini":  {Input: 0.15, CachedInput: 0.075, Output: 0.6},
		"o3":           {Input: 2, CachedInput: 0.5, Output: 8},
		"o4-mini":      {Input: 1.1, CachedInput: 0.275, Output: 4.4},
	}
}

// Lookup returns the price of a model and whether one was found.
func (p Prices) Lookup(model string) (Price, bool) {
	best, found := "", false
	for k := range p {
		if strings.HasPrefix(model, k) && len(k) >= len(best) {
			best, found = k, true
		}
	}
	return p[best], found
}

// Cost returns the price in USD of a call with usage u; batch calls cost
// half, as the Batch API bills them.
func (p Prices) Cost(model string, u Usage, batch bool) float64 {
	pr, ok := p.Lookup(model)
	if !ok {
		return 0
	}
	cached := min(max(u.CachedPromptTokens, 0), u.PromptTokens)
	c := (float64(u.PromptTokens-cached)*pr.Input + float64(cached)*pr.CachedInput + float64(u.CompletionTokens)*pr.Output) / 1e6
	if batch {
		c /= 2
	}
	return c
}

// telemetry holds Companion's instruments; with neither provider set, on
// is false and nothing is recorded.
type telemetry struct {
	tracer     trace.Tracer
	tracing    bool
	metrics    bool
	log        *slog.Logger
	logText    bool
	turnDur    metric.Float64Histogram
	ttft       metric.Float64Histogram
	queue      metric.Float64Histogram
	lookups    metric.Int64Counter
	tokens     metric.Int64Counter
	cost       metric.Float64Counter
	upErrors   metric.Int64Counter
	retries    metric.Int64Counter
	hedges     metric.Int64Counter
	inflight   metric.Int64UpDownCounter
	opDuration metric.Float64Histogram
	tokenUsage metric.Int64Histogram
	attrsMu    sync.RWMutex
	attrs      map[attrKey]metric.MeasurementOption // attribute sets, made once
}

// with returns the measurement option of the attribute pairs k1, v1, k2,
// v2…, made once and reused, so that recording allocates nothing for them.
func (t *telemetry) with(kv ...string) metric.MeasurementOption {
	var key attrKey // at most three pairs; a comparable key needs no allocation
	copy(key[:], kv)
	t.attrsMu.RLock()
	o, ok := t.attrs[key]
	t.attrsMu.RUnlock()
	if ok {
		return o
	}
	attrs := make([]attribute.KeyValue, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		attrs = append(attrs, attribute.String(kv[i], kv[i+1]))
	}
	o = metric.WithAttributeSet(attribute.NewSet(attrs...))
	t.attrsMu.Lock()
	t.attrs[key] = o
	t.attrsMu.Unlock()
	return o
}

// attrKey identifies an attribute set by its key/value strings.
type attrKey [6]string

var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 20, 30, 60}

func newTelemetry(cfg *config, log *slog.Logger, tr *transport.Transport) (*telemetry, error) {
	t := &telemetry{log: log, logText: cfg.logText, attrs: map[attrKey]metric.MeasurementOption{}}
	if cfg.tracerProvider != nil {
		t.tracer = cfg.tracerProvider.Tracer(instrumentation)
		t.tracing = true
	}
	if cfg.meterProvider == nil {
		return t, nil
	}
	m := cfg.meterProvider.Meter(instrumentation)
	t.metrics = true
	var errs []error
	hist := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(durationBuckets...))
		errs = append(errs, err)
		return h
	}
	count := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	t.turnDur = hist("companion.turn.duration", "Duration of a student turn, from Ask to the whole answer.")
	t.ttft = hist("companion.turn.time_to_first_token", "Time from Ask to the first answer text.")
	t.queue = hist("companion.queue.wait", "Time a turn waited for the limiter.")
	t.opDuration = hist("gen_ai.client.operation.duration", "GenAI operation duration (upstream calls).")
	t.lookups = count("companion.cache.lookups", "{lookup}", "Cache lookups by tier and result, and the semantic tier's by the reason of its decision.")
	t.tokens = count("companion.tokens", "{token}", "Tokens by type: input, output, and saved by compression.")
	t.upErrors = count("companion.upstream.errors", "{error}", "Failed upstream calls by error type.")
	t.hedges = count("companion.turn.hedges", "{call}", "Upstream calls started while the cache lookup still ran (WithUpstreamHedge), by result: used for a miss, or abandoned for a hit.")
	t.retries = count("companion.turn.retries", "{retry}", "Upstream attempts a turn made again after a retryable failure, by error type of the failure; result refused when the retry budget or the deadline said no.")
	var err error
	t.cost, err = m.Float64Counter("companion.cost", metric.WithUnit("USD"), metric.WithDescription("Estimated cost: spent, and saved by caches and compression."))
	errs = append(errs, err)
	t.inflight, err = m.Int64UpDownCounter("companion.turns.inflight", metric.WithUnit("{turn}"), metric.WithDescription("Turns in progress."))
	errs = append(errs, err)
	t.tokenUsage, err = m.Int64Histogram("gen_ai.client.token.usage", metric.WithUnit("{token}"), metric.WithDescription("GenAI tokens per upstream call."),
		metric.WithExplicitBucketBoundaries(1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144))
	errs = append(errs, err)
	if tr != nil {
		errs = append(errs, observeTransport(m, tr))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, &ConfigError{Option: "WithMeterProvider", Reason: err.Error()}
	}
	return t, nil
}

// observeTransport exports the default transport's counters:
// companion.transport.requests (by protocol), .retries, .hedges,
// .connections, .tls.resumptions, and .breaker.open (endpoints whose
// breaker is open now).
func observeTransport(m metric.Meter, tr *transport.Transport) error {
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	requests := counter("companion.transport.responses", "{response}", "Responses by protocol.")
	retries := counter("companion.transport.retries", "{retry}", "Retries sent.")
	hedges := counter("companion.transport.hedges", "{hedge}", "Hedged attempts sent.")
	conns := counter("companion.transport.connections", "{connection}", "Connections opened.")
	resumed := counter("companion.transport.tls.resumptions", "{handshake}", "TLS handshakes resumed from a session ticket.")
	open, err := m.Int64ObservableGauge("companion.transport.breaker.open", metric.WithUnit("{endpoint}"), metric.WithDescription("Endpoints whose circuit breaker is open."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := tr.Stats()
		for proto, n := range map[string]int64{"http/1.1": st.HTTP1, "h2": st.HTTP2, "h3": st.HTTP3} {
			o.ObserveInt64(requests, n, metric.WithAttributes(attribute.String("network.protocol.name", proto)))
		}
		o.ObserveInt64(retries, st.Retries)
		o.ObserveInt64(hedges, st.Hedges)
		o.ObserveInt64(conns, st.NewConns)
		o.ObserveInt64(resumed, st.TLSResumed)
		var n int64
		for _, ep := range st.Endpoints {
			if ep.Breaker == transport.BreakerOpen {
				n++
			}
		}
		o.ObserveInt64(open, n)
		return nil
	}, requests, retries, hedges, conns, resumed, open)
	return err
}

// span starts a child span when tracing is on; end is never nil.
func (t *telemetry) span(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if !t.tracing {
		return ctx, nil
	}
	return t.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// end ends a span (nil when tracing is off), recording err.
func end(s trace.Span, err error) {
	if s == nil {
		return
	}
	if err != nil {
		s.RecordError(err)
		s.SetStatus(codes.Error, errorType(err))
	}
	s.End()
}

// hedge records an upstream call started while the lookup ran, used or
// abandoned.
func (t *telemetry) hedge(ctx context.Context, abandoned bool) {
	if !t.metrics {
		return
	}
	result := "used"
	if abandoned {
		result = "abandoned"
	}
	t.hedges.Add(ctx, 1, t.with("companion.hedge.result", result))
}

// lookup records a cache lookup, with the semantic tier's reason for its
// decision when it gave one.
func (t *telemetry) lookup(ctx context.Context, tier, result string, reason semantic.Reason) {
	if !t.metrics {
		return
	}
	if reason == "" {
		t.lookups.Add(ctx, 1, t.with("companion.cache.tier", tier, "companion.cache.result", result))
		return
	}
	t.lookups.Add(ctx, 1, t.with("companion.cache.tier", tier, "companion.cache.result", result, "companion.cache.reason", string(reason)))
}

// begin marks a turn in progress.
func (t *telemetry) begin(ctx context.Context) {
	if t.metrics {
		t.inflight.Add(ctx, 1)
	}
}

// upstream records one upstream call.
func (t *telemetry) upstream(ctx context.Context, model string, d time.Duration, u Usage, err error) {
	if !t.metrics {
		return
	}
	if err != nil {
		et := errorType(err)
		t.upErrors.Add(ctx, 1, t.with("error.type", et))
		t.opDuration.Record(ctx, d.Seconds(), t.with("gen_ai.operation.name", "chat", "gen_ai.request.model", model, "error.type", et))
		return
	}
	t.opDuration.Record(ctx, d.Seconds(), t.with("gen_ai.operation.name", "chat", "gen_ai.request.model", model))
	t.tokenUsage.Record(ctx, int64(u.PromptTokens), t.with("gen_ai.operation.name", "chat", "gen_ai.request.model", model, "gen_ai.token.type", "input"))
	t.tokenUsage.Record(ctx, int64(u.CompletionTokens), t.with("gen_ai.operation.name", "chat", "gen_ai.request.model", model, "gen_ai.token.type", "output"))
}

// retry records a retry of a turn's upstream call after err, or one that
// the policy refused.
func (t *telemetry) retry(ctx context.Context, err error, refused bool) {
	if !t.metrics {
		return
	}
	result := "retried"
	if refused {
		result = "refused"
	}
	t.retries.Add(ctx, 1, t.with("error.type", errorType(err), "result", result))
}

// finish records a finished turn: a or err.
func (t *telemetry) finish(ctx context.Context, span trace.Span, tn *turn, a *Answer, err error) {
	if t.metrics {
		t.inflight.Add(ctx, -1)
		src, et := "none", ""
		if a != nil {
			src = a.Source.String()
		}
		if err != nil {
			et = errorType(err)
		}
		attrs := t.with("companion.source", src, "error.type", et)
		total := time.Since(tn.start)
		if a != nil {
			total = a.Timings.Total
		}
		t.turnDur.Record(ctx, total.Seconds(), attrs)
		if a != nil {
			t.ttft.Record(ctx, a.Timings.FirstToken.Seconds(), attrs)
			if tn.t.Queue > 0 {
				t.queue.Record(ctx, tn.t.Queue.Seconds())
			}
			t.tokens.Add(ctx, int64(a.Usage.PromptTokens), t.with("companion.token.type", "input"))
			t.tokens.Add(ctx, int64(a.Usage.CompletionTokens), t.with("companion.token.type", "output"))
			t.tokens.Add(ctx, int64(a.TokensSaved), t.with("companion.token.type", "saved"))
			t.cost.Add(ctx, a.Cost, t.with("companion.cost.kind", "spent"))
			t.cost.Add(ctx, a.CostSaved, t.with("companion.cost.kind", "saved"))
		}
	}
	if span != nil {
		if a != nil {
			span.SetAttributes(
				attribute.String("gen_ai.response.model", a.Model),
				attribute.Int("gen_ai.usage.input_tokens", a.Usage.PromptTokens),
				attribute.Int("gen_ai.usage.output_tokens", a.Usage.CompletionTokens),
				attribute.StringSlice("gen_ai.response.finish_reasons", []string{a.FinishReason}),
				attribute.String("companion.source", a.Source.String()),
				attribute.Float64("companion.similarity", a.Similarity),
				attribute.Int("companion.tokens_saved", a.TokensSaved),
				attribute.Float64("companion.cost_usd", a.Cost),
				attribute.Bool("companion.coalesced", a.Coalesced),
			)
		}
		end(span, err)
	}
	if t.log.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{slog.Duration("total", time.Since(tn.start))}
		if a != nil {
			attrs = append(attrs, slog.String("source", a.Source.String()), slog.Duration("first_token", a.Timings.FirstToken),
				slog.Int("input_tokens", a.Usage.PromptTokens), slog.Int("output_tokens", a.Usage.CompletionTokens))
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", errorType(err)))
		}
		if t.logText {
			attrs = append(attrs, slog.String("question", tn.q.Text))
		}
		t.log.LogAttrs(ctx, slog.LevelDebug, "companion: turn", attrs...)
	}
}

// errorType classifies an error for the error.type attribute.
func errorType(err error) string {
	var ue *UpstreamError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	case errors.Is(err, ErrBlocked):
		return "blocked"
	case errors.Is(err, ErrStreamClosed):
		return "closed"
	case errors.As(err, &ue):
		switch {
		case errors.Is(ue.Kind, ErrCircuitOpen):
			return "circuit_open"
		case ue.StatusCode != 0:
			return strconv.Itoa(ue.StatusCode)
		case errors.Is(err, ErrUnreachable):
			return "unreachable"
		case errors.Is(err, ErrStreamInterrupted):
			return "interrupted"
		}
		return "malformed_response"
	}
	var ie *InputError
	if errors.As(err, &ie) {
		return "invalid_input"
	}
	return "_OTHER"
}
