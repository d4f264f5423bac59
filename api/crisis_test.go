package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/storage"
)

// TestCrisisEndpoint: GET and POST /api/v1/passerelle/crisis act on the
// calling account alone; turning it on needs write:accounts and is
// refused to a contributor; on closes the Note served for a recent post
// to replies and quotes (only the author), off opens it again.
func TestCrisisEndpoint(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	news := e.token(t, "news", "read write")
	mayor := e.token(t, "mayor", "read write")
	readOnly := e.token(t, "news", "read")
	memberID, err := e.store.InsertTeamMember(ctx, storage.TeamMember{Email: "contributor@x.example", PasswordHash: "x", TOTPSecret: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetTeamRole(ctx, memberID, "news", storage.RoleContributor); err != nil {
		t.Fatal(err)
	}
	contributor := "tok-contributor"
	if _, err := e.store.InsertToken(ctx, storage.Token{Hash: api.HashSecret(contributor), Account: "news", Name: "t", Scopes: "read write", MemberID: memberID}); err != nil {
		t.Fatal(err)
	}
	id := e.post(t, news, url.Values{"status": {"The river is rising."}})
	noteCanReply := func() string {
		t.Helper()
		r := e.do(t, request{method: http.MethodGet, path: "/users/news/statuses/" + id, header: map[string]string{"Accept": "application/activity+json"}})
		var n struct {
			InteractionPolicy struct {
				CanReply struct {
					AutomaticApproval []string `json:"automaticApproval"`
				} `json:"canReply"`
				CanQuote struct {
					AutomaticApproval []string `json:"automaticApproval"`
				} `json:"canQuote"`
			} `json:"interactionPolicy"`
		}
		if err := json.Unmarshal(r.body, &n); err != nil {
			t.Fatalf("the Note: %v\n%s", err, r.body)
		}
		return strings.Join(n.InteractionPolicy.CanReply.AutomaticApproval, " ") + " | " + strings.Join(n.InteractionPolicy.CanQuote.AutomaticApproval, " ")
	}
	author := e.url + "/users/news"
	public := "https://www.w3.org/ns/activitystreams#Public"
	open := noteCanReply()

	steps := []struct {
		name     string
		method   string
		token    string
		form     url.Values
		wantCode int
		want     []string // in the body
		wantNote string   // the Note's canReply | canQuote after the step ("" : not checked)
	}{
		{"off when off", http.MethodPost, news, url.Values{"mode": {"off"}}, http.StatusOK, []string{`"active":false`, `"changed":0`, "was not on"}, open},
		{"read-only token", http.MethodPost, readOnly, url.Values{"mode": {"on"}}, http.StatusForbidden, nil, open},
		{"contributor", http.MethodPost, contributor, url.Values{"mode": {"on"}}, http.StatusForbidden, nil, open},
		{"bad mode", http.MethodPost, news, url.Values{"mode": {"maybe"}}, http.StatusUnprocessableEntity, []string{"mode must be on or off"}, open},
		{"too many posts", http.MethodPost, news, url.Values{"mode": {"on"}, "posts": {"201"}}, http.StatusUnprocessableEntity, []string{"between 1 and 200"}, open},
		{"on", http.MethodPost, news, url.Values{"mode": {"on"}, "posts": {"5"}}, http.StatusOK,
			[]string{`"active":true`, `"recent_posts":5`, `"closed_posts":1`, `"changed":1`}, author + " | " + author},
		{"on again", http.MethodPost, news, url.Values{"mode": {"on"}}, http.StatusOK, []string{`"active":true`, `"changed":0`, "already on"}, author + " | " + author},
		{"status", http.MethodGet, readOnly, nil, http.StatusOK, []string{`"active":true`, `"closed_posts":1`}, ""},
		{"another account's is off", http.MethodGet, mayor, nil, http.StatusOK, []string{`"active":false`}, ""},
		{"another account's off changes nothing here", http.MethodPost, mayor, url.Values{"mode": {"off"}}, http.StatusOK, []string{"was not on"}, author + " | " + author},
		{"off", http.MethodPost, news, url.Values{"mode": {"off"}}, http.StatusOK, []string{`"active":false`, `"changed":1`}, open},
		{"status off", http.MethodGet, news, nil, http.StatusOK, []string{`"active":false`, `"since":null`}, ""},
	}
	for _, st := range steps {
		var r response
		if st.method == http.MethodGet {
			r = e.get(t, "/api/v1/passerelle/crisis", st.token)
		} else {
			r = e.form(t, st.method, "/api/v1/passerelle/crisis", st.token, st.form)
		}
		if r.code != st.wantCode {
			t.Errorf("%s: %d %s, want %d", st.name, r.code, r.body, st.wantCode)
		}
		for _, w := range st.want {
			if !strings.Contains(string(r.body), w) {
				t.Errorf("%s: %s lacks %s", st.name, r.body, w)
			}
		}
		if st.wantNote != "" {
			if got := noteCanReply(); got != st.wantNote {
				t.Errorf("%s: the Note's canReply | canQuote: %q, want %q", st.name, got, st.wantNote)
			}
		}
	}
	if !strings.Contains(open, public) {
		t.Errorf("before crisis mode the Note is not open: %q", open)
	}
	list, err := e.store.ListAudit(ctx, storage.AuditQuery{Accounts: []string{"news"}})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range list {
		actions = append(actions, a.Action+" "+a.Target)
	}
	if got := strings.Join(actions, ","); !strings.Contains(got, "crisis.set crisis on") || !strings.Contains(got, "crisis.set crisis off") {
		t.Errorf("audit: %s; want crisis on and off", got)
	}
}
