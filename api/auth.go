package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// Scopes. "read" and "write" grant every read:* and write:* sub-scope; a
// sub-scope grants only its area. "follow" and "push" are accepted and
// grant nothing here (this server has no social graph or push). "profile"
// grants only GET /api/v1/accounts/verify_credentials.
var (
	topScopes = []string{"read", "write", "follow", "push", "profile"}
	subScopes = []string{
		"read:accounts", "read:blocks", "read:bookmarks", "read:favourites", "read:filters",
		"read:follows", "read:lists", "read:mutes", "read:notifications", "read:search",
		"read:statuses",
		"write:accounts", "write:blocks", "write:bookmarks", "write:conversations",
		"write:favourites", "write:filters", "write:follows", "write:lists", "write:media",
		"write:mutes", "write:notifications", "write:reports", "write:statuses",
	}
)

// DefaultScopes are granted when an app or a request names none, as
// Mastodon does.
const DefaultScopes = "read"

// ParseScopes splits a space-separated scope list (commas and "+" are
// accepted too), removes duplicates and rejects unknown scopes.
func ParseScopes(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '+' || r == '\t' || r == '\n' })
	var out []string
	for _, f := range fields {
		if !slices.Contains(topScopes, f) && !slices.Contains(subScopes, f) {
			return nil, fmt.Errorf("unknown scope %q", f)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		out = []string{DefaultScopes}
	}
	return out, nil
}

// covers reports whether granted includes scope: itself, or its parent
// ("read" for "read:statuses").
func covers(granted []string, scope string) bool {
	if slices.Contains(granted, scope) {
		return true
	}
	parent, _, ok := strings.Cut(scope, ":")
	return ok && slices.Contains(granted, parent)
}

// subset reports whether every requested scope is covered by allowed.
func subset(requested, allowed []string) bool {
	for _, r := range requested {
		if !covers(allowed, r) {
			return false
		}
	}
	return true
}

// allows reports whether granted scopes satisfy need, a "|"-separated
// list of alternatives ("" needs nothing).
func allows(granted []string, need string) bool {
	if need == "" {
		return true
	}
	for _, alt := range strings.Split(need, "|") {
		if covers(granted, alt) {
			return true
		}
	}
	return false
}

// HashSecret is how tokens and client secrets are stored: SHA-256, hex.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// randomSecret returns 32 random bytes, base64url without padding.
func randomSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// CreateToken makes an access token for account (the CLI's "token
// create"; OAuth uses the same function) and returns it in clear: only its
// hash is stored. For OAuth tokens, name holds the app's client id.
func CreateToken(ctx context.Context, store storage.Queries, account string, appID int64, name, scopes string, now time.Time) (string, storage.Token, error) {
	return createToken(ctx, store, account, appID, 0, name, scopes, now)
}

// createToken is CreateToken for the team member who authorized the app
// (0: none).
func createToken(ctx context.Context, store storage.Queries, account string, appID, memberID int64, name, scopes string, now time.Time) (string, storage.Token, error) {
	list, err := ParseScopes(scopes)
	if err != nil {
		return "", storage.Token{}, err
	}
	secret := randomSecret()
	t := storage.Token{
		Hash: HashSecret(secret), Account: strings.ToLower(account), AppID: appID, Name: name,
		Scopes: strings.Join(list, " "), CreatedAt: now.UTC(), MemberID: memberID,
	}
	if t.ID, err = store.InsertToken(ctx, t); err != nil {
		return "", storage.Token{}, fmt.Errorf("api: create token: %w", err)
	}
	return secret, t, nil
}

// caller is the authenticated client of a request.
type caller struct {
	token   storage.Token
	scopes  []string
	account config.Account // zero for app tokens (client_credentials)
	name    string         // lower-cased username, "" for app tokens
	role    string         // the member's role on the account; "" when not a member's token
}

// touchEvery bounds the writes recording token use.
const touchEvery = time.Minute

// authenticate resolves the bearer token of r: nil without one,
// errInvalidToken when it is unknown, revoked or expired.
func (s *Server) authenticate(r *http.Request) (*caller, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil
	}
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, errInvalidToken
	}
	ctx := r.Context()
	t, err := s.store.GetTokenByHash(ctx, HashSecret(tok))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errInvalidToken
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !t.RevokedAt.IsZero() || (!t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)) {
		return nil, errInvalidToken
	}
	c := &caller{token: t, scopes: strings.Fields(t.Scopes)}
	if t.Account != "" {
		acc, ok := s.account(t.Account)
		if !ok { // the account was removed from the configuration
			return nil, errInvalidToken
		}
		c.account, c.name = acc, strings.ToLower(acc.Username)
	}
	// A member's token works while the member is on the account's team,
	// with the role they have now.
	if t.MemberID != 0 {
		roles, err := s.store.TeamRoles(ctx, t.MemberID)
		if err != nil {
			return nil, err
		}
		for _, r := range roles {
			if r.Account == c.name {
				c.role = r.Role
			}
		}
		if c.role == "" {
			return nil, errInvalidToken
		}
	}
	// LastUsedAt is read with the token: write at most once a minute.
	if now.Sub(t.LastUsedAt) >= touchEvery {
		if err := s.store.TouchToken(ctx, t.ID, now.UTC()); err != nil {
			reqlog.Logger(ctx, s.log).Warn().Err(err).Int64("token", t.ID).Msg("record token use")
		}
	}
	return c, nil
}

type handler func(w http.ResponseWriter, r *http.Request, c *caller)

// anyToken requires a valid token with scope, of an account or an app.
func (s *Server) anyToken(scope string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r)
		if err == nil && c == nil {
			err = errInvalidToken
		}
		if err == nil && !allows(c.scopes, scope) {
			err = errScope
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r, c)
	}
}

// user requires a valid token of one of our accounts, with scope.
func (s *Server) user(scope string, h handler) http.HandlerFunc {
	return s.anyToken(scope, func(w http.ResponseWriter, r *http.Request, c *caller) {
		if c.name == "" {
			s.fail(w, r, errNeedsUser)
			return
		}
		h(w, r, c)
	})
}

// optional serves public data without a token; a token given must be
// valid, and one of an account must have scope. c is nil when anonymous
// (app tokens count as anonymous).
func (s *Server) optional(scope string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r)
		if err == nil && c != nil && c.name != "" && !allows(c.scopes, scope) {
			err = errScope
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if c != nil && c.name == "" {
			c = nil
		}
		h(w, r, c)
	}
}

// owns reports whether the caller is account name.
func (c *caller) owns(name string) bool {
	return c != nil && c.name != "" && c.name == strings.ToLower(name)
}
