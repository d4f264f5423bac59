package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

func TestExportFollowers(t *testing.T) {
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, f := range []storage.Follower{
		{ActorID: "https://a.example/users/ann", State: storage.FollowerAccepted},
		{ActorID: "https://b.example/u/bob", State: storage.FollowerAccepted},
		{ActorID: "https://c.example/users/cat", State: storage.FollowerPending},
		{ActorID: "https://d.example/users/dan", State: storage.FollowerAccepted}, // address unknown
	} {
		f.Account, f.Inbox, f.FollowActivityID, f.CreatedAt = "news", f.ActorID+"/inbox", f.ActorID+"#f", at
		if f.State == storage.FollowerAccepted {
			f.AcceptedAt = at
		}
		if _, err := store.UpsertFollower(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	for _, ra := range []storage.RemoteActor{
		{ID: "https://a.example/users/ann", PreferredUsername: "ann"},
		{ID: "https://c.example/users/cat", PreferredUsername: "cat"},
	} {
		ra.FetchedAt = at
		if err := store.UpsertRemoteActor(ctx, ra); err != nil {
			t.Fatal(err)
		}
	}
	// bob's WebFinger address is on his account domain, known from his profile.
	if err := store.UpsertRemoteProfile(ctx, storage.RemoteProfile{ActorID: "https://b.example/u/bob", Acct: "bob@example", Domain: "example", UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := store.SetFollowerMovedFrom(ctx, "news", "https://a.example/users/ann", "https://old.example/users/city"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		format      string
		all         bool
		want        string
		wantN       int
		wantSkipped int
	}{
		{"mastodon", "mastodon", false, "Account address,Show boosts,Notify on new posts,Languages\n" +
			"ann@a.example,true,false,\nbob@example,true,false,\n", 2, 1},
		{"actors, pending too", "actors", true, "https://a.example/users/ann\nhttps://b.example/u/bob\n" +
			"https://c.example/users/cat\nhttps://d.example/users/dan\n", 4, 0},
		{"csv", "csv", false, "actor_url,account_address,state,since,moved_from\n" +
			"https://a.example/users/ann,ann@a.example,accepted,2025-03-01T12:00:00Z,https://old.example/users/city\n" +
			"https://b.example/u/bob,bob@example,accepted,2025-03-01T12:00:00Z,\n" +
			"https://d.example/users/dan,,accepted,2025-03-01T12:00:00Z,\n", 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			n, skipped, err := writeFollowers(ctx, store, "news", tt.format, tt.all, &buf)
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.want || n != tt.wantN || skipped != tt.wantSkipped {
				t.Errorf("wrote %d (skipped %d):\n%s\nwant %d (skipped %d):\n%s", n, skipped, buf.String(), tt.wantN, tt.wantSkipped, tt.want)
			}
		})
	}
	if _, _, err := writeFollowers(ctx, store, "news", "json", false, &bytes.Buffer{}); err == nil {
		t.Error("an unknown format was accepted")
	}
}
