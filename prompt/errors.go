package prompt

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Build's errors match one of them with errors.Is; the
// typed errors below carry the details.
var (
	// ErrInvalidUTF8: a text of the input is not valid UTF-8. The error is
	// an [*InputError] naming the field.
	ErrInvalidUTF8 = errors.New("prompt: invalid UTF-8")
	// ErrInvalidJSON: the input's context is not valid JSON.
	ErrInvalidJSON = errors.New("prompt: invalid JSON context")
	// ErrUnknownRole: a history message has a role other than system,
	// developer, user, assistant or tool.
	ErrUnknownRole = errors.New("prompt: unknown role")
	// ErrInvalidBudget: a budget or reserve is negative, or the reserve
	// leaves no room for a prompt.
	ErrInvalidBudget = errors.New("prompt: invalid budget")
	// ErrOverBudget: the parts that cannot be left out (the system prompt
	// and the question, with their message framing) do not fit the
	// budget. The error is a [*BudgetError].
	ErrOverBudget = errors.New("prompt: mandatory parts exceed the budget")
	// ErrInvalidConfig: an option given to [NewBuilder] is invalid; the
	// error is a [*ConfigError].
	ErrInvalidConfig = errors.New("prompt: invalid config")
)

// InputError reports an invalid [Input]: Err is [ErrInvalidUTF8],
// [ErrInvalidJSON], [ErrUnknownRole] or [ErrInvalidBudget].
type InputError struct {
	Field string // for example "Snippets[2].Text" or "Budget"
	Err   error  // the sentinel that says what is wrong, e.g. [ErrInvalidUTF8]
}

// Error names the field and the problem.
func (e *InputError) Error() string {
	return fmt.Sprintf("prompt: invalid input: %s: %s", e.Field, strings.TrimPrefix(e.Err.Error(), "prompt: "))
}

// Unwrap returns the sentinel that says what is wrong.
func (e *InputError) Unwrap() error { return e.Err }

// BudgetError reports that the mandatory parts of a prompt need more
// tokens than its limit (the budget less the reserve). It matches
// [ErrOverBudget].
type BudgetError struct {
	Limit    int // Budget − Reserve
	Required int // tokens of the system prompt, the question and their framing
}

// Error gives the tokens needed and the limit.
func (e *BudgetError) Error() string {
	return fmt.Sprintf("prompt: mandatory parts need %d tokens, the budget leaves %d", e.Required, e.Limit)
}

// Is reports whether target is [ErrOverBudget].
func (e *BudgetError) Is(target error) bool { return target == ErrOverBudget }

// ConfigError reports an invalid option given to [NewBuilder]. It matches
// [ErrInvalidConfig].
type ConfigError struct {
	Option string // for example "WithBudget"
	Reason string // what is wrong with its value
}

// Error names the option and the reason.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("prompt: invalid config: %s: %s", e.Option, e.Reason)
}

// Is reports whether target is [ErrInvalidConfig].
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }
