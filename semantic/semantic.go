package semantic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/semantic/internal/index"
)

// DefaultThreshold is the cosine similarity at or above which the
// semantic tier considers a cached question for a new one when the
// embedder states no calibrated threshold of its own ([Calibrated]): 0.92,
// the reference article's figure for neural embeddings. The local
// embedder calibrates its own, [LocalThreshold].
const DefaultThreshold = 0.92

// Semantic defaults.
const (
	// DefaultSemanticMaxEntries bounds the entries of a [Semantic] tier,
	// all namespaces together.
	DefaultSemanticMaxEntries = 100_000
	// DefaultHNSWAbove is the size of a namespace's index at which the
	// [IndexAuto] kind moves it from a [FlatIndex] to an [HNSW].
	DefaultHNSWAbove = 4096
	// DefaultCandidates is how many nearest cached questions a lookup
	// offers to the rules, most similar first.
	DefaultCandidates = 4
	// purgeEvery is how often an Add purges the expired entries.
	purgeEvery = time.Minute
)

// ErrEmptyQuestion: a question is empty or only white space.
var ErrEmptyQuestion = errors.New("semantic: empty question")

// IndexKind chooses the vector index of each namespace.
type IndexKind int

// The index kinds.
const (
	// IndexAuto: a [FlatIndex] that becomes an [HNSW] when it grows
	// beyond [WithHNSWAbove] entries. The default.
	IndexAuto IndexKind = iota
	// IndexFlat: always exact search.
	IndexFlat
	// IndexHNSW: always approximate search.
	IndexHNSW
)

// Semantic is the semantic tier: it finds a cached answer to a question
// that says the same thing in other words. A lookup embeds the question,
// finds the most similar cached questions of the same namespace (up to
// [WithCandidates]) at or above the threshold, and serves the first whose
// every difference from the asked question the rules explain ([Explain]);
// anything else is a miss with a [Reason]. With a [Verifier]
// ([WithVerifier]) the candidates the rules leave open ([Unsure]), from a
// lower similarity on ([WithVerifyThreshold]), go to the verifier, and
// lower still ([WithVerifyFloor]) where its yes has been common enough to
// pay ([WithVerifyYield]); an error bound ([WithMaxError]) decides what
// may be served without asking.
// Each [cache.Namespace.ID] has its own index, so tenants, models, system
// prompts, subjects, grades and conversations never meet.
//
// # Embedder and threshold
//
// The threshold is a property of the embedder ([Calibrated],
// [CalibratedThreshold]): the local embedder's [LocalThreshold], 0.65;
// OpenAI's [DefaultThreshold], 0.92. The local embedder embeds the
// question as the rules read it, so two questions whose differences the
// rules explain have the same vector. The rules run whatever the
// embedder. Measured quality (tuning and held-out parts of the tutoring
// pairs, PAWS-X zh and LCQMC) is in the README's "Semantic tier" section.
//
// A Semantic is safe for concurrent use. It starts no goroutines of its
// own (a verifier call shared by concurrent lookups runs to the
// verifier's own timeout); expired entries are never served and are
// purged by Add about once a minute, or by [Semantic.Purge]. Create one
// with [NewSemantic].
type Semantic struct {
	emb        Embedder
	threshold  float64
	rules      bool // false: the threshold alone decides (measurements only)
	verifier   *verdicts
	verErr     float64 // the verifier's error rate (ErrorRater), 0 if unknown
	maxError   float64
	verifyAt   float64 // lowest similarity always sent to the verifier
	verifyLow  float64 // lowest similarity ever sent to the verifier
	yield      float64 // least share of yes worth asking for below verifyAt
	bounds     bounds
	ttl        time.Duration
	maxEntries int
	kind       IndexKind
	hnswAbove  int
	hnswCfg    HNSWConfig
	candidates int
	now        func() time.Time

	mu        sync.RWMutex
	parts     map[string]*partition
	fifo      []fifoItem // insertion order, for eviction; stale items skipped
	fifoHead  int
	seq       uint64
	lastPurge time.Time
	count     atomic.Int64

	st semStats
}

// partition is the index and entries of one namespace.
type partition struct {
	nsID    string
	pending atomic.Int32 // Puts between finding the partition and adding to it
	mu      sync.RWMutex
	index   index.VectorIndex
	entries map[string]*record
	// shadow is the HNSW an IndexAuto namespace is moving to, built a
	// few entries per Put from backlog so that no Put pauses for long;
	// it replaces index when complete and the namespace is big enough.
	shadow    *index.HNSW
	shadowSeq uint64   // records added after this seq went to shadow directly
	backlog   []string // ids still to copy to shadow
}

// remove deletes an entry; the caller holds p.mu.
func (p *partition) remove(id string) {
	delete(p.entries, id)
	p.index.Delete(id)
	if p.shadow != nil {
		p.shadow.Delete(id)
	}
}

