package atproto

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// TestPDSRetryAfterCrashCreatesNoDuplicate: the worker created the post,
// then died before saving its URI. The retry finds it (same record key)
// instead of posting it twice.
func TestPDSRetryAfterCrashCreatesNoDuplicate(t *testing.T) {
	pds := sharedPDS(t)
	e := newEnv(t, pds, envOptions{noRun: true})
	st := e.post(publish.Draft{Text: "Une seule fois, même après une panne. #durable"})
	jobs, err := e.store.ClaimJobs(e.ctx, "test", []string{JobKind}, 10, time.Minute, time.Now())
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claimed %d jobs, %v", len(jobs), err)
	}
	var p jobPayload
	_ = json.Unmarshal(jobs[0].Payload, &p)
	a := e.mirror.accounts["news"]
	if _, err := e.mirror.run(e.ctx, a, p, jobs[0]); err != nil {
		t.Fatal(err)
	}
	if n := len(e.records(collPost)); n != 1 {
		t.Fatalf("%d posts after the first attempt", n)
	}
	// The crash: the mapping only knows the planned key.
	recs, _ := e.store.ListBlueskyRecords(e.ctx, st.ID)
	for _, r := range recs {
		if r.Kind == storage.BlueskyKindPost {
			r.URI, r.CID = "", ""
			if err := e.store.PutBlueskyRecord(e.ctx, r); err != nil {
				t.Fatal(err)
			}
		} else if err := e.store.DeleteBlueskyRecord(e.ctx, r.StatusID, r.Kind, r.Position); err != nil {
			t.Fatal(err)
		}
	}
	retry := jobs[0]
	retry.Attempts = 2
	if _, err := e.mirror.run(e.ctx, a, p, retry); err != nil {
		t.Fatal(err)
	}
	posts := e.records(collPost)
	if len(posts) != 1 {
		t.Fatalf("%d posts after the retry, want 1", len(posts))
	}
	if n := len(e.records(collThreadgate)); n != 1 {
		t.Errorf("%d threadgates", n)
	}
	ps, _ := StatusOf(e.ctx, e.store, st.ID)
	if len(ps.URIs) != 1 || ps.URIs[0] != posts[0].URI {
		t.Errorf("mapping = %v, want %s", ps.URIs, posts[0].URI)
	}
	recs, _ = e.store.ListBlueskyRecords(e.ctx, st.ID)
	if len(recs) != 2 || recs[1].Kind != storage.BlueskyKindThreadgate || recs[1].CID == "" {
		t.Errorf("records = %+v", recs)
	}
}

