package prompt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Snippet is a knowledge-base passage.
type Snippet struct {
	ID      string // cited by the answer, e.g. "kb-newton-2"
	Text    string // the passage in full, sent when it is relevant and fits
	Summary string // optional; made by the builder's Summarizer when empty
}

// Example is a worked example: a question and its model answer.
type Example struct {
	Question string // the example's question, ranked against the student's
	Answer   string // the model answer the tutor may imitate
}

// Roles of chat messages.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Input is everything a prompt may hold. Only Question is needed.
type Input struct {
	// Model picks the encoding that counts tokens (see
	// [EncodingForModel]); "" counts with o200k_base.
	Model string
	// System is the tutor's instructions. It is always sent.
	System string
	// Snippets are knowledge-base passages, in any order.
	Snippets []Snippet
	// Examples are worked examples, in any order.
	Examples []Example
	// History holds the earlier messages of the conversation, oldest
	// first.
	History []Message
	// Context is structured JSON context (a student profile, the exercise
	// at hand); it is sent minified.
	Context json.RawMessage
	// Question is the student's question. It is always sent, last.
	Question string
	// Budget and Reserve override the builder's (see [WithBudget] and
	// [WithReserve]) when not 0.
	Budget, Reserve int
}

// Result is a built prompt.
type Result struct {
	// Messages are the chat messages to send: a system message (the
	// system prompt, then the chosen snippets, examples and context),
	// the kept history, and the question.
	Messages []Message
	Report   Report // what the build kept, summarized and dropped, in tokens
}

// The layout of the system message. Every part is a segment that ends
// with a line break and starts with a character that is not white space
// or '/'; at such a joint both encodings' pre-tokenizers always cut (no
// piece runs across a line break into such a character, and none looks
// behind), so the tokens of the message are the sum of its segments'
// tokens, each remembered by the memo. TestLayoutAdds checks the sum
// against a count of the whole.
const (
	systemSep    = "\n\n" // after the system prompt, when more follows
	headSnippets = "Reference passages:\n"
	headExamples = "Worked examples:\n"
)

// Builder builds prompts under a token budget. It ranks the snippets and
// worked examples by relevance to the question (BM25, or an [Embedder]'s
// vectors) and fills the budget in this order, each part only if it fits:
//
//  1. the system prompt and the question (an error if they do not fit);
//  2. the most relevant snippets ([WithFullSnippets], and any scoring
//     within 10 % of the best) in full, or else as their summaries;
//  3. the latest history messages ([WithKeepTurns]), newest first, and
//     every system or developer message;
//  4. the most relevant worked examples ([WithTopExamples]);
//  5. the JSON context, minified;
//  6. the other snippets as summaries (in full when they have none and
//     there is no summarizer), most relevant first.
//
// With BM25, snippets beyond step 2 and examples that share no word with
// the question are left out. The report says what went in, in which form,
// and what was dropped.
//
// Token counts of the parts are remembered across calls (bounded; see
// [Memo]), so a warm Build mostly hashes text, and the report's counts are
// exact: TokensAfter is what [Counter.CountMessages] gives for the
// messages. A Builder is safe for concurrent use.
type Builder struct {
	cfg       config
	mu        sync.Mutex
	memos     map[string]*Memo // by encoding
	terms     *bounded[*docTerms]
	vecs      *bounded[[]float32]
	summaries *SummaryCache // nil without a summarizer
}

// NewBuilder returns a builder configured by opts, or a [*ConfigError].
func NewBuilder(opts ...Option) (*Builder, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if len(cfg.errs) > 0 {
		return nil, cfg.errs[0]
	}
	if cfg.reserve >= cfg.budget {
		return nil, &ConfigError{Option: "WithReserve", Reason: fmt.Sprintf("reserve %d leaves nothing of budget %d", cfg.reserve, cfg.budget)}
	}
	b := &Builder{
		cfg:   cfg,
		memos: map[string]*Memo{},
		terms: newBounded[*docTerms](cfg.memoEntries),
		vecs:  newBounded[[]float32](cfg.memoEntries),
	}
	if cfg.summarizer != nil {
		if sc, ok := cfg.summarizer.(*SummaryCache); ok {
			b.summaries = sc
		} else {
			b.summaries = NewSummaryCache(cfg.summarizer, cfg.memoEntries)
		}
	}
	return b, nil
}

