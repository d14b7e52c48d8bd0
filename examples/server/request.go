package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/companion-go/companion"
)

// askRequest is the body of POST /ask and POST /ask/stream. Field names
// are matched case-insensitively, as encoding/json does; unknown fields
// are refused.
type askRequest struct {
	Text     string              `json:"text"`               // the question; Question.Text
	Subject  string              `json:"subject,omitempty"`  // Question.Subject
	Grade    int                 `json:"grade,omitempty"`    // Question.Grade
	Tenant   string              `json:"tenant,omitempty"`   // Question.Tenant
	Locale   string              `json:"locale,omitempty"`   // Question.Locale
	System   string              `json:"system,omitempty"`   // the system prompt; Question.SystemPrompt
	History  []companion.Message `json:"history,omitempty"`  // earlier turns, {"role", "content"}
	Snippets []companion.Snippet `json:"snippets,omitempty"` // passages, {"id", "text", "summary"}
	Personal bool                `json:"personal,omitempty"` // Question.Personal
}

// requestError is a request refused before it reaches Companion: the
// status to answer and why.
type requestError struct {
	status int
	msg    string
}

// Error says what is wrong with the request.
func (e *requestError) Error() string { return e.msg }

// question reads r's body as an askRequest and returns it as a Question.
// It refuses, with the status to answer:
//   - a Content-Type other than application/json (charset utf-8 allowed,
//     none other): 415;
//   - a body longer than lim.MaxBody: 413, before reading any of it when
//     the Content-Length says so;
//   - a body that has not arrived whole within lim.BodyTimeout: 408, and
//     the connection is closed;
//   - a body that is not valid UTF-8, or whose strings escape a lone
//     UTF-16 surrogate (encoding/json would turn both into U+FFFD without
//     a word): 400;
//   - a body that is not one JSON object of askRequest's fields: 400.
//
// Once the body is read it lifts the connection's read deadline, so that
// neither the body timeout nor the server's ReadTimeout limits the turn.
func (a *app) question(w http.ResponseWriter, r *http.Request) (companion.Question, error) {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return companion.Question{}, err
	}
	body, err := a.readBody(w, r)
	if err != nil {
		return companion.Question{}, err
	}
	if err := checkText(body); err != nil {
		return companion.Question{}, err
	}
	var req askRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return companion.Question{}, &requestError{http.StatusBadRequest, "bad JSON: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return companion.Question{}, &requestError{http.StatusBadRequest, "bad JSON: data after the object"}
	}
	return companion.Question{
		Text: req.Text, Subject: req.Subject, Grade: req.Grade, Tenant: req.Tenant, Locale: req.Locale,
		SystemPrompt: req.System, History: req.History, Snippets: req.Snippets, Personal: req.Personal,
	}, nil
}

// checkContentType accepts application/json, with no parameter but an
// optional charset=utf-8 (RFC 8259 JSON is UTF-8).
func checkContentType(v string) error {
	const want = "Content-Type must be application/json"
	if v == "" {
		return &requestError{http.StatusUnsupportedMediaType, want}
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil || mt != "application/json" {
		return &requestError{http.StatusUnsupportedMediaType, want + ", not " + v}
	}
	for k, p := range params {
		if k != "charset" || !strings.EqualFold(p, "utf-8") {
			return &requestError{http.StatusUnsupportedMediaType, want + " (charset utf-8 or none), not " + v}
		}
	}
	return nil
}

// readBody reads r's whole body within the limits and then lifts the
// connection's read deadline.
func (a *app) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", a.lim.MaxBody)}
	if r.ContentLength > a.lim.MaxBody {
		w.Header().Set("Connection", "close")
		return nil, tooLarge
	}
	rc := http.NewResponseController(w)
	// An error means the connection cannot take deadlines (a test
	// recorder); ReadTimeout, when set, still bounds the body.
	_ = rc.SetReadDeadline(time.Now().Add(a.lim.BodyTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.lim.MaxBody))
	if err != nil {
		w.Header().Set("Connection", "close")
		var mbe *http.MaxBytesError
		var ne interface{ Timeout() bool }
		switch {
		case errors.As(err, &mbe):
			return nil, tooLarge
		case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
			return nil, &requestError{http.StatusRequestTimeout, fmt.Sprintf("request body not received within %v", a.lim.BodyTimeout)}
		}
		return nil, &requestError{http.StatusBadRequest, "reading the body: " + err.Error()}
	}
	_ = rc.SetReadDeadline(time.Time{})
	return body, nil
}

// checkText refuses a body that is not valid UTF-8, or that escapes a
// UTF-16 surrogate outside a valid pair (\ud800 alone): encoding/json
// decodes both to U+FFFD silently, and the student's text would not be
// what they sent.
func checkText(b []byte) error {
	if !utf8.Valid(b) {
		return &requestError{http.StatusBadRequest, "bad JSON: the body is not valid UTF-8"}
	}
	// A backslash can only appear inside a JSON string; a body where it
	// appears elsewhere is not JSON and the decoder refuses it anyway.
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			continue
		}
		if b[i+1] != 'u' {
			i++ // \", \\, \n, …: skip the escaped character
			continue
		}
		r, ok := hex4(b[i+2:])
		if !ok {
			continue // not JSON: the decoder says why
		}
		switch {
		case r >= 0xd800 && r < 0xdc00: // high surrogate: a low one must follow
			lo, ok := rune(0), false
			if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				lo, ok = hex4(b[i+8:])
			}
			if !ok || lo < 0xdc00 || lo >= 0xe000 {
				return &requestError{http.StatusBadRequest, "bad JSON: a string escapes a lone UTF-16 surrogate"}
			}
			i += 11
		case r >= 0xdc00 && r < 0xe000:
			return &requestError{http.StatusBadRequest, "bad JSON: a string escapes a lone UTF-16 surrogate"}
		default:
			i += 5
		}
	}
	return nil
}

// hex4 parses the four hex digits that start b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
