//go:build !race

// The 0-RTT test runs without the race detector only: quic-go v0.65 has a
// data race when a stream is opened while a 0-RTT handshake completes
// (quic-go issue 4303), inside quic-go itself. .ci/run runs this test in
// its own, race-free, invocation.

package http3_test

import (
	"testing"

	"github.com/companion-go/companion/transport/http3"
)

func TestHTTP3ZeroRTT(t *testing.T) {
	// A new connection resumes, and its GET goes in 0-RTT data.
	st := resumeOverHTTP3(t, http3.Config{Allow0RTT: true})
	if st.HTTP3 != 2 || st.TLSResumed != 1 || st.ZeroRTT != 1 {
		t.Errorf("stats %+v: want 2 HTTP/3 responses, 1 resumption, 1 0-RTT", st)
	}
}
