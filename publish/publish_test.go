package publish_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

type env struct {
	store storage.Store
	fed   *federation.Service
	pub   *publish.Service
	url   string
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv with options adjusted by edit.
func newEnvWith(t testing.TB, edit func(*bridgetest.Options)) *env {
	t.Helper()
	o := bridgetest.Options{Publish: publish.Settings{
		MediaLimits: media.Limits{MaxBytes: 1 << 20, MaxPixels: 10_000_000},
		Languages:   map[string]string{"news": "fr"},
	}}
	if edit != nil {
		edit(&o)
	}
	b := bridgetest.New(t, o)
	return &env{store: b.Store, fed: b.Fed, pub: b.Pub, url: b.URL}
}

// newsOnly is the one account of the tests that need no other.
var newsOnly = []config.Account{{Username: "news", Type: "Organization"}}

// follow makes the remote server's actors accepted followers of news.
func (e *env) follow(t *testing.T, remote *fedtest.Server) {
	t.Helper()
	for i := range remote.NumActors() {
		_, err := e.store.UpsertFollower(context.Background(), storage.Follower{
			Account: "news", ActorID: remote.ActorID(i), Inbox: remote.InboxURL(i),
			SharedInbox: remote.SharedInboxURL(), State: storage.FollowerAccepted,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// deliver runs the delivery workers until every remote has received want
// more requests.
func (e *env) deliver(t *testing.T, want int, remotes ...*fedtest.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.fed.NewDeliverer(8).Run(ctx, time.Second) }()
	for _, r := range remotes {
		if !r.WaitFor(want, 10*time.Second) {
			cancel()
			t.Fatalf("%s received %d deliveries, want %d", r.Host(), r.Count(), want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func getAS2(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	body, _ := io.ReadAll(resp.Body)
	json.Unmarshal(body, &m)
	return resp.StatusCode, m
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPublishLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := fedtest.Start(t, "127.0.0.2:0", 3)
	b := fedtest.Start(t, "127.0.0.3:0", 2)
	e.follow(t, a)
	e.follow(t, b)

	m, err := e.pub.UploadMedia(ctx, "news", bytes.NewReader(pngBytes(t, 64, 48)), "A blue square", 0.5, -0.25)
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.pub.Create(ctx, "news", publish.Draft{
		Text:     "Hello #Passerelle, see https://www.city.example/news/2026/11/very-long-article-title-here",
		Language: "fr", MediaIDs: []int64{m.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	// One Create per server (shared inbox), verified by the server itself.
	e.deliver(t, 1, a, b)
	for _, r := range []*fedtest.Server{a, b} {
		got := r.Received()
		if len(got) != 1 {
			t.Fatalf("%s got %d requests, want 1 (shared inbox)", r.Host(), len(got))
		}
		d := got[0]
		if !d.Verified || d.Path != "/inbox" || d.Activity["type"] != "Create" {
			t.Fatalf("delivery %s %v verified=%v err=%v", d.Path, d.Activity["type"], d.Verified, d.Err)
		}
		note := d.Activity["object"].(map[string]any)
		if note["id"] != e.fed.Links().Note("news", st.ID) || !strings.Contains(note["content"].(string), `rel="tag"`) {
			t.Errorf("note %v", note)
		}
		if cm, _ := note["contentMap"].(map[string]any); cm["fr"] == nil {
			t.Errorf("contentMap %v", note["contentMap"])
		}
		att := note["attachment"].([]any)[0].(map[string]any)
		if att["name"] != "A blue square" || att["mediaType"] != "image/png" || att["width"] != float64(64) || att["blurhash"] == "" {
			t.Errorf("attachment %v", att)
		}
	}
	stats, fanoutPending, err := e.pub.DeliveryStats(ctx, st.ID)
	if err != nil || stats.Done != 2 || stats.Pending != 0 || fanoutPending {
		t.Errorf("delivery stats %+v fanout pending %v err %v", stats, fanoutPending, err)
	}

	// The note is served at its id; the outbox lists it.
	code, note := getAS2(t, e.fed.Links().Note("news", st.ID))
	if code != 200 || note["type"] != "Note" {
		t.Fatalf("GET note: %d %v", code, note)
	}
	code, outbox := getAS2(t, e.url+"/users/news/outbox")
	if code != 200 || outbox["totalItems"] != float64(1) {
		t.Errorf("outbox %d %v", code, outbox)
	}

	// Pin: Add to followers (Mastodon), and an Update of the actor, on
	// which GoToSocial fetches it and reads featured; the featured
	// collection holds it.
	a.Reset()
	b.Reset()
	if _, err := e.pub.SetPinned(ctx, "news", st.ID, true); err != nil {
		t.Fatal(err)
	}
	e.deliver(t, 2, a, b)
	byType := map[string]map[string]any{}
	for _, d := range a.Received() {
		if !d.Verified {
			t.Errorf("%v not verified: %v", d.Activity["type"], d.Err)
		}
		byType[d.Activity["type"].(string)] = d.Activity
	}
	if got := byType["Add"]; got["target"] != e.fed.Links().Featured("news") {
		t.Errorf("pin activity %v", got)
	}
	if got := byType["Update"]; got["actor"] != e.fed.Links().Actor("news") {
		t.Errorf("actor Update after the pin: %v", got)
	} else if obj, _ := got["object"].(map[string]any); obj["id"] != e.fed.Links().Actor("news") || obj["featured"] != e.fed.Links().Featured("news") {
		t.Errorf("Update's object %v, want the actor with its featured collection", obj)
	}
	_, featured := getAS2(t, e.fed.Links().Featured("news"))
	if featured["totalItems"] != float64(1) {
		t.Errorf("featured %v", featured)
	}

	// Edit: an Update with the new content.
	a.Reset()
	b.Reset()
	if _, err := e.pub.Edit(ctx, "news", st.ID, publish.Draft{Text: "Hello again", MediaIDs: []int64{m.ID}}); err != nil {
		t.Fatal(err)
	}
	e.deliver(t, 1, a, b)
	upd := a.Received()[0].Activity
	if upd["type"] != "Update" || !strings.Contains(upd["object"].(map[string]any)["content"].(string), "Hello again") {
		t.Errorf("update %v", upd)
	}

	// Delete: a Delete with a Tombstone; the note answers 410.
	a.Reset()
	b.Reset()
	if _, err := e.pub.Delete(ctx, "news", st.ID); err != nil {
		t.Fatal(err)
	}
	e.deliver(t, 1, a, b)
	del := a.Received()[0].Activity
	if del["type"] != "Delete" || del["object"].(map[string]any)["type"] != "Tombstone" {
		t.Errorf("delete %v", del)
	}
	if code, ts := getAS2(t, e.fed.Links().Note("news", st.ID)); code != http.StatusGone || ts["type"] != "Tombstone" {
		t.Errorf("deleted note: %d %v", code, ts)
	}
	if _, err := e.pub.Delete(ctx, "news", st.ID); !errors.Is(err, publish.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// TestDefaultLanguage: a post that does not say its language carries
// the account's (GoToSocial showed "language ," for posts without one).
func TestDefaultLanguage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name, account, lang, want string
	}{
		{"account's language", "news", "", "fr"},
		{"the post's own", "news", "de", "de"},
		{"account without one", "mayor", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := e.pub.Create(ctx, tc.account, publish.Draft{Text: "Bonjour", Language: tc.lang})
			if err != nil {
				t.Fatal(err)
			}
			if st.Language != tc.want {
				t.Errorf("language %q, want %q", st.Language, tc.want)
			}
			n, err := e.fed.NoteFromStatus(st, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n.Language != tc.want {
				t.Errorf("note language %q, want %q", n.Language, tc.want)
			}
		})
	}
}

func TestCreateRejects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other, err := e.pub.UploadMedia(ctx, "mayor", bytes.NewReader(pngBytes(t, 8, 8)), "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := e.pub.UploadMedia(ctx, "news", bytes.NewReader(pngBytes(t, 8, 8)), "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	used, err := e.pub.Create(ctx, "news", publish.Draft{Text: "with media", MediaIDs: []int64{mine.ID}})
	if err != nil {
		t.Fatal(err)
	}
	mayorPost, err := e.pub.Create(ctx, "mayor", publish.Draft{Text: "mayor's", Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := e.store.JobStats(ctx, time.Now())
	tests := []struct {
		name  string
		draft publish.Draft
	}{
		{"empty", publish.Draft{Text: "   "}},
		{"too long", publish.Draft{Text: strings.Repeat("é", 501)}},
		{"spoiler counts", publish.Draft{Text: strings.Repeat("a", 490), SpoilerText: strings.Repeat("b", 20)}},
		{"unknown media", publish.Draft{Text: "x", MediaIDs: []int64{999999}}},
		{"media of another account", publish.Draft{Text: "x", MediaIDs: []int64{other.ID}}},
		{"media already attached", publish.Draft{Text: "x", MediaIDs: []int64{mine.ID}}},
		{"five media", publish.Draft{Text: "x", MediaIDs: []int64{1, 2, 3, 4, 5}}},
		{"direct without a mention", publish.Draft{Text: "x", Visibility: "direct"}},
		{"unknown visibility", publish.Draft{Text: "x", Visibility: "secret"}},
		{"bad language", publish.Draft{Text: "x", Language: "not a language"}},
		{"reply to another account's followers-only post", publish.Draft{Text: "x", InReplyToID: mayorPost.ID}},
		{"reply to unknown post", publish.Draft{Text: "x", InReplyToID: 424242}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.pub.Create(ctx, "news", tc.draft)
			var ve *publish.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err %v, want a validation error", err)
			}
		})
	}
	n, _ := e.store.CountStatuses(ctx, "news", nil)
	after, _ := e.store.JobStats(ctx, time.Now())
	if n != 1 || after.Pending != before.Pending {
		t.Errorf("rejected drafts left %d statuses (want 1) and %d new jobs", n, after.Pending-before.Pending)
	}
	_ = used
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := publish.Draft{Text: "once", IdempotencyKey: "abc"}
	s1, err := e.pub.Create(ctx, "news", d)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := e.pub.Create(ctx, "news", d)
	if err != nil {
		t.Fatal(err)
	}
	if s1.ID != s2.ID {
		t.Errorf("two statuses for one key: %d %d", s1.ID, s2.ID)
	}
	if n, _ := e.store.CountStatuses(ctx, "news", nil); n != 1 {
		t.Errorf("%d statuses", n)
	}
}

func TestUploadRejects(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		body     []byte
		tooLarge bool
	}{
		{"not an image", []byte("hello, this is text"), false},
		{"truncated png", pngBytes(t, 32, 32)[:60], false},
		{"over the size limit", bytes.Repeat([]byte{0xff}, 1<<20+1), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.pub.UploadMedia(context.Background(), "news", bytes.NewReader(tc.body), "", 0, 0)
			var me *publish.MediaError
			if !errors.As(err, &me) || me.TooLarge != tc.tooLarge {
				t.Fatalf("err %v (%T), want a media error (too large: %v)", err, err, tc.tooLarge)
			}
		})
	}
	if _, err := e.pub.UploadMedia(context.Background(), "news", bytes.NewReader(pngBytes(t, 4, 4)), "", 2, 0); err == nil {
		t.Error("focus out of range accepted")
	}
}

func TestOpenMediaHidesPrivatePosts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		visibility string
		deleted    bool
		redraft    bool
		served     bool
	}{
		{"public", storage.VisibilityPublic, false, false, true},
		{"unlisted", storage.VisibilityUnlisted, false, false, true},
		{"followers only", storage.VisibilityPrivate, false, false, false},
		// Deleting detaches the media so a client can redraft with them (as
		// Mastodon's delete-and-redraft), but until then they are gone (410)
		// as the post is.
		{"deleted: gone", storage.VisibilityPublic, true, false, false},
		{"deleted then redrafted", storage.VisibilityPublic, true, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := e.pub.UploadMedia(ctx, "news", bytes.NewReader(pngBytes(t, 4, 4)), "", 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, f, err := e.pub.OpenMedia(ctx, m.ID); err != nil {
				t.Fatalf("unattached media not served: %v", err)
			} else {
				f.Close()
			}
			st, err := e.pub.Create(ctx, "news", publish.Draft{Text: tc.name, Visibility: tc.visibility, MediaIDs: []int64{m.ID}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.deleted {
				if _, err := e.pub.Delete(ctx, "news", st.ID); err != nil {
					t.Fatal(err)
				}
			}
			if tc.redraft {
				if _, err := e.pub.Create(ctx, "news", publish.Draft{Text: "redraft", MediaIDs: []int64{m.ID}}); err != nil {
					t.Fatalf("redraft with the media: %v", err)
				}
			}
			_, f, err := e.pub.OpenMedia(ctx, m.ID)
			if f != nil {
				f.Close()
			}
			if served := err == nil; served != tc.served {
				t.Errorf("served=%v (err %v), want %v", served, err, tc.served)
			}
			if tc.deleted && !tc.redraft && !errors.Is(err, publish.ErrGone) {
				t.Errorf("media of a deleted post: err %v, want ErrGone (410)", err)
			}
		})
	}
}

// TestAttributionInTransaction: who made a status is written with it; a
// refused post writes no attribution; a scheduled status keeps its
// author until published.
func TestAttributionInTransaction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	by := &storage.StatusAttribution{MemberID: 7, AppID: 0, TokenID: 9}
	st, err := e.pub.Create(ctx, "news", publish.Draft{Text: "by a member", By: by})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.store.StatusAttributions(ctx, []int64{st.ID})
	if err != nil {
		t.Fatal(err)
	}
	if a := got[st.ID]; a.MemberID != 7 || a.TokenID != 9 || !a.CreatedAt.Equal(st.CreatedAt) {
		t.Fatalf("attribution = %+v", a)
	}
	if by.StatusID != 0 {
		t.Error("the caller's attribution was changed")
	}
	// The draft replying to a status of nobody's fails validation in the
	// transaction: no status, no attribution.
	if _, err := e.pub.Create(ctx, "news", publish.Draft{Text: "bad", InReplyToID: st.ID + 1_000_000, By: by}); err == nil {
		t.Fatal("a reply to an unknown status was published")
	}
	if n, _ := e.store.CountStatuses(ctx, "news", nil); n != 1 {
		t.Fatalf("%d statuses", n)
	}
	sc, err := e.pub.Schedule(ctx, "news", publish.Draft{Text: "later", By: by}, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	back, err := e.pub.GetScheduled(ctx, "news", sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.Draft.By == nil || back.Draft.By.MemberID != 7 || back.Draft.By.TokenID != 9 {
		t.Fatalf("scheduled draft's author = %+v", back.Draft.By)
	}
}
