package batch

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"

	openai "github.com/sashabaranov/go-openai"
)

// ID returns a stable custom_id for a chat completion request: "req-"
// followed by a digest of the request's JSON, the same in every process.
// [Client.Run] uses it for a [Request] without a CustomID.
func ID(body openai.ChatCompletionRequest) string {
	b, err := json.Marshal(body)
	if err != nil {
		b = fmt.Appendf(nil, "%#v", body)
	}
	sum := sha256.Sum256(b)
	return "req-" + hex.EncodeToString(sum[:16])
}

// inputLine is one line of an input file.
type inputLine struct {
	CustomID string                       `json:"custom_id"`
	Method   string                       `json:"method"`
	URL      openai.BatchEndpoint         `json:"url"`
	Body     openai.ChatCompletionRequest `json:"body"`
}

// encodeLine returns the JSONL line of a request, without the newline.
func encodeLine(r Request) ([]byte, error) {
	return json.Marshal(inputLine{CustomID: r.CustomID, Method: http.MethodPost, URL: openai.BatchEndpointChatCompletions, Body: r.Body})
}

// part is one input file of a job: the indexes of its requests and their
// lines.
type part struct {
	idx  []int
	data []byte
}

// split groups lines (nil for a request that is not sent) into parts of at
// most maxReq lines and maxBytes bytes, each line followed by '\n', in
// order. It returns the parts and the indexes of the lines larger than
// maxBytes on their own.
func split(lines [][]byte, maxReq, maxBytes int) (parts []part, tooLarge []int) {
	var cur part
	for i, l := range lines {
		if l == nil {
			continue
		}
		n := len(l) + 1
		if n > maxBytes {
			tooLarge = append(tooLarge, i)
			continue
		}
		if len(cur.idx) > 0 && (len(cur.idx) == maxReq || len(cur.data)+n > maxBytes) {
			parts = append(parts, cur)
			cur = part{}
		}
		cur.idx = append(cur.idx, i)
		cur.data = append(append(cur.data, l...), '\n')
	}
	if len(cur.idx) > 0 {
		parts = append(parts, cur)
	}
	return parts, tooLarge
}

// outputLine is a line of an output or error file.
type outputLine struct {
	CustomID *string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		RequestID  string          `json:"request_id"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// customIDPattern finds a custom_id in a line that is not valid JSON, such
// as one cut short.
var customIDPattern = regexp.MustCompile(`"custom_id"\s*:\s*("(?:[^"\\]|\\.)*")`)

// parseFile reads an output or error file (JSONL; blank lines are skipped)
// and calls emit for each line: a Result with Response or Err set, or,
// for a line whose custom_id cannot be told, a nil Result and a
// [*LineError]. It returns the reader's error, if any.
func parseFile(r io.Reader, fileID string, emit func(res *Result, lineErr *LineError)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		raw, err := br.ReadBytes('\n')
		if len(raw) > 0 {
			parseLine(bytes.TrimSpace(raw), fileID, n, emit)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func parseLine(raw []byte, fileID string, n int, emit func(*Result, *LineError)) {
	if len(raw) == 0 {
		return
	}
	bad := func(id, reason string) {
		le := &LineError{File: fileID, Line: n, CustomID: id, Reason: reason}
		if id == "" {
			emit(nil, le)
			return
		}
		emit(&Result{CustomID: id, Err: le}, nil)
	}
	var l outputLine
	if err := json.Unmarshal(raw, &l); err != nil {
		bad(recoverID(raw), "not valid JSON: "+err.Error())
		return
	}
	if l.CustomID == nil || *l.CustomID == "" {
		bad("", "no custom_id")
		return
	}
	id := *l.CustomID
	switch {
	case l.Response != nil && l.Response.StatusCode == http.StatusOK:
		var resp openai.ChatCompletionResponse
		if err := json.Unmarshal(l.Response.Body, &resp); err != nil {
			bad(id, "response body is not a chat completion: "+err.Error())
			return
		}
		emit(&Result{CustomID: id, Response: &resp}, nil)
	case l.Response != nil && l.Response.StatusCode != 0:
		ie := &ItemError{CustomID: id, StatusCode: l.Response.StatusCode, RequestID: l.Response.RequestID}
		var body struct {
			Error *struct {
				Code    any    `json:"code"`
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(l.Response.Body, &body) == nil && body.Error != nil {
			ie.Type, ie.Message = body.Error.Type, body.Error.Message
			switch c := body.Error.Code.(type) {
			case string:
				ie.Code = c
			case float64:
				ie.Code = strconv.FormatFloat(c, 'f', -1, 64)
			}
		}
		emit(&Result{CustomID: id, Err: ie}, nil)
	case l.Error != nil:
		emit(&Result{CustomID: id, Err: &ItemError{CustomID: id, Code: l.Error.Code, Message: l.Error.Message}}, nil)
	default:
		bad(id, "neither a response nor an error")
	}
}

// recoverID returns the custom_id of a line that is not valid JSON, or "".
func recoverID(raw []byte) string {
	m := customIDPattern.FindSubmatch(raw)
	if m == nil {
		return ""
	}
	var id string
	if json.Unmarshal(m[1], &id) != nil {
		return ""
	}
	return id
}
