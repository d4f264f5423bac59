package federation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
)

// startPolicyBridge is a bridge with two accounts: "news", whose replies
// are for mentioned accounts and quotes for followers, and "open", whose
// posts anyone may reply to and quote.
func startPolicyBridge(t *testing.T) *bridge {
	t.Helper()
	return startBridgeWith(t, true, []config.Account{
		{Username: "news", DisplayName: "Ville de Test", Type: "Organization", Replies: config.RepliesMentioned, Quotes: config.QuotesFollowers},
		{Username: "open", DisplayName: "Open", Type: "Organization", Replies: config.RepliesEveryone, Quotes: config.QuotesAllow},
	})
}

// post stores a status of account, mentioning the given actors.
func (b *bridge) post(t *testing.T, account, visibility string, mentions ...string) (int64, string) {
	t.Helper()
	var ms []storage.StatusMention
	for _, m := range mentions {
		ms = append(ms, storage.StatusMention{Handle: "x@remote", ActorID: m})
	}
	id, err := b.store.InsertStatus(context.Background(), storage.Status{Account: account, Text: "hello", ContentHTML: "<p>hello</p>",
		Visibility: visibility, Mentions: ms, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return id, b.svc.Links().Note(account, id)
}

func (b *bridge) notifications(t *testing.T, account string) []storage.Notification {
	t.Helper()
	ns, err := b.store.ListNotifications(context.Background(), storage.NotificationPage{Account: account, Limit: 40})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func note(remote *fedtest.Server, i int, id string, extra map[string]any) map[string]any {
	n := map[string]any{
		"id": remote.ActorID(i) + "/statuses/" + id, "type": "Note", "attributedTo": remote.ActorID(i),
		"content": "<p>hello</p>", "published": time.Now().UTC().Format(time.RFC3339),
		"to": []any{"https://www.w3.org/ns/activitystreams#Public"}, "url": remote.URL() + "/@u" + id,
	}
	for k, v := range extra {
		n[k] = v
	}
	return n
}

func mention(href string) []any {
	return []any{map[string]any{"type": "Mention", "href": href, "name": "@news"}}
}

// deliver posts activity as remote actor i to the shared inbox.
func (b *bridge) deliver(t *testing.T, remote *fedtest.Server, i int, activity map[string]any) (int, string) {
	t.Helper()
	r, err := remote.SignedActivity(i, b.url+"/inbox", activity, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return send(t, r)
}

func TestInboundInteractions(t *testing.T) {
	b := startPolicyBridge(t)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 3, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1)})
	ctx := context.Background()
	openID, openNote := b.post(t, "open", storage.VisibilityPublic)
	deletedID, deletedNote := b.post(t, "open", storage.VisibilityPublic)
	if err := b.store.DeleteStatus(ctx, "open", deletedID, time.Now()); err != nil {
		t.Fatal(err)
	}
	openActor := b.url + "/users/open"
	evil := `<p>hi <script>alert(1)</script><a href="javascript:alert(2)" onclick="x()">click</a></p>`

	steps := []struct {
		name    string
		actor   int
		act     map[string]any
		code    int
		check   func(t *testing.T)
		account string
		want    []string // notification types of account, newest first
	}{
		{name: "mention with a script is recorded sanitised", actor: 0,
			act: map[string]any{"type": "Create", "object": note(remote, 0, "1", map[string]any{
				"content": evil, "tag": mention(openActor)})},
			code: 202, account: "open", want: []string{"mention"},
			check: func(t *testing.T) {
				rs, err := b.store.GetRemoteStatusByNoteID(ctx, remote.ActorID(0)+"/statuses/1")
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(rs.ContentHTML, "script") || strings.Contains(rs.ContentHTML, "javascript") || strings.Contains(rs.ContentHTML, "onclick") {
					t.Errorf("stored content not sanitised: %q", rs.ContentHTML)
				}
				p, err := b.store.GetRemoteProfile(ctx, remote.ActorID(0))
				if err != nil || p.DisplayName != "Test user 0" || p.Acct != "u0@"+remote.Host() || p.Domain != "127.0.0.2" {
					t.Errorf("profile = %+v, %v", p, err)
				}
			}},
		{name: "reply to our post", actor: 1,
			act:  map[string]any{"type": "Create", "object": note(remote, 1, "2", map[string]any{"inReplyTo": openNote})},
			code: 202, account: "open", want: []string{"mention", "mention"},
			check: func(t *testing.T) {
				rs, err := b.store.ListReplies(ctx, openID, 10)
				if err != nil || len(rs) != 1 || rs[0].NoteID != remote.ActorID(1)+"/statuses/2" {
					t.Errorf("replies = %+v, %v", rs, err)
				}
			}},
		{name: "reply to a deleted post is ignored", actor: 1,
			act:  map[string]any{"type": "Create", "object": note(remote, 1, "3", map[string]any{"inReplyTo": deletedNote, "tag": mention(openActor)})},
			code: 202, account: "open", want: []string{"mention", "mention"}},
		{name: "reply to a post we never had is ignored", actor: 1,
			act:  map[string]any{"type": "Create", "object": note(remote, 1, "4", map[string]any{"inReplyTo": openActor + "/statuses/999999"})},
			code: 202, account: "open", want: []string{"mention", "mention"}},
		{name: "a post not about us is ignored", actor: 1,
			act:  map[string]any{"type": "Create", "object": note(remote, 1, "5", nil)},
			code: 202, account: "open", want: []string{"mention", "mention"}},
		{name: "a post attributed to someone else is refused", actor: 1,
			act:  map[string]any{"type": "Create", "object": note(remote, 0, "6", map[string]any{"tag": mention(openActor)})},
			code: 403, account: "open", want: []string{"mention", "mention"}},
		{name: "like", actor: 2,
			act:  map[string]any{"id": remote.ActorID(2) + "/likes/1", "type": "Like", "object": openNote},
			code: 202, account: "open", want: []string{"favourite", "mention", "mention"}},
		{name: "like of a post that is not ours is ignored", actor: 2,
			act:  map[string]any{"type": "Like", "object": "https://elsewhere.example/notes/1"},
			code: 202, account: "open", want: []string{"favourite", "mention", "mention"}},
		{name: "like of a deleted post is ignored", actor: 2,
			act:  map[string]any{"type": "Like", "object": deletedNote},
			code: 202, account: "open", want: []string{"favourite", "mention", "mention"}},
		{name: "boost", actor: 2,
			act:  map[string]any{"type": "Announce", "object": openNote, "to": []any{"https://www.w3.org/ns/activitystreams#Public"}},
			code: 202, account: "open", want: []string{"reblog", "favourite", "mention", "mention"}},
		{name: "undo of the like", actor: 2,
			act: map[string]any{"type": "Undo", "object": map[string]any{"id": remote.ActorID(2) + "/likes/1", "type": "Like",
				"actor": remote.ActorID(2), "object": openNote}},
			code: 202, account: "open", want: []string{"reblog", "mention", "mention"}},
		{name: "edit of the mention, sanitised", actor: 0,
			act: map[string]any{"type": "Update", "object": note(remote, 0, "1", map[string]any{
				"content": `<p>edited<img src=x onerror=alert(1)></p>`, "tag": mention(openActor)})},
			code: 202, account: "open", want: []string{"reblog", "mention", "mention"},
			check: func(t *testing.T) {
				rs, _ := b.store.GetRemoteStatusByNoteID(ctx, remote.ActorID(0)+"/statuses/1")
				if rs.ContentHTML != "<p>edited</p>" || rs.EditedAt.IsZero() {
					t.Errorf("after edit: %q edited %v", rs.ContentHTML, rs.EditedAt)
				}
			}},
		{name: "edit of someone else's post is refused", actor: 1,
			act:  map[string]any{"type": "Update", "object": note(remote, 0, "1", map[string]any{"attributedTo": remote.ActorID(1)})},
			code: 403, account: "open", want: []string{"reblog", "mention", "mention"}},
		{name: "deletion of the mention drops its notification", actor: 0,
			act:  map[string]any{"type": "Delete", "object": map[string]any{"id": remote.ActorID(0) + "/statuses/1", "type": "Tombstone"}},
			code: 202, account: "open", want: []string{"reblog", "mention"}},
		{name: "report", actor: 2,
			act:  map[string]any{"type": "Flag", "content": "<b>spam</b>\u202e!", "object": []any{openActor, openNote}},
			code: 202, account: "open", want: []string{"reblog", "mention"},
			check: func(t *testing.T) {
				rs, err := b.store.ListReports(ctx, 0, 10)
				if err != nil || len(rs) != 1 || rs[0].Account != "open" || rs[0].Comment != "spam!" || len(rs[0].Targets) != 2 {
					t.Errorf("reports = %+v, %v", rs, err)
				}
			}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, body := b.deliver(t, remote, st.actor, st.act)
			if code != st.code {
				t.Fatalf("status %d (%s), want %d", code, body, st.code)
			}
			var got []string
			for _, n := range b.notifications(t, st.account) {
				got = append(got, n.Type)
			}
			if !slices.Equal(got, st.want) {
				t.Errorf("notifications = %v, want %v", got, st.want)
			}
			if st.check != nil {
				st.check(t)
			}
		})
	}

	// A remote Block of one of our accounts drops the blocker as follower.
	r, _, err := remote.SignedFollow(2, b.url+"/inbox", openActor, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != 202 {
		t.Fatalf("follow: %d %s", code, body)
	}
	if code, body := b.deliver(t, remote, 2, map[string]any{"type": "Block", "object": openActor}); code != 202 {
		t.Fatalf("block: %d %s", code, body)
	}
	if _, err := b.store.GetFollower(ctx, "open", remote.ActorID(2)); err == nil {
		t.Error("the remote actor that blocked us is still a follower")
	}
}

func TestReplyPolicy(t *testing.T) {
	b := startPolicyBridge(t)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 2, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1)})
	// news's replies: mentioned. The post mentions actor 1 only.
	_, newsNote := b.post(t, "news", storage.VisibilityPublic, remote.ActorID(1))

	code, body := b.deliver(t, remote, 0, map[string]any{"type": "Create",
		"object": note(remote, 0, "1", map[string]any{"inReplyTo": newsNote, "tag": mention(b.actor)})})
	if code != 202 {
		t.Fatalf("refused reply: %d %s", code, body)
	}
	if ns := b.notifications(t, "news"); len(ns) != 0 {
		t.Errorf("a reply the policy refuses made notifications: %+v", ns)
	}
	if _, err := b.store.GetRemoteStatusByNoteID(context.Background(), remote.ActorID(0)+"/statuses/1"); err == nil {
		t.Error("a reply the policy refuses was recorded")
	}
	code, body = b.deliver(t, remote, 1, map[string]any{"type": "Create",
		"object": note(remote, 1, "2", map[string]any{"inReplyTo": newsNote})})
	if code != 202 {
		t.Fatalf("allowed reply: %d %s", code, body)
	}
	if ns := b.notifications(t, "news"); len(ns) != 1 || ns[0].ActorID != remote.ActorID(1) {
		t.Errorf("notifications after the mentioned actor's reply = %+v", ns)
	}

	// The refused reply is answered with a Reject, delivered and signed.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.svc.NewDeliverer(2).Run(ctx, time.Second) }()
	if !remote.WaitFor(1, 10*time.Second) {
		t.Fatal("no Reject delivered")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	d := remote.Received()[0]
	if !d.Verified || d.Activity["type"] != "Reject" || d.Activity["actor"] != b.actor ||
		d.Activity["object"] != remote.ActorID(0)+"/statuses/1" || d.Activity["target"] != newsNote || d.Path != "/users/u0/inbox" {
		t.Errorf("delivery %s %+v (verified %v)", d.Path, d.Activity, d.Verified)
	}
}

