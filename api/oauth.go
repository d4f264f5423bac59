package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// OAuth 2 authorization-code flow, as Mastodon's. The person authorizing
// proves they may act for the account with their team login (the console,
// Settings.Team: team.go), or with a one-time login code printed by
// `bridge login-code` on the server.
//
// Login codes are storage.AuthCode rows with AppID 0 and RedirectURI
// LoginCodeMarker; authorization codes are rows of their app. Both are
// stored hashed, each kind under its own prefix (loginCodeHash,
// authCodeHash), so that neither can be used as the other.

// OOBRedirect is the redirect URI of clients that show the code to copy.
const OOBRedirect = "urn:ietf:wg:oauth:2.0:oob"

// LoginCodeMarker is the RedirectURI of login-code rows.
const LoginCodeMarker = "passerelle:login-code"

// Lifetimes of the one-time codes.
const (
	LoginCodeTTL = 15 * time.Minute
	authCodeTTL  = 10 * time.Minute
)

// loginAlphabet has 32 unambiguous symbols (no 0/O, 1/I).
const loginAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// loginCodeLen symbols: 40 bits.
const loginCodeLen = 8

func loginCodeHash(code string) string { return HashSecret("login-code:" + code) }
func authCodeHash(code string) string  { return HashSecret("authorization-code:" + code) }

