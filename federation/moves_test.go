package federation_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
)

// startMoveBridge serves one account, news, configured by edit, on
// loopback (private networks allowed: the other servers are on loopback).
func startMoveBridge(t *testing.T, edit func(*config.Account)) *bridge {
	t.Helper()
	acc := config.Account{Username: "news", DisplayName: "Ville de Test", Type: "Organization"}
	if edit != nil {
		edit(&acc)
	}
	b := bridgetest.New(t, bridgetest.Options{Accounts: []config.Account{acc}})
	return &bridge{svc: b.Fed, store: b.Store, url: b.URL, actor: b.URL + "/users/news"}
}

// actorJSON GETs news' actor document.
func (b *bridge) actorJSON(t *testing.T) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.actor, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func stringList(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// fakeActor serves one Mastodon-like actor document at /users/news (and
// its WebFinger), whose alsoKnownAs and movedTo the test sets.
type fakeActor struct {
	url         string
	alsoKnownAs atomic.Value // []string
	movedTo     atomic.Value // string
}

func (f *fakeActor) id() string { return f.url + "/users/news" }

func startFakeActor(t *testing.T, addr string) *fakeActor {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeActor{url: "http://" + ln.Addr().String()}
	f.alsoKnownAs.Store([]string(nil))
	f.movedTo.Store("")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/news", func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{
			"@context": []any{"https://www.w3.org/ns/activitystreams"},
			"id":       f.id(), "type": "Person", "preferredUsername": "news",
			"inbox": f.id() + "/inbox", "url": f.url + "/@news",
			"endpoints": map[string]any{"sharedInbox": f.url + "/inbox"},
		}
		if aka := f.alsoKnownAs.Load().([]string); aka != nil {
			doc["alsoKnownAs"] = aka
		}
		if m := f.movedTo.Load().(string); m != "" {
			doc["movedTo"] = m
		}
		w.Header().Set("Content-Type", "application/activity+json")
		json.NewEncoder(w).Encode(doc)
	})
	mux.HandleFunc("GET /.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("resource") != "acct:news@"+ln.Addr().String() {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"subject": r.URL.Query().Get("resource"),
			"links": []any{
				map[string]any{"rel": "self", "type": "application/activity+json", "href": f.id()},
				map[string]any{"rel": "http://webfinger.net/rel/profile-page", "href": f.url + "/@news"},
			},
		})
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return f
}

