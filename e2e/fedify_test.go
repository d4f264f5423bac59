package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fedifyEnv is the real bridge behind an HTTPS front (TLSFront) and a real
// Fedify peer (FedifyPeer) on loopback.
type fedifyEnv struct {
	t      *testing.T
	h      *harness
	front  *TLSFront
	peer   *FedifyPeer
	api    API
	handle string // news@localhost:PORT
}

// startFedifyEnv starts a bridge and a Fedify peer whose first knock is
// firstKnock. Without the peer installed the test is skipped, except under
// CI=true, where it fails: CI must never silently skip the real peer.
func startFedifyEnv(t *testing.T, firstKnock string, configure ...func(*Config)) *fedifyEnv {
	t.Helper()
	if _, err := FedifyDir(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: the Fedify tests must not be skipped)", err)
		}
		t.Skip(err.Error())
	}
	dir := t.TempDir()
	front, err := ListenTLSFront(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { front.Close() })
	h := newHarness(t, "sqlite", "", func(c *Config) {
		c.PublicURL = front.URL
		c.TrustedProxies = []string{"127.0.0.1"}
		c.PollResultsDelay = "2s" // polls_test.go
		for _, f := range configure {
			f(c)
		}
	})
	if err := front.Serve(h.cfg.ListenURL()); err != nil {
		t.Fatal(err)
	}
	h.client = front.Client() // what the harness fetches goes through the front too
	h.start()

	logPath := filepath.Join(dir, "fedify.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := StartFedify(FedifyOptions{FirstKnock: firstKnock, CAFile: front.CAFile, Log: logf})
	if err != nil {
		logf.Close()
		b, _ := os.ReadFile(logPath)
		t.Fatalf("%v\npeer log:\n%s", err, b)
	}
	e := &fedifyEnv{t: t, h: h, front: front, peer: peer, handle: "news@" + strings.TrimPrefix(front.URL, "https://")}
	t.Cleanup(func() {
		if t.Failed() {
			e.dumpPeer()
		}
		peer.Close()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("Fedify peer log (%s):\n%s", logPath, b)
		}
	})
	token, err := CreateToken(bridgeBin, h.cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.api = API{BaseURL: h.cfg.BaseURL(), Token: token, Client: front.Client()}
	return e
}

// dumpPeer logs what the peer received and sent.
func (e *fedifyEnv) dumpPeer() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if as, err := e.peer.Inbox(ctx); err == nil {
		var b strings.Builder
		for _, a := range as {
			b.WriteString("\n  " + a.String())
		}
		e.t.Logf("Fedify peer received:%s", b.String())
	}
	if ks, err := e.peer.Knocks(ctx); err == nil {
		var b strings.Builder
		for _, k := range ks {
			b.WriteString("\n  " + k.String())
		}
		e.t.Logf("Fedify peer sent:%s", b.String())
	}
	var unverified, errs []map[string]any
	if e.peer.Do(ctx, "/_test/unverified", nil, &unverified) == nil && len(unverified) > 0 {
		e.t.Logf("Fedify peer refused to verify: %v", unverified)
	}
	if e.peer.Do(ctx, "/_test/errors", nil, &errs) == nil && len(errs) > 0 {
		e.t.Logf("Fedify peer inbox errors: %v", errs)
	}
}

func (e *fedifyEnv) ctx(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	e.t.Cleanup(cancel)
	return ctx
}

