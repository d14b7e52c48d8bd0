package openaigo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/transport"
	openai "github.com/sashabaranov/go-openai"
)

// apiError is OpenAI's error object.
type apiError struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   string `json:"-"` // "" is null
	Code    any    `json:"-"` // a string or a number; nil, "" or 0 is null
}

// MarshalJSON writes the four fields, param and code as null when unset,
// as the API does.
func (e *apiError) MarshalJSON() ([]byte, error) {
	type wire struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    any     `json:"code"`
	}
	w := wire{Message: e.Message, Type: e.Type, Code: e.Code}
	if e.Param != "" {
		w.Param = &e.Param
	}
	switch c := e.Code.(type) {
	case string:
		if c == "" {
			w.Code = nil
		}
	case int:
		if c == 0 {
			w.Code = nil // go-openai reads a null code as 0
		}
	}
	return json.Marshal(w)
}

// errorBody is an error response's body.
type errorBody struct {
	Error *apiError `json:"error"`
}

// errorFor maps an error of Companion's to a status, OpenAI's error object
// and extra headers (nil when none); see the package doc.
func errorFor(err error) (int, *apiError, http.Header) {
	var (
		up  *companion.UpstreamError
		in  *companion.InputError
		bl  *companion.BlockedError
		api *openai.APIError
		req *openai.RequestError
	)
	switch {
	case errors.As(err, &bl):
		return http.StatusUnprocessableEntity, &apiError{Message: bl.Error(), Type: "content_filter_error", Code: "answer_blocked"}, nil
	case errors.As(err, &in):
		return http.StatusBadRequest, &apiError{Message: in.Error(), Type: "invalid_request_error", Param: paramName(in.Field)}, nil
	case errors.Is(err, companion.ErrClosed):
		return http.StatusServiceUnavailable, &apiError{Message: err.Error(), Type: "server_error", Code: "companion_closed"}, nil
	case errors.Is(err, transport.ErrCircuitOpen):
		return http.StatusServiceUnavailable, &apiError{Message: err.Error(), Type: "server_error", Code: "upstream_circuit_open"}, nil
	case errors.As(err, &up) && up.StatusCode >= 400:
		var h http.Header
		if up.RetryAfter > 0 {
			h = http.Header{}
			h.Set("Retry-After", strconv.FormatInt(int64((up.RetryAfter+time.Second-1)/time.Second), 10))
			h.Set("Retry-After-Ms", strconv.FormatInt(up.RetryAfter.Milliseconds(), 10))
		}
		if errors.As(err, &api) {
			e := &apiError{Message: api.Message, Type: api.Type, Code: api.Code}
			if api.Param != nil {
				e.Param = *api.Param
			}
			if e.Type == "" {
				e.Type = typeFor(up.StatusCode)
			}
			return up.StatusCode, e, h
		}
		msg := up.Error()
		if errors.As(err, &req) && len(req.Body) > 0 {
			body := req.Body[:min(len(req.Body), maxErrorBody)]
			msg = "companion: upstream answered " + strconv.Itoa(up.StatusCode) + ": " + strings.ToValidUTF8(string(body), "\uFFFD")
		}
		return up.StatusCode, &apiError{Message: msg, Type: typeFor(up.StatusCode)}, h
	case errors.As(err, &up):
		code := "upstream_malformed_response"
		switch {
		case errors.Is(err, companion.ErrUnreachable):
			code = "upstream_unreachable"
		case errors.Is(err, companion.ErrStreamInterrupted):
			code = "upstream_stream_interrupted"
		}
		return http.StatusBadGateway, &apiError{Message: up.Error(), Type: "server_error", Code: code}, nil
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, &apiError{Message: err.Error(), Type: "server_error", Code: "timeout"}, nil
	case errors.Is(err, context.Canceled):
		return 499, &apiError{Message: err.Error(), Type: "server_error", Code: "canceled"}, nil
	}
	return http.StatusInternalServerError, &apiError{Message: err.Error(), Type: "server_error"}, nil
}

// maxErrorBody bounds how much of an upstream's error body that is not
// OpenAI's error object goes into the message.
const maxErrorBody = 1 << 10

// typeFor is the API's error type for a status.
func typeFor(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}

// paramName spells a field of go-openai's request as the API does:
// "Messages[2].MultiContent[0].Text" is "messages[2].content[0].text". The
// whole request ("Request") is no param.
func paramName(field string) string {
	if field == "" || field == "Request" {
		return ""
	}
	parts := strings.Split(field, ".")
	for i, p := range parts {
		name, index, _ := strings.Cut(p, "[")
		if name == "MultiContent" {
			name = "Content"
		}
		if index != "" {
			index = "[" + index
		}
		parts[i] = snake(name) + index
	}
	return strings.Join(parts, ".")
}

// snake turns a Go name into snake case: "MaxTokens" is "max_tokens".
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// badJSON is the API's answer to a body that does not parse.
func badJSON() *apiError {
	return &apiError{
		Message: "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. " +
			"The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
		Type: "invalid_request_error",
	}
}
