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
	Subject string
	Grade   int
	Tenant  string
	Locale  string
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
	Content string
}

// Snippet is a knowledge-base passage.
type Snippet struct {
	ID      string // cited by the answer, e.g. "kb-newton-2"
	Text    string
	Summary string // optional shorter version, used when the text doesn't fit a budget
}

// Example is a worked example: a question and its model answer.
type Example struct {
	Question string
	Answer   string
}

// validate checks q and returns an [*InputError] for the first problem.
func (q *Question) validate(maxBytes int) error {
	if strings.TrimSpace(q.Text) == "" {
		return &InputError{Field: "Text", Err: ErrEmptyQuestion}
	}
	if maxBytes > 0 && len(q.Text) > maxBytes {
		return &InputError{Field: "Text", Err: fmt.Errorf("%w: %d bytes, limit %d", ErrTooLong, len(q.Text), maxBytes)}
	}
	if err := checkUTF8("Text", q.Text); err != nil {
		return err
	}
	if err := checkUTF8("SystemPrompt", q.SystemPrompt); err != nil {
		return err
	}
	for i, m := range q.History {
		if !knownRole(m.Role) {
			return &InputError{Field: fmt.Sprintf("History[%d].Role", i), Err: fmt.Errorf("%w %q", ErrUnknownRole, m.Role)}
		}
		if err := checkUTF8(fmt.Sprintf("History[%d].Content", i), m.Content); err != nil {
			return err
		}
	}
	for i, s := range q.Snippets {
		if err := checkUTF8(fmt.Sprintf("Snippets[%d].Text", i), s.Text); err != nil {
			return err
		}
		if err := checkUTF8(fmt.Sprintf("Snippets[%d].Summary", i), s.Summary); err != nil {
			return err
		}
	}
	for i, e := range q.Examples {
		if err := checkUTF8(fmt.Sprintf("Examples[%d].Question", i), e.Question); err != nil {
			return err
		}
		if err := checkUTF8(fmt.Sprintf("Examples[%d].Answer", i), e.Answer); err != nil {
			return err
		}
	}
	if len(q.Context) > 0 && !json.Valid(q.Context) {
		return &InputError{Field: "Context", Err: ErrInvalidJSON}
	}
	return nil
}

func checkUTF8(field, s string) error {
	if utf8.ValidString(s) {
		return nil
	}
	return &InputError{Field: field, Err: ErrInvalidUTF8}
}

func knownRole(r string) bool {
	switch r {
	case RoleSystem, RoleDeveloper, RoleUser, RoleAssistant, RoleTool:
		return true
	}
	return false
}
