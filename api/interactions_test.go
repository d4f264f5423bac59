package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/storage"
)

// fakeModeration stands in for the accounts' domain blocks.
type fakeModeration struct {
	blocked map[string][]string // by account
}

func (f *fakeModeration) BlockDomainsFor(ctx context.Context, account string, domains []string) (moderation.AccountBlockResult, error) {
	if f.blocked == nil {
		f.blocked = map[string][]string{}
	}
	for _, d := range domains {
		f.blocked[account] = append(f.blocked[account], strings.ToLower(d))
	}
	return moderation.AccountBlockResult{Domains: domains}, nil
}

func (f *fakeModeration) UnblockDomainFor(ctx context.Context, account, domain string) (bool, error) {
	n := len(f.blocked[account])
	f.blocked[account] = slices.DeleteFunc(f.blocked[account], func(d string) bool { return d == domain })
	return len(f.blocked[account]) < n, nil
}

func (f *fakeModeration) DomainBlocksOf(account string) []string {
	return slices.Sorted(slices.Values(f.blocked[account]))
}

func (f *fakeModeration) BlockedFor(account, host string) bool {
	return slices.Contains(f.blocked[account], host)
}

var _ api.DomainModerator = (*fakeModeration)(nil)

// inbound delivers activity as remote actor i to the bridge's shared inbox.
func (e *env) inbound(t *testing.T, remote *fedtest.Server, i int, activity map[string]any) {
	t.Helper()
	r, err := remote.SignedActivity(i, e.url+"/inbox", activity, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("inbox answered %d to %v", resp.StatusCode, activity["type"])
	}
}

func remoteNote(remote *fedtest.Server, i int, id string, extra map[string]any) map[string]any {
	n := map[string]any{
		"id": remote.ActorID(i) + "/statuses/" + id, "type": "Note", "attributedTo": remote.ActorID(i),
		"content": "<p>hello</p>", "published": time.Now().UTC().Format(time.RFC3339),
		"to": []any{"https://www.w3.org/ns/activitystreams#Public"},
	}
	for k, v := range extra {
		n[k] = v
	}
	return n
}

func types(l []map[string]any) []string {
	var out []string
	for _, n := range l {
		out = append(out, n["type"].(string))
	}
	return out
}

