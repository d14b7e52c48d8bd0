package companion

import (
	"context"
	"errors"
	"io"
	"net/http"
)

// watchDoer is the go-openai HTTPDoer of a Companion: the host's client,
// whose response bodies are watched when the request's context asks for it,
// so that a body that ends early can be told from one that is complete but
// not valid JSON. go-openai reports both as io.ErrUnexpectedEOF.
type watchDoer struct{ hc *http.Client }

// bodyWatch records how a response body ended.
type bodyWatch struct {
	err error // the first read error other than io.EOF
}

type bodyWatchKey struct{}

func (d watchDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.hc.Do(req)
	if err != nil {
		return resp, err
	}
	if w, ok := req.Context().Value(bodyWatchKey{}).(*bodyWatch); ok {
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
	return classify(ctx, err)
}
