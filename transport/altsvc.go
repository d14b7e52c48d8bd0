package transport

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// altSvc is one alternative of an Alt-Svc header (RFC 7838).
type altSvc struct {
	proto  string        // ALPN protocol id, percent-decoded: "h3"
	host   string        // "" for the origin's host
	port   string        // never ""
	maxAge time.Duration // ma, 24 h by default
}

// defaultAltSvcMaxAge is an alternative's freshness when it has no ma.
const defaultAltSvcMaxAge = 24 * time.Hour

// parseAltSvc reads Alt-Svc header values. It returns clear when the
// header is "clear" (every alternative of the origin is withdrawn), else
// the well-formed alternatives, in the server's order of preference;
// malformed ones are skipped.
func parseAltSvc(values []string) (alts []altSvc, clear bool) {
	for _, v := range values {
		for _, item := range splitQuoted(v, ',') {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			if item == "clear" {
				return nil, true
			}
			if a, ok := parseAltValue(item); ok {
				alts = append(alts, a)
			}
		}
	}
	return alts, false
}

// parseAltValue reads one alt-value: protocol-id="[host]:port" followed
// by ;-separated parameters.
func parseAltValue(item string) (altSvc, bool) {
	parts := splitQuoted(item, ';')
	proto, auth, ok := strings.Cut(strings.TrimSpace(parts[0]), "=")
	if !ok {
		return altSvc{}, false
	}
	proto, err := url.PathUnescape(strings.TrimSpace(proto))
	if err != nil || proto == "" {
		return altSvc{}, false
	}
	auth, ok = unquote(strings.TrimSpace(auth))
	if !ok {
		return altSvc{}, false
	}
	host, port, err := net.SplitHostPort(auth)
	if err != nil {
		return altSvc{}, false
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return altSvc{}, false
	}
	a := altSvc{proto: proto, host: host, port: port, maxAge: defaultAltSvcMaxAge}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.TrimSpace(k) != "ma" {
			continue
		}
		v, ok := unquote(strings.TrimSpace(v))
		if !ok {
			return altSvc{}, false
		}
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil || s < 0 {
			return altSvc{}, false
		}
		a.maxAge = time.Duration(min(s, int64(100*365*24*3600))) * time.Second
	}
	return a, true
}

// splitQuoted splits s at each sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var (
		out     []string
		start   int
		quoted  bool
		escaped bool
	)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote returns a token, or a quoted-string's content.
func unquote(s string) (string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return s, s != "" && !strings.ContainsAny(s, "\" \t")
	}
	if len(s) < 2 || !strings.HasSuffix(s, `"`) {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}
