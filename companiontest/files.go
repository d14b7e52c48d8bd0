package companiontest

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The Files API, kept in memory:
//
//	POST   /v1/files                    multipart: file, purpose, expires_after[anchor], expires_after[seconds]
//	GET    /v1/files                    ?purpose= &order=asc|desc &limit= &after=
//	GET    /v1/files/{file_id}
//	GET    /v1/files/{file_id}/content
//	DELETE /v1/files/{file_id}
//
// Objects follow the OpenAPI schemas OpenAIFile, ListFilesResponse and
// DeleteFileResponse. Batch output and error files (purpose "batch_output")
// are created here by the batch lifecycle (batch.go).

// fileObject is the API's file object (schema OpenAIFile).
type fileObject struct {
	ID        string `json:"id"`
	Object    string `json:"object"` // "file"
	Bytes     int    `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	ExpiresAt int64  `json:"expires_at,omitempty"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"` // always "processed"
}

// storedFile is a file object with its content.
type storedFile struct {
	obj  fileObject
	data []byte
}

// uploadPurposes are the purposes a client may upload (schema
// CreateFileRequest). "batch_output" and the other *_output purposes are
// the server's own.
var uploadPurposes = []string{"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}

// Limits of the real API that the fake enforces.
const (
	maxFileListLimit  = 10000
	minFileExpiry     = 3600    // expires_after[seconds], 1 hour
	maxFileExpiry     = 2592000 // 30 days
	maxMultipartField = 4 << 10 // a non-file form field
)

func (s *Server) fileRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/files", s.handleUploadFile)
	mux.HandleFunc("GET /v1/files", s.handleListFiles)
	mux.HandleFunc("GET /v1/files/{file_id}", s.handleGetFile)
	mux.HandleFunc("GET /v1/files/{file_id}/content", s.handleFileContent)
	mux.HandleFunc("DELETE /v1/files/{file_id}", s.handleDeleteFile)
}

// errInvalidRequest writes a 400 invalid_request_error naming param.
func errInvalidRequest(w http.ResponseWriter, param, msg string) {
	writeErrorParam(w, http.StatusBadRequest, "invalid_request_error", "", param, msg)
}

// writeErrorParam is writeError with the error's param set (when not "").
func writeErrorParam(w http.ResponseWriter, status int, typ, code, param, msg string) {
	e := apiError{Message: msg, Type: typ}
	if code != "" {
		e.Code = &code
	}
	if param != "" {
		e.Param = &param
	}
	writeJSON(w, status, struct {
		Error apiError `json:"error"`
	}{e})
}

func noSuchFile(w http.ResponseWriter, id string) {
	writeErrorParam(w, http.StatusNotFound, "invalid_request_error", "", "id", "No such File object: "+id)
}

func (s *Server) handleUploadFile(w http.ResponseWriter, r *http.Request) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		errInvalidRequest(w, "", "Invalid Content-Type header ("+r.Header.Get("Content-Type")+
			"), expected multipart/form-data with a boundary.")
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		errInvalidRequest(w, "", "Could not parse multipart form: "+err.Error())
		return
	}
	var (
		purpose, filename, anchor, seconds string
		data                               []byte
		haveFile, haveSeconds              bool
	)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errInvalidRequest(w, "", "Could not parse multipart form: "+err.Error())
			return
		}
		name := p.FormName()
		if name == "file" {
			data, err = io.ReadAll(p)
			if err != nil {
				errInvalidRequest(w, "file", "Could not read the uploaded file: "+err.Error())
				return
			}
			filename, haveFile = p.FileName(), true
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, maxMultipartField+1))
		if err != nil {
			errInvalidRequest(w, "", "Could not parse multipart form: "+err.Error())
			return
		}
		if len(v) > maxMultipartField {
			errInvalidRequest(w, name, "The form field '"+name+"' is too long.")
			return
		}
		switch name {
		case "purpose":
			purpose = string(v)
		case "expires_after[anchor]":
			anchor = string(v)
		case "expires_after[seconds]":
			seconds, haveSeconds = string(v), true
		}
	}
	switch {
	case !haveFile:
		errInvalidRequest(w, "file", "Missing required parameter: 'file'.")
		return
	case purpose == "":
		errInvalidRequest(w, "purpose", "Missing required parameter: 'purpose'.")
		return
	case !slices.Contains(uploadPurposes, purpose):
		errInvalidRequest(w, "purpose", fmt.Sprintf("'%s' is not one of %s - 'purpose'", purpose, quoteList(uploadPurposes)))
		return
	case purpose == "batch" && !strings.HasSuffix(strings.ToLower(filename), ".jsonl"):
		errInvalidRequest(w, "file", "Invalid file format for Batch API. Must be .jsonl")
		return
	}
	if filename == "" {
		filename = "file"
	}
	now := s.cfg.clock().Unix()
	var expiresAt int64
	if anchor != "" || haveSeconds {
		secs, err := strconv.ParseInt(seconds, 10, 64)
		switch {
		case anchor != "created_at":
			errInvalidRequest(w, "expires_after.anchor", "expires_after[anchor] must be 'created_at'.")
			return
		case err != nil || secs < minFileExpiry || secs > maxFileExpiry:
			errInvalidRequest(w, "expires_after.seconds", fmt.Sprintf(
				"expires_after[seconds] must be an integer between %d and %d.", minFileExpiry, maxFileExpiry))
			return
		}
		expiresAt = now + secs
	}
	f := s.addFile(purpose, filename, data, now, expiresAt)
	writeJSON(w, http.StatusOK, f)
}

