package conformance

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"

	yaml "github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi"
	oasconfig "github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/radix"
	"github.com/pb33f/libopenapi-validator/responses"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// The conformance test checks every kind of response the server sends
// against OpenAI's own OpenAPI document (testdata/openapi.yaml, MIT, see
// testdata/OPENAPI-LICENSE), with libopenapi-validator:
//
//   - a response that the document declares (status 200 of an operation) is
//     validated as an HTTP response, path, method, status, content type and
//     body, with responses.ResponseBodyValidator;
//   - anything else is validated against a named component schema: each
//     SSE chunk of a stream (CreateChatCompletionStreamResponse), every
//     error body (ErrorResponse), the bodies inside batch output files.
//
// The document is cut down first to the paths this server serves and the
// components they reach (about a tenth of it), since a 3 MB document takes
// seconds to parse and index under the race detector. Nothing that is kept
// changes, and a $ref to something dropped would fail the build of the
// model. The validator is built without NewValidator, which compiles every
// schema up front: these compile the schemas in use, once each.

// servedPaths are the document's paths that the server implements.
var servedPaths = []string{
	"/chat/completions", "/embeddings", "/moderations", "/models",
	"/files", "/files/{file_id}", "/files/{file_id}/content",
	"/batches", "/batches/{batch_id}", "/batches/{batch_id}/cancel",
}

// namedSchemas are the component schemas validated by name.
var namedSchemas = []string{
	"CreateChatCompletionResponse", "CreateChatCompletionStreamResponse", "CreateEmbeddingResponse",
	"CreateModerationResponse", "ErrorResponse", "Batch", "OpenAIFile",
}

// openAPI is the parsed document, shared by the tests of one binary.
var openAPI struct {
	once      sync.Once
	err       error
	model     *v3.Document
	responses responses.ResponseBodyValidator
	schemas   schema_validation.SchemaValidator
	mu        sync.Mutex // serializes validations: the caches are per document
}

func loadOpenAPI(t testing.TB) {
	t.Helper()
	openAPI.once.Do(func() {
		data, err := os.ReadFile("testdata/openapi.yaml")
		if err != nil {
			openAPI.err = err
			return
		}
		data, err = pruneOpenAPI(data, servedPaths, namedSchemas)
		if err != nil {
			openAPI.err = err
			return
		}
		doc, err := libopenapi.NewDocument(data)
		if err != nil {
			openAPI.err = err
			return
		}
		m, err := doc.BuildV3Model()
		if err != nil {
			openAPI.err = err
			return
		}
		openAPI.model = &m.Model
		openAPI.responses = responses.NewResponseBodyValidator(&m.Model,
			// The radix tree finds an operation at once; without it each
			// lookup compiles the document's path templates.
			oasconfig.WithPathTree(radix.BuildPathTree(&m.Model)),
			// Strict: a property the document does not declare is an error,
			// which catches misspelt fields. Metadata's keys are free (the
			// strict walker misses additionalProperties inside anyOf), and
			// so are the rate-limit and tracing headers the API sends.
			oasconfig.WithStrictMode(),
			oasconfig.WithStrictIgnorePaths("$.body.metadata.*", "$.body.data[*].metadata.*"),
			oasconfig.WithStrictIgnoredHeadersExtra("Retry-After-Ms", "X-Request-Id", "Openai-Processing-Ms",
				"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests",
				"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens"),
		)
		openAPI.schemas = schema_validation.NewSchemaValidator()
	})
	if openAPI.err != nil {
		t.Fatalf("load the OpenAPI document: %v", openAPI.err)
	}
}

