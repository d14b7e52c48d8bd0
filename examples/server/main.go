// Command server is a tutoring backend built on Companion: POST /ask
// answers a question as JSON, POST /ask/stream streams it as server-sent
// events, GET /metrics serves Prometheus metrics through the OpenTelemetry
// exporter, and alerts.yml beside this file holds the alerting rules for
// them (p99 time to first token above 2 s, more than 1 % of turns failing,
// less than 40 % of answered turns served from a cache), with their
// promtool tests in testdata/alerts_test.yml.
//
// By default it runs offline against companiontest with the reference
// article's latency profile; with OPENAI_API_KEY set it calls the real API.
//
//	go run ./examples/server -addr 127.0.0.1:8080
//	curl -s localhost:8080/ask -H 'Content-Type: application/json' -d '{"text":"Solve 2x + 3 = 7","subject":"math","grade":8}'
//	curl -sN localhost:8080/ask/stream -H 'Content-Type: application/json' -d '{"text":"牛顿第二定律是什么？"}'
//	curl -s localhost:8080/metrics | grep companion_
//
// A request body must be JSON sent as application/json (charset utf-8 or
// none; otherwise 415), at most 1 MiB (-max-body; otherwise 413), valid
// UTF-8 with no lone surrogate escaped (otherwise 400), and arrive within
// 10 s (otherwise 408); headers within 5 s. Errors are answered as
// {"status": …, "error": …}; see classify for which status means what (a
// prompt over its token budget is 413, an answer moderation withheld 422,
// the upstream's rate limit or absence 503, its other failures 502).
//
// On SIGTERM or SIGINT the server stops accepting connections and waits up
// to 25 s (-drain) for the turns in flight, streams included, to finish;
// then it cancels those left and exits (status 1 if it had to).
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/moderation"
	"github.com/companion-go/companion/prompt"
	"github.com/companion-go/companion/semantic"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func main() {
	lim := defaultLimits()
	var (
		addr    = flag.String("addr", "127.0.0.1:8080", "listen address")
		model   = flag.String("model", "gpt-4.1-mini", "model (overridden by $COMPANION_MODEL)")
		latency = flag.String("latency", "article", "offline upstream latency: article (about 2 s to first token) or none")
	)
	flag.Int64Var(&lim.MaxBody, "max-body", lim.MaxBody, "largest request body in bytes; a larger one is answered 413")
	flag.DurationVar(&lim.Drain, "drain", lim.Drain, "on SIGTERM or SIGINT, how long to wait for turns in flight before cancelling them (0: cancel at once)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if lim.MaxBody <= 0 || lim.Drain < 0 {
		log.Error("setup: -max-body must be positive and -drain not negative", "max-body", lim.MaxBody, "drain", lim.Drain)
		os.Exit(2)
	}
	os.Exit(run(log, *addr, *model, *latency, lim))
}

// run serves until SIGTERM or SIGINT, shuts down gracefully, and returns
// the exit code: 0 after a clean drain, 1 when setup or serving failed or
// turns had to be cancelled.
func run(log *slog.Logger, addr, model, latency string, lim limits) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var opts []companion.Option
	if os.Getenv("OPENAI_API_KEY") == "" && os.Getenv("OPENAI_BASE_URL") == "" {
		l := companiontest.ArticleLatency()
		if latency == "none" {
			l = companiontest.Latency{}
		}
		fake := companiontest.NewServer(companiontest.WithLatency(l))
		defer fake.Close()
		opts = append(opts, companion.WithBaseURL(fake.URL))
		log.Info("offline: upstream is companiontest", "url", fake.URL, "latency", latency)
	}
	app, err := newApp(log, lim, append(opts, companion.WithModel(model), companion.FromEnv())...)
	if err != nil {
		log.Error("setup", "err", err)
		return 1
	}
	defer app.Close()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("listen", "err", err)
		return 1
	}
	log.Info("listening", "addr", ln.Addr().String())
	srv := newServer(app.Handler(), lim)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process at once
		log.Info("shutting down: draining turns in flight", "drain", lim.Drain)
	}()
	if err := srv.serve(ctx, ln); err != nil {
		log.Error("serve", "err", err)
		return 1
	}
	log.Info("shut down")
	return 0
}

// app is the tutoring backend: one Companion with every stage on, and the
// metrics registry it reports to.
type app struct {
	c        *companion.Companion
	mem      *cache.Memory
	registry *prometheus.Registry
	meter    *sdkmetric.MeterProvider
	log      *slog.Logger
	lim      limits
}

// newApp builds the backend: a Companion with opts and every stage on, its
// exact and semantic caches, moderation, and metrics; its handlers apply
// lim's body, read and write limits.
func newApp(log *slog.Logger, lim limits, opts ...companion.Option) (*app, error) {
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	mem, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		return nil, err
	}
	sem, err := semantic.NewSemantic() // the local embedder: no model, no network
	if err != nil {
		return nil, err
	}
	mod, err := newModeration()
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		companion.WithLogger(log),
		companion.WithMeterProvider(meter),
		companion.WithExactCache(mem),
		companion.WithSemanticCache(sem),
		companion.WithPromptBudget(prompt.DefaultBudget, prompt.DefaultReserve),
		companion.WithModeration(mod),
		companion.WithConcurrency(100),
	)
	c, err := companion.New(opts...)
	if err != nil {
		mem.Close()
		return nil, err
	}
	return &app{c: c, mem: mem, registry: registry, meter: meter, log: log, lim: lim}, nil
}

// The word list and allow list of the demo moderation pipeline: the mild
// test material of ../shared/data/moderation (written for this project,
// free to copy). A real deployment loads its own.
var (
	//go:embed words.txt
	wordList string
	//go:embed allow.txt
	allowList string
)

// newModeration builds the post-processing stage: the word lists and the
// Markdown/LaTeX validator, in parallel, checked on the stream.
func newModeration() (*moderation.Pipeline, error) {
	words, err := moderation.ParseWords(strings.NewReader(wordList))
	if err != nil {
		return nil, err
	}
	allow, err := moderation.ParseAllow(strings.NewReader(allowList))
	if err != nil {
		return nil, err
	}
	m, err := moderation.NewMatcher(words, allow)
	if err != nil {
		return nil, err
	}
	return moderation.NewPipeline(moderation.WithMatcher(m), moderation.WithValidator(moderation.MarkdownValidator{}, moderation.Flag))
}

// Close releases the Companion, the cache and the meter provider.
func (a *app) Close() {
	a.c.Close()
	a.mem.Close()
	_ = a.meter.Shutdown(context.Background())
}

// Handler routes the backend's endpoints.
func (a *app) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ask", a.ask)
	mux.HandleFunc("POST /ask/stream", a.askStream)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every request gets a write deadline: the server has no
		// WriteTimeout (it would bound whole streams), and without one
		// a client that does not read would hold /metrics forever. The
		// ask handlers set it again before each write.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(a.lim.WriteTimeout))
		mux.ServeHTTP(w, r)
	})
}