// TestPDSWrongAppPassword: one clear error, visible to the admin, one
// login attempt however many posts wait, and the fediverse side carries on.
func TestPDSWrongAppPassword(t *testing.T) {
	pds := sharedPDS(t)
	e := newEnv(t, pds, envOptions{bluesky: func(b *config.Bluesky) { b.AppPassword = "wrong-pass-word-xxxx" }})
	var ids []int64
	for i := range 3 {
		st := e.post(publish.Draft{Text: "Message " + string(rune('A'+i))})
		ids = append(ids, st.ID)
		// The fediverse side queued its delivery as usual.
		stats, queued, err := e.pub.DeliveryStats(e.ctx, st.ID)
		if err != nil || !queued && stats.Pending == 0 && stats.Done == 0 {
			t.Errorf("no fediverse delivery for status %d: %+v %v %v", st.ID, stats, queued, err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		done := 0
		for _, id := range ids {
			if ps, _ := StatusOf(e.ctx, e.store, id); ps != nil && strings.HasPrefix(ps.Error, "login failed") {
				done++
			}
		}
		if done == len(ids) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, id := range ids {
		ps, _ := StatusOf(e.ctx, e.store, id)
		if ps == nil || ps.State != storage.BlueskyPending || !strings.HasPrefix(ps.Error, "login failed: ") || !strings.Contains(ps.Error, "Invalid identifier or password") {
			t.Errorf("status %d: %+v", id, ps)
		}
		// The statuses that waited for the paused account say it once.
		if ps != nil && strings.Count(ps.Error, "login failed") != 1 {
			t.Errorf("status %d: error %q repeats its prefix", id, ps.Error)
		}
	}
	as, _ := AccountStatusOf(e.ctx, e.store, "news")
	if as.State != StateLoginFailed || !strings.Contains(as.Error, "Invalid identifier or password") || strings.Contains(as.Error, "login failed") {
		t.Errorf("account status = %+v", as)
	}
	time.Sleep(time.Second)
	if n := e.calls.count("com.atproto.server.createSession"); n != 1 {
		t.Errorf("%d createSession calls, want 1 (no retry storm)", n)
	}
	// The jobs wait for the pause (an hour), not a few seconds.
	e.halt()
	due, err := e.store.ClaimJobs(e.ctx, "test", []string{JobKind}, 10, time.Minute, time.Now().Add(50*time.Minute))
	if err != nil || len(due) != 0 {
		t.Errorf("%d mirror jobs due within 50 minutes (%v): they should wait about an hour", len(due), err)
	}
}

// TestPDSSessionPersistsAndRefreshes: a restart resumes the saved session
// (no createSession); an expired access token is refreshed with
// refreshSession, and the new tokens are saved.
func TestPDSSessionPersistsAndRefreshes(t *testing.T) {
	pds := sharedPDS(t)
	e := newEnv(t, pds, envOptions{})
	st := e.post(publish.Draft{Text: "Avant le redémarrage"})
	e.waitState(st.ID, storage.BlueskyMirrored, 30*time.Second)
	if n := e.calls.count("com.atproto.server.createSession"); n != 1 {
		t.Fatalf("%d createSession calls", n)
	}
	saved, err := e.store.GetBlueskySession(e.ctx, "news")
	if err != nil || saved.DID != e.acct.DID || saved.State != StateActive {
		t.Fatalf("saved session = %+v, %v", saved, err)
	}
	// Not in clear in the database.
	if strings.Contains(string(saved.AccessJWT), "eyJ") || strings.Contains(string(saved.RefreshJWT), "eyJ") {
		t.Error("tokens stored in clear")
	}
	e.halt()

	// Restart, with an expired access token in the saved session.
	a := e.mirror.accounts["news"]
	expired := expiredAccessJWT(t, pds, e.acct.DID)
	saved.AccessJWT = a.seal.seal(expired)
	if err := e.store.PutBlueskySession(e.ctx, saved); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, pds, envOptions{store: e.store, account: &e.acct})
	st2 := e2.post(publish.Draft{Text: "Après le redémarrage"})
	e2.waitState(st2.ID, storage.BlueskyMirrored, 30*time.Second)
	if n := e2.calls.count("com.atproto.server.createSession"); n != 0 {
		t.Errorf("%d createSession calls after the restart, want 0", n)
	}
	if expired != "" {
		if n := e2.calls.count("com.atproto.server.refreshSession"); n != 1 {
			t.Errorf("%d refreshSession calls, want 1", n)
		}
		now, _ := e.store.GetBlueskySession(e.ctx, "news")
		if access, _ := a.seal.open(now.AccessJWT); access == expired || access == "" {
			t.Error("the refreshed access token was not saved")
		}
	}
}

// expiredAccessJWT mints an access token the PDS accepts but finds
// expired, signed with its JWT secret (known to the test harness).
func expiredAccessJWT(t *testing.T, pds *pdstest.Server, did string) string {
	t.Helper()
	secret := pds.JWTSecret()
	if secret == "" {
		t.Log("no JWT secret: refresh not tested")
		return ""
	}
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"typ":"at+jwt","alg":"HS256"}`))
	past := time.Now().Add(-time.Hour).Unix()
	claims, _ := json.Marshal(map[string]any{
		"scope": "com.atproto.appPass", "sub": did, "aud": "did:web:localhost",
		"iat": past - 7200, "exp": past,
	})
	payload := enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(header + "." + payload))
	return header + "." + payload + "." + enc.EncodeToString(mac.Sum(nil))
}

// TestPDSOutage: the PDS stops; posts wait and are retried; when it comes
// back, they all get there once, and the worker notices within seconds.
func TestPDSOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("stops the PDS")
	}
	// Its own PDS: the shared one must stay up for the other tests.
	pds := pdstest.StartT(t, pdstest.Options{})
	e := newEnv(t, pds, envOptions{})
	first := e.post(publish.Draft{Text: "Avant la panne"})
	e.waitState(first.ID, storage.BlueskyMirrored, 30*time.Second)

	pds.StopPDS()
	var ids []int64
	for i := range 3 {
		ids = append(ids, e.post(publish.Draft{Text: "Pendant la panne " + string(rune('1'+i))}).ID)
	}
	outage := 20 * time.Second
	if v := os.Getenv("BLUESKY_OUTAGE"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			outage = d
		}
	}
	time.Sleep(outage)
	for _, id := range ids {
		ps, _ := StatusOf(e.ctx, e.store, id)
		if ps == nil || ps.State != storage.BlueskyPending || !strings.HasPrefix(ps.Error, "retrying") {
			t.Errorf("status %d during the outage: %+v", id, ps)
		}
	}
	if as, _ := AccountStatusOf(e.ctx, e.store, "news"); as.State != StateUnreachable {
		t.Errorf("account during the outage: %+v", as)
	}
	if err := pds.StartPDS(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	for _, id := range ids {
		e.waitState(id, storage.BlueskyMirrored, 60*time.Second)
	}
	t.Logf("outage of %v: every post mirrored %v after the PDS came back", outage, time.Since(back).Round(time.Millisecond))
	posts := e.records(collPost)
	if len(posts) != 4 {
		t.Errorf("%d posts, want 4 (no loss, no duplicate)", len(posts))
	}
	texts := map[string]int{}
	for _, r := range posts {
		texts[decodePost(t, r).Text]++
	}
	for txt, n := range texts {
		if n != 1 {
			t.Errorf("%q posted %d times", txt, n)
		}
	}
}

// TestPDSReplyToOwnPost: a status replying to one of ours is a Bluesky
// reply to the last post of that one's thread.
func TestPDSReplyToOwnPost(t *testing.T) {
	pds := sharedPDS(t)
	e := newEnv(t, pds, envOptions{})
	parent := e.post(publish.Draft{Text: "Fil d'information sur la tempête."})
	child := e.post(publish.Draft{Text: "Mise à jour : les routes sont rouvertes.", InReplyToID: parent.ID})
	pp := e.waitState(parent.ID, storage.BlueskyMirrored, 30*time.Second)
	cp := e.waitState(child.ID, storage.BlueskyMirrored, 30*time.Second)
	rec, err := pds.GetRecord(e.ctx, e.acct.DID, collPost, cp.URIs[0][strings.LastIndexByte(cp.URIs[0], '/')+1:])
	if err != nil {
		t.Fatal(err)
	}
	p := decodePost(t, rec)
	if p.Reply == nil || p.Reply.Parent.URI != pp.URIs[0] || p.Reply.Root.URI != pp.URIs[0] {
		t.Errorf("reply = %+v, want parent and root %s", p.Reply, pp.URIs[0])
	}
	// A reply is not a thread root: it has no threadgate of its own.
	if tg := e.records(collThreadgate); len(tg) != 1 {
		t.Errorf("%d threadgates, want 1 (the root's)", len(tg))
	}
}

// TestPDSSkipsAndRefuses: followers-only posts are never mirrored; an
// image without alt text fails the post with a clear message; an image
// that cannot be decoded fails its post; later posts are not blocked.
func TestPDSSkipsAndRefuses(t *testing.T) {
	pds := sharedPDS(t)
	e := newEnv(t, pds, envOptions{})
	private := e.post(publish.Draft{Text: "Réservé aux abonnés", Visibility: storage.VisibilityPrivate})
	if ps, _ := StatusOf(e.ctx, e.store, private.ID); ps == nil || ps.State != storage.BlueskySkipped {
		t.Errorf("followers-only status: %+v", ps)
	}

	noAlt := e.upload(photoJPEG(t, 300, 200, 1), "")
	st := e.post(publish.Draft{Text: "Sans description", MediaIDs: []int64{noAlt.ID}})
	ps := e.waitState(st.ID, storage.BlueskyFailed, 30*time.Second)
	if !strings.Contains(ps.Error, "no description (alt text)") {
		t.Errorf("error = %q", ps.Error)
	}

	// An image that cannot be decoded (uploads are decoded when they
	// arrive, so this one is damaged on disk after the fact).
	path := filepath.Join(t.TempDir(), "broken.jpg")
	if err := os.WriteFile(path, []byte("\xff\xd8\xff\xe0 not really a JPEG"), 0o600); err != nil {
		t.Fatal(err)
	}
	brokenID, err := e.store.InsertMedia(e.ctx, storage.Media{Account: "news", MediaType: "image/jpeg", Width: 300, Height: 200,
		Size: 20, Description: "Photo abîmée", Path: path, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	bad := e.post(publish.Draft{Text: "Image illisible", MediaIDs: []int64{brokenID}})
	next := e.post(publish.Draft{Text: "Le message suivant passe."})
	ps = e.waitState(bad.ID, storage.BlueskyFailed, 30*time.Second)
	if !strings.Contains(ps.Error, "corrupt") && !strings.Contains(ps.Error, "unsupported") {
		t.Errorf("error = %q", ps.Error)
	}
	e.waitState(next.ID, storage.BlueskyMirrored, 30*time.Second)
	if n := len(e.records(collPost)); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
}

// TestPDSSwitchHandle: `bridge bluesky handle` checks that the domain
// resolves to the account (here the PDS asks the bridge's
// /.well-known/atproto-did, as it would over HTTPS) and switches.
func TestPDSSwitchHandle(t *testing.T) {
	var mirror *Mirror
	bridge := newWellKnownServer(t, func() *Mirror { return mirror })
	pds := pdstest.StartT(t, pdstest.Options{HandleResolver: bridge.URL})
	e := newEnv(t, pds, envOptions{noRun: true, bluesky: func(b *config.Bluesky) { b.Handle = "news.ville-test.fr" }})
	mirror = e.mirror
	// The check resolves like the network would; here, through the same
	// well-known endpoint.
	e.mirror.resolveHandle = func(ctx context.Context, handle string) (syntax.DID, error) {
		return resolveThrough(ctx, bridge.URL, handle)
	}
	res, err := e.mirror.SwitchHandle(e.ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	if res.Handle != "news.ville-test.fr" || res.DID.String() != e.acct.DID {
		t.Errorf("result = %+v", res)
	}
	var desc struct {
		Handle string `json:"handle"`
	}
	if err := pds.XRPC(e.ctx, "GET", "com.atproto.repo.describeRepo", "", map[string][]string{"repo": {e.acct.DID}}, nil, &desc); err != nil {
		t.Fatal(err)
	}
	if desc.Handle != "news.ville-test.fr" {
		t.Errorf("handle on the PDS = %q", desc.Handle)
	}
	if as, _ := AccountStatusOf(e.ctx, e.store, "news"); as.Handle != "news.ville-test.fr" {
		t.Errorf("saved handle = %q", as.Handle)
	}

	// A domain that does not resolve, or not to the account, is not
	// switched to.
	e.mirror.accounts["news"].Handle = "autre.ville-test.fr"
	e.mirror.resolveHandle = func(ctx context.Context, handle string) (syntax.DID, error) {
		return "", errors.New("no DNS record, /.well-known/atproto-did answers 404")
	}
	if _, err := e.mirror.SwitchHandle(e.ctx, "news"); err == nil || !strings.Contains(err.Error(), "does not resolve yet") {
		t.Errorf("switch to an unresolved domain: %v", err)
	}
	e.mirror.resolveHandle = func(ctx context.Context, handle string) (syntax.DID, error) { return "did:plc:someoneelse", nil }
	if _, err := e.mirror.SwitchHandle(e.ctx, "news"); err == nil || !strings.Contains(err.Error(), "not to this account's DID") {
		t.Errorf("switch to another account's domain: %v", err)
	}
	if err := pds.XRPC(e.ctx, "GET", "com.atproto.repo.describeRepo", "", map[string][]string{"repo": {e.acct.DID}}, nil, &desc); err != nil || desc.Handle != "news.ville-test.fr" {
		t.Errorf("handle changed by a refused switch: %q %v", desc.Handle, err)
	}
}