// pruneOpenAPI returns the document with only the given paths, the given
// component schemas and the components they reach through $ref.
func pruneOpenAPI(data []byte, paths, schemas []string) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the document is not a YAML mapping")
	}
	doc := root.Content[0]
	value := func(n *yaml.Node, key string) *yaml.Node {
		for i := 0; n != nil && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
		return nil
	}
	// keep filters the pairs of a mapping.
	keep := func(n *yaml.Node, ok func(key string, v *yaml.Node) bool) {
		var kept []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if ok(n.Content[i].Value, n.Content[i+1]) {
				kept = append(kept, n.Content[i], n.Content[i+1])
			}
		}
		n.Content = kept
	}
	// Webhooks and the tag groups refer to components too: drop them.
	keep(doc, func(k string, _ *yaml.Node) bool {
		return slices.Contains([]string{"openapi", "info", "servers", "security", "paths", "components"}, k)
	})
	components := value(doc, "components")
	var todo []*yaml.Node
	keep(value(doc, "paths"), func(k string, v *yaml.Node) bool {
		if slices.Contains(paths, k) {
			todo = append(todo, v)
			return true
		}
		return false
	})
	reached := make(map[string]bool) // "schemas/Batch"
	reach := func(ref string) error {
		if reached[ref] {
			return nil
		}
		reached[ref] = true
		kind, name, _ := strings.Cut(ref, "/")
		n := value(value(components, kind), name)
		if n == nil {
			return fmt.Errorf("no component %s", ref)
		}
		todo = append(todo, n)
		return nil
	}
	for _, name := range schemas {
		if err := reach("schemas/" + name); err != nil {
			return nil, err
		}
	}
	for len(todo) > 0 {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if ref := value(n, "$ref"); n.Kind == yaml.MappingNode && ref != nil && strings.HasPrefix(ref.Value, "#/components/") {
			if err := reach(strings.TrimPrefix(ref.Value, "#/components/")); err != nil {
				return nil, err
			}
		}
		todo = append(todo, n.Content...)
	}
	keep(components, func(kind string, v *yaml.Node) bool {
		if kind != "securitySchemes" { // referred to by name, not $ref
			keep(v, func(name string, _ *yaml.Node) bool { return reached[kind+"/"+name] })
		}
		return true
	})
	return yaml.Marshal(&root)
}

// describe formats validation errors with the failing fields.
func describe(errs []*errors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n    %s: %s", f.FieldPath, f.Reason)
		}
	}
	return b.String()
}

// checkSchema validates a JSON body against components.schemas[name] and
// returns the errors.
func checkSchema(t testing.TB, name string, body []byte) []*errors.ValidationError {
	t.Helper()
	loadOpenAPI(t)
	proxy := openAPI.model.Components.Schemas.GetOrZero(name)
	if proxy == nil {
		t.Fatalf("no schema %s in the document", name)
	}
	openAPI.mu.Lock()
	defer openAPI.mu.Unlock()
	// The document is 3.1 but still uses 3.0's "nullable" in places (for
	// example in CreateChatCompletionStreamResponse), which a strict 3.1
	// compiler rejects; 3.0 mode honours it.
	_, errs := openAPI.schemas.ValidateSchemaBytesWithVersion(proxy.Schema(), body, 3.0)
	return errs
}

// wantSchema fails the test unless body matches components.schemas[name].
func wantSchema(t testing.TB, name, what string, body []byte) {
	t.Helper()
	if errs := checkSchema(t, name, body); len(errs) > 0 {
		t.Errorf("%s does not match %s:%s\nbody: %s", what, name, describe(errs), body)
	}
}

// exchange is one request and its response, body read.
type exchange struct {
	req  *http.Request
	resp *http.Response
	body []byte
}

// call sends a request to s and reads the response.
func call(t testing.TB, s *companiontest.Server, method, path, contentType string, body []byte) exchange {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return exchange{req: req, resp: resp, body: b}
}

// checkHTTP validates a response as the document declares it for the
// request's operation and status, and returns the errors.
func checkHTTP(t testing.TB, x exchange) []*errors.ValidationError {
	t.Helper()
	loadOpenAPI(t)
	resp := *x.resp
	resp.Body = io.NopCloser(bytes.NewReader(x.body))
	openAPI.mu.Lock()
	defer openAPI.mu.Unlock()
	_, errs := openAPI.responses.ValidateResponseBody(x.req, &resp)
	return errs
}

// wantHTTP fails the test unless x is a 200 response that conforms to the
// document.
func wantHTTP(t testing.TB, what string, x exchange) {
	t.Helper()
	if x.resp.StatusCode != http.StatusOK {
		t.Errorf("%s: status %d: %s", what, x.resp.StatusCode, x.body)
		return
	}
	if errs := checkHTTP(t, x); len(errs) > 0 {
		t.Errorf("%s (%s %s) does not conform:%s\nbody: %s", what, x.req.Method, x.req.URL.Path, describe(errs), x.body)
	}
}