// Memo returns the builder's token-count memo for a model's encoding.
func (b *Builder) Memo(model string) (*Memo, error) {
	enc := EncodingForModel(model)
	b.mu.Lock()
	defer b.mu.Unlock()
	if m, ok := b.memos[enc]; ok {
		return m, nil
	}
	c, err := NewCounter(enc)
	if err != nil {
		return nil, err
	}
	m := NewMemo(c, b.cfg.memoEntries)
	b.memos[enc] = m
	return m, nil
}

// Prepare makes and caches the summaries of the snippets that have none,
// so that later builds do not wait for the summarizer; call it when the
// knowledge base loads or changes. It does nothing without a summarizer.
func (b *Builder) Prepare(ctx context.Context, snippets []Snippet) error {
	if b.summaries == nil {
		return nil
	}
	var texts []string
	for _, s := range snippets {
		if s.Summary == "" {
			texts = append(texts, s.Text)
		}
	}
	if len(texts) == 0 {
		return nil
	}
	_, err := b.summaries.Summarize(ctx, texts)
	return err
}

// Build builds the prompt for in. It returns an [*InputError] for bad
// input, a [*BudgetError] when the system prompt and the question do not
// fit the budget, or ctx's error.
func (b *Builder) Build(ctx context.Context, in *Input) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	budget, reserve := b.cfg.budget, b.cfg.reserve
	if in.Budget != 0 {
		budget = in.Budget
	}
	if in.Reserve != 0 {
		reserve = in.Reserve
	}
	if reserve >= budget {
		return nil, &InputError{Field: "Reserve", Err: fmt.Errorf("%w: reserve %d leaves nothing of budget %d", ErrInvalidBudget, reserve, budget)}
	}
	m, err := b.Memo(in.Model)
	if err != nil {
		return nil, err
	}
	var ctxJSON string
	if len(in.Context) > 0 {
		var buf bytes.Buffer
		buf.Grow(len(in.Context))
		if err := json.Compact(&buf, in.Context); err != nil {
			return nil, &InputError{Field: "Context", Err: ErrInvalidJSON}
		}
		ctxJSON = buf.String()
	}

	p := plan{in: in, m: m, limit: budget - reserve}
	p.rep.Limit = p.limit
	if err := p.mandatory(); err != nil {
		return nil, err
	}
	if err := b.rank(ctx, in, &p); err != nil {
		return nil, err
	}
	summaries, sumErr := b.summarize(ctx, in)
	if sumErr != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	p.before(in, summaries)
	p.fallback = len(in.Snippets) > 1 && allAlike(p.snipScore)
	p.exFall = len(in.Examples) > 1 && allAlike(p.exScore)
	p.rep.Fallback = p.fallback
	if p.fallback {
		// Nothing tells which snippet holds the answer: every one goes
		// in, the short way, before anything else.
		p.chooseAll(summaries)
	} else {
		p.chooseSnippets(summaries, b.cfg.fullSnippets, true)
	}
	p.chooseHistory(b.cfg.keepTurns)
	p.chooseExamples(b.cfg.topExamples)
	p.chooseContext(ctxJSON)
	if !p.fallback {
		p.chooseSnippets(summaries, b.cfg.fullSnippets, false)
	}
	return p.result(summaries, ctxJSON), nil
}

// summarize returns a summary for each snippet: its own, or one from the
// summarizer ("" when there is none).
func (b *Builder) summarize(ctx context.Context, in *Input) ([]string, error) {
	out := make([]string, len(in.Snippets))
	var texts []string
	var at []int
	for i, s := range in.Snippets {
		out[i] = s.Summary
		if s.Summary == "" && b.summaries != nil && s.Text != "" {
			texts = append(texts, s.Text)
			at = append(at, i)
		}
	}
	if len(texts) == 0 {
		return out, nil
	}
	got, err := b.summaries.Summarize(ctx, texts)
	if err != nil {
		return out, err
	}
	for j, s := range got {
		if len(s) < len(texts[j]) {
			out[at[j]] = s
		}
	}
	return out, nil
}