type record struct {
	entry   cache.Entry
	expires time.Time // zero for never
	seq     uint64
	// an is the question as the matcher reads it, when already known
	// (Match); a lookup reads its few candidates again rather than keep
	// the reading of every entry, which would leave the collector 100 000
	// small slices to scan and the lookup's tail waiting on it.
	an analysis
}

type fifoItem struct {
	p   *partition
	id  string
	seq uint64
}

// Record is one semantic entry as stored: its id in the namespace's index,
// its question's vector, the entry and its expiry (zero for never).
// [Semantic.Put] adds a Record made elsewhere, for example by another
// replica; [Semantic.Range] lists them.
type Record struct {
	ID      string      // the id in the namespace's index; Add uses [cache.KeyIn]
	Vector  []float32   // the question's embedding
	Entry   cache.Entry // the cached answer and its question
	Expires time.Time   // zero for never
}

// Hit is a semantic cache hit.
type Hit struct {
	// Entry is the cached entry; Entry.Question is the question it
	// answered.
	Entry cache.Entry
	// Similarity is the cosine similarity of the two questions' vectors.
	Similarity float64
	// ID is the entry's id in its namespace.
	ID string
}

// SemanticOption configures [NewSemantic].
type SemanticOption interface{ applySemantic(*Semantic) error }

type semanticOptionFunc func(*Semantic) error

func (f semanticOptionFunc) applySemantic(s *Semantic) error { return f(s) }

// WithEmbedder sets the embedder. Default: [NewLocalEmbedder] with its
// defaults.
func WithEmbedder(e Embedder) SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		if e == nil {
			return configErrorf("nil embedder")
		}
		s.emb = e
		return nil
	})
}

// WithThreshold sets the cosine similarity a cached question must reach,
// in (0, 1]. Default: the embedder's own ([Calibrated]), else
// [DefaultThreshold].
func WithThreshold(t float64) SemanticOption {
	return similarityOption("threshold", t, func(s *Semantic) { s.threshold = t })
}

// similarityOption is an option that sets a similarity, which must be
// in (0, 1].
func similarityOption(name string, t float64, set func(*Semantic)) SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		if !(t > 0 && t <= 1) {
			return configErrorf("%s %v not in (0, 1]", name, t)
		}
		set(s)
		return nil
	})
}

// WithThresholdOnly turns the rules off, so that the similarity
// threshold alone decides: for measurements only, never in production.
func WithThresholdOnly() SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		s.rules = false
		return nil
	})
}

// WithVerifier sets the [Verifier] asked about the candidates the rules
// cannot explain ([Unsure]) and, until the error bound lets the tier serve
// them without asking, about those they explain. Its decisions are cached
// per pair ([DefaultVerifyCache] pairs) and concurrent questions about
// one pair share one call. Default: none; an unexplained candidate is a
// miss.
func WithVerifier(v Verifier) SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		if v == nil {
			return configErrorf("nil verifier")
		}
		s.verifier = newVerdicts(v, DefaultVerifyCache)
		if er, ok := v.(ErrorRater); ok {
			e := er.ErrorRate()
			if !(e >= 0 && e < 0.5) {
				return configErrorf("verifier error rate %v not in [0, 0.5)", e)
			}
			s.verErr = e
		}
		return nil
	})
}

// WithMaxError sets δ, the error the tier accepts for what it decides with
// a verifier, in (0, 0.5). Per similarity band and rule verdict the tier
// learns how often the verifier says yes; it serves a candidate without
// asking only where the upper 95 % confidence bound of the verifier's
// "no" is at most δ (still asking one lookup in 20 there, to keep
// learning), and it serves on the verifier's yes only where, given the
// verifier's own error rate ([ErrorRater]), the bound of that yes being
// wrong is at most δ. Without a verifier it has no effect: the rules
// alone decide. Default [DefaultMaxError], 0.5 %.
func WithMaxError(delta float64) SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		if !(delta > 0 && delta < 0.5) {
			return configErrorf("max error %v not in (0, 0.5)", delta)
		}
		s.maxError = delta
		return nil
	})
}

// WithVerifyThreshold sets the lowest similarity of a candidate always
// sent to the verifier, in (0, 1]: with a judge the tier can look further
// than the rules alone may. Default: the threshold minus 0.15.
func WithVerifyThreshold(t float64) SemanticOption {
	return similarityOption("verify threshold", t, func(s *Semantic) { s.verifyAt = t })
}

// WithVerifyFloor sets the lowest similarity of a candidate the verifier
// may be asked about, in (0, 1]. Between it and the verify threshold
// ([WithVerifyThreshold]) the tier asks only where asking pays: in a
// similarity band (0.05 wide) and rule verdict where the verifier's past
// answers leave the upper 95 % confidence bound of its share of yes at or
// above the yield ([WithVerifyYield]); a band that has not been asked yet
// is asked. Where the bound falls below the yield, it still asks one
// lookup in 20, so that a change of traffic is noticed; a lookup asks
// about at most one candidate below the verify threshold. A floor at or
// above the verify threshold turns this off. Default: the threshold minus
// 0.35.
func WithVerifyFloor(t float64) SemanticOption {
	return similarityOption("verify floor", t, func(s *Semantic) { s.verifyLow = t })
}

