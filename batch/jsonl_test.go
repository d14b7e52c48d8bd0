package batch

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const okLine = `{"id":"batch_req_1","custom_id":"a","response":{"status_code":200,"request_id":"req_1","body":{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}},"error":null}`

func parseAll(t testing.TB, data string) (res []*Result, les []*LineError) {
	t.Helper()
	err := parseFile(strings.NewReader(data), "file-1", func(r *Result, le *LineError) {
		if (r == nil) == (le == nil) {
			t.Fatalf("emit(%v, %v): want exactly one", r, le)
		}
		res, les = append(res, r), append(les, le)
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, les
}

func TestParseFile(t *testing.T) {
	data := strings.Join([]string{
		okLine,
		"",
		okLine[:60], // cut short, custom_id recoverable
		`{"id":"x","resp`,
		`{"custom_id":"b","response":{"status_code":429,"body":{"error":{"message":"slow down","type":"rate_limit","code":"rate_limit_exceeded"}}}}`,
		`{"custom_id":"c","response":null,"error":{"code":"batch_expired","message":"too late"}}`,
		`{"custom_id":"d"}`,
		`{"response":{"status_code":200,"body":{}}}`,
		`{"custom_id":"e","response":{"status_code":200,"body":[1]}}`,
	}, "\n")
	res, les := parseAll(t, data)
	if len(res) != 8 {
		t.Fatalf("%d lines parsed, want 8 (blank skipped)", len(res))
	}
	if r := res[0]; r == nil || r.CustomID != "a" || r.Err != nil || r.Response.Choices[0].Message.Content != "hi" || r.Response.Usage.TotalTokens != 4 {
		t.Errorf("line 1: %+v", r)
	}
	var le *LineError
	if r := res[1]; r == nil || r.CustomID != "a" || !errors.As(r.Err, &le) || le.Line != 3 || !errors.Is(r.Err, ErrMalformedLine) {
		t.Errorf("line 3: %+v", r)
	}
	if les[2] == nil || les[2].Line != 4 || les[2].CustomID != "" {
		t.Errorf("line 4: %+v", les[2])
	}
	var ie *ItemError
	if r := res[3]; r == nil || !errors.As(r.Err, &ie) || ie.StatusCode != 429 || ie.Code != "rate_limit_exceeded" || ie.Message != "slow down" {
		t.Errorf("line 5: %+v", r)
	}
	if r := res[4]; r == nil || !errors.As(r.Err, &ie) || ie.StatusCode != 0 || ie.Code != "batch_expired" {
		t.Errorf("line 6: %+v", r)
	}
	if r := res[5]; r == nil || !errors.Is(r.Err, ErrMalformedLine) {
		t.Errorf("line 7: %+v", r)
	}
	if les[6] == nil || les[6].Reason != "no custom_id" {
		t.Errorf("line 8: %+v", les[6])
	}
	if r := res[7]; r == nil || r.CustomID != "e" || !errors.Is(r.Err, ErrMalformedLine) {
		t.Errorf("line 9: %+v", r)
	}
}

// FuzzParseFile: any file parses without panicking, every non-blank line
// gives exactly one outcome, and a result always has a custom_id and
// exactly one of Response and Err.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte(okLine + "\n" + okLine[:50] + "\n"))
	f.Add([]byte(`{"custom_id":"c","error":{"code":"batch_expired","message":"m"}}`))
	f.Add([]byte(`{"custom_id":"b","response":{"status_code":500,"body":{"error":{"code":5}}}}` + "\r\n\n"))
	f.Add([]byte("\x00\xff{\"custom_id\":\"\\u00e9\""))
	f.Fuzz(func(t *testing.T, data []byte) {
		want := 0
		for l := range bytes.SplitSeq(data, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				want++
			}
		}
		got := 0
		err := parseFile(bytes.NewReader(data), "f", func(r *Result, le *LineError) {
			got++
			switch {
			case (r == nil) == (le == nil):
				t.Fatalf("emit(%v, %v)", r, le)
			case r != nil && (r.CustomID == "" || (r.Response == nil) == (r.Err == nil)):
				t.Fatalf("result %+v", r)
			case le != nil && le.Line < 1:
				t.Fatalf("line error %+v", le)
			}
		})
		if err != nil || got != want {
			t.Fatalf("err %v, %d outcomes for %d lines", err, got, want)
		}
	})
}
