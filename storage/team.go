package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file keeps the comms team's console (package admin): members with
// their own login, roles per account, invitations, sessions, who made each
// status and the audit log.

// Team roles, per account.
const (
	RoleAdmin       = "admin"       // the team, blocks, crisis mode
	RoleEditor      = "editor"      // post, reply, delete, approve
	RoleContributor = "contributor" // drafts that need approval
)

// TeamMember is a person of the comms team.
type TeamMember struct {
	ID           int64
	Email        string // lower-cased
	PasswordHash string // bcrypt
	TOTPSecret   string // RFC 6238 shared secret, base32
	CreatedAt    time.Time
}

// TeamRole is a member's role on one account.
type TeamRole struct {
	MemberID int64
	Email    string // filled by ListTeamRoles
	Account  string
	Role     string
}

// TeamInvite is a one-time invitation, stored hashed.
type TeamInvite struct {
	Hash      string
	Email     string
	Account   string
	Role      string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero while unused
}

// TeamSession is a console session, stored hashed.
type TeamSession struct {
	Hash      string
	MemberID  int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TeamPasskey is a member's WebAuthn credential.
type TeamPasskey struct {
	ID           int64
	MemberID     int64
	CredentialID string // base64url
	Credential   string // JSON of the WebAuthn library's credential
	CreatedAt    time.Time
}

// StatusAttribution is who made a status: the member (0: none, a login
// code or the CLI) and the app (0: a CLI token); AppName and AppWebsite
// are read with it.
type StatusAttribution struct {
	StatusID   int64
	MemberID   int64
	AppID      int64
	TokenID    int64
	AppName    string
	AppWebsite string
	CreatedAt  time.Time
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID       int64
	At       time.Time
	MemberID int64  // 0 when not a member
	Actor    string // the member's email, or what acted ("token NAME", "login code")
	Account  string // our account concerned; "" for the instance
	App      string // the app's name, "" when none
	Action   string // status.create, status.edit, status.delete, block.add, login.failed...
	Target   string // what it acted on (a status id, a domain, an email)
	Detail   string
	Address  string // the client's address
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	Accounts []string // entries of these accounts (and of the instance when IncludeInstance)
	// IncludeInstance adds the entries without account (logins).
	IncludeInstance bool
	BeforeID        int64 // 0: from the newest
	Limit           int
}

// Team is the storage of the comms team's console.
type Team interface {
	// InsertTeamMember stores a member (email lower-cased) and returns its
	// id; ErrAlreadyExists when the email is taken.
	InsertTeamMember(ctx context.Context, m TeamMember) (int64, error)
	// GetTeamMember and GetTeamMemberByEmail return ErrNotFound when there
	// is no such member.
	GetTeamMember(ctx context.Context, id int64) (TeamMember, error)
	GetTeamMemberByEmail(ctx context.Context, email string) (TeamMember, error)
	// UseTOTPStep records that the member's code of time step was
	// accepted; false when that step or a later one already was (a code
	// is never accepted twice).
	UseTOTPStep(ctx context.Context, memberID, step int64) (bool, error)
	// SetTeamRole gives the member role on account (replacing the one it
	// had there).
	SetTeamRole(ctx context.Context, memberID int64, account, role string) error
	// TeamRoles lists the member's roles, by account.
	TeamRoles(ctx context.Context, memberID int64) ([]TeamRole, error)
	// ListTeamRoles lists the roles on the accounts (all when nil), by
	// account then email.
	ListTeamRoles(ctx context.Context, accounts []string) ([]TeamRole, error)
	// DeleteTeamRole takes the member off the account's team; false when
	// they had no role there.
	DeleteTeamRole(ctx context.Context, memberID int64, account string) (bool, error)

	// InsertTeamInvite stores an invitation; ErrAlreadyExists when its
	// hash is taken.
	InsertTeamInvite(ctx context.Context, inv TeamInvite) error
	// GetTeamInvite returns an invitation, used or expired ones included
	// (ErrNotFound when unknown).
	GetTeamInvite(ctx context.Context, hash string) (TeamInvite, error)
	// UseTeamInvite marks the invitation used at `at` and returns it, when
	// it is unused and not expired at `at`; ErrNotFound otherwise. Of
	// concurrent callers, one succeeds.
	UseTeamInvite(ctx context.Context, hash string, at time.Time) (TeamInvite, error)

	// InsertTeamSession stores a session.
	InsertTeamSession(ctx context.Context, s TeamSession) error
	// GetTeamSession returns a session that has not expired at now;
	// ErrNotFound otherwise.
	GetTeamSession(ctx context.Context, hash string, now time.Time) (TeamSession, error)
	// DeleteTeamSession removes a session (logging out); no error when
	// there was none.
	DeleteTeamSession(ctx context.Context, hash string) error
	// DeleteTeamSessions ends every session of the member and returns how
	// many there were.
	DeleteTeamSessions(ctx context.Context, memberID int64) (int, error)

	// InsertTeamPasskey stores a passkey; ErrAlreadyExists when its
	// credential id is taken.
	InsertTeamPasskey(ctx context.Context, p TeamPasskey) (int64, error)
	// TeamPasskeys lists the member's passkeys, oldest first.
	TeamPasskeys(ctx context.Context, memberID int64) ([]TeamPasskey, error)
	// GetTeamPasskey returns the passkey of a credential id (ErrNotFound).
	GetTeamPasskey(ctx context.Context, credentialID string) (TeamPasskey, error)
	// UpdateTeamPasskey replaces a passkey's credential JSON (its sign
	// count after a login); ErrNotFound when there is none.
	UpdateTeamPasskey(ctx context.Context, credentialID, credential string) error
	// DeleteTeamPasskey removes passkey id of the member; ErrNotFound when
	// the member has no such passkey.
	DeleteTeamPasskey(ctx context.Context, memberID, id int64) error

	// PutStatusAttribution records who made a status (once: a second
	// call for the same status changes nothing).
	PutStatusAttribution(ctx context.Context, a StatusAttribution) error
	// StatusAttributions returns the attributions of the statuses that
	// have one, by status id, with their app's name and website.
	StatusAttributions(ctx context.Context, statusIDs []int64) (map[int64]StatusAttribution, error)

	// InsertAudit appends an entry to the audit log and returns its id.
	InsertAudit(ctx context.Context, e AuditEntry) (int64, error)
	// ListAudit lists entries, newest first.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

func (q *queries) InsertTeamMember(ctx context.Context, m TeamMember) (int64, error) {
	email := strings.ToLower(strings.TrimSpace(m.Email))
	action := fmt.Sprintf("insert team member %q", email)
	if email == "" {
		return 0, q.d.wrap(action, errors.New("empty email"))
	}
	id, err := q.insertRow(ctx, "team_members", `email, password_hash, totp_secret, created_at`, m.ID,
		email, m.PasswordHash, m.TOTPSecret, orNow(m.CreatedAt).UnixMicro())
	if err != nil {
		return 0, q.d.wrap(action, err)
	}
	return id, nil
}

const teamMemberColumns = `id, email, password_hash, totp_secret, created_at`

func scanTeamMember(s scanner) (TeamMember, error) {
	var (
		m       TeamMember
		created int64
	)
	err := s.Scan(&m.ID, &m.Email, &m.PasswordHash, &m.TOTPSecret, &created)
	m.CreatedAt = time.UnixMicro(created).UTC()
	return m, err
}

func (q *queries) GetTeamMember(ctx context.Context, id int64) (TeamMember, error) {
	m, err := scanTeamMember(q.r.queryRow(ctx, `SELECT `+teamMemberColumns+` FROM team_members WHERE id = ?`, id))
	if err != nil {
		return TeamMember{}, q.d.wrap(fmt.Sprintf("get team member %d", id), err)
	}
	return m, nil
}

func (q *queries) GetTeamMemberByEmail(ctx context.Context, email string) (TeamMember, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	m, err := scanTeamMember(q.r.queryRow(ctx, `SELECT `+teamMemberColumns+` FROM team_members WHERE email = ?`, email))
	if err != nil {
		return TeamMember{}, q.d.wrap(fmt.Sprintf("get team member %q", email), err)
	}
	return m, nil
}

func (q *queries) UseTOTPStep(ctx context.Context, memberID, step int64) (bool, error) {
	n, err := q.w.execN(ctx, `UPDATE team_members SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`,
		step, memberID, step)
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("use TOTP step of member %d", memberID), err)
	}
	return n == 1, nil
}

