package companion

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Roles of chat messages in a [Question]'s history.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Question is one student turn: what the student asked and everything the
// answer may depend on. Only Text is required.
type Question struct {
	// Text is the student's question. Required; must be valid UTF-8 and
	// not longer than [WithMaxQuestionBytes].
	Text string
	// History holds the earlier turns of the conversation, oldest first.
	History []Message
	// SystemPrompt is the tutor's instructions, sent as the system message.
	SystemPrompt string
	// Subject, Grade, Tenant and Locale describe who asks; caches keep
	// answers for different values apart.
	Subject string // the course or topic, e.g. "physics"; "" when none
	Grade   int    // the student's school grade or level; 0 when unknown
	Tenant  string // the school or customer asking, kept apart from other tenants; "" for one tenant
	Locale  string // the answer's language and region, e.g. "en-GB"; "" when unspecified
	// Snippets are knowledge-base passages the answer may draw on.
	Snippets []Snippet
	// Examples are worked examples the tutor may imitate.
	Examples []Example
	// Context is structured JSON context (a student profile, the exercise
	// being worked on). It must be valid JSON when set.
	Context json.RawMessage
	// Model overrides the Companion's model for this turn.
	Model string
	// MaxTokens bounds the answer's length; 0 leaves it to the API.
	MaxTokens int
	// Personal marks a question whose answer is personalized (it uses the
	// student's name, grades or history); such answers are never cached.
	Personal bool
}

// Message is one message of a conversation's history.
type Message struct {
	Role    string // RoleUser, RoleAssistant, RoleSystem, RoleDeveloper or RoleTool
	Content string // the message's text; valid UTF-8
}

// Snippet is a knowledge-base passage.
type Snippet struct {
	ID      string // cited by the answer, e.g. "kb-newton-2"
	Text    string // the passage in full
	Summary string // optional shorter version, used when the text doesn't fit a budget
}

// Example is a worked example: a question and its model answer.
type Example struct {
	Question string // the example's question
	Answer   string // its model answer, for the tutor to imitate
}

// validate checks q and returns an [*InputError] for the first problem.
func (q *Question) validate(maxBytes int) error {
	if strings.TrimSpace(q.Text) == "" {
		return &InputError{Field: "Text", Err: ErrEmptyQuestion}
	}
	if q.MaxTokens < 0 {
		return &InputError{Field: "MaxTokens", Err: fmt.Errorf("%w: %d", ErrInvalidRequest, q.MaxTokens)}
	}
	if maxBytes > 0 && len(q.Text) > maxBytes {
		return &InputError{Field: "Text", Err: fmt.Errorf("%w: %d bytes, limit %d", ErrTooLong, len(q.Text), maxBytes)}
	}
	if !utf8.ValidString(q.Text) {
		return invalidUTF8("Text")
	}
	if !utf8.ValidString(q.SystemPrompt) {
		return invalidUTF8("SystemPrompt")
	}
	for i, m := range q.History {
		if !knownRole(m.Role) {
			return &InputError{Field: fmt.Sprintf("History[%d].Role", i), Err: fmt.Errorf("%w %q", ErrUnknownRole, m.Role)}
		}
		if !utf8.ValidString(m.Content) {
			return invalidUTF8(fmt.Sprintf("History[%d].Content", i))
		}
	}
	for i, s := range q.Snippets {
		switch {
		case !utf8.ValidString(s.ID):
			return invalidUTF8(fmt.Sprintf("Snippets[%d].ID", i))
		case !utf8.ValidString(s.Text):
			return invalidUTF8(fmt.Sprintf("Snippets[%d].Text", i))
		case !utf8.ValidString(s.Summary):
			return invalidUTF8(fmt.Sprintf("Snippets[%d].Summary", i))
		}
	}
	for i, e := range q.Examples {
		switch {
		case !utf8.ValidString(e.Question):
			return invalidUTF8(fmt.Sprintf("Examples[%d].Question", i))
		case !utf8.ValidString(e.Answer):
			return invalidUTF8(fmt.Sprintf("Examples[%d].Answer", i))
		}
	}
	switch {
	case !utf8.ValidString(q.Subject):
		return invalidUTF8("Subject")
	case !utf8.ValidString(q.Tenant):
		return invalidUTF8("Tenant")
	case !utf8.ValidString(q.Locale):
		return invalidUTF8("Locale")
	}
	if len(q.Context) > 0 && !json.Valid(q.Context) {
		return &InputError{Field: "Context", Err: ErrInvalidJSON}
	}
	return nil
}

func invalidUTF8(field string) error { return &InputError{Field: field, Err: ErrInvalidUTF8} }

func knownRole(r string) bool {
	switch r {
	case RoleSystem, RoleDeveloper, RoleUser, RoleAssistant, RoleTool:
		return true
	}
	return false
}
