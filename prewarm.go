package companion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/companion-go/companion/batch"
	"github.com/companion-go/companion/cache"
	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/sync/errgroup"
)

// Errors of [Companion.Prewarm].
var (
	// ErrNoExactCache: Prewarm needs an exact cache ([WithExactCache]) to
	// store its answers in.
	ErrNoExactCache = errors.New("companion: prewarm needs an exact cache")
	// ErrPersonal: a personal question's answer depends on the student,
	// so it is not prewarmed.
	ErrPersonal = errors.New("companion: personal question")
	// ErrNotCacheable: the answer was not complete (finish reason other
	// than "stop") or not clean (post-processing rewrote or flagged it),
	// so it was not stored.
	ErrNotCacheable = errors.New("companion: answer not cacheable")
)

// PrewarmMode is how [Companion.Prewarm] computes its answers.
type PrewarmMode int

// The modes of [Companion.Prewarm].
const (
	// PrewarmAuto uses the Batch API, unless a [PrewarmDeadline] shorter
	// than the expected batch time ([PrewarmBatchTime]) asks for online
	// calls.
	PrewarmAuto PrewarmMode = iota
	// PrewarmBatch uses the Batch API, at half price.
	PrewarmBatch
	// PrewarmOnline calls the chat API directly, through the Companion's
	// limiter, [PrewarmConcurrency] at a time.
	PrewarmOnline
)

// String returns "auto", "batch" or "online".
func (m PrewarmMode) String() string {
	switch m {
	case PrewarmAuto:
		return "auto"
	case PrewarmBatch:
		return "batch"
	case PrewarmOnline:
		return "online"
	}
	return fmt.Sprintf("PrewarmMode(%d)", int(m))
}

// PrewarmOption configures one call of [Companion.Prewarm]. Options are
// made by the Prewarm… functions.
type PrewarmOption interface{ applyPrewarm(*prewarmConfig) }

type prewarmOptionFunc func(*prewarmConfig)

func (f prewarmOptionFunc) applyPrewarm(c *prewarmConfig) { f(c) }

type prewarmConfig struct {
	ttl         time.Duration
	deadline    time.Duration
	batchTime   time.Duration
	mode        PrewarmMode
	concurrency int
	progress    func(done, failed, total int)
	batchOpts   []batch.Option
	resume      []string
	refresh     bool
	errs        []error
}

// Defaults of [Companion.Prewarm].
const (
	// DefaultPrewarmConcurrency is how many online calls Prewarm makes at
	// once ([PrewarmConcurrency]).
	DefaultPrewarmConcurrency = 8
	// DefaultPrewarmBatchTime is how long Prewarm expects a batch to take
	// ([PrewarmBatchTime]): the API's completion window.
	DefaultPrewarmBatchTime = 24 * time.Hour
)

func defaultPrewarmConfig() prewarmConfig {
	return prewarmConfig{ttl: cache.DefaultTTL, batchTime: DefaultPrewarmBatchTime, concurrency: DefaultPrewarmConcurrency}
}

func (c *prewarmConfig) invalid(option, reason string) {
	c.errs = append(c.errs, &ConfigError{Option: option, Reason: reason})
}

// PrewarmTTL sets how long prewarmed answers live in the cache. Default
// [cache.DefaultTTL] (24 h).
func PrewarmTTL(d time.Duration) PrewarmOption {
	return prewarmOptionFunc(func(c *prewarmConfig) {
		if d <= 0 {
			c.invalid("PrewarmTTL", "must be positive")
			return
		}
		c.ttl = d
	})
}

// PrewarmDeadline bounds the whole call; with [PrewarmAuto], a deadline
// shorter than the expected batch time ([PrewarmBatchTime]) makes Prewarm
// call the chat API online instead of through a batch. Default 0: no
// deadline but ctx's.
func PrewarmDeadline(d time.Duration) PrewarmOption {
	return prewarmOptionFunc(func(c *prewarmConfig) {
		if d < 0 {
			c.invalid("PrewarmDeadline", "must not be negative")
			return
		}
		c.deadline = d
	})
}