// rank scores the snippets and examples into p.
func (b *Builder) rank(ctx context.Context, in *Input, p *plan) error {
	p.snipScore = make([]float64, len(in.Snippets))
	p.exScore = make([]float64, len(in.Examples))
	p.rep.Ranker = "bm25"
	if len(in.Snippets)+len(in.Examples) == 0 {
		return nil
	}
	if b.cfg.embedder != nil {
		err := b.rankEmbed(ctx, in, p)
		if err == nil {
			p.rep.Ranker = "embedder"
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.rep.RankErr = err
	}
	q := appendTerms(nil, in.Question)
	slices.Sort(q)
	q = slices.Compact(q)
	docs := make([]*docTerms, 0, max(len(in.Snippets), len(in.Examples)))
	for _, s := range in.Snippets {
		docs = append(docs, b.docTerms(keyOf(s.Text), s.Text))
	}
	bm25(q, docs, p.snipScore)
	docs = docs[:0]
	for _, e := range in.Examples {
		docs = append(docs, b.docTerms(keyOfParts("example\x00", e.Question, "\x00", e.Answer), e.Question, e.Answer))
	}
	bm25(q, docs, p.exScore)
	p.bm25 = true
	return nil
}

// docTerms returns the index terms of texts, cached under k.
func (b *Builder) docTerms(k key, texts ...string) *docTerms {
	if d, ok := b.terms.get(k); ok {
		return d
	}
	d := indexTerms(texts...)
	b.terms.put(k, d)
	return d
}

// rankEmbed scores by cosine similarity of embeddings, fetching those
// not cached in one call.
func (b *Builder) rankEmbed(ctx context.Context, in *Input, p *plan) error {
	texts := make([]string, 0, 1+len(in.Snippets)+len(in.Examples))
	for _, s := range in.Snippets {
		texts = append(texts, s.Text)
	}
	for _, e := range in.Examples {
		texts = append(texts, e.Question+"\n"+e.Answer)
	}
	vecs := make([][]float32, len(texts))
	missing := []string{in.Question}
	var at []int
	for i, t := range texts {
		if v, ok := b.vecs.get(keyOf(t)); ok {
			vecs[i] = v
			continue
		}
		missing = append(missing, t)
		at = append(at, i)
	}
	got, err := b.cfg.embedder.Embed(ctx, missing)
	if err != nil {
		return err
	}
	if len(got) != len(missing) {
		return fmt.Errorf("prompt: embedder returned %d vectors for %d texts", len(got), len(missing))
	}
	for j, i := range at {
		vecs[i] = got[j+1]
		b.vecs.put(keyOf(texts[i]), got[j+1])
	}
	qv := got[0]
	for i := range in.Snippets {
		p.snipScore[i] = cosine(qv, vecs[i])
	}
	for i := range in.Examples {
		p.exScore[i] = cosine(qv, vecs[len(in.Snippets)+i])
	}
	return nil
}

// plan is one Build's choices and token accounting.
type plan struct {
	in    *Input
	m     *Memo
	limit int
	used  int
	rep   Report

	snipScore, exScore []float64
	bm25               bool

	// The system message so far.
	sysTok   int  // tokens of the system prompt alone
	started  bool // a part other than the system prompt is in
	snipHead bool
	exHead   bool

	snipForm []Form // by snippet index; Dropped until chosen
	snipWhy  []Why  // by snippet index, for a dropped one
	exWhy    []Why  // by example index, for one not kept
	fallback bool   // the snippets' scores tell them apart by nothing
	exFall   bool   // nor do the examples'
	snipTok  []int
	snipDone []bool
	exKept   []bool
	exTok    []int
	histKept []bool
	ctxKept  bool
	ctxTok   int
}

func (p *plan) frame(role string) int { return tokensPerMessage + p.m.Count(role) }

// fits adds n tokens if they fit.
func (p *plan) fits(n int) bool {
	if p.used+n > p.limit {
		return false
	}
	p.used += n
	return true
}

// mandatory accounts for the system prompt, the question and the reply.
func (p *plan) mandatory() error {
	in := p.in
	p.used = tokensPerReply + p.frame(RoleUser) + p.m.Count(in.Question)
	if in.System != "" {
		p.sysTok = p.m.Count(in.System)
		p.used += p.frame(RoleSystem) + p.sysTok
	}
	if p.used > p.limit {
		return &BudgetError{Limit: p.limit, Required: p.used}
	}
	p.snipForm = make([]Form, len(in.Snippets))
	for i := range p.snipForm {
		p.snipForm[i] = Dropped
	}
	p.snipWhy = make([]Why, len(in.Snippets))
	p.exWhy = make([]Why, len(in.Examples))
	p.snipTok = make([]int, len(in.Snippets))
	p.snipDone = make([]bool, len(in.Snippets))
	p.exKept = make([]bool, len(in.Examples))
	p.exTok = make([]int, len(in.Examples))
	p.histKept = make([]bool, len(in.History))
	return nil
}

// startCost is what the first part after the system prompt adds: the
// separator after the system prompt, or the system message's framing
// when there is no system prompt.
func (p *plan) startCost() int {
	if p.started {
		return 0
	}
	if p.in.System == "" {
		return p.frame(RoleSystem)
	}
	return p.m.countParts(p.in.System, systemSep) - p.sysTok
}

// addSys adds a system-message segment of n tokens (with head, the
// section heading, if not yet in) if it fits.
func (p *plan) addSys(n int, head string, headIn *bool) bool {
	extra := p.startCost()
	if headIn != nil && !*headIn {
		extra += p.m.Count(head)
	}
	if !p.fits(n + extra) {
		return false
	}
	p.started = true
	if headIn != nil {
		*headIn = true
	}
	return true
}

func (p *plan) snippetTokens(id, text string) int {
	return p.m.countParts("[", id, "] ", text, "\n")
}

func (p *plan) exampleTokens(e Example) int {
	return p.m.countParts("Q: ", e.Question, "\nA: ", e.Answer, "\n")
}

func (p *plan) contextTokens(js string) int {
	return p.m.countParts("Context: ", js, "\n")
}

// before accounts for the prompt with everything in full.
func (p *plan) before(in *Input, summaries []string) {
	r := &p.rep
	r.Question.Before = p.m.Count(in.Question)
	r.Framing.Before = tokensPerReply + p.frame(RoleUser)
	more := len(in.Snippets)+len(in.Examples)+len(in.Context) > 0
	switch {
	case in.System != "" && more:
		r.System.Before = p.m.countParts(in.System, systemSep)
	case in.System != "":
		r.System.Before = p.sysTok
	}
	if in.System != "" || more {
		r.Framing.Before += p.frame(RoleSystem)
	}
	for _, s := range in.Snippets {
		r.Snippets.Before += p.snippetTokens(s.ID, s.Text)
	}
	if len(in.Snippets) > 0 {
		r.Framing.Before += p.m.Count(headSnippets)
	}
	for _, e := range in.Examples {
		r.Examples.Before += p.exampleTokens(e)
	}
	if len(in.Examples) > 0 {
		r.Framing.Before += p.m.Count(headExamples)
	}
	if len(in.Context) > 0 {
		r.Context.Before = p.contextTokens(string(in.Context))
	}
	for _, h := range in.History {
		r.History.Before += p.m.Count(h.Content)
		r.Framing.Before += p.frame(h.Role) + p.nameTokens(h)
	}
	r.TokensBefore = r.System.Before + r.Snippets.Before + r.Examples.Before + r.Context.Before +
		r.History.Before + r.Question.Before + r.Framing.Before
}

func (p *plan) nameTokens(h Message) int {
	if h.Name == "" {
		return 0
	}
	return tokensPerName + p.m.Count(h.Name)
}

// closeScore is the fraction of the best snippet's score above which a
// snippet counts as one of the most relevant.
const closeScore = 0.9

// chooseSnippets places the top snippets (full, else summary) when top is
// set, else the others (summary, else full when there is no summary).
func (p *plan) chooseSnippets(summaries []string, full int, top bool) {
	ord := order(p.snipScore)
	best := 0.0
	if len(ord) > 0 {
		best = p.snipScore[ord[0]]
	}
	for rank, i := range ord {
		if p.snipDone[i] {
			continue
		}
		// A close second is as likely to hold the answer as the first.
		isTop := full < 0 || rank < full || full > 0 && best > 0 && p.snipScore[i] >= closeScore*best
		if isTop != top {
			continue
		}
		p.snipDone[i] = true
		if !top && p.bm25 && p.snipScore[i] <= 0 {
			p.snipWhy[i] = NotRelevant // shares no word with the question, while others do
			continue
		}
		p.snipWhy[i] = NoRoom // unless a form fits below
		s := p.in.Snippets[i]
		forms := []Form{Summary, Full}
		if top {
			forms = []Form{Full, Summary}
		}
		for _, f := range forms {
			text := s.Text
			if f == Summary {
				text = summaries[i]
				if text == "" {
					continue
				}
			} else if !top && summaries[i] != "" {
				continue // the others go as summaries only
			}
			n := p.snippetTokens(s.ID, text)
			if p.addSys(n, headSnippets, &p.snipHead) {
				p.snipForm[i], p.snipTok[i], p.snipWhy[i] = f, n, Included
				break
			}
		}
	}
}

// allAlike reports whether every score is the same: a ranking that tells
// nothing apart.
func allAlike(scores []float64) bool {
	for _, s := range scores[1:] {
		if s != scores[0] {
			return false
		}
	}
	return true
}

// chooseAll places every snippet, in input order, as its summary, or its
// text when it has no summary, while they fit: the fallback when the
// ranking tells them apart by nothing.
func (p *plan) chooseAll(summaries []string) {
	for i, s := range p.in.Snippets {
		p.snipDone[i] = true
		f, text := Summary, summaries[i]
		if text == "" {
			f, text = Full, s.Text
		}
		n := p.snippetTokens(s.ID, text)
		if p.addSys(n, headSnippets, &p.snipHead) {
			p.snipForm[i], p.snipTok[i] = f, n
		} else {
			p.snipWhy[i] = NoRoom
		}
	}
}

// chooseHistory keeps system and developer messages, then the latest
// others, newest first, up to keep, while they fit; a reply whose
// question was dropped is dropped too.
func (p *plan) chooseHistory(keep int) {
	h := p.in.History
	cost := func(i int) int { return p.frame(h[i].Role) + p.nameTokens(h[i]) + p.m.Count(h[i].Content) }
	for i, msg := range h {
		if msg.Role == RoleSystem || msg.Role == RoleDeveloper {
			p.histKept[i] = p.fits(cost(i))
		}
	}
	kept := 0
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Role == RoleSystem || h[i].Role == RoleDeveloper {
			continue
		}
		if keep >= 0 && kept == keep || !p.fits(cost(i)) {
			break
		}
		p.histKept[i] = true
		kept++
	}
	// The oldest kept turn should not be an answer without its question.
	for i, msg := range h {
		if !p.histKept[i] || msg.Role == RoleSystem || msg.Role == RoleDeveloper {
			continue
		}
		if msg.Role != RoleUser && i > 0 && !p.histKept[i-1] {
			p.histKept[i] = false
			p.used -= cost(i)
			continue
		}
		break
	}
}

