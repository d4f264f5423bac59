package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/api"
)

// app registers an OAuth app and returns its client id and secret.
func (e *env) app(t *testing.T, redirect, scopes string) (string, string) {
	t.Helper()
	r := e.jsonBody(t, http.MethodPost, "/api/v1/apps", "", map[string]any{
		"client_name": "Test App", "redirect_uris": redirect, "scopes": scopes, "website": "https://app.example",
	})
	if r.code != http.StatusOK {
		t.Fatalf("register app: %d %s", r.code, r.body)
	}
	m := r.json(t)
	sameKeys(t, "application", m, fixture(t, "application.json"))
	return m["client_id"].(string), m["client_secret"].(string)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// authorizePage loads the login form and returns its CSRF token (the
// form field and the cookie).
func (e *env) authorizePage(t *testing.T, q url.Values) (response, string) {
	t.Helper()
	r := e.get(t, "/oauth/authorize?"+q.Encode(), "")
	if r.code != http.StatusOK {
		return r, ""
	}
	m := csrfRE.FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("no CSRF field in the page:\n%s", r.body)
	}
	return r, string(m[1])
}

// submit posts the login form with the CSRF cookie.
func (e *env) submit(t *testing.T, q url.Values, csrf, account, code string) response {
	t.Helper()
	return e.submitFrom(t, "", q, csrf, account, code)
}

// submitFrom posts the login form from client address addr ("": the
// test's own).
func (e *env) submitFrom(t *testing.T, addr string, q url.Values, csrf, account, code string) response {
	t.Helper()
	f := url.Values{}
	for k, v := range q {
		f[k] = v
	}
	f.Set("csrf", csrf)
	f.Set("account", account)
	f.Set("code", code)
	header := map[string]string{"Cookie": "passerelle_oauth_csrf=" + csrf}
	if addr != "" {
		header["X-Test-Client"] = addr
	}
	return e.do(t, request{method: http.MethodPost, path: "/oauth/authorize", contentType: "application/x-www-form-urlencoded",
		body: []byte(f.Encode()), header: header})
}

