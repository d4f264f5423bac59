package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/storage"
)

// fakeTeam is the console as /oauth/authorize sees it: the member whose
// id the request's X-Test-Member header names is signed in.
type fakeTeam struct {
	members map[string]struct {
		id       int64
		email    string
		accounts []string
	}
}

func (f fakeTeam) Member(r *http.Request) (int64, string, []string, bool) {
	m, ok := f.members[r.Header.Get("X-Test-Member")]
	return m.id, m.email, m.accounts, ok
}

func (f fakeTeam) LoginURL(next string) string { return "/admin/login?next=" + url.QueryEscape(next) }

func TestTeamAuthorize(t *testing.T) {
	ctx := context.Background()
	team := fakeTeam{members: map[string]struct {
		id       int64
		email    string
		accounts []string
	}{}}
	e := newEnv(t, envOptions{team: team})
	alice, err := e.store.InsertTeamMember(ctx, storage.TeamMember{Email: "alice@city.example", PasswordHash: "x", TOTPSecret: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetTeamRole(ctx, alice, "news", storage.RoleEditor); err != nil {
		t.Fatal(err)
	}
	team.members["alice"] = struct {
		id       int64
		email    string
		accounts []string
	}{alice, "alice@city.example", []string{"news", "gone"}} // "gone" is not one of our accounts
	clientID, secret := e.app(t, "https://app.example/cb", "read write")
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"https://app.example/cb"},
		"scope": {"read write"}, "state": {"s1"}}

	// Signed out: a link to the team login that comes back here.
	r, csrf := e.authorizePage(t, q)
	if !strings.Contains(string(r.body), `href="/admin/login?next=%2Foauth%2Fauthorize%3F`) {
		t.Fatalf("signed-out page lacks the team login link:\n%s", r.body)
	}
	// Signed in: the member's accounts only.
	r = e.do(t, request{method: http.MethodGet, path: "/oauth/authorize?" + q.Encode(), header: map[string]string{"X-Test-Member": "alice"}})
	page := string(r.body)
	if !strings.Contains(page, "Signed in as <strong>alice@city.example</strong>") || !strings.Contains(page, `<option value="news">`) ||
		strings.Contains(page, `<option value="gone">`) {
		t.Fatalf("signed-in page:\n%s", page)
	}

	submit := func(member, account string) response {
		f := url.Values{}
		for k, v := range q {
			f[k] = v
		}
		f.Set("csrf", csrf)
		f.Set("login", "team")
		f.Set("account", account)
		h := map[string]string{"Cookie": "passerelle_oauth_csrf=" + csrf}
		if member != "" {
			h["X-Test-Member"] = member
		}
		return e.do(t, request{method: http.MethodPost, path: "/oauth/authorize", contentType: "application/x-www-form-urlencoded",
			body: []byte(f.Encode()), header: h})
	}
	for _, c := range []struct {
		name, member, account string
		want                  int
	}{
		{"signed out", "", "news", http.StatusForbidden},
		{"not a member of the account", "alice", "mayor", http.StatusForbidden},
		{"a member's account no longer configured", "alice", "gone", http.StatusForbidden},
	} {
		if r := submit(c.member, c.account); r.code != c.want || r.header.Get("Location") != "" {
			t.Errorf("%s: %d (Location %q), want %d and no code", c.name, r.code, r.header.Get("Location"), c.want)
		}
	}
	r = submit("alice", "news")
	if r.code != http.StatusFound {
		t.Fatalf("member authorizes news: %d\n%s", r.code, r.body)
	}
	loc, _ := url.Parse(r.header.Get("Location"))
	tr := e.exchange(t, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {"https://app.example/cb"}, "client_id": {clientID}, "client_secret": {secret}})
	if tr.code != http.StatusOK {
		t.Fatalf("token: %d %s", tr.code, tr.body)
	}
	tok := tr.json(t)["access_token"].(string)
	row, err := e.store.GetTokenByHash(ctx, api.HashSecret(tok))
	if err != nil || row.MemberID != alice || row.Account != "news" {
		t.Fatalf("token row = %+v, %v; want member %d on news", row, err, alice)
	}

	// Posting: the status shows its app; the audit names the member.
	id := e.post(t, tok, url.Values{"status": {"From the team"}})
	st := e.get(t, "/api/v1/statuses/"+id, "").json(t)
	app, _ := st["application"].(map[string]any)
	if app["name"] != "Test App" || app["website"] != "https://app.example" || len(app) != 2 {
		t.Fatalf("application = %v, want Test App https://app.example", st["application"])
	}
	cli := e.post(t, e.token(t, "news", "write"), url.Values{"status": {"From the CLI"}})
	if st := e.get(t, "/api/v1/statuses/"+cli, "").json(t); st["application"] != nil {
		t.Fatalf("a CLI token's status application = %v, want null", st["application"])
	}
	if r := e.form(t, http.MethodDelete, "/api/v1/statuses/"+id, tok, nil); r.code != http.StatusOK {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	list, err := e.store.ListAudit(ctx, storage.AuditQuery{Accounts: []string{"news"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range list {
		got = append(got, a.Action+" "+a.Target+" "+a.Actor+" "+a.App)
	}
	want := []string{
		"status.delete " + id + " alice@city.example Test App",
		"status.create " + cli + " token test ",
		"status.create " + id + " alice@city.example Test App",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A refused request is not in the audit.
	if r := e.form(t, http.MethodDelete, "/api/v1/statuses/"+id, tok, nil); r.code != http.StatusNotFound {
		t.Fatalf("delete again: %d", r.code)
	}
	if again, _ := e.store.ListAudit(ctx, storage.AuditQuery{Accounts: []string{"news"}}); len(again) != len(list) {
		t.Fatalf("a refused delete was audited: %d entries, want %d", len(again), len(list))
	}
}

// TestMemberTokenRoles: a member's token acts with the member's role of
// the moment: a contributor cannot publish yet (no approval), a member
// taken off the account's team loses the token.
func TestMemberTokenRoles(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	member := func(email, role string) (int64, string) {
		id, err := e.store.InsertTeamMember(ctx, storage.TeamMember{Email: email, PasswordHash: "x", TOTPSecret: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if role != "" {
			if err := e.store.SetTeamRole(ctx, id, "news", role); err != nil {
				t.Fatal(err)
			}
		}
		tok := "tok-" + email
		if _, err := e.store.InsertToken(ctx, storage.Token{Hash: api.HashSecret(tok), Account: "news", Name: "t", Scopes: "read write", MemberID: id}); err != nil {
			t.Fatal(err)
		}
		return id, tok
	}
	_, editor := member("editor@x.example", storage.RoleEditor)
	_, contributor := member("contributor@x.example", storage.RoleContributor)
	_, outsider := member("outsider@x.example", "")
	for _, c := range []struct {
		name, token string
		want        int
	}{
		{"editor posts", editor, http.StatusOK},
		{"contributor drafts", contributor, http.StatusAccepted},
		{"member without a role on the account", outsider, http.StatusUnauthorized},
	} {
		r := e.form(t, http.MethodPost, "/api/v1/statuses", c.token, url.Values{"status": {c.name}})
		if r.code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, r.code, r.body, c.want)
		}
	}
	// A contributor still reads.
	if r := e.get(t, "/api/v1/accounts/verify_credentials", contributor); r.code != http.StatusOK {
		t.Errorf("contributor verify_credentials: %d", r.code)
	}
	list, err := e.store.ListAudit(ctx, storage.AuditQuery{Accounts: []string{"news"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Action != "draft.create" || list[0].Actor != "contributor@x.example" ||
		list[1].Action != "status.create" || list[1].Actor != "editor@x.example" {
		t.Fatalf("audit = %+v", list)
	}
	// The contributor's post is a draft waiting for approval, not a status.
	drafts, err := e.store.ListTeamDrafts(ctx, storage.TeamDraftQuery{Accounts: []string{"news"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(drafts) != 1 || drafts[0].Text != "contributor drafts" || drafts[0].State != storage.DraftPending || drafts[0].Email != "contributor@x.example" {
		t.Fatalf("drafts = %+v", drafts)
	}
	if n, _ := e.store.CountStatuses(ctx, "news", nil); n != 1 {
		t.Fatalf("%d statuses, want the editor's only", n)
	}
	// A bad draft is refused as a post would be; a contributor still
	// cannot edit or delete.
	if r := e.form(t, http.MethodPost, "/api/v1/statuses", contributor, url.Values{"status": {""}}); r.code != http.StatusUnprocessableEntity {
		t.Errorf("empty draft: %d %s", r.code, r.body)
	}
	if r := e.form(t, http.MethodDelete, "/api/v1/statuses/1", contributor, nil); r.code != http.StatusForbidden {
		t.Errorf("contributor delete: %d %s", r.code, r.body)
	}
}
