package moderation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
)

// Validator checks the format of an answer. Validate returns nil when the
// format is fine, a [*FormatError] naming the first problem otherwise, or
// another error when it cannot check. A validator is safe for concurrent
// use and must not panic on any input.
//
// A pipeline runs validators through [WithValidator], which says what a
// problem does (flag or block).
type Validator interface {
	// Validate returns nil when in.Text has the right format, a
	// [*FormatError] for the first problem, or another error when it
	// cannot check.
	Validate(in *Input) error
}

// ValidatorFunc adapts a function to the [Validator] interface.
type ValidatorFunc func(in *Input) error

// Validate calls f.
func (f ValidatorFunc) Validate(in *Input) error { return f(in) }

// ---- Markdown and LaTeX ----

// MarkdownValidator checks a Markdown answer with LaTeX maths, as a tutor
// writes them; it skips answers whose request asked for JSON. Its problems:
//
//   - "unclosed code fence": a ``` or ~~~ fence (CommonMark: up to three
//     spaces of indent, closed by a line of at least as many of the same
//     character) that is never closed;
//   - "unbalanced $$", "unbalanced \[", "unbalanced \(": a display or
//     inline maths delimiter without its partner;
//   - "unbalanced $": an inline "$" that opens maths (pandoc's rule: it is
//     followed by a non-space) and has no closing "$" (preceded by a
//     non-space, not followed by a digit) in its paragraph. A "$" followed
//     by a digit with no closing "$" on its line is a currency sign, and
//     "\$" is a literal dollar.
//
// Text inside code fences and inline code spans is not checked for maths.
// The zero value is ready to use.
type MarkdownValidator struct{}

// Validate checks in.Text unless in.Format.JSON is set.
func (MarkdownValidator) Validate(in *Input) error {
	if in.Format.JSON {
		return nil
	}
	if p, at := checkMarkdown(in.Text); p != "" {
		return &FormatError{Validator: "markdown", Problem: p, Offset: at}
	}
	return nil
}

// checkMarkdown returns the first problem of text and its offset, or "".
func checkMarkdown(text string) (string, int) {
	prose := []byte(text)
	fenceProblem, fenceAt := blankFences(prose)
	blankCodeSpans(prose)
	p, at := checkMath(prose)
	if fenceProblem != "" && (p == "" || fenceAt < at) {
		return fenceProblem, fenceAt
	}
	return p, at
}

// blankFences replaces the lines of fenced code blocks (fences included)
// with spaces, keeping the newlines, and reports a fence left open.
func blankFences(t []byte) (string, int) {
	var (
		open     bool
		fc       byte
		flen     int
		openedAt int
	)
	for start := 0; start < len(t); {
		end := bytes.IndexByte(t[start:], '\n')
		if end < 0 {
			end = len(t)
		} else {
			end += start
		}
		line := t[start:end]
		ind := 0
		for ind < len(line) && ind < 4 && line[ind] == ' ' {
			ind++
		}
		c, n := byte(0), 0
		if ind < 4 && ind < len(line) && (line[ind] == '`' || line[ind] == '~') {
			c = line[ind]
			for ind+n < len(line) && line[ind+n] == c {
				n++
			}
		}
		switch {
		case !open && n >= 3 && (c == '~' || !bytes.ContainsRune(line[ind+n:], '`')):
			open, fc, flen, openedAt = true, c, n, start
			blank(line)
		case open && c == fc && n >= flen && len(bytes.TrimSpace(line[ind+n:])) == 0:
			open = false
			blank(line)
		case open:
			blank(line)
		}
		start = end + 1
	}
	if open {
		return "unclosed code fence", openedAt
	}
	return "", 0
}

func blank(b []byte) {
	for i := range b {
		if b[i] != '\n' {
			b[i] = ' '
		}
	}
}

