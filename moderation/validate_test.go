package moderation

import (
	"errors"
	"testing"
)

func problemOf(t *testing.T, v Validator, in Input) string {
	t.Helper()
	err := v.Validate(&in)
	if err == nil {
		return "none"
	}
	var fe *FormatError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) {
		t.Fatalf("Validate(%q) = %v, want a *FormatError", in.Text, err)
	}
	return fe.Problem
}

func TestMarkdownValidator(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"plain text", "none"},
		{"$a$ and $$b$$ and \\(c\\) and \\[d\\]", "none"},
		{"costs $5 and $10", "none"},
		{"costs $5, then $x$", "none"},
		{"price: $ 5", "none"},
		{"\\$5 \\$x", "none"},
		{"$x", "unbalanced $"},
		{"$x\n\nnew paragraph $", "unbalanced $"},
		{"$x\ny$", "none"},
		{"a \\) b", "unbalanced \\("},
		{"a \\] b", "unbalanced \\["},
		{"\\[ x", "unbalanced \\["},
		{"$$ x", "unbalanced $$"},
		{"line break \\\\[2pt] is no maths", "none"},
		{"```\n$x\n```", "none"},
		{"    ```go\n$x\n    ```", "none"}, // indented four spaces: no fence, but a code span
		{"````\n```\n````", "none"},
		{"~~~\n```\n~~~", "none"},
		{"```\ncode\n~~~", "unclosed code fence"},
		{"``` `x` ```", "none"}, // a code span, not a fence (info string has a backtick)
		{"use `$PATH` and ``a ` b``", "none"},
		{"an unclosed ` backtick $x$", "none"},
		{"$x$ then ```\nopen", "none"}, // a fence only opens a line
		{"$x$ then\n```\nopen", "unclosed code fence"},
		{"$x then\n```\n$y$\n```", "unbalanced $"},
	} {
		if got := problemOf(t, MarkdownValidator{}, Input{Text: c.text}); got != c.want {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	if got := problemOf(t, MarkdownValidator{}, Input{Text: "$x", Format: Format{JSON: true}}); got != "none" {
		t.Errorf("JSON answers are not Markdown: %q", got)
	}
}

func TestJSONValidator(t *testing.T) {
	schema, err := ParseSchema([]byte(`{
		"type": "object",
		"required": ["answer", "steps", "meta"],
		"additionalProperties": false,
		"properties": {
			"answer": {"type": "string"},
			"steps": {"type": "array", "items": {"type": "string"}},
			"meta": {"type": "object", "required": ["grade"], "properties": {
				"grade": {"type": "integer"},
				"level": {"enum": ["easy", "hard"]},
				"score": {"type": ["number", "null"]}
			}}
		}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ text, want string }{
		{`{"answer": "x", "steps": ["a"], "meta": {"grade": 8}}`, "none"},
		{" \n{\"answer\": \"x\", \"steps\": [], \"meta\": {\"grade\": 8.0, \"score\": null}}\n", "none"},
		{`{"answer": "x", "steps": ["a"], "meta": {"grade": 8.5}}`, "wrong type meta.grade"},
		{`{"answer": "x", "steps": ["a", 2], "meta": {"grade": 8}}`, "wrong type steps[1]"},
		{`{"answer": "x", "steps": ["a"], "meta": {}}`, "missing field meta.grade"},
		{`{"answer": "x", "steps": ["a"], "meta": {"grade": 8, "level": "mid"}}`, "invalid value meta.level"},
		{`{"answer": "x", "steps": ["a"], "meta": {"grade": 8}, "extra": 1}`, "unexpected field extra"},
		{`{"answer": "x"}`, "missing field steps"},
		{`["x"]`, "invalid json"},
		{`{"a": 1} {"b": 2}`, "invalid json"},
		{"```json\n{\"answer\": \"x\"}\n```", "invalid json"},
		{`{"a": 1, /* no */ "b": 2}`, "invalid json"},
		{``, "invalid json"},
	} {
		in := Input{Text: c.text, Format: Format{JSON: true, Schema: schema}}
		if got := problemOf(t, JSONValidator{}, in); got != c.want {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	if got := problemOf(t, JSONValidator{}, Input{Text: `{"any": "object"}`, Format: Format{JSON: true}}); got != "none" {
		t.Errorf("no schema: %q", got)
	}
	if got := problemOf(t, JSONValidator{}, Input{Text: `not json`}); got != "none" {
		t.Errorf("JSON not asked for: %q", got)
	}
	for _, bad := range []string{`[]`, `{"type": 5}`, `{"type": "float"}`, `{"required": "x"}`, `{"properties": {"a": 1}}`, `{"items": []}`, `{"enum": 1}`, `{`} {
		if _, err := ParseSchema([]byte(bad)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ParseSchema(%s) = %v, want ErrInvalidConfig", bad, err)
		}
	}
}

func TestRegexValidator(t *testing.T) {
	v, err := NewRegexValidator(DefaultRegexRules()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ text, want string }{
		{"Well done, Ana!", "none"},
		{"Well done, {{student_name}}!", "template placeholder"},
		{"<think>the student is wrong</think> Try again.", "reasoning tag"},
		{"<SCRIPT>alert(1)</SCRIPT>", "script tag"},
		{"Read [this]() first.", "empty link"},
		{"a < b and c > d", "none"},
	} {
		if got := problemOf(t, v, Input{Text: c.text}); got != c.want {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	req, err := NewRegexValidator(RegexRule{Name: "cites a source", Pattern: `\[kb-[a-z0-9-]+\]`, Require: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := problemOf(t, req, Input{Text: "F = ma [kb-newton-2]"}); got != "none" {
		t.Errorf("required rule met: %q", got)
	}
	if got := problemOf(t, req, Input{Text: "F = ma"}); got != "cites a source" {
		t.Errorf("required rule missed: %q", got)
	}
	for _, bad := range []RegexRule{{Name: "", Pattern: "x"}, {Name: "x", Pattern: "("}} {
		if _, err := NewRegexValidator(bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewRegexValidator(%+v) = %v", bad, err)
		}
	}
}
