// Command server is a tutoring backend built on Companion: POST /ask
// answers a question as JSON, POST /ask/stream streams it as server-sent
// events, GET /metrics serves Prometheus metrics through the OpenTelemetry
// exporter, and alerts.yml beside this file holds the alerting rules for
// them (p99 latency above 2 s, error rate above 1 %, cache hit ratio below
// 40 %).
//
// By default it runs offline against companiontest with the reference
// article's latency profile; with OPENAI_API_KEY set it calls the real API.
//
//	go run ./examples/server -addr 127.0.0.1:8080
//	curl -s localhost:8080/ask -d '{"text":"Solve 2x + 3 = 7","subject":"math","grade":8}'
//	curl -sN localhost:8080/ask/stream -d '{"text":"牛顿第二定律是什么？"}'
//	curl -s localhost:8080/metrics | grep companion_
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
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
	var (
		addr    = flag.String("addr", "127.0.0.1:8080", "listen address")
		model   = flag.String("model", "gpt-4.1-mini", "model (overridden by $COMPANION_MODEL)")
		latency = flag.String("latency", "article", "offline upstream latency: article (about 2 s to first token) or none")
	)
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var opts []companion.Option
	if os.Getenv("OPENAI_API_KEY") == "" && os.Getenv("OPENAI_BASE_URL") == "" {
		l := companiontest.ArticleLatency()
		if *latency == "none" {
			l = companiontest.Latency{}
		}
		fake := companiontest.NewServer(companiontest.WithLatency(l))
		defer fake.Close()
		opts = append(opts, companion.WithBaseURL(fake.URL))
		log.Info("offline: upstream is companiontest", "url", fake.URL, "latency", *latency)
	}
	app, err := newApp(log, append(opts, companion.WithModel(*model), companion.FromEnv())...)
	if err != nil {
		log.Error("setup", "err", err)
		os.Exit(1)
	}
	defer app.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "err", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "err", err)
		os.Exit(1)
	}
}

// app is the tutoring backend: one Companion with every stage on, and the
// metrics registry it reports to.
type app struct {
	c        *companion.Companion
	mem      *cache.Memory
	registry *prometheus.Registry
	meter    *sdkmetric.MeterProvider
	log      *slog.Logger
}

func newApp(log *slog.Logger, opts ...companion.Option) (*app, error) {
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
	return &app{c: c, mem: mem, registry: registry, meter: meter, log: log}, nil
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
	return mux
}