// PrewarmBatchTime sets how long a batch is expected to take, which
// [PrewarmAuto] compares with the [PrewarmDeadline]. Default
// [DefaultPrewarmBatchTime] (24 h, the completion window; batches often
// finish sooner).
func PrewarmBatchTime(d time.Duration) PrewarmOption {
	return prewarmOptionFunc(func(c *prewarmConfig) {
		if d <= 0 {
			c.invalid("PrewarmBatchTime", "must be positive")
			return
		}
		c.batchTime = d
	})
}

// PrewarmVia forces a mode. Default [PrewarmAuto].
func PrewarmVia(m PrewarmMode) PrewarmOption {
	return prewarmOptionFunc(func(c *prewarmConfig) {
		if m < PrewarmAuto || m > PrewarmOnline {
			c.invalid("PrewarmVia", "unknown mode")
			return
		}
		c.mode = m
	})
}

// PrewarmConcurrency sets how many online calls, and post-processing
// checks, run at once. The Companion's limiter applies as well. Default
// [DefaultPrewarmConcurrency] (8).
func PrewarmConcurrency(n int) PrewarmOption {
	return prewarmOptionFunc(func(c *prewarmConfig) {
		if n <= 0 {
			c.invalid("PrewarmConcurrency", "must be positive")
			return
		}
		c.concurrency = n
	})
}

// PrewarmProgress sets a callback that receives how many questions are
// done (answered or failed), how many of those failed, and the total to
// compute. While a batch runs, it follows the batch's request counts; the
// last call, after post-processing, gives the outcome (an answer that
// post-processing refuses moves from done to failed). Calls come from one
// goroutine at a time. Default: none.
func PrewarmProgress(f func(done, failed, total int)) PrewarmOption {
	return prewarmOptionFunc(func(c *prewarmConfig) { c.progress = f })
}

// PrewarmBatchOptions passes options to the batch client: poll interval,
// limits, and the [batch.WithOnCreated] hook that persists batch ids so
// that a restarted process can [PrewarmResume]. Default: none (the batch
// package's defaults).
func PrewarmBatchOptions(opts ...batch.Option) PrewarmOption {
	return prewarmOptionFunc(func(c *prewarmConfig) { c.batchOpts = append(c.batchOpts, opts...) })
}

// PrewarmResume collects the batches of an earlier Prewarm of the same
// questions (their ids, from the [batch.WithOnCreated] hook) instead of
// creating new ones. The questions must be the same (custom_ids are
// derived from their cache keys); one that has no result in the batches
// fails with [batch.ErrNoResult]. Default: none.
func PrewarmResume(batchIDs ...string) PrewarmOption {
	return prewarmOptionFunc(func(c *prewarmConfig) {
		if len(batchIDs) == 0 {
			c.invalid("PrewarmResume", "no batch ids")
			return
		}
		c.resume = append(c.resume, batchIDs...)
	})
}

// PrewarmRefresh recomputes answers that are already in the exact cache.
// Default false: such questions are skipped (PrewarmItem.Cached).
func PrewarmRefresh(on bool) PrewarmOption {
	return prewarmOptionFunc(func(c *prewarmConfig) { c.refresh = on })
}

// PrewarmReport is what [Companion.Prewarm] did.
type PrewarmReport struct {
	// Mode is how the answers were computed: PrewarmBatch or PrewarmOnline.
	Mode PrewarmMode
	// Items has one entry per question given, in order.
	Items []PrewarmItem
	// Total is the number of distinct questions to compute: the questions
	// given, less duplicates (same cache key) and those already cached.
	Total int
	// Stored counts the answers stored in the cache; Failed the questions
	// that got none (refused, upstream error, not cacheable); Cached the
	// questions skipped because the cache held them already.
	Stored, Failed, Cached int
	// BatchIDs are the batches used.
	BatchIDs []string
	// Usage sums the tokens billed for the answers, stored or not.
	Usage Usage
	// CostBatch and CostOnline are the estimated price of Usage in USD at
	// batch price (half) and at the online price (see [WithPrices]); Cost
	// is the one of Mode.
	Cost, CostBatch, CostOnline float64
	// Duration is how long Prewarm took.
	Duration time.Duration
}

