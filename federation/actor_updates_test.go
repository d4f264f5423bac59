package federation_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// restartable serves whichever Service started last on one URL and one
// database: the same bridge, restarted with another configuration.
type restartable struct {
	t       *testing.T
	store   storage.Store
	url     string
	handler atomic.Pointer[http.ServeMux]
}

func newRestartable(t *testing.T) *restartable {
	r := &restartable{t: t, store: storagetest.OpenSQLite(t)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.handler.Load().ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// start starts the bridge with account news as configured by acc.
func (r *restartable) start(acc config.Account) *federation.Service {
	r.t.Helper()
	acc.Username, acc.Type = "news", "Organization"
	b := bridgetest.New(r.t, bridgetest.Options{Store: r.store, BaseURL: r.url, Accounts: []config.Account{acc}})
	r.handler.Store(b.Mux)
	return b.Fed
}

// updates counts the actor Updates queued so far.
func (r *restartable) updates() int64 {
	r.t.Helper()
	st, err := r.store.RefStats(context.Background(), "actor:news:update:fanout")
	if err != nil {
		r.t.Fatal(err)
	}
	return st.Pending + st.Done + st.Failed
}

// deliver runs svc's delivery workers until remote received want
// requests in all and the queue is empty.
func (r *restartable) deliver(svc *federation.Service, remote *fedtest.Server, want int) {
	r.t.Helper()
	b := &bridge{svc: svc, store: r.store, url: r.url}
	remote.Reset()
	b.deliverAll(r.t, remote, want)
}

func writePNG(t *testing.T, path string, c color.Color) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for x := range 4 {
		for y := range 4 {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestProfileChangesAnnounced: a bridge restarted with a changed profile
// sends one Update of the actor to its followers' server, verified and
// carrying the new profile; restarted unchanged, none; replicas starting
// together with a new profile, one; a new avatar image at the same path
// is a change too.
func TestProfileChangesAnnounced(t *testing.T) {
	ctx := context.Background()
	r := newRestartable(t)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 2, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1)})
	avatar := filepath.Join(t.TempDir(), "avatar.png")
	writePNG(t, avatar, color.RGBA{0, 0, 255, 255})
	announce := func(svc *federation.Service) {
		t.Helper()
		if err := svc.AnnounceProfiles(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// First start: nothing to compare with, nothing sent.
	announce(r.start(config.Account{DisplayName: "Ville A", Avatar: avatar}))
	if n := r.updates(); n != 0 {
		t.Fatalf("%d Updates on the first start", n)
	}
	for i := range remote.NumActors() {
		if _, err := r.store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: remote.ActorID(i),
			Inbox: remote.InboxURL(i), SharedInbox: remote.SharedInboxURL(), State: storage.FollowerAccepted}); err != nil {
			t.Fatal(err)
		}
	}

	// A new name: one Update, to the server's shared inbox.
	b := r.start(config.Account{DisplayName: "Ville B", Avatar: avatar})
	announce(b)
	r.deliver(b, remote, 1)
	d := remote.Received()[0]
	obj, _ := d.Activity["object"].(map[string]any)
	actor := r.url + "/users/news"
	if d.Path != "/inbox" || d.Activity["type"] != "Update" || d.Activity["actor"] != actor ||
		!strings.HasPrefix(idOfAny(d.Activity["id"]), actor+"#updates/") || obj["id"] != actor || obj["name"] != "Ville B" {
		t.Fatalf("delivery %s %+v", d.Path, d.Activity)
	}
	if obj["publicKey"] == nil || obj["featured"] != actor+"/collections/featured" || d.Activity["@context"] == nil || obj["@context"] != nil {
		t.Errorf("Update's object is not the actor document: %+v", d.Activity)
	}
	icon, _ := obj["icon"].(map[string]any)
	firstIcon, _ := icon["url"].(string)

	// Restarted unchanged: nothing more.
	announce(r.start(config.Account{DisplayName: "Ville B", Avatar: avatar}))
	if n := r.updates(); n != 1 {
		t.Errorf("%d Updates after a restart without change, want still 1", n)
	}

	// Two replicas start at once with a new name: one Update.
	r1 := r.start(config.Account{DisplayName: "Ville C", Avatar: avatar})
	r2 := r.start(config.Account{DisplayName: "Ville C", Avatar: avatar})
	var wg sync.WaitGroup
	for _, svc := range []*federation.Service{r1, r2} {
		wg.Add(1)
		go func() { defer wg.Done(); announce(svc) }()
	}
	wg.Wait()
	if n := r.updates(); n != 2 {
		t.Fatalf("%d Updates after two replicas started with a new name, want 2 in all", n)
	}
	r.deliver(r2, remote, 1)
	first := remote.Received()[0].Activity
	if o, _ := first["object"].(map[string]any); first["type"] != "Update" || o["name"] != "Ville C" {
		t.Errorf("Update after the replicas' start: %+v", first)
	}

	// Another image at the same path: a new URL, announced.
	writePNG(t, avatar, color.RGBA{255, 0, 0, 255})
	e := r.start(config.Account{DisplayName: "Ville C", Avatar: avatar})
	announce(e)
	r.deliver(e, remote, 1)
	u := remote.Received()[0].Activity
	o, _ := u["object"].(map[string]any)
	icon, _ = o["icon"].(map[string]any)
	if url, _ := icon["url"].(string); url == "" || url == firstIcon || !strings.HasPrefix(url, actor+"/avatar?v=") || u["id"] == first["id"] {
		t.Errorf("Update after a new avatar: icon %v (was %s), id %v", icon, firstIcon, u["id"])
	}
	// And the new URL serves the new image.
	resp, err := http.Get(icon["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("GET avatar: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestPinAnnouncesActor: pinning queues an Update of the actor (with the
// Add), whose id differs from the previous Update's.
func TestPinAnnouncesActor(t *testing.T) {
	ctx := context.Background()
	r := newRestartable(t)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1)})
	svc := r.start(config.Account{DisplayName: "Ville"})
	if _, err := r.store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: remote.ActorID(0),
		Inbox: remote.InboxURL(0), SharedInbox: remote.SharedInboxURL(), State: storage.FollowerAccepted}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r.store.InTx(ctx, func(q storage.Queries) error { return svc.EnqueueActorUpdate(ctx, q, "news") }); err != nil {
			t.Fatal(err)
		}
	}
	r.deliver(svc, remote, 2)
	got := remote.Received()
	if got[0].Activity["type"] != "Update" || got[1].Activity["type"] != "Update" || got[0].Activity["id"] == got[1].Activity["id"] {
		t.Errorf("Updates %v and %v", got[0].Activity, got[1].Activity)
	}
	// The start-up check after them finds nothing new.
	if err := svc.AnnounceProfiles(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r.updates(); n != 2 {
		t.Errorf("%d Updates, want 2", n)
	}
	if err := r.store.InTx(ctx, func(q storage.Queries) error { return svc.EnqueueActorUpdate(ctx, q, "nobody") }); err == nil {
		t.Error("an Update of an account we do not have")
	}
}
