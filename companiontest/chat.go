package companiontest

// PLACEHOLDER: helper A replaces this file.

import "net/http"

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotImplemented, "server_error", "", "not implemented")
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotImplemented, "server_error", "", "not implemented")
}

func (s *Server) handleModerations(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotImplemented, "server_error", "", "not implemented")
}

func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) bool { return false }
