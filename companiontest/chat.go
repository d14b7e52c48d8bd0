package companiontest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/companion-go/companion/prompt"
)

// POST /v1/chat/completions
//
// The request is parsed and validated as the real API does it (400
// invalid_request_error naming the bad param), the reply comes from the
// scripted tutor ([Answer]), and the usage counts are real tiktoken counts:
// prompt tokens as the API bills a chat prompt, completion tokens of the
// content. max_completion_tokens (or the older max_tokens) truncates the
// reply and sets finish_reason "length". Only n = 1 is supported. Tools,
// response_format, temperature and the other sampling params are accepted
// and ignored.
//
// Latency: the handler waits Latency.TimeToFirstToken(prompt tokens) before
// the response headers, then PerOutputToken for every completion token after
// the first — between stream chunks, or all at once before a JSON reply.

// systemFingerprint is the fake backend's fingerprint.
const systemFingerprint = "fp_c0a11e5d7e"

// chatRequest is the part of CreateChatCompletionRequest the server reads.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stream              *bool           `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	N                   *int            `json:"n"`
	Tools               []chatTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Name    string          `json:"name"`
}

// contentPart is one element of an array content.
type contentPart struct {
	Type    string  `json:"type"`
	Text    *string `json:"text"`
	Refusal *string `json:"refusal"`
}

var chatRoles = []string{"system", "assistant", "user", "function", "tool", "developer"}

// chatTurn is a validated request with its reply worked out.
type chatTurn struct {
	model            string
	stream           bool
	includeUsage     bool
	messages         []prompt.Message
	counter          *prompt.Counter
	content          string // the reply, truncated to the token limit
	finishReason     string // "stop" or "length"
	promptTokens     int
	completionTokens int
	tool             *toolCall // a tool call in place of the reply (tools.go)
}

// requestError is a 4xx answer: status and the API's error object.
type requestError struct {
	status int
	err    apiError
}

func invalidParam(param, code, msg string) *requestError {
	e := &requestError{status: http.StatusBadRequest, err: apiError{Message: msg, Type: "invalid_request_error"}}
	if param != "" {
		e.err.Param = &param
	}
	if code != "" {
		e.err.Code = &code
	}
	return e
}

func (e *requestError) body() any {
	return struct {
		Error apiError `json:"error"`
	}{e.err}
}

func (e *requestError) write(w http.ResponseWriter) { writeJSON(w, e.status, e.body()) }

// errBadJSON is the API's answer to a body that does not parse.
func errBadJSON(err error) *requestError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return invalidParam(te.Field, "invalid_type",
			fmt.Sprintf("Invalid type for '%s': expected %s, but got %s instead.", te.Field, jsonTypeName(te.Type.Kind().String()), te.Value))
	}
	return invalidParam("", "",
		"We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. "+
			"The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)")
}

