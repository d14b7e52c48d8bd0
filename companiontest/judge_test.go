package companiontest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestJudgeErrorRate(t *testing.T) {
	j := NewJudge(func(a, b string) bool { return true }, 0.02, 7)
	wrong := 0
	for i := range 10_000 {
		same, err := j.Verify(context.Background(), "q", string(rune('a'+i%26))+string(rune(i)))
		if err != nil {
			t.Fatal(err)
		}
		if !same {
			wrong++
		}
	}
	if wrong < 150 || wrong > 250 {
		t.Errorf("%d wrong of 10 000 at 2 %%", wrong)
	}
	// The same pair always gets the same answer.
	a, _ := j.Verify(context.Background(), "x", "y")
	for range 10 {
		if b, _ := j.Verify(context.Background(), "x", "y"); b != a {
			t.Fatal("not deterministic")
		}
	}
	if j.ErrorRate() != 0.02 || j.Calls() != 10_011 {
		t.Errorf("rate %v, calls %d", j.ErrorRate(), j.Calls())
	}
}

func TestJudgeHTTP(t *testing.T) {
	j := NewJudge(func(a, b string) bool { return a == b }, 0, 1)
	srv := httptest.NewServer(j)
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"model": "m", "messages": []map[string]string{
		{"role": "system", "content": "judge"}, {"role": "user", "content": `{"cached":"a","asked":"a"}`}}})
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Choices) != 1 || out.Choices[0].Message.Content != `{"same":true}` {
		t.Fatalf("%v %+v", err, out)
	}
	bad, _ := http.Post(srv.URL+"/v1/chat/completions", "application/json", bytes.NewReader([]byte(`{"messages":[{"role":"user","content":"hi"}]}`)))
	if bad.StatusCode != http.StatusBadRequest {
		t.Errorf("bad pair: status %d", bad.StatusCode)
	}
	bad.Body.Close()
}
