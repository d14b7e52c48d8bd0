package companiontest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

// newClient returns a go-openai client for s.
func newClient(s *Server) *openai.Client {
	cfg := openai.DefaultConfig("test-key")
	cfg.BaseURL = s.URL
	cfg.HTTPClient = s.Client()
	return openai.NewClientWithConfig(cfg)
}

// multipartBody builds a multipart form: fields, then a file part when
// filename is not "-".
func multipartBody(t *testing.T, fields map[string]string, filename string, content []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if filename != "-" {
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(content)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

// do sends a request and returns the status and body.
func do(t *testing.T, s *Server, method, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// decode unmarshals JSON or fails the test.
func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T: %v in %s", v, err, b)
	}
	return v
}

// wantAPIError checks that a response is an OpenAI error body with the given
// status and param.
func wantAPIError(t *testing.T, status int, body []byte, wantStatus int, wantParam string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", status, wantStatus, body)
	}
	e := decode[struct {
		Error *struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
		} `json:"error"`
	}](t, body)
	if e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("not an error body: %s", body)
	}
	if wantParam != "" && (e.Error.Param == nil || *e.Error.Param != wantParam) {
		t.Errorf("param %v, want %q; body %s", e.Error.Param, wantParam, body)
	}
}

func TestFilesCRUD(t *testing.T) {
	s := NewServer()
	defer s.Close()
	c := newClient(s)
	ctx := context.Background()

	content := []byte(`{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{}}` + "\n")
	f, err := c.CreateFileBytes(ctx, openai.FileBytesRequest{Name: "in.jsonl", Bytes: content, Purpose: openai.PurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(f.ID, "file-") || f.Object != "file" || f.Bytes != len(content) ||
		f.FileName != "in.jsonl" || f.Purpose != "batch" || f.Status != "processed" || f.CreatedAt == 0 {
		t.Fatalf("file object %+v", f)
	}

	got, err := c.GetFile(ctx, f.ID)
	if err != nil || got.ID != f.ID || got.Bytes != f.Bytes {
		t.Fatalf("GetFile = %+v, %v", got, err)
	}
	raw, err := c.GetFileContent(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(raw)
	raw.Close()
	if !bytes.Equal(b, content) {
		t.Fatalf("content %q, want %q", b, content)
	}

	f2, err := c.CreateFileBytes(ctx, openai.FileBytesRequest{Name: "notes.txt", Bytes: []byte("hello"), Purpose: "user_data"})
	if err != nil {
		t.Fatal(err)
	}
	if f2.ID == f.ID {
		t.Fatal("two files share an id")
	}
	list, err := c.ListFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Files) != 2 || list.Files[0].ID != f2.ID || list.Files[1].ID != f.ID {
		t.Fatalf("ListFiles (newest first) = %+v", list.Files)
	}

	if err := c.DeleteFile(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetFile(ctx, f.ID)
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusNotFound {
		t.Fatalf("GetFile after delete: %v", err)
	}
	st, body := do(t, s, http.MethodDelete, "/files/"+f.ID, "", nil)
	wantAPIError(t, st, body, http.StatusNotFound, "id")
	st, body = do(t, s, http.MethodGet, "/files/"+f.ID+"/content", "", nil)
	wantAPIError(t, st, body, http.StatusNotFound, "id")

	st, body = do(t, s, http.MethodDelete, "/files/"+f2.ID, "", nil)
	if st != http.StatusOK || string(body) != `{"id":"`+f2.ID+`","object":"file","deleted":true}`+"\n" {
		t.Fatalf("delete: %d %s", st, body)
	}
}

func TestListFilesPagination(t *testing.T) {
	s := NewServer()
	defer s.Close()
	var ids []string // upload order
	for i, p := range []string{"user_data", "batch", "user_data", "assistants", "user_data"} {
		name := "f.txt"
		if p == "batch" {
			name = "f.jsonl"
		}
		ct, body := multipartBody(t, map[string]string{"purpose": p}, name, []byte{byte('a' + i)})
		st, resp := do(t, s, http.MethodPost, "/files", ct, body)
		if st != http.StatusOK {
			t.Fatalf("upload: %d %s", st, resp)
		}
		ids = append(ids, decode[fileObject](t, resp).ID)
	}
	list := func(query string) fileList {
		t.Helper()
		st, resp := do(t, s, http.MethodGet, "/files"+query, "", nil)
		if st != http.StatusOK {
			t.Fatalf("list %s: %d %s", query, st, resp)
		}
		return decode[fileList](t, resp)
	}
	idsOf := func(l fileList) string {
		var out []string
		for _, f := range l.Data {
			out = append(out, f.ID)
		}
		return strings.Join(out, ",")
	}
	join := func(ids ...string) string { return strings.Join(ids, ",") }

	l := list("?order=asc&limit=2")
	if idsOf(l) != join(ids[0], ids[1]) || !l.HasMore || l.FirstID != ids[0] || l.LastID != ids[1] {
		t.Fatalf("page 1: %+v", l)
	}
	l = list("?order=asc&limit=2&after=" + l.LastID)
	if idsOf(l) != join(ids[2], ids[3]) || !l.HasMore {
		t.Fatalf("page 2: %+v", l)
	}
	l = list("?order=asc&limit=2&after=" + l.LastID)
	if idsOf(l) != ids[4] || l.HasMore {
		t.Fatalf("page 3: %+v", l)
	}
	l = list("?purpose=user_data")
	if idsOf(l) != join(ids[4], ids[2], ids[0]) || l.HasMore {
		t.Fatalf("purpose filter, desc: %+v", l)
	}
	l = list("?purpose=vision")
	if len(l.Data) != 0 || l.Data == nil || l.HasMore {
		t.Fatalf("empty list: %+v", l)
	}

	for _, q := range []string{"?limit=0", "?limit=x", "?limit=10001", "?order=up", "?after=file-nope"} {
		st, resp := do(t, s, http.MethodGet, "/files"+q, "", nil)
		wantAPIError(t, st, resp, http.StatusBadRequest, "")
	}
}

func TestUploadFileBadInput(t *testing.T) {
	s := NewServer()
	defer s.Close()
	ctJSONL, _ := multipartBody(t, map[string]string{"purpose": "batch"}, "in.jsonl", []byte("{}"))
	tests := []struct {
		name        string
		contentType string
		body        []byte
		param       string
	}{
		{"not multipart", "application/json", []byte(`{"purpose":"batch"}`), ""},
		{"no content type", "", []byte("x"), ""},
		{"no boundary", "multipart/form-data", []byte("x"), ""},
		{"truncated multipart", ctJSONL, []byte("--garbage\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbat"), ""},
	}
	add := func(name string, fields map[string]string, filename string, param string) {
		ct, body := multipartBody(t, fields, filename, []byte("data"))
		tests = append(tests, struct {
			name        string
			contentType string
			body        []byte
			param       string
		}{name, ct, body, param})
	}
	add("missing file", map[string]string{"purpose": "batch"}, "-", "file")
	add("missing purpose", nil, "a.jsonl", "purpose")
	add("unknown purpose", map[string]string{"purpose": "batch_output"}, "a.jsonl", "purpose")
	add("batch file not jsonl", map[string]string{"purpose": "batch"}, "a.csv", "file")
	add("bad expiry anchor", map[string]string{"purpose": "user_data", "expires_after[anchor]": "now", "expires_after[seconds]": "3600"}, "a.txt", "expires_after.anchor")
	add("expiry too short", map[string]string{"purpose": "user_data", "expires_after[anchor]": "created_at", "expires_after[seconds]": "60"}, "a.txt", "expires_after.seconds")
	add("expiry not a number", map[string]string{"purpose": "user_data", "expires_after[anchor]": "created_at", "expires_after[seconds]": "soon"}, "a.txt", "expires_after.seconds")
	add("purpose too long", map[string]string{"purpose": strings.Repeat("x", maxMultipartField+1)}, "a.txt", "purpose")

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := do(t, s, http.MethodPost, "/files", tt.contentType, tt.body)
			wantAPIError(t, st, body, http.StatusBadRequest, tt.param)
		})
	}
	if n := len(s.Requests()); n != len(tests) {
		t.Fatalf("%d requests recorded, want %d", n, len(tests))
	}
	st, body := do(t, s, http.MethodGet, "/files", "", nil)
	if l := decode[fileList](t, body); st != http.StatusOK || len(l.Data) != 0 {
		t.Fatalf("a bad upload stored a file: %s", body)
	}
}

func TestUploadFileExpiry(t *testing.T) {
	s := NewServer()
	defer s.Close()
	ct, body := multipartBody(t, map[string]string{
		"purpose": "user_data", "expires_after[anchor]": "created_at", "expires_after[seconds]": "7200",
	}, "a.txt", []byte("x"))
	st, resp := do(t, s, http.MethodPost, "/files", ct, body)
	if st != http.StatusOK {
		t.Fatalf("%d %s", st, resp)
	}
	f := decode[fileObject](t, resp)
	if f.ExpiresAt != f.CreatedAt+7200 {
		t.Fatalf("expires_at %d, created_at %d", f.ExpiresAt, f.CreatedAt)
	}
}

func TestFileContentOfAssistantsFileIsRefused(t *testing.T) {
	s := NewServer()
	defer s.Close()
	ct, body := multipartBody(t, map[string]string{"purpose": "assistants"}, "a.txt", []byte("x"))
	_, resp := do(t, s, http.MethodPost, "/files", ct, body)
	f := decode[fileObject](t, resp)
	st, resp := do(t, s, http.MethodGet, "/files/"+f.ID+"/content", "", nil)
	wantAPIError(t, st, resp, http.StatusBadRequest, "")
}