// chooseExamples keeps the k most relevant examples that fit. When their
// scores tell them apart by nothing, it keeps the first k in input order
// (a stable sort of equal scores) that fit.
func (p *plan) chooseExamples(k int) {
	kept := 0
	for _, i := range order(p.exScore) {
		switch {
		case kept == k:
			p.exWhy[i] = NotTop
			continue
		case p.bm25 && p.exScore[i] <= 0 && !p.exFall:
			p.exWhy[i] = NotRelevant // shares no word with the question
			continue
		}
		n := p.exampleTokens(p.in.Examples[i])
		if p.addSys(n, headExamples, &p.exHead) {
			p.exKept[i], p.exTok[i] = true, n
			kept++
		} else {
			p.exWhy[i] = NoRoom
		}
	}
}

func (p *plan) chooseContext(js string) {
	if js == "" {
		return
	}
	n := p.contextTokens(js)
	if p.addSys(n, "", nil) {
		p.ctxKept, p.ctxTok = true, n
	}
}

// result assembles the messages and completes the report.
func (p *plan) result(summaries []string, ctxJSON string) *Result {
	in, r := p.in, &p.rep
	var sys strings.Builder
	if p.started {
		size := len(in.System) + len(systemSep) + len(headSnippets) + len(headExamples) + len(ctxJSON) + 16
		for i, s := range in.Snippets {
			size += len(s.ID) + len(s.Text) + len(summaries[i]) + 4
		}
		for _, e := range in.Examples {
			size += len(e.Question) + len(e.Answer) + 8
		}
		sys.Grow(size)
		if in.System != "" {
			sys.WriteString(in.System)
			sys.WriteString(systemSep)
		}
	} else {
		sys.WriteString(in.System)
	}
	snipOrder, exOrder := order(p.snipScore), order(p.exScore)
	for _, i := range snipOrder {
		s := in.Snippets[i]
		u := SnippetUse{ID: s.ID, Index: i, Score: p.snipScore[i], Form: p.snipForm[i], Tokens: p.snipTok[i], Why: p.snipWhy[i]}
		r.SnippetUse = append(r.SnippetUse, u)
		if u.Form == Dropped {
			continue
		}
		if r.Snippets.After == 0 {
			sys.WriteString(headSnippets)
		}
		text := s.Text
		if u.Form == Summary {
			text = summaries[i]
		}
		sys.WriteString("[")
		sys.WriteString(s.ID)
		sys.WriteString("] ")
		sys.WriteString(text)
		sys.WriteString("\n")
		r.Snippets.After += u.Tokens
	}
	for _, i := range exOrder {
		u := ExampleUse{Index: i, Score: p.exScore[i], Kept: p.exKept[i], Tokens: p.exTok[i], Why: p.exWhy[i]}
		r.ExampleUse = append(r.ExampleUse, u)
		if !u.Kept {
			continue
		}
		if r.Examples.After == 0 {
			sys.WriteString(headExamples)
		}
		e := in.Examples[i]
		sys.WriteString("Q: ")
		sys.WriteString(e.Question)
		sys.WriteString("\nA: ")
		sys.WriteString(e.Answer)
		sys.WriteString("\n")
		r.Examples.After += u.Tokens
	}
	if p.ctxKept {
		sys.WriteString("Context: ")
		sys.WriteString(ctxJSON)
		sys.WriteString("\n")
		r.Context.After = p.ctxTok
	} else {
		r.ContextDropped = len(in.Context) > 0
	}

	msgs := make([]Message, 0, len(in.History)+2)
	r.Framing.After = tokensPerReply + p.frame(RoleUser)
	if sys.Len() > 0 {
		msgs = append(msgs, Message{Role: RoleSystem, Content: sys.String()})
		r.Framing.After += p.frame(RoleSystem)
	}
	if in.System != "" {
		r.System.After = p.sysTok
		if p.started {
			r.System.After = p.m.countParts(in.System, systemSep)
		}
	}
	if p.snipHead {
		r.Framing.After += p.m.Count(headSnippets)
	}
	if p.exHead {
		r.Framing.After += p.m.Count(headExamples)
	}
	for i, h := range in.History {
		if !p.histKept[i] {
			r.HistoryDropped++
			continue
		}
		msgs = append(msgs, h)
		r.History.After += p.m.Count(h.Content)
		r.Framing.After += p.frame(h.Role) + p.nameTokens(h)
	}
	msgs = append(msgs, Message{Role: RoleUser, Content: in.Question})
	r.Question.After = r.Question.Before
	r.TokensAfter = r.System.After + r.Snippets.After + r.Examples.After + r.Context.After +
		r.History.After + r.Question.After + r.Framing.After
	return &Result{Messages: msgs, Report: p.rep}
}

