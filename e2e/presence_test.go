package e2e

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFedifyPresence (issue 15): from masto.js (e2e/masto/presence.mjs),
// the comms team finds a partner's post on a real Fedify server by its
// URL and the partner by @user@host, answers it in its thread, boosts
// and favourites it and takes both back, and answers privately (direct);
// Fedify verifies every activity and sees what each says. The partner's
// post is served to signed GETs only, as by a server in "authorized
// fetch" mode. Then the partner favourites, boosts and answers our reply,
// and takes its favourite and boost back: the counts and lists of the
// client API follow.
func TestFedifyPresence(t *testing.T) {
	dir := mastoDir(t)
	e := startFedifyEnv(t, FirstKnockRFC9421)
	h, peer := e.h, e.peer
	alice := peer.ActorID("alice")
	handle := peer.Handle("alice")
	ctx := e.ctx(3 * time.Minute)

	post, err := peer.Act(ctx, "post", map[string]any{"content": "Flood warning: the river is rising, avoid the quays.", "signedOnly": true})
	if err != nil {
		t.Fatal(err)
	}
	noteURL := post["note"]

	run := func(phase string, env ...string) map[string]any {
		t.Helper()
		return runScript(t, ctx, dir, "presence.mjs", append([]string{"PHASE=" + phase, "BRIDGE_URL=" + e.api.BaseURL, "BRIDGE_TOKEN=" + e.api.Token,
			"NODE_EXTRA_CA_CERTS=" + e.front.CAFile, "PEER_NOTE=" + noteURL, "PEER_HANDLE=" + handle}, env...)...)
	}
	sum := run("act")
	field := func(k, f string) string {
		m, _ := sum[k].(map[string]any)
		s, _ := m[f].(string)
		return s
	}
	replyID, replyURI, directURI, boostURI := field("reply", "id"), field("reply", "uri"), field("direct", "uri"), field("boost", "uri")

	t.Run("SignedFetchOfThePost", func(t *testing.T) {
		var fetches []struct {
			ID      string `json:"id"`
			Signer  string `json:"signer"`
			Allowed bool   `json:"allowed"`
		}
		if err := peer.Do(ctx, "/_test/fetches", nil, &fetches); err != nil {
			t.Fatal(err)
		}
		instance := e.front.URL + "/actor"
		if !slices.ContainsFunc(fetches, func(f struct {
			ID      string `json:"id"`
			Signer  string `json:"signer"`
			Allowed bool   `json:"allowed"`
		}) bool {
			return f.ID == noteURL && f.Allowed && f.Signer == instance
		}) {
			t.Errorf("Fedify served %s to no GET signed by the instance actor %s; GETs: %+v", noteURL, instance, fetches)
		}
		for _, f := range fetches {
			if f.ID == noteURL && f.Allowed && f.Signer == "" {
				t.Errorf("Fedify served the signed-only post to an unsigned GET: %+v", fetches)
			}
		}
	})

	t.Run("ReplyVerifiedWithInReplyToAndMention", func(t *testing.T) {
		a, err := peer.WaitActivity(e.ctx(20*time.Second), "Create of our reply", e.noteActivity("Create", replyURI))
		if err != nil {
			t.Fatal(err)
		}
		if !a.Verified || idOf(a.Object["inReplyTo"]) != noteURL {
			t.Errorf("Create of the reply: verified %v, inReplyTo %v; want %s", a.Verified, a.Object["inReplyTo"], noteURL)
		}
		if !hasMention(a.Object["tag"], alice) || !slices.Contains(strs(a.Object["cc"]), alice) && !slices.Contains(strs(a.Object["to"]), alice) {
			t.Errorf("the reply neither mentions nor addresses %s: tag %v, to %v, cc %v", alice, a.Object["tag"], a.Object["to"], a.Object["cc"])
		}
	})

	t.Run("BoostAndFavouriteAndTheirUndo", func(t *testing.T) {
		wctx := e.ctx(20 * time.Second)
		onNote := func(typ string) func(FedifyActivity) bool {
			return func(a FedifyActivity) bool {
				return a.Type == typ && a.Actor == h.actorID() && (a.ObjectID == noteURL || idOf(a.Object) == noteURL)
			}
		}
		announce, err := peer.WaitActivity(wctx, "Announce of the post", onNote("Announce"))
		if err != nil {
			t.Fatal(err)
		}
		if announce.ID != boostURI || !slices.Contains(strs(announce.JSON["to"]), "as:Public") && !slices.Contains(strs(announce.JSON["to"]), "https://www.w3.org/ns/activitystreams#Public") {
			t.Errorf("Announce: id %s (want %s), to %v (want public)", announce.ID, boostURI, announce.JSON["to"])
		}
		like, err := peer.WaitActivity(wctx, "Like of the post", onNote("Like"))
		if err != nil {
			t.Fatal(err)
		}
		for _, undone := range []FedifyActivity{announce, like} {
			u, err := peer.WaitActivity(wctx, "Undo of the "+undone.Type, func(a FedifyActivity) bool {
				return a.Type == "Undo" && a.Actor == h.actorID() && (a.ObjectID == undone.ID || idOf(a.Object) == undone.ID)
			})
			if err != nil {
				t.Fatal(err)
			}
			if !u.Verified || u.Object["type"] != undone.Type {
				t.Errorf("Undo of the %s: verified %v, object %v", undone.Type, u.Verified, u.Object)
			}
		}
	})

	t.Run("DirectReachesOnlyTheMentioned", func(t *testing.T) {
		a, err := peer.WaitActivity(e.ctx(20*time.Second), "Create of our direct answer", e.noteActivity("Create", directURI))
		if err != nil {
			t.Fatal(err)
		}
		audience := append(strs(a.JSON["to"]), strs(a.JSON["cc"])...)
		audience = append(audience, strs(a.Object["to"])...)
		audience = append(audience, strs(a.Object["cc"])...)
		if !slices.Contains(audience, alice) {
			t.Errorf("the direct answer is not addressed to %s (audience %v)", alice, audience)
		}
		for _, x := range audience {
			if x != alice {
				t.Errorf("the direct answer is addressed to %s too (audience %v); want %s alone", x, audience, alice)
			}
		}
		if idOf(a.Object["inReplyTo"]) != noteURL {
			t.Errorf("direct answer: inReplyTo %v, want %s", a.Object["inReplyTo"], noteURL)
		}
		// Never on public pages: its IRI, the outbox, the profile.
		if code := getCode(t, e, directURI, "application/activity+json"); code != http.StatusNotFound {
			t.Errorf("GET %s (AS2): %d, want 404", directURI, code)
		}
		if body := getBody(t, e, h.actorID()+"/outbox?page=true", "application/activity+json"); strings.Contains(body, directURI) || !strings.Contains(body, replyURI) {
			t.Errorf("the outbox lists the direct answer, or not the public reply:\n%s", body)
		}
		if body := getBody(t, e, e.front.URL+"/@news", "text/html"); strings.Contains(body, "gauge readings") {
			t.Error("the profile page shows the direct answer")
		}
	})

	t.Run("CountsFollowThePeer", func(t *testing.T) {
		actx := e.ctx(30 * time.Second)
		like, err := peer.Act(actx, "like", map[string]any{"object": replyURI})
		if err != nil {
			t.Fatal(err)
		}
		announce, err := peer.Act(actx, "announce", map[string]any{"object": replyURI})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := peer.Act(actx, "reply", map[string]any{"inReplyTo": replyURI, "content": "Readings are on our site.", "mention": e.handle}); err != nil {
			t.Fatal(err)
		}
		run("counts", "REPLY_ID="+replyID, "WANT_FAVOURITES=1", "WANT_REBLOGS=1", "WANT_REPLIES=1")
		for _, u := range []struct{ typ, id string }{{"Like", like["id"]}, {"Announce", announce["id"]}} {
			if _, err := peer.Act(actx, "undo", map[string]any{"type": u.typ, "id": u.id, "object": replyURI}); err != nil {
				t.Fatal(err)
			}
		}
		run("counts", "REPLY_ID="+replyID, "WANT_FAVOURITES=0", "WANT_REBLOGS=0", "WANT_REPLIES=1")
	})
}

// strs flattens an audience (a string, a list, objects with ids).
func strs(v any) []string {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, strs(x)...)
		}
		return out
	}
	if id := idOf(v); id != "" {
		return []string{id}
	}
	return nil
}

// hasMention reports whether tags hold a Mention of actor.
func hasMention(tags any, actor string) bool {
	list, ok := tags.([]any)
	if !ok {
		list = []any{tags}
	}
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m["type"] == "Mention" && idOf(m["href"]) == actor {
			return true
		}
	}
	return false
}

func getResp(t *testing.T, e *fedifyEnv, url, accept string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(e.ctx(10*time.Second), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	resp, err := e.front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func getCode(t *testing.T, e *fedifyEnv, url, accept string) int {
	code, _ := getResp(t, e, url, accept)
	return code
}

func getBody(t *testing.T, e *fedifyEnv, url, accept string) string {
	_, body := getResp(t, e, url, accept)
	return body
}
