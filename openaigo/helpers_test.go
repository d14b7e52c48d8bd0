package openaigo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/companion-go/companion"
	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/leak"
	"github.com/companion-go/companion/openaigo"
	"github.com/companion-go/companion/transport"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

// newServer starts a companiontest server for the test.
func newServer(t testing.TB, opts ...companiontest.Option) *companiontest.Server {
	t.Helper()
	s := companiontest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// newCompanion makes a Companion on s without retries, so that one fault
// is one error, with opts after the test's defaults.
func newCompanion(t testing.TB, s *companiontest.Server, opts ...companion.Option) *companion.Companion {
	t.Helper()
	c, err := companion.New(append([]companion.Option{
		companion.WithBaseURL(s.URL),
		companion.WithAPIKey("test"),
		companion.WithModel("gpt-4o-mini"),
		companion.WithRetry(companion.RetryPolicy{MaxAttempts: 1}),
		companion.WithTransportOptions(transport.WithMaxRetries(0)),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// withMemoryCache is the option of an exact in-memory cache, closed with
// the test.
func withMemoryCache(t testing.TB) companion.Option {
	t.Helper()
	m, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return companion.WithExactCache(m)
}

// sdkClient is an openai-go client on s without retries; with a non-nil c
// its chat completions go through the adapter.
func sdkClient(s *companiontest.Server, c *companion.Companion, opts ...option.RequestOption) openai.Client {
	base := []option.RequestOption{
		option.WithBaseURL(s.URL + "/"),
		option.WithAPIKey("test"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(s.Client()),
	}
	if c != nil {
		base = append(base, option.WithMiddleware(openaigo.Middleware(c)))
	}
	return openai.NewClient(append(base, opts...)...)
}

// mode is one way a test's client reaches companiontest.
type mode struct {
	name    string
	adapter bool
}

var modes = []mode{{"direct", false}, {"adapter", true}}

// forEachMode runs f as a subtest for the SDK against companiontest
// directly and through the adapter. c is nil when direct.
func forEachMode(t *testing.T, f func(t *testing.T, s *companiontest.Server, c *companion.Companion, client openai.Client)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := newServer(t)
			var c *companion.Companion
			if m.adapter {
				c = newCompanion(t, s)
			}
			f(t, s, c, sdkClient(s, c))
		})
	}
}

// proxy starts an OpenAI-compatible endpoint for clients in other
// languages: the adapter's Handler, passing what it does not answer to s
// through a reverse proxy. Its URL ends in "/v1".
func proxy(t testing.TB, s *companiontest.Server, c *companion.Companion) string {
	t.Helper()
	target, err := url.Parse(s.HTTP.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1 // pass streams on as they come
	h := httptest.NewServer(openaigo.Handler(c, rp))
	t.Cleanup(h.Close)
	return h.URL + "/v1"
}

// userMessage is the request of one user message.
func userMessage(q string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    openai.ChatModelGPT4oMini,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(q)},
	}
}

// chatRequests is how many chat completion requests s received.
func chatRequests(s *companiontest.Server) int { return s.RequestCount("/v1/chat/completions") }

// header returns the response's header, for option.WithResponseInto.
func header(r *http.Response) http.Header {
	if r == nil {
		return http.Header{}
	}
	return r.Header
}

var bg = context.Background()
