package companion

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/companion-go/companion/transport"
)

// watchDoer is the go-openai HTTPDoer of a Companion: the host's client,
// whose response bodies are watched when the request's context asks for it,
// so that a body that ends early can be told from one that is complete but
// not valid JSON. go-openai reports both as io.ErrUnexpectedEOF.
type watchDoer struct{ hc *http.Client }

// bodyWatch records how a response body ended, and what an error
// response asked of the client.
type bodyWatch struct {
	err        error         // the first read error other than io.EOF
	retryAfter time.Duration // an error response's wait, 0 if it named none
	circuit    bool          // the transport replayed a failure: nothing was sent
	header     http.Header   // an error response's headers
}

type bodyWatchKey struct{}

func (d watchDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.hc.Do(req)
	if err != nil {
		return resp, err
	}
	if w, ok := req.Context().Value(bodyWatchKey{}).(*bodyWatch); ok {
		if resp.StatusCode >= 400 {
			w.retryAfter, _ = transport.RetryAfter(resp.Header, time.Now())
			w.circuit = resp.Header.Get(transport.CircuitHeader) != ""
			w.header = resp.Header.Clone()
		}
		resp.Body = &watchedBody{ReadCloser: resp.Body, w: w}
	}
	return resp, nil
}

type watchedBody struct {
	io.ReadCloser
	w *bodyWatch
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && b.w.err == nil {
		b.w.err = err
	}
	return n, err
}

// watch returns a context under which the response body of a call is
// watched.
func watch(ctx context.Context) (context.Context, *bodyWatch) {
	w := &bodyWatch{}
	return context.WithValue(ctx, bodyWatchKey{}, w), w
}

// classifyBody is classify for a call whose body was watched: a JSON
// decoder's io.ErrUnexpectedEOF on a body that ended cleanly means the JSON
// was cut short by the server, not by the network.
func classifyBody(ctx context.Context, err error, w *bodyWatch) error {
	if errors.Is(err, io.ErrUnexpectedEOF) && w.err == nil && ctx.Err() == nil {
		return &UpstreamError{Kind: ErrMalformedResponse, Err: err}
	}
	err = classify(ctx, err)
	var ue *UpstreamError
	if errors.As(err, &ue) && ue.StatusCode >= 400 {
		ue.RetryAfter, ue.Header = w.retryAfter, w.header
		if w.circuit {
			ue.Kind = ErrCircuitOpen
		}
	}
	return err
}
