package atproto

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// threadView is what the AppView shows a viewer of a post's thread
// (app.bsky.feed.getPostThread through the PDS).
type threadView struct {
	ReplyDisabled     bool
	EmbeddingDisabled bool
	Threadgate        bool            // the AppView shows the post's threadgate
	Allow             json.RawMessage // its allow list; nil when it has none (anyone)
	Replies           []string        // the replies it shows
}

// getThread reads the thread; found is false while the AppView has not
// indexed the post yet.
func getThread(ctx context.Context, t *testing.T, srv *pdstest.Server, viewer pdstest.Account, uri string) (v threadView, found bool) {
	t.Helper()
	var out struct {
		Thread struct {
			Post struct {
				Viewer struct {
					ReplyDisabled     bool `json:"replyDisabled"`
					EmbeddingDisabled bool `json:"embeddingDisabled"`
				} `json:"viewer"`
				Threadgate *struct {
					Record struct {
						Allow json.RawMessage `json:"allow"`
					} `json:"record"`
				} `json:"threadgate"`
			} `json:"post"`
			Replies []struct {
				Post struct {
					URI string `json:"uri"`
				} `json:"post"`
			} `json:"replies"`
		} `json:"thread"`
	}
	err := srv.XRPC(ctx, http.MethodGet, "app.bsky.feed.getPostThread", viewer.AccessJWT, url.Values{"uri": {uri}}, nil, &out)
	if xe := (*pdstest.XRPCError)(nil); errors.As(err, &xe) && xe.Name == "NotFound" {
		return threadView{}, false
	}
	if err != nil {
		t.Fatalf("getPostThread through the PDS: %v", err)
	}
	p := out.Thread.Post
	v = threadView{ReplyDisabled: p.Viewer.ReplyDisabled, EmbeddingDisabled: p.Viewer.EmbeddingDisabled, Threadgate: p.Threadgate != nil}
	if p.Threadgate != nil {
		v.Allow = p.Threadgate.Record.Allow
	}
	for _, r := range out.Thread.Replies {
		v.Replies = append(v.Replies, r.Post.URI)
	}
	return v, true
}

