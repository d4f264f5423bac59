package federation_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// countingTransport counts the requests that reach it (and answers
// none).
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return nil, errors.New("no network in this test")
}

// TestSearchTargetsRefusedWithoutRequest: IP literals, local names and
// what the SSRF-safe client refuses are refused before any request.
func TestSearchTargetsRefusedWithoutRequest(t *testing.T) {
	rt := &countingTransport{}
	svc, err := federation.New(context.Background(), federation.Settings{
		BaseURL:    "https://social.city.example",
		Federation: config.Federation{FollowersPageSize: 50},
		Accounts:   []config.Account{{Username: "news", Type: "Organization"}},
		Version:    "test",
	}, storagetest.OpenSQLite(t), &http.Client{Transport: rt}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url string
		refused   bool
	}{
		{"private IPv4", "https://10.0.0.1/users/a", true},
		{"loopback", "http://127.0.0.1:8080/users/a", true},
		{"public IPv4 literal", "https://8.8.8.8/notes/1", true},
		{"IPv6 literal", "https://[2001:db8::1]/notes/1", true},
		{"IPv6 loopback", "https://[::1]/notes/1", true},
		{"decimal IPv4", "https://2130706433/notes/1", true},
		{"localhost", "https://localhost/notes/1", true},
		{"under localhost", "https://a.localhost/notes/1", true},
		{"mDNS name", "https://printer.local/notes/1", true},
		{"internal name", "https://wiki.corp.internal/notes/1", true},
		{"single label", "https://intranet/notes/1", true},
		{"not http", "ftp://files.example/notes/1", true},
		{"userinfo", "https://user@social.example/notes/1", true},
		{"a server's name", "https://social.example/@ann/1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.CheckRemoteTarget(tc.url)
			if got := errors.Is(err, federation.ErrRefusedTarget); got != tc.refused {
				t.Errorf("CheckRemoteTarget(%s) = %v, refused %v; want %v", tc.url, err, got, tc.refused)
			}
			if tc.refused {
				if _, err := svc.Resolve(context.Background(), tc.url); !errors.Is(err, federation.ErrRefusedTarget) {
					t.Errorf("Resolve(%s) = %v, want ErrRefusedTarget", tc.url, err)
				}
			}
		})
	}
	if n := rt.n.Load(); n != 0 {
		t.Errorf("%d requests were sent for refused targets", n)
	}
}

// TestResolve: a post found by URL on a server that answers signed GETs
// only is fetched signed by the instance actor, checked, sanitised and
// kept with its author's profile; an actor's URL gives its profile; posts
// that are not public, or whose id or author is on another server, are
// not kept.
func TestResolve(t *testing.T) {
	b := startBridge(t, true)
	ctx := context.Background()
	remote := fedtest.StartWith(t, "127.0.0.2:0", 2, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1), RequireSignedFetch: true})
	other := fedtest.StartWith(t, "127.0.0.3:0", 1, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1)})
	public := []any{"https://www.w3.org/ns/activitystreams#Public"}
	doc := func(id, author string, extra map[string]any) map[string]any {
		d := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Note",
			"attributedTo": author, "content": `<p>Flood warning<script>alert(1)</script></p>`, "to": public,
			"published": "2026-12-01T10:00:00Z"}
		for k, v := range extra {
			d[k] = v
		}
		return d
	}
	mustSet := func(name string, d map[string]any) string {
		if err := remote.SetObject(name, d); err != nil {
			t.Fatal(err)
		}
		return remote.ObjectURL(name)
	}
	ok := mustSet("ok", doc(remote.ObjectURL("ok"), remote.ActorID(0), map[string]any{"inReplyTo": remote.ObjectURL("parent")}))
	permalink := mustSet("permalink", doc(ok, remote.ActorID(0), nil)) // serves the post under another URL
	private := mustSet("private", doc(remote.ObjectURL("private"), remote.ActorID(0), map[string]any{"to": []any{remote.ActorID(0) + "/followers"}}))
	foreignAuthor := mustSet("foreign", doc(remote.ObjectURL("foreign"), other.ActorID(0), nil))
	foreignID := mustSet("foreign-id", doc(other.URL()+"/objects/x", other.ActorID(0), nil))

	res, err := b.svc.Resolve(ctx, ok)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status == nil || res.Status.NoteID != ok || res.Status.ActorID != remote.ActorID(0) ||
		res.Status.InReplyToURI != remote.ObjectURL("parent") || res.Status.Visibility != storage.VisibilityPublic {
		t.Fatalf("Resolve(post) = %+v", res.Status)
	}
	if strings.Contains(res.Status.ContentHTML, "script") || !strings.Contains(res.Status.ContentHTML, "Flood warning") {
		t.Errorf("content kept: %q, want it sanitised", res.Status.ContentHTML)
	}
	if res.Profile == nil || res.Profile.Acct != strings.ToLower(remote.Handle(0)) {
		t.Errorf("the author's profile: %+v", res.Profile)
	}
	signed := false
	for _, f := range remote.Fetches() {
		if f.Path == "/objects/ok" && f.Verified && f.KeyID == b.url+"/actor#main-key" {
			signed = true
		}
	}
	if !signed {
		t.Errorf("no GET of the post signed by the instance actor: %+v", remote.Fetches())
	}
	if stored, err := b.store.GetRemoteStatusByNoteID(ctx, ok); err != nil || stored.ID != res.Status.ID {
		t.Errorf("the post is not kept: %+v, %v", stored, err)
	}
	// Found again: held, not fetched.
	before := len(remote.Fetches())
	if again, err := b.svc.Resolve(ctx, ok); err != nil || again.Status.ID != res.Status.ID || len(remote.Fetches()) != before {
		t.Errorf("Resolve again = %+v, %v; %d more fetches", again.Status, err, len(remote.Fetches())-before)
	}
	// By a permalink serving the same id: the post.
	if _, err := b.store.DeleteRemoteStatus(ctx, ok, time.Now()); err != nil {
		t.Fatal(err)
	}
	if res, err := b.svc.Resolve(ctx, permalink); err != nil || res.Status == nil || res.Status.NoteID != ok {
		t.Errorf("Resolve(permalink) = %+v, %v", res, err)
	}

	if res, err := b.svc.Resolve(ctx, remote.ActorID(1)); err != nil || res.Profile == nil || res.Profile.ActorID != remote.ActorID(1) {
		t.Errorf("Resolve(actor) = %+v, %v", res, err)
	}
	for name, u := range map[string]string{"followers-only": private, "author elsewhere": foreignAuthor, "id elsewhere": foreignID} {
		if _, err := b.svc.Resolve(ctx, u); !errors.Is(err, federation.ErrNotResolvable) {
			t.Errorf("Resolve(%s) = %v, want ErrNotResolvable", name, err)
		}
		if _, err := b.store.GetRemoteStatusByNoteID(ctx, u); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: kept (%v)", name, err)
		}
	}
}