// DefaultVerifyYield is the least share of yes for which the tier asks the
// verifier below the verify threshold: 0.2. Without [WithUpstreamHedge]
// of package companion, a verifier call adds its latency (about 0.3 s for
// a small model) to every lookup it refuses and saves an upstream call
// (about 1.5 s to a full answer) on every one it accepts: asking pays for
// the time to an answer from a yes rate of 0.3 / (0.3 + 1.5), about 0.17,
// and for tokens from far less (a verdict costs well under 1 % of an
// answer).
const DefaultVerifyYield = 0.2

// WithVerifyYield sets the least share of yes, in (0, 1), for which the
// tier asks the verifier about a candidate between the verify floor
// ([WithVerifyFloor]) and the verify threshold. A tier whose verifier's
// latency is hidden (the upstream hedged) may ask for less: its cost is
// then only tokens. Default [DefaultVerifyYield].
func WithVerifyYield(y float64) SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		if !(y > 0 && y < 1) {
			return configErrorf("verify yield %v not in (0, 1)", y)
		}
		s.yield = y
		return nil
	})
}

// WithIndex sets the kind of index of each namespace. Default [IndexAuto].
func WithIndex(kind IndexKind) SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		if kind < IndexAuto || kind > IndexHNSW {
			return configErrorf("index kind %d", kind)
		}
		s.kind = kind
		return nil
	})
}

// WithHNSWAbove sets the number of entries above which an [IndexAuto]
// namespace moves to an HNSW index; at least 1. Default
// [DefaultHNSWAbove].
func WithHNSWAbove(n int) SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		if n < 1 {
			return configErrorf("HNSW above %d < 1", n)
		}
		s.hnswAbove = n
		return nil
	})
}

// WithHNSW sets the HNSW indexes' settings. Default: the zero
// [HNSWConfig], every field at its default.
func WithHNSW(cfg HNSWConfig) SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		if _, err := index.NewHNSW(1, cfg); err != nil {
			return err
		}
		s.hnswCfg = cfg
		return nil
	})
}

// WithSemanticTTL sets how long an entry added with a zero TTL lives;
// positive. Default [DefaultTTL].
func WithSemanticTTL(d time.Duration) SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		if d <= 0 {
			return configErrorf("semantic TTL %v not positive", d)
		}
		s.ttl = d
		return nil
	})
}

// WithSemanticMaxEntries bounds the entries, all namespaces together; the
// oldest added go first. At least 1. Default [DefaultSemanticMaxEntries].
func WithSemanticMaxEntries(n int) SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		if n < 1 {
			return configErrorf("semantic max entries %d < 1", n)
		}
		s.maxEntries = n
		return nil
	})
}

// WithCandidates sets how many of the most similar cached questions a
// lookup offers to the rules; at least 1. Default [DefaultCandidates].
func WithCandidates(k int) SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		if k < 1 {
			return configErrorf("candidates %d < 1", k)
		}
		s.candidates = k
		return nil
	})
}

// WithSemanticClock sets the clock that expiries are checked against.
// Default time.Now.
func WithSemanticClock(now func() time.Time) SemanticOption {
	return semanticOptionFunc(func(s *Semantic) error {
		if now == nil {
			return configErrorf("nil clock")
		}
		s.now = now
		return nil
	})
}

// NewSemantic returns an empty semantic tier configured by opts. It
// returns an error matching [ErrInvalidConfig] when an option is invalid.
func NewSemantic(opts ...SemanticOption) (*Semantic, error) {
	s := &Semantic{
		rules:      true,
		maxError:   DefaultMaxError,
		yield:      DefaultVerifyYield,
		ttl:        cache.DefaultTTL,
		maxEntries: DefaultSemanticMaxEntries,
		kind:       IndexAuto,
		hnswAbove:  DefaultHNSWAbove,
		candidates: DefaultCandidates,
		now:        time.Now,
		parts:      map[string]*partition{},
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applySemantic(s); err != nil {
			return nil, err
		}
	}
	if s.emb == nil {
		e, err := NewLocalEmbedder()
		if err != nil {
			return nil, err
		}
		s.emb = e
	}
	if s.threshold == 0 {
		s.threshold = DefaultThreshold
		if t, ok := CalibratedThreshold(s.emb); ok {
			s.threshold = t
		}
	}
	if s.verifyAt == 0 {
		s.verifyAt = max(0.01, s.threshold-0.15)
	}
	if s.verifyAt > s.threshold {
		s.verifyAt = s.threshold
	}
	if s.verifyLow == 0 {
		s.verifyLow = max(0.01, s.threshold-0.35)
	}
	if s.verifyLow > s.verifyAt {
		s.verifyLow = s.verifyAt
	}
	return s, nil
}

