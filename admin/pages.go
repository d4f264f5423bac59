package admin

import (
	"encoding/csv"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/storage"
)

func (c *Console) home(w http.ResponseWriter, r *http.Request, s *session) {
	keys, err := c.store.TeamPasskeys(r.Context(), s.member.ID)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	c.render(w, r, http.StatusOK, "home.html", pageData{Title: "home", Session: s,
		Body: struct {
			Roles    []storage.TeamRole
			IsAdmin  bool
			Passkeys int
		}{s.roles, len(s.accountsWith(storage.RoleAdmin)) > 0, len(keys)}})
}

// auditQuery is what the member may read: the entries of the accounts
// they administer or edit, and the instance's (logins) for admins.
func auditQuery(s *session) storage.AuditQuery {
	return storage.AuditQuery{
		Accounts:        s.accountsWith(storage.RoleAdmin, storage.RoleEditor),
		IncludeInstance: len(s.accountsWith(storage.RoleAdmin)) > 0,
	}
}

type auditRow struct {
	storage.AuditEntry
	When string
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) {
	q := auditQuery(s)
	q.Limit = auditPage + 1
	q.BeforeID, _ = strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	list, err := c.store.ListAudit(r.Context(), q)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	var older int64
	if len(list) > auditPage {
		list = list[:auditPage]
		older = list[auditPage-1].ID
	}
	rows := make([]auditRow, len(list))
	for i, e := range list {
		rows[i] = auditRow{e, e.At.UTC().Format("2006-01-02 15:04:05 UTC")}
	}
	c.render(w, r, http.StatusOK, "audit.html", pageData{Title: "audit", Session: s,
		Body: struct {
			Rows  []auditRow
			Older int64
		}{rows, older}})
}

