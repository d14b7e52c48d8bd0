package moderation

import (
	"strings"
	"unicode/utf8"
)

// Action is what a check decides about a text. Actions are ordered: a
// verdict takes the strongest action of its findings.
type Action int

// The actions, weakest first.
const (
	// Allow: the text may be shown as it is.
	Allow Action = iota
	// Flag: the text may be shown as it is; the finding is for logs and
	// review.
	Flag
	// Mask: the text may be shown with each character of the finding's
	// span replaced by '*'.
	Mask
	// Block: the text must not be shown.
	Block
)

// String returns "allow", "flag", "mask" or "block".
func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Flag:
		return "flag"
	case Mask:
		return "mask"
	case Block:
		return "block"
	}
	return "Action(?)"
}

func (a Action) valid() bool { return a >= Allow && a <= Block }

// Severity grades a listed term. By default it decides the action of a hit
// (see [Severity.Action]).
type Severity int

// The severities, lowest first.
const (
	Low Severity = iota + 1
	Medium
	High
)

// String returns "low", "medium" or "high".
func (s Severity) String() string {
	switch s {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return "Severity(?)"
}

// Action returns the default action for a hit of this severity: High
// blocks, Medium masks, Low flags.
func (s Severity) Action() Action {
	switch s {
	case High:
		return Block
	case Medium:
		return Mask
	case Low:
		return Flag
	}
	return Allow
}

// Format is the format a request asked the answer to have.
type Format struct {
	// JSON: the request asked for a JSON object. Then [JSONValidator]
	// checks the answer and [MarkdownValidator] does not.
	JSON bool
	// Schema is the schema of that object; nil accepts any object.
	Schema *Schema
}

// Input is what the checks look at: an answer and what its request asked.
type Input struct {
	Text   string // the answer to check, or the part of it streamed so far
	Format Format // what the request asked the answer's format to be; the zero value asks nothing
}

// Finding is one thing a check found.
type Finding struct {
	// Check names the check: "word" for the word list, "format" for the
	// validators, "remote" for the remote moderation adapter, or the name
	// given to [WithChecker].
	Check string
	// Category says what was found: a word list's category ("insult"),
	// a format problem ("unbalanced $$"), a remote category
	// ("harassment"), or "unavailable" when the remote check failed.
	Category string
	// Action is what the finding asks for.
	Action Action
	// Start and End delimit the finding in the text, in bytes; both are 0
	// for a finding about the whole text. A Mask finding always has a span.
	Start, End int
	// Term is the listed term of a word-list hit, in its normalized form
	// (an inflected form reports the term it is a form of). It is not part
	// of String, so logs of reasons do not repeat it.
	Term string
	// Listed is the term of a word-list hit as the list has it
	// ([Entry].Term), before normalization: "ＩＤＩＯＴ" or "13." where Term
	// is "idiot" or "13".
	Listed string
	// Severity is the listed term's severity, 0 for other findings.
	Severity Severity
	// Err is the failure behind a finding of a check that could not be
	// done (the remote check's "unavailable"), nil otherwise.
	Err error
}

// String returns "check:category", for example "word:insult".
func (f Finding) String() string { return f.Check + ":" + f.Category }

// Verdict is the outcome of the checks on one text.
type Verdict struct {
	// Action is the strongest action of the findings, Allow when there are
	// none.
	Action Action
	// Text is the text with every Mask finding's span masked, when Action
	// is Mask; "" otherwise.
	Text string
	// Findings are what the checks found, in the order of the checks, each
	// check's in the order of the text.
	Findings []Finding
}

// Reasons returns the findings as strings ("word:insult"), each once, in
// order.
func (v Verdict) Reasons() []string {
	if len(v.Findings) == 0 {
		return nil
	}
	out := make([]string, 0, len(v.Findings))
	seen := make(map[string]bool, len(v.Findings))
	for _, f := range v.Findings {
		s := f.String()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// verdict builds the verdict on text from findings.
func verdict(text string, findings []Finding) Verdict {
	v := Verdict{Findings: findings}
	for _, f := range findings {
		v.Action = max(v.Action, f.Action)
	}
	if v.Action == Mask {
		v.Text = maskText(text, findings)
	}
	return v
}

// maskText returns text with the span of every Mask finding masked.
func maskText(text string, findings []Finding) string {
	var spans [][2]int
	for _, f := range findings {
		if f.Action == Mask && f.End > f.Start {
			spans = append(spans, [2]int{f.Start, f.End})
		}
	}
	var b strings.Builder
	b.Grow(len(text))
	writeMasked(&b, text, 0, len(text), spans)
	return b.String()
}

// writeMasked writes text[from:to] to b, with every character inside one
// of spans (byte ranges of text) replaced by '*'. Invisible characters
// inside a span (zero-width spaces and the like) are left out, so that the
// mask shows one star per visible character.
func writeMasked(b *strings.Builder, text string, from, to int, spans [][2]int) {
	i := from
	for i < to {
		in := false
		for _, sp := range spans {
			if i >= sp[0] && i < sp[1] {
				in = true
				break
			}
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case !in:
			b.WriteString(text[i : i+size])
		case r < utf8.RuneSelf || !isInvisibleInText(r):
			b.WriteByte('*')
		}
		i += size
	}
}

// isInvisibleInText reports whether r, a character of the original text,
// is dropped by normalization.
func isInvisibleInText(r rune) bool {
	if r < 0x10000 {
		t := runes()
		e := t.entry[r]
		return e&replBit != 0 && t.repl[e&^replBit].s == ""
	}
	return normalizeRuneSlow(r) == ""
}
