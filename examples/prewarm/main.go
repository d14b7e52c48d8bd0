// Command prewarm precomputes the answers to a tutoring backend's hottest
// questions through the Batch API, at half the online price, and stores
// them in the answer cache for 24 hours, so that the first student who
// asks already gets a cached answer.
//
//	go run ./examples/prewarm [-questions FILE] [-top N] [-online]
//
// It reads a log of past questions (one per line; by default a small
// English and Chinese sample, with repeats), picks the N most frequent
// with batch.HotQuestions, prewarms them with Companion.Prewarm while a
// progress bar follows the batch, prints a summary with the cost at batch
// and at online price, and then asks the hottest question to show that it
// is a prewarmed cache hit.
//
// By default it runs offline against companiontest, whose batches go
// through their whole lifecycle (validating, in progress, finalizing) in
// a few seconds (-phase). With -base-url and OPENAI_API_KEY it uses a real
// API instead, where a batch may take up to 24 hours.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/batch"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
)

//go:embed questions.txt
var sampleQuestions string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "prewarm:", err)
		os.Exit(1)
	}
}

// run is the command: args are its flags, the summary goes to stdout and
// the progress bar to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("prewarm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		questions = fs.String("questions", "", "file of past questions, one per line (default: the built-in sample)")
		top       = fs.Int("top", 6, "how many of the most frequent questions to prewarm")
		model     = fs.String("model", "gpt-4.1-mini", "model")
		subject   = fs.String("subject", "science", "subject of the questions (part of the cache namespace)")
		grade     = fs.Int("grade", 9, "grade of the students (part of the cache namespace)")
		online    = fs.Bool("online", false, "call the chat API online instead of the Batch API")
		baseURL   = fs.String("base-url", "", "API base URL, with OPENAI_API_KEY (default: an offline companiontest server)")
		phase     = fs.Duration("phase", time.Second, "offline: how long each phase of a batch lasts on companiontest")
		poll      = fs.Duration("poll", 200*time.Millisecond, "first wait between two polls of a batch")
		noBar     = fs.Bool("no-bar", false, "no progress bar")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *top <= 0 || *poll <= 0 || *phase < 0 {
		return errors.New("-top and -poll must be positive, -phase not negative")
	}

	log := sampleQuestions
	if *questions != "" {
		b, err := os.ReadFile(*questions)
		if err != nil {
			return err
		}
		log = string(b)
	}
	hot, err := batch.ReadHotQuestions(strings.NewReader(log), *top)
	if err != nil {
		return err
	}
	if len(hot) == 0 {
		return errors.New("no questions")
	}
	lines := strings.Count(strings.TrimSpace(log), "\n") + 1

	url, key := *baseURL, os.Getenv("OPENAI_API_KEY")
	if url == "" {
		srv := companiontest.NewServer(companiontest.WithBatchTiming(companiontest.BatchTiming{
			Validating: *phase, InProgress: *phase, Finalizing: *phase,
		}))
		defer srv.Close()
		url, key = srv.URL, "offline"
	}
	mem, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		return err
	}
	defer mem.Close()
	c, err := companion.New(companion.WithBaseURL(url), companion.WithAPIKey(key),
		companion.WithModel(*model), companion.WithExactCache(mem))
	if err != nil {
		return err
	}
	defer c.Close()

	const system = "You are a patient tutor for middle-school students. Answer briefly, with one worked example."
	qs := make([]companion.Question, len(hot))
	fmt.Fprintf(stdout, "%d hot questions out of %d asked:\n", len(hot), lines)
	for i, h := range hot {
		qs[i] = companion.Question{Text: h.Text, Subject: *subject, Grade: *grade, SystemPrompt: system}
		fmt.Fprintf(stdout, "  %2d× %s\n", h.Count, h.Text)
	}

	barOut := stderr
	if *noBar {
		barOut = io.Discard
	}
	bar := progressbar.NewOptions(len(qs),
		progressbar.OptionSetWriter(barOut),
		progressbar.OptionSetDescription("prewarming"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(50*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(barOut) }),
	)
	opts := []companion.PrewarmOption{
		companion.PrewarmBatchOptions(batch.WithPollInterval(*poll, max(*poll, 2*time.Second))),
		companion.PrewarmProgress(func(done, failed, total int) {
			bar.ChangeMax(total)
			_ = bar.Set(done)
		}),
	}
	if *online {
		opts = append(opts, companion.PrewarmVia(companion.PrewarmOnline))
	}
	rep, err := c.Prewarm(ctx, qs, opts...)
	_ = bar.Finish()
	if rep == nil {
		return err
	}
	fmt.Fprintf(stdout, "prewarmed via %s in %v: %d stored, %d failed, %d already cached\n",
		rep.Mode, rep.Duration.Round(time.Millisecond), rep.Stored, rep.Failed, rep.Cached)
	for i, it := range rep.Items {
		if it.Err != nil {
			fmt.Fprintf(stdout, "  failed: %s: %v\n", qs[i].Text, it.Err)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tokens: %d prompt + %d completion\n", rep.Usage.PromptTokens, rep.Usage.CompletionTokens)
	saved := rep.CostOnline - rep.CostBatch
	fmt.Fprintf(stdout, "cost (%s): batch $%.6f, online $%.6f, batch saves $%.6f (%.0f%%)\n",
		*model, rep.CostBatch, rep.CostOnline, saved, 100*saved/max(rep.CostOnline, 1e-12))

	a, err := c.Ask(ctx, qs[0])
	if err != nil {
		return err
	}
	first, _, _ := strings.Cut(a.Text, "\n")
	fmt.Fprintf(stdout, "ask %q: source %s, %v, saved $%.6f\n  %s\n", qs[0].Text, a.Source, a.Timings.Total.Round(time.Microsecond), a.CostSaved, first)
	if a.Source != companion.SourcePrewarmed {
		return fmt.Errorf("asking a prewarmed question was a %s answer, not a prewarmed hit", a.Source)
	}
	return nil
}