// validate checks the input and returns an [*InputError] for the first
// problem.
func (in *Input) validate() error {
	bad := func(field string) error { return &InputError{Field: field, Err: ErrInvalidUTF8} }
	switch {
	case in.Budget < 0:
		return &InputError{Field: "Budget", Err: fmt.Errorf("%w: negative budget %d", ErrInvalidBudget, in.Budget)}
	case in.Reserve < 0:
		return &InputError{Field: "Reserve", Err: fmt.Errorf("%w: negative reserve %d", ErrInvalidBudget, in.Reserve)}
	case !utf8.ValidString(in.System):
		return bad("System")
	case !utf8.ValidString(in.Question):
		return bad("Question")
	}
	for i, s := range in.Snippets {
		switch {
		case !utf8.ValidString(s.ID):
			return bad(fmt.Sprintf("Snippets[%d].ID", i))
		case !utf8.ValidString(s.Text):
			return bad(fmt.Sprintf("Snippets[%d].Text", i))
		case !utf8.ValidString(s.Summary):
			return bad(fmt.Sprintf("Snippets[%d].Summary", i))
		}
	}
	for i, e := range in.Examples {
		switch {
		case !utf8.ValidString(e.Question):
			return bad(fmt.Sprintf("Examples[%d].Question", i))
		case !utf8.ValidString(e.Answer):
			return bad(fmt.Sprintf("Examples[%d].Answer", i))
		}
	}
	for i, h := range in.History {
		switch h.Role {
		case RoleSystem, RoleDeveloper, RoleUser, RoleAssistant, RoleTool:
		default:
			return &InputError{Field: fmt.Sprintf("History[%d].Role", i), Err: fmt.Errorf("%w %q", ErrUnknownRole, h.Role)}
		}
		if !utf8.ValidString(h.Content) {
			return bad(fmt.Sprintf("History[%d].Content", i))
		}
		if !utf8.ValidString(h.Name) {
			return bad(fmt.Sprintf("History[%d].Name", i))
		}
	}
	return nil // Build checks Context as it minifies it
}