func TestQuoteRequests(t *testing.T) {
	b := startPolicyBridge(t)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 2, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1)})
	_, openNote := b.post(t, "open", storage.VisibilityPublic)
	_, newsNote := b.post(t, "news", storage.VisibilityPublic)

	quote := func(i int, id, target string) map[string]any {
		return map[string]any{
			"@context": []any{"https://www.w3.org/ns/activitystreams", map[string]any{"QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest"}},
			"id":       remote.ActorID(i) + "/quote_requests/" + id, "type": "QuoteRequest", "object": target,
			"instrument": note(remote, i, "q"+id, map[string]any{"quote": target, "content": "<p>look</p><script>x</script>"}),
		}
	}
	if code, body := b.deliver(t, remote, 0, quote(0, "1", openNote)); code != 202 {
		t.Fatalf("quote request (allowed): %d %s", code, body)
	}
	// news allows followers only: actor 1 is none.
	if code, body := b.deliver(t, remote, 1, quote(1, "2", newsNote)); code != 202 {
		t.Fatalf("quote request (refused): %d %s", code, body)
	}
	if ns := b.notifications(t, "open"); len(ns) != 1 || ns[0].Type != storage.NotificationQuote {
		t.Errorf("open's notifications = %+v, want one quote", ns)
	}
	if ns := b.notifications(t, "news"); len(ns) != 0 {
		t.Errorf("news's notifications = %+v, want none", ns)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.svc.NewDeliverer(2).Run(ctx, time.Second) }()
	if !remote.WaitFor(2, 10*time.Second) {
		t.Fatalf("%d answers delivered, want 2", remote.Count())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	answers := map[string]map[string]any{}
	for _, d := range remote.Received() {
		if !d.Verified {
			t.Errorf("answer to %s not verified: %v", d.Path, d.Err)
		}
		obj, _ := d.Activity["object"].(map[string]any)
		answers[idOfAny(obj["id"])] = d.Activity
	}
	accept := answers[remote.ActorID(0)+"/quote_requests/1"]
	if accept["type"] != "Accept" || accept["actor"] != b.url+"/users/open" {
		t.Fatalf("answer to the allowed request = %+v", accept)
	}
	reject := answers[remote.ActorID(1)+"/quote_requests/2"]
	if reject["type"] != "Reject" || reject["result"] != nil {
		t.Errorf("answer to the refused request = %+v", reject)
	}
	// The stamp is dereferenceable.
	stamp, _ := accept["result"].(string)
	req, _ := http.NewRequest(http.MethodGet, stamp, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var qa map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&qa)
	if resp.StatusCode != 200 || qa["type"] != "QuoteAuthorization" || qa["id"] != stamp || qa["interactionTarget"] != openNote ||
		qa["interactingObject"] != remote.ActorID(0)+"/statuses/q1" || qa["attributedTo"] != b.url+"/users/open" {
		t.Errorf("GET %s: %d %+v", stamp, resp.StatusCode, qa)
	}
}

func idOfAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		s, _ := x["id"].(string)
		return s
	}
	return ""
}

func TestBlockActor(t *testing.T) {
	b := startPolicyBridge(t)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1)})
	ctx := context.Background()
	_, openNote := b.post(t, "open", storage.VisibilityPublic)
	// Known to us (a follower).
	r, _, err := remote.SignedFollow(0, b.url+"/inbox", b.url+"/users/open", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := send(t, r); code != 202 {
		t.Fatal("follow refused")
	}
	if err := b.svc.BlockActor(ctx, "open", remote.ActorID(0)); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.BlockActor(ctx, "open", remote.ActorID(0)); err != nil {
		t.Fatal(err) // twice: nothing more
	}
	if _, err := b.store.GetFollower(ctx, "open", remote.ActorID(0)); err == nil {
		t.Error("the blocked actor is still a follower")
	}
	for _, act := range []map[string]any{
		{"type": "Like", "object": openNote},
		{"type": "Create", "object": note(remote, 0, "1", map[string]any{"inReplyTo": openNote})},
		{"type": "Follow", "object": b.url + "/users/open"},
	} {
		if code, body := b.deliver(t, remote, 0, act); code != http.StatusForbidden {
			t.Errorf("%s by a blocked actor: %d %s, want 403", act["type"], code, body)
		}
	}
	if err := b.svc.UnblockActor(ctx, "open", remote.ActorID(0)); err != nil {
		t.Fatal(err)
	}
	if code, body := b.deliver(t, remote, 0, map[string]any{"type": "Like", "object": openNote}); code != 202 {
		t.Errorf("like after unblock: %d %s", code, body)
	}

	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.svc.NewDeliverer(2).Run(cctx, time.Second) }()
	// Accept (of the follow), Block, Undo{Block}.
	if !remote.WaitFor(3, 10*time.Second) {
		t.Fatalf("%d deliveries, want 3", remote.Count())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var block, undo map[string]any
	for _, d := range remote.Received() {
		switch d.Activity["type"] {
		case "Block":
			block = d.Activity
		case "Undo":
			undo = d.Activity
		}
	}
	if block == nil || block["object"] != remote.ActorID(0) || block["actor"] != b.url+"/users/open" {
		t.Fatalf("Block = %+v", block)
	}
	inner, _ := undo["object"].(map[string]any)
	if inner == nil || inner["id"] != block["id"] || inner["type"] != "Block" {
		t.Errorf("Undo = %+v, want the Block %v embedded", undo, block["id"])
	}
}

