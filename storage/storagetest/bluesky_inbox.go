package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// testBlueskyInbox: how far an account's Bluesky notifications were read
// is kept per account and replaced whole.
func testBlueskyInbox(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	if _, err := s.GetBlueskyInbox(ctx, "news"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetBlueskyInbox before any poll: %v, want ErrNotFound", err)
	}
	first := storage.BlueskyInbox{Account: "news", Newest: "2026-12-06T10:00:00.123Z", SeenAt: "2026-12-06T10:00:00.123Z",
		PolledAt: now, ActiveAt: now.Add(-time.Minute), UpdatedAt: now}
	check(t, s.PutBlueskyInbox(ctx, first))
	check(t, s.PutBlueskyInbox(ctx, storage.BlueskyInbox{Account: "events", Failures: 2, LastError: "PDS unreachable", PolledAt: now}))
	got := must(s.GetBlueskyInbox(ctx, "news"))(t)
	if got != first {
		t.Errorf("GetBlueskyInbox = %+v, want %+v", got, first)
	}
	second := storage.BlueskyInbox{Account: "news", Newest: "2026-12-06T10:05:00Z", SeenAt: first.SeenAt,
		PolledAt: now.Add(time.Minute), Failures: 1, LastError: "rate limited", UpdatedAt: now.Add(time.Minute)}
	check(t, s.PutBlueskyInbox(ctx, second))
	if got := must(s.GetBlueskyInbox(ctx, "news"))(t); got != second {
		t.Errorf("after a second put: %+v, want %+v (active_at cleared too)", got, second)
	}
	if got := must(s.GetBlueskyInbox(ctx, "events"))(t); got.Failures != 2 || got.Newest != "" || !got.ActiveAt.IsZero() {
		t.Errorf("the other account's row: %+v", got)
	}
}

// testBlueskyRecordByURI: our records are found by their at:// URI
// (the first post of a thread, and its later posts); planned records
// (no URI yet) and others' URIs are not.
func testBlueskyRecordByURI(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const did = "at://did:plc:abc/app.bsky.feed.post/"
	for _, r := range []storage.BlueskyRecord{
		{StatusID: 7, Kind: storage.BlueskyKindPost, Position: 0, Account: "news", RKey: "a", URI: did + "a", CID: "c1"},
		{StatusID: 7, Kind: storage.BlueskyKindThreadgate, Position: 0, Account: "news", RKey: "a", URI: "at://did:plc:abc/app.bsky.feed.threadgate/a", CID: "c2"},
		{StatusID: 7, Kind: storage.BlueskyKindPost, Position: 1, Account: "news", RKey: "b", URI: did + "b", CID: "c3"},
		{StatusID: 8, Kind: storage.BlueskyKindPost, Position: 0, Account: "news", RKey: "p"}, // planned
	} {
		check(t, s.PutBlueskyRecord(ctx, r))
	}
	for _, tc := range []struct {
		name, uri string
		status    int64
		position  int
	}{
		{"first post", did + "a", 7, 0},
		{"second post of the thread", did + "b", 7, 1},
		{"a threadgate", "at://did:plc:abc/app.bsky.feed.threadgate/a", 7, 0},
		{"someone else's", "at://did:plc:zzz/app.bsky.feed.post/a", 0, 0},
		{"empty (a planned record has none)", "", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.GetBlueskyRecordByURI(ctx, tc.uri)
			if tc.status == 0 {
				if !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("GetBlueskyRecordByURI(%q) = %+v, %v; want ErrNotFound", tc.uri, r, err)
				}
				return
			}
			if err != nil || r.StatusID != tc.status || r.Position != tc.position || r.URI != tc.uri {
				t.Fatalf("GetBlueskyRecordByURI(%q) = %+v, %v", tc.uri, r, err)
			}
		})
	}
}
