package admin

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

func TestCSVCell(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "alice@city.example", "alice@city.example"},
		{"empty", "", ""},
		{"formula", "=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"plus", "+1+1", "'+1+1"},
		{"minus", "-2", "'-2"},
		{"at", "@SUM(A1)", "'@SUM(A1)"},
		{"tab", "\t=1", "'\t=1"},
		{"carriage return", "\r=1", "'\r=1"},
		{"inner equals kept", "a=b", "a=b"},
	} {
		if got := csvCell(c.in); got != c.want {
			t.Errorf("%s: csvCell(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "/admin"},
		{"our path", "/oauth/authorize?client_id=x", "/oauth/authorize?client_id=x"},
		{"other site", "https://evil.example/", "/admin"},
		{"scheme-relative", "//evil.example/", "/admin"},
		{"backslash", "/\\evil.example", "/admin"},
		{"header injection", "/admin\r\nSet-Cookie: x", "/admin"},
		{"relative", "admin", "/admin"},
	} {
		if got := safeNext(c.in); got != c.want {
			t.Errorf("%s: safeNext(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestLanguage(t *testing.T) {
	for _, c := range []struct{ name, query, cookie, accept, want string }{
		{"default", "", "", "", "en"},
		{"accept french", "", "", "fr-CA,fr;q=0.9,en;q=0.5", "fr"},
		{"accept unknown then english", "", "", "de-DE,en;q=0.5", "en"},
		{"cookie over header", "", "fr", "en", "fr"},
		{"query over cookie", "lang=en", "fr", "fr", "en"},
		{"unknown query ignored", "lang=xx", "", "fr", "fr"},
	} {
		r := httptest.NewRequest("GET", "/admin?"+c.query, nil)
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: langCookie, Value: c.cookie})
		}
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		if got := language(r); got != c.want {
			t.Errorf("%s: language = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestMessagesComplete(t *testing.T) {
	for key := range messages["en"] {
		if _, ok := messages["fr"][key]; !ok {
			t.Errorf("French lacks %q", key)
		}
	}
	for key := range messages["fr"] {
		if _, ok := messages["en"][key]; !ok {
			t.Errorf("English lacks %q", key)
		}
	}
}

func TestTOTPStep(t *testing.T) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "test", AccountName: "a@x.example"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_015, 0) // mid-step
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(key.Secret(), at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	step := now.Unix() / 30
	for _, c := range []struct {
		name     string
		code     string
		wantStep int64
		wantOK   bool
	}{
		{"current", code(now), step, true},
		{"with a space", code(now)[:3] + " " + code(now)[3:], step, true},
		{"previous step (clock drift)", code(now.Add(-30 * time.Second)), step - 1, true},
		{"next step", code(now.Add(30 * time.Second)), step + 1, true},
		{"two steps old", code(now.Add(-60 * time.Second)), 0, false},
		{"too short", "12345", 0, false},
		{"letters", "abcdef", 0, false},
	} {
		got, ok := totpStep(key.Secret(), c.code, now)
		if ok != c.wantOK || (ok && got != c.wantStep) {
			t.Errorf("%s: totpStep = %d, %v; want %d, %v", c.name, got, ok, c.wantStep, c.wantOK)
		}
	}
}

// harness: the console on a real SQLite store, served on loopback.
type harness struct {
	t     *testing.T
	store storage.Store
	c     *Console
	srv   *httptest.Server
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, storage.Config{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "b.db")}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	c := New(Settings{BaseURL: "http://console.test", Accounts: []string{"News", "events"}}, store, zerolog.Nop())
	mux := http.NewServeMux()
	c.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &harness{t: t, store: store, c: c, srv: srv}
}

func (h *harness) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (h *harness) do(c *http.Client, method, path string, form url.Values) (*http.Response, string) {
	h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	secretRE = regexp.MustCompile(`name="totp_secret" value="([^"]+)"`)
	linkRE   = regexp.MustCompile(`id="invite-link">([^<]+)<`)
)

func match(t *testing.T, re *regexp.Regexp, s string) string {
	t.Helper()
	m := re.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%v not in:\n%s", re, s)
	}
	return m[1]
}

const testPassword = "a long enough password"

// join accepts an invitation link in browser b and returns the TOTP key.
func (h *harness) join(b *http.Client, link string) string {
	h.t.Helper()
	path := strings.TrimPrefix(link, "http://console.test")
	_, page := h.do(b, "GET", path, nil)
	secret := match(h.t, secretRE, page)
	code, _ := totp.GenerateCode(secret, time.Now())
	resp, page := h.do(b, "POST", path, url.Values{"csrf": {match(h.t, csrfRE, page)}, "totp_secret": {secret},
		"password": {testPassword}, "password2": {testPassword}, "code": {code}})
	if resp.StatusCode != http.StatusSeeOther {
		h.t.Fatalf("accept: %d\n%s", resp.StatusCode, page)
	}
	return secret
}

func (h *harness) invite(email, account, role string) string {
	h.t.Helper()
	link, _, err := h.c.Invite(context.Background(), email, account, role)
	if err != nil {
		h.t.Fatal(err)
	}
	return link
}

func TestInviteRefusals(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct{ name, email, account, role string }{
		{"not an email", "alice", "news", "editor"},
		{"unknown account", "a@x.example", "other", "editor"},
		{"unknown role", "a@x.example", "news", "owner"},
		{"email with markup", "<a@x.example>", "news", "editor"},
	} {
		if _, _, err := h.c.Invite(context.Background(), c.email, c.account, c.role); err == nil {
			t.Errorf("%s: Invite(%q, %q, %q) = nil error", c.name, c.email, c.account, c.role)
		}
	}
}

func TestAcceptRefusals(t *testing.T) {
	h := newHarness(t)
	link := h.invite("alice@x.example", "news", "editor")
	path := strings.TrimPrefix(link, "http://console.test")
	b := h.browser()
	_, page := h.do(b, "GET", path, nil)
	secret, csrf := match(t, secretRE, page), match(t, csrfRE, page)
	code, _ := totp.GenerateCode(secret, time.Now())
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	for _, c := range []struct {
		name string
		form url.Values
		want int
	}{
		{"no CSRF token", url.Values{"totp_secret": {secret}, "password": {testPassword}, "password2": {testPassword}, "code": {code}}, http.StatusForbidden},
		{"short password", url.Values{"csrf": {csrf}, "totp_secret": {secret}, "password": {"short"}, "password2": {"short"}, "code": {code}}, http.StatusUnprocessableEntity},
		{"passwords differ", url.Values{"csrf": {csrf}, "totp_secret": {secret}, "password": {testPassword}, "password2": {testPassword + "!"}, "code": {code}}, http.StatusUnprocessableEntity},
		{"wrong code", url.Values{"csrf": {csrf}, "totp_secret": {secret}, "password": {testPassword}, "password2": {testPassword}, "code": {wrong}}, http.StatusUnprocessableEntity},
	} {
		resp, page := h.do(b, "POST", path, c.form)
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d\n%s", c.name, resp.StatusCode, c.want, page)
		}
	}
	if _, err := h.store.GetTeamMemberByEmail(context.Background(), "alice@x.example"); err == nil {
		t.Fatal("a refused acceptance created the member")
	}
	// Expired: the clock moves past the invitation's life.
	h.c.SetClock(func() time.Time { return time.Now().Add(InviteTTL + time.Minute) })
	if resp, page := h.do(b, "GET", path, nil); resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "expired") {
		t.Fatalf("expired invitation: %d\n%s", resp.StatusCode, page)
	}
}

