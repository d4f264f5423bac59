package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/passerelle/passerelle/storage/storagetest"
)

var (
	csrfRE       = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	totpSecretRE = regexp.MustCompile(`name="totp_secret" value="([A-Z2-7=]+)"`)
	oobCodeRE    = regexp.MustCompile(`<p class="code">([^<]+)</p>`)
)

// consoleClient is a browser: a cookie jar, redirects followed.
func consoleClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 15 * time.Second}
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values, header http.Header) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func find(t *testing.T, re *regexp.Regexp, page string) string {
	t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("%v not found in page:\n%s", re, page)
	}
	return m[1]
}

// TestConsoleTeamLogin drives the real binary through the comms team's
// flow: `bridge team invite` prints a link; the invitee sets a password
// and proves a TOTP key (codes computed here from the page's key); an app
// is authorized on /oauth/authorize with the team login (no login code);
// the token posts a status that shows its application; the audit (page
// and CSV) names the member and the app. Then the refusals: the invitation
// used again, a TOTP code replayed, a console form without its CSRF token.
func TestConsoleTeamLogin(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testConsoleTeamLogin(t, newHarness(t, "sqlite", "", nil)) })
	t.Run("postgres", func(t *testing.T) {
		dsn := storagetest.PostgresSchema(t) // skips (fails under CI=true) without a database
		testConsoleTeamLogin(t, newHarness(t, "postgres", dsn, nil))
	})
}