func (e *env) loginCode(t *testing.T, account string) string {
	t.Helper()
	code, _, err := api.NewLoginCode(context.Background(), e.store, account, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// authorize runs the login form and returns the authorization code.
func (e *env) authorize(t *testing.T, q url.Values, account string) string {
	t.Helper()
	_, csrf := e.authorizePage(t, q)
	r := e.submit(t, q, csrf, account, strings.ToLower(e.loginCode(t, account))) // typed in lower case
	if r.code != http.StatusFound {
		t.Fatalf("authorize: %d %s", r.code, r.body)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Query().Get("state"); got != q.Get("state") {
		t.Errorf("state %q, want %q", got, q.Get("state"))
	}
	return loc.Query().Get("code")
}

func (e *env) exchange(t *testing.T, v url.Values) response {
	t.Helper()
	return e.form(t, http.MethodPost, "/oauth/token", "", v)
}

func TestOAuthFlow(t *testing.T) {
	e := newEnv(t, envOptions{})
	const redirect = "https://app.example/callback"
	id, secret := e.app(t, redirect+"\nurn:ietf:wg:oauth:2.0:oob", "read write push")
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirect},
		"scope": {"read write"}, "state": {"xyz"}}

	page, csrf := e.authorizePage(t, q)
	csp := page.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		!strings.Contains(csp, "form-action 'self' https://app.example") {
		t.Errorf("CSP %q", csp)
	}
	if !strings.Contains(string(page.body), "Test App") || !strings.Contains(page.header.Get("Set-Cookie"), "HttpOnly") {
		t.Errorf("page: %s / %v", page.body, page.header)
	}

	// Wrong code, missing CSRF: refused, and no code issued.
	if r := e.submit(t, q, csrf, "news", "AAAA-AAAA"); r.code != http.StatusForbidden || !strings.Contains(string(r.body), "wrong") {
		t.Errorf("wrong login code: %d", r.code)
	}
	good := e.loginCode(t, "news")
	if r := e.submit(t, q, "", "news", good); r.code != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", r.code)
	}
	if r := e.submit(t, q, csrf, "mayor", good); r.code != http.StatusForbidden {
		t.Errorf("another account's login code: %d", r.code)
	}
	if r := e.submit(t, q, csrf, "news", good); r.code != http.StatusForbidden {
		t.Errorf("login code reused after a wrong-account attempt: %d", r.code)
	}

	code := e.authorize(t, q, "news")
	exchange := url.Values{"grant_type": {"authorization_code"}, "client_id": {id}, "client_secret": {secret},
		"redirect_uri": {redirect}, "code": {code}}
	r := e.exchange(t, exchange)
	if r.code != http.StatusOK {
		t.Fatalf("token: %d %s", r.code, r.body)
	}
	tok := r.json(t)
	sameKeys(t, "token", tok, fixture(t, "token.json"))
	if tok["scope"] != "read write" || tok["token_type"] != "Bearer" {
		t.Errorf("token: %s", r.body)
	}
	access := tok["access_token"].(string)

	vc := e.get(t, "/api/v1/accounts/verify_credentials", access)
	if vc.code != http.StatusOK {
		t.Fatalf("verify_credentials: %d %s", vc.code, vc.body)
	}
	sameKeys(t, "credential account", vc.json(t), fixture(t, "credential_account.json"))
	if app := e.get(t, "/api/v1/apps/verify_credentials", access); app.code != http.StatusOK || app.json(t)["name"] != "Test App" {
		t.Errorf("apps/verify_credentials: %d %s", app.code, app.body)
	}

	// The code works once.
	if r := e.exchange(t, exchange); r.code != http.StatusBadRequest || r.json(t)["error"] != "invalid_grant" {
		t.Errorf("code reused: %d %s", r.code, r.body)
	}

	failures := []struct {
		name  string
		edit  func(v url.Values)
		code  int
		error string
	}{
		{"wrong redirect_uri", func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") }, 400, "invalid_grant"},
		{"wrong secret", func(v url.Values) { v.Set("client_secret", "nope") }, 401, "invalid_client"},
		{"unknown client", func(v url.Values) { v.Set("client_id", "nope") }, 401, "invalid_client"},
		{"password grant", func(v url.Values) { v.Set("grant_type", "password"); v.Set("username", "news") }, 400, "unsupported_grant_type"},
		{"no grant type", func(v url.Values) { v.Del("grant_type") }, 400, "invalid_request"},
		{"a login code as authorization code", func(v url.Values) { v.Set("code", e.loginCode(t, "news")) }, 400, "invalid_grant"},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			v := url.Values{}
			for k, vs := range exchange {
				v[k] = vs
			}
			v.Set("code", e.authorize(t, q, "news"))
			f.edit(v)
			r := e.exchange(t, v)
			if r.code != f.code || r.json(t)["error"] != f.error || r.json(t)["error_description"] == nil {
				t.Errorf("got %d %s, want %d %s", r.code, r.body, f.code, f.error)
			}
		})
	}

	// Scopes beyond the app's are refused at the authorization page.
	for _, scope := range []string{"read write follow", "admin:read", "read bogus"} {
		bad := url.Values{}
		for k, v := range q {
			bad[k] = v
		}
		bad.Set("scope", scope)
		if r, _ := e.authorizePage(t, bad); r.code != http.StatusBadRequest {
			t.Errorf("scope %q: %d", scope, r.code)
		}
	}
	// A sub-scope of the app's scopes is fine, and limits the token.
	narrow := url.Values{}
	for k, v := range q {
		narrow[k] = v
	}
	narrow.Set("scope", "read:accounts")
	exchange.Set("code", e.authorize(t, narrow, "mayor"))
	nt := e.exchange(t, exchange).json(t)["access_token"].(string)
	if r := e.get(t, "/api/v1/accounts/verify_credentials", nt); r.code != http.StatusOK || r.json(t)["id"] != "mayor" {
		t.Errorf("narrow token verify_credentials: %d %s", r.code, r.body)
	}
	if r := e.form(t, http.MethodPost, "/api/v1/statuses", nt, url.Values{"status": {"x"}}); r.code != http.StatusForbidden {
		t.Errorf("narrow token posted: %d", r.code)
	}

	// Out-of-band: the code is shown on the page.
	oob := url.Values{}
	for k, v := range q {
		oob[k] = v
	}
	oob.Set("redirect_uri", api.OOBRedirect)
	_, csrf = e.authorizePage(t, oob)
	r = e.submit(t, oob, csrf, "news", e.loginCode(t, "news"))
	m := regexp.MustCompile(`class="code">([A-Za-z0-9_-]+)<`).FindSubmatch(r.body)
	if r.code != http.StatusOK || m == nil {
		t.Fatalf("oob: %d %s", r.code, r.body)
	}
	exchange.Set("code", string(m[1]))
	exchange.Set("redirect_uri", api.OOBRedirect)
	if r := e.exchange(t, exchange); r.code != http.StatusOK {
		t.Errorf("oob exchange: %d %s", r.code, r.body)
	}

	// Revocation.
	rv := e.form(t, http.MethodPost, "/oauth/revoke", "", url.Values{"client_id": {id}, "client_secret": {secret}, "token": {access}})
	if rv.code != http.StatusOK {
		t.Errorf("revoke: %d %s", rv.code, rv.body)
	}
	if r := e.get(t, "/api/v1/accounts/verify_credentials", access); r.code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", r.code)
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t, envOptions{})
	id, secret := e.app(t, api.OOBRedirect, "read write")
	r := e.jsonBody(t, http.MethodPost, "/oauth/token", "", map[string]any{
		"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "scope": "read",
	})
	if r.code != http.StatusOK {
		t.Fatalf("client_credentials: %d %s", r.code, r.body)
	}
	tok := r.json(t)["access_token"].(string)
	if r := e.get(t, "/api/v1/apps/verify_credentials", tok); r.code != http.StatusOK || r.json(t)["name"] != "Test App" {
		t.Errorf("apps/verify_credentials: %d %s", r.code, r.body)
	}
	if r := e.get(t, "/api/v1/accounts/verify_credentials", tok); r.code != http.StatusUnprocessableEntity {
		t.Errorf("app token on verify_credentials: %d %s", r.code, r.body)
	}
	r = e.form(t, http.MethodPost, "/oauth/token", "", url.Values{"grant_type": {"client_credentials"},
		"client_id": {id}, "client_secret": {secret}, "scope": {"read write follow"}})
	if r.code != http.StatusBadRequest || r.json(t)["error"] != "invalid_scope" {
		t.Errorf("scope beyond the app: %d %s", r.code, r.body)
	}
	// HTTP Basic client authentication.
	req := request{method: http.MethodPost, path: "/oauth/token", contentType: "application/x-www-form-urlencoded",
		body: []byte("grant_type=client_credentials"), header: map[string]string{"Authorization": basic(id, secret)}}
	if r := e.do(t, req); r.code != http.StatusOK {
		t.Errorf("basic auth: %d %s", r.code, r.body)
	}
}