func TestNoteInteractionPolicy(t *testing.T) {
	b := startPolicyBridge(t)
	ctx := context.Background()
	mentioned := "https://remote.example/users/bob"
	newsID, _ := b.post(t, "news", storage.VisibilityPublic, mentioned)
	openID, _ := b.post(t, "open", storage.VisibilityPublic)
	overrideID, _ := b.post(t, "open", storage.VisibilityPublic)
	if err := b.store.PutStatusPolicy(ctx, storage.StatusPolicy{StatusID: overrideID, Replies: config.RepliesNobody, Quotes: config.QuotesDisallow}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		account   string
		id        int64
		wantReply []any
		wantQuote []any
	}{
		{"mentioned replies, followers quotes", "news", newsID,
			[]any{b.url + "/users/news", mentioned}, []any{b.url + "/users/news/followers"}},
		{"everyone", "open", openID,
			[]any{"https://www.w3.org/ns/activitystreams#Public"}, []any{"https://www.w3.org/ns/activitystreams#Public"}},
		{"per-post override", "open", overrideID,
			[]any{b.url + "/users/open"}, []any{b.url + "/users/open"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, b.svc.Links().Note(tt.account, tt.id), nil)
			req.Header.Set("Accept", "application/activity+json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var doc struct {
				Context           []any `json:"@context"`
				InteractionPolicy map[string]map[string][]any
			}
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			ip := doc.InteractionPolicy
			if !slices.Equal(ip["canReply"]["automaticApproval"], tt.wantReply) || !slices.Equal(ip["canReply"]["always"], tt.wantReply) {
				t.Errorf("canReply = %v, want %v", ip["canReply"], tt.wantReply)
			}
			if !slices.Equal(ip["canQuote"]["automaticApproval"], tt.wantQuote) {
				t.Errorf("canQuote = %v, want %v", ip["canQuote"], tt.wantQuote)
			}
			public := []any{"https://www.w3.org/ns/activitystreams#Public"}
			if !slices.Equal(ip["canLike"]["automaticApproval"], public) || !slices.Equal(ip["canAnnounce"]["always"], public) {
				t.Errorf("canLike %v canAnnounce %v, want public", ip["canLike"], ip["canAnnounce"])
			}
			ctxJSON, _ := json.Marshal(doc.Context)
			for _, term := range []string{`"gts":"https://gotosocial.org/ns#"`, `"canQuote"`, `"automaticApproval"`, `https://w3id.org/fep/044f#quote`} {
				if !strings.Contains(string(ctxJSON), term) {
					t.Errorf("@context lacks %s: %s", term, ctxJSON)
				}
			}
		})
	}
}
