package transport

import (
	"reflect"
	"testing"
	"time"
)

func TestParseAltSvc(t *testing.T) {
	for _, tc := range []struct {
		in    []string
		want  []altSvc
		clear bool
	}{
		{[]string{`h3=":443"; ma=2592000`}, []altSvc{{"h3", "", "443", 2592000 * time.Second}}, false},
		{[]string{`h3=":8443"`}, []altSvc{{"h3", "", "8443", defaultAltSvcMaxAge}}, false},
		{[]string{`h3-29=":443"; ma=86400, h3="alt.example.com:443"; ma=60; persist=1`},
			[]altSvc{{"h3-29", "", "443", 86400 * time.Second}, {"h3", "alt.example.com", "443", time.Minute}}, false},
		{[]string{`h2=":443"`, `h3="[::1]:9000"; ma="30"`},
			[]altSvc{{"h2", "", "443", defaultAltSvcMaxAge}, {"h3", "::1", "9000", 30 * time.Second}}, false},
		{[]string{`h%33=":443"`}, []altSvc{{"h3", "", "443", defaultAltSvcMaxAge}}, false},
		{[]string{`clear`}, nil, true},
		{[]string{`h3=":443"`, `clear`}, nil, true},
		// Malformed alternatives are skipped, the good ones kept.
		{[]string{`h3=":0", h3=":99999", h3=443, h3="noport", h3=":443"; ma=-1, =":443", h3=":444"`},
			[]altSvc{{"h3", "", "444", defaultAltSvcMaxAge}}, false},
		{[]string{`h3=":443`}, nil, false},
		{[]string{``, ` , `}, nil, false},
		{[]string{`h3=":443"; ma=0`}, []altSvc{{"h3", "", "443", 0}}, false},
	} {
		got, clear := parseAltSvc(tc.in)
		if !reflect.DeepEqual(got, tc.want) || clear != tc.clear {
			t.Errorf("parseAltSvc(%q) = %+v, %v; want %+v, %v", tc.in, got, clear, tc.want, tc.clear)
		}
	}
}

func TestOriginAddr(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.example.com/v1":  "api.example.com:443",
		"https://127.0.0.1:8443":      "127.0.0.1:8443",
		"api.example.com":             "api.example.com:443",
		"api.example.com:444":         "api.example.com:444",
		"https://[::1]:9000/v1/chat/": "[::1]:9000",
	} {
		if got, err := originAddr(in); err != nil || got != want {
			t.Errorf("originAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "http://api.example.com", "https://", "https://:443", "https://x y"} {
		if got, err := originAddr(in); err == nil {
			t.Errorf("originAddr(%q) = %q, want an error", in, got)
		}
	}
}