func basic(user, pass string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func TestRegisterAppRejects(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name string
		body map[string]any
		msg  string
	}{
		{"no name", map[string]any{"redirect_uris": api.OOBRedirect}, "name can't be blank"},
		{"no redirect", map[string]any{"client_name": "x"}, "Redirect URI can't be blank"},
		{"javascript redirect", map[string]any{"client_name": "x", "redirect_uris": "javascript:alert(1)"}, "Redirect URI"},
		{"relative redirect", map[string]any{"client_name": "x", "redirect_uris": "/callback"}, "Redirect URI"},
		{"fragment", map[string]any{"client_name": "x", "redirect_uris": "https://a.example/cb#x"}, "Redirect URI"},
		{"unknown scope", map[string]any{"client_name": "x", "redirect_uris": api.OOBRedirect, "scopes": "read admin:write"}, "Scopes"},
		{"bad website", map[string]any{"client_name": "x", "redirect_uris": api.OOBRedirect, "website": "javascript:x"}, "Website"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.jsonBody(t, http.MethodPost, "/api/v1/apps", "", tt.body)
			if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.errorText(t), tt.msg) {
				t.Errorf("got %d %s, want 422 with %q", r.code, r.body, tt.msg)
			}
		})
	}
	// Array form, with a custom scheme (mobile apps).
	r := e.form(t, http.MethodPost, "/api/v1/apps", "", url.Values{"client_name": {"Mobile"},
		"redirect_uris[]": {"myapp://oauth", api.OOBRedirect}, "scopes": {"read write follow push"}})
	if r.code != http.StatusOK {
		t.Fatalf("%d %s", r.code, r.body)
	}
	if got := r.json(t)["redirect_uris"].([]any); len(got) != 2 || got[0] != "myapp://oauth" {
		t.Errorf("redirect_uris %v", got)
	}
}

func TestLoginCodeRateLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	start := time.Now()
	e.api.SetClock(func() time.Time { return start })
	id, _ := e.app(t, "https://app.example/cb", "read")
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {"https://app.example/cb"}}
	_, csrf := e.authorizePage(t, q)
	for i := range 10 {
		if r := e.submit(t, q, csrf, "news", "ZZZZ-ZZZZ"); r.code != http.StatusForbidden {
			t.Fatalf("attempt %d: %d", i, r.code)
		}
	}
	if r := e.submit(t, q, csrf, "news", e.loginCode(t, "news")); r.code != http.StatusTooManyRequests ||
		!strings.Contains(string(r.body), "Too many") {
		t.Fatalf("11th attempt, with a good code: %d", r.code)
	}
	// Another account is not locked out.
	if r := e.submit(t, q, csrf, "mayor", e.loginCode(t, "mayor")); r.code != http.StatusFound {
		t.Errorf("other account: %d %s", r.code, r.body)
	}
	// After the window, a new code works.
	later := start.Add(16 * time.Minute)
	e.api.SetClock(func() time.Time { return later })
	code, _, err := api.NewLoginCode(context.Background(), e.store, "news", later)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.submit(t, q, csrf, "news", code); r.code != http.StatusFound {
		t.Errorf("after the window: %d %s", r.code, r.body)
	}
}

