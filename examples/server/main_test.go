package main

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/companiontest"
	"gopkg.in/yaml.v3"
)

func newTestApp(t *testing.T) (*httptest.Server, *companiontest.Server) {
	t.Helper()
	fake := companiontest.NewServer()
	t.Cleanup(fake.Close)
	a, err := newApp(slog.New(slog.DiscardHandler), companion.WithBaseURL(fake.URL), companion.WithModel("gpt-4.1-mini"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv, fake
}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestAsk(t *testing.T) {
	srv, fake := newTestApp(t)
	var first, second askResponse
	for _, out := range []*askResponse{&first, &second} {
		resp := post(t, srv.URL+"/ask", `{"text":"Solve 2x + 3 = 7","subject":"math","grade":8}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	if first.Source != "upstream" || second.Source != "exact" || second.Text != first.Text || !strings.Contains(first.Text, "x = 2") {
		t.Errorf("answers: %+v then %+v", first, second)
	}
	if first.CostUSD <= 0 || second.SavedUSD != first.CostUSD {
		t.Errorf("costs: %+v then %+v", first, second)
	}
	for body, want := range map[string]int{
		`{"text":""}`:     http.StatusBadRequest,
		`{"text":"\xff"}`: http.StatusBadRequest,
		`{"nope":1}`:      http.StatusBadRequest,
		`not json`:        http.StatusBadRequest,
		`{"text":"hi","history":[{"Role":"robot","Content":"x"}]}`: http.StatusBadRequest,
	} {
		if got := post(t, srv.URL+"/ask", body).StatusCode; got != want {
			t.Errorf("POST /ask %s: status %d, want %d", body, got, want)
		}
	}
	fake.SetFaults(companiontest.Fault{Kind: companiontest.FaultRateLimit, Count: 10})
	if got := post(t, srv.URL+"/ask", `{"text":"What is density?"}`).StatusCode; got != http.StatusTooManyRequests && got != http.StatusBadGateway {
		t.Errorf("upstream 429: status %d", got)
	}
}

func TestAskStream(t *testing.T) {
	srv, _ := newTestApp(t)
	resp := post(t, srv.URL+"/ask/stream", `{"text":"解方程 3x - 4 = 11"}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var text strings.Builder
	var done askResponse
	chunks, event := 0, ""
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data := []byte(strings.TrimPrefix(line, "data: "))
			switch event {
			case "":
				var c struct{ Text string }
				if err := json.Unmarshal(data, &c); err != nil {
					t.Fatal(err)
				}
				text.WriteString(c.Text)
				chunks++
			case "done":
				if err := json.Unmarshal(data, &done); err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatalf("event %s: %s", event, data)
			}
		}
	}
	if chunks < 3 || !strings.Contains(text.String(), "x = 5") || done.Source != "upstream" || done.Usage.CompletionTokens == 0 {
		t.Errorf("%d chunks, text %q, done %+v", chunks, text.String(), done)
	}
}

// The alerting rules parse, say what the article's alerts say, and name
// only metrics and labels that the server exports.
func TestAlertRules(t *testing.T) {
	srv, fake := newTestApp(t)
	post(t, srv.URL+"/ask", `{"text":"What is Ohm's law?"}`)
	post(t, srv.URL+"/ask", `{"text":"What is Ohm's law?"}`)
	post(t, srv.URL+"/ask", `{"text":""}`)
	fake.SetFaults(companiontest.Fault{Kind: companiontest.FaultServerError, Count: 100})
	post(t, srv.URL+"/ask", `{"text":"What is a volt?"}`)
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	exported := string(metrics)

	raw, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert       string
				Expr        string
				For         string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	if len(doc.Groups) != 1 || len(doc.Groups[0].Rules) != 3 {
		t.Fatalf("want one group of three rules, got %+v", doc)
	}
	want := map[string]*regexp.Regexp{
		"CompanionP99LatencyHigh":   regexp.MustCompile(`histogram_quantile\(0\.99,[\s\S]*companion_turn_time_to_first_token_seconds_bucket[\s\S]*\)\s*>\s*2\s*$`),
		"CompanionErrorRateHigh":    regexp.MustCompile(`companion_turn_duration_seconds_count[\s\S]*/[\s\S]*companion_turn_duration_seconds_count[\s\S]*>\s*0\.01\s*$`),
		"CompanionCacheHitRatioLow": regexp.MustCompile(`companion_turn_duration_seconds_count\{[^}]*companion_source=~"exact\|semantic\|prewarmed"[\s\S]*/[\s\S]*companion_turn_duration_seconds_count[\s\S]*<\s*0\.40\s*$`),
	}
	metricName := regexp.MustCompile(`\b(companion_[a-z_]+)\s*[{\[]`)
	label := regexp.MustCompile(`([a-z_]+)\s*(=~|!~|!=|=)\s*"`)
	for _, r := range doc.Groups[0].Rules {
		re, ok := want[r.Alert]
		if !ok {
			t.Errorf("unexpected alert %q", r.Alert)
			continue
		}
		if !re.MatchString(strings.TrimSpace(r.Expr)) {
			t.Errorf("%s: expr %q does not say what it should", r.Alert, r.Expr)
		}
		if strings.Contains(r.Expr, "companion_cache_lookups_total") {
			t.Errorf("%s: counts lookups, not turns", r.Alert)
		}
		if r.For == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
			t.Errorf("%s: needs for, a severity label and a summary", r.Alert)
		}
		for _, m := range metricName.FindAllStringSubmatch(r.Expr, -1) {
			if !strings.Contains(exported, "\n"+m[1]+"{") && !strings.Contains(exported, "\n"+m[1]+" ") {
				t.Errorf("%s: metric %s is not exported by /metrics", r.Alert, m[1])
			}
		}
		for _, l := range label.FindAllStringSubmatch(r.Expr, -1) {
			if !strings.Contains(exported, l[1]+"=\"") {
				t.Errorf("%s: label %s is not exported by /metrics", r.Alert, l[1])
			}
		}
	}
	// The rules rely on these label values: answered turns have their
	// source and no error type, failed ones the source "none".
	for _, v := range []string{
		`companion_turn_duration_seconds_count{companion_source="upstream",error_type=""}`,
		`companion_turn_duration_seconds_count{companion_source="exact",error_type=""}`,
		`companion_turn_duration_seconds_count{companion_source="none",error_type="500"}`,
		`companion_turn_time_to_first_token_seconds_bucket{companion_source="exact",error_type="",le="2"}`,
	} {
		if !strings.Contains(exported, v) {
			t.Errorf("/metrics has no %s", v)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", exported)
	}
}

// promtool's tests of the rules (testdata/alerts_test.yml): each alert
// fires when it should and stays silent when it should.
func TestAlertRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found (Debian: apt-get install prometheus); the alert rule tests did not run")
	}
	if out, err := exec.Command(promtool, "check", "rules", "alerts.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if out, err := exec.Command(promtool, "test", "rules", filepath.Join("testdata", "alerts_test.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}
