package companiontest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Judge is a SIMULATED judge of question pairs, for tests and load tests
// of a semantic cache's verifier (semantic.Verifier) without a model: it
// knows the truth because the test tells it ([Judge.Truth]), and it lies
// on a configurable share of pairs ([Judge.ErrorRate]), chosen by a hash
// of the seed and the pair, so that a run is reproducible and the same
// pair always gets the same answer, as a model at temperature 0 would.
// It is not a model and measures nothing about one: a real verifier's
// error rate must be measured on its own.
//
// A Judge is a semantic.Verifier (Verify) and an semantic.ErrorRater
// (ErrorRate), and an http.Handler that answers POST /v1/chat/completions
// as semantic.NewOpenAIVerifier expects, reading the pair from the last
// user message ({"cached": …, "asked": …}) and answering {"same": …}, so
// the OpenAI verifier can run against it end to end:
//
//	srv := httptest.NewServer(judge)
//
// The zero value is not usable; create one with [NewJudge].
type Judge struct {
	truth func(cached, asked string) bool
	rate  float64
	seed  uint64
	delay time.Duration
	calls atomic.Int64
}

// NewJudge returns a simulated judge that answers truth(cached, asked),
// except on a share errorRate (in [0, 0.5)) of the pairs, where it answers
// the opposite. seed chooses which pairs. truth must be safe for
// concurrent use. A nil truth answers false to everything.
func NewJudge(truth func(cached, asked string) bool, errorRate float64, seed uint64) *Judge {
	if truth == nil {
		truth = func(string, string) bool { return false }
	}
	if !(errorRate >= 0) {
		errorRate = 0
	}
	if errorRate >= 0.5 {
		errorRate = 0.4999
	}
	return &Judge{truth: truth, rate: errorRate, seed: seed}
}

// SetDelay makes every judgement take d, as a model's round trip would,
// cut short when ctx is done. Default 0.
func (j *Judge) SetDelay(d time.Duration) { j.delay = d }

// ErrorRate returns the share of pairs the judge answers wrongly.
func (j *Judge) ErrorRate() float64 { return j.rate }

// Calls returns how many pairs the judge was asked about.
func (j *Judge) Calls() int64 { return j.calls.Load() }

// Truth returns the test's truth for a pair, without the judge's errors.
func (j *Judge) Truth(cached, asked string) bool { return j.truth(cached, asked) }

// Verify judges one pair: the truth, flipped on the judge's share of
// errors. It fails only when ctx is done during the delay.
func (j *Judge) Verify(ctx context.Context, cached, asked string) (bool, error) {
	j.calls.Add(1)
	if j.delay > 0 && !sleep(ctx, j.delay) {
		return false, ctx.Err()
	}
	same := j.truth(cached, asked)
	if j.wrong(cached, asked) {
		same = !same
	}
	return same, nil
}

// wrong reports whether the judge errs on this pair.
func (j *Judge) wrong(cached, asked string) bool {
	if j.rate <= 0 {
		return false
	}
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], j.seed)
	h.Write(b[:])
	h.Write([]byte(cached))
	h.Write([]byte{0})
	h.Write([]byte(asked))
	x := mix64(h.Sum64())
	return float64(x>>11)/(1<<53) < j.rate
}

func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// ServeHTTP answers chat completions as a judge: see [Judge].
func (j *Judge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		writeError(w, http.StatusNotFound, "invalid_request_error", "not_found", "the judge answers POST /v1/chat/completions only")
		return
	}
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "bad request body: "+err.Error())
		return
	}
	var pair struct {
		Cached string `json:"cached"`
		Asked  string `json:"asked"`
	}
	ok := false
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			ok = json.Unmarshal([]byte(req.Messages[i].Content), &pair) == nil
			break
		}
	}
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_pair", `the last user message must be {"cached": …, "asked": …}`)
		return
	}
	same, err := j.Verify(r.Context(), pair.Cached, pair.Asked)
	if err != nil {
		return // the client went away
	}
	content, _ := json.Marshal(map[string]bool{"same": same})
	writeJSON(w, http.StatusOK, map[string]any{
		"id":      "chatcmpl-judge",
		"object":  "chat.completion",
		"created": time.Now().Unix(),
		"model":   req.Model,
		"choices": []map[string]any{{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": string(content)},
			"finish_reason": "stop",
		}},
		"usage": map[string]int{"prompt_tokens": 60, "completion_tokens": 5, "total_tokens": 65},
	})
}
