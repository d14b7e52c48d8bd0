package companiontest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/companion-go/companion/prompt"
)

// POST /v1/embeddings and POST /v1/moderations.
//
// Both wait Latency.RTT plus PerPromptToken for every input token, and
// apply body faults to their responses.

// Embedding limits of the real API.
const (
	maxEmbeddingInputs = 2048
	maxEmbeddingTokens = 8192
)

// embeddingDims returns a model's default (and maximum) dimensions:
// 3072 for text-embedding-3-large, 1536 for every other model.
func embeddingDims(model string) int {
	if strings.Contains(model, "text-embedding-3-large") {
		return 3072
	}
	return 1536
}

// Embed returns the embedding the server computes for text with the given
// number of dimensions (at least 1): a deterministic, L2-normalized hashing
// of the text's words, their character trigrams and, for Chinese, its
// characters and character pairs. Letter case, punctuation, plural -s and
// common function words barely matter, so paraphrases that share their key
// words are close (cosine similarity near 1), while unrelated texts are
// nearly orthogonal. Numbers weigh less than words: as with a real model,
// "Solve the equation 2x + 3 = 7 for x" and the same with 9 are very close
// (cosine about 0.95) though their answers differ — which is what a semantic
// cache must guard against.
func Embed(text string, dims int) []float32 {
	if dims < 1 {
		dims = 1
	}
	v := make([]float64, dims)
	for f, w := range embeddingFeatures(text) {
		h := fnv.New64a()
		h.Write([]byte(f))
		x := h.Sum64()
		sign := 1.0
		if x>>63 == 1 {
			sign = -1
		}
		v[int(x%uint64(dims))] += sign * w
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, dims)
	if norm == 0 {
		// Nothing to hash (an empty or all-punctuation text): a fixed
		// direction that depends on the raw text.
		h := fnv.New64a()
		h.Write([]byte(text))
		out[int(h.Sum64()%uint64(dims))] = 1
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

// Feature weights of Embed.
const (
	weightWord     = 1.0
	weightStopword = 0.15
	weightNumber   = 0.35 // a token with a digit: numbers shift a text's meaning little
	weightTrigram  = 0.45 // shared by all trigrams of a word
	weightHan      = 0.5
	weightHanStop  = 0.1
	weightHanPair  = 1.0
)

// hanStop are Chinese characters that carry little meaning on their own.
var hanStop = map[rune]bool{
	'的': true, '了': true, '是': true, '吗': true, '呢': true, '吧': true, '啊': true, '么': true, '什': true,
	'怎': true, '请': true, '你': true, '我': true, '他': true, '她': true, '它': true, '这': true, '那': true,
	'个': true, '和': true, '与': true, '在': true, '有': true, '也': true, '就': true, '都': true, '一': true,
}

func embeddingFeatures(text string) map[string]float64 {
	f := map[string]float64{}
	text = strings.ToLower(normalizeQuestion(text))
	var word []rune
	var prevHan rune
	endWord := func() {
		if len(word) == 0 {
			return
		}
		w := string(word)
		word = word[:0]
		if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") {
			w = w[:len(w)-1] // a crude plural stem: newtons → newton
		}
		if stopwords[w] {
			f["w:"+w] += weightStopword
			return
		}
		if strings.ContainsAny(w, "0123456789") {
			f["w:"+w] += weightNumber
			return
		}
		f["w:"+w] += weightWord
		padded := []rune("^" + w + "$")
		if n := len(padded) - 2; n > 0 {
			each := weightTrigram / math.Sqrt(float64(n))
			for i := 0; i+3 <= len(padded); i++ {
				f["t:"+string(padded[i:i+3])] += each
			}
		}
	}
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r):
			endWord()
			if hanStop[r] {
				f["h:"+string(r)] += weightHanStop
			} else {
				f["h:"+string(r)] += weightHan
			}
			if prevHan != 0 {
				w := weightHanPair
				if hanStop[prevHan] || hanStop[r] {
					w = weightHanStop
				}
				f["p:"+string([]rune{prevHan, r})] += w
			}
			prevHan = r
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			word = append(word, r)
		case r == '.' && len(word) > 0 && unicode.IsDigit(word[len(word)-1]):
			word = append(word, r) // 2.5 stays one word; a trailing "." is trimmed below
		default:
			if len(word) > 0 && word[len(word)-1] == '.' {
				word = word[:len(word)-1]
			}
			endWord()
		}
		prevHan = 0
	}
	if len(word) > 0 && word[len(word)-1] == '.' {
		word = word[:len(word)-1]
	}
	endWord()
	return f
}

