package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/atproto/pdstest"
)

// TestMastoJSBlueskyConversation (issue 16, "Done when"): against the
// reference PDS and AppView, a Bluesky user's reply to a post the comms
// team made from masto.js (e2e/masto/bluesky.mjs) arrives in masto.js's
// notifications and in the post's context; the team answers it from
// masto.js, beginning with the author's handle as Mastodon apps write it,
// and the AppView shows the answer threaded under the reply, the handle a
// mention of its author, as Bluesky users see it.
func TestMastoJSBlueskyConversation(t *testing.T) {
	dir := mastoDir(t)
	pds := pdstest.StartT(t, pdstest.Options{AppView: true})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute) // a loaded machine indexes slowly
	defer cancel()
	city, err := pds.CreateAccount(ctx, "mairietest.test")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := pds.CreateAccount(ctx, "alicetest.test")
	if err != nil {
		t.Fatal(err)
	}
	api, _ := startBlueskyBridge(t, pds, city, BlueskyConfig{Handle: "mairie.example", Extra: "poll_interval: 15s"})
	run := func(phase string, env ...string) map[string]any {
		t.Helper()
		return runScript(t, ctx, dir, "bluesky.mjs", append([]string{"PHASE=" + phase, "BRIDGE_URL=" + api.BaseURL, "BRIDGE_TOKEN=" + api.Token}, env...)...)
	}

	posted := run("post", "STATUS_TEXT=Fermeture de la piscine municipale lundi")
	id, _ := posted["id"].(string)
	ours, err := api.WaitBluesky(ctx, id, "mirrored", 250*time.Millisecond)
	if err != nil || len(ours.URIs) != 1 {
		t.Fatalf("our post on Bluesky: %+v, %v", ours, err)
	}
	// alice saw the post in the AppView and replies to it there.
	post := waitThread(t, ctx, pds, alice, ours.URIs[0], func(threadView) bool { return true })
	ref := map[string]string{"uri": post.Post.URI, "cid": post.Post.CID}
	question := "Et la semaine prochaine ?"
	reply, err := pds.CreateRecord(ctx, alice, "app.bsky.feed.post", map[string]any{"$type": "app.bsky.feed.post",
		"text": question, "createdAt": pdstest.Now(), "reply": map[string]any{"root": ref, "parent": ref}})
	if err != nil {
		t.Fatal(err)
	}

	// As a Mastodon app writes it: the author's acct (their handle) first.
	answer := "@" + alice.Handle + " Réouverture mardi à 9 h."
	sum := run("answer", "BRIDGE_STATUS="+id, "BSKY_HANDLE="+alice.Handle, "WANT_TEXT="+question, "ANSWER_TEXT="+answer)
	if sum["visibility"] == "direct" {
		t.Errorf("the answer is %v", sum["visibility"])
	}
	// The AppView shows our answer under alice's reply.
	waitThread(t, ctx, pds, alice, reply.URI, func(tv threadView) bool {
		for _, r := range tv.Replies {
			if r.Post.Author.DID == city.DID && r.Post.Record.Text == answer {
				// The handle is a mention of alice.
				f := r.Post.Record.Facets
				if len(f) != 1 || len(f[0].Features) != 1 || f[0].Features[0].DID != alice.DID || f[0].Index.ByteEnd != len("@"+alice.Handle) {
					t.Errorf("the answer's facets %+v; want a mention of %s", f, alice.DID)
				}
				return true
			}
		}
		return false
	})
}

// threadView is the part of app.bsky.feed.getPostThread's thread the
// tests read.
type threadView struct {
	Post struct {
		URI    string `json:"uri"`
		CID    string `json:"cid"`
		Author struct {
			DID string `json:"did"`
		} `json:"author"`
		Record struct {
			Text   string `json:"text"`
			Facets []struct {
				Index struct {
					ByteStart int `json:"byteStart"`
					ByteEnd   int `json:"byteEnd"`
				} `json:"index"`
				Features []struct {
					Type string `json:"$type"`
					DID  string `json:"did"`
				} `json:"features"`
			} `json:"facets"`
		} `json:"record"`
	} `json:"post"`
	Replies []threadView `json:"replies"`
}

// waitThread reads the thread of uri from the AppView, through the PDS
// with who's token as a Bluesky app does, until ok says it shows what the
// test waits for (the AppView indexes the PDS's firehose).
func waitThread(t *testing.T, ctx context.Context, pds *pdstest.Server, who pdstest.Account, uri string, ok func(threadView) bool) threadView {
	t.Helper()
	var last string
	for {
		var out struct {
			Thread threadView `json:"thread"`
		}
		err := pds.XRPC(ctx, http.MethodGet, "app.bsky.feed.getPostThread", who.AccessJWT, url.Values{"uri": {uri}}, nil, &out)
		if err == nil && ok(out.Thread) {
			return out.Thread
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "thread " + strings.TrimSpace(out.Thread.Post.Record.Text)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the AppView's thread of %s: %s", uri, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