// TestReactionsDelivered: a boost goes to the author's server and to the
// followers' servers, a favourite to the author's alone, each Undo the
// same way, embedding what it undoes; all signed by the account.
func TestReactionsDelivered(t *testing.T) {
	b := startBridge(t, true)
	ctx := context.Background()
	keys := fedtest.GenerateKeys(t, 1)
	author := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: keys})
	fan := fedtest.StartWith(t, "127.0.0.3:0", 1, fedtest.Options{Keys: keys})
	follow(t, b, fan)
	runDeliverer(t, b.svc, 2)
	inbox, err := b.svc.DeliveryInbox(ctx, author.ActorID(0))
	if err != nil {
		t.Fatal(err)
	}
	if inbox != author.SharedInboxURL() {
		t.Errorf("DeliveryInbox = %s, want the shared inbox %s", inbox, author.SharedInboxURL())
	}
	object := author.ActorID(0) + "/statuses/1"
	queue := func(kind string, id int64, undo bool) string {
		r := federation.Reaction{OwnReaction: storage.OwnReaction{ID: id, Account: "news", Kind: kind, ObjectURI: object,
			ActivityID: b.svc.ReactionActivityID("news", kind, id), CreatedAt: time.Now()}, Author: author.ActorID(0), AuthorInbox: inbox}
		if err := b.store.InTx(ctx, func(q storage.Queries) error { return b.svc.QueueReaction(ctx, q, r, undo) }); err != nil {
			t.Fatal(err)
		}
		b.svc.Nudge()
		return r.ActivityID
	}
	boost := queue(storage.NotificationReblog, 1, false)
	like := queue(storage.NotificationFavourite, 2, false)
	queue(storage.NotificationReblog, 1, true)
	queue(storage.NotificationFavourite, 2, true)
	if !author.WaitFor(4, 10*time.Second) || !fan.WaitFor(2, 10*time.Second) {
		t.Fatalf("deliveries: author %d (want 4), follower's server %d (want 2)", author.Count(), fan.Count())
	}
	time.Sleep(200 * time.Millisecond) // nothing more may come
	kinds := func(s *fedtest.Server) map[string]string {
		out := map[string]string{}
		for _, d := range s.Received() {
			if !d.Verified || d.Signer != b.actor {
				t.Errorf("delivery to %s not verified as news': %v", s.Host(), d.Err)
			}
			typ, _ := d.Activity["type"].(string)
			if typ == "Undo" {
				inner, _ := d.Activity["object"].(map[string]any)
				typ = "Undo " + inner["type"].(string) + " " + inner["id"].(string)
			} else {
				typ += " " + d.Activity["id"].(string)
			}
			out[typ] = d.Activity["actor"].(string)
		}
		return out
	}
	wantAuthor := []string{"Announce " + boost, "Like " + like, "Undo Announce " + boost, "Undo Like " + like}
	got := kinds(author)
	if len(got) != 4 {
		t.Errorf("the author's server received %v, want %v", got, wantAuthor)
	}
	for _, w := range wantAuthor {
		if _, ok := got[w]; !ok {
			t.Errorf("the author's server did not receive %s (got %v)", w, got)
		}
	}
	gotFan := kinds(fan)
	if _, ok := gotFan["Announce "+boost]; !ok || len(gotFan) != 2 {
		t.Errorf("the follower's server received %v, want the Announce and its Undo only", gotFan)
	}
	if _, ok := gotFan["Undo Announce "+boost]; !ok {
		t.Errorf("the follower's server did not receive the Undo of the Announce (got %v)", gotFan)
	}
}

