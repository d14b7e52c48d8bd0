package main

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/companion-go/companion"
)

// askResponse is the answer of POST /ask, and the data of a stream's
// "done" event (without the text, which the stream has sent).
type askResponse struct {
	Text         string           `json:"text,omitempty"`       // the answer (not in a done event)
	Source       string           `json:"source"`               // upstream, exact, semantic or prewarmed
	Similarity   float64          `json:"similarity,omitempty"` // of a semantic hit
	Model        string           `json:"model"`                // the model that answered
	FinishReason string           `json:"finish_reason"`        // stop, length, …
	Usage        companion.Usage  `json:"usage"`                // prompt_tokens, completion_tokens, …
	TokensSaved  int              `json:"tokens_saved"`         // prompt tokens compression removed
	CostUSD      float64          `json:"cost_usd"`             // the turn's estimated price
	SavedUSD     float64          `json:"saved_usd"`            // what caches and compression saved
	TimingsMS    map[string]int64 `json:"timings_ms"`           // each stage, in milliseconds
}

// chunkEvent is the data of a stream's unnamed events: a piece of the
// answer.
type chunkEvent struct {
	Text string `json:"text"` // the next piece of the answer
}

func (a *app) ask(w http.ResponseWriter, r *http.Request) {
	q, err := a.question(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ans, err := a.c.Ask(r.Context(), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, http.StatusOK, response(ans, true))
}

// askStream answers as server-sent events: "data: {"text": …}" for each
// piece, then "event: done" with the answer's metadata, or "event: error"
// with {"status": …, "error": …} as an error answer's body would be.
func (a *app) askStream(w http.ResponseWriter, r *http.Request) {
	q, err := a.question(w, r)
	if err != nil {
		a.fail(w, r, err)
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
	// send writes one event within the write timeout; false means the
	// client is gone or not reading, and Close stops the turn.
	send := func(name string, v any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(a.lim.WriteTimeout))
		if event(w, name, v) != nil {
			return false
		}
		return rc.Flush() == nil
	}
	for {
		chunk, err := s.Recv()
		if errors.Is(err, io.EOF) {
			send("done", response(s.Answer(), false))
			return
		}
		if err != nil {
			e := classifyTurn(r, err)
			a.logFailure(r, e, err)
			send("error", e)
			return
		}
		if !send("", chunkEvent{Text: chunk.Text}) {
			return
		}
	}
}

// event writes one server-sent event: an "event:" line when name is set,
// then v as JSON on one "data:" line.
func event(w io.Writer, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if name != "" {
		if _, err := io.WriteString(w, "event: "+name+"\n"); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, "data: "+string(b)+"\n\n")
	return err
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

// fail answers err with the status and body classifyTurn gives it.
func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := classifyTurn(r, err)
	a.logFailure(r, e, err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	a.writeJSON(w, e.Status, e)
}

// logFailure logs the failures that are the server's or the upstream's,
// not the client's.
func (a *app) logFailure(r *http.Request, e errorResponse, err error) {
	if e.Status >= 500 {
		a.log.LogAttrs(r.Context(), slog.LevelError, "ask failed", slog.Int("status", e.Status), slog.Any("err", err))
	}
}

// writeJSON writes v as the JSON body of a status answer, within the
// write timeout.
func (a *app) writeJSON(w http.ResponseWriter, status int, v any) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(a.lim.WriteTimeout))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
