package openaigo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
)

// decodeRequest decodes a chat completion request body into go-openai's
// type, or says why it cannot (an error for a 400): the body is not valid
// UTF-8, not one JSON object, has a field of the wrong type, or has a part
// go-openai's type would lose (see the package doc).
func decodeRequest(body []byte) (openai.ChatCompletionRequest, *apiError) {
	var req openai.ChatCompletionRequest
	if !utf8.Valid(body) {
		return req, &apiError{Message: "openaigo: the request body is not valid UTF-8.", Type: "invalid_request_error", Code: "invalid_encoding"}
	}
	raw, err := decodeJSON(body)
	if err != nil {
		return req, badJSON()
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return req, &apiError{Message: "openaigo: the request body must be a JSON object.", Type: "invalid_request_error"}
	}
	if s, ok := obj["stop"].(string); ok {
		obj["stop"] = []any{s} // go-openai's Stop is a list only
	}
	normal, err := json.Marshal(obj)
	if err != nil {
		return req, badJSON() // cannot happen: obj came from JSON
	}
	if err := json.Unmarshal(normal, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return req, &apiError{
				Message: fmt.Sprintf("Invalid type for '%s': %s is not %s.", te.Field, te.Value, typeName(te)),
				Type:    "invalid_request_error",
				Param:   te.Field,
				Code:    "invalid_type",
			}
		}
		return req, &apiError{Message: "openaigo: the request does not fit go-openai's type: " + err.Error(), Type: "invalid_request_error"}
	}
	// go-openai omits a zero temperature and top_p, and the API's default
	// for both is 1: send the smallest value that is not zero instead.
	if isZero(obj["temperature"]) {
		req.Temperature = math.SmallestNonzeroFloat32
	}
	if isZero(obj["top_p"]) {
		req.TopP = math.SmallestNonzeroFloat32
	}
	again, err := json.Marshal(req)
	if err != nil {
		return req, &apiError{Message: "openaigo: " + err.Error(), Type: "invalid_request_error"}
	}
	back, err := decodeJSON(again)
	if err != nil {
		return req, badJSON() // cannot happen: json.Marshal wrote it
	}
	if path, ok := lost(obj, back, ""); ok {
		return req, &apiError{
			Message: fmt.Sprintf("openaigo: Companion cannot pass '%s' on: go-openai's chat completion request has no place for it. "+
				"Send this request without the Companion adapter.", path),
			Type:  "invalid_request_error",
			Param: path,
			Code:  "unsupported_parameter",
		}
	}
	return req, nil
}

// decodeJSON decodes exactly one JSON value, numbers as json.Number.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("openaigo: data after the JSON value")
	}
	return v, nil
}

// lost finds the first part of orig that back does not have (or has
// otherwise), and returns its path; parts whose value is a default (null,
// false, 0, "", {}, []) may be missing.
func lost(orig, back any, path string) (string, bool) {
	switch o := orig.(type) {
	case map[string]any:
		b, ok := back.(map[string]any)
		if !ok {
			return path, !isDefault(orig)
		}
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			bv, ok := b[k]
			if !ok {
				if isDefault(o[k]) {
					continue
				}
				return p, true
			}
			if p, bad := lost(o[k], bv, p); bad {
				return p, true
			}
		}
		return "", false
	case []any:
		b, ok := back.([]any)
		if !ok || len(b) != len(o) {
			return path, !(isDefault(orig) && back == nil)
		}
		for i := range o {
			if p, bad := lost(o[i], b[i], path+"["+strconv.Itoa(i)+"]"); bad {
				return p, true
			}
		}
		return "", false
	case json.Number:
		b, ok := back.(json.Number)
		if !ok {
			return path, back != nil || !isDefault(orig)
		}
		return path, !sameNumber(o, b)
	case nil:
		return "", false
	}
	if back == nil && isDefault(orig) {
		return "", false
	}
	return path, orig != back
}

// sameNumber reports whether a and b are the same number, up to the
// precision of a float32 (go-openai's sampling parameters are float32).
func sameNumber(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, err1 := a.Float64()
	y, err2 := b.Float64()
	if err1 != nil || err2 != nil {
		return false
	}
	return math.Abs(x-y) <= 1e-6*max(1, math.Abs(x))
}

// isDefault reports whether v is null, false, zero, "", {} or [].
func isDefault(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case string:
		return v == ""
	case json.Number:
		return isZero(v)
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// isZero reports whether v is the number 0.
func isZero(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	f, err := n.Float64()
	return err == nil && f == 0
}

// typeName says what type a field wanted, as the API's messages do.
func typeName(te *json.UnmarshalTypeError) string {
	switch te.Type.Kind().String() {
	case "int", "int64", "int32", "int8", "int16", "uint", "uint64", "uint32":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	}
	return "an object"
}