// TestDirectAndBoostsOnPublicDocuments: a direct status is sent to the
// mentioned alone and never served; the outbox lists the account's
// boosts as Announces among its posts.
func TestDirectAndBoostsOnPublicDocuments(t *testing.T) {
	b := startBridge(t, true)
	ctx := context.Background()
	keys := fedtest.GenerateKeys(t, 1)
	mentioned := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: keys})
	fan := fedtest.StartWith(t, "127.0.0.3:0", 1, fedtest.Options{Keys: keys})
	follow(t, b, fan)
	runDeliverer(t, b.svc, 2)
	st := storage.Status{Account: "news", Text: "@u0 hi", ContentHTML: "<p>hi</p>", Visibility: storage.VisibilityDirect,
		Mentions:     []storage.StatusMention{{Handle: mentioned.Handle(0), ActorID: mentioned.ActorID(0), Inbox: mentioned.InboxURL(0)}},
		InReplyToURI: mentioned.ActorID(0) + "/statuses/5", CreatedAt: time.Now()}
	err := b.store.InTx(ctx, func(q storage.Queries) error {
		id, err := q.InsertStatus(ctx, st)
		st.ID = id
		if err != nil {
			return err
		}
		return b.svc.QueueStatus(ctx, q, federation.StatusCreated, st)
	})
	if err != nil {
		t.Fatal(err)
	}
	b.svc.Nudge()
	if !mentioned.WaitFor(1, 10*time.Second) {
		t.Fatal("the mentioned actor received nothing")
	}
	time.Sleep(300 * time.Millisecond)
	if n := fan.Count(); n != 0 {
		t.Errorf("a follower's server received %d deliveries of a direct status", n)
	}
	d := mentioned.Received()[0]
	obj, _ := d.Activity["object"].(map[string]any)
	if to := obj["to"].([]any); len(to) != 1 || to[0] != mentioned.ActorID(0) || len(obj["cc"].([]any)) != 0 || obj["inReplyTo"] != st.InReplyToURI {
		t.Errorf("direct Note: to %v cc %v inReplyTo %v", obj["to"], obj["cc"], obj["inReplyTo"])
	}
	noteURL := b.svc.Links().Note("news", st.ID)
	if code, _ := getAS2(t, noteURL); code != http.StatusNotFound {
		t.Errorf("GET of the direct status: %d, want 404", code)
	}

	// A boost in the outbox, between two posts.
	pub := func(id int64, text string) int64 {
		id, err := b.store.InsertStatus(ctx, storage.Status{ID: id, Account: "news", Text: text, ContentHTML: "<p>" + text + "</p>", Visibility: "public", CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	first := pub(1000, "first")
	boostID := first + 1
	if _, _, err := b.store.PutOwnReaction(ctx, storage.OwnReaction{ID: boostID, Account: "news", Kind: storage.NotificationReblog,
		ObjectURI: mentioned.ActorID(0) + "/statuses/5", ActivityID: b.svc.ReactionActivityID("news", storage.NotificationReblog, boostID), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	pub(1002, "second")
	code, page := getAS2(t, b.actor+"/outbox?page=true")
	if code != http.StatusOK {
		t.Fatalf("outbox page: %d", code)
	}
	var types []string
	for _, it := range page["orderedItems"].([]any) {
		m := it.(map[string]any)
		types = append(types, m["type"].(string))
		if m["type"] == "Announce" && m["object"] != mentioned.ActorID(0)+"/statuses/5" {
			t.Errorf("outbox Announce of %v", m["object"])
		}
	}
	if strings.Join(types, ",") != "Create,Announce,Create" || page["totalItems"] != float64(3) {
		t.Errorf("outbox items %v (total %v), want Create,Announce,Create (3): the direct status left out", types, page["totalItems"])
	}
}