// waitThread polls the thread as the viewer sees it until ok, or fails
// the test with what it last showed.
func waitThread(ctx context.Context, t *testing.T, srv *pdstest.Server, viewer pdstest.Account, uri, what string, ok func(threadView) bool) threadView {
	t.Helper()
	for {
		v, found := getThread(ctx, t, srv, viewer, uri)
		if found && ok(v) {
			return v
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the AppView never showed %s: %+v (allow %s)", what, v, v.Allow)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestAppViewCrisisMode (issue 16): against the reference PDS and
// AppView, crisis mode closes the account's recent mirrored posts to
// replies and quotes as a second Bluesky account sees them (threadgate
// allowing nobody, replyDisabled, its reply left out of the thread,
// embeddingDisabled), through the mirror's jobs: the call itself never
// waits for the PDS. A post published during the crisis is closed from
// the start. Off gives each post back exactly its gates from before: the
// AppView shows replies open again (a new reply of hers shows under the
// post), and the post with its own policy (mentioned) gets its mention
// rule back.
func TestAppViewCrisisMode(t *testing.T) {
	srv := pdstest.StartT(t, pdstest.Options{AppView: true})
	e := newEnv(t, srv, envOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	open := e.post(publish.Draft{Text: "Road works on Main Street this week"})
	own := e.post(publish.Draft{Text: "Questions to the mayor, by mention", Replies: "mentioned"})
	for _, st := range []storage.Status{open, own} {
		e.waitState(st.ID, storage.BlueskyMirrored, 60*time.Second)
	}
	recordOf := func(statusID int64, kind string) storage.BlueskyRecord {
		t.Helper()
		recs, err := e.store.ListBlueskyRecords(ctx, statusID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Kind == kind && r.Position == 0 {
				return r
			}
		}
		return storage.BlueskyRecord{}
	}
	gate := func(statusID int64, collection string) string {
		t.Helper()
		r, err := srv.GetRecord(ctx, e.acct.DID, collection, recordOf(statusID, storage.BlueskyKindPost).RKey)
		if err != nil {
			return "none" // RecordNotFound
		}
		return string(r.Value)
	}
	openPost, ownPost := recordOf(open.ID, storage.BlueskyKindPost).URI, recordOf(own.ID, storage.BlueskyKindPost).URI
	before := map[string]string{"open": gate(open.ID, collThreadgate), "own": gate(own.ID, collThreadgate)}

	alice, err := srv.CreateAccount(ctx, newHandle("alice"))
	if err != nil {
		t.Fatal(err)
	}
	// Open before the crisis, as alice sees it.
	waitThread(ctx, t, srv, alice, openPost, "the post open to replies", func(v threadView) bool {
		return v.Threadgate && v.Allow == nil && !v.ReplyDisabled
	})

	start := time.Now()
	res, err := e.pub.CrisisOn(ctx, "news", 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("crisis on: %d posts changed in %v (the gates follow through the mirror's jobs)", res.Changed, time.Since(start))
	if res.Changed != 2 || res.Already {
		t.Errorf("crisis on: %+v, want 2 posts changed", res)
	}
	during := e.post(publish.Draft{Text: "The quays are closed until further notice"})
	e.waitState(during.ID, storage.BlueskyMirrored, 60*time.Second)
	duringPost := recordOf(during.ID, storage.BlueskyKindPost).URI

	closed := func(v threadView) bool {
		return v.Threadgate && string(v.Allow) == "[]" && v.ReplyDisabled && v.EmbeddingDisabled
	}
	for name, uri := range map[string]string{"a recent post": openPost, "a post with its own policy": ownPost, "a post published during the crisis": duringPost} {
		waitThread(ctx, t, srv, alice, uri, name+" closed to replies and quotes", closed)
	}
	t.Logf("the AppView shows the posts closed %v after crisis on", time.Since(start).Round(time.Millisecond))
	// alice replies anyway (her PDS takes any record): the AppView does
	// not show it under the post.
	ref := map[string]string{"uri": openPost, "cid": recordOf(open.ID, storage.BlueskyKindPost).CID}
	reply, err := srv.CreateRecord(ctx, alice, "app.bsky.feed.post", map[string]any{"$type": "app.bsky.feed.post",
		"text": "Why are the replies closed?", "createdAt": pdstest.Now(), "reply": map[string]any{"root": ref, "parent": ref}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		var out struct {
			Posts []struct {
				URI string `json:"uri"`
			} `json:"posts"`
		}
		if err := srv.XRPC(ctx, http.MethodGet, "app.bsky.feed.getPosts", alice.AccessJWT, url.Values{"uris": {reply.URI}}, nil, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Posts) == 1 {
			break // indexed
		}
		if ctx.Err() != nil {
			t.Fatal("the AppView never indexed alice's reply")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if v, _ := getThread(ctx, t, srv, alice, openPost); slices.Contains(v.Replies, reply.URI) {
		t.Errorf("the AppView shows alice's reply under the closed post: %+v", v)
	}

	start = time.Now()
	off, err := e.pub.CrisisOff(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	if off.Changed != 3 {
		t.Errorf("crisis off: %+v, want 3 posts changed back", off)
	}
	reopened := func(allow string) func(threadView) bool {
		return func(v threadView) bool {
			return v.Threadgate && string(v.Allow) == allow && !v.ReplyDisabled && !v.EmbeddingDisabled
		}
	}
	waitThread(ctx, t, srv, alice, openPost, "the post open to replies again", reopened(""))
	waitThread(ctx, t, srv, alice, duringPost, "the post published during the crisis open to replies", reopened(""))
	v := waitThread(ctx, t, srv, alice, ownPost, "the post with its own policy back to its mention rule", func(v threadView) bool {
		return v.Threadgate && string(v.Allow) != "[]" && v.Allow != nil && !v.EmbeddingDisabled
	})
	t.Logf("the AppView shows the posts open again %v after crisis off", time.Since(start).Round(time.Millisecond))
	if !v.ReplyDisabled {
		t.Errorf("alice, not mentioned, may reply to the post only the mentioned may answer: %+v", v)
	}
	// Replies open again: alice's new reply shows under the post (so the
	// thread does show replies that are allowed).
	reply2, err := srv.CreateRecord(ctx, alice, "app.bsky.feed.post", map[string]any{"$type": "app.bsky.feed.post",
		"text": "Thanks for reopening.", "createdAt": pdstest.Now(), "reply": map[string]any{"root": ref, "parent": ref}})
	if err != nil {
		t.Fatal(err)
	}
	waitThread(ctx, t, srv, alice, openPost, "alice's reply after the crisis under the post", func(v threadView) bool {
		return slices.Contains(v.Replies, reply2.URI)
	})
	// Exactly the gates from before, on the PDS.
	for name, st := range map[string]storage.Status{"open": open, "own": own} {
		if got := gate(st.ID, collThreadgate); got != before[name] {
			t.Errorf("%s post's threadgate after crisis mode: %s, want as before: %s", name, got, before[name])
		}
		if got := gate(st.ID, collPostgate); got != "none" {
			t.Errorf("%s post keeps a postgate after crisis mode: %s", name, got)
		}
	}
}
