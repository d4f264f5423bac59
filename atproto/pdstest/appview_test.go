package pdstest_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/atproto/pdstest"
)

// TestAppViewNotificationsThroughPDS: with the reference AppView behind
// the PDS, a second account's reply to and like of a post are listed by
// app.bsky.notification.listNotifications called on the PDS with the first
// account's own token, as a Bluesky client does in production.
func TestAppViewNotificationsThroughPDS(t *testing.T) {
	srv := pdstest.StartT(t, pdstest.Options{AppView: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a loaded machine indexes slowly
	defer cancel()
	city, err := srv.CreateAccount(ctx, "city.test")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := srv.CreateAccount(ctx, "alice.test")
	if err != nil {
		t.Fatal(err)
	}
	post, err := srv.CreateRecord(ctx, city, "app.bsky.feed.post", map[string]any{
		"$type": "app.bsky.feed.post", "text": "Road works on Main Street", "createdAt": pdstest.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]string{"uri": post.URI, "cid": post.CID}
	// The AppView indexes each repository's events in its own queue: a
	// reply indexed before its parent notifies nobody, as in production
	// for a reply to a post the AppView has not seen. A citizen answers a
	// post they saw, so wait until the AppView shows it.
	for {
		var out struct {
			Posts []struct {
				URI string `json:"uri"`
			} `json:"posts"`
		}
		err := srv.XRPC(ctx, http.MethodGet, "app.bsky.feed.getPosts", city.AccessJWT, url.Values{"uris": {post.URI}}, nil, &out)
		if err != nil {
			t.Fatalf("getPosts through the PDS: %v", err)
		}
		if len(out.Posts) == 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	reply, err := srv.CreateRecord(ctx, alice, "app.bsky.feed.post", map[string]any{
		"$type": "app.bsky.feed.post", "text": "How long will it last?", "createdAt": pdstest.Now(),
		"reply": map[string]any{"root": ref, "parent": ref},
	})
	if err != nil {
		t.Fatal(err)
	}
	like, err := srv.CreateRecord(ctx, alice, "app.bsky.feed.like", map[string]any{
		"$type": "app.bsky.feed.like", "subject": ref, "createdAt": pdstest.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}

	type item struct {
		URI    string `json:"uri"`
		Reason string `json:"reason"`
		Author struct {
			DID    string `json:"did"`
			Handle string `json:"handle"`
		} `json:"author"`
		ReasonSubject string `json:"reasonSubject"`
	}
	var got []item
	for {
		var out struct {
			Notifications []item `json:"notifications"`
		}
		// city's own access token, on the PDS, which proxies to the AppView.
		err := srv.XRPC(ctx, http.MethodGet, "app.bsky.notification.listNotifications", city.AccessJWT, url.Values{"limit": {"50"}}, nil, &out)
		if err != nil {
			t.Fatalf("listNotifications through the PDS: %v", err)
		}
		got = out.Notifications
		if len(got) >= 2 || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond) // the AppView indexes the firehose
	}
	want := map[string]string{reply.URI: "reply", like.URI: "like"}
	for _, n := range got {
		if want[n.URI] == n.Reason && n.Author.DID == alice.DID && n.Author.Handle == "alice.test" {
			delete(want, n.URI)
		}
	}
	if len(want) > 0 {
		t.Fatalf("notifications %+v; missing %v", got, want)
	}
	if i := slices.IndexFunc(got, func(n item) bool { return n.Reason == "like" }); got[i].ReasonSubject != post.URI {
		t.Errorf("like's reasonSubject = %q, want %q", got[i].ReasonSubject, post.URI)
	}
}