func (q *queries) SetTeamRole(ctx context.Context, memberID int64, account, role string) error {
	_, err := q.w.exec(ctx, `INSERT INTO team_roles (member_id, account, role) VALUES (?, ?, ?)
		ON CONFLICT (member_id, account) DO UPDATE SET role = excluded.role`, memberID, strings.ToLower(account), role)
	if err != nil {
		return q.d.wrap(fmt.Sprintf("set role of member %d on %q", memberID, account), err)
	}
	return nil
}

func scanTeamRole(s scanner) (TeamRole, error) {
	var r TeamRole
	err := s.Scan(&r.MemberID, &r.Email, &r.Account, &r.Role)
	return r, err
}

func (q *queries) TeamRoles(ctx context.Context, memberID int64) ([]TeamRole, error) {
	out, err := collect(scanTeamRole)(q.r.query(ctx, `SELECT r.member_id, m.email, r.account, r.role
		FROM team_roles r JOIN team_members m ON m.id = r.member_id WHERE r.member_id = ? ORDER BY r.account`, memberID))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("roles of member %d", memberID), err)
	}
	return out, nil
}

func (q *queries) ListTeamRoles(ctx context.Context, accounts []string) ([]TeamRole, error) {
	query := `SELECT r.member_id, m.email, r.account, r.role FROM team_roles r JOIN team_members m ON m.id = r.member_id`
	var args []any
	if accounts != nil {
		if len(accounts) == 0 {
			return nil, nil
		}
		query += ` WHERE r.account IN (` + placeholders(len(accounts)) + `)`
		for _, a := range accounts {
			args = append(args, strings.ToLower(a))
		}
	}
	out, err := collect(scanTeamRole)(q.r.query(ctx, query+` ORDER BY r.account, m.email`, args...))
	if err != nil {
		return nil, q.d.wrap("list team roles", err)
	}
	return out, nil
}