// CalibratedThreshold returns the threshold calibrated for e: its own when
// it implements [Calibrated], else that of the embedder it wraps, found
// through an Unwrap() Embedder method, so that a wrapper (a cache, a
// metrics decorator) keeps the threshold of what it wraps. It reports
// false when no embedder of the chain states one.
func CalibratedThreshold(e Embedder) (float64, bool) {
	for range 16 { // a bounded walk: a cycle of wrappers ends here
		if e == nil {
			return 0, false
		}
		if c, ok := e.(Calibrated); ok {
			if t := c.Threshold(); t > 0 && t <= 1 {
				return t, true
			}
			return 0, false
		}
		u, ok := e.(interface{ Unwrap() Embedder })
		if !ok {
			return 0, false
		}
		e = u.Unwrap()
	}
	return 0, false
}

// Threshold returns the similarity threshold in use.
func (s *Semantic) Threshold() float64 { return s.threshold }

// Embedder returns the embedder in use.
func (s *Semantic) Embedder() Embedder { return s.emb }

// embed returns the vector of one question and, when the embedder is the
// local one, the matcher's reading of it (which the local embedder embeds).
func (s *Semantic) embed(ctx context.Context, question string) ([]float32, *analysis, error) {
	if le, ok := s.emb.(*LocalEmbedder); ok {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		an := analyze(question)
		return le.embedAnalysis(an), &an, nil
	}
	vs, err := s.emb.Embed(ctx, []string{question})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, ctxErr
		}
		return nil, nil, err
	}
	if len(vs) != 1 {
		return nil, nil, fmt.Errorf("%w: %d vectors for 1 text", ErrEmbedding, len(vs))
	}
	return vs[0], nil, nil
}

func checkQuestion(q string) error {
	if strings.TrimSpace(q) == "" {
		return ErrEmptyQuestion
	}
	return nil
}

// Decision is what the tier does, or would do, with a cached question for
// an asked one: see [Semantic.Match] and [Semantic.LookupDecision].
type Decision struct {
	// Serve reports whether the cached answer is served.
	Serve bool
	// Reason says why: [ReasonExplained], [ReasonVerified] or
	// [ReasonWithinBound] for a hit, the first unexplained difference,
	// the verifier's no or the threshold for a miss.
	Reason Reason
	// Verdict is the rules' verdict (Unsure when the rules did not run,
	// below the threshold).
	Verdict Verdict
	// Detail names the difference the rules found, if any.
	Detail string
	// Similarity is the cosine similarity of the two questions' vectors.
	Similarity float64
	// Verified reports that the verifier was asked (or its cached
	// decision used); EstimatedError is the bound of the error of the
	// decision to serve without asking, 0 for the rules' own.
	Verified       bool
	EstimatedError float64 // a fraction in [0, 1]; see Verified
}

// candidate is one cached question near the asked one.
type candidate struct {
	id  string
	sim float64
	rec record
}

// decide runs the rules, the error bound and the verifier on one
// candidate. ask false only predicts (Match): the verifier is asked but
// nothing is learned or counted.
func (s *Semantic) decide(ctx context.Context, asked string, an *analysis, c candidate, learn bool) (Decision, error) {
	d := Decision{Similarity: c.sim}
	floor := s.threshold
	if s.verifier != nil {
		floor = s.verifyLow
	}
	if c.sim < floor {
		d.Reason = ReasonBelowThreshold
		return d, nil
	}
	if !s.rules {
		d.Serve, d.Reason, d.Verdict = true, ReasonExplained, Same
		return d, nil
	}
	if an == nil {
		a := analyze(asked)
		an = &a
	}
	cachedAn := c.rec.an
	if cachedAn.toks == nil && cachedAn.class == 0 {
		cachedAn = analyze(c.rec.entry.Question)
	}
	d.Verdict, d.Reason, d.Detail = compare(cachedAn, *an)
	if d.Verdict == Different {
		return d, nil
	}
	if s.verifier == nil {
		if d.Verdict == Same && c.sim >= s.threshold {
			d.Serve = true
		} else if d.Verdict == Same {
			d.Reason = ReasonBelowThreshold
		}
		return d, nil
	}
	// With a verifier: serve without asking where the bound allows.
	if learn {
		if ok, ub := s.bounds.skip(d.Verdict, c.sim, s.maxError); ok {
			d.Serve, d.Reason, d.EstimatedError = true, ReasonWithinBound, ub
			return d, nil
		}
	}
	if c.sim < s.verifyAt && !s.bounds.worthAsking(d.Verdict, c.sim, s.yield, learn) {
		d.Reason = ReasonLowYield
		return d, nil
	}
	same, _, err := s.verifier.verify(ctx, c.rec.entry.Question, asked)
	d.Verified = true
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return d, ctxErr
		}
		d.Reason = ReasonVerifierError
		return d, nil
	}
	if learn {
		s.bounds.record(d.Verdict, c.sim, same)
	}
	if !same {
		d.Reason = ReasonVerifierNo
		return d, nil
	}
	if d.Verdict == Same {
		// The rules and the verifier agree.
		d.Serve, d.Reason = true, ReasonVerified
		return d, nil
	}
	// The verifier alone says yes: discount its errors.
	e := s.bounds.trustYes(d.Verdict, c.sim, s.verErr)
	d.EstimatedError = e
	if e > s.maxError {
		d.Reason = ReasonUncertain
		return d, nil
	}
	d.Serve, d.Reason = true, ReasonVerified
	return d, nil
}