// tokenEmbedding is the embedding of a token-array input.
func tokenEmbedding(tokens []int, dims int) []float32 {
	var b strings.Builder
	for _, t := range tokens {
		fmt.Fprintf(&b, "tok%d ", t)
	}
	return Embed(b.String(), dims)
}

type embeddingRequest struct {
	Input          json.RawMessage `json:"input"`
	Model          string          `json:"model"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
}

type embeddingObject struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string
}

type embeddingList struct {
	Object string            `json:"object"`
	Data   []embeddingObject `json:"data"`
	Model  string            `json:"model"`
	Usage  embeddingUsage    `json:"usage"`
}

type embeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// embeddingInputs decodes input: a string, an array of strings, an array
// of tokens or an array of token arrays. Exactly one of texts and tokens
// is set.
func embeddingInputs(raw json.RawMessage) (texts []string, tokens [][]int, rerr *requestError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, invalidParam("input", "missing_required_parameter", "Missing required parameter: 'input'.")
	}
	var (
		one   string
		many  []string
		toks  []int
		toks2 [][]int
	)
	switch {
	case json.Unmarshal(raw, &one) == nil:
		texts = []string{one}
	case json.Unmarshal(raw, &many) == nil:
		texts = many
		if texts == nil {
			texts = []string{}
		}
	case json.Unmarshal(raw, &toks) == nil:
		tokens = [][]int{toks}
	case json.Unmarshal(raw, &toks2) == nil:
		tokens = toks2
	default:
		return nil, nil, invalidParam("input", "invalid_type",
			"Invalid type for 'input': expected a string, an array of strings, an array of integers or an array of arrays of integers.")
	}
	n := len(texts) + len(tokens)
	if n == 0 || texts != nil && len(texts) == 0 || n > maxEmbeddingInputs {
		return nil, nil, invalidParam("input", "invalid_value",
			fmt.Sprintf("'input' must have between 1 and %d items.", maxEmbeddingInputs))
	}
	for i, t := range texts {
		if t == "" {
			return nil, nil, invalidParam(fmt.Sprintf("input[%d]", i), "invalid_value",
				"'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.")
		}
	}
	for i, t := range tokens {
		if len(t) == 0 {
			return nil, nil, invalidParam(fmt.Sprintf("input[%d]", i), "invalid_value", "A token array must not be empty.")
		}
	}
	return texts, tokens, nil
}

// parseEmbeddings validates an embeddings request and computes the
// response (without id: embeddings have none).
func parseEmbeddings(body []byte) (*embeddingList, *requestError) {
	var req embeddingRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, errBadJSON(err)
	}
	if req.Model == "" {
		return nil, invalidParam("model", "", "you must provide a model parameter")
	}
	texts, tokens, rerr := embeddingInputs(req.Input)
	if rerr != nil {
		return nil, rerr
	}
	dims := embeddingDims(req.Model)
	if req.Dimensions != nil {
		switch {
		case strings.Contains(req.Model, "ada-002"):
			return nil, invalidParam("dimensions", "", "This model does not support specifying dimensions.")
		case *req.Dimensions < 1 || *req.Dimensions > dims:
			return nil, invalidParam("dimensions", "invalid_value",
				fmt.Sprintf("Invalid value for 'dimensions': %d. It must be between 1 and %d.", *req.Dimensions, dims))
		}
		dims = *req.Dimensions
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, invalidParam("encoding_format", "invalid_value",
			fmt.Sprintf("Invalid value: '%s'. Supported values are: 'float' and 'base64'.", req.EncodingFormat))
	}
	counter, err := prompt.CounterForModel(req.Model)
	if err != nil {
		return nil, &requestError{status: http.StatusInternalServerError,
			err: apiError{Message: "companiontest: " + err.Error(), Type: "server_error"}}
	}
	out := &embeddingList{Object: "list", Model: req.Model, Data: []embeddingObject{}}
	add := func(i, n int, vec []float32) *requestError {
		if n > maxEmbeddingTokens {
			return invalidParam(fmt.Sprintf("input[%d]", i), "",
				fmt.Sprintf("This model's maximum context length is %d tokens, however you requested %d tokens in your input. Please reduce your input.", maxEmbeddingTokens, n))
		}
		out.Usage.PromptTokens += n
		var e any = vec
		if req.EncodingFormat == "base64" {
			b := make([]byte, 4*len(vec))
			for j, x := range vec {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
			}
			e = base64.StdEncoding.EncodeToString(b)
		}
		out.Data = append(out.Data, embeddingObject{Object: "embedding", Index: i, Embedding: e})
		return nil
	}
	for i, t := range texts {
		if rerr := add(i, counter.Count(t), Embed(t, dims)); rerr != nil {
			return nil, rerr
		}
	}
	for i, t := range tokens {
		if rerr := add(i, len(t), tokenEmbedding(t, dims)); rerr != nil {
			return nil, rerr
		}
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	return out, nil
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	res, rerr := parseEmbeddings(body)
	lat := s.latency()
	if rerr != nil {
		if sleep(r.Context(), lat.RTT) {
			rerr.write(w)
		}
		return
	}
	if !sleep(r.Context(), lat.RTT+time.Duration(res.Usage.PromptTokens)*lat.PerPromptToken) {
		return
	}
	fault, _ := bodyFault(r)
	w.Header().Set("x-request-id", s.genID("req_", 32))
	writeFaultyJSON(w, http.StatusOK, res, fault)
}

// embeddingsResult answers an embeddings request body without latency or
// faults, for the batch lifecycle.
func (s *Server) embeddingsResult(body []byte) (int, any) {
	res, rerr := parseEmbeddings(body)
	if rerr != nil {
		return rerr.status, rerr.body()
	}
	return http.StatusOK, res
}

// ---- moderations ----

// moderationCategories are the categories of CreateModerationResponse, in
// the API's order.
var moderationCategories = []string{
	"harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
	"self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors",
	"violence", "violence/graphic",
}

// moderationRule flags text containing phrase in categories.
type moderationRule struct {
	phrase string
	cats   []string
}

// moderationRules is the fake moderation model: a short list of clearly
// unsafe phrases. English phrases match whole words, case-insensitively;
// Chinese phrases match anywhere.
var moderationRules = []moderationRule{
	{"kill yourself", []string{"harassment", "harassment/threatening", "violence"}},
	{"kys", []string{"harassment", "harassment/threatening"}},
	{"go die", []string{"harassment", "harassment/threatening"}},
	{"i will kill you", []string{"harassment", "harassment/threatening", "violence"}},
	{"i want to kill myself", []string{"self-harm", "self-harm/intent"}},
	{"kill myself", []string{"self-harm", "self-harm/intent"}},
	{"suicide", []string{"self-harm"}},
	{"how to cut myself", []string{"self-harm", "self-harm/instructions"}},
	{"bomb recipe", []string{"illicit", "illicit/violent", "violence"}},
	{"how to make a bomb", []string{"illicit", "illicit/violent", "violence"}},
	{"build a bomb", []string{"illicit", "illicit/violent", "violence"}},
	{"make meth", []string{"illicit"}},
	{"buy cocaine", []string{"illicit"}},
	{"subhuman", []string{"hate", "harassment"}},
	{"exterminate them all", []string{"hate", "hate/threatening", "violence"}},
	{"porn", []string{"sexual"}},
	{"nude photos", []string{"sexual"}},
	{"dismember", []string{"violence", "violence/graphic"}},
	{"去死", []string{"harassment", "harassment/threatening"}},
	{"杀了你", []string{"harassment", "harassment/threatening", "violence"}},
	{"自杀", []string{"self-harm", "self-harm/intent"}},
	{"想死", []string{"self-harm", "self-harm/intent"}},
	{"制造炸弹", []string{"illicit", "illicit/violent", "violence"}},
	{"炸弹制作", []string{"illicit", "illicit/violent", "violence"}},
	{"做炸弹", []string{"illicit", "illicit/violent", "violence"}},
	{"买毒品", []string{"illicit"}},
	{"色情", []string{"sexual"}},
	{"血腥", []string{"violence", "violence/graphic"}},
}

// Flagged returns the moderation categories the server flags text in, in
// the API's order, or nil when the text is clean. The fake moderation model
// knows a short list of clearly unsafe phrases, English and Chinese, such as
// "kill yourself", "bomb recipe", "suicide", "自杀" and "制造炸弹".
func Flagged(text string) []string {
	low := strings.ToLower(normalizeQuestion(text))
	hit := map[string]bool{}
	for _, rule := range moderationRules {
		if containsPhrase(low, rule.phrase) {
			for _, c := range rule.cats {
				hit[c] = true
			}
		}
	}
	var out []string
	for _, c := range moderationCategories {
		if hit[c] {
			out = append(out, c)
		}
	}
	return out
}

// containsPhrase reports whether low contains phrase; an ASCII phrase must
// start and end at word boundaries.
func containsPhrase(low, phrase string) bool {
	if hasHan(phrase) {
		return strings.Contains(low, phrase)
	}
	for from := 0; ; {
		i := strings.Index(low[from:], phrase)
		if i < 0 {
			return false
		}
		i += from
		j := i + len(phrase)
		before := i == 0 || !isWordByte(low[i-1])
		after := j == len(low) || !isWordByte(low[j])
		if before && after {
			return true
		}
		from = i + 1
	}
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_'
}

type moderationRequest struct {
	Input json.RawMessage `json:"input"`
	Model string          `json:"model"`
}

type moderationResponse struct {
	ID      string             `json:"id"`
	Model   string             `json:"model"`
	Results []moderationResult `json:"results"`
}

type moderationResult struct {
	Flagged                   bool                `json:"flagged"`
	Categories                map[string]bool     `json:"categories"`
	CategoryScores            map[string]float64  `json:"category_scores"`
	CategoryAppliedInputTypes map[string][]string `json:"category_applied_input_types"`
}

// moderationInputs decodes input: a string, an array of strings (one
// result each) or an array of multi-modal parts (one result for all).
func moderationInputs(raw json.RawMessage) ([]string, *requestError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, invalidParam("input", "missing_required_parameter", "Missing required parameter: 'input'.")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		if len(list) == 0 {
			return nil, invalidParam("input", "empty_array", "Invalid 'input': empty array.")
		}
		return list, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) == 0 {
		return nil, invalidParam("input", "invalid_type",
			"Invalid type for 'input': expected a string, an array of strings or an array of content parts.")
	}
	var texts []string
	for i, p := range parts {
		switch p.Type {
		case "text":
			if p.Text == nil {
				return nil, invalidParam(fmt.Sprintf("input[%d].text", i), "missing_required_parameter",
					fmt.Sprintf("Missing required parameter: 'input[%d].text'.", i))
			}
			texts = append(texts, *p.Text)
		case "image_url":
		default:
			return nil, invalidParam(fmt.Sprintf("input[%d].type", i), "invalid_value",
				fmt.Sprintf("Invalid value: '%s'. Supported values are: 'text' and 'image_url'.", p.Type))
		}
	}
	return []string{strings.Join(texts, "\n")}, nil
}

func (s *Server) parseModerations(body []byte) (*moderationResponse, int, *requestError) {
	var req moderationRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, 0, errBadJSON(err)
	}
	texts, rerr := moderationInputs(req.Input)
	if rerr != nil {
		return nil, 0, rerr
	}
	model := req.Model
	if model == "" {
		model = "omni-moderation-latest"
	}
	counter, err := prompt.NewCounter(prompt.O200kBase)
	if err != nil {
		return nil, 0, &requestError{status: http.StatusInternalServerError,
			err: apiError{Message: "companiontest: " + err.Error(), Type: "server_error"}}
	}
	out := &moderationResponse{ID: s.genID("modr-", 32), Model: model}
	tokens := 0
	for _, t := range texts {
		tokens += counter.Count(t)
		out.Results = append(out.Results, moderate(t))
	}
	return out, tokens, nil
}

// moderate scores one text: flagged categories score above 0.9, the others
// below 0.001, both deterministic.
func moderate(text string) moderationResult {
	flagged := Flagged(text)
	res := moderationResult{
		Flagged:                   len(flagged) > 0,
		Categories:                make(map[string]bool, len(moderationCategories)),
		CategoryScores:            make(map[string]float64, len(moderationCategories)),
		CategoryAppliedInputTypes: make(map[string][]string, len(moderationCategories)),
	}
	for _, c := range moderationCategories {
		h := fnv.New64a()
		h.Write([]byte(c + "\x00" + text))
		u := float64(h.Sum64()>>11) / (1 << 53) // in [0, 1)
		on := containsString(flagged, c)
		res.Categories[c] = on
		if on {
			res.CategoryScores[c] = 0.9 + 0.0999*u
		} else {
			res.CategoryScores[c] = 1e-6 + 9.99e-4*u*u
		}
		res.CategoryAppliedInputTypes[c] = []string{"text"}
	}
	return res
}

func (s *Server) handleModerations(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	res, tokens, rerr := s.parseModerations(body)
	lat := s.latency()
	if rerr != nil {
		if sleep(r.Context(), lat.RTT) {
			rerr.write(w)
		}
		return
	}
	if !sleep(r.Context(), lat.RTT+time.Duration(tokens)*lat.PerPromptToken) {
		return
	}
	fault, _ := bodyFault(r)
	w.Header().Set("x-request-id", s.genID("req_", 32))
	writeFaultyJSON(w, http.StatusOK, res, fault)
}

// moderationsResult answers a moderations request body without latency or
// faults, for the batch lifecycle.
func (s *Server) moderationsResult(body []byte) (int, any) {
	res, _, rerr := s.parseModerations(body)
	if rerr != nil {
		return rerr.status, rerr.body()
	}
	return http.StatusOK, res
}