// follow has alice follow @news and waits for the bridge's Accept, which
// Fedify must have verified.
func (e *fedifyEnv) follow(t *testing.T) {
	t.Helper()
	ctx := e.ctx(20 * time.Second)
	out, err := e.peer.Act(ctx, "follow", map[string]any{"handle": "@" + e.handle})
	if err != nil {
		t.Fatalf("the peer's Follow: %v", err)
	}
	followID := out["id"]
	accept, err := e.peer.WaitActivity(ctx, "Accept of the Follow", func(a FedifyActivity) bool {
		return a.Type == "Accept" && (a.ObjectID == followID || idOf(a.Object) == followID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !accept.Verified || accept.Actor != e.h.actorID() {
		t.Fatalf("Accept: verified %v, actor %q; want verified, by %s", accept.Verified, accept.Actor, e.h.actorID())
	}
}

// followers lists news' followers with `bridge followers list`: actor → state.
func (e *fedifyEnv) followers(t *testing.T) map[string]string {
	t.Helper()
	stdout, stderr, code := runBridge(t, "followers", "list", "--config", e.h.cfgPath, "--account", "news")
	if code != 0 {
		t.Fatalf("followers list: exit %d\n%s", code, stderr)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if f := strings.Split(line, "\t"); len(f) >= 2 {
			m[f[0]] = f[1]
		}
	}
	return m
}

// noteID is the IRI of one of news' statuses.
func (e *fedifyEnv) noteID(statusID string) string { return e.h.actorID() + "/statuses/" + statusID }

// noteActivity matches an activity of typ by news whose object is the note.
func (e *fedifyEnv) noteActivity(typ, noteID string) func(FedifyActivity) bool {
	return func(a FedifyActivity) bool {
		return a.Type == typ && a.Actor == e.h.actorID() && (a.ObjectID == noteID || idOf(a.Object) == noteID)
	}
}

// TestFedify runs the real bridge against a real Fedify peer: the peer
// finds @news with WebFinger over HTTPS, follows it, receives and verifies
// what the bridge publishes, and replies, likes, boosts and quotes, which
// the bridge must show to its client. Fedify signs with RFC 9421 first and
// falls back to draft-cavage; it verifies both on input.
func TestFedify(t *testing.T) {
	e := startFedifyEnv(t, FirstKnockRFC9421)
	h, peer := e.h, e.peer
	alice := peer.ActorID("alice")

	t.Run("WebFingerLookup", func(t *testing.T) {
		ctx := e.ctx(15 * time.Second)
		a, err := peer.Lookup(ctx, "@"+e.handle)
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != h.actorID() || a.PreferredUsername != "news" || a.Inbox != h.actorID()+"/inbox" || a.PublicKey == "" {
			t.Errorf("Fedify found %+v; want news' actor %s with its inbox and key", a, h.actorID())
		}
		ks, err := peer.Knocks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wf := e.front.URL + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+e.handle)
		if !slices.ContainsFunc(ks, func(k FedifyKnock) bool {
			return k.Method == http.MethodGet && strings.EqualFold(k.URL, wf) && k.Status == http.StatusOK
		}) {
			t.Errorf("Fedify did not GET %s (200); it sent:\n%s", wf, knockList(ks))
		}
	})

	// The peer is strict: an unsigned delivery claiming to be from news is
	// refused, and never reaches its listeners.
	t.Run("PeerRefusesUnsigned", func(t *testing.T) {
		ctx := e.ctx(10 * time.Second)
		forged := `{"@context": "https://www.w3.org/ns/activitystreams", "type": "Create",
			"id": "` + h.actorID() + `/statuses/1/forged", "actor": "` + h.actorID() + `",
			"object": {"type": "Note", "id": "` + h.actorID() + `/statuses/1", "attributedTo": "` + h.actorID() + `", "content": "forged"}}`
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, peer.URL+"/inbox", strings.NewReader(forged))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/activity+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("unsigned delivery to the peer: status %d, want 401", resp.StatusCode)
		}
		as, err := peer.Inbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if strings.HasSuffix(a.ID, "/forged") {
				t.Errorf("the peer's listeners got the unsigned activity: %s", a)
			}
		}
	})

	followed := t.Run("FollowAccepted", func(t *testing.T) {
		e.follow(t)
		if st := e.followers(t)[alice]; st != "accepted" {
			t.Errorf("followers list: %s is %q, want accepted", alice, st)
		}
	})
	needFollow := func(t *testing.T) {
		if !followed {
			t.Skip("needs the Follow accepted (FollowAccepted failed)")
		}
	}

	t.Run("CreateUpdateDeleteNote", func(t *testing.T) {
		needFollow(t)
		ctx := e.ctx(30 * time.Second)
		id, err := e.api.PostStatus(ctx, map[string]any{"status": "The library opens on Sunday."})
		if err != nil {
			t.Fatal(err)
		}
		noteID := e.noteID(id)
		create, err := peer.WaitActivity(ctx, "Create of the note", e.noteActivity("Create", noteID))
		if err != nil {
			t.Fatal(err)
		}
		if typ, content := create.Object["type"], fmt.Sprint(create.Object["content"]); typ != "Note" || !strings.Contains(content, "opens on Sunday") {
			t.Errorf("Create: object type %v, content %q; want the Note with the text", typ, content)
		}

		if err := e.api.do(ctx, http.MethodPut, "/api/v1/statuses/"+id, "application/json", strings.NewReader(`{"status": "The library opens on Sunday at 10 am."}`), nil); err != nil {
			t.Fatal(err)
		}
		update, err := peer.WaitActivity(ctx, "Update of the note", e.noteActivity("Update", noteID))
		if err != nil {
			t.Fatal(err)
		}
		if typ, content := update.Object["type"], fmt.Sprint(update.Object["content"]); typ != "Note" || !strings.Contains(content, "10 am") {
			t.Errorf("Update: object type %v, content %q; want the edited Note", typ, content)
		}

		if err := e.api.DeleteStatus(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := peer.WaitActivity(ctx, "Delete of the note", e.noteActivity("Delete", noteID)); err != nil {
			t.Fatal(err)
		}
	})

	// One post the peer interacts with, and alice's account id in the
	// client API.
	var statusID, aliceID string
	t.Run("InteractionsNotified", func(t *testing.T) {
		needFollow(t)
		ctx := e.ctx(45 * time.Second)
		var err error
		statusID, err = e.api.PostStatus(ctx, map[string]any{"status": "Road works on Main Street this week."})
		if err != nil {
			t.Fatal(err)
		}
		noteID := e.noteID(statusID)
		if _, err := peer.WaitActivity(ctx, "Create of the note", e.noteActivity("Create", noteID)); err != nil {
			t.Fatal(err)
		}
		for _, a := range []struct {
			verb string
			in   map[string]any
		}{
			{"reply", map[string]any{"inReplyTo": noteID, "content": "How long will it last?", "mention": e.handle}},
			{"like", map[string]any{"object": noteID}},
			{"announce", map[string]any{"object": noteID}},
			{"quote", map[string]any{"object": noteID, "content": "Plan your trips."}},
		} {
			if _, err := peer.Act(ctx, a.verb, a.in); err != nil {
				t.Errorf("the peer's %s: %v", a.verb, err)
			}
		}
		want := []string{"mention", "favourite", "reblog", "quote"}
		var got []string
		for {
			var ns []apiNotification
			if err := e.api.do(ctx, http.MethodGet, "/api/v1/notifications?limit=40", "", nil, &ns); err != nil {
				t.Fatal(err)
			}
			got = got[:0]
			for _, n := range ns {
				if n.Account.URI != alice {
					continue
				}
				got = append(got, n.Type)
				aliceID = n.Account.ID
				switch n.Type {
				case "favourite", "reblog":
					if n.Status == nil || n.Status.ID != statusID {
						t.Errorf("%s notification about status %v, want %s", n.Type, n.Status, statusID)
					}
				case "mention":
					if n.Status == nil || n.Status.InReplyToID == nil || *n.Status.InReplyToID != statusID {
						t.Errorf("mention notification: status %+v, want the reply to %s", n.Status, statusID)
					}
				}
			}
			if !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(got, w) }) || ctx.Err() != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("no %s notification from %s; notifications from it: %v", w, alice, got)
			}
		}
	})

	t.Run("QuoteRequestAccepted", func(t *testing.T) {
		if statusID == "" {
			t.Skip("needs InteractionsNotified's post")
		}
		ctx := e.ctx(15 * time.Second)
		accept, err := peer.WaitActivity(ctx, "Accept of the QuoteRequest", func(a FedifyActivity) bool {
			return a.Type == "Accept" && a.Actor == h.actorID() && strings.Contains(a.ObjectID+idOf(a.Object), "/quote_requests/")
		})
		if err != nil {
			t.Fatal(err)
		}
		if result := idOf(accept.JSON["result"]); !strings.HasPrefix(result, e.noteID(statusID)+"/quotes/") {
			t.Errorf("Accept of the QuoteRequest: result %v, want a QuoteAuthorization of %s", accept.JSON["result"], e.noteID(statusID))
		}
	})

	// Issue 13 (item 6): our statuses' reply, boost and favourite counts stay 0.
	t.Run("InteractionCounts", func(t *testing.T) {
		if statusID == "" {
			t.Skip("needs InteractionsNotified's post")
		}
		ctx := e.ctx(10 * time.Second)
		var st apiStatus
		if err := e.api.do(ctx, http.MethodGet, "/api/v1/statuses/"+statusID, "", nil, &st); err != nil {
			t.Fatal(err)
		}
		if st.RepliesCount != 1 || st.FavouritesCount != 1 || st.ReblogsCount != 1 {
			t.Errorf("status %s counts: replies %d, favourites %d, reblogs %d; want 1 each (the peer replied, liked and boosted)",
				statusID, st.RepliesCount, st.FavouritesCount, st.ReblogsCount)
		}
	})

	t.Run("PinUnpin", func(t *testing.T) {
		if statusID == "" {
			t.Skip("needs InteractionsNotified's post")
		}
		ctx := e.ctx(20 * time.Second)
		featured := h.actorID() + "/collections/featured"
		for _, step := range []struct{ path, typ string }{{"pin", "Add"}, {"unpin", "Remove"}} {
			if err := e.api.do(ctx, http.MethodPost, "/api/v1/statuses/"+statusID+"/"+step.path, "", nil, nil); err != nil {
				t.Fatal(err)
			}
			a, err := peer.WaitActivity(ctx, step.typ+" of the note", e.noteActivity(step.typ, e.noteID(statusID)))
			if err != nil {
				t.Fatal(err)
			}
			if target := idOf(a.JSON["target"]); target != featured {
				t.Errorf("%s: target %v, want %s", step.typ, a.JSON["target"], featured)
			}
		}
	})

	t.Run("BridgeSignaturesVerifiedByFedify", func(t *testing.T) {
		ctx := e.ctx(10 * time.Second)
		ds, err := peer.SettledIncoming(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n, rfc := 0, 0
		for _, d := range ds {
			if !strings.HasPrefix(d.KeyID, h.actorID()) { // not signed by the bridge
				continue
			}
			n++
			if d.Status != http.StatusAccepted {
				t.Errorf("Fedify answered %d to the bridge's %s %s (signed %s)", d.Status, d.Type, d.ID, d.Spec)
			}
			if d.Spec == FirstKnockRFC9421 {
				rfc++
			}
		}
		if n == 0 {
			t.Error("the peer's inboxes received nothing from the bridge")
		}
		// The peer signs RFC 9421: the bridge answers it in RFC 9421
		// (double-knocking, federation/knock.go), and Fedify verifies it.
		if rfc == 0 {
			t.Errorf("none of the bridge's %d deliveries was signed RFC 9421", n)
		}
	})

	// Issue 20 (item 3): the peer signed RFC 9421 to the bridge, so the
	// bridge probes it with its Ed25519 key (FEP-521a assertionMethod;
	// served as a CryptographicKey at its id, where Fedify fetches it),
	// Fedify verifies, and the
	// bridge keeps signing with it (no refusal, no RSA fallback after).
	t.Run("Ed25519SignaturesVerifiedByFedify", func(t *testing.T) {
		needFollow(t)
		ctx := e.ctx(10 * time.Second)
		ds, err := peer.SettledIncoming(ctx)
		if err != nil {
			t.Fatal(err)
		}
		edKey := h.actorID() + "/ed25519-key"
		ed, afterRSA := 0, 0
		for _, d := range ds {
			switch {
			case d.KeyID == edKey:
				ed++
				if d.Spec != FirstKnockRFC9421 || d.Status != http.StatusAccepted {
					t.Errorf("Fedify answered %d to the bridge's Ed25519-signed %s %s (spec %s)", d.Status, d.Type, d.ID, d.Spec)
				}
			case strings.HasPrefix(d.KeyID, h.actorID()) && ed > 0:
				afterRSA++ // signed RSA after the first Ed25519 delivery
			}
		}
		if ed == 0 {
			t.Fatalf("none of the bridge's deliveries was signed with %s; received: %v", edKey, ds)
		}
		if afterRSA > 0 {
			t.Errorf("%d deliveries after the first Ed25519 one were signed RSA", afterRSA)
		}
		t.Logf("%d deliveries signed RFC 9421 ed25519, verified by Fedify", ed)
	})

	// Issue 13 (item 5): the bridge answers 401 to RFC 9421 signatures, so
	// Fedify wastes a request per server and falls back to draft-cavage.
	t.Run("RFC9421FirstKnockAccepted", func(t *testing.T) {
		needFollow(t)
		ctx := e.ctx(10 * time.Second)
		checkFirstKnock(t, ctx, e, FirstKnockRFC9421)
	})

	// Issue 13 (item 4): profile changes never reach followers.
	t.Run("ProfileUpdateSent", func(t *testing.T) {
		needFollow(t)
		const name = "Ville de Test, nouveau nom"
		h.stop()
		h.cfg.DisplayName = name
		if err := WriteConfig(h.cfgPath, h.cfg); err != nil {
			t.Fatal(err)
		}
		h.start()
		ctx := e.ctx(10 * time.Second)
		// Earlier Updates (after pin and unpin) carry the old name: wait
		// for the one with the new name.
		_, err := peer.WaitActivity(ctx, "Update of news' actor with the new name", func(a FedifyActivity) bool {
			return a.Type == "Update" && a.Actor == h.actorID() && (a.ObjectID == h.actorID() || idOf(a.Object) == h.actorID()) &&
				fmt.Sprint(a.Object["name"]) == name
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("UnfollowRemovesFollower", func(t *testing.T) {
		needFollow(t)
		ctx := e.ctx(15 * time.Second)
		if _, err := peer.Act(ctx, "unfollow", map[string]any{"handle": "@" + e.handle}); err != nil {
			t.Fatal(err)
		}
		if st, ok := e.followers(t)[alice]; ok {
			t.Errorf("after Undo(Follow), followers list still has %s (%s)", alice, st)
		}
	})

	t.Run("BlockSent", func(t *testing.T) {
		if aliceID == "" {
			t.Skip("needs alice's account id (InteractionsNotified)")
		}
		ctx := e.ctx(15 * time.Second)
		if err := e.api.do(ctx, http.MethodPost, "/api/v1/accounts/"+aliceID+"/block", "", nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := peer.WaitActivity(ctx, "Block of alice", func(a FedifyActivity) bool {
			return a.Type == "Block" && a.Actor == h.actorID() && (a.ObjectID == alice || idOf(a.Object) == alice)
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFedifyDraftCavage: a Fedify peer that knocks with draft-cavage first
// (its firstKnock option) follows @news; the bridge must accept that first
// signature, with no retry.
func TestFedifyDraftCavage(t *testing.T) {
	e := startFedifyEnv(t, FirstKnockDraftCavage)
	e.follow(t)
	checkFirstKnock(t, e.ctx(10*time.Second), e, FirstKnockDraftCavage)
}

// checkFirstKnock requires the peer's first signed POST to the bridge to be
// signed with spec and accepted (2xx), every later one too (no fallback to
// the other spec), and Fedify to remember spec for the bridge's origin.
func checkFirstKnock(t *testing.T, ctx context.Context, e *fedifyEnv, spec string) {
	t.Helper()
	ks, err := e.peer.Knocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var posts []FedifyKnock
	for _, k := range ks {
		if k.Method == http.MethodPost && strings.HasPrefix(k.URL, e.front.URL+"/") {
			posts = append(posts, k)
		}
	}
	if len(posts) == 0 {
		t.Fatalf("the peer sent no POST to the bridge; it sent:\n%s", knockList(ks))
	}
	first := posts[0]
	if first.Spec != spec || first.Status/100 != 2 {
		t.Errorf("the peer's first POST to the bridge: signed %s, answered %d %q; want signed %s and accepted",
			first.Spec, first.Status, first.Body, spec)
	}
	other := 0
	for _, k := range posts {
		if k.Spec != spec {
			other++
		}
	}
	if other > 0 {
		t.Errorf("%d of the peer's %d POSTs to the bridge were signed with the other spec (a fallback)", other, len(posts))
	}
	specs, err := e.peer.Specs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := specs[e.front.URL]; got != spec {
		t.Errorf("Fedify remembers %q for %s, want %s (all: %v)", got, e.front.URL, spec, specs)
	}
	if t.Failed() {
		t.Logf("the peer's POSTs to the bridge:\n%s", knockList(posts))
	}
}

func knockList(ks []FedifyKnock) string {
	var b strings.Builder
	for _, k := range ks {
		b.WriteString("  " + k.String() + "\n")
	}
	return b.String()
}

// apiNotification and apiStatus are the parts of the client API's entities the
// Fedify tests read.
type apiNotification struct {
	Type    string `json:"type"`
	Account struct {
		ID   string `json:"id"`
		URI  string `json:"uri"`
		Acct string `json:"acct"`
	} `json:"account"`
	Status *apiStatus `json:"status"`
}

type apiStatus struct {
	ID              string  `json:"id"`
	URI             string  `json:"uri"`
	InReplyToID     *string `json:"in_reply_to_id"`
	RepliesCount    int     `json:"replies_count"`
	ReblogsCount    int     `json:"reblogs_count"`
	FavouritesCount int     `json:"favourites_count"`
}