// PrewarmItem is the outcome of one question.
type PrewarmItem struct {
	// Key is the question's exact cache key; "" for an invalid question.
	Key string
	// Stored reports that an answer was stored under Key.
	Stored bool
	// Cached reports that the cache held an answer already, so none was
	// computed.
	Cached bool
	// Duplicate reports a question with the same key as an earlier one;
	// it shares that one's outcome.
	Duplicate bool
	// Err says why no answer was stored: an [*InputError] (also for a
	// personal question, matching [ErrPersonal]), an [*UpstreamError] or
	// a batch error ([*batch.ItemError], [*batch.BatchError], …), a
	// [*BlockedError], or [ErrNotCacheable].
	Err error
}

// prewarmJob is one distinct question to compute.
type prewarmJob struct {
	t     *turn
	key   string
	items []int // indexes in the report's Items
	resp  *openai.ChatCompletionResponse
	err   error
}

// Prewarm precomputes the answers to qs and stores them in the exact
// cache, so that the first student who asks gets a cached answer (Source
// [SourcePrewarmed]). Each question goes through the Companion's own
// prompt stage, so its request and cache key are exactly those of [Ask];
// the answers go through post-processing, and only clean, complete ones
// are stored, with the TTL of [PrewarmTTL] (24 h by default).
//
// By default the answers are computed through the Batch API (package
// batch) at half price; with a [PrewarmDeadline] shorter than the expected
// batch time, or [PrewarmVia](PrewarmOnline), through the chat API with a
// concurrency limit. Personal questions are refused.
//
// Prewarm returns [ErrNoExactCache] when the Companion has no exact cache,
// a [*ConfigError] for an invalid option, ctx's error when ctx is done, a
// batch error ([*batch.BatchError] for a batch that failed, expired or was
// cancelled) or an API error when the batch could not be run. The report
// is returned with every error but the first two; per-question failures
// are in its Items.
func (c *Companion) Prewarm(ctx context.Context, qs []Question, opts ...PrewarmOption) (*PrewarmReport, error) {
	start := time.Now()
	ac, ok := c.cache.(*answerCache)
	if !ok || ac.exact == nil {
		return nil, ErrNoExactCache
	}
	cfg := defaultPrewarmConfig()
	for _, o := range opts {
		o.applyPrewarm(&cfg)
	}
	if len(cfg.errs) > 0 {
		return nil, cfg.errs[0]
	}
	if cfg.deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.deadline)
		defer cancel()
	}
	rep := &PrewarmReport{Mode: cfg.mode, Items: make([]PrewarmItem, len(qs))}
	if rep.Mode == PrewarmAuto {
		rep.Mode = PrewarmBatch
		if cfg.deadline > 0 && cfg.deadline < cfg.batchTime && len(cfg.resume) == 0 {
			rep.Mode = PrewarmOnline
		}
	}
	defer func() { rep.Duration = time.Since(start) }()

	jobs, err := c.prewarmJobs(ctx, ac, qs, &cfg, rep)
	if err != nil {
		return rep, err
	}
	var pmu sync.Mutex
	progress := func(done, failed int) {
		if cfg.progress != nil {
			pmu.Lock()
			cfg.progress(done, failed, rep.Total)
			pmu.Unlock()
		}
	}
	refused := 0
	for _, it := range rep.Items {
		if it.Err != nil && !it.Duplicate {
			refused++
		}
	}
	progress(refused, refused)

	var runErr error
	if rep.Mode == PrewarmBatch {
		runErr = c.prewarmBatch(ctx, jobs, &cfg, rep, func(done, failed int) { progress(refused+done, refused+failed) })
	} else {
		runErr = c.prewarmOnline(ctx, jobs, &cfg, func(done, failed int) { progress(refused+done, refused+failed) })
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}

	// Post-processing and cache fill, concurrently.
	var g errgroup.Group
	g.SetLimit(cfg.concurrency)
	var mu sync.Mutex
	batchPrice := rep.Mode == PrewarmBatch
	for _, j := range jobs {
		if j.resp != nil {
			u := usageOf(j.resp.Usage)
			model := j.resp.Model
			if model == "" {
				model = j.t.req.Model
			}
			rep.Usage.PromptTokens += u.PromptTokens
			rep.Usage.CompletionTokens += u.CompletionTokens
			rep.Usage.TotalTokens += u.TotalTokens
			rep.Usage.CachedPromptTokens += u.CachedPromptTokens
			rep.CostBatch += c.prices.Cost(model, u, true)
			rep.CostOnline += c.prices.Cost(model, u, false)
		}
		g.Go(func() error {
			if j.err == nil {
				j.err = c.prewarmStore(ctx, ac, j, cfg.ttl)
			}
			mu.Lock()
			for _, i := range j.items {
				rep.Items[i].Err = j.err
				rep.Items[i].Stored = j.err == nil
			}
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	rep.Cost = rep.CostOnline
	if batchPrice {
		rep.Cost = rep.CostBatch
	}
	for _, j := range jobs {
		if j.err == nil {
			rep.Stored++
		}
	}
	rep.Failed = rep.Total - rep.Stored
	progress(rep.Total, rep.Failed)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, runErr
}

// prewarmJobs validates the questions, builds the prompts of the distinct
// ones that are not cached, and fills the report's Items and Total.
func (c *Companion) prewarmJobs(ctx context.Context, ac *answerCache, qs []Question, cfg *prewarmConfig, rep *PrewarmReport) ([]*prewarmJob, error) {
	var jobs []*prewarmJob
	byKey := make(map[string]int) // key → index of its first item
	jobOf := make(map[string]*prewarmJob)
	for i, q := range qs {
		it := &rep.Items[i]
		t, err := c.newTurn(q)
		if err != nil {
			it.Err = err
			rep.Total++
			continue
		}
		it.Key = questionKey(&t.q)
		if q.Personal {
			it.Err = &InputError{Field: "Personal", Err: ErrPersonal}
			rep.Total++
			continue
		}
		if first, dup := byKey[it.Key]; dup {
			it.Duplicate, it.Cached = true, rep.Items[first].Cached
			if j := jobOf[it.Key]; j != nil {
				j.items = append(j.items, i)
			} else {
				it.Err = rep.Items[first].Err
			}
			continue
		}
		byKey[it.Key] = i
		if !cfg.refresh {
			if _, ok, err := ac.exact.Get(ctx, it.Key); err == nil && ok {
				it.Cached = true
				rep.Cached++
				continue
			}
		}
		rep.Total++
		if err := c.build(ctx, t); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			it.Err = err
			continue
		}
		j := &prewarmJob{t: t, key: it.Key, items: []int{i}}
		jobs = append(jobs, j)
		jobOf[it.Key] = j
	}
	return jobs, nil
}

// customID is the batch custom_id of a prewarmed question: a digest of its
// cache key, the same after a restart.
func customID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "pw-" + hex.EncodeToString(sum[:16])
}

