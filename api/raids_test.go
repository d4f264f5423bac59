package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/storage"
)

// TestRaidBothNetworks: a raid's mentions and quotes from the fediverse
// and from Bluesky are one raid; its servers are the fediverse's, and
// what came from Bluesky is one origin (how many mentions, how many
// accounts); the raid's block blocks the servers and shields the account
// on Bluesky in one call (or only what domains[] picks, "bsky" naming
// Bluesky); blocking from the app a Bluesky account of a raid going on
// shields against the whole raid, and blocking one that is not in it
// does not.
func TestRaidBothNetworks(t *testing.T) {
	mod := &fakeModeration{}
	fake := &fakeBluesky{}
	e := newEnv(t, envOptions{bluesky: fake, moderation: func(storage.Store) api.DomainModerator { return mod }})
	tok := e.token(t, "news", "read write")
	ctx := context.Background()
	id := mustID(t, e.post(t, tok, url.Values{"status": {"Statement"}}))
	now := time.Now().UTC()
	insert := func(i int, actor, domain, typ string) {
		t.Helper()
		if _, _, err := e.store.InsertNotification(ctx, storage.Notification{Account: "news", Type: typ,
			ActivityID: fmt.Sprintf("%s/post/%d", actor, i), ActorID: actor, ActorDomain: domain, StatusID: id,
			GroupKey: fmt.Sprint("g", i), CreatedAt: now.Add(-time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	// 12 mentions from 2 fediverse servers, 18 replies and quotes from 6
	// Bluesky accounts (their handles on 3 domains).
	for i := range 12 {
		domain := []string{"evil.example", "bad.example"}[i%2]
		insert(i, fmt.Sprintf("https://%s/users/t%d", domain, i%4), domain, storage.NotificationMention)
	}
	for i := range 18 {
		typ := storage.NotificationMention
		if i%3 == 0 {
			typ = storage.NotificationQuote
		}
		handle := fmt.Sprintf("raider%d.%s", i%6, []string{"bsky.social", "example.com", "example.org"}[i%3])
		insert(100+i, fmt.Sprintf("did:plc:raider%d", i%6), handle, typ)
	}
	if err := e.store.UpsertRemoteProfile(ctx, storage.RemoteProfile{ActorID: "did:plc:raider1", Acct: "raider1.example.com",
		Domain: "raider1.example.com", UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.UpsertRemoteProfile(ctx, storage.RemoteProfile{ActorID: "did:plc:friend", Acct: "friend.bsky.social",
		Domain: "friend.bsky.social", UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}

	raids := e.get(t, "/api/v1/passerelle/raids", tok).list(t)
	if len(raids) != 1 {
		t.Fatalf("raids = %v, want one", raids)
	}
	rd := raids[0]
	var servers []string
	for _, sv := range rd["servers"].([]any) {
		servers = append(servers, sv.(map[string]any)["domain"].(string))
	}
	slices.Sort(servers)
	bsky := rd["bluesky"].(map[string]any)
	if rd["mentions"] != 30.0 || rd["accounts"] != 10.0 || !slices.Equal(servers, []string{"bad.example", "evil.example"}) ||
		bsky["mentions"] != 18.0 || bsky["accounts"] != 6.0 {
		t.Errorf("raid = %v", rd)
	}
	if s := rd["summary"].(string); !strings.HasPrefix(s, "30 mentions from 10 accounts on 2 servers and Bluesky in ") {
		t.Errorf("summary %q", s)
	}
	path := "/api/v1/passerelle/raids/" + rd["id"].(string) + "/block"

	// Only a server: Bluesky is left alone.
	if r := e.form(t, http.MethodPost, path, tok, url.Values{"domains[]": {"evil.example"}}); r.code != 200 || len(fake.shields) != 0 {
		t.Fatalf("block of one server: %d %s, shields %v", r.code, r.body, fake.shields)
	}
	// Only Bluesky.
	r := e.form(t, http.MethodPost, path, tok, url.Values{"domains[]": {"bsky"}})
	if r.code != 200 || len(fake.shields) != 1 || slices.Contains(mod.blocked["news"], "bad.example") {
		t.Fatalf("block of Bluesky: %d %s, shields %v, blocked %v", r.code, r.body, fake.shields, mod.blocked)
	}
	if b, ok := r.json(t)["bluesky"].(map[string]any); !ok || b["replies_hidden"] != 2.0 || b["accounts_blocked"] != 3.0 {
		t.Errorf("block answer: %s", r.body)
	}
	if got := fake.shields[0]; got[0].After(now.Add(-117*time.Second)) || !got[1].After(now) {
		t.Errorf("shielded span %v, want the raid's (%s)", got, rd["id"])
	}
	// Everything.
	if r := e.form(t, http.MethodPost, path, tok, nil); r.code != 200 || len(fake.shields) != 2 || !slices.Contains(mod.blocked["news"], "bad.example") {
		t.Fatalf("block of the raid: %d %s, shields %v, blocked %v", r.code, r.body, fake.shields, mod.blocked)
	}

	// The app's block of a raider shields against the raid; of someone
	// else, it does not.
	if r := e.form(t, http.MethodPost, "/api/v1/accounts/raider1.example.com/block", tok, nil); r.code != 200 || len(fake.shields) != 3 {
		t.Errorf("block of a raider: %d %s, shields %d, calls %v", r.code, r.body, len(fake.shields), fake.calls)
	}
	if r := e.form(t, http.MethodPost, "/api/v1/accounts/friend.bsky.social/block", tok, nil); r.code != 200 || len(fake.shields) != 3 {
		t.Errorf("block of an account not in the raid: %d %s, shields %d", r.code, r.body, len(fake.shields))
	}
}