// csvCell neutralises what a spreadsheet would run as a formula (CSV
// injection, OWASP): a cell starting with = + - @, a tab or a carriage
// return gets a leading apostrophe.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// auditCSV exports every entry the member may read, newest first.
func (c *Console) auditCSV(w http.ResponseWriter, r *http.Request, s *session) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-`+c.now().UTC().Format("20060102")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "time", "member_id", "who", "account", "app", "action", "target", "detail", "address"})
	q := auditQuery(s)
	q.Limit = 1000
	for {
		list, err := c.store.ListAudit(r.Context(), q)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err) // headers may be sent: logged either way
			return
		}
		for _, e := range list {
			_ = cw.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), strconv.FormatInt(e.MemberID, 10),
				csvCell(e.Actor), csvCell(e.Account), csvCell(e.App), csvCell(e.Action), csvCell(e.Target), csvCell(e.Detail), csvCell(e.Address)})
		}
		if len(list) < q.Limit {
			break
		}
		q.BeforeID = list[len(list)-1].ID
	}
	cw.Flush()
}

// teamRow is a member's role on an account, with their passkeys.
type teamRow struct {
	storage.TeamRole
	Self     bool
	Passkeys []storage.TeamPasskey
}

type teamBody struct {
	Rows     []teamRow
	Done     string   // what was just done
	Accounts []string // the accounts the member administers
	AllRoles []string
	Link     string
	Invitee  string
	Until    string
}

func (c *Console) teamPage(w http.ResponseWriter, r *http.Request, s *session, code int, b teamBody, msg string) {
	admin := s.accountsWith(storage.RoleAdmin)
	if len(admin) == 0 {
		c.fail(w, r, http.StatusForbidden, "err.forbidden", nil)
		return
	}
	list, err := c.store.ListTeamRoles(r.Context(), admin)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	for _, role := range list {
		keys, err := c.store.TeamPasskeys(r.Context(), role.MemberID)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		b.Rows = append(b.Rows, teamRow{role, role.MemberID == s.member.ID, keys})
	}
	b.Accounts, b.AllRoles = admin, roles
	c.render(w, r, code, "team.html", pageData{Title: "team", Session: s, Error: msg, Body: b})
}

func (c *Console) team(w http.ResponseWriter, r *http.Request, s *session) {
	c.teamPage(w, r, s, http.StatusOK, teamBody{}, "")
}

// teamInvite: an admin invites someone to one of the accounts they
// administer.
func (c *Console) teamInvite(w http.ResponseWriter, r *http.Request, s *session) {
	account := strings.ToLower(r.PostFormValue("account"))
	email, role := r.PostFormValue("email"), r.PostFormValue("role")
	if s.role(account) != storage.RoleAdmin {
		c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: "team.invite.refused",
			Target: email, Detail: "not an admin of the account"})
		c.teamPage(w, r, s, http.StatusForbidden, teamBody{}, tr(language(r), "err.forbidden"))
		return
	}
	link, until, err := c.Invite(r.Context(), email, account, role)
	if _, bad := err.(*InviteError); bad {
		c.teamPage(w, r, s, http.StatusUnprocessableEntity, teamBody{}, tr(language(r), "err.badinvite")+" "+err.Error())
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: "team.invite",
		Target: strings.ToLower(strings.TrimSpace(email)), Detail: "role " + role})
	c.teamPage(w, r, s, http.StatusOK, teamBody{Link: link, Invitee: email, Until: until.UTC().Format("2006-01-02 15:04 UTC")}, "")
}

// teamMemberOf reads the form's member and account: the signed-in member
// must be an admin of the account, and the member must have a role there.
func (c *Console) teamMemberOf(w http.ResponseWriter, r *http.Request, s *session, action string) (storage.TeamRole, bool) {
	account := strings.ToLower(r.PostFormValue("account"))
	id, _ := strconv.ParseInt(r.PostFormValue("member"), 10, 64)
	refuse := func(code int, why string) (storage.TeamRole, bool) {
		c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: action + ".refused",
			Target: "member " + strconv.FormatInt(id, 10), Detail: why})
		c.teamPage(w, r, s, code, teamBody{}, tr(language(r), "err.forbidden"))
		return storage.TeamRole{}, false
	}
	if s.role(account) != storage.RoleAdmin {
		return refuse(http.StatusForbidden, "not an admin of the account")
	}
	rs, err := c.store.TeamRoles(r.Context(), id)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return storage.TeamRole{}, false
	}
	for _, role := range rs {
		if role.Account == account {
			return role, true
		}
	}
	return refuse(http.StatusNotFound, "not a member of the account")
}

// teamRemove: an admin takes a member off one of their accounts' team;
// the member's console sessions end at once (and their tokens for the
// account stop working: api checks the role of the moment).
func (c *Console) teamRemove(w http.ResponseWriter, r *http.Request, s *session) {
	role, ok := c.teamMemberOf(w, r, s, "team.remove")
	if !ok {
		return
	}
	if role.MemberID == s.member.ID {
		c.teamPage(w, r, s, http.StatusUnprocessableEntity, teamBody{}, tr(language(r), "err.removeself"))
		return
	}
	ctx := r.Context()
	if _, err := c.store.DeleteTeamRole(ctx, role.MemberID, role.Account); err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	n, err := c.store.DeleteTeamSessions(ctx, role.MemberID)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: role.Account, Action: "team.remove",
		Target: role.Email, Detail: "role " + role.Role + "; " + strconv.Itoa(n) + " session(s) ended"})
	c.teamPage(w, r, s, http.StatusOK, teamBody{Done: tr(language(r), "team.removed", role.Email)}, "")
}

// teamSetRole: an admin changes the role of a member of one of their
// accounts (never their own: another admin does that, so that an account
// always keeps one). The member's tokens and sessions act with the new
// role at once (roles are read on every request).
func (c *Console) teamSetRole(w http.ResponseWriter, r *http.Request, s *session) {
	role, ok := c.teamMemberOf(w, r, s, "team.role")
	if !ok {
		return
	}
	lang := language(r)
	next := r.PostFormValue("role")
	switch {
	case role.MemberID == s.member.ID:
		c.teamPage(w, r, s, http.StatusUnprocessableEntity, teamBody{}, tr(lang, "err.roleself"))
		return
	case !slices.Contains(roles, next):
		c.teamPage(w, r, s, http.StatusUnprocessableEntity, teamBody{}, tr(lang, "err.badrole"))
		return
	}
	if next != role.Role {
		if err := c.store.SetTeamRole(r.Context(), role.MemberID, role.Account, next); err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: role.Account, Action: "team.role",
			Target: role.Email, Detail: role.Role + " -> " + next})
	}
	c.teamPage(w, r, s, http.StatusOK, teamBody{Done: tr(lang, "team.roleset", role.Email, tr(lang, "role."+next), role.Account)}, "")
}

// teamPasskeyRemove: an admin removes a passkey of a member of one of
// their accounts (a lost phone or key).
func (c *Console) teamPasskeyRemove(w http.ResponseWriter, r *http.Request, s *session) {
	role, ok := c.teamMemberOf(w, r, s, "passkey.remove")
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PostFormValue("passkey"), 10, 64)
	err := c.store.DeleteTeamPasskey(r.Context(), role.MemberID, id)
	if errors.Is(err, storage.ErrNotFound) {
		c.teamPage(w, r, s, http.StatusNotFound, teamBody{}, tr(language(r), "err.notfound"))
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: role.Account, Action: "passkey.removed",
		Target: role.Email, Detail: "passkey " + strconv.FormatInt(id, 10)})
	c.teamPage(w, r, s, http.StatusOK, teamBody{Done: tr(language(r), "passkey.removed", role.Email)}, "")
}