// prewarmBatch computes the jobs' answers through the Batch API.
func (c *Companion) prewarmBatch(ctx context.Context, jobs []*prewarmJob, cfg *prewarmConfig, rep *PrewarmReport, progress func(done, failed int)) error {
	opts := append([]batch.Option{batch.WithProgress(func(p batch.Progress) {
		progress(p.Completed+p.Failed, p.Failed)
	})}, cfg.batchOpts...)
	bc, err := batch.New(c.client, opts...)
	if err != nil {
		return err
	}
	byID := make(map[string]*prewarmJob, len(jobs))
	reqs := make([]batch.Request, 0, len(jobs))
	for _, j := range jobs {
		id := customID(j.key)
		byID[id] = j
		reqs = append(reqs, batch.Request{CustomID: id, Body: j.t.req})
	}
	var brep *batch.Report
	switch {
	case len(cfg.resume) > 0:
		brep, err = bc.Resume(ctx, cfg.resume...)
	case len(reqs) == 0:
		return nil
	default:
		brep, err = bc.Run(ctx, batch.Job{Requests: reqs})
	}
	if brep != nil {
		for _, b := range brep.Batches {
			rep.BatchIDs = append(rep.BatchIDs, b.ID)
		}
		for _, r := range brep.Results {
			j := byID[r.CustomID]
			if j == nil {
				continue
			}
			j.resp, j.err = r.Response, r.Err
		}
	}
	for _, j := range jobs {
		if j.resp == nil && j.err == nil {
			j.err = err
			if j.err == nil {
				j.err = fmt.Errorf("%w: question %q", batch.ErrNoResult, j.t.q.Text)
			}
		}
	}
	return err
}