// TestLoginLockoutIsNotGlobal: wrong codes from many addresses lock out
// those addresses and burn the codes they guessed at, never a fresh code
// typed from another address (issue 13: 100 wrong codes from 10
// addresses locked a valid code out for 15 minutes).
func TestLoginLockoutIsNotGlobal(t *testing.T) {
	e := newEnv(t, envOptions{})
	start := time.Now()
	e.api.SetClock(func() time.Time { return start })
	id, _ := e.app(t, "https://app.example/cb", "read")
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {"https://app.example/cb"}}
	_, csrf := e.authorizePage(t, q)
	guessedAt := e.loginCode(t, "news") // outstanding while the guesses come
	for a := range 10 {
		addr := fmt.Sprintf("192.0.2.%d", a+1)
		for i := range 10 {
			if r := e.submitFrom(t, addr, q, csrf, "news", fmt.Sprintf("ZZZZ-ZZ%02d", i)); r.code != http.StatusForbidden {
				t.Fatalf("address %s, attempt %d: %d", addr, i, r.code)
			}
		}
		// The address is now limited, whatever the code.
		if r := e.submitFrom(t, addr, q, csrf, "news", "ZZZZ-ZZZZ"); r.code != http.StatusTooManyRequests {
			t.Fatalf("address %s, 11th attempt: %d", addr, r.code)
		}
	}
	// The code that was outstanding during 100 wrong guesses is burnt.
	if r := e.submitFrom(t, "198.51.100.7", q, csrf, "news", guessedAt); r.code != http.StatusForbidden {
		t.Errorf("a code guessed at 100 times: %d, want 403", r.code)
	}
	// A fresh code from a new address gets in at once.
	if r := e.submitFrom(t, "198.51.100.8", q, csrf, "news", e.loginCode(t, "news")); r.code != http.StatusFound {
		t.Errorf("a fresh code from a new address: %d %s", r.code, r.body)
	}
	// An IPv6 client is limited by its /64, not by each address in it.
	for i := range 10 {
		addr := fmt.Sprintf("2001:db8:1:2::%x", i+1)
		if r := e.submitFrom(t, addr, q, csrf, "mayor", "ZZZZ-ZZZZ"); r.code != http.StatusForbidden {
			t.Fatalf("IPv6 attempt %d: %d", i, r.code)
		}
	}
	if r := e.submitFrom(t, "2001:db8:1:2::ff", q, csrf, "mayor", e.loginCode(t, "mayor")); r.code != http.StatusTooManyRequests {
		t.Errorf("11th attempt from the same /64: %d", r.code)
	}
	if r := e.submitFrom(t, "2001:db8:1:3::1", q, csrf, "mayor", e.loginCode(t, "mayor")); r.code != http.StatusFound {
		t.Errorf("another /64: %d %s", r.code, r.body)
	}
}

func TestLoginCodeExpires(t *testing.T) {
	e := newEnv(t, envOptions{})
	id, _ := e.app(t, "https://app.example/cb", "read")
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {"https://app.example/cb"}}
	_, csrf := e.authorizePage(t, q)
	code := e.loginCode(t, "news")
	e.api.SetClock(func() time.Time { return time.Now().Add(api.LoginCodeTTL + time.Second) })
	if r := e.submit(t, q, csrf, "news", code); r.code != http.StatusForbidden {
		t.Errorf("expired login code: %d", r.code)
	}
}

func TestOAuthMetadata(t *testing.T) {
	e := newEnv(t, envOptions{})
	m := e.get(t, "/.well-known/oauth-authorization-server", "").json(t)
	if m["authorization_endpoint"] != e.url+"/oauth/authorize" || m["token_endpoint"] != e.url+"/oauth/token" ||
		m["issuer"] != e.url+"/" {
		t.Errorf("metadata: %v", m)
	}
}

