package main

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/companion-go/companion"
)

// The data the workload is built from; see testdata/README.md for where
// each file comes from and its licence.
var (
	//go:embed testdata/pairs.jsonl
	pairsJSONL []byte
	//go:embed testdata/prompts.jsonl
	promptsJSONL []byte
	//go:embed testdata/gsm8k-questions.jsonl
	gsm8kJSONL []byte
	//go:embed testdata/words.txt
	wordsTXT []byte
	//go:embed testdata/allow.txt
	allowTXT []byte
)

// zipfS is the exponent of the topic popularity: the classic Zipf law,
// the k-th most popular topic asked about 1/k as often as the first.
const zipfS = 1.0

// kind is the kind of a topic of the workload.
type kind int

const (
	kindPair   kind = iota // a curriculum question with its paraphrases (pairs.jsonl)
	kindPrompt             // a tutoring prompt with snippets, examples, history, context (prompts.jsonl)
	kindGSM8K              // a GSM8K word problem (the long tail)
)

func (k kind) String() string {
	return [...]string{"curriculum", "prompt", "gsm8k"}[k]
}

// topic is one thing students ask about: a group of questions that mean
// the same (a paraphrase group), each a full Question.
type topic struct {
	id       int
	kind     kind
	lang     string
	variants []companion.Question
	// styled are the texts of the topic's questions as students wrote
	// them in the traffic or the log (see styles.go), beyond variants.
	styled []string
}

// texts returns every text of the topic: the variants and the styled.
func (t *topic) texts() []string {
	out := make([]string, 0, len(t.variants)+len(t.styled))
	for _, v := range t.variants {
		out = append(out, v.Text)
	}
	return append(out, t.styled...)
}

// turn is one student turn of the traffic.
type turn struct {
	seq   int
	topic *topic
	q     companion.Question
	// repeat: the same text in the same namespace was asked earlier in
	// the traffic; paraphrase: only another variant of the topic was;
	// negative: a question that pairs.jsonl marks as a hard negative of
	// this one (same words, different meaning) was asked earlier.
	repeat, paraphrase, negative bool
}

// workload is the replayable traffic and what it was built from.
type workload struct {
	topics []*topic // by popularity rank, most popular first
	turns  []turn
	// group maps a question text to its topic, for the answer check: a
	// served answer is right when it is the answer to a question of the
	// same topic. It is written while the traffic and the log are drawn,
	// read only after.
	group map[string]*topic
	// negatives maps a question to its hard negatives.
	negatives map[string][]string
	// styles and restyle: the share of curriculum turns a student writes
	// in a style of their own (styles.go) instead of as the data does.
	styles  styles
	restyle float64
	// yesterday is the log of another day (see log), whose hot questions
	// are prewarmed.
	yesterday []companion.Question
}

type pairLine struct {
	Lang string `json:"lang"`
	A    string `json:"a"`
	B    string `json:"b"`
	Same bool   `json:"same"`
	Kind string `json:"kind"`
}

