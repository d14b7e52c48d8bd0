package moderation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Defaults of [RemoteConfig].
const (
	// DefaultRemoteModel is the moderation model asked when none is set.
	DefaultRemoteModel = "omni-moderation-latest"
	// DefaultRemoteTimeout bounds one remote check when no timeout is set.
	DefaultRemoteTimeout = 2 * time.Second
)

// RemoteConfig configures a [Remote].
type RemoteConfig struct {
	// BaseURL is the API's base URL, for example
	// "https://api.openai.com/v1" or a companiontest server's URL; the
	// adapter posts to BaseURL + "/moderations". Required.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer APIKey". Default "": no
	// Authorization header.
	APIKey string
	// Model is the moderation model. Default [DefaultRemoteModel].
	Model string
	// HTTPClient makes the calls. Default: a client on
	// http.DefaultTransport.
	HTTPClient *http.Client
	// Timeout bounds each check, on top of the caller's context. -1 (not
	// 0) means no bound but the context's. Default
	// [DefaultRemoteTimeout] (2 s).
	Timeout time.Duration
	// FailOpen decides what a failed check (timeout, error status,
	// unreadable answer) does: true lets the answer through with a Flag
	// finding "remote:unavailable"; false (the default, fail closed)
	// blocks it with a Block finding "remote:unavailable". Either finding
	// carries the [*RemoteError] in its Err.
	FailOpen bool
	// OnFlagged is the action of a category the model flags: Flag or
	// Block. Default Block.
	OnFlagged Action
}

// Remote checks text with a moderation endpoint of the OpenAI API
// (POST /v1/moderations). Each category the model flags becomes a
// "remote" finding. A Remote is safe for concurrent use; it implements
// [Checker].
type Remote struct {
	endpoint string
	cfg      RemoteConfig
	hc       *http.Client
}

// NewRemote returns a remote moderation adapter. It returns a
// [*ConfigError] for a missing or invalid BaseURL, a negative Timeout
// other than -1, or an OnFlagged other than Flag or Block.
func NewRemote(cfg RemoteConfig) (*Remote, error) {
	u, err := url.Parse(cfg.BaseURL)
	switch {
	case cfg.BaseURL == "":
		return nil, &ConfigError{Field: "RemoteConfig.BaseURL", Reason: "required"}
	case err != nil:
		return nil, &ConfigError{Field: "RemoteConfig.BaseURL", Reason: err.Error()}
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return nil, &ConfigError{Field: "RemoteConfig.BaseURL", Reason: "not an absolute http or https URL: " + cfg.BaseURL}
	case cfg.Timeout < -1:
		return nil, &ConfigError{Field: "RemoteConfig.Timeout", Reason: "negative; -1 means none"}
	}
	switch cfg.OnFlagged {
	case Allow:
		cfg.OnFlagged = Block
	case Flag, Block:
	default:
		return nil, &ConfigError{Field: "RemoteConfig.OnFlagged", Reason: fmt.Sprintf("must be flag or block, not %v", cfg.OnFlagged)}
	}
	if cfg.Model == "" {
		cfg.Model = DefaultRemoteModel
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultRemoteTimeout
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Remote{endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/moderations", cfg: cfg, hc: hc}, nil
}

// Check moderates in.Text. A failed call becomes an "unavailable" finding
// by the fail-open or fail-closed policy; Check returns an error only when
// ctx is done (its error).
func (r *Remote) Check(ctx context.Context, in *Input) ([]Finding, error) {
	if strings.TrimSpace(in.Text) == "" {
		return nil, ctx.Err()
	}
	cats, err := r.Moderate(ctx, in.Text)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		action := Block
		if r.cfg.FailOpen {
			action = Flag
		}
		return []Finding{{Check: "remote", Category: "unavailable", Action: action, Err: err}}, nil
	}
	out := make([]Finding, 0, len(cats))
	for _, c := range cats {
		out = append(out, Finding{Check: "remote", Category: c, Action: r.cfg.OnFlagged})
	}
	return out, nil
}

// Moderate asks the endpoint about text and returns the categories it
// flags, sorted, nil when the text is clean. It returns a [*RemoteError]
// when the call fails, wrapping ctx's error when ctx ends it.
func (r *Remote) Moderate(ctx context.Context, text string) ([]string, error) {
	if r.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.cfg.Timeout)
		defer cancel()
	}
	body, err := json.Marshal(map[string]string{"model": r.cfg.Model, "input": text})
	if err != nil {
		return nil, &RemoteError{Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &RemoteError{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if r.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.APIKey)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, &RemoteError{Err: ctxErr}
		}
		return nil, &RemoteError{Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return nil, &RemoteError{StatusCode: resp.StatusCode, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		msg := http.StatusText(resp.StatusCode)
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		return nil, &RemoteError{StatusCode: resp.StatusCode, Err: errors.New(msg)}
	}
	var res struct {
		Results []struct {
			Flagged    bool            `json:"flagged"`
			Categories map[string]bool `json:"categories"`
		} `json:"results"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, &RemoteError{StatusCode: resp.StatusCode, Err: fmt.Errorf("unreadable answer: %w", err)}
	}
	if len(res.Results) == 0 {
		return nil, &RemoteError{StatusCode: resp.StatusCode, Err: errors.New("unreadable answer: no results")}
	}
	var cats []string
	for _, result := range res.Results {
		for c, on := range result.Categories {
			if on {
				cats = append(cats, c)
			}
		}
		if result.Flagged && len(result.Categories) == 0 {
			cats = append(cats, "flagged")
		}
	}
	sort.Strings(cats)
	return compactStrings(cats), nil
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

var _ Checker = (*Remote)(nil)
