package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const appColumns = `id, client_id, secret_hash, name, redirect_uris, scopes, website, created_at`

// InsertApp stores an OAuth client (ID and CreatedAt assigned when zero);
// ErrAlreadyExists when its client id is taken.
func (q *queries) InsertApp(ctx context.Context, a App) (int64, error) {
	action := fmt.Sprintf("insert app %q", a.Name)
	if a.ClientID == "" {
		return 0, q.d.wrap(action, errors.New("empty client id"))
	}
	id, err := q.insertRow(ctx, "oauth_apps",
		`client_id, secret_hash, name, redirect_uris, scopes, website, created_at`, a.ID,
		a.ClientID, a.SecretHash, a.Name, a.RedirectURIs, a.Scopes, a.Website, orNow(a.CreatedAt).UnixMicro())
	if err != nil {
		return 0, q.d.wrap(action, err)
	}
	return id, nil
}

func (q *queries) GetAppByClientID(ctx context.Context, clientID string) (App, error) {
	var (
		a       App
		created int64
	)
	err := q.r.queryRow(ctx, `SELECT `+appColumns+` FROM oauth_apps WHERE client_id = ?`, clientID).
		Scan(&a.ID, &a.ClientID, &a.SecretHash, &a.Name, &a.RedirectURIs, &a.Scopes, &a.Website, &created)
	if err != nil {
		return App{}, q.d.wrap(fmt.Sprintf("get app %q", clientID), err)
	}
	a.CreatedAt = time.UnixMicro(created).UTC()
	return a, nil
}

const tokenColumns = `id, hash, account, COALESCE(app_id, 0), name, scopes, created_at, last_used_at, revoked_at, expires_at, COALESCE(member_id, 0)`

func scanToken(s scanner) (Token, error) {
	var (
		t                      Token
		created                int64
		used, revoked, expires sql.NullInt64
	)
	err := s.Scan(&t.ID, &t.Hash, &t.Account, &t.AppID, &t.Name, &t.Scopes, &created, &used, &revoked, &expires, &t.MemberID)
	t.CreatedAt = time.UnixMicro(created).UTC()
	t.LastUsedAt = fromMicros(used)
	t.RevokedAt = fromMicros(revoked)
	t.ExpiresAt = fromMicros(expires)
	return t, err
}

// InsertToken stores a token as handed (ID and CreatedAt assigned when
// zero); ErrAlreadyExists when its hash is taken.
func (q *queries) InsertToken(ctx context.Context, t Token) (int64, error) {
	action := fmt.Sprintf("insert token %q of %q", t.Name, t.Account)
	if t.Hash == "" {
		return 0, q.d.wrap(action, errors.New("empty hash"))
	}
	id, err := q.insertRow(ctx, "tokens",
		`hash, account, app_id, name, scopes, created_at, last_used_at, revoked_at, expires_at, member_id`, t.ID,
		t.Hash, t.Account, nullID(t.AppID), t.Name, t.Scopes, orNow(t.CreatedAt).UnixMicro(),
		micros(t.LastUsedAt), micros(t.RevokedAt), micros(t.ExpiresAt), nullID(t.MemberID))
	if err != nil {
		return 0, q.d.wrap(action, err)
	}
	return id, nil
}

func (q *queries) GetTokenByHash(ctx context.Context, hash string) (Token, error) {
	t, err := scanToken(q.r.queryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if err != nil {
		return Token{}, q.d.wrap("get token by hash", err)
	}
	return t, nil
}

// ListTokens lists every token of account, revoked and expired ones
// included, by id.
func (q *queries) ListTokens(ctx context.Context, account string) ([]Token, error) {
	out, err := collect(scanToken)(q.r.query(ctx,
		`SELECT `+tokenColumns+` FROM tokens WHERE account = ? ORDER BY id`, account))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list tokens of %q", account), err)
	}
	return out, nil
}

// RevokeToken revokes a token at `at` (zero: now); revoking it again keeps
// the first time. ErrNotFound when there is no such token.
func (q *queries) RevokeToken(ctx context.Context, id int64, at time.Time) error {
	n, err := q.w.execN(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`,
		orNow(at).UnixMicro(), id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(fmt.Sprintf("revoke token %d", id), err)
	}
	return nil
}

// RevokeTokenByHash is RevokeToken by hash.
func (q *queries) RevokeTokenByHash(ctx context.Context, hash string, at time.Time) error {
	n, err := q.w.execN(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE hash = ?`,
		orNow(at).UnixMicro(), hash)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap("revoke token by hash", err)
	}
	return nil
}

// TouchToken records a use of the token at `at` (zero: now); LastUsedAt
// never moves back. ErrNotFound when there is no such token.
func (q *queries) TouchToken(ctx context.Context, id int64, at time.Time) error {
	t := orNow(at).UnixMicro()
	n, err := q.w.execN(ctx,
		`UPDATE tokens SET last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? ELSE last_used_at END
		 WHERE id = ?`, t, t, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(fmt.Sprintf("touch token %d", id), err)
	}
	return nil
}

const authCodeColumns = `hash, app_id, account, redirect_uri, scopes, expires_at, code_challenge, member_id`

// InsertAuthCode stores a code; ErrAlreadyExists when its hash is taken.
func (q *queries) InsertAuthCode(ctx context.Context, c AuthCode) error {
	action := fmt.Sprintf("insert authorization code of app %d", c.AppID)
	if c.Hash == "" {
		return q.d.wrap(action, errors.New("empty hash"))
	}
	_, err := q.w.exec(ctx,
		`INSERT INTO auth_codes (`+authCodeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.AppID, c.Account, c.RedirectURI, c.Scopes, c.ExpiresAt.UnixMicro(), c.CodeChallenge, c.MemberID)
	if err != nil {
		return q.d.wrap(action, err)
	}
	return nil
}

// TakeAuthCode deletes the code and returns it, expired or not (check
// ExpiresAt): of concurrent callers, one gets it.
func (q *queries) TakeAuthCode(ctx context.Context, hash string) (AuthCode, error) {
	var (
		c       AuthCode
		expires int64
	)
	err := q.w.queryRow(ctx, `DELETE FROM auth_codes WHERE hash = ? RETURNING `+authCodeColumns, hash).
		Scan(&c.Hash, &c.AppID, &c.Account, &c.RedirectURI, &c.Scopes, &expires, &c.CodeChallenge, &c.MemberID)
	if err != nil {
		return AuthCode{}, q.d.wrap("take authorization code", err)
	}
	c.ExpiresAt = time.UnixMicro(expires).UTC()
	return c, nil
}

func (q *queries) DeleteAuthCodes(ctx context.Context, account string, appID int64) (int64, error) {
	n, err := q.w.execN(ctx, `DELETE FROM auth_codes WHERE account = ? AND app_id = ?`, account, appID)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("delete codes of %q for app %d", account, appID), err)
	}
	return n, nil
}