// wantError fails the test unless x is a 4xx/5xx response with an
// ErrorResponse body.
func wantError(t testing.TB, what string, x exchange) {
	t.Helper()
	if x.resp.StatusCode < 400 {
		t.Errorf("%s: status %d, want an error: %s", what, x.resp.StatusCode, x.body)
		return
	}
	if ct := x.resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	wantSchema(t, "ErrorResponse", what, x.body)
}

// sseData returns the data payloads of an SSE stream, [DONE] included.
func sseData(t testing.TB, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
		case strings.HasPrefix(line, "data: "):
			out = append(out, strings.TrimPrefix(line, "data: "))
		default:
			t.Errorf("SSE line is neither data nor blank: %q", line)
		}
	}
	return out
}

// withoutNullUsage drops a chunk's "usage": null. The document says of
// CreateChatCompletionStreamResponse.usage that with include_usage it
// "contains a null value except for the last chunk", and marks it
// nullable: true, but beside a $ref, where 3.0 semantics ignore it, so the
// validator would reject the null the API sends.
func withoutNullUsage(t testing.TB, chunk string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(chunk), &m); err != nil {
		t.Fatalf("chunk is not a JSON object: %v: %s", err, chunk)
	}
	if u, ok := m["usage"]; !ok || string(u) != "null" {
		return []byte(chunk)
	}
	delete(m, "usage")
	b, _ := json.Marshal(m)
	return b
}

func specChat(extra string, messages ...string) []byte {
	var ms []string
	for i, m := range messages {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		b, _ := json.Marshal(m)
		ms = append(ms, fmt.Sprintf(`{"role":%q,"content":%s}`, role, b))
	}
	return []byte(fmt.Sprintf(`{"model":"gpt-4o-mini","messages":[%s]%s}`, strings.Join(ms, ","), extra))
}

