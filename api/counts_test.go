package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// TestStatusCounts: replies, boosts and favourites of our statuses are
// counted from what was received (issue 13: they stayed 0).
func TestStatusCounts(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	tok := e.token(t, "news", "read write")
	id := mustID(t, e.post(t, tok, url.Values{"status": {"Statement"}}))
	other := mustID(t, e.post(t, tok, url.Values{"status": {"Another"}}))
	now := time.Now().UTC()
	// Two live remote replies, one deleted; one reply of ours (a thread).
	for i, deleted := range []bool{false, false, true} {
		rs := storage.RemoteStatus{ID: now.UnixMilli()<<16 + int64(i), NoteID: fmt.Sprintf("https://remote.example/notes/%d", i),
			ActorID: "https://remote.example/users/bob", ContentHTML: "<p>reply</p>", Visibility: storage.VisibilityPublic,
			InReplyToID: id, CreatedAt: now}
		if _, _, err := e.store.InsertRemoteStatus(ctx, rs); err != nil {
			t.Fatal(err)
		}
		if deleted {
			if _, err := e.store.DeleteRemoteStatus(ctx, rs.NoteID, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.post(t, tok, url.Values{"status": {"Thread, 2/2"}, "in_reply_to_id": {fmt.Sprint(id)}})
	// Three favourites (one dismissed: still a favourite) from three
	// actors, one boost; a favourite of the other status.
	for i, n := range []storage.Notification{
		{Type: storage.NotificationFavourite, ActorID: "https://remote.example/users/a", StatusID: id},
		{Type: storage.NotificationFavourite, ActorID: "https://remote.example/users/b", StatusID: id},
		{Type: storage.NotificationFavourite, ActorID: "https://other.example/users/c", StatusID: id, DismissedAt: now},
		{Type: storage.NotificationReblog, ActorID: "https://remote.example/users/a", StatusID: id},
		{Type: storage.NotificationFavourite, ActorID: "https://remote.example/users/a", StatusID: other},
	} {
		n.Account, n.ActivityID, n.ActorDomain, n.GroupKey, n.CreatedAt = "news", fmt.Sprintf("https://remote.example/activities/%d", i), "remote.example", "g", now
		if _, _, err := e.store.InsertNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	check := func(where string, st map[string]any) {
		t.Helper()
		want := map[string]float64{"replies_count": 3, "favourites_count": 3, "reblogs_count": 1}
		if st["id"] == fmt.Sprint(other) {
			want = map[string]float64{"replies_count": 0, "favourites_count": 1, "reblogs_count": 0}
		}
		for k, v := range want {
			if st[k] != v {
				t.Errorf("%s: status %v %s = %v, want %v", where, st["id"], k, st[k], v)
			}
		}
	}
	check("GET status", e.get(t, fmt.Sprintf("/api/v1/statuses/%d", id), tok).json(t))
	check("GET status, anonymous", e.get(t, fmt.Sprintf("/api/v1/statuses/%d", id), "").json(t))
	seen := 0
	for _, st := range e.get(t, "/api/v1/accounts/news/statuses", "").list(t) {
		if st["id"] == fmt.Sprint(id) || st["id"] == fmt.Sprint(other) {
			check("account statuses", st)
			seen++
		}
	}
	if seen != 2 {
		t.Errorf("account statuses listed %d of the 2 statuses", seen)
	}
}

// TestRemoteAccountNote: a remote account shows its bio, sanitised
// (issue 13: it was empty).
func TestRemoteAccountNote(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if err := e.store.UpsertRemoteProfile(ctx, storage.RemoteProfile{
		ActorID: "https://remote.example/users/bob", Acct: "bob@remote.example", Domain: "remote.example",
		DisplayName: "Bob", URL: "https://remote.example/@bob", UpdatedAt: time.Now(),
		Summary: `<p>Librarian at <a href="https://remote.example/tags/x" onclick="steal()">#x</a></p><script>alert(1)</script><img src="https://evil.example/t.png">`,
	}); err != nil {
		t.Fatal(err)
	}
	r := e.get(t, "/api/v1/accounts/bob@remote.example", e.token(t, "news", "read"))
	if r.code != 200 {
		t.Fatalf("GET account: %d %s", r.code, r.body)
	}
	note, _ := r.json(t)["note"].(string)
	if !strings.Contains(note, "Librarian at") || !strings.Contains(note, `href="https://remote.example/tags/x"`) {
		t.Errorf("note %q: the bio is missing", note)
	}
	for _, bad := range []string{"script", "onclick", "<img", "evil.example"} {
		if strings.Contains(note, bad) {
			t.Errorf("note %q keeps %q", note, bad)
		}
	}
}