// blankCodeSpans replaces inline code spans (CommonMark: a run of n
// backticks up to the next run of exactly n, within a paragraph) with
// spaces.
func blankCodeSpans(t []byte) {
	for i := 0; i < len(t); {
		if t[i] == '\\' {
			i += 2
			continue
		}
		if t[i] != '`' {
			i++
			continue
		}
		n := 0
		for i+n < len(t) && t[i+n] == '`' {
			n++
		}
		closeAt := -1
		for j := i + n; j < len(t); {
			if t[j] == '\n' && paragraphEnds(t, j) {
				break
			}
			if t[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(t) && t[j+m] == '`' {
				m++
			}
			if m == n {
				closeAt = j
				break
			}
			j += m
		}
		if closeAt < 0 {
			i += n
			continue
		}
		blank(t[i : closeAt+n])
		i = closeAt + n
	}
}

// paragraphEnds reports whether the newline at t[i] is followed by a blank
// line.
func paragraphEnds(t []byte, i int) bool {
	for j := i + 1; j < len(t); j++ {
		switch t[j] {
		case ' ', '\t', '\r':
			continue
		case '\n':
			return true
		}
		return false
	}
	return true
}

// Maths modes.
const (
	mathNone = iota
	mathDollar2
	mathParen
	mathBracket
)

// checkMath checks the maths delimiters of prose (code already blanked).
func checkMath(t []byte) (string, int) {
	mode, openAt := mathNone, 0
	for i := 0; i < len(t); {
		c := t[i]
		if c == '\\' {
			if i+1 >= len(t) {
				break
			}
			switch t[i+1] {
			case '(':
				if mode == mathNone {
					mode, openAt = mathParen, i
				}
			case '[':
				if mode == mathNone {
					mode, openAt = mathBracket, i
				}
			case ')':
				switch mode {
				case mathParen:
					mode = mathNone
				case mathNone:
					return `unbalanced \(`, i
				}
			case ']':
				switch mode {
				case mathBracket:
					mode = mathNone
				case mathNone:
					return `unbalanced \[`, i
				}
			}
			i += 2
			continue
		}
		if c != '$' {
			i++
			continue
		}
		if i+1 < len(t) && t[i+1] == '$' {
			switch mode {
			case mathNone:
				mode, openAt = mathDollar2, i
			case mathDollar2:
				mode = mathNone
			}
			i += 2
			continue
		}
		if mode != mathNone || i+1 >= len(t) || isSpaceByte(t[i+1]) {
			i++ // a literal dollar
			continue
		}
		digit := t[i+1] >= '0' && t[i+1] <= '9'
		if j := inlineClose(t, i+1, digit); j >= 0 {
			i = j + 1
			continue
		}
		if digit {
			i++ // a currency sign
			continue
		}
		return "unbalanced $", i
	}
	switch mode {
	case mathDollar2:
		return "unbalanced $$", openAt
	case mathParen:
		return `unbalanced \(`, openAt
	case mathBracket:
		return `unbalanced \[`, openAt
	}
	return "", 0
}

// inlineClose finds the "$" that closes inline maths opened before t[from]:
// preceded by a non-space, not followed by a digit, within the line (when
// lineOnly) or the paragraph. It returns -1 when there is none.
func inlineClose(t []byte, from int, lineOnly bool) int {
	for k := from; k < len(t); k++ {
		switch t[k] {
		case '\\':
			k++
		case '\n':
			if lineOnly || paragraphEnds(t, k) {
				return -1
			}
		case '$':
			if k+1 < len(t) && t[k+1] == '$' {
				return -1 // display maths begins: the inline "$" is unclosed
			}
			if !isSpaceByte(t[k-1]) && (k+1 >= len(t) || t[k+1] < '0' || t[k+1] > '9') {
				return k
			}
		}
	}
	return -1
}

func isSpaceByte(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// ---- JSON ----

// JSONValidator checks an answer whose request asked for JSON
// (in.Format.JSON); it skips the others. The answer must be one JSON
// object and nothing else but surrounding white space — no prose, no code
// fence, no comments, no trailing commas, no single quotes, no invalid
// escapes — else the problem is "invalid json". With a schema
// (in.Format.Schema), the object is checked against it: "missing field X"
// (the first missing in "required" order), "wrong type X",
// "unexpected field X" or "invalid value X", where X is a path such as
// "steps" or "steps[1]" or "meta.grade". The zero value is ready to use.
type JSONValidator struct{}

// Validate checks in.Text when in.Format.JSON is set.
func (JSONValidator) Validate(in *Input) error {
	if !in.Format.JSON {
		return nil
	}
	if p := checkJSON(in.Text, in.Format.Schema); p != "" {
		return &FormatError{Validator: "json", Problem: p, Offset: -1}
	}
	return nil
}

func checkJSON(text string, s *Schema) string {
	t := bytes.TrimSpace([]byte(text))
	if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return "invalid json"
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "invalid json"
	}
	if s == nil {
		return ""
	}
	return s.check(v, "")
}

// Schema is a small subset of JSON Schema, enough for a tutor's structured
// answers: "type" (a name or a list of names: object, array, string,
// number, integer, boolean, null), "required", "properties", "items",
// "enum" and "additionalProperties": false. Other keywords are ignored.
// Extra fields are allowed unless additionalProperties is false.
type Schema struct {
	Type                 []string           // allowed type names; empty allows any type
	Required             []string           // fields an object must have
	Properties           map[string]*Schema // the schemas of an object's fields, by name
	Items                *Schema            // the schema of every element of an array; nil allows any
	Enum                 []any              // the allowed values, decoded JSON; empty allows any
	AdditionalProperties *bool              // false refuses fields not in Properties; nil or true allows them
}

// ParseSchema parses a JSON Schema document into a [Schema]. It returns a
// [*ConfigError] when the document is not a schema it understands.
func ParseSchema(doc []byte) (*Schema, error) {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, &ConfigError{Field: "Schema", Reason: err.Error()}
	}
	return schemaFrom(raw, "")
}

