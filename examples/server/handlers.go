package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/companion-go/companion"
)

// askRequest is the body of POST /ask and POST /ask/stream.
type askRequest struct {
	Text     string              `json:"text"`
	Subject  string              `json:"subject,omitempty"`
	Grade    int                 `json:"grade,omitempty"`
	Tenant   string              `json:"tenant,omitempty"`
	Locale   string              `json:"locale,omitempty"`
	System   string              `json:"system,omitempty"`
	History  []companion.Message `json:"history,omitempty"`
	Snippets []companion.Snippet `json:"snippets,omitempty"`
	Personal bool                `json:"personal,omitempty"`
}

// askResponse is the answer of POST /ask, and the last event of a stream.
type askResponse struct {
	Text         string           `json:"text,omitempty"`
	Source       string           `json:"source"`
	Similarity   float64          `json:"similarity,omitempty"`
	Model        string           `json:"model"`
	FinishReason string           `json:"finish_reason"`
	Usage        companion.Usage  `json:"usage"`
	TokensSaved  int              `json:"tokens_saved"`
	CostUSD      float64          `json:"cost_usd"`
	SavedUSD     float64          `json:"saved_usd"`
	TimingsMS    map[string]int64 `json:"timings_ms"`
}

// maxBody bounds request bodies.
const maxBody = 1 << 20

func (a *app) question(w http.ResponseWriter, r *http.Request) (companion.Question, bool) {
	var req askRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return companion.Question{}, false
	}
	return companion.Question{
		Text: req.Text, Subject: req.Subject, Grade: req.Grade, Tenant: req.Tenant, Locale: req.Locale,
		SystemPrompt: req.System, History: req.History, Snippets: req.Snippets, Personal: req.Personal,
	}, true
}

func (a *app) ask(w http.ResponseWriter, r *http.Request) {
	q, ok := a.question(w, r)
	if !ok {
		return
	}
	ans, err := a.c.Ask(r.Context(), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(response(ans, true))
}

// askStream answers as server-sent events: "data: {"text": …}" for each
// piece, then "event: done" with the answer's metadata, or "event: error".
func (a *app) askStream(w http.ResponseWriter, r *http.Request) {
	q, ok := a.question(w, r)
	if !ok {
		return
	}
	s, err := a.c.AskStream(r.Context(), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer s.Close()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	for {
		chunk, err := s.Recv()
		if errors.Is(err, io.EOF) {
			event(w, "done", response(s.Answer(), false))
			_ = rc.Flush()
			return
		}
		if err != nil {
			status, msg := classify(err)
			event(w, "error", map[string]any{"status": status, "error": msg})
			_ = rc.Flush()
			return
		}
		event(w, "", map[string]string{"text": chunk.Text})
		if rc.Flush() != nil {
			return // the client went away; Close stops the turn
		}
	}
}

func event(w io.Writer, name string, v any) {
	b, _ := json.Marshal(v)
	if name != "" {
		_, _ = io.WriteString(w, "event: "+name+"\n")
	}
	_, _ = io.WriteString(w, "data: "+string(b)+"\n\n")
}

func response(a *companion.Answer, withText bool) askResponse {
	out := askResponse{
		Source: a.Source.String(), Similarity: a.Similarity, Model: a.Model, FinishReason: a.FinishReason,
		Usage: a.Usage, TokensSaved: a.TokensSaved, CostUSD: a.Cost, SavedUSD: a.CostSaved,
		TimingsMS: map[string]int64{
			"total": ms(a.Timings.Total), "first_token": ms(a.Timings.FirstToken), "cache": ms(a.Timings.Cache),
			"prompt": ms(a.Timings.Prompt), "queue": ms(a.Timings.Queue), "upstream": ms(a.Timings.Upstream),
			"post": ms(a.Timings.Post),
		},
	}
	if withText {
		out.Text = a.Text
	}
	return out
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// classify maps Companion's errors to HTTP statuses.
func classify(err error) (int, string) {
	var ue *companion.UpstreamError
	switch {
	case errors.Is(err, companion.ErrInvalidConfig):
		return http.StatusInternalServerError, "server misconfigured"
	case errors.As(err, new(*companion.InputError)):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, companion.ErrBlocked):
		return http.StatusUnprocessableEntity, "the answer was withheld by moderation"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timed out"
	case errors.Is(err, context.Canceled):
		return 499, "client closed request"
	case errors.As(err, &ue) && ue.StatusCode == http.StatusTooManyRequests:
		return http.StatusTooManyRequests, "upstream rate limit"
	}
	return http.StatusBadGateway, "upstream failed"
}

func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := classify(err)
	if status >= 500 {
		a.log.LogAttrs(r.Context(), slog.LevelError, "ask failed", slog.Any("err", err))
	}
	writeError(w, status, msg)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
