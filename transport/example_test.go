package transport_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/transport"
)

// A Transport in front of a TLS + HTTP/2 server that fails the first call
// with 503: the call is retried and reuses the warmed connection.
func Example() {
	srv := companiontest.NewUnstartedServer(companiontest.WithFaults(
		companiontest.Fault{Kind: companiontest.FaultUnavailable, Path: "/v1/chat/completions", Count: 1},
	))
	srv.HTTP.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	tr, err := transport.New(
		transport.WithTLSConfig(srv.Client().Transport.(*http.Transport).TLSClientConfig),
		transport.WithEndpoints(srv.URL),
	)
	if err != nil {
		panic(err)
	}
	defer tr.Close()
	if err := tr.Warm(context.Background(), 1); err != nil {
		panic(err)
	}

	body := `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"Hi"}]}`
	resp, err := tr.Client().Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	st := tr.Stats()
	fmt.Println(resp.Status, resp.Proto)
	fmt.Println("retries:", st.Retries, "connections:", st.NewConns, "TLS 1.3 handshakes:", st.TLSHandshakes)
	// Output:
	// 200 OK HTTP/2.0
	// retries: 1 connections: 1 TLS 1.3 handshakes: 1
}