const teamInviteColumns = `hash, email, account, role, created_at, expires_at, used_at`

func scanTeamInvite(s scanner) (TeamInvite, error) {
	var (
		inv              TeamInvite
		created, expires int64
		used             sql.NullInt64
	)
	err := s.Scan(&inv.Hash, &inv.Email, &inv.Account, &inv.Role, &created, &expires, &used)
	inv.CreatedAt = time.UnixMicro(created).UTC()
	inv.ExpiresAt = time.UnixMicro(expires).UTC()
	inv.UsedAt = fromMicros(used)
	return inv, err
}

func (q *queries) InsertTeamInvite(ctx context.Context, inv TeamInvite) error {
	action := fmt.Sprintf("insert invitation of %q to %q", inv.Email, inv.Account)
	if inv.Hash == "" {
		return q.d.wrap(action, errors.New("empty hash"))
	}
	_, err := q.w.exec(ctx, `INSERT INTO team_invites (`+teamInviteColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		inv.Hash, strings.ToLower(strings.TrimSpace(inv.Email)), strings.ToLower(inv.Account), inv.Role,
		orNow(inv.CreatedAt).UnixMicro(), inv.ExpiresAt.UnixMicro(), micros(inv.UsedAt))
	if err != nil {
		return q.d.wrap(action, err)
	}
	return nil
}

func (q *queries) GetTeamInvite(ctx context.Context, hash string) (TeamInvite, error) {
	inv, err := scanTeamInvite(q.r.queryRow(ctx, `SELECT `+teamInviteColumns+` FROM team_invites WHERE hash = ?`, hash))
	if err != nil {
		return TeamInvite{}, q.d.wrap("get invitation", err)
	}
	return inv, nil
}

func (q *queries) UseTeamInvite(ctx context.Context, hash string, at time.Time) (TeamInvite, error) {
	t := orNow(at).UnixMicro()
	inv, err := scanTeamInvite(q.w.queryRow(ctx, `UPDATE team_invites SET used_at = ?
		WHERE hash = ? AND used_at IS NULL AND expires_at > ? RETURNING `+teamInviteColumns, t, hash, t))
	if err != nil {
		return TeamInvite{}, q.d.wrap("use invitation", err)
	}
	return inv, nil
}