// Lookup finds a cached answer for question in namespace ns. It returns
// ok false on a miss: no cached question similar enough, or none the
// rules (or the verifier) accept; [Semantic.LookupDecision] says which,
// and [Semantic.Stats] counts misses by reason. It returns an error only
// when the question is empty ([ErrEmptyQuestion]), the embedder fails, or
// ctx is done (ctx's error); a verifier's failure is a miss. A namespace
// with no entries is a miss without embedding the question.
func (s *Semantic) Lookup(ctx context.Context, ns cache.Namespace, question string) (Hit, bool, error) {
	h, d, err := s.LookupDecision(ctx, ns, question)
	return h, d.Serve, err
}

// LookupDecision is [Semantic.Lookup] with the decision that ended it:
// the hit's reason, or the miss's (the most similar candidate's).
func (s *Semantic) LookupDecision(ctx context.Context, ns cache.Namespace, question string) (Hit, Decision, error) {
	if s == nil {
		return Hit{}, Decision{Reason: ReasonNoCandidate}, nil
	}
	if err := checkQuestion(question); err != nil {
		return Hit{}, Decision{}, err
	}
	s.st.lookups.Add(1)
	s.mu.RLock()
	p := s.parts[ns.ID()]
	s.mu.RUnlock()
	if p == nil {
		return s.miss(Decision{Reason: ReasonNoCandidate})
	}
	vec, an, err := s.embed(ctx, question)
	if err != nil {
		s.st.errors.Add(1)
		return Hit{}, Decision{}, err
	}
	now := s.now()
	floor := s.threshold
	if s.verifier != nil {
		floor = s.verifyLow
	}
	var cands []candidate
	best := Decision{Reason: ReasonNoCandidate}
	p.mu.RLock()
	if p.index != nil && len(vec) == p.index.Dimensions() {
		for _, m := range p.index.Search(vec, s.candidates, now) {
			if float64(m.Similarity) < floor {
				if len(cands) == 0 && best.Similarity == 0 {
					best = Decision{Reason: ReasonBelowThreshold, Similarity: float64(m.Similarity)}
				}
				break
			}
			if r := p.entries[m.ID]; r != nil && (r.expires.IsZero() || r.expires.After(now)) {
				cands = append(cands, candidate{m.ID, float64(m.Similarity), *r})
			}
		}
	}
	p.mu.RUnlock()
	verified := false // this lookup asked the verifier, counted once
	for i, c := range cands {
		d, err := s.decide(ctx, question, an, c, true)
		if d.Verified && !verified {
			verified = true
			s.st.verified.Add(1)
		}
		if err != nil {
			s.st.errors.Add(1)
			return Hit{}, Decision{}, err
		}
		if d.Serve {
			s.st.hits.Add(1)
			s.st.count(d.Reason)
			s.st.addError(d.EstimatedError)
			return Hit{Entry: c.rec.entry, Similarity: c.sim, ID: c.id}, d, nil
		}
		if i == 0 {
			best = d
		}
		if d.Verified && c.sim < s.verifyAt {
			break // one verifier call below the verify threshold per lookup
		}
	}
	return s.miss(best)
}

func (s *Semantic) miss(d Decision) (Hit, Decision, error) {
	s.st.misses.Add(1)
	s.st.count(d.Reason)
	return Hit{}, d, nil
}

// Match tells what the tier would do with a cached question and an asked
// one, with its embedder, threshold, rules and verifier, without caching
// anything: a way to test the tier on one's own pairs. It asks the
// verifier (when there is one and the rules leave the pair open) but
// learns nothing from the answer, and never serves within the bound
// without asking. It fails only as [Semantic.Lookup] does.
func (s *Semantic) Match(ctx context.Context, cached, asked string) (Decision, error) {
	if err := checkQuestion(cached); err != nil {
		return Decision{}, err
	}
	if err := checkQuestion(asked); err != nil {
		return Decision{}, err
	}
	va, ana, err := s.embed(ctx, cached)
	if err != nil {
		return Decision{}, err
	}
	vb, anb, err := s.embed(ctx, asked)
	if err != nil {
		return Decision{}, err
	}
	var sim float64
	if len(va) == len(vb) {
		sim = float64(cosine(va, vb))
	}
	rec := record{entry: cache.Entry{Question: cached}}
	if ana != nil {
		rec.an = *ana
	}
	return s.decide(ctx, asked, anb, candidate{sim: sim, rec: rec}, false)
}

