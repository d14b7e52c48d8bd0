package companiontest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Server is a fake OpenAI-compatible API on loopback. Create one with
// [NewServer] (started) or [NewUnstartedServer] (call Start), point a client
// at URL and Close it when done.
type Server struct {
	// URL is the API's base URL, ending in "/v1", for example
	// "http://127.0.0.1:41234/v1". It is empty until the server starts.
	URL string

	// HTTP is the underlying httptest server. Configure it (TLS,
	// EnableHTTP2) before Start on an unstarted Server.
	HTTP *httptest.Server

	mu       sync.Mutex
	cfg      config
	rng      *rand.Rand
	requests []Request
	seq      int64 // request sequence, for ids

	batches batchState // files and batches; see batch.go
}

// Request is one request the server received, recorded for assertions.
type Request struct {
	Method string      // HTTP method, e.g. "POST"
	Path   string      // URL path, e.g. "/v1/chat/completions"
	Header http.Header // the request's headers, Authorization included; a copy
	Body   []byte      // the request's body as received, up to the server's size limit
	Time   time.Time   // when the server received the request
}

// NewServer starts a fake server on a random loopback port. It panics if it
// cannot listen, as httptest.NewServer does, for ease of use in tests.
func NewServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	s.Start()
	return s
}

// NewUnstartedServer returns a fake server that is not yet listening. Call
// Start (or StartTLS) after adjusting s.HTTP.
func NewUnstartedServer(opts ...Option) *Server {
	s := &Server{cfg: defaultConfig()}
	for _, o := range opts {
		o.apply(&s.cfg)
	}
	s.rng = rand.New(rand.NewPCG(s.cfg.seed, s.cfg.seed^0x9e3779b97f4a7c15))
	s.batches.init()
	s.HTTP = httptest.NewUnstartedServer(s.handler())
	return s
}

// Start starts a plain HTTP server.
func (s *Server) Start() {
	s.HTTP.Start()
	s.URL = s.HTTP.URL + "/v1"
}

// StartTLS starts the server with TLS (and HTTP/2 when s.HTTP.EnableHTTP2
// is set). Use [Server.Client] for a client that trusts its certificate.
func (s *Server) StartTLS() {
	s.HTTP.StartTLS()
	s.URL = s.HTTP.URL + "/v1"
}

// Client returns an HTTP client configured for the server (it trusts the
// server's certificate when started with TLS).
func (s *Server) Client() *http.Client { return s.HTTP.Client() }

// Close shuts the server down and blocks until all outstanding requests on
// it have completed. Pending latency sleeps end early.
func (s *Server) Close() {
	s.batches.stop()
	s.HTTP.CloseClientConnections()
	s.HTTP.Close()
}

// Requests returns a copy of the requests received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	copy(out, s.requests)
	return out
}

// RequestCount returns how many requests to path (for example
// "/v1/chat/completions") the server received; "" counts all.
func (s *Server) RequestCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if path == "" {
		return len(s.requests)
	}
	n := 0
	for _, r := range s.requests {
		if r.Path == path {
			n++
		}
	}
	return n
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

// SetLatency changes the latency model for requests that arrive from now on.
func (s *Server) SetLatency(l Latency) {
	s.mu.Lock()
	s.cfg.latency = l
	s.mu.Unlock()
}

// SetFaults replaces the injected faults for requests that arrive from now on.
// With no arguments, faults are turned off.
func (s *Server) SetFaults(faults ...Fault) {
	s.mu.Lock()
	s.cfg.faults = append([]Fault(nil), faults...)
	s.mu.Unlock()
}

func (s *Server) latency() Latency {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.latency
}

func (s *Server) nextID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.seq
}

// maxBody bounds request bodies; the real API's limit is larger, but no test
// needs more.
const maxBody = 64 << 20

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	mux.HandleFunc("POST /v1/embeddings", s.handleEmbeddings)
	mux.HandleFunc("POST /v1/moderations", s.handleModerations)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	s.batchRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "unknown_url",
			"Unknown request URL: "+r.Method+" "+r.URL.Path+".")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every response has a request id, errors included, as the API's
		// do (the SDKs expose it as the error's request id).
		w.Header().Set("x-request-id", s.genID("req_", 32))
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "", "could not read body: "+err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Time: time.Now(),
		})
		key := s.cfg.apiKey
		s.mu.Unlock()
		if key != "" && r.Header.Get("Authorization") != "Bearer "+key {
			writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key",
				"Incorrect API key provided.")
			return
		}
		if s.injectFault(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list"}
	for _, m := range []string{"gpt-5", "gpt-5-mini", "gpt-4.1", "gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "omni-moderation-latest"} {
		out.Data = append(out.Data, model{ID: m, Object: "model", Created: 1700000000, OwnedBy: "companiontest"})
	}
	writeJSON(w, http.StatusOK, out)
}

// sleep waits for d or until ctx is done; it reports whether the full
// duration passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is the API's error object.
type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// writeError writes an error in the API's format:
// {"error": {"message", "type", "param", "code"}}.
func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	e := apiError{Message: msg, Type: typ}
	if code != "" {
		e.Code = &code
	}
	writeJSON(w, status, struct {
		Error apiError `json:"error"`
	}{e})
}

// trimV1 strips the "/v1" prefix of a path.
func trimV1(p string) string { return strings.TrimPrefix(p, "/v1") }
