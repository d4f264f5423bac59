package api_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// TestBlueskyNotifications: what the mirror read from Bluesky (stored as
// atproto's inbox stores it) is shown in the notifications, v1 and v2, and
// the status's context: Bluesky accounts with their handle as acct, a
// "Bluesky" field and the bsky.app profile; follows without a status; a
// handle finds the account.
func TestBlueskyNotifications(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	tok := e.token(t, "news", "read write")
	id := mustID(t, e.post(t, tok, url.Values{"status": {"Travaux rue principale"}}))
	now := time.Now().UTC().Truncate(time.Millisecond)
	const did = "did:plc:alice123"
	if err := e.store.UpsertRemoteProfile(ctx, storage.RemoteProfile{ActorID: did, Acct: "alice.bsky.social", Domain: "alice.bsky.social",
		DisplayName: "Alice", URL: "https://bsky.app/profile/alice.bsky.social", AvatarURL: "https://cdn.bsky.example/a.jpg",
		Summary: "<p>Riveraine</p>", UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	rs, _, err := e.store.InsertRemoteStatus(ctx, storage.RemoteStatus{ID: now.UnixMilli() << 16, NoteID: "at://" + did + "/app.bsky.feed.post/3k",
		ActorID: did, URL: "https://bsky.app/profile/" + did + "/post/3k", ContentHTML: "<p>Combien de temps ?</p>",
		Visibility: storage.VisibilityPublic, InReplyToID: id, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []storage.Notification{
		{Type: storage.NotificationMention, StatusID: id, RemoteStatusID: rs.ID, ActivityID: rs.NoteID},
		{Type: storage.NotificationFavourite, StatusID: id, ActivityID: "at://" + did + "/app.bsky.feed.like/1"},
		{Type: storage.NotificationFollow, ActivityID: "at://" + did + "/app.bsky.graph.follow/1"},
	} {
		n.Account, n.ActorID, n.ActorDomain, n.GroupKey, n.CreatedAt = "news", did, "alice.bsky.social", fmt.Sprint("g", i), now.Add(time.Duration(i)*time.Second)
		if _, _, err := e.store.InsertNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	list := e.get(t, "/api/v1/notifications", tok).list(t)
	if len(list) != 3 {
		t.Fatalf("%d notifications, want 3: %v", len(list), list)
	}
	types := map[string]map[string]any{}
	for _, n := range list {
		types[n["type"].(string)] = n
	}
	acc := types["follow"]["account"].(map[string]any)
	for k, v := range map[string]any{"id": "alice.bsky.social", "acct": "alice.bsky.social", "username": "alice.bsky.social",
		"url": "https://bsky.app/profile/alice.bsky.social", "uri": "at://" + did, "avatar": "https://cdn.bsky.example/a.jpg",
		"display_name": "Alice", "note": "<p>Riveraine</p>"} {
		if acc[k] != v {
			t.Errorf("account %s = %v, want %v", k, acc[k], v)
		}
	}
	if f := acc["fields"].([]any); len(f) != 1 || f[0].(map[string]any)["name"] != "Bluesky" {
		t.Errorf("fields %v, want the Bluesky marker", f)
	}
	if types["follow"]["status"] != nil {
		t.Errorf("a follow with a status: %v", types["follow"]["status"])
	}
	st := types["mention"]["status"].(map[string]any)
	if st["content"] != "<p>Combien de temps ?</p>" || st["in_reply_to_id"] != fmt.Sprint(id) || st["url"] != "https://bsky.app/profile/"+did+"/post/3k" {
		t.Errorf("mention's status %v", st)
	}
	if fav := types["favourite"]["status"].(map[string]any); fav["id"] != fmt.Sprint(id) || fav["favourites_count"] != float64(1) {
		t.Errorf("favourite's status %v", fav)
	}
	v2 := e.get(t, "/api/v2/notifications", tok).json(t)
	if g := v2["notification_groups"].([]any); len(g) != 3 {
		t.Errorf("v2 groups %v", g)
	}
	ctxDoc := e.get(t, fmt.Sprintf("/api/v1/statuses/%d/context", id), tok).json(t)
	desc := ctxDoc["descendants"].([]any)
	if len(desc) != 1 || desc[0].(map[string]any)["uri"] != rs.NoteID {
		t.Errorf("context descendants %v, want the Bluesky reply", desc)
	}
	if got := e.get(t, "/api/v1/accounts/alice.bsky.social", tok).json(t); got["acct"] != "alice.bsky.social" {
		t.Errorf("account by handle: %v", got)
	}
}