// addFile stores a file and returns its object.
func (s *Server) addFile(purpose, filename string, data []byte, createdAt, expiresAt int64) fileObject {
	f := &storedFile{
		obj: fileObject{
			ID:        s.genID("file-", 22),
			Object:    "file",
			Bytes:     len(data),
			CreatedAt: createdAt,
			ExpiresAt: expiresAt,
			Filename:  filename,
			Purpose:   purpose,
			Status:    "processed",
		},
		data: data,
	}
	b := &s.batches
	b.mu.Lock()
	defer b.mu.Unlock()
	b.files[f.obj.ID] = f
	b.fileOrder = append(b.fileOrder, f.obj.ID)
	return f.obj
}

// file returns a stored file.
func (s *Server) file(id string) (*storedFile, bool) {
	b := &s.batches
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.files[id]
	return f, ok
}

// fileList is the API's list of files (schema ListFilesResponse).
type fileList struct {
	Object  string       `json:"object"`
	Data    []fileObject `json:"data"`
	FirstID string       `json:"first_id"`
	LastID  string       `json:"last_id"`
	HasMore bool         `json:"has_more"`
}

func (s *Server) handleListFiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := listLimit(w, q, maxFileListLimit, maxFileListLimit)
	if !ok {
		return
	}
	order := q.Get("order")
	if order == "" {
		order = "desc"
	}
	if order != "asc" && order != "desc" {
		errInvalidRequest(w, "order", "Invalid 'order': must be 'asc' or 'desc'.")
		return
	}
	purpose, after := q.Get("purpose"), q.Get("after")

	b := &s.batches
	b.mu.Lock()
	all := make([]fileObject, 0, len(b.fileOrder))
	for _, id := range b.fileOrder {
		all = append(all, b.files[id].obj)
	}
	_, afterFound := b.files[after]
	b.mu.Unlock()

	if after != "" && !afterFound {
		errInvalidRequest(w, "after", "Invalid 'after': no file with id "+after+".")
		return
	}
	if order == "desc" {
		slices.Reverse(all)
	}
	if after != "" {
		i := slices.IndexFunc(all, func(f fileObject) bool { return f.ID == after })
		all = all[i+1:]
	}
	out := fileList{Object: "list", Data: []fileObject{}}
	for _, f := range all {
		if purpose != "" && f.Purpose != purpose {
			continue
		}
		if len(out.Data) == limit {
			out.HasMore = true
			break
		}
		out.Data = append(out.Data, f)
	}
	if n := len(out.Data); n > 0 {
		out.FirstID, out.LastID = out.Data[0].ID, out.Data[n-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("file_id")
	f, ok := s.file(id)
	if !ok {
		noSuchFile(w, id)
		return
	}
	writeJSON(w, http.StatusOK, f.obj)
}

func (s *Server) handleFileContent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("file_id")
	f, ok := s.file(id)
	if !ok {
		noSuchFile(w, id)
		return
	}
	if f.obj.Purpose == "assistants" {
		errInvalidRequest(w, "", "Not allowed to download files of purpose: assistants")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(f.data)
}

// fileDeleted is the API's answer to a delete (schema DeleteFileResponse).
type fileDeleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "file"
	Deleted bool   `json:"deleted"`
}

func (s *Server) handleDeleteFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("file_id")
	b := &s.batches
	b.mu.Lock()
	_, ok := b.files[id]
	if ok {
		delete(b.files, id)
		b.fileOrder = slices.DeleteFunc(b.fileOrder, func(x string) bool { return x == id })
	}
	b.mu.Unlock()
	if !ok {
		noSuchFile(w, id)
		return
	}
	writeJSON(w, http.StatusOK, fileDeleted{ID: id, Object: "file", Deleted: true})
}

// quoteList formats names as the API's validation messages do:
// ['a', 'b'].
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// listLimit reads a list request's "limit" (def when absent); on a value
// outside 1..max it answers 400 and reports false.
func listLimit(w http.ResponseWriter, q url.Values, def, max int) (int, bool) {
	v := q.Get("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		errInvalidRequest(w, "limit", fmt.Sprintf("Invalid 'limit': must be an integer between 1 and %d.", max))
		return 0, false
	}
	return n, true
}