// TestOpenAPIHarness makes sure the validation is not vacuous: broken
// objects are caught.
func TestOpenAPIHarness(t *testing.T) {
	for name, body := range map[string]string{
		"Batch":                              `{"id":"b","object":"batch","endpoint":"/v1/chat/completions","input_file_id":"f","completion_window":"24h","status":"done","created_at":1}`,
		"OpenAIFile":                         `{"id":"f","object":"file","bytes":1,"created_at":1,"filename":"a","purpose":"batch"}`,
		"ErrorResponse":                      `{"error":{"message":"m","type":"t","code":null}}`,
		"CreateChatCompletionStreamResponse": `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]}`,
	} {
		if errs := checkSchema(t, name, []byte(body)); len(errs) == 0 {
			t.Errorf("%s accepted a broken object: %s", name, body)
		}
	}
	s := companiontest.NewServer()
	defer s.Close()
	x := call(t, s, http.MethodGet, "/files", "", nil)
	x.body = []byte(`{"object":"list","data":[{"id":"f"}],"has_more":false}`)
	if errs := checkHTTP(t, x); len(errs) == 0 {
		t.Error("the HTTP validator accepted a broken file list")
	}
	x = call(t, s, http.MethodPost, "/chat/completions", "application/json", specChat("", "hi"))
	x.body = []byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"done"}]}`)
	if errs := checkHTTP(t, x); len(errs) == 0 {
		t.Error("the HTTP validator accepted a broken chat completion")
	}
}

func TestOpenAPIChat(t *testing.T) {
	s := companiontest.NewServer()
	defer s.Close()
	for name, body := range map[string][]byte{
		"plain":            specChat("", "What is Newton's second law?"),
		"chinese":          specChat("", "牛顿第二定律是什么？"),
		"multi-turn":       specChat("", "solve 2x+3=7", "x = 2", "and 3x - 4 = 11?"),
		"truncated":        specChat(`,"max_completion_tokens":3`, "Why is the sky blue?"),
		"system and parts": []byte(`{"model":"gpt-5","messages":[{"role":"system","content":"You are a tutor."},{"role":"user","content":[{"type":"text","text":"What is 12*7?"}]}]}`),
		"unknown topic":    specChat(`,"temperature":0.2,"user":"u1"`, "Tell me about the French revolution"),
	} {
		wantHTTP(t, "chat completion "+name, call(t, s, http.MethodPost, "/chat/completions", "application/json", body))
	}
}

func TestOpenAPIChatStream(t *testing.T) {
	s := companiontest.NewServer()
	defer s.Close()
	for name, body := range map[string][]byte{
		"with usage":    specChat(`,"stream":true,"stream_options":{"include_usage":true}`, "What is 20% of 50?"),
		"without usage": specChat(`,"stream":true`, "为什么天空是蓝色的？"),
		"truncated":     specChat(`,"stream":true,"max_completion_tokens":2,"stream_options":{"include_usage":true}`, "How does photosynthesis work"),
	} {
		x := call(t, s, http.MethodPost, "/chat/completions", "application/json", body)
		if x.resp.StatusCode != http.StatusOK || !strings.HasPrefix(x.resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("%s: %d %s %s", name, x.resp.StatusCode, x.resp.Header.Get("Content-Type"), x.body)
		}
		data := sseData(t, x.body)
		if len(data) < 3 || data[len(data)-1] != "[DONE]" {
			t.Fatalf("%s: stream %q", name, data)
		}
		usage := 0
		for i, d := range data[:len(data)-1] {
			wantSchema(t, "CreateChatCompletionStreamResponse", fmt.Sprintf("%s chunk %d", name, i), withoutNullUsage(t, d))
			var c struct {
				Choices []json.RawMessage `json:"choices"`
				Usage   json.RawMessage   `json:"usage"`
			}
			_ = json.Unmarshal([]byte(d), &c)
			if len(c.Usage) > 0 && string(c.Usage) != "null" {
				usage++
				if len(c.Choices) != 0 {
					t.Errorf("%s: the usage chunk has choices: %s", name, d)
				}
			}
		}
		if want := map[bool]int{true: 1, false: 0}[strings.Contains(string(body), "include_usage")]; usage != want {
			t.Errorf("%s: %d usage chunks, want %d", name, usage, want)
		}
	}
}

func TestOpenAPIEmbeddingsModerationsModels(t *testing.T) {
	s := companiontest.NewServer()
	defer s.Close()
	for name, body := range map[string]string{
		"one input":    `{"model":"text-embedding-3-small","input":"gravity"}`,
		"many inputs":  `{"model":"text-embedding-3-small","input":["gravity","重力"]}`,
		"tokens":       `{"model":"text-embedding-3-small","input":[1,2,3]}`,
		"dimensions":   `{"model":"text-embedding-3-large","input":"x","dimensions":8}`,
		"ada defaults": `{"model":"text-embedding-ada-002","input":"x"}`,
	} {
		wantHTTP(t, "embeddings "+name, call(t, s, http.MethodPost, "/embeddings", "application/json", []byte(body)))
	}
	// encoding_format base64 sends each embedding as a base64 string of
	// little-endian float32s, where the document only knows arrays: check
	// it decodes to the float answer, which is checked above.
	floats := call(t, s, http.MethodPost, "/embeddings", "application/json", []byte(`{"model":"text-embedding-3-small","input":"gravity"}`))
	b64 := call(t, s, http.MethodPost, "/embeddings", "application/json", []byte(`{"model":"text-embedding-3-small","input":"gravity","encoding_format":"base64"}`))
	type embeddings[T any] struct {
		Data []struct {
			Embedding T `json:"embedding"`
		} `json:"data"`
	}
	want, got := decode[embeddings[[]float32]](t, floats.body), decode[embeddings[string]](t, b64.body)
	raw, err := base64.StdEncoding.DecodeString(got.Data[0].Embedding)
	if err != nil || len(raw) != 4*len(want.Data[0].Embedding) {
		t.Fatalf("base64 embedding: %v, %d bytes for %d floats", err, len(raw), len(want.Data[0].Embedding))
	}
	for i, f := range want.Data[0].Embedding {
		if g := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); g != f {
			t.Fatalf("base64 embedding[%d] = %v, want %v", i, g, f)
		}
	}

	for name, body := range map[string]string{
		"one input":   `{"input":"I will help you with your homework"}`,
		"many inputs": `{"model":"omni-moderation-latest","input":["hello","I want to kill myself"]}`,
		"parts":       `{"model":"omni-moderation-latest","input":[{"type":"text","text":"hello"}]}`,
	} {
		wantHTTP(t, "moderation "+name, call(t, s, http.MethodPost, "/moderations", "application/json", []byte(body)))
	}
	wantHTTP(t, "model list", call(t, s, http.MethodGet, "/models", "", nil))
}

func TestOpenAPIFiles(t *testing.T) {
	s := companiontest.NewServer()
	defer s.Close()
	var ids []string
	for _, p := range []string{"batch", "fine-tune", "assistants", "user_data", "vision"} {
		name := "a.jsonl"
		ct, body := upload(t, map[string]string{"purpose": p}, name, []byte(`{"a":1}`))
		x := call(t, s, http.MethodPost, "/files", ct, body)
		wantHTTP(t, "upload "+p, x)
		ids = append(ids, decode[fileObject](t, x.body).ID)
	}
	ct, body := upload(t, map[string]string{
		"purpose": "user_data", "expires_after[anchor]": "created_at", "expires_after[seconds]": "3600",
	}, "b.txt", []byte("x"))
	wantHTTP(t, "upload with expiry", call(t, s, http.MethodPost, "/files", ct, body))

	wantHTTP(t, "file", call(t, s, http.MethodGet, "/files/"+ids[0], "", nil))
	wantHTTP(t, "file list", call(t, s, http.MethodGet, "/files", "", nil))
	wantHTTP(t, "file list page", call(t, s, http.MethodGet, "/files?limit=2&order=asc&after="+ids[0], "", nil))
	wantHTTP(t, "empty file list", call(t, s, http.MethodGet, "/files?purpose=evals", "", nil))
	wantHTTP(t, "file delete", call(t, s, http.MethodDelete, "/files/"+ids[1], "", nil))
	// GET /files/{id}/content is declared as application/json of type
	// string, but the API (and this server) sends the file's bytes as
	// application/octet-stream; there is nothing to validate.
}

func TestOpenAPIBatches(t *testing.T) {
	clock := &testClock{now: time.Unix(1_700_000_000, 0)}
	s := companiontest.NewServer(companiontest.WithClock(clock.Now),
		companiontest.WithBatchTiming(companiontest.BatchTiming{Validating: time.Hour, InProgress: time.Hour, Finalizing: time.Hour}))
	defer s.Close()
	h := time.Hour
	// Each batch is created at the clock's base time and read after the
	// clock has moved on: with hour-long phases, 1.5 h later it is in
	// progress, 3 h later complete.
	states := []struct {
		status string
		lines  []string
		meta   map[string]string
		cancel time.Duration // when to cancel it, if at all
		read   time.Duration
	}{
		{"validating", chatLines(2), map[string]string{"k": "v"}, 0, 0},
		{"in_progress", chatLines(4), nil, 0, h + h/2},
		{"finalizing", chatLines(2), nil, 0, 2*h + h/2},
		{"completed", chatLines(2), nil, 0, 3 * h},
		{"completed", chatLines(3), map[string]string{companiontest.MetadataErrorEvery: "2"}, 0, 3 * h},
		{"failed", []string{"nope", `{"custom_id":"a"}`}, nil, 0, h},
		{"expired", chatLines(3), map[string]string{companiontest.MetadataOutcome: "expired"}, 0, 2 * h},
		{"cancelling", chatLines(4), nil, h + h/2, h + h/2},
		{"cancelled", chatLines(4), nil, h + h/2, 3 * h},
	}
	var outputs, errorFiles []string
	for _, st := range states {
		base := clock.Set(clock.Now().Add(24 * h))
		meta, _ := json.Marshal(st.meta)
		x := call(t, s, http.MethodPost, "/batches", "application/json", []byte(`{"input_file_id":"`+uploadBatchInput(t, s, st.lines)+
			`","endpoint":"/v1/chat/completions","completion_window":"24h","metadata":`+string(meta)+`}`))
		id := decode[batchObject](t, x.body).ID
		if st.cancel > 0 {
			clock.Set(base.Add(st.cancel))
			call(t, s, http.MethodPost, "/batches/"+id+"/cancel", "", nil)
		}
		clock.Set(base.Add(st.read))
		x = call(t, s, http.MethodGet, "/batches/"+id, "", nil)
		wantHTTP(t, "batch "+st.status, x)
		got := decode[batchObject](t, x.body)
		if got.Status != st.status {
			t.Fatalf("batch is %s, want %s", got.Status, st.status)
		}
		if got.OutputFileID != "" {
			outputs = append(outputs, got.OutputFileID)
		}
		if got.ErrorFileID != "" {
			errorFiles = append(errorFiles, got.ErrorFileID)
		}
	}
	// Create and cancel, through the API.
	input := uploadBatchInput(t, s, chatLines(1))
	x := call(t, s, http.MethodPost, "/batches", "application/json", []byte(`{"input_file_id":"`+input+
		`","endpoint":"/v1/chat/completions","completion_window":"24h","metadata":{"a":"b"},"output_expires_after":{"anchor":"created_at","seconds":3600}}`))
	wantHTTP(t, "batch create", x)
	wantHTTP(t, "batch cancel", call(t, s, http.MethodPost, "/batches/"+decode[batchObject](t, x.body).ID+"/cancel", "", nil))

	wantHTTP(t, "batch list", call(t, s, http.MethodGet, "/batches?limit=100", "", nil))
	wantHTTP(t, "batch list page", call(t, s, http.MethodGet, "/batches?limit=2", "", nil))
	wantHTTP(t, "batch output file", call(t, s, http.MethodGet, "/files/"+outputs[0], "", nil))

	// The bodies inside output and error files are the endpoint's.
	check := func(file, okSchema string) {
		x := call(t, s, http.MethodGet, "/files/"+file+"/content", "", nil)
		for i, raw := range bytes.Split(bytes.TrimSpace(x.body), []byte("\n")) {
			l := decode[outputLine](t, raw)
			what := fmt.Sprintf("line %d of %s", i+1, file)
			switch {
			case l.Response == nil && l.Error != nil: // batch_expired
			case l.Response != nil && l.Response.StatusCode == http.StatusOK:
				wantSchema(t, okSchema, what, l.Response.Body)
			case l.Response != nil:
				wantSchema(t, "ErrorResponse", what, l.Response.Body)
			default:
				t.Errorf("%s has neither response nor error: %s", what, raw)
			}
		}
	}
	for _, f := range outputs {
		check(f, "CreateChatCompletionResponse")
	}
	for _, f := range errorFiles {
		check(f, "CreateChatCompletionResponse")
	}

	// Embeddings and moderations batches.
	for endpoint, schema := range map[string]string{"/v1/embeddings": "CreateEmbeddingResponse", "/v1/moderations": "CreateModerationResponse"} {
		line := fmt.Sprintf(`{"custom_id":"a","method":"POST","url":%q,"body":{"model":"text-embedding-3-small","input":"x"}}`, endpoint)
		base := clock.Set(clock.Now().Add(24 * h))
		x := call(t, s, http.MethodPost, "/batches", "application/json", []byte(`{"input_file_id":"`+uploadBatchInput(t, s, []string{line})+
			`","endpoint":"`+endpoint+`","completion_window":"24h"}`))
		clock.Set(base.Add(3 * h))
		x = call(t, s, http.MethodGet, "/batches/"+decode[batchObject](t, x.body).ID, "", nil)
		wantHTTP(t, endpoint+" batch", x)
		o := decode[batchObject](t, x.body)
		if o.Status != "completed" || o.OutputFileID == "" {
			t.Fatalf("%s batch %+v", endpoint, o)
		}
		check(o.OutputFileID, schema)
	}
}