func TestSessionFixationAndLogout(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	// A cookie planted before signing in is not the session after it.
	u, _ := url.Parse(h.srv.URL)
	planted := strings.Repeat("A", 43)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieName, Value: planted, Path: "/"}})
	h.join(b, h.invite("alice@x.example", "news", "admin"))
	var session string
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == sessionCookieName {
			session = c.Value
		}
	}
	if session == "" || session == planted {
		t.Fatalf("session cookie after signing in = %q (planted %q)", session, planted)
	}
	if _, err := h.store.GetTeamSession(context.Background(), hashSecret("session", session), time.Now()); err != nil {
		t.Fatalf("the session is not stored hashed: %v", err)
	}
	resp, page := h.do(b, "GET", "/admin", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "alice@x.example") {
		t.Fatalf("home: %d\n%s", resp.StatusCode, page)
	}
	h.do(b, "POST", "/admin/logout", url.Values{"csrf": {match(t, csrfRE, page)}})
	if resp, _ := h.do(b, "GET", "/admin", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("home after logout: %d, want a redirect to the login", resp.StatusCode)
	}
	if _, err := h.store.GetTeamSession(context.Background(), hashSecret("session", session), time.Now()); err == nil {
		t.Fatal("the session survived the logout")
	}
}

func TestLoginLimits(t *testing.T) {
	h := newHarness(t)
	h.join(h.browser(), h.invite("alice@x.example", "news", "editor"))
	b := h.browser()
	_, page := h.do(b, "GET", "/admin/login", nil)
	csrf := match(t, csrfRE, page)
	var last int
	for i := range loginPerPerson + 1 {
		resp, _ := h.do(b, "POST", "/admin/login", url.Values{"csrf": {csrf}, "email": {"alice@x.example"}, "password": {"wrong"}, "code": {"123456"}})
		last = resp.StatusCode
		if i < loginPerPerson && last != http.StatusForbidden {
			t.Fatalf("attempt %d: %d, want 403", i+1, last)
		}
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("attempt %d: %d, want 429", loginPerPerson+1, last)
	}
	// Even the right password and code are refused while limited.
	m, _ := h.store.GetTeamMemberByEmail(context.Background(), "alice@x.example")
	code, _ := totp.GenerateCode(m.TOTPSecret, time.Now().Add(30*time.Second))
	if resp, _ := h.do(b, "POST", "/admin/login", url.Values{"csrf": {csrf}, "email": {"alice@x.example"}, "password": {testPassword}, "code": {code}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right credentials during the limit: %d, want 429", resp.StatusCode)
	}
	list, err := h.store.ListAudit(context.Background(), storage.AuditQuery{IncludeInstance: true})
	if err != nil {
		t.Fatal(err)
	}
	failed, limited := 0, 0
	for _, e := range list {
		switch e.Action {
		case "login.failed":
			failed++
		case "login.limited":
			limited++
		}
	}
	if failed != loginPerPerson || limited != 2 {
		t.Fatalf("audit: %d login.failed, %d login.limited; want %d and 2", failed, limited, loginPerPerson)
	}
}

func TestTeamRoles(t *testing.T) {
	h := newHarness(t)
	admin, editor := h.browser(), h.browser()
	h.join(admin, h.invite("admin@x.example", "news", "admin"))
	h.join(editor, h.invite("editor@x.example", "news", "editor"))

	// An editor cannot see or manage the team.
	if resp, _ := h.do(editor, "GET", "/admin/team", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("editor on /admin/team: %d, want 403", resp.StatusCode)
	}
	_, page := h.do(editor, "GET", "/admin", nil)
	if resp, _ := h.do(editor, "POST", "/admin/team/invite", url.Values{"csrf": {match(t, csrfRE, page)},
		"email": {"x@x.example"}, "account": {"news"}, "role": {"admin"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("editor inviting: %d, want 403", resp.StatusCode)
	}

	// An admin invites to their account, not to another.
	_, page = h.do(admin, "GET", "/admin/team", nil)
	csrf := match(t, csrfRE, page)
	for _, c := range []struct {
		name    string
		form    url.Values
		want    int
		wantURL bool
	}{
		{"own account", url.Values{"csrf": {csrf}, "email": {"new@x.example"}, "account": {"news"}, "role": {"contributor"}}, http.StatusOK, true},
		{"another account", url.Values{"csrf": {csrf}, "email": {"new@x.example"}, "account": {"events"}, "role": {"contributor"}}, http.StatusForbidden, false},
		{"bad role", url.Values{"csrf": {csrf}, "email": {"new@x.example"}, "account": {"news"}, "role": {"owner"}}, http.StatusUnprocessableEntity, false},
		{"no CSRF token", url.Values{"email": {"new@x.example"}, "account": {"news"}, "role": {"editor"}}, http.StatusForbidden, false},
	} {
		resp, page := h.do(admin, "POST", "/admin/team/invite", c.form)
		if resp.StatusCode != c.want || linkRE.MatchString(page) != c.wantURL {
			t.Errorf("%s: %d (link shown %v), want %d (%v)\n%s", c.name, resp.StatusCode, linkRE.MatchString(page), c.want, c.wantURL, page)
		}
	}
	// The editor reads the audit of their account, not the instance's
	// logins; the admin reads both.
	_, page = h.do(editor, "GET", "/admin/audit", nil)
	if strings.Contains(page, "team.invite") == false || strings.Contains(page, "<td>login</td>") {
		t.Errorf("editor's audit page: want the account's team.invite, not the logins\n%s", page)
	}
	_, page = h.do(admin, "GET", "/admin/audit", nil)
	if !strings.Contains(page, "team.invite.refused") || !strings.Contains(page, "invite.accepted") {
		t.Errorf("admin's audit page lacks the refused and accepted invitations\n%s", page)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/admin/login", "/admin/invite/unknown"} {
		resp, _ := h.do(h.browser(), "GET", path, nil)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: CSP %q, X-Frame-Options %q", path, csp, resp.Header.Get("X-Frame-Options"))
		}
		for _, c := range resp.Cookies() {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("%s: cookie %s HttpOnly %v SameSite %v", path, c.Name, c.HttpOnly, c.SameSite)
			}
		}
	}
}

func TestInvitePageQR(t *testing.T) {
	h := newHarness(t)
	link := h.invite("alice@x.example", "news", "editor")
	_, page := h.do(h.browser(), "GET", strings.TrimPrefix(link, "http://console.test"), nil)
	if !strings.Contains(page, `<img src="data:image/png;base64,`) {
		t.Fatalf("the QR code is not an inline PNG:\n%s", page)
	}
}

func TestSecureCookies(t *testing.T) {
	for _, c := range []struct {
		name, base string
		secure     bool
	}{
		{"https public URL", "https://social.city.example", true},
		{"plain http on loopback", "http://127.0.0.1:8080", false},
	} {
		con := New(Settings{BaseURL: c.base, Accounts: []string{"news"}}, nil, zerolog.Nop())
		w := httptest.NewRecorder()
		con.loginPage(w, httptest.NewRequest("GET", "/admin/login", nil))
		cookies := w.Result().Cookies()
		if len(cookies) == 0 {
			t.Fatalf("%s: no cookie set", c.name)
		}
		for _, ck := range cookies {
			if ck.Secure != c.secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
				t.Errorf("%s: cookie %s Secure %v HttpOnly %v SameSite %v, want Secure %v, HttpOnly, Lax",
					c.name, ck.Name, ck.Secure, ck.HttpOnly, ck.SameSite, c.secure)
			}
		}
	}
}