func (q *queries) InsertTeamSession(ctx context.Context, s TeamSession) error {
	if s.Hash == "" {
		return q.d.wrap("insert session", errors.New("empty hash"))
	}
	_, err := q.w.exec(ctx, `INSERT INTO team_sessions (hash, member_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		s.Hash, s.MemberID, orNow(s.CreatedAt).UnixMicro(), s.ExpiresAt.UnixMicro())
	if err != nil {
		return q.d.wrap(fmt.Sprintf("insert session of member %d", s.MemberID), err)
	}
	return nil
}

func (q *queries) GetTeamSession(ctx context.Context, hash string, now time.Time) (TeamSession, error) {
	var (
		s                TeamSession
		created, expires int64
	)
	err := q.r.queryRow(ctx, `SELECT hash, member_id, created_at, expires_at FROM team_sessions
		WHERE hash = ? AND expires_at > ?`, hash, orNow(now).UnixMicro()).Scan(&s.Hash, &s.MemberID, &created, &expires)
	if err != nil {
		return TeamSession{}, q.d.wrap("get session", err)
	}
	s.CreatedAt = time.UnixMicro(created).UTC()
	s.ExpiresAt = time.UnixMicro(expires).UTC()
	return s, nil
}

func (q *queries) DeleteTeamSession(ctx context.Context, hash string) error {
	if _, err := q.w.exec(ctx, `DELETE FROM team_sessions WHERE hash = ?`, hash); err != nil {
		return q.d.wrap("delete session", err)
	}
	return nil
}

func (q *queries) PutStatusAttribution(ctx context.Context, a StatusAttribution) error {
	_, err := q.w.exec(ctx, `INSERT INTO status_attributions (status_id, member_id, app_id, token_id, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (status_id) DO NOTHING`,
		a.StatusID, nullID(a.MemberID), nullID(a.AppID), nullID(a.TokenID), orNow(a.CreatedAt).UnixMicro())
	if err != nil {
		return q.d.wrap(fmt.Sprintf("attribute status %d", a.StatusID), err)
	}
	return nil
}

func (q *queries) StatusAttributions(ctx context.Context, statusIDs []int64) (map[int64]StatusAttribution, error) {
	out := map[int64]StatusAttribution{}
	if len(statusIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(statusIDs))
	for i, id := range statusIDs {
		args[i] = id
	}
	rows, err := q.r.query(ctx, `SELECT a.status_id, COALESCE(a.member_id, 0), COALESCE(a.app_id, 0), COALESCE(a.token_id, 0),
		COALESCE(p.name, ''), COALESCE(p.website, ''), a.created_at
		FROM status_attributions a LEFT JOIN oauth_apps p ON p.id = a.app_id
		WHERE a.status_id IN (`+placeholders(len(args))+`)`, args...)
	list, err := collect(func(s scanner) (StatusAttribution, error) {
		var (
			a       StatusAttribution
			created int64
		)
		err := s.Scan(&a.StatusID, &a.MemberID, &a.AppID, &a.TokenID, &a.AppName, &a.AppWebsite, &created)
		a.CreatedAt = time.UnixMicro(created).UTC()
		return a, err
	})(rows, err)
	if err != nil {
		return nil, q.d.wrap("status attributions", err)
	}
	for _, a := range list {
		out[a.StatusID] = a
	}
	return out, nil
}

const auditColumns = `id, at, COALESCE(member_id, 0), actor, account, app, action, target, detail, address`

func (q *queries) InsertAudit(ctx context.Context, e AuditEntry) (int64, error) {
	action := fmt.Sprintf("audit %s of %q", e.Action, e.Actor)
	if e.Action == "" {
		return 0, q.d.wrap(action, errors.New("empty action"))
	}
	id, err := q.insertRow(ctx, "audit_log", `at, member_id, actor, account, app, action, target, detail, address`, e.ID,
		orNow(e.At).UnixMicro(), nullID(e.MemberID), e.Actor, strings.ToLower(e.Account), e.App, e.Action, e.Target, e.Detail, e.Address)
	if err != nil {
		return 0, q.d.wrap(action, err)
	}
	return id, nil
}

func (q *queries) ListAudit(ctx context.Context, aq AuditQuery) ([]AuditEntry, error) {
	var (
		where []string
		args  []any
	)
	var scope []string
	if len(aq.Accounts) > 0 {
		scope = append(scope, `account IN (`+placeholders(len(aq.Accounts))+`)`)
		for _, a := range aq.Accounts {
			args = append(args, strings.ToLower(a))
		}
	}
	if aq.IncludeInstance {
		scope = append(scope, `account = ''`)
	}
	if len(scope) == 0 {
		return nil, nil
	}
	where = append(where, `(`+strings.Join(scope, " OR ")+`)`)
	if aq.BeforeID > 0 {
		where = append(where, `id < ?`)
		args = append(args, aq.BeforeID)
	}
	limit := aq.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	args = append(args, limit)
	out, err := collect(func(s scanner) (AuditEntry, error) {
		var (
			e  AuditEntry
			at int64
		)
		err := s.Scan(&e.ID, &at, &e.MemberID, &e.Actor, &e.Account, &e.App, &e.Action, &e.Target, &e.Detail, &e.Address)
		e.At = time.UnixMicro(at).UTC()
		return e, err
	})(q.r.query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT ?`, args...))
	if err != nil {
		return nil, q.d.wrap("list audit", err)
	}
	return out, nil
}

