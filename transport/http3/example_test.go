package http3_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
	qhttp3 "github.com/quic-go/quic-go/http3"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/transport"
	"github.com/companion-go/companion/transport/http3"
)

// A Transport with HTTP/3 in front of companiontest over TLS, serving
// HTTP/2 on TCP and HTTP/3 on the same UDP port. Config.Origins says the
// server speaks HTTP/3, so the very first request races QUIC against
// TCP + TLS, and QUIC, one round trip instead of two, carries it.
func ExampleNew() {
	srv := companiontest.NewUnstartedServer()
	srv.HTTP.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	stop := serveHTTP3(srv)
	defer stop()

	h3, err := http3.New(http3.Config{
		Origins: []string{srv.URL},
		// On a busy machine a QUIC handshake may take longer than the
		// default 20 ms head start; make the race's outcome certain here.
		HeadStart: time.Second,
	})
	if err != nil {
		panic(err)
	}
	tr, err := transport.New(
		transport.WithTLSConfig(srv.Client().Transport.(*http.Transport).TLSClientConfig),
		transport.WithHTTP3(h3),
	)
	if err != nil {
		panic(err)
	}
	defer tr.Close()

	body := `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"Hi"}]}`
	resp, err := tr.Client().Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	st := tr.Stats()
	fmt.Println(resp.Status, resp.Proto)
	fmt.Println("races:", st.H3Races, "won by QUIC:", st.H3RaceWins, "connections:", st.NewConns)
	// Output:
	// 200 OK HTTP/3.0
	// races: 1 won by QUIC: 1 connections: 1
}

// serveHTTP3 serves srv's API over HTTP/3 (quic-go's server) on the UDP
// port of srv's TCP listener, and returns its stop function.
func serveHTTP3(srv *companiontest.Server) (stop func()) {
	pc, err := net.ListenPacket("udp", srv.HTTP.Listener.Addr().String())
	if err != nil {
		panic(err)
	}
	tcfg := srv.HTTP.TLS.Clone()
	tcfg.NextProtos = []string{qhttp3.NextProtoH3}
	s := &qhttp3.Server{Handler: srv.HTTP.Config.Handler, TLSConfig: tcfg, QUICConfig: &quic.Config{}}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(pc) }()
	return func() {
		_ = s.Close()
		_ = pc.Close()
		<-done
	}
}
