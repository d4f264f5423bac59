package atproto

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/passerelle/passerelle/storage"
)

// Sessions: an account logs in once (com.atproto.server.createSession,
// rate-limited hard by Bluesky), then keeps its tokens: indigo's
// PasswordAuth refreshes the access token with refreshSession when the PDS
// answers ExpiredToken, and every refresh is saved, sealed (seal.go). A
// restart resumes the saved session. The account logs in again only when
// the session itself is refused (the refresh token expired or was
// revoked); a refused login pauses the account (worker.go).

// Account states shown to the admin (storage.BlueskySession.State).
const (
	StateActive      = "active"
	StateLoginFailed = "login failed"
	StateRateLimited = "rate limited"
	StateUnreachable = "PDS unreachable"
	StatePDSError    = "PDS error"
)

// client returns the account's authenticated client: the live one, the
// saved session resumed, or a new login.
func (m *Mirror) client(ctx context.Context, a *account) (*atclient.APIClient, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != nil {
		return a.client, nil
	}
	if c := m.resume(ctx, a); c != nil {
		return c, nil
	}
	return m.login(ctx, a)
}

// newClient is an API client on the account's PDS through the SSRF-safe
// client.
func (m *Mirror) newClient(a *account) *atclient.APIClient {
	return &atclient.APIClient{
		Client: a.http,
		Host:   a.Bluesky.PDSURL,
		// No User-Agent: the SSRF-safe client sets Passerelle's (indigo's
		// NewAPIClient would send "indigo-sdk").
		Headers: http.Header{},
	}
}

// resume builds a client from the saved session, or returns nil when
// there is none usable. a.mu is held.
func (m *Mirror) resume(ctx context.Context, a *account) *atclient.APIClient {
	s, err := m.store.GetBlueskySession(ctx, a.Username)
	if err != nil || len(s.RefreshJWT) == 0 || s.PDSURL != a.Bluesky.PDSURL || s.DID == "" {
		return nil
	}
	access, err1 := a.seal.open(s.AccessJWT)
	refresh, err2 := a.seal.open(s.RefreshJWT)
	did, err3 := syntax.ParseDID(s.DID)
	if err := errors.Join(err1, err2, err3); err != nil {
		m.log.Info().Err(err).Str("account", a.Username).Msg("bluesky: saved session unusable; logging in again")
		return nil
	}
	m.install(a, did, access, refresh)
	return a.client
}

// install makes the tokens the account's live session. a.mu is held.
func (m *Mirror) install(a *account, did syntax.DID, access, refresh string) {
	c := m.newClient(a)
	c.Auth = &atclient.PasswordAuth{
		Session: atclient.PasswordSessionData{
			AccessToken: access, RefreshToken: refresh, AccountDID: did, Host: a.Bluesky.PDSURL,
		},
		RefreshCallback: func(ctx context.Context, d atclient.PasswordSessionData) {
			// Called while indigo holds the session lock: a quick write.
			if err := m.saveSession(context.WithoutCancel(ctx), a, d.AccountDID, "", d.AccessToken, d.RefreshToken); err != nil {
				m.log.Error().Err(err).Str("account", a.Username).Msg("bluesky: save refreshed session")
			}
		},
	}
	c.AccountDID = &did
	a.client = c
}

// login creates a session with the app password. a.mu is held.
func (m *Mirror) login(ctx context.Context, a *account) (*atclient.APIClient, error) {
	out, err := comatproto.ServerCreateSession(ctx, m.newClient(a), &comatproto.ServerCreateSession_Input{
		Identifier: a.Bluesky.Identifier,
		Password:   a.Bluesky.AppPassword,
	})
	if err != nil {
		var api *atclient.APIError
		if errors.As(err, &api) && api.StatusCode >= 400 && api.StatusCode < 500 && api.StatusCode != http.StatusTooManyRequests {
			return nil, &LoginError{Err: fmt.Errorf("%s as %s: %w", a.Bluesky.PDSURL, a.Bluesky.Identifier, err)}
		}
		return nil, fmt.Errorf("atproto: createSession on %s: %w", a.Bluesky.PDSURL, err)
	}
	did, err := syntax.ParseDID(out.Did)
	if err != nil {
		return nil, permanent(fmt.Errorf("atproto: createSession returned an invalid DID %q", out.Did))
	}
	if err := m.saveSession(ctx, a, did, out.Handle, out.AccessJwt, out.RefreshJwt); err != nil {
		return nil, err
	}
	m.install(a, did, out.AccessJwt, out.RefreshJwt)
	m.log.Info().Str("account", a.Username).Str("did", out.Did).Str("handle", out.Handle).Msg("bluesky: logged in")
	return a.client, nil
}

// saveSession stores the tokens, sealed, and marks the account active.
// An empty handle keeps the saved one.
func (m *Mirror) saveSession(ctx context.Context, a *account, did syntax.DID, handle, access, refresh string) error {
	if handle == "" {
		if s, err := m.store.GetBlueskySession(ctx, a.Username); err == nil {
			handle = s.Handle
		}
	}
	return m.store.PutBlueskySession(ctx, storage.BlueskySession{
		Account: a.Username, DID: did.String(), Handle: handle, PDSURL: a.Bluesky.PDSURL,
		AccessJWT: a.seal.seal(access), RefreshJWT: a.seal.seal(refresh),
		State: StateActive, UpdatedAt: m.now(),
	})
}

// dropSession forgets the live session and the saved tokens, after the PDS
// refused them.
func (m *Mirror) dropSession(ctx context.Context, a *account, c *atclient.APIClient) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != c {
		return // already replaced
	}
	a.client = nil
	if s, err := m.store.GetBlueskySession(ctx, a.Username); err == nil {
		s.AccessJWT, s.RefreshJWT, s.UpdatedAt = nil, nil, m.now()
		if err := m.store.PutBlueskySession(ctx, s); err != nil {
			m.log.Error().Err(err).Str("account", a.Username).Msg("bluesky: forget session")
		}
	}
}

// call runs fn with the account's client. When the PDS refuses the
// session (even after indigo's refresh), the account logs in again, once,
// and fn runs again.
func (m *Mirror) call(ctx context.Context, a *account, fn func(c *atclient.APIClient) error) error {
	for try := 0; ; try++ {
		c, err := m.client(ctx, a)
		if err != nil {
			return err
		}
		err = fn(c)
		if err == nil || try > 0 || classify(err) != kindSessionExpired {
			return err
		}
		m.log.Info().Err(err).Str("account", a.Username).Msg("bluesky: session refused; logging in again")
		m.dropSession(ctx, a, c)
	}
}

// DID returns the account's DID: its identifier when that is a DID, else
// the one saved at login; "" when unknown.
func (m *Mirror) DID(ctx context.Context, username string) syntax.DID {
	a := m.accounts[lower(username)]
	if a == nil {
		return ""
	}
	if did, err := syntax.ParseDID(a.Bluesky.Identifier); err == nil {
		return did
	}
	// Saved at every login (the live client is not asked: a.mu is held
	// during logins).
	if s, err := m.store.GetBlueskySession(ctx, a.Username); err == nil {
		if d, err := syntax.ParseDID(s.DID); err == nil {
			return d
		}
	}
	return ""
}
