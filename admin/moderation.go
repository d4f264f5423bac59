package admin

// Moderation (issue "The comms team's console", item 5), for the admins
// of each account: the crisis switch (package publish, crisis.go: the
// strictest reply and quote policy on new posts and the last N, on both
// networks, reverted exactly when turned off).

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// Crisis turns an account's crisis mode on and off: package publish.
type Crisis interface {
	CrisisOn(ctx context.Context, account string, n int) (publish.CrisisResult, error)
	CrisisOff(ctx context.Context, account string) (publish.CrisisResult, error)
	CrisisStatus(ctx context.Context, account string) (publish.CrisisResult, error)
}

type moderationAccount struct {
	Account string
	Crisis  publish.CrisisResult
}

type moderationBody struct {
	Accounts     []moderationAccount
	DefaultPosts int
	MaxPosts     int
	Done         string
}

func (c *Console) moderation(w http.ResponseWriter, r *http.Request, s *session) {
	c.moderationPage(w, r, s, http.StatusOK, "", "")
}

func (c *Console) moderationPage(w http.ResponseWriter, r *http.Request, s *session, code int, done, msg string) {
	admins := s.accountsWith(storage.RoleAdmin)
	if len(admins) == 0 || c.set.Crisis == nil {
		c.fail(w, r, http.StatusForbidden, "err.forbidden", nil)
		return
	}
	b := moderationBody{DefaultPosts: publish.CrisisDefaultPosts, MaxPosts: publish.CrisisMaxPosts, Done: done}
	for _, a := range admins {
		st, err := c.set.Crisis.CrisisStatus(r.Context(), a)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		b.Accounts = append(b.Accounts, moderationAccount{Account: a, Crisis: st})
	}
	c.render(w, r, code, "moderation.html", pageData{Title: "moderation", Session: s, Error: msg, Body: b})
}

// crisisSet turns an account's crisis mode on (with how many recent
// posts) or off; admins only, audited (crisis.set, crisis.set.refused).
func (c *Console) crisisSet(w http.ResponseWriter, r *http.Request, s *session) {
	lang := language(r)
	account, mode := strings.ToLower(r.PostFormValue("account")), r.PostFormValue("mode")
	if c.set.Crisis == nil || !slices.Contains(s.accountsWith(storage.RoleAdmin), account) {
		c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: "crisis.set.refused",
			Detail: "not an admin of the account"})
		c.fail(w, r, http.StatusForbidden, "err.forbidden", nil)
		return
	}
	var (
		res  publish.CrisisResult
		err  error
		done string
	)
	switch mode {
	case "on":
		n, perr := strconv.Atoi(r.PostFormValue("posts"))
		if perr != nil {
			n = 0 // refused below, with the range
		}
		res, err = c.set.Crisis.CrisisOn(r.Context(), account, n)
		done = tr(lang, "crisis.turnedon", account, res.Changed)
	case "off":
		res, err = c.set.Crisis.CrisisOff(r.Context(), account)
		done = tr(lang, "crisis.turnedoff", account, res.Changed)
	default:
		c.moderationPage(w, r, s, http.StatusUnprocessableEntity, "", tr(lang, "crisis.badmode"))
		return
	}
	var ve *publish.ValidationError
	if errors.As(err, &ve) {
		c.moderationPage(w, r, s, http.StatusUnprocessableEntity, "", ve.Msg)
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: "crisis.set",
		Target: mode, Detail: strconv.Itoa(res.Changed) + " post(s) changed"})
	c.moderationPage(w, r, s, http.StatusOK, done, "")
}