// pkceChallenge is the S256 challenge of verifier (RFC 7636 section 4.2).
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestPKCE: a code issued with an S256 challenge is exchanged only with
// its verifier; "plain" is refused as Mastodon refuses it (issue 13).
func TestPKCE(t *testing.T) {
	e := newEnv(t, envOptions{})
	const redirect = "https://app.example/callback"
	id, secret := e.app(t, redirect, "read write")
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 appendix B
	if got := pkceChallenge(verifier); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatalf("test helper: challenge %q", got)
	}
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirect}, "scope": {"read"},
		"code_challenge": {pkceChallenge(verifier)}, "code_challenge_method": {"S256"}}
	page, _ := e.authorizePage(t, q)
	if !strings.Contains(string(page.body), `name="code_challenge" value="`+pkceChallenge(verifier)+`"`) {
		t.Fatalf("the login form does not carry the challenge:\n%s", page.body)
	}
	exchange := func(code, verifier string, send bool) response {
		v := url.Values{"grant_type": {"authorization_code"}, "client_id": {id}, "client_secret": {secret},
			"redirect_uri": {redirect}, "code": {code}}
		if send {
			v.Set("code_verifier", verifier)
		}
		return e.exchange(t, v)
	}
	tests := []struct {
		name     string
		verifier string
		send     bool
		want     int
	}{
		{"no verifier", "", false, http.StatusBadRequest},
		{"empty verifier", "", true, http.StatusBadRequest},
		{"wrong verifier", strings.Repeat("a", 43), true, http.StatusBadRequest},
		{"the challenge itself", pkceChallenge(verifier), true, http.StatusBadRequest},
		{"right verifier", verifier, true, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exchange(e.authorize(t, q, "news"), tt.verifier, tt.send)
			if r.code != tt.want {
				t.Fatalf("%d %s, want %d", r.code, r.body, tt.want)
			}
			if tt.want != http.StatusOK && r.json(t)["error"] != "invalid_grant" {
				t.Errorf("error %s, want invalid_grant", r.body)
			}
		})
	}
	// Without a challenge, a verifier sent anyway is ignored (clients that
	// always send one still log in).
	plainQ := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirect}, "scope": {"read"}}
	if r := exchange(e.authorize(t, plainQ, "news"), verifier, true); r.code != http.StatusOK {
		t.Errorf("no challenge, a verifier sent: %d %s", r.code, r.body)
	}
	// Refused at the authorization page: plain, a challenge without
	// method, an unknown method, a malformed challenge.
	for name, edit := range map[string]func(url.Values){
		"plain":             func(v url.Values) { v.Set("code_challenge_method", "plain") },
		"no method":         func(v url.Values) { v.Del("code_challenge_method") },
		"unknown method":    func(v url.Values) { v.Set("code_challenge_method", "S512") },
		"short challenge":   func(v url.Values) { v.Set("code_challenge", "abc") },
		"padded challenge":  func(v url.Values) { v.Set("code_challenge", pkceChallenge(verifier)+"=") },
		"method, no challe": func(v url.Values) { v.Del("code_challenge") },
	} {
		bad := url.Values{}
		for k, vs := range q {
			bad[k] = vs
		}
		edit(bad)
		if r := e.get(t, "/oauth/authorize?"+bad.Encode(), ""); r.code != http.StatusBadRequest || !strings.Contains(string(r.body), "code_challenge") {
			t.Errorf("%s: %d, want 400 naming code_challenge", name, r.code)
		}
	}
	m := e.get(t, "/.well-known/oauth-authorization-server", "").json(t)
	if got, ok := m["code_challenge_methods_supported"].([]any); !ok || len(got) != 1 || got[0] != "S256" {
		t.Errorf("code_challenge_methods_supported = %v", m["code_challenge_methods_supported"])
	}
}

// TestAuthorizeTrailingSlash: Debian's toot sends /oauth/authorize/
// (issue 13: a 404).
func TestAuthorizeTrailingSlash(t *testing.T) {
	e := newEnv(t, envOptions{})
	const redirect = "https://app.example/callback"
	id, _ := e.app(t, redirect, "read")
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirect}, "scope": {"read"}}
	page := e.get(t, "/oauth/authorize/?"+q.Encode(), "")
	if page.code != http.StatusOK {
		t.Fatalf("GET /oauth/authorize/: %d", page.code)
	}
	m := csrfRE.FindSubmatch(page.body)
	if m == nil {
		t.Fatal("no login form")
	}
	f := url.Values{"csrf": {string(m[1])}, "account": {"news"}, "code": {e.loginCode(t, "news")}}
	for k, v := range q {
		f[k] = v
	}
	r := e.do(t, request{method: http.MethodPost, path: "/oauth/authorize/", contentType: "application/x-www-form-urlencoded",
		body: []byte(f.Encode()), header: map[string]string{"Cookie": "passerelle_oauth_csrf=" + string(m[1])}})
	if r.code != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), redirect+"?code=") {
		t.Errorf("POST /oauth/authorize/: %d %s", r.code, r.header.Get("Location"))
	}
}