func testConsoleTeamLogin(t *testing.T, h *harness) {
	h.start()
	base := h.cfg.ListenURL()

	out, stderr, code := runBridge(t, "--config", h.cfgPath, "team", "invite", "Alice@City.example", "--account", "news", "--role", "editor")
	if code != 0 {
		t.Fatalf("team invite: exit %d\n%s%s", code, out, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	link := lines[len(lines)-1]
	if !strings.HasPrefix(link, h.cfg.BaseURL()+"/admin/invite/") {
		t.Fatalf("team invite printed %q, want a link under %s/admin/invite/", out, h.cfg.BaseURL())
	}
	// A bad role is refused with a clear message and no link.
	if out, stderr, code := runBridge(t, "--config", h.cfgPath, "team", "invite", "bob@city.example", "--account", "news", "--role", "owner"); code == 0 || !strings.Contains(stderr, "admin, editor or contributor") {
		t.Fatalf("team invite --role owner: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	// Accept: password + TOTP.
	alice := consoleClient(t)
	status, page := fetch(t, alice, "GET", link, nil, nil)
	if status != http.StatusOK || !strings.Contains(page, "alice@city.example") {
		t.Fatalf("invitation page: %d\n%s", status, page)
	}
	secret := find(t, totpSecretRE, page)
	now := time.Now()
	first, err := totp.GenerateCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	const password = "correct horse battery staple"
	status, page = fetch(t, alice, "POST", link, url.Values{"csrf": {find(t, csrfRE, page)}, "totp_secret": {secret},
		"password": {password}, "password2": {password}, "code": {first}}, nil)
	if status != http.StatusOK || !strings.Contains(page, "alice@city.example") || !strings.Contains(page, "@news") {
		t.Fatalf("accepting the invitation: %d, want the console's home\n%s", status, page)
	}
	// The link works once.
	if status, page := fetch(t, consoleClient(t), "GET", link, nil, nil); status != http.StatusNotFound || !strings.Contains(page, "already used") {
		t.Fatalf("invitation used again: %d\n%s", status, page)
	}

	// An app logs in with the team login.
	var app struct{ ClientID, ClientSecret string }
	status, page = fetch(t, alice, "POST", base+"/api/v1/apps", url.Values{"client_name": {"Tusky"}, "website": {"https://tusky.example"},
		"redirect_uris": {"urn:ietf:wg:oauth:2.0:oob"}, "scopes": {"read write"}}, nil)
	var appJSON map[string]any
	if err := json.Unmarshal([]byte(page), &appJSON); status != http.StatusOK || err != nil {
		t.Fatalf("register app: %d %v\n%s", status, err, page)
	}
	app.ClientID, app.ClientSecret = appJSON["client_id"].(string), appJSON["client_secret"].(string)
	authURL := base + "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {app.ClientID},
		"redirect_uri": {"urn:ietf:wg:oauth:2.0:oob"}, "scope": {"read write"}}.Encode()

	// Signed out, the page links to the console's login, which comes back.
	other := consoleClient(t)
	status, page = fetch(t, other, "GET", authURL, nil, nil)
	if status != http.StatusOK || !strings.Contains(page, "/admin/login?next=%2Foauth%2Fauthorize") {
		t.Fatalf("authorization page signed out: %d, want a link to the team login\n%s", status, page)
	}
	// Replaying the code used to accept the invitation is refused.
	status, page = fetch(t, other, "GET", base+"/admin/login?next="+url.QueryEscape(strings.TrimPrefix(authURL, base)), nil, nil)
	if status != http.StatusOK {
		t.Fatalf("login page: %d\n%s", status, page)
	}
	loginCSRF := find(t, csrfRE, page)
	status, page = fetch(t, other, "POST", base+"/admin/login", url.Values{"csrf": {loginCSRF}, "email": {"alice@city.example"},
		"password": {password}, "code": {first}, "next": {strings.TrimPrefix(authURL, base)}}, nil)
	if status != http.StatusForbidden {
		t.Fatalf("login with a replayed TOTP code: %d, want 403\n%s", status, page)
	}
	// The next step's code is accepted, and the login goes back to the
	// authorization page.
	next, err := totp.GenerateCode(secret, now.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	status, page = fetch(t, other, "POST", base+"/admin/login", url.Values{"csrf": {loginCSRF}, "email": {"alice@city.example"},
		"password": {password}, "code": {next}, "next": {strings.TrimPrefix(authURL, base)}}, nil)
	if status != http.StatusOK || !strings.Contains(page, "Signed in as <strong>alice@city.example</strong>") {
		t.Fatalf("login then back to the authorization page: %d\n%s", status, page)
	}
	status, page = fetch(t, other, "POST", base+"/oauth/authorize", url.Values{"response_type": {"code"}, "client_id": {app.ClientID},
		"redirect_uri": {"urn:ietf:wg:oauth:2.0:oob"}, "scope": {"read write"}, "csrf": {find(t, csrfRE, page)},
		"login": {"team"}, "account": {"news"}}, nil)
	if status != http.StatusOK {
		t.Fatalf("authorize with the team login: %d\n%s", status, page)
	}
	authCode := find(t, oobCodeRE, page)
	status, page = fetch(t, other, "POST", base+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {authCode},
		"redirect_uri": {"urn:ietf:wg:oauth:2.0:oob"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}, nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(page), &tok); status != http.StatusOK || err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v\n%s", status, err, page)
	}

	// The app posts; the status shows its application.
	bearer := http.Header{"Authorization": {"Bearer " + tok.AccessToken}}
	status, page = fetch(t, other, "POST", base+"/api/v1/statuses", url.Values{"status": {"Posted by the team"}}, bearer)
	var st struct {
		ID          string `json:"id"`
		Application *struct {
			Name    string  `json:"name"`
			Website *string `json:"website"`
		} `json:"application"`
	}
	if err := json.Unmarshal([]byte(page), &st); status != http.StatusOK || err != nil {
		t.Fatalf("post: %d %v\n%s", status, err, page)
	}
	if st.Application == nil || st.Application.Name != "Tusky" || st.Application.Website == nil || *st.Application.Website != "https://tusky.example" {
		t.Fatalf("status application = %+v, want Tusky https://tusky.example\n%s", st.Application, page)
	}
	status, page = fetch(t, other, "GET", base+"/api/v1/statuses/"+st.ID, nil, nil)
	if status != http.StatusOK || !strings.Contains(page, `"application":{"name":"Tusky","website":"https://tusky.example"}`) {
		t.Fatalf("GET the status: %d, want its application\n%s", status, page)
	}

	// The audit names the member and the app, on the page and in CSV.
	status, page = fetch(t, alice, "GET", base+"/admin/audit", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("audit page: %d\n%s", status, page)
	}
	row := regexp.MustCompile(`<tr><td>[^<]+</td><td>alice@city.example</td><td>Tusky</td><td>@news</td><td>status.create</td><td>` + st.ID + `</td>`)
	if !row.MatchString(page) {
		t.Fatalf("audit page has no row of alice posting %s with Tusky:\n%s", st.ID, page)
	}
	status, csv := fetch(t, alice, "GET", base+"/admin/audit.csv", nil, nil)
	if status != http.StatusOK || !strings.Contains(csv, ",alice@city.example,news,Tusky,status.create,"+st.ID+",") {
		t.Fatalf("audit CSV: %d\n%s", status, csv)
	}

	// A console form without its CSRF token changes nothing.
	status, page = fetch(t, alice, "POST", base+"/admin/logout", url.Values{}, nil)
	if status != http.StatusForbidden {
		t.Fatalf("logout without CSRF token: %d, want 403\n%s", status, page)
	}
	if status, _ := fetch(t, alice, "GET", base+"/admin/audit", nil, nil); status != http.StatusOK {
		t.Fatalf("still signed in after the refused logout: audit page %d", status)
	}
	h.stop()
}
