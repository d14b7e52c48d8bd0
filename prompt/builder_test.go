package prompt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

func newBuilder(t testing.TB, opts ...Option) *Builder {
	t.Helper()
	b, err := NewBuilder(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func build(t testing.TB, b *Builder, in *Input) *Result {
	t.Helper()
	res, err := b.Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkCounts checks the report's totals against a count of the messages
// themselves and of the full layout, and the sums of its parts.
func checkCounts(t *testing.T, in *Input, res *Result) {
	t.Helper()
	c, err := CounterForModel(in.Model)
	if err != nil {
		t.Fatal(err)
	}
	r := &res.Report
	if got := c.CountMessages(res.Messages); got != r.TokensAfter {
		t.Fatalf("TokensAfter = %d, the messages count %d\n%q", r.TokensAfter, got, res.Messages)
	}
	if got := c.CountMessages(fullLayout(in)); got != r.TokensBefore {
		t.Fatalf("TokensBefore = %d, the full layout counts %d", r.TokensBefore, got)
	}
	if r.TokensAfter > r.Limit {
		t.Fatalf("TokensAfter = %d over the limit %d", r.TokensAfter, r.Limit)
	}
	sum := func(get func(PartTokens) int) int {
		n := 0
		for _, p := range []PartTokens{r.System, r.Snippets, r.Examples, r.History, r.Context, r.Question, r.Framing} {
			n += get(p)
		}
		return n
	}
	if b, a := sum(func(p PartTokens) int { return p.Before }), sum(func(p PartTokens) int { return p.After }); b != r.TokensBefore || a != r.TokensAfter {
		t.Fatalf("parts sum to %d → %d, totals %d → %d", b, a, r.TokensBefore, r.TokensAfter)
	}
}

// fullLayout is the documented layout with every part in full.
func fullLayout(in *Input) []Message {
	var sys strings.Builder
	sys.WriteString(in.System)
	if len(in.Snippets)+len(in.Examples)+len(in.Context) > 0 {
		if in.System != "" {
			sys.WriteString("\n\n")
		}
		if len(in.Snippets) > 0 {
			sys.WriteString("Reference passages:\n")
		}
		for _, s := range in.Snippets {
			fmt.Fprintf(&sys, "[%s] %s\n", s.ID, s.Text)
		}
		if len(in.Examples) > 0 {
			sys.WriteString("Worked examples:\n")
		}
		for _, e := range in.Examples {
			fmt.Fprintf(&sys, "Q: %s\nA: %s\n", e.Question, e.Answer)
		}
		if len(in.Context) > 0 {
			fmt.Fprintf(&sys, "Context: %s\n", in.Context)
		}
	}
	var msgs []Message
	if sys.Len() > 0 {
		msgs = append(msgs, Message{Role: RoleSystem, Content: sys.String()})
	}
	msgs = append(msgs, in.History...)
	return append(msgs, Message{Role: RoleUser, Content: in.Question})
}

// TestLayoutAdds checks that the memoized, per-segment counts add up to
// exact counts of the messages, on random parts chosen to stress the
// joints: texts that start or end with white space, punctuation, '/',
// line breaks, digits or letters, in both encodings.
func TestLayoutAdds(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	edges := []string{"", " ", "  ", "\n", "\r\n", ".", ".\n", "/", "//", "'s", "'", "x", "X", "9", "中", "😀", "\t", " \n ", "\u00a0", "é\u0301"}
	text := func() string {
		return edges[r.IntN(len(edges))] + strings.ToValidUTF8(genText(r, 20), "\ufffd") + edges[r.IntN(len(edges))]
	}
	for iter := range 400 / raceDivisor {
		model := "gpt-4o"
		if iter%2 == 1 {
			model = "gpt-4"
		}
		in := &Input{Model: model, Question: text() + "?"}
		if r.IntN(4) > 0 {
			in.System = text()
		}
		for i := range r.IntN(5) {
			in.Snippets = append(in.Snippets, Snippet{ID: fmt.Sprintf("s%d%s", i, edges[r.IntN(len(edges))]), Text: text(), Summary: text()})
		}
		for range r.IntN(5) {
			in.Examples = append(in.Examples, Example{Question: text(), Answer: text()})
		}
		roles := []string{RoleUser, RoleAssistant, RoleSystem, RoleTool}
		for range r.IntN(5) {
			in.History = append(in.History, Message{Role: roles[r.IntN(len(roles))], Content: text()})
		}
		if r.IntN(2) == 0 {
			note, _ := json.Marshal(text())
			in.Context = json.RawMessage(fmt.Sprintf("{\n  \"note\": %s,\n  \"n\": [1, 2, 3]\n}", note))
		}
		// Everything in, so that every segment is counted in place.
		b := newBuilder(t, WithBudget(1<<20), WithFullSnippets(-1), WithTopExamples(100), WithKeepTurns(-1), WithSummarizer(nil))
		res := build(t, b, in)
		checkCounts(t, in, res)
		// And a default build of the same input.
		res = build(t, newBuilder(t, WithBudget(1<<20)), in)
		checkCounts(t, in, res)
	}
}

func devInput(t testing.TB, i int) *Input {
	t.Helper()
	return loadPrompts(t)[i].input("gpt-4o")
}

func TestBuildReport(t *testing.T) {
	in := devInput(t, 0) // p001, Newton's second law
	res := build(t, newBuilder(t), in)
	checkCounts(t, in, res)
	r := &res.Report
	if r.SnippetUse[0].ID != "s4" || r.SnippetUse[0].Form != Full {
		t.Errorf("first snippet %+v, want s4 in full", r.SnippetUse[0])
	}
	if len(r.Summarized()) == 0 {
		t.Error("no snippet summarized")
	}
	if r.Saved() <= 0 || r.Saved() != r.TokensBefore-r.TokensAfter {
		t.Errorf("Saved = %d", r.Saved())
	}
	if r.Context.After >= r.Context.Before || r.ContextDropped {
		t.Errorf("context %+v, dropped %v: want it minified", r.Context, r.ContextDropped)
	}
	kept := 0
	for _, e := range r.ExampleUse {
		if e.Kept {
			kept++
		}
	}
	if kept != DefaultTopExamples {
		t.Errorf("kept %d examples, want %d", kept, DefaultTopExamples)
	}
	msgs := res.Messages
	if msgs[0].Role != RoleSystem || !strings.HasPrefix(msgs[0].Content, in.System+"\n\nReference passages:\n[s4] ") {
		t.Errorf("system message starts %q", msgs[0].Content[:min(len(msgs[0].Content), 200)])
	}
	if last := msgs[len(msgs)-1]; last.Role != RoleUser || last.Content != in.Question {
		t.Errorf("last message %+v, want the question", last)
	}
	if !strings.Contains(msgs[0].Content, `Context: {"student":`) {
		t.Error("context not minified in the system message")
	}
	t.Log(r)
}

// TestBuildBudget shrinks the budget step by step: the prompt always fits,
// and parts go in priority order (the top snippet outlives the examples,
// the examples outlive the other snippets' summaries).
func TestBuildBudget(t *testing.T) {
	in := devInput(t, 0)
	b := newBuilder(t)
	full := build(t, b, in).Report.TokensAfter
	prevAfter := full + 1
	for limit := full; limit >= 150; limit -= 25 {
		in := *in
		in.Budget, in.Reserve = limit+100, 100
		res, err := b.Build(context.Background(), &in)
		if errors.Is(err, ErrOverBudget) {
			var be *BudgetError
			if !errors.As(err, &be) || be.Limit != limit || be.Required <= limit {
				t.Fatalf("limit %d: %v", limit, err)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		checkCounts(t, &in, res)
		r := &res.Report
		if r.TokensAfter > prevAfter {
			t.Errorf("limit %d: %d tokens, more than with a larger budget (%d)", limit, r.TokensAfter, prevAfter)
		}
		prevAfter = r.TokensAfter
		anyExample := false
		for _, e := range r.ExampleUse {
			anyExample = anyExample || e.Kept
		}
		if anyExample && r.SnippetUse[0].Form == Dropped {
			t.Errorf("limit %d: examples kept but the top snippet dropped", limit)
		}
		if !anyExample && len(r.Summarized()) > 0 {
			// A summary may fill room no example fits in: the room
			// when examples were tried, before the context and the
			// summaries went in, was too small for each of them and
			// its heading.
			room := limit - r.TokensAfter + r.Context.After
			for _, u := range r.SnippetUse[1:] {
				room += u.Tokens
			}
			m, _ := b.Memo(in.Model)
			for _, e := range in.Examples {
				if n := m.countParts("Q: ", e.Question, "\nA: ", e.Answer, "\n") + m.Count(headExamples); n <= room {
					t.Errorf("limit %d: an example of %d tokens dropped with %d tokens of room", limit, n, room)
				}
			}
		}
	}
}

func TestBuildHistory(t *testing.T) {
	var hist []Message
	hist = append(hist, Message{Role: RoleSystem, Content: "The student is preparing for an exam."})
	for i := range 10 {
		hist = append(hist, Message{Role: RoleUser, Content: fmt.Sprintf("question %d", i)},
			Message{Role: RoleAssistant, Content: fmt.Sprintf("answer %d", i)})
	}
	in := &Input{System: "You are a tutor.", History: hist, Question: "And now?"}
	res := build(t, newBuilder(t, WithKeepTurns(3)), in)
	checkCounts(t, in, res)
	var roles []string
	for _, m := range res.Messages {
		roles = append(roles, m.Role+":"+m.Content)
	}
	// The last 3 are answer 8, question 9, answer 9; "answer 8" has lost
	// its question, so it goes too. The system turn stays.
	want := []string{"system:You are a tutor.", "system:The student is preparing for an exam.",
		"user:question 9", "assistant:answer 9", "user:And now?"}
	if fmt.Sprint(roles) != fmt.Sprint(want) {
		t.Errorf("messages %q\nwant %q", roles, want)
	}
	if res.Report.HistoryDropped != 18 {
		t.Errorf("HistoryDropped = %d, want 18", res.Report.HistoryDropped)
	}
}

func TestBuildErrors(t *testing.T) {
	ctx := context.Background()
	b := newBuilder(t)
	bad := "a\xffb"
	for _, tc := range []struct {
		in    Input
		field string
		want  error
	}{
		{Input{Question: bad}, "Question", ErrInvalidUTF8},
		{Input{Question: "q", System: bad}, "System", ErrInvalidUTF8},
		{Input{Question: "q", Snippets: []Snippet{{ID: "s1", Text: "ok"}, {ID: "s2", Text: bad}}}, "Snippets[1].Text", ErrInvalidUTF8},
		{Input{Question: "q", Snippets: []Snippet{{ID: bad}}}, "Snippets[0].ID", ErrInvalidUTF8},
		{Input{Question: "q", Snippets: []Snippet{{ID: "s", Summary: bad}}}, "Snippets[0].Summary", ErrInvalidUTF8},
		{Input{Question: "q", Examples: []Example{{Question: "x", Answer: bad}}}, "Examples[0].Answer", ErrInvalidUTF8},
		{Input{Question: "q", History: []Message{{Role: RoleUser, Content: bad}}}, "History[0].Content", ErrInvalidUTF8},
		{Input{Question: "q", History: []Message{{Role: "robot", Content: "x"}}}, "History[0].Role", ErrUnknownRole},
		{Input{Question: "q", Context: json.RawMessage(`{"a":`)}, "Context", ErrInvalidJSON},
		{Input{Question: "q", Budget: -1}, "Budget", ErrInvalidBudget},
		{Input{Question: "q", Reserve: -5}, "Reserve", ErrInvalidBudget},
		{Input{Question: "q", Budget: 100, Reserve: 100}, "Reserve", ErrInvalidBudget},
	} {
		_, err := b.Build(ctx, &tc.in)
		var ie *InputError
		if !errors.Is(err, tc.want) || !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("Build(%+v) = %v, want an InputError on %s matching %v", tc.in, err, tc.field, tc.want)
		}
	}

	// The system prompt and the question must fit.
	_, err := b.Build(ctx, &Input{System: strings.Repeat("Be kind. ", 200), Question: "q", Budget: 300, Reserve: 100})
	var be *BudgetError
	if !errors.Is(err, ErrOverBudget) || !errors.As(err, &be) || be.Limit != 200 || be.Required < 400 {
		t.Errorf("over budget: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Build(cctx, &Input{Question: "q"}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}

	for _, opt := range []Option{WithBudget(0), WithReserve(-1), WithTopExamples(-1), WithFullSnippets(-2), WithKeepTurns(-2), WithMemoEntries(0)} {
		if _, err := NewBuilder(opt); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewBuilder: %v, want ErrInvalidConfig", err)
		}
	}
	if _, err := NewBuilder(WithBudget(100), WithReserve(100)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("reserve = budget: %v, want ErrInvalidConfig", err)
	}
}

func TestBuildMinimal(t *testing.T) {
	b := newBuilder(t)
	for _, in := range []*Input{
		{Question: "What is 2 + 2?"},
		{Question: "What is 2 + 2?", System: "Be brief."},
		{Question: "What is 2 + 2?", Context: json.RawMessage(` { "grade" : 3 } `)},
		{Question: ""},
	} {
		res := build(t, b, in)
		checkCounts(t, in, res)
		if in.System == "" && len(in.Context) == 0 && len(res.Messages) != 1 {
			t.Errorf("%+v: %d messages, want the question alone", in, len(res.Messages))
		}
	}
}

// fakeEmbedder embeds a text as counts of a few keywords.
type fakeEmbedder struct {
	calls, texts int
	err          error
	mu           sync.Mutex
}

func (f *fakeEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.texts += len(texts)
	if f.err != nil {
		return nil, f.err
	}
	words := []string{"force", "wave", "energy", "circuit", "density", "momentum", "light", "triangle"}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, len(words)+1)
		v[len(words)] = 0.1
		for j, w := range words {
			v[j] = float32(strings.Count(strings.ToLower(t), w))
		}
		out[i] = v
	}
	return out, nil
}

func TestBuildEmbedder(t *testing.T) {
	in := devInput(t, 0)
	e := &fakeEmbedder{}
	b := newBuilder(t, WithEmbedder(e))
	res := build(t, b, in)
	checkCounts(t, in, res)
	if res.Report.Ranker != "embedder" || res.Report.SnippetUse[0].ID != "s4" {
		t.Errorf("ranker %q, first snippet %s", res.Report.Ranker, res.Report.SnippetUse[0].ID)
	}
	first := e.texts
	build(t, b, in)
	if e.calls != 2 || e.texts != first+1 {
		t.Errorf("second build embedded %d texts, want only the question", e.texts-first)
	}

	failing := &fakeEmbedder{err: errors.New("embedder down")}
	res = build(t, newBuilder(t, WithEmbedder(failing)), in)
	if res.Report.Ranker != "bm25" || res.Report.RankErr == nil {
		t.Errorf("failed embedder: ranker %q, err %v", res.Report.Ranker, res.Report.RankErr)
	}
}

// countingSummarizer counts the texts it is asked to summarize.
type countingSummarizer struct {
	mu    sync.Mutex
	texts int
}

func (c *countingSummarizer) Summarize(_ context.Context, texts []string) ([]string, error) {
	c.mu.Lock()
	c.texts += len(texts)
	c.mu.Unlock()
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = "Summary: " + strings.Fields(t)[0]
	}
	return out, nil
}

func TestBuildSummarizer(t *testing.T) {
	in := devInput(t, 0)
	for i := range in.Snippets {
		in.Snippets[i].Summary = ""
	}
	cs := &countingSummarizer{}
	b := newBuilder(t, WithSummarizer(cs))
	if err := b.Prepare(context.Background(), in.Snippets); err != nil {
		t.Fatal(err)
	}
	if cs.texts != len(in.Snippets) {
		t.Fatalf("Prepare summarized %d texts, want %d", cs.texts, len(in.Snippets))
	}
	res := build(t, b, in)
	checkCounts(t, in, res)
	build(t, b, in)
	if cs.texts != len(in.Snippets) {
		t.Errorf("builds asked for %d more summaries, want none (cached)", cs.texts-len(in.Snippets))
	}
	if !strings.Contains(res.Messages[0].Content, "] Summary: ") {
		t.Error("no summary in the prompt")
	}

	// The default, extractive summarizer.
	res = build(t, newBuilder(t), in)
	checkCounts(t, in, res)
	if len(res.Report.Summarized()) == 0 {
		t.Error("default builder summarized nothing")
	}
	// No summarizer: the other snippets go in full when they fit.
	res = build(t, newBuilder(t, WithSummarizer(nil)), in)
	checkCounts(t, in, res)
	if len(res.Report.Summarized()) != 0 {
		t.Errorf("summarized %v without a summarizer", res.Report.Summarized())
	}
}

func TestBuildConcurrent(t *testing.T) {
	prompts := loadPrompts(t)
	b := newBuilder(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range prompts {
				tp := prompts[(i+g*7)%len(prompts)]
				if _, err := b.Build(context.Background(), tp.input("gpt-4o")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestReport(t *testing.T) {
	r := &Report{TokensBefore: 100, TokensAfter: 40, Limit: 50,
		SnippetUse:     []SnippetUse{{ID: "s1", Form: Full}, {ID: "s2", Form: Summary}, {ID: "s3", Form: Dropped, Why: NoRoom}},
		ExampleUse:     []ExampleUse{{Index: 2, Kept: true}, {Index: 0, Why: NotTop}},
		HistoryDropped: 2, ContextDropped: true}
	if got, want := r.String(), "100 → 40 tokens (limit 50); summarized s2; dropped snippet s3 (no room), example 0 (not top), history 0-1, context"; got != want {
		t.Errorf("String() = %q\nwant %q", got, want)
	}
	if Full.String() != "full" || Summary.String() != "summary" || Dropped.String() != "dropped" || Form(9).String() != "Form(9)" {
		t.Error("Form.String")
	}
}