func TestCeremoniesOnce(t *testing.T) {
	cs := &ceremonies{m: map[string]ceremony{}}
	now := time.Now()
	cs.put("a", ceremony{memberID: 1, expires: now.Add(time.Minute)}, now)
	cs.put("old", ceremony{expires: now.Add(time.Second)}, now)
	for _, c := range []struct {
		name string
		id   string
		at   time.Time
		want bool
	}{
		{"first use", "a", now, true},
		{"replayed", "a", now, false},
		{"expired", "old", now.Add(2 * time.Second), false},
		{"unknown", "nope", now, false},
	} {
		if _, ok := cs.take(c.id, c.at); ok != c.want {
			t.Errorf("%s: take = %v, want %v", c.name, ok, c.want)
		}
	}
}

func TestPasskeyRefusals(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	_, page := h.do(b, "GET", "/admin/login", nil)
	if !strings.Contains(page, `id="passkey-login"`) {
		t.Fatalf("no passkey button on the login page of a domain:\n%s", page)
	}
	csrf := match(t, csrfRE, page)
	post := func(path string, header map[string]string) int {
		req, _ := http.NewRequest("POST", h.srv.URL+path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		name, path string
		header     map[string]string
		want       int
	}{
		{"options without CSRF token", "/admin/login/passkey/options", nil, http.StatusForbidden},
		{"login without CSRF token", "/admin/login/passkey", nil, http.StatusForbidden},
		{"login without a challenge", "/admin/login/passkey", map[string]string{"X-CSRF-Token": csrf}, http.StatusForbidden},
		{"options", "/admin/login/passkey/options", map[string]string{"X-CSRF-Token": csrf}, http.StatusOK},
		{"a made-up assertion", "/admin/login/passkey", map[string]string{"X-CSRF-Token": csrf}, http.StatusForbidden},
		{"the same challenge again", "/admin/login/passkey", map[string]string{"X-CSRF-Token": csrf}, http.StatusForbidden},
		{"adding a passkey signed out", "/admin/passkeys/options", map[string]string{"X-CSRF-Token": csrf}, http.StatusSeeOther},
	} {
		if got := post(c.path, c.header); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	list, err := h.store.ListAudit(context.Background(), storage.AuditQuery{IncludeInstance: true})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, e := range list {
		if e.Action == "login.failed" && strings.HasPrefix(e.Detail, "passkey: ") {
			failed++
		}
	}
	if failed != 3 {
		t.Fatalf("audit: %d failed passkey logins, want 3: %+v", failed, list)
	}

	// A signed-in member's script request needs the session's CSRF token.
	m := h.browser()
	h.join(m, h.invite("alice@x.example", "news", "editor"))
	_, page = h.do(m, "GET", "/admin", nil)
	for _, c := range []struct {
		name  string
		token string
		want  int
	}{
		{"wrong token", "nope", http.StatusForbidden},
		{"the session's token", match(t, csrfRE, page), http.StatusOK},
	} {
		req, _ := http.NewRequest("POST", h.srv.URL+"/admin/passkeys/options", strings.NewReader("{}"))
		req.Header.Set("X-CSRF-Token", c.token)
		resp, err := m.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("add passkey options, %s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
}

func TestPasskeysNeedADomain(t *testing.T) {
	for _, c := range []struct {
		name, base string
		on         bool
	}{
		{"domain", "https://social.city.example", true},
		{"localhost", "http://localhost:8080", true},
		{"IP address", "http://127.0.0.1:8080", false},
	} {
		if got := newWebAuthn(c.base, "x") != nil; got != c.on {
			t.Errorf("%s: passkeys on = %v, want %v", c.name, got, c.on)
		}
	}
}

// TestTeamRemove: an admin takes a member off the team (their sessions
// end at once) and removes a member's passkey; an editor cannot, nor an
// admin of another account; all of it is in the audit.
func TestTeamRemove(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	admin, editor, other := h.browser(), h.browser(), h.browser()
	h.join(admin, h.invite("admin@x.example", "news", "admin"))
	h.join(editor, h.invite("editor@x.example", "news", "editor"))
	h.join(other, h.invite("other@x.example", "events", "admin"))
	ed, err := h.store.GetTeamMemberByEmail(ctx, "editor@x.example")
	if err != nil {
		t.Fatal(err)
	}
	key, err := h.store.InsertTeamPasskey(ctx, storage.TeamPasskey{MemberID: ed.ID, CredentialID: "cred", Credential: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	memberID := strconv.FormatInt(ed.ID, 10)
	_, page := h.do(other, "GET", "/admin/team", nil)
	otherCSRF := match(t, csrfRE, page)
	_, page = h.do(editor, "GET", "/admin", nil)
	editorCSRF := match(t, csrfRE, page)
	_, page = h.do(admin, "GET", "/admin/team", nil)
	csrf := match(t, csrfRE, page)
	if !strings.Contains(page, `action="/admin/team/remove"`) || !strings.Contains(page, `name="passkey" value="`+strconv.FormatInt(key, 10)+`"`) {
		t.Fatalf("team page lacks the remove forms:\n%s", page)
	}

	for _, c := range []struct {
		name string
		b    *http.Client
		path string
		form url.Values
		want int
	}{
		{"editor removes", editor, "/admin/team/remove", url.Values{"csrf": {editorCSRF}, "account": {"news"}, "member": {memberID}}, http.StatusForbidden},
		{"another account's admin", other, "/admin/team/remove", url.Values{"csrf": {otherCSRF}, "account": {"news"}, "member": {memberID}}, http.StatusForbidden},
		{"not a member of the admin's account", other, "/admin/team/remove", url.Values{"csrf": {otherCSRF}, "account": {"events"}, "member": {memberID}}, http.StatusNotFound},
		{"without CSRF token", admin, "/admin/team/remove", url.Values{"account": {"news"}, "member": {memberID}}, http.StatusForbidden},
		{"another account's admin, passkey", other, "/admin/team/passkeys/remove", url.Values{"csrf": {otherCSRF}, "account": {"news"}, "member": {memberID}, "passkey": {strconv.FormatInt(key, 10)}}, http.StatusForbidden},
		{"admin removes a passkey", admin, "/admin/team/passkeys/remove", url.Values{"csrf": {csrf}, "account": {"news"}, "member": {memberID}, "passkey": {strconv.FormatInt(key, 10)}}, http.StatusOK},
		{"the same passkey again", admin, "/admin/team/passkeys/remove", url.Values{"csrf": {csrf}, "account": {"news"}, "member": {memberID}, "passkey": {strconv.FormatInt(key, 10)}}, http.StatusNotFound},
	} {
		if resp, page := h.do(c.b, "POST", c.path, c.form); resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d\n%s", c.name, resp.StatusCode, c.want, page)
		}
	}
	if keys, _ := h.store.TeamPasskeys(ctx, ed.ID); len(keys) != 0 {
		t.Fatalf("passkeys left: %+v", keys)
	}
	// Still a member and signed in after the refusals.
	if resp, _ := h.do(editor, "GET", "/admin", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("editor's session before removal: %d", resp.StatusCode)
	}
	if resp, page := h.do(admin, "POST", "/admin/team/remove", url.Values{"csrf": {csrf}, "account": {"news"}, "member": {memberID}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("remove: %d\n%s", resp.StatusCode, page)
	}
	if rs, _ := h.store.TeamRoles(ctx, ed.ID); len(rs) != 0 {
		t.Fatalf("roles left: %+v", rs)
	}
	if resp, _ := h.do(editor, "GET", "/admin", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("removed member's session: %d, want a redirect to the login", resp.StatusCode)
	}
	// An admin does not remove themselves.
	ad, _ := h.store.GetTeamMemberByEmail(ctx, "admin@x.example")
	if resp, _ := h.do(admin, "POST", "/admin/team/remove", url.Values{"csrf": {csrf}, "account": {"news"}, "member": {strconv.FormatInt(ad.ID, 10)}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("self removal: %d, want 422", resp.StatusCode)
	}
	_, page = h.do(admin, "GET", "/admin/audit", nil)
	for _, want := range []string{"team.remove", "passkey.removed", "team.remove.refused"} {
		if !strings.Contains(page, "<td>"+want+"</td>") {
			t.Errorf("audit lacks %s", want)
		}
	}
}

// TestTeamSetRole: an admin changes a member's role (an editor becomes a
// contributor and can no longer decide drafts at once); an editor cannot,
// nor another account's admin, nor an admin their own role, nor to an
// unknown role; the changes and refusals are in the audit.
func TestTeamSetRole(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	admin, editor, other := h.browser(), h.browser(), h.browser()
	h.join(admin, h.invite("admin@x.example", "news", "admin"))
	h.join(editor, h.invite("editor@x.example", "news", "editor"))
	h.join(other, h.invite("other@x.example", "events", "admin"))
	ed, _ := h.store.GetTeamMemberByEmail(ctx, "editor@x.example")
	ad, _ := h.store.GetTeamMemberByEmail(ctx, "admin@x.example")
	memberID := strconv.FormatInt(ed.ID, 10)
	_, page := h.do(other, "GET", "/admin/team", nil)
	otherCSRF := match(t, csrfRE, page)
	_, page = h.do(editor, "GET", "/admin", nil)
	editorCSRF := match(t, csrfRE, page)
	_, page = h.do(admin, "GET", "/admin/team", nil)
	csrf := match(t, csrfRE, page)
	if !strings.Contains(page, `action="/admin/team/role"`) || !strings.Contains(page, `<option value="editor" selected>`) {
		t.Fatalf("team page lacks the role form:\n%s", page)
	}
	for _, c := range []struct {
		name string
		b    *http.Client
		form url.Values
		want int
	}{
		{"editor changes a role", editor, url.Values{"csrf": {editorCSRF}, "account": {"news"}, "member": {memberID}, "role": {"admin"}}, http.StatusForbidden},
		{"another account's admin", other, url.Values{"csrf": {otherCSRF}, "account": {"news"}, "member": {memberID}, "role": {"contributor"}}, http.StatusForbidden},
		{"without CSRF token", admin, url.Values{"account": {"news"}, "member": {memberID}, "role": {"contributor"}}, http.StatusForbidden},
		{"unknown role", admin, url.Values{"csrf": {csrf}, "account": {"news"}, "member": {memberID}, "role": {"owner"}}, http.StatusUnprocessableEntity},
		{"own role", admin, url.Values{"csrf": {csrf}, "account": {"news"}, "member": {strconv.FormatInt(ad.ID, 10)}, "role": {"editor"}}, http.StatusUnprocessableEntity},
		{"admin makes the editor a contributor", admin, url.Values{"csrf": {csrf}, "account": {"news"}, "member": {memberID}, "role": {"contributor"}}, http.StatusOK},
		{"the same again", admin, url.Values{"csrf": {csrf}, "account": {"news"}, "member": {memberID}, "role": {"contributor"}}, http.StatusOK},
	} {
		if resp, page := h.do(c.b, "POST", "/admin/team/role", c.form); resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d\n%s", c.name, resp.StatusCode, c.want, page)
		}
	}
	rs, _ := h.store.TeamRoles(ctx, ed.ID)
	if len(rs) != 1 || rs[0].Role != storage.RoleContributor {
		t.Fatalf("roles %+v, want contributor", rs)
	}
	if rs, _ := h.store.TeamRoles(ctx, ad.ID); len(rs) != 1 || rs[0].Role != storage.RoleAdmin {
		t.Fatalf("admin's roles %+v", rs)
	}
	// The former editor's session acts as a contributor at once.
	if resp, page := h.do(editor, "POST", "/admin/drafts/approve", url.Values{"csrf": {editorCSRF}, "account": {"news"}, "draft": {"1"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a contributor approving: %d, want 403\n%s", resp.StatusCode, page)
	}
	entries, _ := h.store.ListAudit(ctx, storage.AuditQuery{Accounts: []string{"news"}, Limit: 100})
	count := map[string]int{}
	for _, e := range entries {
		count[e.Action]++
	}
	if count["team.role"] != 1 || count["team.role.refused"] != 2 {
		t.Errorf("audit: %d team.role, %d team.role.refused; want 1 and 2 (%v)", count["team.role"], count["team.role.refused"], count)
	}
}

// TestDrafts: a contributor's draft waits in the console; an editor of
// another account can neither see nor decide it; the account's editor
// rejects one with a reason (shown to the contributor) and approves the
// other, which publishes it (through package publish) once, however
// often it is approved; a contributor cannot decide; every decision is
// audited.
func TestDrafts(t *testing.T) {
	ctx := context.Background()
	store, err := storage.Open(ctx, storage.Config{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "b.db")}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	env := bridgetest.New(t, bridgetest.Options{Store: store, Accounts: []config.Account{{Username: "news"}, {Username: "events"}}})
	c := New(Settings{BaseURL: "http://console.test", Accounts: []string{"news", "events"}, Drafts: env.Pub}, store, zerolog.Nop())
	mux := http.NewServeMux()
	c.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h := &harness{t: t, store: store, c: c, srv: srv}

	contributor, editor, other := h.browser(), h.browser(), h.browser()
	h.join(contributor, h.invite("writer@x.example", "news", "contributor"))
	h.join(editor, h.invite("editor@x.example", "news", "editor"))
	h.join(other, h.invite("other@x.example", "events", "editor"))
	writer, err := store.GetTeamMemberByEmail(ctx, "writer@x.example")
	if err != nil {
		t.Fatal(err)
	}
	submit := func(text string) int64 {
		t.Helper()
		td, err := env.Pub.SubmitDraft(ctx, "news", publish.Draft{Text: text, Visibility: storage.VisibilityPublic,
			By: &storage.StatusAttribution{MemberID: writer.ID}}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return td.ID
	}
	keep, drop := submit("The pool reopens on Monday."), submit("Draft with a typo")
	form := func(csrf string, id int64, extra ...string) url.Values {
		v := url.Values{"csrf": {csrf}, "account": {"news"}, "draft": {strconv.FormatInt(id, 10)}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}

	_, page := h.do(other, "GET", "/admin/drafts", nil)
	otherCSRF := match(t, csrfRE, page)
	if strings.Contains(page, "The pool reopens") {
		t.Errorf("another account's editor sees news' drafts:\n%s", page)
	}
	_, page = h.do(contributor, "GET", "/admin/drafts", nil)
	contribCSRF := match(t, csrfRE, page)
	if !strings.Contains(page, "The pool reopens") || strings.Contains(page, `action="/admin/drafts/approve"`) {
		t.Errorf("the contributor's page: their drafts, no approval forms:\n%s", page)
	}
	resp, page := h.do(editor, "GET", "/admin/drafts", nil)
	csrf := match(t, csrfRE, page)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "The pool reopens") || !strings.Contains(page, `action="/admin/drafts/approve"`) {
		t.Fatalf("the editor's page: %d\n%s", resp.StatusCode, page)
	}
	if !strings.Contains(page, `<span class="badge">(2 waiting)</span>`) {
		t.Errorf("the navigation's badge does not count the 2 drafts:\n%s", page)
	}

	for _, tc := range []struct {
		name string
		b    *http.Client
		path string
		form url.Values
		want int
	}{
		{"another account's editor approves", other, "/admin/drafts/approve", form(otherCSRF, keep), http.StatusForbidden},
		{"the contributor approves", contributor, "/admin/drafts/approve", form(contribCSRF, keep), http.StatusForbidden},
		{"without CSRF token", editor, "/admin/drafts/approve", form("", keep), http.StatusForbidden},
		{"no such draft", editor, "/admin/drafts/approve", form(csrf, 999999), http.StatusNotFound},
		{"a reason too long", editor, "/admin/drafts/reject", form(csrf, drop, "reason", strings.Repeat("é", 501)), http.StatusUnprocessableEntity},
		{"reject with a reason", editor, "/admin/drafts/reject", form(csrf, drop, "reason", "Fix the typo, please."), http.StatusOK},
		{"approve the rejected one", editor, "/admin/drafts/approve", form(csrf, drop), http.StatusConflict},
		{"approve", editor, "/admin/drafts/approve", form(csrf, keep), http.StatusOK},
		{"approve again", editor, "/admin/drafts/approve", form(csrf, keep), http.StatusOK},
	} {
		if resp, page := h.do(tc.b, "POST", tc.path, tc.form); resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d\n%s", tc.name, resp.StatusCode, tc.want, page)
		}
	}

	statuses, err := store.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses) != 1 || statuses[0].Text != "The pool reopens on Monday." {
		t.Fatalf("published: %+v, want the approved draft once", statuses)
	}
	if as, err := store.StatusAttributions(ctx, []int64{statuses[0].ID}); err != nil || as[statuses[0].ID].MemberID != writer.ID {
		t.Errorf("attribution: %+v, %v; want the contributor", as, err)
	}
	_, page = h.do(contributor, "GET", "/admin/drafts", nil)
	if !strings.Contains(page, "Fix the typo, please.") {
		t.Errorf("the contributor does not see the reason:\n%s", page)
	}
	entries, err := store.ListAudit(ctx, storage.AuditQuery{Accounts: []string{"news"}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range entries {
		seen[e.Action]++
	}
	if seen["draft.approve"] != 2 || seen["draft.reject"] != 1 || seen["draft.approve.refused"] != 2 {
		t.Errorf("audit actions: %v", seen)
	}
}

// TestReach: the reach page shows the notice funnel of the member's
// accounts, day by day with the totals, and nothing of other accounts.
func TestReach(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	now := time.Now().UTC()
	day := storage.FunnelDay(now)
	for _, v := range []struct {
		account, day, source string
		n                    int64
	}{{"news", day, "direct", 40}, {"news", day, "qr", 12}, {"news", storage.FunnelDay(now.AddDate(0, 0, -1)), "direct", 8},
		{"news", storage.FunnelDay(now.AddDate(0, 0, -45)), "direct", 1000}, {"events", day, "direct", 777}} {
		if err := h.store.AddNoticeVisits(ctx, v.account, v.day, v.source, v.n); err != nil {
			t.Fatal(err)
		}
	}
	b := h.browser()
	h.join(b, h.invite("writer@x.example", "news", "contributor"))
	resp, page := h.do(b, "GET", "/admin/reach", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reach: %d\n%s", resp.StatusCode, page)
	}
	rowRE := regexp.MustCompile(`<tr><th scope="row">` + regexp.QuoteMeta(day) + `</th><td>(\d+)</td><td>(\d+)</td>`)
	totalRE := regexp.MustCompile(`<tr><th scope="row">Total</th><td>(\d+)</td><td>(\d+)</td>`)
	if m := rowRE.FindStringSubmatch(page); m == nil || m[1] != "52" || m[2] != "12" {
		t.Errorf("today's row: %v, want 52 visits, 12 through the QR code\n%s", m, page)
	}
	if m := totalRE.FindStringSubmatch(page); m == nil || m[1] != "60" {
		t.Errorf("total: %v, want 60 (the 45-day-old visits are out of the 30 days)", m)
	}
	if strings.Contains(page, "777") || strings.Contains(page, "@events") {
		t.Errorf("another account's funnel is shown:\n%s", page)
	}
}
