package companiontest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
)

type embeddingsJSON struct {
	Object string `json:"object"`
	Model  string `json:"model"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Usage *struct {
		PromptTokens *int `json:"prompt_tokens"`
		TotalTokens  *int `json:"total_tokens"`
	} `json:"usage"`
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func TestEmbeddings(t *testing.T) {
	s := chatServer(t)
	inputs := []string{"What is Newton's second law?", "牛顿第二定律是什么？"}
	res, data := postBody(t, s, "/embeddings", map[string]any{"model": "text-embedding-3-small", "input": inputs})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, data)
	}
	var e embeddingsJSON
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	if e.Object != "list" || e.Model != "text-embedding-3-small" || len(e.Data) != 2 || e.Usage == nil {
		t.Fatalf("response: %s", data[:200])
	}
	cnt := counterFor(t, "text-embedding-3-small")
	want := cnt.Count(inputs[0]) + cnt.Count(inputs[1])
	if *e.Usage.PromptTokens != want || *e.Usage.TotalTokens != want {
		t.Errorf("usage %d/%d, want %d", *e.Usage.PromptTokens, *e.Usage.TotalTokens, want)
	}
	for i, d := range e.Data {
		var v []float32
		if err := json.Unmarshal(d.Embedding, &v); err != nil {
			t.Fatal(err)
		}
		if d.Object != "embedding" || d.Index != i || len(v) != 1536 {
			t.Errorf("data[%d]: object %q index %d, %d dims", i, d.Object, d.Index, len(v))
		}
		if !slices.Equal(v, Embed(inputs[i], 1536)) {
			t.Errorf("data[%d] differs from Embed", i)
		}
		if n := cosine(v, v); math.Abs(n-1) > 1e-5 {
			t.Errorf("data[%d] is not normalized", i)
		}
	}
}

func TestEmbeddingsDimensionsAndBase64(t *testing.T) {
	s := chatServer(t)
	for _, tc := range []struct {
		model string
		dims  int
		want  int
	}{
		{"text-embedding-3-large", 0, 3072},
		{"text-embedding-3-small", 256, 256},
		{"text-embedding-ada-002", 0, 1536},
	} {
		body := map[string]any{"model": tc.model, "input": "hello", "encoding_format": "base64"}
		if tc.dims > 0 {
			body["dimensions"] = tc.dims
		}
		res, data := postBody(t, s, "/embeddings", body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tc.model, res.StatusCode, data)
		}
		var e embeddingsJSON
		if err := json.Unmarshal(data, &e); err != nil {
			t.Fatal(err)
		}
		var b64 string
		if err := json.Unmarshal(e.Data[0].Embedding, &b64); err != nil {
			t.Fatalf("base64 embedding is not a string: %v", err)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != 4*tc.want {
			t.Fatalf("%s: %d bytes, err %v; want %d floats", tc.model, len(raw), err, tc.want)
		}
		ref := Embed("hello", tc.want)
		for i := range ref {
			if math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])) != ref[i] {
				t.Fatalf("%s: float %d differs", tc.model, i)
			}
		}
	}
}

func TestEmbeddingsTokens(t *testing.T) {
	s := chatServer(t)
	res, data := postBody(t, s, "/embeddings", map[string]any{"model": "text-embedding-3-small", "input": [][]int{{1, 2, 3}, {4, 5}}})
	var e embeddingsJSON
	if err := json.Unmarshal(data, &e); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, data)
	}
	if len(e.Data) != 2 || *e.Usage.PromptTokens != 5 {
		t.Errorf("%d embeddings, %d tokens", len(e.Data), *e.Usage.PromptTokens)
	}
}

func TestEmbedSimilarity(t *testing.T) {
	const dims = 1536
	sim := func(a, b string) float64 { return cosine(Embed(a, dims), Embed(b, dims)) }
	for _, p := range [][2]string{
		{"What is Newton's second law?", "what is newtons second law"},
		{"Explain photosynthesis.", "explain photosynthesis please"},
		{"什么是牛顿第二定律？", "牛顿第二定律是什么"},
	} {
		if c := sim(p[0], p[1]); c < 0.92 {
			t.Errorf("paraphrases %q and %q: cosine %.3f", p[0], p[1], c)
		}
	}
	close := sim("What is Newton's second law of motion?", "Can you explain Newton's second law?")
	far := sim("What is Newton's second law of motion?", "How does photosynthesis work?")
	t.Logf("related %.3f, unrelated %.3f, numbers %.3f", close, far, sim("Solve the equation 2x + 3 = 7 for x", "Solve the equation 2x + 3 = 9 for x"))
	if close < 0.6 || far > 0.2 || close <= far {
		t.Errorf("related %.3f, unrelated %.3f", close, far)
	}
	// Numbers count little: the same equation with another number is very
	// close, but not the same.
	if c := sim("Solve the equation 2x + 3 = 7 for x", "Solve the equation 2x + 3 = 9 for x"); c > 0.999 || c < 0.92 {
		t.Errorf("equations with different numbers: cosine %.3f", c)
	}
	if !slices.Equal(Embed("x", 8), Embed("x", 8)) || len(Embed("???", 4)) != 4 || len(Embed("a", 0)) != 1 {
		t.Error("Embed edge cases")
	}
	if c := cosine(Embed("...", 64), Embed("...", 64)); math.Abs(c-1) > 1e-6 {
		t.Errorf("punctuation-only text: %v", c)
	}
}

func TestEmbeddingsBadRequests(t *testing.T) {
	s := chatServer(t)
	for _, tc := range []struct{ name, body, param string }{
		{"bad JSON", `{`, ""},
		{"no model", `{"input":"x"}`, "model"},
		{"no input", `{"model":"text-embedding-3-small"}`, "input"},
		{"empty string", `{"model":"text-embedding-3-small","input":""}`, "input[0]"},
		{"empty array", `{"model":"text-embedding-3-small","input":[]}`, "input"},
		{"object input", `{"model":"text-embedding-3-small","input":{"a":1}}`, "input"},
		{"mixed array", `{"model":"text-embedding-3-small","input":["a",1]}`, "input"},
		{"zero dimensions", `{"model":"text-embedding-3-small","input":"x","dimensions":0}`, "dimensions"},
		{"too many dimensions", `{"model":"text-embedding-3-small","input":"x","dimensions":1537}`, "dimensions"},
		{"ada dimensions", `{"model":"text-embedding-ada-002","input":"x","dimensions":8}`, "dimensions"},
		{"encoding", `{"model":"text-embedding-3-small","input":"x","encoding_format":"hex"}`, "encoding_format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, data := postBody(t, s, "/embeddings", tc.body)
			checkAPIError(t, res, data, http.StatusBadRequest, "invalid_request_error", tc.param)
		})
	}
}

type moderationJSON struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Results []struct {
		Flagged                   *bool               `json:"flagged"`
		Categories                map[string]bool     `json:"categories"`
		CategoryScores            map[string]float64  `json:"category_scores"`
		CategoryAppliedInputTypes map[string][]string `json:"category_applied_input_types"`
	} `json:"results"`
}

func TestModerations(t *testing.T) {
	s := chatServer(t)
	inputs := []string{"How do I solve 2x+3=7?", "Kill yourself.", "我不想活了，我想自杀", "the skyscraper is tall"}
	res, data := postBody(t, s, "/moderations", map[string]any{"input": inputs})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, data)
	}
	var m moderationJSON
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.ID, "modr-") || m.Model != "omni-moderation-latest" || len(m.Results) != len(inputs) {
		t.Fatalf("response: %s", data)
	}
	wantFlag := []bool{false, true, true, false}
	for i, r := range m.Results {
		if r.Flagged == nil || *r.Flagged != wantFlag[i] {
			t.Errorf("%q: flagged %v", inputs[i], r.Flagged)
		}
		for _, c := range moderationCategories {
			_, okC := r.Categories[c]
			score, okS := r.CategoryScores[c]
			types, okT := r.CategoryAppliedInputTypes[c]
			if !okC || !okS || !okT || len(types) != 1 || types[0] != "text" || score < 0 || score > 1 {
				t.Errorf("%q: category %s incomplete", inputs[i], c)
			}
			if r.Categories[c] != (score > 0.5) {
				t.Errorf("%q: category %s flag %v but score %v", inputs[i], c, r.Categories[c], score)
			}
		}
	}
	if !m.Results[1].Categories["harassment"] || !m.Results[2].Categories["self-harm/intent"] {
		t.Errorf("categories: %+v %+v", m.Results[1].Categories, m.Results[2].Categories)
	}
	if got := Flagged("here is a bomb recipe"); !slices.Equal(got, []string{"illicit", "illicit/violent", "violence"}) {
		t.Errorf("Flagged: %v", got)
	}
	if got := Flagged("Newton's laws"); got != nil {
		t.Errorf("Flagged clean text: %v", got)
	}
}

func TestModerationsInputs(t *testing.T) {
	s := chatServer(t)
	res, data := postBody(t, s, "/moderations", map[string]any{
		"model": "omni-moderation-2024-09-26",
		"input": []map[string]any{
			{"type": "text", "text": "how to make a bomb"},
			{"type": "image_url", "image_url": map[string]any{"url": "https://example.com/a.png"}},
		},
	})
	var m moderationJSON
	if err := json.Unmarshal(data, &m); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, data)
	}
	if m.Model != "omni-moderation-2024-09-26" || len(m.Results) != 1 || !*m.Results[0].Flagged {
		t.Errorf("multimodal: %s", data)
	}
	res, data = postBody(t, s, "/moderations", map[string]any{"input": "hello"})
	if err := json.Unmarshal(data, &m); err != nil || len(m.Results) != 1 || *m.Results[0].Flagged {
		t.Errorf("string input: %s", data)
	}
	for _, body := range []string{`{}`, `{"input":[]}`, `{"input":42}`, `{"input":[{"type":"audio"}]}`, `nope`} {
		res, data = postBody(t, s, "/moderations", body)
		checkAPIError(t, res, data, http.StatusBadRequest, "invalid_request_error", "")
	}
}
