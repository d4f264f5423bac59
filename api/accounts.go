package api

import (
	"net/http"
	"strings"
)

func (s *Server) verifyCredentials(w http.ResponseWriter, r *http.Request, c *caller) {
	a, err := s.accountEntity(r.Context(), c.account, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request, c *caller) {
	acc, ok := s.account(r.PathValue("id"))
	if !ok {
		s.writeRemoteAccount(w, r, c, r.PathValue("id")) // safety.go
		return
	}
	a, err := s.accountEntity(r.Context(), acc, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// lookupAccount finds one of our accounts by acct: "name" or
// "name@handle-domain".
func (s *Server) lookupAccount(w http.ResponseWriter, r *http.Request, c *caller) {
	acct := strings.TrimPrefix(r.URL.Query().Get("acct"), "@")
	name, domain, remote := strings.Cut(acct, "@")
	acc, ok := s.account(name)
	if !ok || (remote && !strings.EqualFold(domain, s.set.HandleDomain)) {
		s.fail(w, r, errNotFound)
		return
	}
	a, err := s.accountEntity(r.Context(), acc, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// preferences: what the composer starts with.
func (s *Server) preferences(w http.ResponseWriter, r *http.Request, c *caller) {
	writeJSON(w, http.StatusOK, map[string]any{
		"posting:default:visibility": "public",
		"posting:default:sensitive":  false,
		"posting:default:language":   nil,
		"reading:expand:media":       "default",
		"reading:expand:spoilers":    false,
	})
}