// cosine is the cosine similarity of two vectors of one length.
func cosine(a, b []float32) float32 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return float32(dot / math.Sqrt(na*nb))
}

// Add caches entry e, the answer to e.Question, in namespace ns for ttl (0
// means the tier's TTL, [WithSemanticTTL]). The same question in the same
// namespace replaces the earlier entry. It returns an error when the
// question is empty ([ErrEmptyQuestion]) or has nothing to embed
// ([ErrInvalidVector]), ttl is negative ([ErrInvalidConfig]), the
// embedder fails, or ctx is done.
func (s *Semantic) Add(ctx context.Context, ns cache.Namespace, e cache.Entry, ttl time.Duration) error {
	nsID, r, err := s.NewRecord(ctx, ns, e, ttl)
	if err != nil {
		return err
	}
	return s.Put(nsID, r)
}

// NewRecord makes the record [Semantic.Add] would add for e in ns, without
// adding it: it embeds e.Question and sets the expiry from ttl (0 for the
// tier's TTL). It returns the namespace's [cache.Namespace.ID] with the
// record, for [Semantic.Put] here and in other replicas.
func (s *Semantic) NewRecord(ctx context.Context, ns cache.Namespace, e cache.Entry, ttl time.Duration) (string, Record, error) {
	if err := checkQuestion(e.Question); err != nil {
		return "", Record{}, err
	}
	if ttl < 0 {
		return "", Record{}, configErrorf("negative TTL %v", ttl)
	}
	if ttl == 0 {
		ttl = s.ttl
	}
	vec, _, err := s.embed(ctx, e.Question)
	if err != nil {
		return "", Record{}, err
	}
	nsID := ns.ID()
	return nsID, Record{ID: cache.KeyIn(nsID, e.Question), Vector: vec, Entry: e, Expires: s.now().Add(ttl)}, nil
}

// Put adds a record made elsewhere (another replica's, for example) to
// the namespace with the given [Namespace.ID], replacing the record with
// the same ID. The vector is copied and scaled to unit length; it must
// have the dimensions of the namespace's other vectors ([ErrDimension])
// and not be zero ([ErrInvalidVector]). An already expired record is
// ignored.
func (s *Semantic) Put(nsID string, r Record) error {
	if r.ID == "" || nsID == "" {
		return fmt.Errorf("%w: empty id", ErrInvalidConfig)
	}
	if len(r.Vector) == 0 {
		return ErrInvalidVector
	}
	now := s.now()
	if !r.Expires.IsZero() && !r.Expires.After(now) {
		return nil
	}
	s.mu.Lock()
	p := s.parts[nsID]
	if p == nil {
		p = &partition{nsID: nsID, entries: map[string]*record{}}
		s.parts[nsID] = p
	}
	s.seq++
	seq := s.seq
	p.pending.Add(1)
	s.mu.Unlock()

	replaced, err := s.putLocked(p, r, seq)
	p.pending.Add(-1)
	if err != nil {
		s.dropIfEmpty(p)
		return err
	}
	if !replaced {
		s.count.Add(1)
	}
	s.st.adds.Add(1)

	s.mu.Lock()
	s.fifo = append(s.fifo, fifoItem{p: p, id: r.ID, seq: seq})
	s.evictLocked()
	purge := now.Sub(s.lastPurge) >= purgeEvery
	if purge {
		s.lastPurge = now
	}
	s.mu.Unlock()
	if purge {
		s.Purge()
	}
	return nil
}

// putLocked adds r to p under p.mu and reports whether it replaced an
// entry.
func (s *Semantic) putLocked(p *partition, r Record, seq uint64) (replaced bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.index == nil {
		idx, err := s.newIndex(len(r.Vector), 0)
		if err != nil {
			return false, err
		}
		p.index = idx
	}
	if err := p.index.Add(r.ID, r.Vector, r.Expires); err != nil {
		return false, err
	}
	if p.shadow != nil {
		p.shadow.Add(r.ID, r.Vector, r.Expires)
	}
	_, replaced = p.entries[r.ID]
	p.entries[r.ID] = &record{entry: r.Entry, expires: r.Expires, seq: seq}
	s.grow(p, seq)
	return replaced, nil
}

// newIndex returns the index for a namespace of n entries.
func (s *Semantic) newIndex(dim, n int) (index.VectorIndex, error) {
	if s.kind == IndexHNSW || s.kind == IndexAuto && n > s.hnswAbove {
		return index.NewHNSW(dim, s.hnswCfg)
	}
	return index.NewFlatIndex(dim)
}

