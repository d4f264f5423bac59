package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// TestAppViewRaidShield: against the reference PDS and AppView, six
// Bluesky accounts reply to our mirrored post 18 times and quote it 3
// times within a minute: the client API lists it as a raid (from
// Bluesky: 21 mentions, 6 accounts); one call of its block shields the
// account: our post's threadgate (as a bystander reads it through the
// AppView) lets in mentioned and followed accounts only and hides the 18
// replies, which the thread no longer shows; the postgate detaches the 3
// quotes (their embeds no longer show our post); our repository holds a
// block of each of the six; a raider's new reply is refused (the
// AppView tells them replies are disabled, and the thread does not show
// it). Blocking the raid again adds nothing.
func TestAppViewRaidShield(t *testing.T) {
	srv := pdstest.StartT(t, pdstest.Options{AppView: true})
	e := newBskyEnv(t, srv)
	ctx := e.ctx
	st, err := e.pub.Create(ctx, "news", publish.Draft{Text: "Conseil municipal : le budget est voté"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitState(st.ID, storage.BlueskyMirrored, 60*time.Second)
	ours := e.records(collPost)[0]
	ref := map[string]string{"uri": ours.URI, "cid": ours.CID}

	newAccount := func(name string) pdstest.Account {
		t.Helper()
		acc, err := srv.CreateAccount(ctx, fmt.Sprintf("%s%d.test", name, time.Now().UnixNano()%1000000))
		if err != nil {
			t.Fatal(err)
		}
		return acc
	}
	carol := newAccount("carol") // a bystander
	var raiders []pdstest.Account
	for i := range 6 {
		raiders = append(raiders, newAccount(fmt.Sprintf("raider%d-", i)))
	}
	post := func(who pdstest.Account, rec map[string]any) pdstest.Record {
		t.Helper()
		rec["$type"], rec["createdAt"] = collPost, pdstest.Now()
		r, err := srv.CreateRecord(ctx, who, collPost, rec)
		if err != nil {
			t.Fatalf("post by %s: %v", who.Handle, err)
		}
		return r
	}
	var replies, quotes []string
	for round := range 3 {
		for i, r := range raiders {
			replies = append(replies, post(r, map[string]any{"text": fmt.Sprintf("honte %d", round),
				"reply": map[string]any{"root": ref, "parent": ref}}).URI)
			if round == 0 && i < 3 {
				quotes = append(quotes, post(r, map[string]any{"text": "regardez ça",
					"embed": map[string]any{"$type": "app.bsky.embed.record", "record": ref}}).URI)
			}
		}
	}

	// The bridge reads them: 21 notifications.
	types := []string{storage.NotificationMention, storage.NotificationQuote}
	for deadline := time.Now().Add(5 * time.Minute); ; {
		if _, err := e.mirror.PollInbox(ctx, "news"); err != nil {
			t.Logf("poll: %v", err)
		}
		ns, err := e.store.ListNotificationsBetween(ctx, "news", types, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) == 21 {
			break
		}
		if time.Now().After(deadline) {
			var missing []string
			for _, uri := range append(slices.Clone(replies), quotes...) {
				if !slices.ContainsFunc(ns, func(n storage.Notification) bool { return n.ActivityID == uri }) {
					missing = append(missing, uri)
				}
			}
			for _, uri := range missing { // what the AppView says of them
				var out any
				err := srv.XRPC(ctx, http.MethodGet, "app.bsky.feed.getPosts", carol.AccessJWT, url.Values{"uris": {uri}}, nil, &out)
				t.Logf("missing %s: AppView getPosts %v, %v", uri, out, err)
			}
			t.Fatalf("%d raid notifications read, want 21 (missing %v)", len(ns), missing)
		}
		time.Sleep(time.Second)
	}

	tok, _, err := api.CreateToken(ctx, e.store, "news", 0, "test", "read write", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path string, form url.Values, out any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, e.api.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	var raids []api.Raid
	call("GET", "/api/v1/passerelle/raids", nil, &raids)
	if len(raids) != 1 || raids[0].Bluesky.Mentions != 21 || raids[0].Bluesky.Accounts != 6 || len(raids[0].Servers) != 0 {
		t.Fatalf("raids = %+v, want one of 21 mentions from 6 Bluesky accounts", raids)
	}
	t.Logf("raid: %s", raids[0].Summary)
	var blocked api.RaidBlock
	call("POST", "/api/v1/passerelle/raids/"+raids[0].ID+"/block", nil, &blocked)
	if b := blocked.Bluesky; b == nil || b.Threads != 1 || b.HiddenReplies != 18 || b.DetachedQuotes != 3 || b.Accounts != 6 || b.Blocked != 6 {
		t.Fatalf("raid block: %+v", blocked.Bluesky)
	}

	// Our repository: the threadgate, the postgate, the blocks.
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Minute); !ok(); time.Sleep(500 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after 3 minutes", what)
			}
		}
	}
	rkey := ours.RKey()
	type gateJSON struct {
		Allow []struct {
			Type string `json:"$type"`
		} `json:"allow"`
		HiddenReplies         []string `json:"hiddenReplies"`
		DetachedEmbeddingUris []string `json:"detachedEmbeddingUris"`
		EmbeddingRules        []any    `json:"embeddingRules"`
	}
	var tg, pg gateJSON
	waitFor("the threadgate hides the raid's replies", func() bool {
		rec, err := srv.GetRecord(ctx, e.acct.DID, "app.bsky.feed.threadgate", rkey)
		return err == nil && json.Unmarshal(rec.Value, &tg) == nil && len(tg.HiddenReplies) == 18
	})
	var allow []string
	for _, a := range tg.Allow {
		allow = append(allow, a.Type)
	}
	if !slices.Equal(allow, []string{"app.bsky.feed.threadgate#mentionRule", "app.bsky.feed.threadgate#followingRule"}) {
		t.Errorf("threadgate allow %v, want mentioned and following", allow)
	}
	if h := slices.Sorted(slices.Values(tg.HiddenReplies)); !slices.Equal(h, slices.Sorted(slices.Values(replies))) {
		t.Errorf("hidden replies %v, want %v", h, replies)
	}
	waitFor("the postgate detaches the raid's quotes", func() bool {
		rec, err := srv.GetRecord(ctx, e.acct.DID, "app.bsky.feed.postgate", rkey)
		return err == nil && json.Unmarshal(rec.Value, &pg) == nil && len(pg.DetachedEmbeddingUris) == 3
	})
	if d := slices.Sorted(slices.Values(pg.DetachedEmbeddingUris)); !slices.Equal(d, slices.Sorted(slices.Values(quotes))) || len(pg.EmbeddingRules) != 0 {
		t.Errorf("postgate detaches %v (rules %v), want %v and quoting still allowed", d, pg.EmbeddingRules, quotes)
	}
	blocks := func() []string {
		var subjects []string
		for _, r := range e.records(collBlock) {
			var v struct {
				Subject string `json:"subject"`
			}
			_ = json.Unmarshal(r.Value, &v)
			subjects = append(subjects, v.Subject)
		}
		slices.Sort(subjects)
		return subjects
	}
	var raiderDIDs []string
	for _, r := range raiders {
		raiderDIDs = append(raiderDIDs, r.DID)
	}
	slices.Sort(raiderDIDs)
	waitFor("a block record of each raider", func() bool { return slices.Equal(blocks(), raiderDIDs) })

	// As a bystander sees it, through the AppView.
	type postView struct {
		URI    string `json:"uri"`
		Viewer struct {
			ReplyDisabled bool `json:"replyDisabled"`
		} `json:"viewer"`
	}
	var thread struct {
		Thread struct {
			Replies []struct {
				Post postView `json:"post"`
			} `json:"replies"`
		} `json:"thread"`
		Threadgate struct {
			Record gateJSON `json:"record"`
		} `json:"threadgate"`
	}
	shown := func() []string {
		var uris []string
		for _, r := range thread.Thread.Replies {
			uris = append(uris, r.Post.URI)
		}
		return uris
	}
	waitFor("the AppView's thread hides the raid", func() bool {
		err := srv.XRPC(ctx, http.MethodGet, "app.bsky.feed.getPostThread", carol.AccessJWT, url.Values{"uri": {ours.URI}}, nil, &thread)
		return err == nil && len(thread.Threadgate.Record.HiddenReplies) == 18 && len(shown()) == 0
	})
	var posts struct {
		Posts []struct {
			URI   string `json:"uri"`
			Embed struct {
				Type   string `json:"$type"`
				Record struct {
					Type     string `json:"$type"`
					Detached bool   `json:"detached"`
				} `json:"record"`
			} `json:"embed"`
		} `json:"posts"`
	}
	waitFor("the AppView detaches the quotes", func() bool {
		err := srv.XRPC(ctx, http.MethodGet, "app.bsky.feed.getPosts", carol.AccessJWT, url.Values{"uris": quotes}, nil, &posts)
		if err != nil || len(posts.Posts) != 3 {
			return false
		}
		for _, p := range posts.Posts {
			// Detached, or blocked (the quoting account is blocked by our
			// account: the AppView checks that first): not our post.
			if k := p.Embed.Record.Type; k != "app.bsky.embed.record#viewDetached" && k != "app.bsky.embed.record#viewBlocked" {
				return false
			}
		}
		return true
	})
	t.Logf("the quotes' embeds as a bystander sees them: %s", posts.Posts[0].Embed.Record.Type)

	// Replies are closed to whoever we do not follow and the post does
	// not mention (the tightened threadgate), as the AppView tells a
	// bystander; a raider's new reply is not shown in the thread.
	var view struct {
		Posts []postView `json:"posts"`
	}
	waitFor("replies disabled for a bystander", func() bool {
		err := srv.XRPC(ctx, http.MethodGet, "app.bsky.feed.getPosts", carol.AccessJWT, url.Values{"uris": {ours.URI}}, nil, &view)
		return err == nil && len(view.Posts) == 1 && view.Posts[0].Viewer.ReplyDisabled
	})
	late := post(raiders[0], map[string]any{"text": "encore", "reply": map[string]any{"root": ref, "parent": ref}})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if err := srv.XRPC(ctx, http.MethodGet, "app.bsky.feed.getPostThread", carol.AccessJWT, url.Values{"uri": {ours.URI}}, nil, &thread); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(shown(), late.URI) {
			t.Fatalf("the AppView shows a raider's reply after the shield: %v", shown())
		}
		time.Sleep(2 * time.Second)
	}

	// Again: nothing more.
	call("POST", "/api/v1/passerelle/raids/"+raids[0].ID+"/block", nil, &blocked)
	if b := blocked.Bluesky; b == nil || b.Threads != 0 || b.Blocked != 0 {
		t.Errorf("the raid blocked twice: %+v", blocked.Bluesky)
	}
	time.Sleep(3 * time.Second)
	if got := blocks(); !slices.Equal(got, raiderDIDs) {
		t.Errorf("block records after a second raid block: %v", got)
	}
}