type promptLine struct {
	ID       string `json:"id"`
	Lang     string `json:"lang"`
	Subject  string `json:"subject"`
	Grade    int    `json:"grade"`
	System   string `json:"system"`
	Snippets []struct {
		ID      string `json:"id"`
		Text    string `json:"text"`
		Summary string `json:"summary"`
	} `json:"snippets"`
	Examples []struct {
		Q string `json:"q"`
		A string `json:"a"`
	} `json:"examples"`
	History []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"history"`
	Context  json.RawMessage `json:"context"`
	Question string          `json:"question"`
}

func readJSONL[T any](data []byte) ([]T, error) {
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// kb is the knowledge of one tutoring prompt, attached to the questions
// that have none of their own, so every turn carries a realistic prompt.
type kb struct {
	snippets []companion.Snippet
	examples []companion.Example
	context  json.RawMessage
}

func (p *promptLine) kb() kb {
	var k kb
	for _, s := range p.Snippets {
		k.snippets = append(k.snippets, companion.Snippet{ID: s.ID, Text: s.Text, Summary: s.Summary})
	}
	for _, e := range p.Examples {
		k.examples = append(k.examples, companion.Example{Question: e.Q, Answer: e.A})
	}
	// The context as an app would send it: pretty-printed.
	var buf bytes.Buffer
	if err := json.Indent(&buf, p.Context, "", "  "); err == nil {
		k.context = buf.Bytes()
	} else {
		k.context = p.Context
	}
	return k
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// tenant is the one school of the traffic.
const tenant = "school-1"

// newWorkload builds the topics from the embedded data and draws turns
// from them: the topic of each turn by a Zipf law over popularity ranks
// (seeded), the variant uniformly within the topic, and for a share
// restyle of the curriculum turns a student's own style around it. It
// draws yesterday's log of logTurns turns too (seed+1), before any
// replay, so that every topic's texts are known when answers are checked.
func newWorkload(turns, logTurns int, seed uint64, restyle float64) (*workload, error) {
	pairs, err := readJSONL[pairLine](pairsJSONL)
	if err != nil {
		return nil, fmt.Errorf("pairs.jsonl: %w", err)
	}
	prompts, err := readJSONL[promptLine](promptsJSONL)
	if err != nil {
		return nil, fmt.Errorf("prompts.jsonl: %w", err)
	}
	gsm, err := readJSONL[struct {
		Question string `json:"question"`
	}](gsm8kJSONL)
	if err != nil {
		return nil, fmt.Errorf("gsm8k-questions.jsonl: %w", err)
	}
	sty, err := parseStyles(stylesTXT)
	if err != nil {
		return nil, err
	}

	// Knowledge bases and system prompts by language.
	kbs := map[string][]kb{}
	system := map[string]string{}
	for i := range prompts {
		p := &prompts[i]
		kbs[p.Lang] = append(kbs[p.Lang], p.kb())
		if _, ok := system[p.Lang]; !ok {
			system[p.Lang] = p.System
		}
	}
	withKB := func(q companion.Question, lang, key string) companion.Question {
		list := kbs[lang]
		k := list[hash(key)%uint64(len(list))]
		q.Snippets, q.Examples, q.Context = k.snippets, k.examples, k.context
		q.SystemPrompt = system[lang]
		q.Locale = lang
		q.Tenant = tenant
		return q
	}

	w := &workload{group: map[string]*topic{}, negatives: map[string][]string{}, styles: sty, restyle: restyle}

	// Paraphrase groups: the connected components of the same:true pairs.
	parent := map[string]string{}
	lang := map[string]string{}
	var find func(string) string
	find = func(s string) string {
		if p, ok := parent[s]; ok && p != s {
			r := find(p)
			parent[s] = r
			return r
		}
		parent[s] = s
		return s
	}
	var order []string // questions in order of first appearance
	for _, p := range pairs {
		for _, s := range []string{p.A, p.B} {
			if _, ok := parent[s]; !ok {
				parent[s] = s
				lang[s] = p.Lang
				order = append(order, s)
			}
		}
		if p.Same {
			parent[find(p.A)] = find(p.B)
		} else {
			w.negatives[p.A] = append(w.negatives[p.A], p.B)
			w.negatives[p.B] = append(w.negatives[p.B], p.A)
		}
	}
	groups := map[string]*topic{}
	var head []*topic
	for _, s := range order {
		r := find(s)
		t := groups[r]
		if t == nil {
			t = &topic{kind: kindPair, lang: lang[s]}
			groups[r] = t
			head = append(head, t)
		}
		subject := "science"
		if lang[s] == "zh" {
			subject = "科学"
		}
		q := withKB(companion.Question{Text: s, Subject: subject, Grade: 8}, lang[s], r)
		t.variants = append(t.variants, q)
		w.group[s] = t
	}
	for i := range prompts {
		p := &prompts[i]
		k := p.kb()
		q := companion.Question{
			Text: p.Question, SystemPrompt: p.System, Subject: p.Subject, Grade: p.Grade,
			Tenant: tenant, Locale: p.Lang, Snippets: k.snippets, Examples: k.examples, Context: k.context,
		}
		for _, m := range p.History {
			q.History = append(q.History, companion.Message{Role: m.Role, Content: m.Content})
		}
		t := &topic{kind: kindPrompt, variants: []companion.Question{q}}
		head = append(head, t)
		w.group[q.Text] = t
	}
	var tail []*topic
	for _, g := range gsm {
		q := withKB(companion.Question{Text: g.Question, Subject: "maths", Grade: 8}, "en", g.Question)
		t := &topic{kind: kindGSM8K, variants: []companion.Question{q}}
		tail = append(tail, t)
		w.group[q.Text] = t
	}

	// Popularity: the curriculum questions and the prompts in a seeded
	// order first, the GSM8K word problems after them, also shuffled.
	r := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	r.Shuffle(len(head), func(i, j int) { head[i], head[j] = head[j], head[i] })
	r.Shuffle(len(tail), func(i, j int) { tail[i], tail[j] = tail[j], tail[i] })
	w.topics = append(head, tail...)
	for i, t := range w.topics {
		t.id = i
	}
	w.turns = w.draw(turns, r)
	w.yesterday = w.log(logTurns, seed+1)
	return w, nil
}

// zipf samples ranks 0..n-1 with probability proportional to 1/(k+1)^s.
type zipf struct{ cdf []float64 }

func newZipf(n int, s float64) *zipf {
	z := &zipf{cdf: make([]float64, n)}
	sum := 0.0
	for k := range n {
		sum += 1 / math.Pow(float64(k+1), s)
		z.cdf[k] = sum
	}
	for k := range z.cdf {
		z.cdf[k] /= sum
	}
	return z
}

func (z *zipf) draw(r *rand.Rand) int {
	return min(sort.SearchFloat64s(z.cdf, r.Float64()), len(z.cdf)-1)
}

// draw samples n turns and marks what each one is to a cache.
func (w *workload) draw(n int, r *rand.Rand) []turn {
	z := newZipf(len(w.topics), zipfS)
	asked := map[string]bool{} // question texts asked so far
	topicAsked := map[*topic]bool{}
	out := make([]turn, n)
	for i := range out {
		t := w.topics[z.draw(r)]
		q := w.variant(t, r)
		tr := turn{seq: i, topic: t, q: q}
		switch {
		case asked[q.Text]:
			tr.repeat = true
		case topicAsked[t]:
			tr.paraphrase = true
		}
		for _, neg := range w.negatives[q.Text] {
			if asked[neg] && w.group[neg] != t {
				tr.negative = true
			}
		}
		asked[q.Text] = true
		topicAsked[t] = true
		out[i] = tr
	}
	return out
}

// log returns the question texts of another day of the same traffic
// (another seed), from which the hot questions to prewarm are picked.
func (w *workload) log(n int, seed uint64) []companion.Question {
	r := rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))
	z := newZipf(len(w.topics), zipfS)
	out := make([]companion.Question, n)
	for i := range out {
		out[i] = w.variant(w.topics[z.draw(r)], r)
	}
	return out
}

// variant draws a question of topic t: one of its variants, uniformly,
// and for a curriculum topic, with probability w.restyle, in a student's
// style. A styled text joins the topic (group, styled).
func (w *workload) variant(t *topic, r *rand.Rand) companion.Question {
	q := t.variants[r.IntN(len(t.variants))]
	if t.kind != kindPair || w.restyle <= 0 || r.Float64() >= w.restyle {
		return q
	}
	text := w.styles.restyle(q.Text, t.lang, r)
	if owner, ok := w.group[text]; ok {
		if owner != t { // a styled text that another topic's question already is: keep the plain one
			return q
		}
	} else {
		w.group[text] = t
		t.styled = append(t.styled, text)
	}
	q.Text = text
	return q
}

// mix counts the turns by kind and by what they are to a cache.
type mix struct {
	turns, curriculum, prompts, gsm8k          int
	repeats, paraphrases, negatives, firstSeen int
	distinct                                   int
}

func (w *workload) mix() mix {
	var m mix
	seen := map[string]bool{}
	for _, t := range w.turns {
		m.turns++
		switch t.topic.kind {
		case kindPair:
			m.curriculum++
		case kindPrompt:
			m.prompts++
		case kindGSM8K:
			m.gsm8k++
		}
		switch {
		case t.repeat:
			m.repeats++
		case t.paraphrase:
			m.paraphrases++
		default:
			m.firstSeen++
		}
		if t.negative {
			m.negatives++
		}
		if !seen[t.q.Text] {
			seen[t.q.Text] = true
			m.distinct++
		}
	}
	return m
}