func schemaFrom(raw any, path string) (*Schema, error) {
	bad := func(why string) error {
		where := "Schema"
		if path != "" {
			where += " at " + path
		}
		return &ConfigError{Field: where, Reason: why}
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, bad("not an object")
	}
	s := &Schema{}
	switch t := obj["type"].(type) {
	case nil:
	case string:
		s.Type = []string{t}
	case []any:
		for _, x := range t {
			name, ok := x.(string)
			if !ok {
				return nil, bad("type list holds a non-string")
			}
			s.Type = append(s.Type, name)
		}
	default:
		return nil, bad("type is neither a string nor a list")
	}
	for _, t := range s.Type {
		switch t {
		case "object", "array", "string", "number", "integer", "boolean", "null":
		default:
			return nil, bad(fmt.Sprintf("unknown type %q", t))
		}
	}
	if r, ok := obj["required"]; ok {
		list, ok := r.([]any)
		if !ok {
			return nil, bad("required is not a list")
		}
		for _, x := range list {
			name, ok := x.(string)
			if !ok {
				return nil, bad("required holds a non-string")
			}
			s.Required = append(s.Required, name)
		}
	}
	if p, ok := obj["properties"]; ok {
		props, ok := p.(map[string]any)
		if !ok {
			return nil, bad("properties is not an object")
		}
		s.Properties = make(map[string]*Schema, len(props))
		for name, sub := range props {
			ps, err := schemaFrom(sub, joinPath(path, name))
			if err != nil {
				return nil, err
			}
			s.Properties[name] = ps
		}
	}
	if it, ok := obj["items"]; ok {
		is, err := schemaFrom(it, path+"[]")
		if err != nil {
			return nil, err
		}
		s.Items = is
	}
	if e, ok := obj["enum"]; ok {
		list, ok := e.([]any)
		if !ok {
			return nil, bad("enum is not a list")
		}
		s.Enum = list
	}
	if ap, ok := obj["additionalProperties"]; ok {
		if b, ok := ap.(bool); ok {
			s.AdditionalProperties = &b
		}
	}
	return s, nil
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// check returns the first problem of v against s, or "".
func (s *Schema) check(v any, path string) string {
	name := path
	if name == "" {
		name = "(root)"
	}
	if len(s.Type) > 0 && !slices.ContainsFunc(s.Type, func(t string) bool { return hasType(v, t) }) {
		return "wrong type " + name
	}
	if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e any) bool { return jsonEqual(e, v) }) {
		return "invalid value " + name
	}
	switch x := v.(type) {
	case map[string]any:
		for _, r := range s.Required {
			if _, ok := x[r]; !ok {
				return "missing field " + joinPath(path, r)
			}
		}
		for _, k := range s.propertyOrder(x) {
			sub, ok := s.Properties[k]
			if !ok {
				if s.AdditionalProperties != nil && !*s.AdditionalProperties {
					return "unexpected field " + joinPath(path, k)
				}
				continue
			}
			if p := sub.check(x[k], joinPath(path, k)); p != "" {
				return p
			}
		}
	case []any:
		if s.Items != nil {
			for i, e := range x {
				if p := s.Items.check(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
					return p
				}
			}
		}
	}
	return ""
}