func jsonTypeName(kind string) string {
	switch kind {
	case "int", "int64", "int32":
		return "an integer"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a " + kind
}

// parseChat validates a chat completion request body and works out the
// reply.
func parseChat(body []byte) (*chatTurn, *requestError) {
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, errBadJSON(err)
	}
	if req.Model == "" {
		return nil, invalidParam("model", "", "you must provide a model parameter")
	}
	if len(req.Messages) == 0 {
		return nil, invalidParam("messages", "empty_array",
			"Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	t := &chatTurn{model: req.Model, stream: req.Stream != nil && *req.Stream}
	if req.StreamOptions != nil {
		if !t.stream {
			return nil, invalidParam("stream_options", "",
				"The 'stream_options' parameter is only allowed when 'stream' is enabled.")
		}
		t.includeUsage = req.StreamOptions.IncludeUsage
	}
	if req.N != nil && *req.N != 1 {
		if *req.N < 1 {
			return nil, invalidParam("n", "integer_below_min_value",
				fmt.Sprintf("Invalid 'n': integer below minimum value. Expected a value >= 1, but got %d instead.", *req.N))
		}
		return nil, invalidParam("n", "unsupported_value", "companiontest supports only n = 1.")
	}
	limit := 0
	for _, p := range []struct {
		name string
		v    *int
	}{{"max_tokens", req.MaxTokens}, {"max_completion_tokens", req.MaxCompletionTokens}} {
		if p.v == nil {
			continue
		}
		if *p.v < 1 {
			return nil, invalidParam(p.name, "integer_below_min_value",
				fmt.Sprintf("Invalid '%s': integer below minimum value. Expected a value >= 1, but got %d instead.", p.name, *p.v))
		}
		limit = *p.v // max_completion_tokens, checked last, wins
	}
	t.messages = make([]prompt.Message, 0, len(req.Messages))
	question, anyText := "", ""
	for i, m := range req.Messages {
		if !containsString(chatRoles, m.Role) {
			if m.Role == "" {
				return nil, invalidParam(fmt.Sprintf("messages[%d].role", i), "missing_required_parameter",
					fmt.Sprintf("Missing required parameter: 'messages[%d].role'.", i))
			}
			return nil, invalidParam(fmt.Sprintf("messages[%d].role", i), "invalid_value",
				fmt.Sprintf("Invalid value: '%s'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.", m.Role))
		}
		text, rerr := messageText(i, m)
		if rerr != nil {
			return nil, rerr
		}
		t.messages = append(t.messages, prompt.Message{Role: m.Role, Content: text, Name: m.Name})
		if m.Role == "user" {
			question = text
		}
		if text != "" {
			anyText = text
		}
	}
	if question == "" {
		question = anyText // no user turn: answer the last message with text
	}
	counter, err := prompt.CounterForModel(req.Model)
	if err != nil {
		return nil, &requestError{status: http.StatusInternalServerError,
			err: apiError{Message: "companiontest: " + err.Error(), Type: "server_error"}}
	}
	t.counter = counter
	t.promptTokens = counter.CountMessages(t.messages)
	answer := Answer(question)
	t.content, t.finishReason, t.completionTokens = answer, "stop", counter.Count(answer)
	if limit > 0 && t.completionTokens > limit {
		t.content = truncateTokens(counter, answer, limit)
		t.finishReason, t.completionTokens = "length", limit
	}
	call, rerr := chooseTool(req.Tools, req.ToolChoice, question)
	if rerr != nil {
		return nil, rerr
	}
	if call != nil {
		t.tool = call
		t.content, t.finishReason, t.completionTokens = "", "tool_calls", counter.Count(call.Name+call.Arguments)
	}
	return t, nil
}

// messageText returns a message's text: its string content or the text of
// its content parts, joined by newlines.
func messageText(i int, m chatMessage) (string, *requestError) {
	param := fmt.Sprintf("messages[%d].content", i)
	c := bytes.TrimSpace(m.Content)
	if len(c) == 0 || string(c) == "null" {
		if m.Role == "assistant" || m.Role == "function" {
			return "", nil // an assistant turn may carry only tool_calls
		}
		return "", invalidParam(param, "missing_required_parameter",
			fmt.Sprintf("Missing required parameter: '%s'.", param))
	}
	switch c[0] {
	case '"':
		var s string
		if err := json.Unmarshal(c, &s); err != nil {
			return "", errBadJSON(err)
		}
		return s, nil
	case '[':
		var parts []contentPart
		if err := json.Unmarshal(c, &parts); err != nil {
			return "", invalidParam(param, "invalid_type",
				fmt.Sprintf("Invalid type for '%s': expected an array of content parts.", param))
		}
		var texts []string
		for j, p := range parts {
			switch p.Type {
			case "text":
				if p.Text == nil {
					return "", invalidParam(fmt.Sprintf("%s[%d].text", param, j), "missing_required_parameter",
						fmt.Sprintf("Missing required parameter: '%s[%d].text'.", param, j))
				}
				texts = append(texts, *p.Text)
			case "refusal":
				if p.Refusal != nil {
					texts = append(texts, *p.Refusal)
				}
			case "image_url", "input_audio", "file":
				// Accepted, not looked at.
			default:
				return "", invalidParam(fmt.Sprintf("%s[%d].type", param, j), "invalid_value",
					fmt.Sprintf("Invalid value: '%s'. Supported values are: 'text', 'image_url', 'input_audio', 'refusal', and 'file'.", p.Type))
			}
		}
		return strings.Join(texts, "\n"), nil
	}
	return "", invalidParam(param, "invalid_type",
		fmt.Sprintf("Invalid type for '%s': expected one of a string or array of objects, but got %s instead.", param, jsonKind(c)))
}

func jsonKind(raw []byte) string {
	switch raw[0] {
	case '{':
		return "an object"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// truncateTokens returns the longest prefix of text (cut at a rune) that
// is at most limit tokens.
func truncateTokens(c *prompt.Counter, text string, limit int) string {
	runes := []rune(text)
	// The first prefix length whose count exceeds the limit; counts grow
	// (almost) monotonically with the prefix, and the result is checked.
	n := sort.Search(len(runes)+1, func(n int) bool { return c.Count(string(runes[:n])) > limit })
	n--
	for n > 0 && c.Count(string(runes[:n])) > limit {
		n--
	}
	return string(runes[:max(n, 0)])
}

// ---- the response objects (CreateChatCompletionResponse) ----

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []chatChoice `json:"choices"`
	Usage             chatUsage    `json:"usage"`
	ServiceTier       string       `json:"service_tier"`
	SystemFingerprint string       `json:"system_fingerprint"`
}

type chatChoice struct {
	Index        int             `json:"index"`
	Message      chatReply       `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

type chatReply struct {
	Role        string          `json:"role"`
	Content     *string         `json:"content"`
	ToolCalls   []wireToolCall  `json:"tool_calls,omitempty"`
	Refusal     *string         `json:"refusal"`
	Annotations json.RawMessage `json:"annotations"`
}

// chatUsage is CompletionUsage with its details.
type chatUsage struct {
	PromptTokens            int                `json:"prompt_tokens"`
	CompletionTokens        int                `json:"completion_tokens"`
	TotalTokens             int                `json:"total_tokens"`
	PromptTokensDetails     promptTokenDetails `json:"prompt_tokens_details"`
	CompletionTokensDetails outputTokenDetails `json:"completion_tokens_details"`
}

type promptTokenDetails struct {
	CachedTokens int `json:"cached_tokens"`
	AudioTokens  int `json:"audio_tokens"`
}

type outputTokenDetails struct {
	ReasoningTokens          int `json:"reasoning_tokens"`
	AudioTokens              int `json:"audio_tokens"`
	AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
	RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
}

var jsonNull = json.RawMessage("null")

func (t *chatTurn) usage() chatUsage {
	return chatUsage{
		PromptTokens:     t.promptTokens,
		CompletionTokens: t.completionTokens,
		TotalTokens:      t.promptTokens + t.completionTokens,
	}
}

func (t *chatTurn) completion(id string, created int64) chatCompletion {
	msg := chatReply{Role: "assistant", Content: &t.content, Annotations: json.RawMessage("[]")}
	if t.tool != nil {
		msg.Content, msg.ToolCalls = nil, t.tool.message()
	}
	return chatCompletion{
		ID: id, Object: "chat.completion", Created: created, Model: t.model,
		Choices: []chatChoice{{
			Index:        0,
			Message:      msg,
			Logprobs:     jsonNull,
			FinishReason: t.finishReason,
		}},
		Usage:             t.usage(),
		ServiceTier:       "default",
		SystemFingerprint: systemFingerprint,
	}
}

// ---- stream chunks (CreateChatCompletionStreamResponse) ----

type chatChunk struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	Created           int64           `json:"created"`
	Model             string          `json:"model"`
	ServiceTier       string          `json:"service_tier"`
	SystemFingerprint string          `json:"system_fingerprint"`
	Choices           []chunkChoice   `json:"choices"`
	Usage             json.RawMessage `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int             `json:"index"`
	Delta        chunkDelta      `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type chunkDelta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	Refusal   json.RawMessage `json:"refusal,omitempty"`
	ToolCalls []wireToolCall  `json:"tool_calls,omitempty"`
}

// streamEvent is one SSE data payload and the decode time to wait before
// sending it.
type streamEvent struct {
	data []byte
	wait time.Duration
}

// events returns the stream of a turn: the role chunk, the content chunks,
// the finish chunk, the usage chunk if asked for; not the final [DONE].
func (t *chatTurn) events(id string, created int64, perToken time.Duration) []streamEvent {
	base := chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: t.model,
		ServiceTier: "default", SystemFingerprint: systemFingerprint}
	if t.includeUsage {
		base.Usage = jsonNull
	}
	var out []streamEvent
	add := func(c chatChunk, wait time.Duration) {
		b, _ := json.Marshal(c)
		out = append(out, streamEvent{data: b, wait: wait})
	}
	empty := ""
	c := base
	c.Choices = []chunkChoice{{Delta: chunkDelta{Role: "assistant", Content: &empty, Refusal: jsonNull}, Logprobs: jsonNull}}
	add(c, 0)
	if t.tool != nil {
		for _, d := range t.tool.deltas() {
			c := base
			c.Choices = []chunkChoice{{Delta: chunkDelta{ToolCalls: d}, Logprobs: jsonNull}}
			add(c, perToken)
		}
	}
	for i, piece := range splitStream(t.content) {
		tokens := t.counter.Count(piece)
		if i == 0 {
			tokens-- // the first token is part of the time to first token
		}
		c := base
		c.Choices = []chunkChoice{{Delta: chunkDelta{Content: &piece}, Logprobs: jsonNull}}
		add(c, time.Duration(max(tokens, 0))*perToken)
	}
	reason := t.finishReason
	c = base
	c.Choices = []chunkChoice{{Delta: chunkDelta{}, Logprobs: jsonNull, FinishReason: &reason}}
	add(c, 0)
	if t.includeUsage {
		c = base
		c.Choices = []chunkChoice{}
		c.Usage, _ = json.Marshal(t.usage())
		add(c, 0)
	}
	return out
}

// splitStream cuts text into stream deltas of about one token: a word with
// its leading space, at most two CJK characters, long words in pieces of
// eight characters. The pieces concatenate to text.
func splitStream(text string) []string {
	var out []string
	start, runes, inWord := 0, 0, false
	flush := func(i int) {
		if i > start {
			out = append(out, text[start:i])
		}
		start, runes, inWord = i, 0, false
	}
	for i, r := range text {
		switch {
		case isCJK(r):
			if runes >= 2 || inWord {
				flush(i)
			}
			runes++
		case unicode.IsSpace(r):
			if inWord || runes > 0 && !unicode.IsSpace(lastRune(text[start:i])) {
				flush(i)
			}
			runes++
		default:
			if runes > 0 && isCJK(lastRune(text[start:i])) || inWord && runes >= 8 {
				flush(i)
			}
			inWord = true
			runes++
		}
	}
	flush(len(text))
	return out
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		r >= 0x3000 && r <= 0x303f || r >= 0xff00 && r <= 0xffef
}

// ---- the handler ----

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	start := time.Now()
	lat := s.latency()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	t, rerr := parseChat(body)
	if rerr != nil {
		if sleep(ctx, lat.RTT) {
			rerr.write(w)
		}
		return
	}
	if !sleep(ctx, lat.TimeToFirstToken(t.promptTokens)) {
		return // the client went away
	}
	id, created := s.genID("chatcmpl-", 29), time.Now().Unix()
	if t.tool != nil {
		t.tool.ID = s.genID("call_", 24)
	}
	fault, _ := bodyFault(r)
	if !t.stream {
		decode := time.Duration(max(t.completionTokens-1, 0)) * lat.PerOutputToken
		if !sleep(ctx, decode) {
			return
		}
		w.Header().Set("openai-processing-ms", strconv.FormatInt(time.Since(start).Milliseconds(), 10))
		writeFaultyJSON(w, http.StatusOK, t.completion(id, created), fault)
		return
	}
	s.streamChat(w, r, t.events(id, created, lat.PerOutputToken), fault)
}

// streamChat sends events as server-sent events, waiting each event's
// decode time first, and ends with "data: [DONE]". A body fault bends the
// stream: see FaultMalformedJSON, FaultDropStream and FaultBrokenSSE.
func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, events []streamEvent, fault *Fault) {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	send := func(data []byte) bool {
		var b bytes.Buffer
		b.Grow(len(data) + 8)
		b.WriteString("data: ")
		b.Write(data)
		b.WriteString("\n\n")
		if _, err := w.Write(b.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	kind := FaultKind(0)
	if fault != nil {
		kind = fault.Kind
	}
	// Each event is due at a fixed time from the first, so that the time
	// the server takes to write an event does not add up over a long
	// answer, as separate sleeps would on a loaded machine.
	due := time.Now()
	for i, ev := range events {
		due = due.Add(ev.wait)
		switch {
		case kind == FaultDropStream && i >= fault.AfterChunks:
			abortResponse(w)
			return
		case kind == FaultMalformedJSON && i == 1:
			// One event whose data is cut in the middle of a JSON object.
			send(ev.data[:len(ev.data)/2])
			send([]byte("[DONE]"))
			return
		case kind == FaultBrokenSSE && i == 2:
			_, _ = io.WriteString(w, "%%% broken SSE framing: not a field, not blank %%%\n"+
				`data: {"id":"`+"\n")
			_ = rc.Flush()
			return // and no [DONE]
		}
		if !sleep(ctx, time.Until(due)) || !send(ev.data) {
			return
		}
	}
	if kind == FaultDropStream {
		abortResponse(w) // AfterChunks ≥ the number of chunks: drop before [DONE]
		return
	}
	send([]byte("[DONE]"))
}

// chatResult answers a chat completion request body without latency or
// faults: status 200 and the completion object, or a 4xx/5xx status and an
// error object. The batch lifecycle uses it to fill output files.
func (s *Server) chatResult(body []byte) (int, any) {
	t, rerr := parseChat(body)
	if rerr != nil {
		return rerr.status, rerr.body()
	}
	if t.tool != nil {
		t.tool.ID = s.genID("call_", 24)
	}
	return http.StatusOK, t.completion(s.genID("chatcmpl-", 29), time.Now().Unix())
}

// genID returns a fresh object id: prefix then n base62 characters, derived
// from the server's id sequence and seed, so ids are unique within a server
// and reproducible.
func (s *Server) genID(prefix string, n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	seq := uint64(s.nextID())
	s.mu.Lock()
	seed := s.cfg.seed
	s.mu.Unlock()
	var b strings.Builder
	b.Grow(len(prefix) + n)
	b.WriteString(prefix)
	x := splitmix(seq ^ splitmix(seed))
	for i := range n {
		if i > 0 && i%10 == 0 {
			x = splitmix(x + seq)
		}
		b.WriteByte(alphabet[x%62])
		x /= 62
	}
	return b.String()
}

// splitmix is splitmix64's finalizer, a bijection on uint64.
func splitmix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