func TestOpenAPIErrors(t *testing.T) {
	clock := &testClock{now: time.Unix(1_700_000_000, 0)}
	s := companiontest.NewServer(companiontest.WithClock(clock.Now))
	defer s.Close()
	in := uploadBatchInput(t, s, chatLines(1))
	x := call(t, s, http.MethodPost, "/batches", "application/json",
		[]byte(`{"input_file_id":"`+in+`","endpoint":"/v1/chat/completions","completion_window":"24h"}`))
	clock.Set(clock.Now().Add(time.Hour))
	done := decode[batchObject](t, call(t, s, http.MethodGet, "/batches/"+decode[batchObject](t, x.body).ID, "", nil).body)
	badUpload, badUploadBody := upload(t, map[string]string{"purpose": "nope"}, "a.jsonl", nil)
	for _, tt := range []struct {
		what, method, path, contentType string
		body                            []byte
	}{
		{"unknown URL", http.MethodGet, "/nope", "", nil},
		{"chat: bad JSON", http.MethodPost, "/chat/completions", "application/json", []byte(`{"model":`)},
		{"chat: no messages", http.MethodPost, "/chat/completions", "application/json", []byte(`{"model":"gpt-4o"}`)},
		{"chat: bad role", http.MethodPost, "/chat/completions", "application/json", []byte(`{"model":"gpt-4o","messages":[{"role":"robot","content":"x"}]}`)},
		{"chat: n=2", http.MethodPost, "/chat/completions", "application/json", specChat(`,"n":2`, "hi")},
		{"embeddings: no input", http.MethodPost, "/embeddings", "application/json", []byte(`{"model":"text-embedding-3-small"}`)},
		{"embeddings: bad dimensions", http.MethodPost, "/embeddings", "application/json", []byte(`{"model":"text-embedding-3-small","input":"x","dimensions":0}`)},
		{"moderations: no input", http.MethodPost, "/moderations", "application/json", []byte(`{}`)},
		{"file: unknown", http.MethodGet, "/files/file-nope", "", nil},
		{"file content: unknown", http.MethodGet, "/files/file-nope/content", "", nil},
		{"file delete: unknown", http.MethodDelete, "/files/file-nope", "", nil},
		{"file upload: not multipart", http.MethodPost, "/files", "application/json", []byte(`{}`)},
		{"file upload: bad purpose", http.MethodPost, "/files", badUpload, badUploadBody},
		{"file list: bad limit", http.MethodGet, "/files?limit=0", "", nil},
		{"batch: bad JSON", http.MethodPost, "/batches", "application/json", []byte(`[`)},
		{"batch: unknown file", http.MethodPost, "/batches", "application/json", []byte(`{"input_file_id":"file-nope","endpoint":"/v1/chat/completions","completion_window":"24h"}`)},
		{"batch: bad window", http.MethodPost, "/batches", "application/json", []byte(`{"input_file_id":"` + in + `","endpoint":"/v1/chat/completions","completion_window":"1h"}`)},
		{"batch: unknown", http.MethodGet, "/batches/batch_nope", "", nil},
		{"batch cancel: unknown", http.MethodPost, "/batches/batch_nope/cancel", "", nil},
		{"batch cancel: completed", http.MethodPost, "/batches/" + done.ID + "/cancel", "", nil},
		{"batch list: bad limit", http.MethodGet, "/batches?limit=1000", "", nil},
	} {
		wantError(t, tt.what, call(t, s, tt.method, tt.path, tt.contentType, tt.body))
	}

	// Authentication and injected faults.
	keyed := companiontest.NewServer(companiontest.WithAPIKey("sk-right"))
	defer keyed.Close()
	wantError(t, "no API key", call(t, keyed, http.MethodGet, "/models", "", nil))
	for _, k := range []companiontest.FaultKind{companiontest.FaultRateLimit, companiontest.FaultServerError, companiontest.FaultBadGateway, companiontest.FaultUnavailable, companiontest.FaultGatewayTimeout} {
		s.SetFaults(companiontest.Fault{Kind: k, Count: 1})
		x := call(t, s, http.MethodPost, "/chat/completions", "application/json", specChat("", "hi"))
		wantError(t, fmt.Sprintf("fault %d", k), x)
		if k == companiontest.FaultRateLimit { // declared by the document for chat completions
			if errs := checkHTTP(t, x); len(errs) > 0 {
				t.Errorf("429 does not conform:%s\nheaders %v body %s", describe(errs), x.resp.Header, x.body)
			}
		}
	}
	s.SetFaults()
}