// normalizeLoginCode upper-cases a typed code and drops separators.
func normalizeLoginCode(s string) string {
	s = strings.ToUpper(s)
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// NewLoginCode makes a one-time login code for account, valid for
// LoginCodeTTL, and returns it formatted as XXXX-XXXX (stored hashed).
func NewLoginCode(ctx context.Context, store storage.Queries, account string, now time.Time) (string, time.Time, error) {
	var b [loginCodeLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", time.Time{}, err
	}
	code := make([]byte, loginCodeLen)
	for i, v := range b {
		code[i] = loginAlphabet[int(v)%len(loginAlphabet)] // 256 is a multiple of 32: uniform
	}
	expires := now.Add(LoginCodeTTL).UTC()
	err := store.InsertAuthCode(ctx, storage.AuthCode{
		Hash: loginCodeHash(string(code)), AppID: 0, Account: strings.ToLower(account),
		RedirectURI: LoginCodeMarker, Scopes: "", ExpiresAt: expires,
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("api: store login code: %w", err)
	}
	return string(code[:4]) + "-" + string(code[4:]), expires, nil
}

// oauthError is an error of the OAuth endpoints (RFC 6749 section 5.2).
type oauthError struct {
	code        int
	err, detail string
}

func (e *oauthError) Error() string { return e.err + ": " + e.detail }

func oauthFail(w http.ResponseWriter, e *oauthError) {
	if e.code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Passerelle"`)
	}
	writeJSON(w, e.code, map[string]string{"error": e.err, "error_description": e.detail})
}

var (
	errInvalidClient = &oauthError{http.StatusUnauthorized, "invalid_client",
		"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}
	errInvalidGrant = &oauthError{http.StatusBadRequest, "invalid_grant",
		"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}
)

// Application is Mastodon's Application entity; ClientID and
// ClientSecret only when it is created.
type Application struct {
	ID                    string   `json:"id"`
	Name                  string   `json:"name"`
	Website               *string  `json:"website"`
	Scopes                []string `json:"scopes"`
	RedirectURI           string   `json:"redirect_uri"`
	RedirectURIs          []string `json:"redirect_uris"`
	ClientID              string   `json:"client_id,omitempty"`
	ClientSecret          string   `json:"client_secret,omitempty"`
	ClientSecretExpiresAt *int     `json:"client_secret_expires_at,omitempty"`
}

func appEntity(a storage.App) Application {
	uris := strings.Fields(a.RedirectURIs)
	return Application{
		ID: idString(a.ID), Name: a.Name, Website: optString(a.Website), Scopes: strings.Fields(a.Scopes),
		RedirectURI: strings.Join(uris, "\n"), RedirectURIs: uris,
	}
}

var uriSchemeRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*$`)

// checkRedirectURI accepts the out-of-band URI and absolute URIs without
// fragment, custom schemes included (mobile apps), except schemes that
// run code or read files.
func checkRedirectURI(s string) error {
	if s == OOBRedirect {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || !uriSchemeRE.MatchString(u.Scheme) || u.Fragment != "" || len(s) > 2000 {
		return fmt.Errorf("%q is not an absolute URI without fragment", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "javascript", "data", "vbscript", "file", "about", "blob":
		return fmt.Errorf("%q: scheme %s is not allowed", s, u.Scheme)
	case "http", "https":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", s)
		}
	}
	return nil
}

// clientAddr is the rate-limiting key of a request's client.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// createApp registers an OAuth client (POST /api/v1/apps).
func (s *Server) createApp(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	key := addrKey(clientAddr(r))
	if blocked, _ := s.apps.Blocked(key, now); blocked {
		s.fail(w, r, &apiError{http.StatusTooManyRequests, "Too many requests"})
		return
	}
	p, err := parseParams(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := strings.TrimSpace(p.str("client_name"))
	if name == "" {
		s.fail(w, r, unprocessable("Validation failed: Application name can't be blank"))
		return
	}
	if len([]rune(name)) > 60 {
		s.fail(w, r, unprocessable("Validation failed: Application name is too long (maximum is 60 characters)"))
		return
	}
	raw, _ := p.list("redirect_uris")
	var uris []string
	for _, v := range raw {
		for _, u := range strings.Fields(v) {
			if !slices.Contains(uris, u) {
				uris = append(uris, u)
			}
		}
	}
	if len(uris) == 0 {
		s.fail(w, r, unprocessable("Validation failed: Redirect URI can't be blank"))
		return
	}
	if len(uris) > 10 {
		s.fail(w, r, unprocessable("Validation failed: too many redirect URIs"))
		return
	}
	for _, u := range uris {
		if err := checkRedirectURI(u); err != nil {
			s.fail(w, r, unprocessable("Validation failed: Redirect URI must be an absolute URI: "+err.Error()))
			return
		}
	}
	scopes, err := ParseScopes(p.str("scopes"))
	if err != nil {
		s.fail(w, r, unprocessable("Validation failed: Scopes "+err.Error()))
		return
	}
	website := strings.TrimSpace(p.str("website"))
	if website != "" {
		u, err := url.Parse(website)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(website) > 2000 {
			s.fail(w, r, unprocessable("Validation failed: Website is invalid"))
			return
		}
	}
	s.apps.Add(key, now)
	secret := randomSecret()
	app := storage.App{
		ClientID: randomSecret(), SecretHash: HashSecret(secret), Name: name,
		RedirectURIs: strings.Join(uris, "\n"), Scopes: strings.Join(scopes, " "), Website: website,
		CreatedAt: now.UTC(),
	}
	if app.ID, err = s.store.InsertApp(r.Context(), app); err != nil {
		s.fail(w, r, err)
		return
	}
	out := appEntity(app)
	zero := 0
	out.ClientID, out.ClientSecret, out.ClientSecretExpiresAt = app.ClientID, secret, &zero
	writeJSON(w, http.StatusOK, out)
}

// verifyApp answers the app of the token (GET /api/v1/apps/verify_credentials).
// OAuth tokens keep their app's client id as their name; CLI tokens have
// no app and answer their own name.
func (s *Server) verifyApp(w http.ResponseWriter, r *http.Request, c *caller) {
	if c.token.AppID == 0 {
		writeJSON(w, http.StatusOK, Application{
			ID: "0", Name: c.token.Name, Scopes: c.scopes, RedirectURIs: []string{},
		})
		return
	}
	app, err := s.store.GetAppByClientID(r.Context(), c.token.Name)
	if errors.Is(err, storage.ErrNotFound) {
		s.fail(w, r, errInvalidToken)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := appEntity(app)
	out.Scopes = c.scopes
	writeJSON(w, http.StatusOK, out)
}

// authRequest is a validated authorization request.
type authRequest struct {
	app         storage.App
	redirectURI string
	scopes      []string
	state       string
	challenge   string // PKCE S256 code challenge; "" when none
}

// PKCE (RFC 7636), as Mastodon 4.3 has it: optional, S256 only ("plain"
// gives no protection and is refused, as is a challenge without method).
const pkceS256 = "S256"

// parsePKCE validates the PKCE parameters of an authorization request
// and returns the challenge ("" when the client sent none).
func parsePKCE(v url.Values) (string, error) {
	challenge, method := v.Get("code_challenge"), v.Get("code_challenge_method")
	switch {
	case challenge == "" && method == "":
		return "", nil
	case challenge == "":
		return "", errors.New("code_challenge_method without code_challenge")
	case method != pkceS256:
		return "", fmt.Errorf("code_challenge_method must be %s (got %q; plain is not supported)", pkceS256, method)
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(challenge); err != nil || len(b) != sha256.Size {
		return "", errors.New("code_challenge is not an S256 challenge (the base64url SHA-256 of the verifier, without padding)")
	}
	return challenge, nil
}

var pkceVerifierRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// pkceVerified reports whether verifier answers challenge.
func pkceVerified(challenge, verifier string) bool {
	if !pkceVerifierRE.MatchString(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// parseAuthRequest validates the parameters of /oauth/authorize.
func (s *Server) parseAuthRequest(ctx context.Context, v url.Values) (authRequest, error) {
	if rt := v.Get("response_type"); rt != "code" {
		return authRequest{}, fmt.Errorf("unsupported response_type %q: only \"code\" is supported", rt)
	}
	app, err := s.store.GetAppByClientID(ctx, v.Get("client_id"))
	if errors.Is(err, storage.ErrNotFound) || v.Get("client_id") == "" {
		return authRequest{}, errors.New("unknown client_id")
	}
	if err != nil {
		return authRequest{}, err
	}
	req := authRequest{app: app, redirectURI: v.Get("redirect_uri"), state: v.Get("state")}
	registered := strings.Fields(app.RedirectURIs)
	if req.redirectURI == "" && len(registered) == 1 {
		req.redirectURI = registered[0]
	}
	if !slices.Contains(registered, req.redirectURI) {
		return authRequest{}, errors.New("the redirect_uri is not one this app registered")
	}
	if req.scopes, err = ParseScopes(v.Get("scope")); err != nil {
		return authRequest{}, err
	}
	if !subset(req.scopes, strings.Fields(app.Scopes)) {
		return authRequest{}, fmt.Errorf("the requested scopes %q exceed the app's scopes %q", strings.Join(req.scopes, " "), app.Scopes)
	}
	if req.challenge, err = parsePKCE(v); err != nil {
		return authRequest{}, err
	}
	return req, nil
}

// csrfCookie binds the login form to the browser that loaded it.
const csrfCookie = "passerelle_oauth_csrf"

func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	tok := randomSecret()
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: tok, Path: "/oauth/authorize", HttpOnly: true,
		Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: 3600,
	})
	return tok
}

func csrfValid(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	form := r.PostFormValue("csrf")
	return err == nil && form != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) == 1
}

// authorizePage renders the login form (GET /oauth/authorize).
func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request) {
	req, err := s.parseAuthRequest(r.Context(), r.URL.Query())
	if err != nil {
		s.renderPage(w, r, http.StatusBadRequest, pageData{Error: "This authorization request is invalid: " + err.Error() + "."}, "")
		return
	}
	s.renderForm(w, r, http.StatusOK, req, "", "")
}

func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, code int, req authRequest, account, msg string) {
	d := pageData{
		Form: true, AppName: req.app.Name, Website: req.app.Website, Scopes: req.scopes,
		ClientID: req.app.ClientID, RedirectURI: req.redirectURI, Scope: strings.Join(req.scopes, " "),
		State: req.state, CSRF: s.csrfToken(w, r), Error: msg, Selected: account, CodeChallenge: req.challenge,
	}
	for _, name := range s.order {
		d.Accounts = append(d.Accounts, pageAccount{Name: name, Handle: s.links.Handle(name)})
	}
	if s.team != nil {
		if _, email, accounts, ok := s.teamMember(r); ok {
			d.TeamEmail = email
			for _, name := range accounts {
				d.TeamAccounts = append(d.TeamAccounts, pageAccount{Name: name, Handle: s.links.Handle(name)})
			}
		} else {
			d.TeamLoginURL = s.team.LoginURL(authorizePath(req))
		}
	}
	s.renderPage(w, r, code, d, req.redirectURI)
}

// authorize checks the login code and issues an authorization code
// (POST /oauth/authorize).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderPage(w, r, http.StatusBadRequest, pageData{Error: "The form could not be read."}, "")
		return
	}
	ctx := r.Context()
	req, err := s.parseAuthRequest(ctx, r.PostForm)
	if err != nil {
		s.renderPage(w, r, http.StatusBadRequest, pageData{Error: "This authorization request is invalid: " + err.Error() + "."}, "")
		return
	}
	if !csrfValid(r) {
		s.renderForm(w, r, http.StatusForbidden, req, "", "The form expired or was not sent from this page. Please try again.")
		return
	}
	if r.PostFormValue("login") == "team" {
		s.authorizeMember(w, r, req)
		return
	}
	name := strings.ToLower(r.PostFormValue("account"))
	if name == "" && len(s.order) == 1 {
		name = s.order[0]
	}
	if _, ok := s.accounts[name]; !ok {
		s.renderForm(w, r, http.StatusUnprocessableEntity, req, "", "Choose one of the accounts.")
		return
	}
	now := s.now()
	key := name + " " + addrKey(clientAddr(r))
	if blocked, until := s.logins.Blocked(key, now); blocked {
		reqlog.Logger(ctx, s.log).Warn().Str("account", name).Str("client", clientAddr(r)).Msg("login code attempts rate-limited")
		wait := max(1, int(until.Sub(now).Minutes()+0.999))
		s.renderForm(w, r, http.StatusTooManyRequests, req, name,
			fmt.Sprintf("Too many wrong codes for this account from your address. Try again in %d minute(s).", wait))
		return
	}
	code := normalizeLoginCode(r.PostFormValue("code"))
	if code == "" {
		s.renderForm(w, r, http.StatusUnprocessableEntity, req, name, "Enter the login code.")
		return
	}
	lc, err := s.store.TakeAuthCode(ctx, loginCodeHash(code))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		reqlog.Logger(ctx, s.log).Error().Err(err).Msg("take login code")
		s.renderPage(w, r, http.StatusInternalServerError, pageData{Error: "Internal error, please try again."}, "")
		return
	}
	if err != nil || lc.AppID != 0 || lc.RedirectURI != LoginCodeMarker || lc.Account != name || !now.Before(lc.ExpiresAt) {
		s.logins.Add(key, now)
		reqlog.Logger(ctx, s.log).Warn().Str("account", name).Str("client", clientAddr(r)).Msg("wrong or expired login code")
		msg := "This login code is wrong, expired or already used."
		if s.wrongLoginCode(ctx, name, now) {
			msg = "Too many wrong codes were tried for this account: its login codes were cancelled."
		}
		s.renderForm(w, r, http.StatusForbidden, req, name, msg+" Run `bridge login-code --account "+name+"` for a new one.")
		return
	}
	s.issueCode(w, r, req, name, 0)
}

// authorizeMember issues an authorization code for the team member
// signed in on the console, for one of the accounts they belong to.
func (s *Server) authorizeMember(w http.ResponseWriter, r *http.Request, req authRequest) {
	id, email, accounts, ok := s.teamMember(r)
	if !ok {
		s.renderForm(w, r, http.StatusForbidden, req, "", "Your team login has expired: please sign in again.")
		return
	}
	name := strings.ToLower(r.PostFormValue("account"))
	if name == "" && len(accounts) == 1 {
		name = accounts[0]
	}
	if !slices.Contains(accounts, name) {
		reqlog.Logger(r.Context(), s.log).Warn().Str("member", email).Str("account", name).Msg("team member refused: not a member of the account")
		s.renderForm(w, r, http.StatusForbidden, req, "", "You are not a member of this account's team.")
		return
	}
	s.issueCode(w, r, req, name, id)
}

// authorizePath is the path of the authorization request, to come back
// to after signing in.
func authorizePath(req authRequest) string {
	q := url.Values{"response_type": {"code"}, "client_id": {req.app.ClientID}, "redirect_uri": {req.redirectURI},
		"scope": {strings.Join(req.scopes, " ")}}
	if req.state != "" {
		q.Set("state", req.state)
	}
	if req.challenge != "" {
		q.Set("code_challenge", req.challenge)
		q.Set("code_challenge_method", pkceS256)
	}
	return "/oauth/authorize?" + q.Encode()
}

// issueCode makes the authorization code of account (and of the team
// member who authorized, 0 for a login code) and hands it to the app.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, req authRequest, name string, memberID int64) {
	ctx := r.Context()
	now := s.now()
	authCode := randomSecret()
	err := s.store.InsertAuthCode(ctx, storage.AuthCode{
		Hash: authCodeHash(authCode), AppID: req.app.ID, Account: name, RedirectURI: req.redirectURI,
		Scopes: strings.Join(req.scopes, " "), ExpiresAt: now.Add(authCodeTTL).UTC(), CodeChallenge: req.challenge,
		MemberID: memberID,
	})
	if err != nil {
		reqlog.Logger(ctx, s.log).Error().Err(err).Msg("store authorization code")
		s.renderPage(w, r, http.StatusInternalServerError, pageData{Error: "Internal error, please try again."}, "")
		return
	}
	reqlog.Logger(ctx, s.log).Info().Str("account", name).Int64("member", memberID).Str("app", req.app.Name).Str("scopes", strings.Join(req.scopes, " ")).Msg("app authorized")
	if req.redirectURI == OOBRedirect {
		s.renderPage(w, r, http.StatusOK, pageData{AppName: req.app.Name, Code: authCode}, "")
		return
	}
	u, _ := url.Parse(req.redirectURI) // validated at registration
	q := u.Query()
	q.Set("code", authCode)
	if req.state != "" {
		q.Set("state", req.state)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// wrongLoginCode counts a wrong login code for account; after
// loginCodeGuesses of them within a code's lifetime, whatever the client
// addresses, the account's outstanding login codes are burnt (a code
// guessed at that often could be found). It reports whether the
// account's codes were burnt within the last LoginCodeTTL.
func (s *Server) wrongLoginCode(ctx context.Context, account string, now time.Time) bool {
	if n := s.guesses.Add(account, now); n >= loginCodeGuesses {
		s.guesses.Reset(account)
		burnt, err := s.store.DeleteAuthCodes(context.WithoutCancel(ctx), account, 0)
		if err != nil {
			reqlog.Logger(ctx, s.log).Error().Err(err).Str("account", account).Msg("burn login codes")
		} else {
			reqlog.Logger(ctx, s.log).Warn().Str("account", account).Int("wrong_codes", n).Int64("codes_burnt", burnt).
				Msg("too many wrong login codes: the account's login codes were cancelled; `bridge login-code` makes a new one")
		}
		s.burntMu.Lock()
		s.burnt[account] = now
		s.burntMu.Unlock()
	}
	s.burntMu.Lock()
	defer s.burntMu.Unlock()
	at, ok := s.burnt[account]
	return ok && now.Sub(at) < LoginCodeTTL
}

// clientCredentials reads the client's id and secret from the body or
// HTTP Basic authentication and checks them.
func (s *Server) clientCredentials(ctx context.Context, r *http.Request, p *params) (storage.App, error) {
	id, secret := p.str("client_id"), p.str("client_secret")
	if u, pw, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(pw)
	}
	if id == "" || secret == "" {
		return storage.App{}, errInvalidClient
	}
	app, err := s.store.GetAppByClientID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.App{}, errInvalidClient
	}
	if err != nil {
		return storage.App{}, err
	}
	if subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(app.SecretHash)) != 1 {
		return storage.App{}, errInvalidClient
	}
	return app, nil
}

// token exchanges a grant for an access token (POST /oauth/token).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Pragma", "no-cache")
	p, err := parseParams(w, r)
	if err != nil {
		oauthFail(w, &oauthError{http.StatusBadRequest, "invalid_request", "The request body could not be read."})
		return
	}
	ctx := r.Context()
	grant := p.str("grant_type")
	switch grant {
	case "authorization_code", "client_credentials":
	case "":
		oauthFail(w, &oauthError{http.StatusBadRequest, "invalid_request", "Missing grant_type."})
		return
	default:
		oauthFail(w, &oauthError{http.StatusBadRequest, "unsupported_grant_type",
			"The authorization grant type is not supported by the authorization server."})
		return
	}
	app, err := s.clientCredentials(ctx, r, p)
	if err != nil {
		s.oauthOrFail(w, r, err)
		return
	}
	now := s.now()
	var (
		account, scopes string
		member          int64 // the team member who authorized (0: a login code)
	)
	if grant == "authorization_code" {
		code, redirect := p.str("code"), p.str("redirect_uri")
		if code == "" || redirect == "" {
			oauthFail(w, &oauthError{http.StatusBadRequest, "invalid_request", "Missing code or redirect_uri."})
			return
		}
		c, err := s.store.TakeAuthCode(ctx, authCodeHash(code))
		if errors.Is(err, storage.ErrNotFound) {
			oauthFail(w, errInvalidGrant)
			return
		}
		if err != nil {
			s.oauthOrFail(w, r, err)
			return
		}
		if c.AppID != app.ID || c.RedirectURI != redirect || !now.Before(c.ExpiresAt) {
			oauthFail(w, errInvalidGrant)
			return
		}
		// With a PKCE challenge, only its verifier redeems the code (a
		// verifier sent for a code without challenge is ignored).
		if c.CodeChallenge != "" && !pkceVerified(c.CodeChallenge, p.str("code_verifier")) {
			oauthFail(w, errInvalidGrant)
			return
		}
		if _, ok := s.accounts[c.Account]; !ok {
			oauthFail(w, errInvalidGrant)
			return
		}
		account, scopes, member = c.Account, c.Scopes, c.MemberID
	} else {
		list, err := ParseScopes(p.str("scope"))
		if err != nil || !subset(list, strings.Fields(app.Scopes)) {
			oauthFail(w, &oauthError{http.StatusBadRequest, "invalid_scope",
				"The requested scope is invalid, unknown, or malformed."})
			return
		}
		scopes = strings.Join(list, " ")
	}
	tok, t, err := createToken(ctx, s.store, account, app.ID, member, app.ClientID, scopes, now)
	if err != nil {
		s.oauthOrFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "scope": t.Scopes, "created_at": t.CreatedAt.Unix(),
	})
}

func (s *Server) oauthOrFail(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	if errors.As(err, &oe) {
		oauthFail(w, oe)
		return
	}
	s.fail(w, r, err)
}

// revoke revokes a token of the authenticated client (POST /oauth/revoke).
// Unknown tokens succeed, as RFC 7009 asks.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	p, err := parseParams(w, r)
	if err != nil {
		oauthFail(w, &oauthError{http.StatusBadRequest, "invalid_request", "The request body could not be read."})
		return
	}
	ctx := r.Context()
	app, err := s.clientCredentials(ctx, r, p)
	if err != nil {
		s.oauthOrFail(w, r, err)
		return
	}
	t, err := s.store.GetTokenByHash(ctx, HashSecret(p.str("token")))
	if errors.Is(err, storage.ErrNotFound) {
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if t.AppID != app.ID {
		oauthFail(w, &oauthError{http.StatusForbidden, "unauthorized_client", "You are not authorized to revoke this token"})
		return
	}
	if err := s.store.RevokeToken(ctx, t.ID, s.now().UTC()); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// oauthMetadata is the RFC 8414 authorization server metadata.
func (s *Server) oauthMetadata(w http.ResponseWriter, r *http.Request) {
	b := s.set.BaseURL
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                b + "/",
		"service_documentation":                 SourceURL,
		"authorization_endpoint":                b + "/oauth/authorize",
		"token_endpoint":                        b + "/oauth/token",
		"revocation_endpoint":                   b + "/oauth/revoke",
		"app_registration_endpoint":             b + "/api/v1/apps",
		"scopes_supported":                      append(slices.Clone(topScopes), subScopes...),
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{pkceS256},
	})
}