const teamPasskeyColumns = `id, member_id, credential_id, credential, created_at`

func scanTeamPasskey(s scanner) (TeamPasskey, error) {
	var (
		p       TeamPasskey
		created int64
	)
	err := s.Scan(&p.ID, &p.MemberID, &p.CredentialID, &p.Credential, &created)
	p.CreatedAt = time.UnixMicro(created).UTC()
	return p, err
}

func (q *queries) InsertTeamPasskey(ctx context.Context, p TeamPasskey) (int64, error) {
	action := fmt.Sprintf("insert passkey of member %d", p.MemberID)
	if p.CredentialID == "" {
		return 0, q.d.wrap(action, errors.New("empty credential id"))
	}
	id, err := q.insertRow(ctx, "team_passkeys", `member_id, credential_id, credential, created_at`, p.ID,
		p.MemberID, p.CredentialID, p.Credential, orNow(p.CreatedAt).UnixMicro())
	if err != nil {
		return 0, q.d.wrap(action, err)
	}
	return id, nil
}

func (q *queries) TeamPasskeys(ctx context.Context, memberID int64) ([]TeamPasskey, error) {
	out, err := collect(scanTeamPasskey)(q.r.query(ctx,
		`SELECT `+teamPasskeyColumns+` FROM team_passkeys WHERE member_id = ? ORDER BY id`, memberID))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("passkeys of member %d", memberID), err)
	}
	return out, nil
}

func (q *queries) GetTeamPasskey(ctx context.Context, credentialID string) (TeamPasskey, error) {
	p, err := scanTeamPasskey(q.r.queryRow(ctx, `SELECT `+teamPasskeyColumns+` FROM team_passkeys WHERE credential_id = ?`, credentialID))
	if err != nil {
		return TeamPasskey{}, q.d.wrap("get passkey", err)
	}
	return p, nil
}

func (q *queries) UpdateTeamPasskey(ctx context.Context, credentialID, credential string) error {
	n, err := q.w.execN(ctx, `UPDATE team_passkeys SET credential = ? WHERE credential_id = ?`, credential, credentialID)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap("update passkey", err)
	}
	return nil
}

func (q *queries) DeleteTeamPasskey(ctx context.Context, memberID, id int64) error {
	n, err := q.w.execN(ctx, `DELETE FROM team_passkeys WHERE id = ? AND member_id = ?`, id, memberID)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(fmt.Sprintf("delete passkey %d of member %d", id, memberID), err)
	}
	return nil
}

func (q *queries) DeleteTeamRole(ctx context.Context, memberID int64, account string) (bool, error) {
	n, err := q.w.execN(ctx, `DELETE FROM team_roles WHERE member_id = ? AND account = ?`, memberID, strings.ToLower(account))
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("delete role of member %d on %q", memberID, account), err)
	}
	return n > 0, nil
}

func (q *queries) DeleteTeamSessions(ctx context.Context, memberID int64) (int, error) {
	n, err := q.w.execN(ctx, `DELETE FROM team_sessions WHERE member_id = ?`, memberID)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("delete sessions of member %d", memberID), err)
	}
	return int(n), nil
}