// prewarmOnline computes the jobs' answers through the chat API.
func (c *Companion) prewarmOnline(ctx context.Context, jobs []*prewarmJob, cfg *prewarmConfig, progress func(done, failed int)) error {
	var (
		g            errgroup.Group
		mu           sync.Mutex
		done, failed int
	)
	g.SetLimit(cfg.concurrency)
	for _, j := range jobs {
		g.Go(func() error {
			j.resp, j.err = c.prewarmCall(ctx, j.t)
			mu.Lock()
			done++
			if j.err != nil {
				failed++
			}
			d, f := done, failed
			mu.Unlock()
			progress(d, f)
			return nil
		})
	}
	return g.Wait()
}

// prewarmCall is the upstream call of [Companion.miss], for one question.
func (c *Companion) prewarmCall(ctx context.Context, t *turn) (*openai.ChatCompletionResponse, error) {
	resp, err := c.complete(ctx, t)
	if err != nil {
		return nil, err
	}
	return &resp, nil
}

// prewarmStore post-processes an answer and stores it if it is clean and
// complete.
func (c *Companion) prewarmStore(ctx context.Context, ac *answerCache, j *prewarmJob, ttl time.Duration) error {
	if len(j.resp.Choices) == 0 {
		return &UpstreamError{Kind: ErrMalformedResponse, Err: errNoChoices}
	}
	choice := j.resp.Choices[0]
	if choice.FinishReason != openai.FinishReasonStop {
		return fmt.Errorf("%w: finish reason %q", ErrNotCacheable, choice.FinishReason)
	}
	v, err := c.check(ctx, j.t, choice.Message.Content)
	if err != nil {
		return err
	}
	if !v.clean() {
		return fmt.Errorf("%w: post-processing said %s %v", ErrNotCacheable, v.Action, v.Reasons)
	}
	model := j.resp.Model
	if model == "" {
		model = j.t.req.Model
	}
	e := cache.Entry{
		Answer: choice.Message.Content, Question: j.t.q.Text, Model: model, Prewarmed: true,
		PromptTokens: j.resp.Usage.PromptTokens, CompletionTokens: j.resp.Usage.CompletionTokens, Created: time.Now(),
	}
	if err := ac.exact.Set(ctx, j.key, e, ttl); err != nil {
		return err
	}
	if ac.semantic != nil && len(j.t.q.History) == 0 {
		// A paraphrase may hit it too; a failure here only costs that.
		_ = ac.semantic.Add(ctx, namespace(&j.t.q), e, ttl)
	}
	return nil
}
