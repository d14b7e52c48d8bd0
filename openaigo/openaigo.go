package openaigo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/companion-go/companion"
	"github.com/openai/openai-go/v3/option"
)

// Middleware returns an openai-go middleware, for [option.WithMiddleware],
// that answers every POST to …/chat/completions with c and passes every
// other request to the next handler untouched. Among several middlewares
// it runs where it is listed: the ones before it see every request, the
// ones after it only the requests it passes on. The SDK's retry loop is
// outside the middlewares, but the error responses tell the SDK not to
// retry (Companion has retried already; see the package doc), so a chat
// completion is one call of c. A nil c passes every request on.
func Middleware(c *companion.Companion) option.Middleware {
	return func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		if c == nil || !isChatCompletion(req) {
			return next(req)
		}
		return respond(c, req)
	}
}

// Handler returns an [http.Handler] that answers every POST to a path
// ending in /chat/completions with c, streaming server-sent events as they
// arrive (each chunk flushed), and passes every other request to next,
// for example an [net/http/httputil.ReverseProxy] to the API. Mounted at
// "/v1/", it makes an OpenAI-compatible endpoint for clients in any
// language. A nil next answers the other requests 404 in OpenAI's error
// shape; a nil c passes every request to next.
func Handler(c *companion.Companion, next http.Handler) http.Handler {
	return &handler{c: c, next: next}
}

// handler is the [http.Handler] of [Handler].
type handler struct {
	c    *companion.Companion
	next http.Handler
}

var _ http.Handler = (*handler)(nil)

// ServeHTTP answers a chat completion with the Companion and passes other
// requests on.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.c == nil || !isChatCompletion(r) {
		if h.next != nil {
			h.next.ServeHTTP(w, r)
			return
		}
		writeResponse(w, errorResponse(r, http.StatusNotFound, &apiError{
			Message: "Unknown request URL: " + r.Method + " " + r.URL.Path + ".",
			Type:    "invalid_request_error",
			Code:    "unknown_url",
		}, nil))
		return
	}
	resp, err := respond(h.c, r)
	if err != nil {
		// The call's context ended: the client has gone or given up, and
		// the status is for the logs.
		resp = failure(r, err)
	}
	writeResponse(w, resp)
}

// writeResponse copies resp to w, flushing after every piece of the body,
// and closes the body.
func writeResponse(w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	if resp.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the client has gone; Close stops the stream
			}
			_ = rc.Flush() // a writer that cannot flush still gets the bytes
		}
		if err != nil {
			return
		}
	}
}

// isChatCompletion reports whether r creates a chat completion.
func isChatCompletion(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/chat/completions")
}

// respond answers a chat completion request with c. The error is the
// context's, when the call's context ended; every other failure is an
// error response.
func respond(c *companion.Companion, r *http.Request) (*http.Response, error) {
	body, status, aerr := readBody(r)
	if aerr != nil {
		return errorResponse(r, status, aerr, nil), nil
	}
	req, aerr := decodeRequest(body)
	if aerr != nil {
		return errorResponse(r, http.StatusBadRequest, aerr, nil), nil
	}
	ctx := r.Context()
	if req.Stream {
		return respondStream(ctx, c, r, req)
	}
	resp, err := c.CreateChatCompletion(ctx, req)
	if err != nil {
		return failed(r, err)
	}
	data, err := encodeResponse(resp)
	if err != nil {
		return failed(r, fmt.Errorf("openaigo: encode response: %w", err))
	}
	h := responseHeader(resp.Header())
	h.Set("Content-Type", "application/json")
	return newResponse(r, http.StatusOK, h, bytes.NewReader(data), int64(len(data))), nil
}

// failed returns the context's error when the call's context ended, and
// otherwise the error response for err.
func failed(r *http.Request, err error) (*http.Response, error) {
	if ctxErr := r.Context().Err(); ctxErr != nil {
		return nil, ctxErr
	}
	return failure(r, err), nil
}

// failure is the error response for err.
func failure(r *http.Request, err error) *http.Response {
	status, aerr, h := errorFor(err)
	return errorResponse(r, status, aerr, h)
}

// errorResponse is an error in OpenAI's shape with the given status. h
// holds extra headers, or is nil.
func errorResponse(r *http.Request, status int, aerr *apiError, h http.Header) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Request-Id", newRequestID())
	if h.Get("X-Should-Retry") == "" {
		h.Set("X-Should-Retry", "false")
	}
	data, _ := json.Marshal(errorBody{Error: aerr}) // strings and a string-or-nil: cannot fail
	return newResponse(r, status, h, bytes.NewReader(data), int64(len(data)))
}

// newResponse makes the response to r. size is the body's length, or -1
// when unknown.
func newResponse(r *http.Request, status int, h http.Header, body io.Reader, size int64) *http.Response {
	rc, ok := body.(io.ReadCloser)
	if !ok {
		rc = io.NopCloser(body)
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          rc,
		ContentLength: size,
		Request:       r,
	}
}

// maxBody bounds the request bodies the adapter reads.
const maxBody = 32 << 20

// readBody reads and closes r's body.
func readBody(r *http.Request) ([]byte, int, *apiError) {
	if r.Body == nil {
		return nil, http.StatusBadRequest, badJSON()
	}
	defer r.Body.Close()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, http.StatusBadRequest, &apiError{Message: "openaigo: could not read the request body: " + err.Error(), Type: "invalid_request_error"}
	}
	if len(body) > maxBody {
		return nil, http.StatusRequestEntityTooLarge, &apiError{
			Message: fmt.Sprintf("openaigo: the request body is larger than %d bytes.", maxBody),
			Type:    "invalid_request_error",
			Code:    "request_too_large",
		}
	}
	return body, 0, nil
}

// skipHeaders are the upstream's headers a response does not pass on: hop
// by hop, framing of a body that is encoded again, and cookies of the
// Companion's own client.
var skipHeaders = map[string]bool{
	"Connection":        true,
	"Keep-Alive":        true,
	"Proxy-Connection":  true,
	"Transfer-Encoding": true,
	"Upgrade":           true,
	"Te":                true,
	"Trailer":           true,
	"Content-Length":    true,
	"Content-Encoding":  true,
	"Content-Type":      true,
	"Set-Cookie":        true,
}

// responseHeader is the header of a response from the mirrors' header,
// with an x-request-id.
func responseHeader(upstream http.Header) http.Header {
	h := http.Header{}
	for k, v := range upstream {
		if skipHeaders[http.CanonicalHeaderKey(k)] {
			continue
		}
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
	if h.Get("X-Request-Id") == "" {
		h.Set("X-Request-Id", newRequestID())
	}
	return h
}

// newRequestID makes a request ID in OpenAI's format: "req_" and 32 hex
// digits.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "req_" + hex.EncodeToString(b[:])
}

// isContext reports whether err is a context's error.
func isContext(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