// migrateStep is how many entries each Put copies from a namespace's
// flat index to the HNSW that will replace it.
const migrateStep = 4

// grow moves an IndexAuto namespace from its flat index to an HNSW: from
// half of [WithHNSWAbove] entries on, each Put copies a few entries to a
// shadow HNSW, which replaces the flat index once complete and the
// namespace has more than WithHNSWAbove entries. The caller holds p.mu.
func (s *Semantic) grow(p *partition, seq uint64) {
	flat, ok := p.index.(*index.FlatIndex)
	if !ok || s.kind != IndexAuto {
		return
	}
	n := flat.Len()
	if p.shadow == nil {
		if n <= s.hnswAbove/2 {
			return
		}
		h, err := index.NewHNSW(flat.Dimensions(), s.hnswCfg)
		if err != nil {
			return
		}
		p.shadow, p.shadowSeq = h, seq
		p.backlog = p.backlog[:0]
		flat.Range(func(id string, _ []float32, _ time.Time) bool {
			p.backlog = append(p.backlog, id)
			return true
		})
	}
	for k := 0; k < migrateStep && len(p.backlog) > 0; {
		id := p.backlog[len(p.backlog)-1]
		p.backlog = p.backlog[:len(p.backlog)-1]
		r := p.entries[id]
		if r == nil || r.seq > p.shadowSeq {
			continue // gone, or added to the shadow directly
		}
		if vec, exp, ok := flat.Get(id); ok {
			p.shadow.Add(id, vec, exp)
			k++
		}
	}
	if len(p.backlog) == 0 && n > s.hnswAbove {
		p.index, p.shadow, p.backlog = p.shadow, nil, nil
	}
}

// evictLocked removes the oldest entries while there are too many; the
// caller holds s.mu.
func (s *Semantic) evictLocked() {
	for s.count.Load() > int64(s.maxEntries) && s.fifoHead < len(s.fifo) {
		it := s.fifo[s.fifoHead]
		s.fifo[s.fifoHead] = fifoItem{}
		s.fifoHead++
		it.p.mu.Lock()
		if r := it.p.entries[it.id]; r != nil && r.seq == it.seq {
			it.p.remove(it.id)
			s.count.Add(-1)
			s.st.evictions.Add(1)
		}
		it.p.mu.Unlock()
	}
	// Drop the consumed head, and stale items when they outnumber the
	// entries.
	if s.fifoHead > 1024 && s.fifoHead > len(s.fifo)/2 || len(s.fifo) > 2*int(s.count.Load())+1024 {
		live := s.fifo[:0]
		for _, it := range s.fifo[s.fifoHead:] {
			it.p.mu.RLock()
			r := it.p.entries[it.id]
			ok := r != nil && r.seq == it.seq
			it.p.mu.RUnlock()
			if ok {
				live = append(live, it)
			}
		}
		clear(s.fifo[len(live):])
		s.fifo = live
		s.fifoHead = 0
	}
}

// dropIfEmpty forgets a namespace with no entries.
func (s *Semantic) dropIfEmpty(p *partition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.mu.RLock()
	empty := len(p.entries) == 0
	p.mu.RUnlock()
	if empty && p.pending.Load() == 0 && s.parts[p.nsID] == p {
		delete(s.parts, p.nsID)
	}
}

// Delete removes the entry for question in namespace ns and reports
// whether there was one.
func (s *Semantic) Delete(ns cache.Namespace, question string) bool {
	nsID := ns.ID()
	return s.DeleteID(nsID, cache.KeyIn(nsID, question))
}

// DeleteID removes the record with the given id from the namespace with
// the given [Namespace.ID] and reports whether there was one.
func (s *Semantic) DeleteID(nsID, id string) bool {
	s.mu.RLock()
	p := s.parts[nsID]
	s.mu.RUnlock()
	if p == nil {
		return false
	}
	p.mu.Lock()
	_, ok := p.entries[id]
	if ok {
		p.remove(id)
	}
	p.mu.Unlock()
	if ok {
		s.count.Add(-1)
		s.dropIfEmpty(p)
	}
	return ok
}

// Purge removes the expired entries of every namespace and returns how
// many. Add calls it about once a minute.
func (s *Semantic) Purge() int {
	now := s.now()
	s.mu.RLock()
	parts := make([]*partition, 0, len(s.parts))
	for _, p := range s.parts {
		parts = append(parts, p)
	}
	s.mu.RUnlock()
	n := 0
	for _, p := range parts {
		p.mu.Lock()
		for id, r := range p.entries {
			if !r.expires.IsZero() && !r.expires.After(now) {
				p.remove(id)
				n++
			}
		}
		p.mu.Unlock()
		s.dropIfEmpty(p)
	}
	s.count.Add(int64(-n))
	s.st.expired.Add(uint64(n))
	return n
}

