package semantic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// OpenAI verifier defaults.
const (
	// DefaultVerifierModel is the small chat model the OpenAI verifier
	// asks.
	DefaultVerifierModel = "gpt-4o-mini"
	// DefaultVerifierTimeout bounds one judgement; past it the pair is a
	// miss.
	DefaultVerifierTimeout = 2 * time.Second
)

// ErrVerifier: the verifier's answer was unusable (not the strict JSON
// asked for). The tier treats it, as any verifier error, as a miss.
var ErrVerifier = errors.New("semantic: bad verifier answer")

// verifierPrompt tells the model what to judge. The pair comes as JSON in
// the user message, so a question cannot break out of its field.
const verifierPrompt = `You decide whether a cached answer may be served for a new question in a tutoring app.
You get JSON {"cached": question the answer was written for, "asked": new question}.
Answer "same": true only if an answer to "cached" fully and correctly answers "asked":
same numbers, units, formulas, entities, direction and roles, same kind of question (who/when/why/how…), nothing added or left out that changes the answer.
Wording, language register, politeness and question frames do not matter. When in doubt, answer false.
Reply with JSON only: {"same": true} or {"same": false}.`

var verifierSchema = json.RawMessage(`{"type":"object","properties":{"same":{"type":"boolean"}},"required":["same"],"additionalProperties":false}`)

// VerifierOption configures [NewOpenAIVerifier].
type VerifierOption interface{ applyVerifier(*OpenAIVerifier) }

type verifierOptionFunc func(*OpenAIVerifier)

func (f verifierOptionFunc) applyVerifier(v *OpenAIVerifier) { f(v) }

// WithVerifierModel sets the chat model. Default [DefaultVerifierModel].
func WithVerifierModel(model string) VerifierOption {
	return verifierOptionFunc(func(v *OpenAIVerifier) { v.model = model })
}

// WithVerifierTimeout bounds each judgement; positive. Default
// [DefaultVerifierTimeout].
func WithVerifierTimeout(d time.Duration) VerifierOption {
	return verifierOptionFunc(func(v *OpenAIVerifier) { v.timeout = d })
}

// WithVerifierErrorRate states how often the model is wrong, as measured
// on the user's own labelled pairs, in [0, 0.5); the error bound
// ([WithMaxError]) discounts its yes by it. Default 0: taken at its word,
// which no model deserves; measure it.
func WithVerifierErrorRate(e float64) VerifierOption {
	return verifierOptionFunc(func(v *OpenAIVerifier) { v.errRate = e })
}

// OpenAIVerifier is a [Verifier] that asks a small chat model, in strict
// JSON mode at temperature 0, whether two questions are the same. Each
// judgement has a short timeout; any failure (timeout, API error, an
// answer that is not the JSON asked for) is an error, which the tier
// treats as a miss. The tier caches its decisions per pair and coalesces
// concurrent questions about one pair ([WithVerifier]). Safe for
// concurrent use.
type OpenAIVerifier struct {
	client  *openai.Client
	model   string
	timeout time.Duration
	errRate float64
}

var (
	_ Verifier   = (*OpenAIVerifier)(nil)
	_ ErrorRater = (*OpenAIVerifier)(nil)
)

// NewOpenAIVerifier returns a verifier asking client's chat model. It
// returns an error matching [ErrInvalidConfig] for a nil client or an
// invalid option.
func NewOpenAIVerifier(client *openai.Client, opts ...VerifierOption) (*OpenAIVerifier, error) {
	if client == nil {
		return nil, configErrorf("nil OpenAI client")
	}
	v := &OpenAIVerifier{client: client, model: DefaultVerifierModel, timeout: DefaultVerifierTimeout}
	for _, o := range opts {
		if o != nil {
			o.applyVerifier(v)
		}
	}
	switch {
	case v.model == "":
		return nil, configErrorf("empty verifier model")
	case v.timeout <= 0:
		return nil, configErrorf("verifier timeout %v not positive", v.timeout)
	case !(v.errRate >= 0 && v.errRate < 0.5):
		return nil, configErrorf("verifier error rate %v not in [0, 0.5)", v.errRate)
	}
	return v, nil
}

// ErrorRate returns the error rate set by [WithVerifierErrorRate].
func (v *OpenAIVerifier) ErrorRate() float64 { return v.errRate }

// Verify asks the model about one pair.
func (v *OpenAIVerifier) Verify(ctx context.Context, cached, asked string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	pair, err := json.Marshal(map[string]string{"cached": cached, "asked": asked})
	if err != nil {
		return false, err
	}
	resp, err := v.client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
		Model: v.model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: verifierPrompt},
			{Role: openai.ChatMessageRoleUser, Content: string(pair)},
		},
		// go-openai omits a zero temperature, which the API reads as 1.
		Temperature: math.SmallestNonzeroFloat32,
		MaxTokens:   16,
		ResponseFormat: &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
				Name: "same_question", Schema: verifierSchema, Strict: true,
			},
		},
	})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return false, fmt.Errorf("semantic: verifier: %w", ctxErr)
		}
		return false, fmt.Errorf("semantic: verifier: %w", err)
	}
	return parseVerdict(resp)
}

// parseVerdict reads {"same": bool} from the first choice, and nothing
// else.
func parseVerdict(resp openai.ChatCompletionResponse) (bool, error) {
	if len(resp.Choices) == 0 {
		return false, fmt.Errorf("%w: no choice", ErrVerifier)
	}
	var out struct {
		Same *bool `json:"same"`
	}
	dec := json.NewDecoder(strings.NewReader(resp.Choices[0].Message.Content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil || out.Same == nil || dec.More() {
		return false, fmt.Errorf("%w: %q", ErrVerifier, truncate(resp.Choices[0].Message.Content, 80))
	}
	return *out.Same, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