func TestNotificationsAPI(t *testing.T) {
	e := newEnv(t, envOptions{})
	remote := fedtest.StartWith(t, "127.0.0.2:0", 3, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1)})
	tok := e.token(t, "news", "read write")
	id := e.post(t, tok, url.Values{"status": {"Council meeting tonight"}})
	noteIRI := e.fed.Links().Note("news", mustID(t, id))
	newsActor := e.fed.Links().Actor("news")

	e.inbound(t, remote, 0, map[string]any{"type": "Create", "object": remoteNote(remote, 0, "1", map[string]any{
		"content": `<p>@news hi <script>alert(1)</script><a href="javascript:x()">x</a></p>`,
		"tag":     []any{map[string]any{"type": "Mention", "href": newsActor}}})})
	e.inbound(t, remote, 1, map[string]any{"type": "Create", "object": remoteNote(remote, 1, "2", map[string]any{
		"inReplyTo": noteIRI, "content": "<p>spam spam buy now</p>"})})
	e.inbound(t, remote, 2, map[string]any{"id": remote.ActorID(2) + "/likes/1", "type": "Like", "object": noteIRI})
	e.inbound(t, remote, 1, map[string]any{"id": remote.ActorID(1) + "/likes/1", "type": "Like", "object": noteIRI})
	e.inbound(t, remote, 2, map[string]any{"type": "Announce", "object": noteIRI, "to": []any{"https://www.w3.org/ns/activitystreams#Public"}})

	r := e.get(t, "/api/v1/notifications", tok)
	if r.code != 200 {
		t.Fatalf("notifications: %d %s", r.code, r.body)
	}
	list := r.list(t)
	if got := types(list); !slices.Equal(got, []string{"reblog", "favourite", "favourite", "mention", "mention"}) {
		t.Fatalf("types = %v", got)
	}
	mention := list[4]
	acc := mention["account"].(map[string]any)
	st := mention["status"].(map[string]any)
	if acc["id"] != "u0@"+remote.Host() || acc["acct"] != "u0@"+remote.Host() || acc["display_name"] != "Test user 0" || acc["url"] != remote.URL()+"/@u0" {
		t.Errorf("mention account = %v", acc)
	}
	if c := st["content"].(string); strings.Contains(c, "script") || strings.Contains(c, "javascript") || !strings.Contains(c, "@news hi") {
		t.Errorf("mention content = %q", c)
	}
	if st["uri"] != remote.ActorID(0)+"/statuses/1" {
		t.Errorf("mention status uri = %v", st["uri"])
	}
	if fav := list[1]["status"].(map[string]any); fav["id"] != id {
		t.Errorf("favourite's status = %v, want ours %s", fav["id"], id)
	}
	reply := list[3]["status"].(map[string]any)
	if reply["in_reply_to_id"] != id || reply["in_reply_to_account_id"] != "news" {
		t.Errorf("reply = %v", reply)
	}
	sameKeys(t, "notification.account", acc, fixture(t, "account.json"))

	steps := []struct {
		name string
		path string
		want []string
	}{
		{"types", "/api/v1/notifications?types[]=mention", []string{"mention", "mention"}},
		{"exclude types", "/api/v1/notifications?exclude_types[]=mention&exclude_types[]=favourite", []string{"reblog"}},
		{"limit", "/api/v1/notifications?limit=2", []string{"reblog", "favourite"}},
		{"max_id", "/api/v1/notifications?max_id=" + list[1]["id"].(string), []string{"favourite", "mention", "mention"}},
	}
	for _, st := range steps {
		r := e.get(t, st.path, tok)
		if got := types(r.list(t)); !slices.Equal(got, st.want) {
			t.Errorf("%s: %v, want %v", st.name, got, st.want)
		}
	}
	if l := e.get(t, "/api/v1/notifications?limit=2", tok).header.Get("Link"); !strings.Contains(l, "max_id="+list[1]["id"].(string)) {
		t.Errorf("Link = %q", l)
	}

	// The reply is under the post; the remote post and account are known.
	ctxr := e.get(t, "/api/v1/statuses/"+id+"/context", tok).json(t)
	desc := ctxr["descendants"].([]any)
	if len(desc) != 1 || desc[0].(map[string]any)["id"] != reply["id"] {
		t.Errorf("descendants = %v", desc)
	}
	if r := e.get(t, "/api/v1/statuses/"+reply["id"].(string), tok); r.code != 200 || r.json(t)["uri"] != remote.ActorID(1)+"/statuses/2" {
		t.Errorf("GET remote status: %d %s", r.code, r.body)
	}
	if r := e.get(t, "/api/v1/statuses/"+reply["id"].(string)+"/context", tok); r.code != 200 ||
		len(r.json(t)["ancestors"].([]any)) != 1 {
		t.Errorf("remote status context: %d %s", r.code, r.body)
	}
	if r := e.get(t, "/api/v1/statuses/"+reply["id"].(string), ""); r.code != 404 {
		t.Errorf("remote status without a token: %d", r.code)
	}
	if r := e.get(t, "/api/v1/accounts/u1@"+remote.Host(), tok); r.code != 200 || r.json(t)["acct"] != "u1@"+remote.Host() {
		t.Errorf("GET remote account: %d %s", r.code, r.body)
	}

	// Grouped: the two favourites of the post are one group.
	g := e.get(t, "/api/v2/notifications", tok).json(t)
	groups := g["notification_groups"].([]any)
	if len(groups) != 4 {
		t.Fatalf("%d groups: %v", len(groups), groups)
	}
	fav := groups[1].(map[string]any)
	if fav["type"] != "favourite" || fav["notifications_count"] != float64(2) || len(fav["sample_account_ids"].([]any)) != 2 || fav["status_id"] != id {
		t.Errorf("favourite group = %v", fav)
	}
	if n := len(g["accounts"].([]any)); n != 3 {
		t.Errorf("%d accounts in the grouped answer, want 3", n)
	}

	// A keyword filter hides the matching reply, here and in the thread.
	fr := e.jsonBody(t, http.MethodPost, "/api/v2/filters", tok, map[string]any{
		"title": "Spam", "context": []string{"notifications", "thread"}, "filter_action": "hide",
		"keywords_attributes": []map[string]any{{"keyword": "SPAM", "whole_word": true}}})
	if fr.code != 200 {
		t.Fatalf("create filter: %d %s", fr.code, fr.body)
	}
	filter := fr.json(t)
	if got := types(e.get(t, "/api/v1/notifications?types[]=mention", tok).list(t)); len(got) != 1 {
		t.Errorf("with the filter: %v, want one mention", got)
	}
	if d := e.get(t, "/api/v1/statuses/"+id+"/context", tok).json(t)["descendants"].([]any); len(d) != 0 {
		t.Errorf("thread with the filter: %v", d)
	}
	kw := filter["keywords"].([]any)[0].(map[string]any)
	up := e.jsonBody(t, http.MethodPut, "/api/v2/filters/"+filter["id"].(string), tok, map[string]any{
		"keywords_attributes": []map[string]any{{"id": kw["id"], "_destroy": true}, {"keyword": "nothing-matches"}}})
	if up.code != 200 || len(up.json(t)["keywords"].([]any)) != 1 {
		t.Errorf("update filter: %d %s", up.code, up.body)
	}
	if got := types(e.get(t, "/api/v1/notifications?types[]=mention", tok).list(t)); len(got) != 2 {
		t.Errorf("after the filter changed: %v", got)
	}
	if r := e.do(t, request{method: http.MethodDelete, path: "/api/v2/filters/" + filter["id"].(string), token: tok}); r.code != 200 {
		t.Errorf("delete filter: %d", r.code)
	}
	if r := e.jsonBody(t, http.MethodPost, "/api/v2/filters", tok, map[string]any{"title": "x", "context": []string{"nowhere"}}); r.code != 422 {
		t.Errorf("filter with an unknown context: %d", r.code)
	}

	// Mute hides, block hides and sends a Block.
	before := e.jobStats(t).Pending
	mute := e.form(t, http.MethodPost, "/api/v1/accounts/u1@"+remote.Host()+"/mute", tok, nil)
	if mute.code != 200 || mute.json(t)["muting"] != true {
		t.Fatalf("mute: %d %s", mute.code, mute.body)
	}
	block := e.form(t, http.MethodPost, "/api/v1/accounts/u2@"+remote.Host()+"/block", tok, nil)
	if block.code != 200 || block.json(t)["blocking"] != true {
		t.Fatalf("block: %d %s", block.code, block.body)
	}
	if after := e.jobStats(t).Pending; after != before+1 {
		t.Errorf("pending jobs %d -> %d, want the Block queued", before, after)
	}
	if got := types(e.get(t, "/api/v1/notifications", tok).list(t)); !slices.Equal(got, []string{"mention"}) {
		t.Errorf("after mute and block: %v", got)
	}
	if l := e.get(t, "/api/v1/blocks", tok).list(t); len(l) != 1 || l[0]["acct"] != "u2@"+remote.Host() {
		t.Errorf("blocks = %v", l)
	}
	if l := e.get(t, "/api/v1/mutes", tok).list(t); len(l) != 1 || l[0]["acct"] != "u1@"+remote.Host() {
		t.Errorf("mutes = %v", l)
	}
	rels := e.get(t, "/api/v1/accounts/relationships?id[]=u1@"+remote.Host()+"&id[]=u2@"+remote.Host()+"&id[]=news", tok).list(t)
	if len(rels) != 2 || rels[0]["muting"] != true || rels[1]["blocking"] != true {
		t.Errorf("relationships = %v", rels)
	}
	if r := e.form(t, http.MethodPost, "/api/v1/accounts/mayor/block", tok, nil); r.code != 422 {
		t.Errorf("blocking our own account: %d", r.code)
	}
	e.form(t, http.MethodPost, "/api/v1/accounts/u1@"+remote.Host()+"/unmute", tok, nil)
	if r := e.form(t, http.MethodPost, "/api/v1/accounts/u2@"+remote.Host()+"/unblock", tok, nil); r.code != 200 || r.json(t)["blocking"] != false {
		t.Errorf("unblock: %d %s", r.code, r.body)
	}

	// Dismiss, count, clear.
	all := e.get(t, "/api/v1/notifications", tok).list(t)
	if r := e.form(t, http.MethodPost, "/api/v1/notifications/"+all[0]["id"].(string)+"/dismiss", tok, nil); r.code != 200 {
		t.Errorf("dismiss: %d", r.code)
	}
	if r := e.get(t, "/api/v1/notifications/"+all[0]["id"].(string), tok); r.code != 404 {
		t.Errorf("dismissed notification: %d", r.code)
	}
	if c := e.get(t, "/api/v1/notifications/unread_count", tok).json(t)["count"]; c != float64(len(all)-1) {
		t.Errorf("unread_count = %v, want %d", c, len(all)-1)
	}
	if r := e.form(t, http.MethodPost, "/api/v1/notifications/clear", tok, nil); r.code != 200 {
		t.Errorf("clear: %d", r.code)
	}
	if l := e.get(t, "/api/v1/notifications", tok).list(t); len(l) != 0 {
		t.Errorf("after clear: %v", types(l))
	}
	if r := e.get(t, "/api/v1/notifications", e.token(t, "mayor", "read")); r.code != 200 || len(r.list(t)) != 0 {
		t.Errorf("mayor sees news's notifications: %s", r.body)
	}
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	var id int64
	if err := json.Unmarshal([]byte(s), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRaidsAndDomainBlocks(t *testing.T) {
	mod := &fakeModeration{}
	e := newEnv(t, envOptions{moderation: func(storage.Store) api.DomainModerator { return mod }})
	tok := e.token(t, "news", "read write")
	ctx := context.Background()
	id := mustID(t, e.post(t, tok, url.Values{"status": {"Statement"}}))

	if r := e.get(t, "/api/v1/passerelle/raids", tok); r.code != 200 || len(r.list(t)) != 0 {
		t.Fatalf("raids before any: %d %s", r.code, r.body)
	}
	// 30 mentions from 6 accounts on 2 servers within a few minutes.
	now := time.Now().UTC()
	for i := range 30 {
		domain := "evil.example"
		if i%3 == 0 {
			domain = "bad.example"
		}
		actor := "https://" + domain + "/users/troll" + string(rune('a'+i%6))
		if _, _, err := e.store.InsertNotification(ctx, storage.Notification{Account: "news", Type: storage.NotificationMention,
			ActivityID: actor + "/notes/" + string(rune('a'+i)), ActorID: actor, ActorDomain: domain, StatusID: id,
			GroupKey: "g", CreatedAt: now.Add(-time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	raids := e.get(t, "/api/v1/passerelle/raids", tok).list(t)
	if len(raids) == 0 {
		t.Fatal("no raid found")
	}
	total := 0.0
	for _, rd := range raids {
		total += rd["mentions"].(float64)
	}
	rd := raids[0]
	if total != 30 || rd["ongoing"] != true || !strings.Contains(rd["summary"].(string), "mentions from") ||
		!strings.Contains(rd["summary"].(string), "servers in") {
		t.Errorf("raids = %v", raids)
	}
	t.Logf("raid summary: %s", rd["summary"])
	if r := e.get(t, "/api/v1/passerelle/raids", e.token(t, "mayor", "read")); len(r.list(t)) != 0 {
		t.Errorf("mayor's raids: %s", r.body)
	}

	// One call blocks the servers involved (here: only those named).
	r := e.form(t, http.MethodPost, "/api/v1/passerelle/raids/"+rd["id"].(string)+"/block", tok, url.Values{"domains[]": {"evil.example"}})
	if r.code != 200 {
		t.Fatalf("block raid: %d %s", r.code, r.body)
	}
	if !slices.Equal(mod.blocked["news"], []string{"evil.example"}) || len(mod.blocked["mayor"]) != 0 {
		t.Errorf("blocked %v", mod.blocked)
	}
	res := r.json(t)
	if res["notifications_dismissed"].(float64) == 0 {
		t.Errorf("block raid answer = %v", res)
	}
	for _, n := range e.get(t, "/api/v1/notifications?limit=40", tok).list(t) {
		if a := n["account"].(map[string]any); strings.HasSuffix(a["acct"].(string), "@evil.example") {
			t.Errorf("notification from a blocked server still listed: %v", a["acct"])
		}
	}
	if r := e.form(t, http.MethodPost, "/api/v1/passerelle/raids/1-2/block", tok, nil); r.code != 404 {
		t.Errorf("block of an unknown raid: %d", r.code)
	}

	// Domain blocks through Mastodon's API.
	if r := e.form(t, http.MethodPost, "/api/v1/domain_blocks", tok, url.Values{"domain": {"spam.example"}}); r.code != 200 {
		t.Errorf("POST domain_blocks: %d %s", r.code, r.body)
	}
	var doms []string
	_ = json.Unmarshal(e.get(t, "/api/v1/domain_blocks", tok).body, &doms)
	if !slices.Equal(doms, []string{"evil.example", "spam.example"}) {
		t.Errorf("domain_blocks = %v", doms)
	}
	if r := e.form(t, http.MethodDelete, "/api/v1/domain_blocks", tok, url.Values{"domain": {"spam.example"}}); r.code != 200 || slices.Contains(mod.blocked["news"], "spam.example") {
		t.Errorf("DELETE domain_blocks: %d, blocked %v", r.code, mod.blocked)
	}
	if r := e.form(t, http.MethodPost, "/api/v1/domain_blocks", tok, url.Values{"domain": {e.host}}); r.code != 422 {
		t.Errorf("blocking our own domain: %d", r.code)
	}
	if r := e.form(t, http.MethodPost, "/api/v1/domain_blocks", e.token(t, "news", "read"), url.Values{"domain": {"x.example"}}); r.code != 403 {
		t.Errorf("domain block with a read token: %d", r.code)
	}
}

func TestStatusInteractionPolicy(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "read write")
	ctx := context.Background()
	tests := []struct {
		name        string
		form        url.Values
		json        map[string]any
		wantReplies string
		wantQuotes  string
		wantCode    int
	}{
		{name: "GoToSocial form, author only", form: url.Values{"status": {"a"}, "interaction_policy[can_reply][always][0]": {"author"}},
			wantReplies: "nobody", wantCode: 200},
		{name: "GoToSocial JSON, followers", json: map[string]any{"status": "b", "interaction_policy": map[string]any{
			"can_reply": map[string]any{"automatic_approval": []string{"author", "followers"}}, "can_quote": map[string]any{"always": []string{"author"}}}},
			wantReplies: "followers", wantQuotes: "disallow", wantCode: 200},
		{name: "Mastodon quote_approval_policy", form: url.Values{"status": {"c"}, "quote_approval_policy": {"followers"}},
			wantQuotes: "followers", wantCode: 200},
		{name: "no policy: the account's", form: url.Values{"status": {"d"}}, wantCode: 200},
		{name: "unknown value", form: url.Values{"status": {"e"}, "interaction_policy[can_reply][always][]": {"https://evil.example/users/x"}}, wantCode: 422},
		{name: "unknown quote policy", form: url.Values{"status": {"f"}, "quote_approval_policy": {"everyone"}}, wantCode: 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r response
			if tt.json != nil {
				r = e.jsonBody(t, http.MethodPost, "/api/v1/statuses", tok, tt.json)
			} else {
				r = e.form(t, http.MethodPost, "/api/v1/statuses", tok, tt.form)
			}
			if r.code != tt.wantCode {
				t.Fatalf("%d %s, want %d", r.code, r.body, tt.wantCode)
			}
			if r.code != 200 {
				return
			}
			id := mustID(t, r.json(t)["id"].(string))
			p, err := e.store.GetStatusPolicy(ctx, id)
			if tt.wantReplies == "" && tt.wantQuotes == "" {
				if err == nil {
					t.Errorf("a post without a policy has one: %+v", p)
				}
				return
			}
			if err != nil || p.Replies != tt.wantReplies || p.Quotes != tt.wantQuotes {
				t.Errorf("policy = %+v, %v; want %q %q", p, err, tt.wantReplies, tt.wantQuotes)
			}
		})
	}
}