// propertyOrder lists the keys of an object in checking order: the
// required ones in "required" order, then the others sorted.
func (s *Schema) propertyOrder(x map[string]any) []string {
	keys := make([]string, 0, len(x))
	done := make(map[string]bool, len(s.Required))
	for _, r := range s.Required {
		if _, ok := x[r]; ok && !done[r] {
			done[r] = true
			keys = append(keys, r)
		}
	}
	rest := make([]string, 0, len(x))
	for k := range x {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

func hasType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		if _, err := n.Int64(); err == nil {
			return true
		}
		f, err := n.Float64()
		return err == nil && f == float64(int64(f))
	}
	return false
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// ---- regular expressions ----

// RegexRule is one rule of a [RegexValidator].
type RegexRule struct {
	// Name is the problem reported when the rule fails, e.g.
	// "template placeholder". Required.
	Name string
	// Pattern is the regular expression (RE2 syntax, as package regexp).
	// Required.
	Pattern string
	// Require: the text must match Pattern. Default false: the text must
	// not match it.
	Require bool
}

// RegexValidator checks an answer against regular expressions compiled
// once, when it is made. Rules run in order and the first that fails is
// the problem. It is safe for concurrent use.
type RegexValidator struct {
	rules []compiledRule
}

type compiledRule struct {
	RegexRule
	re *regexp.Regexp
}

// NewRegexValidator compiles rules. It returns a [*ConfigError] for a rule
// without a name or with a pattern that does not compile.
func NewRegexValidator(rules ...RegexRule) (*RegexValidator, error) {
	v := &RegexValidator{}
	for i, r := range rules {
		if r.Name == "" {
			return nil, &ConfigError{Field: fmt.Sprintf("RegexRule[%d].Name", i), Reason: "empty"}
		}
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			return nil, &ConfigError{Field: fmt.Sprintf("RegexRule[%d].Pattern", i), Reason: err.Error()}
		}
		v.rules = append(v.rules, compiledRule{RegexRule: r, re: re})
	}
	return v, nil
}

// DefaultRegexRules are rules for a tutor's answer that no model output
// should break: no unfilled template placeholder ("{{student_name}}"), no
// leaked reasoning tags ("<think>"), no script tags, no Markdown link
// without a target ("[see here]()"). Each pattern starts with a literal,
// so a scan skips ahead to it (a pattern without one costs ten times more
// on a 2 KB answer).
func DefaultRegexRules() []RegexRule {
	return []RegexRule{
		{Name: "template placeholder", Pattern: `\{\{[^{}\n]{0,64}\}\}`},
		{Name: "reasoning tag", Pattern: `</?(?:think|thinking|reasoning)>`},
		{Name: "script tag", Pattern: `<(?i:script|iframe)\b`},
		{Name: "empty link", Pattern: `\]\(\s*\)`},
	}
}

// Validate checks in.Text against the rules.
func (v *RegexValidator) Validate(in *Input) error {
	for _, r := range v.rules {
		loc := r.re.FindStringIndex(in.Text)
		switch {
		case loc != nil && !r.Require:
			return &FormatError{Validator: "regex", Problem: r.Name, Offset: loc[0]}
		case loc == nil && r.Require:
			return &FormatError{Validator: "regex", Problem: r.Name, Offset: -1}
		}
	}
	return nil
}

var (
	_ Validator = MarkdownValidator{}
	_ Validator = JSONValidator{}
	_ Validator = (*RegexValidator)(nil)
	_ Validator = ValidatorFunc(nil)
)

// formatProblem returns the problem of a validator's error, or "" when err
// is not a *FormatError.
func formatProblem(err error) (*FormatError, bool) {
	var fe *FormatError
	if errors.As(err, &fe) {
		return fe, true
	}
	return nil, false
}