// Len returns the number of entries, all namespaces together.
func (s *Semantic) Len() int { return int(s.count.Load()) }

// Range calls fn for every record of every namespace until fn returns
// false. The records are copies. fn must not call the tier's methods.
func (s *Semantic) Range(fn func(nsID string, r Record) bool) {
	s.mu.RLock()
	parts := make([]*partition, 0, len(s.parts))
	for _, p := range s.parts {
		parts = append(parts, p)
	}
	s.mu.RUnlock()
	for _, p := range parts {
		cont := true
		p.mu.RLock()
		if p.index != nil {
			p.index.Range(func(id string, vec []float32, exp time.Time) bool {
				r := p.entries[id]
				if r == nil {
					return true
				}
				cont = fn(p.nsID, Record{ID: id, Vector: append([]float32(nil), vec...), Entry: r.entry, Expires: r.expires})
				return cont
			})
		}
		p.mu.RUnlock()
		if !cont {
			return
		}
	}
}

// SemanticStats counts what a [Semantic] tier did.
type SemanticStats struct {
	Entries    int // entries now, all namespaces together
	Namespaces int // namespaces with entries
	// Lookups of a non-empty question: Hits + Misses + Errors.
	Lookups uint64
	Hits    uint64 // lookups that served a cached answer
	// Misses = BelowThreshold + the sum of Rejections.
	Misses uint64
	// BelowThreshold counts misses with no cached question similar
	// enough (including empty namespaces).
	BelowThreshold uint64
	// Rejections counts misses where cached questions were similar
	// enough but none was served, by the reason of the most similar one
	// (a difference the rules found, the verifier's no, …).
	Rejections map[Reason]uint64
	// Reasons counts every lookup that did not fail by the reason of its
	// decision, hits ([ReasonExplained], [ReasonVerified],
	// [ReasonWithinBound]) and misses alike.
	Reasons map[Reason]uint64
	// Verified counts the lookups that asked the verifier (or used its
	// cached decision about the pair).
	Verified uint64
	// EstimatedError is the tier's estimate of the share of its hits
	// that are wrong: the mean, over hits, of each hit's error bound (0
	// for a hit the rules explain without a verifier).
	EstimatedError float64
	// Bands is what the error bound learned, per similarity band and
	// rule verdict; empty without a verifier.
	Bands     []BandStats
	Errors    uint64 // lookups that failed (embedder errors, ctx done)
	Adds      uint64 // entries added (Add and Put), replacements included
	Evictions uint64 // entries removed to stay within the maximum
	Expired   uint64 // expired entries purged
}

// HitRatio returns Hits / Lookups, 0 before any lookup.
func (st SemanticStats) HitRatio() float64 {
	if st.Lookups == 0 {
		return 0
	}
	return float64(st.Hits) / float64(st.Lookups)
}

type semStats struct {
	lookups, hits, misses, errors, adds, evictions, expired, verified atomic.Uint64
	reasons                                                           [32]atomic.Uint64 // by index in reasons
	errMu                                                             sync.Mutex
	errSum                                                            float64
}

func (st *semStats) count(r Reason) {
	if i := reasonIndex(r); i >= 0 {
		st.reasons[i].Add(1)
	}
}

func (st *semStats) addError(e float64) {
	if e <= 0 {
		return
	}
	st.errMu.Lock()
	st.errSum += e
	st.errMu.Unlock()
}

// Stats returns the tier's counters.
func (s *Semantic) Stats() SemanticStats {
	s.mu.RLock()
	nparts := len(s.parts)
	s.mu.RUnlock()
	out := SemanticStats{
		Entries:    s.Len(),
		Namespaces: nparts,
		Lookups:    s.st.lookups.Load(),
		Hits:       s.st.hits.Load(),
		Misses:     s.st.misses.Load(),
		Errors:     s.st.errors.Load(),
		Adds:       s.st.adds.Load(),
		Evictions:  s.st.evictions.Load(),
		Expired:    s.st.expired.Load(),
		Verified:   s.st.verified.Load(),
		Rejections: map[Reason]uint64{},
		Reasons:    map[Reason]uint64{},
	}
	for i, r := range reasons {
		n := s.st.reasons[i].Load()
		if n == 0 {
			continue
		}
		out.Reasons[r] = n
		switch r {
		case ReasonExplained, ReasonVerified, ReasonWithinBound:
		case ReasonNoCandidate, ReasonBelowThreshold:
			out.BelowThreshold += n
		default:
			out.Rejections[r] = n
		}
	}
	if out.Hits > 0 {
		s.st.errMu.Lock()
		out.EstimatedError = s.st.errSum / float64(out.Hits)
		s.st.errMu.Unlock()
	}
	if s.verifier != nil {
		out.Bands = s.bounds.stats()
	}
	return out
}
