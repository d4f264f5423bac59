package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/passerelle/passerelle/publish"

	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// TeamLogin is the comms team's console (package admin), as the OAuth
// login page sees it: the member signed in on a request, if any, and the
// accounts they belong to (lower-cased usernames).
type TeamLogin interface {
	Member(r *http.Request) (id int64, email string, accounts []string, ok bool)
	// LoginURL is the console's login page, coming back to next (a path
	// of ours) once signed in.
	LoginURL(next string) string
}

// errContributor refuses what a contributor's token may not do: edit,
// delete, pin, boost, favourite (their posts wait for approval instead:
// submitDraft).
var errContributor = &apiError{http.StatusForbidden,
	"Your role on this account is contributor: you may post drafts for an editor to approve, but not edit, delete, pin, boost or favourite. Ask an editor."}

// contributorDrafts sends contributors' tokens to drafts (the same
// handler, audited as draft.create), the others to h.
func (s *Server) contributorDrafts(h, drafts handler) handler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		if c.role == storage.RoleContributor {
			drafts(w, r, c)
			return
		}
		h(w, r, c)
	}
}

// PendingDraft is the answer to a contributor's post (202 Accepted): it
// waits for an editor's approval, and is not a status yet.
type PendingDraft struct {
	ID          string  `json:"id"`
	State       string  `json:"state"` // "pending_approval"
	Text        string  `json:"text"`
	ScheduledAt *string `json:"scheduled_at"`
	CreatedAt   string  `json:"created_at"`
	Message     string  `json:"message"`
}

// submitDraft stores a contributor's post as a draft waiting for approval
// and answers 202 with a PendingDraft.
func (s *Server) submitDraft(w http.ResponseWriter, r *http.Request, c *caller, d publish.Draft, at string) {
	var when time.Time
	if at != "" {
		var err error
		if when, err = parseScheduledAt(at); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	td, err := s.pub.SubmitDraft(r.Context(), c.name, d, when)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	auditTarget(r, "draft "+idString(td.ID))
	out := PendingDraft{ID: idString(td.ID), State: "pending_approval", Text: td.Text,
		CreatedAt: td.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		Message:   "Your post waits for an editor's approval; it is published once approved."}
	if !td.ScheduledAt.IsZero() {
		v := td.ScheduledAt.UTC().Format("2006-01-02T15:04:05.000Z")
		out.ScheduledAt = &v
	}
	writeJSON(w, http.StatusAccepted, out)
}

// editorOnly refuses contributors' tokens, and records the attempt
// (CLI tokens and login codes are the operator's and pass).
func (s *Server) editorOnly(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		if c.role == storage.RoleContributor {
			s.audit(r, c, "refused.contributor", r.Method+" "+r.URL.Path)
			s.fail(w, r, errContributor)
			return
		}
		h(w, r, c)
	}
}

// auditKey carries the audit target a handler names (auditTarget).
type auditKey struct{}

// auditTarget names what the audited request acted on, when the path
// does not (a created status, a domain).
func auditTarget(r *http.Request, target string) {
	if p, ok := r.Context().Value(auditKey{}).(*string); ok {
		*p = target
	}
}

// codeRecorder keeps the status code a handler answered with.
type codeRecorder struct {
	http.ResponseWriter
	code int
}

func (c *codeRecorder) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *codeRecorder) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return c.ResponseWriter.Write(b)
}

func (c *codeRecorder) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// audited records action in the audit log when h succeeds: who (the
// token's member, or the token), with which app, on which account and
// target (the path's id, or what the handler named).
func (s *Server) audited(action string, h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		target := r.PathValue("id")
		r = r.WithContext(context.WithValue(r.Context(), auditKey{}, &target))
		rec := &codeRecorder{ResponseWriter: w}
		h(rec, r, c)
		if rec.code == 0 || rec.code >= 400 {
			return
		}
		s.audit(r, c, action, target)
	}
}

// audit appends one entry; a failure is logged (what it records is done).
func (s *Server) audit(r *http.Request, c *caller, action, target string) {
	ctx := context.WithoutCancel(r.Context())
	e := storage.AuditEntry{At: s.now().UTC(), MemberID: c.token.MemberID, Account: c.name, Action: action,
		Target: target, Address: clientAddr(r), Actor: "token " + c.token.Name}
	if c.token.AppID != 0 {
		e.Actor = "app token"
		if app, err := s.store.GetAppByClientID(ctx, c.token.Name); err == nil {
			e.App = app.Name
		}
	}
	if c.token.MemberID != 0 {
		m, err := s.store.GetTeamMember(ctx, c.token.MemberID)
		switch {
		case err == nil:
			e.Actor = m.Email
		case errors.Is(err, storage.ErrNotFound):
			e.Actor = "removed member"
		default:
			reqlog.Logger(ctx, s.log).Warn().Err(err).Int64("member", c.token.MemberID).Msg("audit: read member")
		}
	}
	e.Detail = "token " + idString(c.token.ID)
	if _, err := s.store.InsertAudit(ctx, e); err != nil {
		reqlog.Logger(ctx, s.log).Error().Err(err).Str("action", action).Msg("write audit log")
	}
}

// teamAccounts is the signed-in member's accounts that are ours.
func (s *Server) teamMember(r *http.Request) (id int64, email string, accounts []string, ok bool) {
	if s.team == nil {
		return 0, "", nil, false
	}
	id, email, all, ok := s.team.Member(r)
	for _, a := range all {
		if _, ours := s.accounts[strings.ToLower(a)]; ours {
			accounts = append(accounts, strings.ToLower(a))
		}
	}
	return id, email, accounts, ok
}
