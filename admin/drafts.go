package admin

// Contributors' drafts (issue "The comms team's console", approval): the
// editors and admins of an account list its pending drafts and approve
// (publish, through package publish) or reject them with a reason; a
// contributor sees their own drafts, their state and the reason.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// Drafts decides contributors' drafts: package publish.
type Drafts interface {
	ApproveDraft(ctx context.Context, account string, id, approver int64) (publish.Approval, error)
	RejectDraft(ctx context.Context, account string, id, by int64, reason string) error
}

// maxReason bounds a rejection's reason, in characters.
const maxReason = 500

type draftsBody struct {
	Pending  []storage.TeamDraft // of the accounts the member decides for
	Decided  []storage.TeamDraft // recently decided, same accounts
	Own      []storage.TeamDraft // the member's own drafts (contributors)
	Done     string
	Deciding bool // the member is an editor or admin somewhere
}

func (c *Console) draftsPage(w http.ResponseWriter, r *http.Request, s *session, code int, done, msg string) {
	ctx := r.Context()
	deciders := s.accountsWith(storage.RoleAdmin, storage.RoleEditor)
	b := draftsBody{Done: done, Deciding: len(deciders) > 0}
	var err error
	if len(deciders) > 0 {
		if b.Pending, err = c.store.ListTeamDrafts(ctx, storage.TeamDraftQuery{Accounts: deciders, State: storage.DraftPending, Limit: 100}); err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		all, err := c.store.ListTeamDrafts(ctx, storage.TeamDraftQuery{Accounts: deciders, Limit: 50})
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		for _, d := range all {
			if d.State != storage.DraftPending {
				b.Decided = append(b.Decided, d)
			}
		}
	}
	if contributing := s.accountsWith(storage.RoleContributor); len(contributing) > 0 {
		if b.Own, err = c.store.ListTeamDrafts(ctx, storage.TeamDraftQuery{Accounts: contributing, MemberID: s.member.ID, Limit: 50}); err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
	}
	c.render(w, r, code, "drafts.html", pageData{Title: "drafts", Session: s, Error: msg, Body: b})
}

func (c *Console) drafts(w http.ResponseWriter, r *http.Request, s *session) {
	c.draftsPage(w, r, s, http.StatusOK, "", "")
}

// draftOf reads the form's account and draft: the member must be an
// editor or admin of the account. ok is false when it answered.
func (c *Console) draftOf(w http.ResponseWriter, r *http.Request, s *session, action string) (account string, id int64, ok bool) {
	account = strings.ToLower(r.PostFormValue("account"))
	id, _ = strconv.ParseInt(r.PostFormValue("draft"), 10, 64)
	if role := s.role(account); role != storage.RoleAdmin && role != storage.RoleEditor {
		c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: action + ".refused",
			Target: "draft " + strconv.FormatInt(id, 10), Detail: "not an editor or admin of the account"})
		c.draftsPage(w, r, s, http.StatusForbidden, "", tr(language(r), "err.noteditor"))
		return "", 0, false
	}
	if c.set.Drafts == nil {
		c.draftsPage(w, r, s, http.StatusServiceUnavailable, "", tr(language(r), "err.internal"))
		return "", 0, false
	}
	return account, id, true
}

// draftError answers a decision that could not be made.
func (c *Console) draftError(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var ve *publish.ValidationError
	switch {
	case errors.Is(err, publish.ErrNotFound):
		c.draftsPage(w, r, s, http.StatusNotFound, "", tr(language(r), "draft.notfound"))
	case errors.Is(err, publish.ErrDraftDecided):
		c.draftsPage(w, r, s, http.StatusConflict, "", tr(language(r), "draft.decided"))
	case errors.As(err, &ve):
		c.draftsPage(w, r, s, http.StatusUnprocessableEntity, "", tr(language(r), "draft.invalid")+" "+ve.Msg)
	default:
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
	}
}

// draftApprove publishes a pending draft, attributed to its contributor,
// and records who approved it.
func (c *Console) draftApprove(w http.ResponseWriter, r *http.Request, s *session) {
	account, id, ok := c.draftOf(w, r, s, "draft.approve")
	if !ok {
		return
	}
	ap, err := c.set.Drafts.ApproveDraft(r.Context(), account, id, s.member.ID)
	if err != nil {
		c.draftError(w, r, s, err)
		return
	}
	detail, msg := "status "+strconv.FormatInt(ap.Status.ID, 10), tr(language(r), "draft.approved", ap.Status.ID)
	if ap.Status.ID == 0 {
		at := ap.ScheduledAt.UTC().Format("2006-01-02 15:04 UTC")
		detail, msg = "scheduled for "+at, tr(language(r), "draft.approvedlater", at)
	}
	c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: "draft.approve",
		Target: "draft " + strconv.FormatInt(id, 10), Detail: detail})
	c.draftsPage(w, r, s, http.StatusOK, msg, "")
}

// draftReject rejects a pending draft with an optional reason.
func (c *Console) draftReject(w http.ResponseWriter, r *http.Request, s *session) {
	account, id, ok := c.draftOf(w, r, s, "draft.reject")
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if utf8.RuneCountInString(reason) > maxReason || !utf8.ValidString(reason) {
		c.draftsPage(w, r, s, http.StatusUnprocessableEntity, "", tr(language(r), "draft.reasonlong", maxReason))
		return
	}
	if err := c.set.Drafts.RejectDraft(r.Context(), account, id, s.member.ID, reason); err != nil {
		c.draftError(w, r, s, err)
		return
	}
	c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: "draft.reject",
		Target: "draft " + strconv.FormatInt(id, 10), Detail: reason})
	c.draftsPage(w, r, s, http.StatusOK, tr(language(r), "draft.rejected"), "")
}
