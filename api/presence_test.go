package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

const bob = "https://remote.example/users/bob"

// knowBob stores a remote actor (reachable: its inbox is known) and its
// profile, and returns a public post of it.
func (e *env) knowRemote(t *testing.T, actor, acct string) storage.RemoteStatus {
	t.Helper()
	ctx := context.Background()
	if err := e.store.UpsertRemoteActor(ctx, storage.RemoteActor{ID: actor, Inbox: actor + "/inbox", SharedInbox: "https://remote.example/inbox",
		PreferredUsername: strings.Split(acct, "@")[0], FetchedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.UpsertRemoteProfile(ctx, storage.RemoteProfile{ActorID: actor, Acct: acct, Domain: "remote.example",
		DisplayName: "Bob", URL: actor, Summary: "<p>River authority</p>", UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return e.remotePost(t, actor, actor+"/statuses/1", "", storage.VisibilityPublic)
}

// remotePost stores a remote post.
func (e *env) remotePost(t *testing.T, actor, noteID, inReplyTo, visibility string) storage.RemoteStatus {
	t.Helper()
	rs, _, err := e.store.InsertRemoteStatus(context.Background(), storage.RemoteStatus{
		ID: time.Now().UnixMilli()<<16 + int64(len(noteID)*131+len(inReplyTo)), NoteID: noteID, ActorID: actor, URL: noteID,
		ContentHTML: "<p>Flood warning " + noteID + "</p>", Visibility: visibility, InReplyToURI: inReplyTo, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // ids are time-ordered
	return rs
}

func ids(list []map[string]any) []string {
	var out []string
	for _, m := range list {
		out = append(out, fmt.Sprint(m["id"]))
	}
	return out
}

// TestSearchRefusesPrivateAddresses: IP literals and local names are
// refused (422) before any request; nothing is fetched.
func TestSearchRefusesPrivateAddresses(t *testing.T) {
	e := newEnv(t, envOptions{strictNetwork: true})
	tok := e.token(t, "news", "read write")
	for _, q := range []string{
		"https://10.0.0.1/users/a", "http://127.0.0.1:8080/notes/1", "https://[::1]/notes/1", "https://8.8.8.8/notes/1",
		"https://localhost/notes/1", "https://printer.local/@a/1", "@a@192.168.1.2", "a@10.0.0.1:3000", "@a@localhost",
	} {
		t.Run(q, func(t *testing.T) {
			r := e.get(t, "/api/v2/search?resolve=true&q="+url.QueryEscape(q), tok)
			if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.errorText(t), "cannot be searched") {
				t.Errorf("%d %s, want 422 with a clear error", r.code, r.body)
			}
		})
	}
	if n := e.requests.Load(); n != 0 {
		t.Errorf("%d requests were made", n)
	}
}

// TestSearch: our accounts by words or acct, our posts and the remote
// posts and accounts we hold by URL or acct (without resolve nothing is
// fetched); what the account blocked or muted is left out.
func TestSearch(t *testing.T) {
	e := newEnv(t, envOptions{strictNetwork: true})
	ctx := context.Background()
	tok := e.token(t, "news", "read write")
	rs := e.knowRemote(t, bob, "bob@remote.example")
	carol := "https://remote.example/users/carol"
	carolPost := e.knowRemote(t, carol, "carol@remote.example")
	own := mustID(t, e.post(t, tok, url.Values{"status": {"Road works"}}))
	search := func(q string, extra ...string) map[string]any {
		t.Helper()
		r := e.get(t, "/api/v2/search?q="+url.QueryEscape(q)+strings.Join(extra, ""), tok)
		if r.code != http.StatusOK {
			t.Fatalf("search %q: %d %s", q, r.code, r.body)
		}
		return r.json(t)
	}
	accts := func(m map[string]any) []string {
		var out []string
		for _, a := range m["accounts"].([]any) {
			out = append(out, a.(map[string]any)["acct"].(string))
		}
		return out
	}
	statusIDs := func(m map[string]any) []string {
		var out []string
		for _, s := range m["statuses"].([]any) {
			out = append(out, s.(map[string]any)["id"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		name, q       string
		extra         string
		accounts      []string
		statuses      []string
		hashtagsEmpty bool
	}{
		{"words: display name", "ville", "", []string{"news"}, nil, true},
		{"words: username", "MAY", "", []string{"mayor"}, nil, true},
		{"our acct", "@mayor@" + e.host, "", []string{"mayor"}, nil, true},
		{"our post by URL", e.url + "/users/news/statuses/" + fmt.Sprint(own), "", nil, []string{fmt.Sprint(own)}, true},
		{"our profile URL", e.url + "/@news", "", []string{"news"}, nil, true},
		{"our post's permalink", e.url + "/@news/" + fmt.Sprint(own), "", nil, []string{fmt.Sprint(own)}, true},
		{"a remote acct we hold", "bob@remote.example", "", []string{"bob@remote.example"}, nil, true},
		{"a remote post we hold", rs.NoteID, "", nil, []string{fmt.Sprint(rs.ID)}, true},
		{"a remote actor we hold", bob, "", []string{"bob@remote.example"}, nil, true},
		{"type=statuses", rs.NoteID, "&type=statuses", nil, []string{fmt.Sprint(rs.ID)}, true},
		{"type=accounts", rs.NoteID, "&type=accounts", nil, nil, true},
		{"unknown without resolve: nothing fetched", "https://elsewhere.example/notes/1", "", nil, nil, true},
		{"unknown acct without resolve", "ann@elsewhere.example", "", nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := search(tc.q, tc.extra)
			if got := accts(m); !slices.Equal(got, tc.accounts) {
				t.Errorf("accounts %v, want %v", got, tc.accounts)
			}
			if got := statusIDs(m); !slices.Equal(got, tc.statuses) {
				t.Errorf("statuses %v, want %v", got, tc.statuses)
			}
			if h, ok := m["hashtags"].([]any); !ok || len(h) != 0 {
				t.Errorf("hashtags %v, want []", m["hashtags"])
			}
		})
	}
	// Blocked and muted accounts are left out, with their posts.
	if _, err := e.store.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: bob, Kind: storage.BlockKindBlock}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: carol, Kind: storage.BlockKindMute}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"bob@remote.example", bob, rs.NoteID, "carol@remote.example", carolPost.NoteID} {
		if m := search(q); len(accts(m)) != 0 || len(statusIDs(m)) != 0 {
			t.Errorf("search %q after the block and mute: %v", q, m)
		}
	}
	// mayor blocked no one.
	mayorTok := e.token(t, "mayor", "read")
	if r := e.get(t, "/api/v2/search?q="+url.QueryEscape(rs.NoteID), mayorTok); len(r.json(t)["statuses"].([]any)) != 1 {
		t.Errorf("mayor's search: %s", r.body)
	}
	if n := e.requests.Load(); n != 0 {
		t.Errorf("%d requests were made without resolve", n)
	}
}

// TestBoostAndFavourite: on our own post and on a remote one; the flags,
// counts, the boost in the account's statuses and its own id, the Undo,
// and the refusals (422, 404); every change queues its activity.
func TestBoostAndFavourite(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "read write")
	mayorTok := e.token(t, "mayor", "read write")
	own := mustID(t, e.post(t, tok, url.Values{"status": {"Road works"}}))
	private := mustID(t, e.post(t, tok, url.Values{"status": {"Followers only"}, "visibility": {"private"}}))
	rs := e.knowRemote(t, bob, "bob@remote.example")
	path := func(id any, action string) string {
		if action == "" {
			return fmt.Sprintf("/api/v1/statuses/%v", id)
		}
		return fmt.Sprintf("/api/v1/statuses/%v/%s", id, action)
	}

	jobs := func() int64 { return e.jobStats(t).Pending }
	before := jobs()
	r := e.form(t, http.MethodPost, path(rs.ID, "reblog"), tok, nil)
	if r.code != http.StatusOK {
		t.Fatalf("reblog: %d %s", r.code, r.body)
	}
	boost := r.json(t)
	inner, _ := boost["reblog"].(map[string]any)
	if inner == nil || inner["id"] != fmt.Sprint(rs.ID) || boost["reblogged"] != true || inner["reblogged"] != true || boost["account"].(map[string]any)["id"] != "news" {
		t.Fatalf("reblog answer = %v", boost)
	}
	if jobs() != before+1 {
		t.Errorf("reblog queued %d jobs, want 1 (the Announce's fan-out)", jobs()-before)
	}
	// Again: nothing new.
	if r := e.form(t, http.MethodPost, path(rs.ID, "reblog"), tok, nil); r.code != 200 || r.json(t)["id"] != boost["id"] || jobs() != before+1 {
		t.Errorf("second reblog: %d %s (%d jobs)", r.code, r.body, jobs()-before)
	}
	// The boost by its own id, and among the account's statuses (first).
	if r := e.get(t, path(boost["id"], ""), tok); r.code != 200 || r.json(t)["reblog"].(map[string]any)["id"] != fmt.Sprint(rs.ID) {
		t.Errorf("GET the boost: %d %s", r.code, r.body)
	}
	list := e.get(t, "/api/v1/accounts/news/statuses", "").list(t)
	if got := ids(list); len(got) != 2 || got[0] != boost["id"] || got[1] != fmt.Sprint(own) {
		t.Errorf("news' statuses (anonymous) = %v, want the boost then the public post", got)
	}
	if got := ids(e.get(t, "/api/v1/accounts/news/statuses?exclude_reblogs=true", tok).list(t)); slices.Contains(got, boost["id"].(string)) {
		t.Errorf("exclude_reblogs: %v", got)
	}
	// Favourite the remote post: flags on the post.
	if r := e.form(t, http.MethodPost, path(rs.ID, "favourite"), tok, nil); r.code != 200 || r.json(t)["favourited"] != true || r.json(t)["favourites_count"] != float64(1) {
		t.Errorf("favourite: %d %s", r.code, r.body)
	}
	st := e.get(t, path(rs.ID, ""), tok).json(t)
	if st["favourited"] != true || st["reblogged"] != true {
		t.Errorf("the remote post: favourited %v reblogged %v", st["favourited"], st["reblogged"])
	}
	// Another account sees its own flags.
	if st := e.get(t, path(rs.ID, ""), mayorTok).json(t); st["favourited"] != false || st["reblogged"] != false {
		t.Errorf("mayor sees favourited %v reblogged %v", st["favourited"], st["reblogged"])
	}
	before = jobs()
	for _, a := range []string{"unreblog", "unfavourite"} {
		if r := e.form(t, http.MethodPost, path(rs.ID, a), tok, nil); r.code != 200 {
			t.Errorf("%s: %d %s", a, r.code, r.body)
		}
	}
	if jobs() != before+2 {
		t.Errorf("undos queued %d jobs, want 2", jobs()-before)
	}
	if st := e.get(t, path(rs.ID, ""), tok).json(t); st["favourited"] != false || st["reblogged"] != false {
		t.Errorf("after the undos: favourited %v reblogged %v", st["favourited"], st["reblogged"])
	}
	if r := e.get(t, path(boost["id"], ""), tok); r.code != 404 {
		t.Errorf("GET the undone boost: %d", r.code)
	}
	// Undo of nothing: no error, nothing queued.
	before = jobs()
	if r := e.form(t, http.MethodPost, path(rs.ID, "unreblog"), tok, nil); r.code != 200 || jobs() != before {
		t.Errorf("unreblog of nothing: %d (%d jobs)", r.code, jobs()-before)
	}

	// Our own post: its counts include our boost and favourite.
	e.form(t, http.MethodPost, path(own, "reblog"), tok, nil)
	e.form(t, http.MethodPost, path(own, "favourite"), mayorTok, nil)
	st = e.get(t, path(own, ""), tok).json(t)
	if st["reblogs_count"] != float64(1) || st["favourites_count"] != float64(1) || st["reblogged"] != true || st["favourited"] != false {
		t.Errorf("own post after news' boost and mayor's favourite: %v", st)
	}

	for _, tc := range []struct {
		name, path, token string
		code              int
		msg               string
	}{
		{"boost of a followers-only post", path(private, "reblog"), tok, 422, "cannot be boosted"},
		{"another account's followers-only post", path(private, "favourite"), mayorTok, 404, "Record not found"},
		{"a post we do not hold", path(123456789, "favourite"), tok, 404, "Record not found"},
		{"not an id", path("abc", "reblog"), tok, 404, "Record not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := jobs()
			r := e.form(t, http.MethodPost, tc.path, tc.token, nil)
			if r.code != tc.code || !strings.Contains(r.errorText(t), tc.msg) || jobs() != before {
				t.Errorf("%d %s (%d jobs), want %d %q and nothing queued", r.code, r.body, jobs()-before, tc.code, tc.msg)
			}
		})
	}
}

// TestReactorsAndHistory: favourited_by and reblogged_by from what was
// received (blocked actors left out, paged), and the versions of an
// edited post.
func TestReactorsAndHistory(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	tok := e.token(t, "news", "read write")
	id := mustID(t, e.post(t, tok, url.Values{"status": {"First version"}}))
	e.knowRemote(t, bob, "bob@remote.example")
	for i, n := range []struct{ typ, actor string }{
		{storage.NotificationFavourite, bob},
		{storage.NotificationFavourite, "https://remote.example/users/carol"},
		{storage.NotificationFavourite, "https://remote.example/users/troll"},
		{storage.NotificationReblog, bob},
	} {
		if _, _, err := e.store.InsertNotification(ctx, storage.Notification{Account: "news", Type: n.typ,
			ActivityID: fmt.Sprintf("https://remote.example/a/%d", i), ActorID: n.actor, ActorDomain: "remote.example",
			StatusID: id, GroupKey: "g", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: "https://remote.example/users/troll", Kind: storage.BlockKindBlock}); err != nil {
		t.Fatal(err)
	}
	uris := func(list []map[string]any) []string {
		var out []string
		for _, a := range list {
			out = append(out, a["uri"].(string))
		}
		return out
	}
	favs := e.get(t, fmt.Sprintf("/api/v1/statuses/%d/favourited_by", id), "")
	if got := uris(favs.list(t)); !slices.Equal(got, []string{"https://remote.example/users/carol", bob}) {
		t.Errorf("favourited_by = %v", got)
	}
	page := e.get(t, fmt.Sprintf("/api/v1/statuses/%d/favourited_by?limit=1", id), tok)
	link := page.header.Get("Link")
	if len(page.list(t)) != 1 || !strings.Contains(link, `rel="next"`) {
		t.Fatalf("limit=1: %s, Link %q", page.body, link)
	}
	next := strings.TrimPrefix(link[:strings.Index(link, ">")], "<"+e.url)
	if got := uris(e.get(t, next, tok).list(t)); !slices.Equal(got, []string{bob}) {
		t.Errorf("next page = %v", got)
	}
	if got := uris(e.get(t, fmt.Sprintf("/api/v1/statuses/%d/reblogged_by", id), tok).list(t)); !slices.Equal(got, []string{bob}) {
		t.Errorf("reblogged_by = %v", got)
	}
	if r := e.get(t, "/api/v1/statuses/123456789/favourited_by", tok); r.code != 404 {
		t.Errorf("favourited_by of a post we do not hold: %d", r.code)
	}

	// History: one version, then three after two edits.
	hist := func() []map[string]any { return e.get(t, fmt.Sprintf("/api/v1/statuses/%d/history", id), tok).list(t) }
	if h := hist(); len(h) != 1 || !strings.Contains(h[0]["content"].(string), "First version") {
		t.Errorf("history before any edit = %v", h)
	}
	for _, text := range []string{"Second version", "Third version"} {
		if r := e.form(t, http.MethodPut, fmt.Sprintf("/api/v1/statuses/%d", id), tok, url.Values{"status": {text}}); r.code != 200 {
			t.Fatalf("edit: %d %s", r.code, r.body)
		}
	}
	h := hist()
	var contents []string
	for _, v := range h {
		contents = append(contents, v["content"].(string))
		if v["account"].(map[string]any)["id"] != "news" {
			t.Errorf("a version's account: %v", v["account"])
		}
	}
	if len(h) != 3 || !strings.Contains(contents[0], "First") || !strings.Contains(contents[1], "Second") || !strings.Contains(contents[2], "Third") ||
		h[0]["created_at"].(string) > h[1]["created_at"].(string) || h[1]["created_at"].(string) > h[2]["created_at"].(string) {
		t.Errorf("history = %v", h)
	}
}

// TestRepliesAndThreadsAcrossServers: our answer to a remote post (its
// author mentioned and named), the thread around it both ways, a remote
// account's posts, a direct remote post seen only by the account it was
// sent to, and a reply to a blocked account refused.
func TestRepliesAndThreadsAcrossServers(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	tok := e.token(t, "news", "read write")
	mayorTok := e.token(t, "mayor", "read write")
	root := e.knowRemote(t, bob, "bob@remote.example")
	theirReply := e.remotePost(t, bob, bob+"/statuses/2", root.NoteID, storage.VisibilityPublic)

	before := e.jobStats(t).Pending
	r := e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"Thanks, shared."}, "in_reply_to_id": {fmt.Sprint(root.ID)}})
	if r.code != http.StatusOK {
		t.Fatalf("reply: %d %s", r.code, r.body)
	}
	reply := r.json(t)
	if reply["in_reply_to_id"] != fmt.Sprint(root.ID) || reply["in_reply_to_account_id"] != "bob@remote.example" {
		t.Errorf("reply: in_reply_to_id %v, in_reply_to_account_id %v", reply["in_reply_to_id"], reply["in_reply_to_account_id"])
	}
	ms, _ := reply["mentions"].([]any)
	if len(ms) != 1 || ms[0].(map[string]any)["acct"] != "bob@remote.example" {
		t.Errorf("reply mentions %v, want bob (the author, though the text does not name him)", reply["mentions"])
	}
	if e.jobStats(t).Pending != before+1 {
		t.Errorf("the reply queued %d jobs", e.jobStats(t).Pending-before)
	}
	replyID, _ := strconv.ParseInt(reply["id"].(string), 10, 64)
	stored, err := e.store.GetStatus(ctx, replyID)
	if err != nil || stored.InReplyToURI != root.NoteID || stored.InReplyToRemoteID != root.ID || stored.Mentions[0].Inbox != "https://remote.example/inbox" {
		t.Errorf("stored reply = %+v, %v", stored, err)
	}
	// A direct answer in the thread, and ours to our answer.
	direct := e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"Privately: call us."}, "visibility": {"direct"}, "in_reply_to_id": {fmt.Sprint(root.ID)}}).json(t)
	if direct["visibility"] != "direct" {
		t.Fatalf("direct answer: %v", direct)
	}
	more := e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"2/2"}, "in_reply_to_id": {fmt.Sprint(replyID)}}).json(t)

	ctxOf := func(id any, token string) (anc, desc []string) {
		m := e.get(t, fmt.Sprintf("/api/v1/statuses/%v/context", id), token).json(t)
		for _, s := range m["ancestors"].([]any) {
			anc = append(anc, s.(map[string]any)["id"].(string))
		}
		for _, s := range m["descendants"].([]any) {
			desc = append(desc, s.(map[string]any)["id"].(string))
		}
		return anc, desc
	}
	rootID, theirID := fmt.Sprint(root.ID), fmt.Sprint(theirReply.ID)
	anc, desc := ctxOf(root.ID, tok)
	if len(anc) != 0 || !sameSet(desc, []string{reply["id"].(string), direct["id"].(string), theirID, more["id"].(string)}) {
		t.Errorf("context of the remote post (news): ancestors %v, descendants %v", anc, desc)
	}
	if _, desc := ctxOf(root.ID, mayorTok); slices.Contains(desc, direct["id"].(string)) {
		t.Errorf("mayor sees news' direct answer in the thread: %v", desc)
	}
	if anc, _ := ctxOf(more["id"], tok); !slices.Equal(anc, []string{rootID, reply["id"].(string)}) {
		t.Errorf("ancestors of our 2/2 = %v, want the remote post then our reply", anc)
	}
	if anc, _ := ctxOf(theirReply.ID, tok); !slices.Equal(anc, []string{rootID}) {
		t.Errorf("ancestors of bob's reply = %v", anc)
	}
	if r := e.get(t, fmt.Sprintf("/api/v1/statuses/%v/context", more["id"]), ""); r.code != 200 || len(r.json(t)["ancestors"].([]any)) != 2 {
		t.Errorf("anonymous context of a public reply: %d %s", r.code, r.body)
	}
	if r := e.get(t, "/api/v1/statuses/"+direct["id"].(string), mayorTok); r.code != 404 {
		t.Errorf("mayor GETs news' direct answer: %d", r.code)
	}

	// bob's posts we hold, and his account with its bio.
	if got := ids(e.get(t, "/api/v1/accounts/bob@remote.example/statuses", tok).list(t)); !slices.Equal(got, []string{theirID, rootID}) {
		t.Errorf("bob's statuses = %v", got)
	}
	if a := e.get(t, "/api/v1/accounts/bob@remote.example", tok).json(t); a["note"] != "<p>River authority</p>" {
		t.Errorf("bob's account note = %v", a["note"])
	}

	// A direct remote post to mayor: mayor sees it, news does not.
	dm := e.remotePost(t, bob, bob+"/statuses/dm", "", storage.VisibilityDirect)
	if _, _, err := e.store.InsertNotification(ctx, storage.Notification{Account: "mayor", Type: storage.NotificationMention,
		ActivityID: dm.NoteID, ActorID: bob, ActorDomain: "remote.example", RemoteStatusID: dm.ID, GroupKey: "g", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if r := e.get(t, fmt.Sprintf("/api/v1/statuses/%d", dm.ID), mayorTok); r.code != 200 {
		t.Errorf("mayor GETs the direct post sent to it: %d", r.code)
	}
	if r := e.get(t, fmt.Sprintf("/api/v1/statuses/%d", dm.ID), tok); r.code != 404 {
		t.Errorf("news GETs a direct post sent to mayor: %d", r.code)
	}
	if r := e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"x"}, "in_reply_to_id": {fmt.Sprint(dm.ID)}}); r.code != 422 {
		t.Errorf("news replies to mayor's direct post: %d %s", r.code, r.body)
	}

	// Blocked: the reply is refused with a clear error, nothing written.
	if _, err := e.store.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: bob, Kind: storage.BlockKindBlock}); err != nil {
		t.Fatal(err)
	}
	n, _ := e.store.CountStatuses(ctx, "news", nil)
	before = e.jobStats(t).Pending
	r = e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"x"}, "in_reply_to_id": {theirID}})
	if r.code != 422 || !strings.Contains(r.errorText(t), "blocked") {
		t.Errorf("reply to a blocked account: %d %s", r.code, r.body)
	}
	if after, _ := e.store.CountStatuses(ctx, "news", nil); after != n || e.jobStats(t).Pending != before {
		t.Errorf("the refused reply wrote %d statuses and %d jobs", after-n, e.jobStats(t).Pending-before)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestAuthorUnreachable: a reply to, or a boost of, the post of an
// author whose server cannot be reached (its inbox unknown) is answered
// 503 with a clear error, and nothing is written.
func TestAuthorUnreachable(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	tok := e.token(t, "news", "read write")
	gone := "http://127.0.0.1:1/users/gone" // nothing listens there
	rs := e.remotePost(t, gone, gone+"/statuses/1", "", storage.VisibilityPublic)
	before := e.jobStats(t).Pending
	for _, rq := range []struct{ path string }{{"/api/v1/statuses"}, {fmt.Sprintf("/api/v1/statuses/%d/reblog", rs.ID)}} {
		r := e.form(t, http.MethodPost, rq.path, tok, url.Values{"status": {"x"}, "in_reply_to_id": {fmt.Sprint(rs.ID)}})
		if r.code != http.StatusServiceUnavailable || !strings.Contains(r.errorText(t), "cannot be reached") {
			t.Errorf("%s: %d %s, want 503", rq.path, r.code, r.body)
		}
	}
	if n, _ := e.store.CountStatuses(ctx, "news", nil); n != 0 || e.jobStats(t).Pending != before {
		t.Errorf("%d statuses and %d jobs written", n, e.jobStats(t).Pending-before)
	}
	if kinds, _ := e.store.OwnReactionKinds(ctx, "news", []string{rs.NoteID}); len(kinds) != 0 {
		t.Errorf("reactions written: %v", kinds)
	}
}
