package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// limits bounds what one client can hold of the server: how long it may
// take to send a request, how big the request may be, how long a write to
// it may block, and how long shutdown waits for turns in flight.
// defaultLimits gives every default.
type limits struct {
	// MaxBody is the largest request body read, in bytes; a larger body is
	// answered 413. Default 1 MiB.
	MaxBody int64
	// HeaderTimeout bounds the reading of a request's headers
	// (http.Server.ReadHeaderTimeout); a client slower than that has its
	// connection closed. Default 5 s.
	HeaderTimeout time.Duration
	// BodyTimeout bounds the reading of a request's body, from the moment
	// the handler starts reading it; a body that has not arrived whole by
	// then is answered 408 and its connection closed. Default 10 s.
	BodyTimeout time.Duration
	// ReadTimeout bounds the reading of a whole request, headers and body
	// (http.Server.ReadTimeout), as a backstop to the two above; it
	// bounds the request, not the turn, which may take longer. Default
	// 15 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write to the client: a JSON response, or
	// one event of a stream. A client that stops reading has its
	// connection closed and its turn stopped. It is not
	// http.Server.WriteTimeout, which would bound a whole stream.
	// Default 10 s.
	WriteTimeout time.Duration
	// IdleTimeout is how long a kept-alive connection may wait for its
	// next request (http.Server.IdleTimeout). Default 2 min.
	IdleTimeout time.Duration
	// Drain is how long shutdown waits for turns in flight, streams
	// included, to finish; turns still running then are cancelled.
	// Default 25 s, under the 30 s a Kubernetes pod gets after SIGTERM.
	Drain time.Duration
}

// defaultLimits returns the limits the server runs with unless flags say
// otherwise.
func defaultLimits() limits {
	return limits{
		MaxBody:       1 << 20,
		HeaderTimeout: 5 * time.Second,
		BodyTimeout:   10 * time.Second,
		ReadTimeout:   15 * time.Second,
		WriteTimeout:  10 * time.Second,
		IdleTimeout:   2 * time.Minute,
		Drain:         25 * time.Second,
	}
}

// server is the HTTP server of an app, with the context every request's
// context derives from: shutdown cancels it, with errShutdown as the
// cause, when the drain time is over.
type server struct {
	http   *http.Server
	drain  time.Duration
	cancel context.CancelCauseFunc
}

// newServer returns the server of h with the limits lim, and headers of
// at most 64 KiB.
func newServer(h http.Handler, lim limits) *server {
	base, cancel := context.WithCancelCause(context.Background())
	return &server{
		http: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: lim.HeaderTimeout,
			ReadTimeout:       lim.ReadTimeout,
			IdleTimeout:       lim.IdleTimeout,
			MaxHeaderBytes:    64 << 10,
			BaseContext:       func(net.Listener) context.Context { return base },
		},
		drain:  lim.Drain,
		cancel: cancel,
	}
}

// finalGrace is how long shutdown waits, after the drain time, for the
// handlers of cancelled turns to answer before it closes their
// connections.
const finalGrace = 5 * time.Second

// serve serves ln until ctx ends, then shuts down: it stops accepting
// connections, closes idle ones, and waits up to the drain time for the
// requests in flight, streams included, to finish. Requests still running
// then have their context cancelled with errShutdown as the cause: their
// turns stop, and they answer 503 (a stream ends with an error event)
// within finalGrace, after which their connections are closed. It returns
// nil after a clean drain, an error wrapping context.DeadlineExceeded when
// turns had to be cancelled, or the error that stopped serving.
func (s *server) serve(ctx context.Context, ln net.Listener) error {
	served := make(chan error, 1)
	go func() { served <- s.http.Serve(ln) }()
	select {
	case err := <-served:
		s.cancel(err)
		return err
	case <-ctx.Done():
	}
	drain, cancel := context.WithTimeout(context.Background(), s.drain)
	defer cancel()
	err := s.http.Shutdown(drain)
	if err != nil {
		err = fmt.Errorf("turns still in flight after %v, cancelled: %w", s.drain, err)
		s.cancel(errShutdown)
		grace, cancel := context.WithTimeout(context.Background(), finalGrace)
		defer cancel()
		if s.http.Shutdown(grace) != nil {
			_ = s.http.Close()
		}
	}
	s.cancel(errShutdown)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
