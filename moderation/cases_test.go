package moderation

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// The development material in testdata/ (see testdata/README.md): every
// case must pass, whole-text and, for split cases, through the stream
// guard chunk by chunk.

type wordCase struct {
	Text   string   `json:"text"`
	Expect string   `json:"expect"`
	Hits   []string `json:"hits"`
	Trick  string   `json:"trick"`
	Chunks []string `json:"chunks"`
}

type formatCase struct {
	Text     string          `json:"text"`
	WantJSON bool            `json:"want_json"`
	Schema   json.RawMessage `json:"schema"`
	Valid    bool            `json:"valid"`
	Problem  string          `json:"problem"`
}

func readJSONL[T any](t testing.TB, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var c T
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// testMatcher builds the matcher of testdata/words.txt and allow.txt.
func testMatcher(t testing.TB) *Matcher {
	t.Helper()
	wf, err := os.Open("testdata/words.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer wf.Close()
	words, err := ParseWords(wf)
	if err != nil {
		t.Fatal(err)
	}
	af, err := os.Open("testdata/allow.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer af.Close()
	allow, err := ParseAllow(af)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatcher(words, allow)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// hitTerms lists the terms of findings, each once, in order of first
// appearance, in their words.txt form.
func hitTerms(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		if f.Check == "word" && !slices.Contains(out, f.Term) {
			out = append(out, f.Term)
		}
	}
	return out
}

func TestWordCases(t *testing.T) {
	cases := readJSONL[wordCase](t, "testdata/cases.jsonl")
	p, err := NewPipeline(WithMatcher(testMatcher(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pass, streamPass, streamN := 0, 0, 0
	byTrick := map[string][2]int{}
	for i, c := range cases {
		v, err := p.Check(ctx, Input{Text: c.Text})
		if err != nil {
			t.Fatal(err)
		}
		got := hitTerms(v.Findings)
		ok := v.Action.String() == c.Expect && slices.Equal(got, c.Hits)
		if c.Expect == "allow" {
			ok = ok && len(got) == 0
		}
		if ok && c.Expect == "mask" {
			ok = checkMasked(t, c.Text, v)
		}
		bt := byTrick[c.Trick]
		bt[1]++
		if ok {
			pass++
			bt[0]++
		} else {
			t.Errorf("case %d (%s) %q: got %v %q, want %s %q", i+1, c.Trick, c.Text, v.Action, got, c.Expect, c.Hits)
		}
		byTrick[c.Trick] = bt

		chunks := c.Chunks
		if chunks == nil {
			chunks = splitEvery(c.Text, 3)
		}
		streamN++
		if streamCase(t, p, c, chunks, v) {
			streamPass++
		}
	}
	for trick, n := range byTrick {
		t.Logf("%-20s %d/%d", trick, n[0], n[1])
	}
	t.Logf("cases.jsonl whole text: %d/%d (%.1f%%); through the stream guard: %d/%d", pass, len(cases),
		100*float64(pass)/float64(len(cases)), streamPass, streamN)
}

// splitEvery cuts s into pieces of n characters.
func splitEvery(s string, n int) []string {
	var out []string
	r := []rune(s)
	for i := 0; i < len(r); i += n {
		out = append(out, string(r[i:min(i+n, len(r))]))
	}
	return out
}

// checkMasked checks that a Mask verdict's text has every masked hit
// replaced by stars and the rest untouched.
func checkMasked(t *testing.T, text string, v Verdict) bool {
	t.Helper()
	want := []rune(text)
	drop := map[int]bool{}
	for _, f := range v.Findings {
		if f.Action != Mask {
			continue
		}
		i := 0
		for at, r := range text {
			if at >= f.Start && at < f.End {
				if isInvisibleInText(r) {
					drop[i] = true
				} else {
					want[i] = '*'
				}
			}
			i++
		}
	}
	var b strings.Builder
	for i, r := range want {
		if !drop[i] {
			b.WriteRune(r)
		}
	}
	if v.Text != b.String() {
		t.Errorf("mask of %q: %q, want %q", text, v.Text, b.String())
		return false
	}
	return true
}

// streamCase runs a case through the guard chunk by chunk: the same
// verdict as the whole text, the same (masked) text out, and nothing of a
// blocked hit released.
func streamCase(t *testing.T, p *Pipeline, c wordCase, chunks []string, whole Verdict) bool {
	t.Helper()
	g := p.NewGuard(Format{})
	var out strings.Builder
	var blockErr error
	for _, ch := range chunks {
		safe, err := g.Push(ch)
		out.WriteString(safe)
		if err != nil {
			blockErr = err
			break
		}
	}
	var v Verdict
	if blockErr == nil {
		rest, fv, err := g.Finish(context.Background())
		out.WriteString(rest)
		v, blockErr = fv, err
	}
	if blockErr != nil {
		var be *BlockedError
		if !errors.As(blockErr, &be) {
			t.Errorf("stream %q: %v", c.Text, blockErr)
			return false
		}
		v = be.Verdict
	}
	ok := true
	switch c.Expect {
	case "block":
		if blockErr == nil {
			t.Errorf("stream %q (chunks %q): not blocked", c.Text, chunks)
			return false
		}
		// Nothing of a blocking hit was released.
		for _, f := range v.Findings {
			if f.Action == Block && out.Len() > f.Start {
				t.Errorf("stream %q: released %q, past the blocked hit at %d", c.Text, out.String(), f.Start)
				ok = false
			}
		}
	case "mask":
		if out.String() != whole.Text {
			t.Errorf("stream %q (chunks %q): out %q, want %q", c.Text, chunks, out.String(), whole.Text)
			ok = false
		}
	default:
		if out.String() != c.Text {
			t.Errorf("stream %q (chunks %q): out %q", c.Text, chunks, out.String())
			ok = false
		}
	}
	if v.Action.String() != c.Expect || !slices.Equal(hitTerms(v.Findings), c.Hits) && c.Expect != "block" {
		t.Errorf("stream %q (chunks %q): verdict %v %q, want %s %q", c.Text, chunks, v.Action, hitTerms(v.Findings), c.Expect, c.Hits)
		ok = false
	}
	return ok
}

func TestFormatCases(t *testing.T) {
	cases := readJSONL[formatCase](t, "testdata/format_cases.jsonl")
	validators := []Validator{MarkdownValidator{}, JSONValidator{}}
	pass := 0
	for i, c := range cases {
		in := Input{Text: c.Text, Format: Format{JSON: c.WantJSON}}
		if len(c.Schema) > 0 {
			s, err := ParseSchema(c.Schema)
			if err != nil {
				t.Fatal(err)
			}
			in.Format.Schema = s
		}
		problem := "none"
		for _, v := range validators {
			if err := v.Validate(&in); err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatal(err)
				}
				problem = fe.Problem
				break
			}
		}
		if problem == c.Problem && (problem == "none") == c.Valid {
			pass++
		} else {
			t.Errorf("format case %d %q: got %q, want %q", i+1, c.Text, problem, c.Problem)
		}
	}
	t.Logf("format_cases.jsonl: %d/%d (%.1f%%)", pass, len(cases), 100*float64(pass)/float64(len(cases)))
}