func TestDecodeMoves(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		extra     string
		wantAKA   []string
		wantMoved string
	}{
		{"none", ``, nil, ""},
		{"array of IRIs", `,"alsoKnownAs":["https://old.example/users/a","https://older.example/u/a"]`,
			[]string{"https://old.example/users/a", "https://older.example/u/a"}, ""},
		{"single IRI", `,"alsoKnownAs":"https://old.example/users/a"`, []string{"https://old.example/users/a"}, ""},
		{"objects, and junk left out", `,"alsoKnownAs":[{"id":"https://old.example/users/a"},"not an iri",42]`,
			[]string{"https://old.example/users/a"}, ""},
		{"movedTo", `,"movedTo":"https://new.example/users/a"`, nil, "https://new.example/users/a"},
		{"movedTo not an IRI", `,"movedTo":"javascript:alert(1)"`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"@context":"https://www.w3.org/ns/activitystreams","id":"https://x.example/users/a","type":"Person",` +
				`"preferredUsername":"a","inbox":"https://x.example/users/a/inbox"` + tt.extra + `}`
			doc, err := federation.DecodeActorDoc(ctx, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(doc.AlsoKnownAs, tt.wantAKA) || doc.MovedTo != tt.wantMoved {
				t.Errorf("alsoKnownAs %v movedTo %q, want %v %q", doc.AlsoKnownAs, doc.MovedTo, tt.wantAKA, tt.wantMoved)
			}
		})
	}

	act, err := federation.DecodeActivity(ctx, []byte(`{"@context":"https://www.w3.org/ns/activitystreams",
		"id":"https://old.example/users/a#moves/1","type":"Move","actor":"https://old.example/users/a",
		"object":"https://old.example/users/a","target":"https://new.example/users/a"}`))
	if err != nil {
		t.Fatal(err)
	}
	if act.Type != "Move" || act.Object.ID != act.Actor || act.Target != "https://new.example/users/a" {
		t.Errorf("decoded Move = %+v", act)
	}
}

func TestEncodeMove(t *testing.T) {
	body, err := federation.EncodeMove("https://a.example/users/news#moves/1", "https://a.example/users/news",
		"https://b.example/users/news", "https://a.example/users/news/followers")
	if err != nil {
		t.Fatal(err)
	}
	act, err := federation.DecodeActivity(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	if act.Type != "Move" || act.Actor != "https://a.example/users/news" || act.Object.ID != act.Actor || act.Target != "https://b.example/users/news" {
		t.Errorf("Move decodes as %+v", act)
	}
	if _, err := federation.EncodeMove("x", "https://a.example/users/news", "not an iri", "https://a.example/f"); err == nil {
		t.Error("EncodeMove accepted a target that is not an IRI")
	}
}

func TestActorAlsoKnownAs(t *testing.T) {
	keys := fedtest.GenerateKeys(t, 1)
	old := fedtest.StartWith(t, "127.0.0.2:0", 2, fedtest.Options{Keys: keys})
	b := startMoveBridge(t, func(a *config.Account) {
		a.AlsoKnownAs = []string{old.ActorID(0), "@" + old.Handle(1)}
	})
	// The URL at once; the handle once WebFinger answered (in the
	// background, started by the first GET).
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := b.actorJSON(t)
		aka, _ := m["alsoKnownAs"].([]any)
		if len(aka) == 2 {
			if got := stringList(m["alsoKnownAs"]); !slices.Equal(got, []string{old.ActorID(0), old.ActorID(1)}) {
				t.Fatalf("alsoKnownAs = %v, in configuration order want %s, %s", got, old.ActorID(0), old.ActorID(1))
			}
			if _, ok := m["movedTo"]; ok {
				t.Errorf("movedTo on an account that has not moved: %v", m["movedTo"])
			}
			break
		}
		if len(aka) != 1 || aka[0] != old.ActorID(0) {
			t.Fatalf("alsoKnownAs = %v, want the URL entry at once", m["alsoKnownAs"])
		}
		if time.Now().After(deadline) {
			t.Fatal("the handle alias was never resolved into alsoKnownAs")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInboundMove: a Move to our account from a former account it lists
// opens a move-in window, in which Follows skip manual approval and are
// counted as moved in; other Moves are refused or ignored.
func TestInboundMove(t *testing.T) {
	keys := fedtest.GenerateKeys(t, 1)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 4, fedtest.Options{Keys: keys})
	b := startMoveBridge(t, func(a *config.Account) {
		a.AlsoKnownAs = []string{remote.ActorID(0)}
		a.ManuallyApprovesFollowers = true
	})
	ctx := context.Background()
	follow := func(i int) storage.Follower {
		t.Helper()
		req, _, err := remote.SignedFollow(i, b.url+"/inbox", b.actor, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if code, body := send(t, req); code != http.StatusAccepted {
			t.Fatalf("Follow by u%d: %d %s", i, code, body)
		}
		f, err := b.store.GetFollower(ctx, "news", remote.ActorID(i))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	// No window yet: manual approval holds.
	if f := follow(3); f.State != storage.FollowerPending {
		t.Fatalf("follow before any move: state %s, want pending", f.State)
	}

	moveID := remote.ActorID(0) + "#moves/1"
	steps := []struct {
		name     string
		signer   int
		activity map[string]any
		wantCode int
		wantBody string
	}{
		{"from an account not in also_known_as", 1,
			map[string]any{"type": "Move", "object": remote.ActorID(1), "target": b.actor},
			http.StatusUnprocessableEntity, "does not list " + remote.ActorID(1) + " in alsoKnownAs"},
		{"of another actor", 0,
			map[string]any{"type": "Move", "object": remote.ActorID(2), "target": b.actor},
			http.StatusUnprocessableEntity, "its object must be its actor"},
		{"to an account not ours", 0,
			map[string]any{"type": "Move", "object": remote.ActorID(0), "target": "https://elsewhere.example/users/x"},
			http.StatusAccepted, ""},
		{"from the listed former account", 0,
			map[string]any{"id": moveID, "type": "Move", "object": remote.ActorID(0), "target": b.actor},
			http.StatusAccepted, ""},
		{"the same Move again", 0,
			map[string]any{"id": moveID, "type": "Move", "object": remote.ActorID(0), "target": b.actor},
			http.StatusAccepted, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, body := b.deliver(t, remote, st.signer, st.activity)
			if code != st.wantCode || !strings.Contains(body, st.wantBody) {
				t.Errorf("answer %d %q, want %d with %q", code, body, st.wantCode, st.wantBody)
			}
		})
	}

	w, err := b.store.OpenMoveIn(ctx, "news", time.Now())
	if err != nil {
		t.Fatalf("no move-in window after the Move: %v", err)
	}
	if w.Origin != remote.ActorID(0) || w.Source != storage.MoveInReceived || w.ActivityID != moveID ||
		w.Until.Sub(w.OpenedAt) != federation.DefaultMoveInWindow {
		t.Errorf("window = %+v", w)
	}
	// Follows now skip approval and count as moved in; an already pending
	// follower who follows again is accepted too.
	for _, i := range []int{1, 3} {
		if f := follow(i); f.State != storage.FollowerAccepted {
			t.Errorf("u%d: state %s after the move, want accepted", i, f.State)
		}
	}
	n, err := b.store.CountFollowersMovedIn(ctx, "news")
	if err != nil || n != 2 {
		t.Errorf("CountFollowersMovedIn = %d, %v; want 2", n, err)
	}
	moved, err := b.store.ListFollowersMovedIn(ctx, "news", "", 10)
	if err != nil || len(moved) != 2 || moved[0].MovedFrom != remote.ActorID(0) {
		t.Errorf("ListFollowersMovedIn = %+v, %v", moved, err)
	}
	// An Accept is queued for each.
	jobs, err := b.store.ClaimJobs(ctx, "test", []string{federation.JobDeliver}, 10, time.Minute, time.Now())
	if err != nil || len(jobs) != 2 {
		t.Errorf("%d Accept deliveries queued (%v), want 2", len(jobs), err)
	}
}

func TestMoveOut(t *testing.T) {
	ctx := context.Background()
	target := startFakeActor(t, "127.0.0.3:0")
	b := startMoveBridge(t, nil)
	now := time.Now()
	b.svc.SetClock(func() time.Time { return now })
	for i := range 3 {
		_, err := b.store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: "https://f.example/u/" + string(rune('a'+i)),
			Inbox: "https://f.example/inbox", State: storage.FollowerAccepted, FollowActivityID: "x", CreatedAt: now})
		noErr(t, err)
	}
	handle := "@news@" + strings.TrimPrefix(target.url, "http://")

	// The new account does not list ours yet: refused, with what to do.
	_, err := b.svc.MoveOut(ctx, "news", handle, false)
	var me *federation.MoveError
	if !errors.As(err, &me) || !strings.Contains(me.Reason, "does not list "+b.actor+" in alsoKnownAs") ||
		!strings.Contains(me.Hint, "Create an account alias") {
		t.Fatalf("MoveOut to a target without alias = %v, want a MoveError explaining the alias", err)
	}
	if _, err := b.store.GetMoveOut(ctx, "news"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a refused move was recorded: %v", err)
	}
	if _, err := b.svc.MoveOut(ctx, "news", b.actor, false); !errors.As(err, &me) {
		t.Errorf("MoveOut to itself = %v, want a MoveError", err)
	}

	target.alsoKnownAs.Store([]string{"https://someone.example/u/x", b.actor})
	res, err := b.svc.MoveOut(ctx, "news", handle, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Target.Actor != target.id() || res.Target.ProfileURL != target.url+"/@news" || res.Followers != 3 || res.Already {
		t.Errorf("MoveOut = %+v", res)
	}
	// One fan-out job: the Move to every follower's server and to the
	// new account's shared inbox.
	jobs, err := b.store.ClaimJobs(ctx, "test", []string{federation.JobFanout}, 10, time.Minute, time.Now())
	if err != nil || len(jobs) != 1 {
		t.Fatalf("%d fan-out jobs (%v), want 1", len(jobs), err)
	}
	var payload struct {
		ActivityID int64    `json:"activity_id"`
		Followers  bool     `json:"followers"`
		Inboxes    []string `json:"inboxes"`
		Ref        string   `json:"ref"`
	}
	if err := json.Unmarshal(jobs[0].Payload, &payload); err != nil {
		t.Fatal(err)
	}
	body, err := b.store.GetOutgoingActivity(ctx, payload.ActivityID)
	if err != nil {
		t.Fatal(err)
	}
	var a map[string]any
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	if a["type"] != "Move" || a["actor"] != b.actor || a["object"] != b.actor || a["target"] != target.id() || a["id"] != res.ActivityID ||
		!payload.Followers || !slices.Equal(payload.Inboxes, []string{target.url + "/inbox"}) || payload.Ref != federation.MoveRef(res.ActivityID) {
		t.Errorf("fan-out payload = %+v", payload)
	}

	// The actor document gains movedTo (this process forgot its cache;
	// another process notices within the cache's few seconds).
	if m := b.actorJSON(t); m["movedTo"] != target.id() {
		t.Errorf("movedTo = %v, want %s", m["movedTo"], target.id())
	}
	if mv, ok := b.svc.Moved(ctx, "news"); !ok || mv.ProfileURL != target.url+"/@news" || mv.Handle != strings.TrimPrefix(handle, "@") {
		t.Errorf("Moved = %+v, %v", mv, ok)
	}

	again, err := b.svc.MoveOut(ctx, "news", target.id(), false)
	if err != nil || !again.Already || again.ActivityID != res.ActivityID {
		t.Errorf("moving again to the same account = %+v, %v; want Already and nothing sent", again, err)
	}
	now = now.Add(time.Second)
	resent, err := b.svc.MoveOut(ctx, "news", target.id(), true)
	if err != nil || resent.Already || resent.ActivityID == res.ActivityID {
		t.Errorf("--resend = %+v, %v; want a new Move", resent, err)
	}
}

// TestMoveVisibleAcrossProcesses: a move recorded by another process (the
// command line) shows in the served actor document once the cache's few
// seconds have passed.
func TestMoveVisibleAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	b := startMoveBridge(t, nil)
	now := time.Now()
	b.svc.SetClock(func() time.Time { return now })
	if m := b.actorJSON(t); m["movedTo"] != nil {
		t.Fatalf("movedTo before the move: %v", m["movedTo"])
	}
	noErr(t, b.store.PutMoveOut(ctx, storage.MoveOut{Account: "news", Target: "https://new.example/users/news",
		TargetHandle: "news@new.example", TargetURL: "https://new.example/@news", ActivityID: b.actor + "#moves/1"}))
	if m := b.actorJSON(t); m["movedTo"] != nil {
		t.Errorf("movedTo read again within the cache's lifetime: %v", m["movedTo"])
	}
	now = now.Add(6 * time.Second)
	if m := b.actorJSON(t); m["movedTo"] != "https://new.example/users/news" {
		t.Errorf("movedTo = %v after the cache expired", m["movedTo"])
	}
}

func TestCheckAndExpectMoveIn(t *testing.T) {
	ctx := context.Background()
	old := startFakeActor(t, "127.0.0.4:0")
	b := startMoveBridge(t, func(a *config.Account) { a.AlsoKnownAs = []string{old.id()} })

	checks, err := b.svc.CheckMoveIn(ctx, "news", "")
	if err != nil || len(checks) != 1 {
		t.Fatalf("CheckMoveIn = %+v, %v", checks, err)
	}
	c := checks[0]
	if c.OldActor != old.id() || !c.Listed || !c.Served || c.ServedErr != nil || c.WebFingerErr != nil ||
		c.OldErr != nil || c.OldMovedTo != "" || c.MovedHere() || c.Window != nil {
		t.Errorf("before the move: %+v", c)
	}

	// An account not listed cannot be expected.
	other := "@news@" + strings.TrimPrefix(startFakeActor(t, "127.0.0.5:0").url, "http://")
	var me *federation.MoveError
	if _, err := b.svc.ExpectMoveIn(ctx, "news", other, time.Hour); !errors.As(err, &me) {
		t.Errorf("ExpectMoveIn of an unlisted account = %v, want a MoveError", err)
	}
	if checks, err := b.svc.CheckMoveIn(ctx, "news", other); err != nil || checks[0].Listed || checks[0].Served {
		t.Errorf("check of an unlisted account = %+v, %v", checks, err)
	}

	w, err := b.svc.ExpectMoveIn(ctx, "news", old.id(), 48*time.Hour)
	if err != nil || w.Origin != old.id() || w.Source != storage.MoveInExpected {
		t.Fatalf("ExpectMoveIn = %+v, %v", w, err)
	}
	old.movedTo.Store(b.actor)
	checks, err = b.svc.CheckMoveIn(ctx, "news", old.id())
	if err != nil || !checks[0].MovedHere() || checks[0].Window == nil || checks[0].Window.Origin != old.id() {
		t.Errorf("after the move: %+v, %v", checks, err)
	}
	if _, err := b.svc.ExpectMoveIn(ctx, "news", old.id(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.OpenMoveIn(ctx, "news", time.Now()); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a zero window left a window open: %v", err)
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
