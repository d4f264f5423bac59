package storagetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// testBluesky runs the Bluesky mirror storage conformance tests.
func testBluesky(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("Sessions", func(t *testing.T) { testBlueskySessions(t, open(t)) })
	t.Run("Posts", func(t *testing.T) { testBlueskyPosts(t, open(t)) })
	t.Run("Records", func(t *testing.T) { testBlueskyRecords(t, open(t)) })
	t.Run("InTx", func(t *testing.T) { testBlueskyInTx(t, open(t)) })
	t.Run("RescheduleJobs", func(t *testing.T) { testRescheduleJobs(t, open(t)) })
	t.Run("Inbox", func(t *testing.T) { testBlueskyInbox(t, open(t)) })
	t.Run("RecordByURI", func(t *testing.T) { testBlueskyRecordByURI(t, open(t)) })
	t.Run("Shield", func(t *testing.T) { testBlueskyShield(t, open(t)) })
	t.Run("NotificationsBetween", func(t *testing.T) { testNotificationsBetween(t, open(t)) })
}

// testRescheduleJobs: a paused account's jobs (one host) become due at
// once; others keep their time.
func testRescheduleJobs(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	later := now.Add(time.Hour)
	ids := map[string]int64{}
	for _, j := range []struct{ name, kind, host string }{
		{"paused", "bluesky", "bluesky:news"},
		{"paused too", "bluesky", "bluesky:news"},
		{"other account", "bluesky", "bluesky:events"},
		{"other kind", "deliver", "bluesky:news"},
	} {
		ids[j.name] = must(s.EnqueueJob(ctx, storage.NewJob{Kind: j.kind, Host: j.host, RunAt: later}))(t)
	}
	// Already due: left alone.
	early := must(s.EnqueueJob(ctx, storage.NewJob{Kind: "bluesky", Host: "bluesky:news", RunAt: now.Add(-time.Minute)}))(t)
	if n := must(s.RescheduleJobs(ctx, "bluesky", "bluesky:news", now))(t); n != 2 {
		t.Errorf("rescheduled %d jobs, want 2", n)
	}
	for name, id := range ids {
		j := must(s.GetJob(ctx, id))(t)
		want := later
		if name == "paused" || name == "paused too" {
			want = now
		}
		if !j.RunAt.Equal(want) {
			t.Errorf("%s: run at %v, want %v", name, j.RunAt, want)
		}
	}
	if j := must(s.GetJob(ctx, early))(t); !j.RunAt.Equal(now.Add(-time.Minute)) {
		t.Errorf("an already due job moved to %v", j.RunAt)
	}
	// A running job is not touched.
	claimed := must(s.ClaimJobs(ctx, "w", []string{"bluesky"}, 10, time.Minute, now))(t)
	if len(claimed) != 3 {
		t.Fatalf("claimed %d jobs, want 3", len(claimed))
	}
	if n := must(s.RescheduleJobs(ctx, "bluesky", "bluesky:news", now.Add(-time.Hour)))(t); n != 0 {
		t.Errorf("rescheduled %d running jobs", n)
	}
}

func testBlueskySessions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	_, err := s.GetBlueskySession(ctx, "news")
	wantErr(t, err, storage.ErrNotFound)

	// A state without any session yet (the first login failed).
	check(t, s.SetBlueskySessionState(ctx, "news", "login failed", "AuthenticationRequired: Invalid identifier or password", now.Add(time.Hour), now))
	got := must(s.GetBlueskySession(ctx, "news"))(t)
	if got.State != "login failed" || got.AccessJWT != nil || got.RefreshJWT != nil || got.DID != "" ||
		!got.PausedUntil.Equal(now.Add(time.Hour)) || !got.UpdatedAt.Equal(now) {
		t.Errorf("state-only session = %+v", got)
	}

	sess := storage.BlueskySession{
		Account: "news", DID: "did:plc:abc", Handle: "city.example", PDSURL: "https://pds.example",
		AccessJWT: []byte{0, 1, 2, 0xff}, RefreshJWT: []byte("sealed\x00refresh"),
		State: "active", UpdatedAt: now,
	}
	check(t, s.PutBlueskySession(ctx, sess))
	got = must(s.GetBlueskySession(ctx, "news"))(t)
	if got.DID != sess.DID || got.Handle != sess.Handle || got.PDSURL != sess.PDSURL ||
		!bytes.Equal(got.AccessJWT, sess.AccessJWT) || !bytes.Equal(got.RefreshJWT, sess.RefreshJWT) ||
		got.State != "active" || got.LastError != "" || !got.PausedUntil.IsZero() || !got.UpdatedAt.Equal(now) {
		t.Errorf("GetBlueskySession = %+v, want %+v", got, sess)
	}

	// The state changes, the tokens stay.
	later := now.Add(time.Minute)
	check(t, s.SetBlueskySessionState(ctx, "news", "unreachable", "dial tcp: refused", time.Time{}, later))
	got = must(s.GetBlueskySession(ctx, "news"))(t)
	if got.State != "unreachable" || got.LastError != "dial tcp: refused" || !bytes.Equal(got.AccessJWT, sess.AccessJWT) ||
		got.DID != sess.DID || !got.PausedUntil.IsZero() || !got.UpdatedAt.Equal(later) {
		t.Errorf("after SetBlueskySessionState = %+v", got)
	}

	// Replaced entirely.
	sess.AccessJWT, sess.RefreshJWT = []byte("new access"), nil
	check(t, s.PutBlueskySession(ctx, sess))
	got = must(s.GetBlueskySession(ctx, "news"))(t)
	if string(got.AccessJWT) != "new access" || got.RefreshJWT != nil || got.State != "active" {
		t.Errorf("after replacement = %+v", got)
	}
	_, err = s.GetBlueskySession(ctx, "other")
	wantErr(t, err, storage.ErrNotFound)
}

func testBlueskyPosts(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	_, err := s.GetBlueskyPost(ctx, 42)
	wantErr(t, err, storage.ErrNotFound)
	if ok := must(s.SetBlueskyPostState(ctx, 42, 1, storage.BlueskyMirrored, "", now))(t); ok {
		t.Error("SetBlueskyPostState of an unknown post reported a change")
	}

	if v := must(s.BumpBlueskyPost(ctx, 42, "news", now))(t); v != 1 {
		t.Errorf("first version = %d, want 1", v)
	}
	p := must(s.GetBlueskyPost(ctx, 42))(t)
	if p.StatusID != 42 || p.Account != "news" || p.Version != 1 || p.State != storage.BlueskyPending || p.LastError != "" || !p.UpdatedAt.Equal(now) {
		t.Errorf("GetBlueskyPost = %+v", p)
	}
	if ok := must(s.SetBlueskyPostState(ctx, 42, 1, storage.BlueskyFailed, "InvalidRecord: bad", now))(t); !ok {
		t.Error("SetBlueskyPostState of the current version reported no change")
	}
	p = must(s.GetBlueskyPost(ctx, 42))(t)
	if p.State != storage.BlueskyFailed || p.LastError != "InvalidRecord: bad" {
		t.Errorf("after failure = %+v", p)
	}

	// A new version (an edit) resets the state; the old version's outcome
	// no longer applies.
	later := now.Add(time.Second)
	if v := must(s.BumpBlueskyPost(ctx, 42, "news", later))(t); v != 2 {
		t.Errorf("second version = %d, want 2", v)
	}
	p = must(s.GetBlueskyPost(ctx, 42))(t)
	if p.Version != 2 || p.State != storage.BlueskyPending || p.LastError != "" || !p.UpdatedAt.Equal(later) {
		t.Errorf("after bump = %+v", p)
	}
	if ok := must(s.SetBlueskyPostState(ctx, 42, 1, storage.BlueskyMirrored, "", later))(t); ok {
		t.Error("SetBlueskyPostState of a superseded version reported a change")
	}
	if ok := must(s.SetBlueskyPostState(ctx, 42, 2, storage.BlueskyMirrored, "", later))(t); !ok {
		t.Error("SetBlueskyPostState of version 2 reported no change")
	}
	if p = must(s.GetBlueskyPost(ctx, 42))(t); p.State != storage.BlueskyMirrored {
		t.Errorf("state = %q, want mirrored", p.State)
	}
	// Versions are per status.
	if v := must(s.BumpBlueskyPost(ctx, 43, "news", now))(t); v != 1 {
		t.Errorf("other status's first version = %d, want 1", v)
	}
}

func testBlueskyRecords(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	if rs := must(s.ListBlueskyRecords(ctx, 7))(t); len(rs) != 0 {
		t.Errorf("records of an unmirrored status = %v", rs)
	}
	at := "at://did:plc:abc/app.bsky.feed."
	put := []storage.BlueskyRecord{
		{StatusID: 7, Kind: storage.BlueskyKindPostgate, Position: 0, Account: "news", RKey: "3aaa", URI: at + "postgate/3aaa", CID: "c0g", CreatedAt: now},
		{StatusID: 7, Kind: storage.BlueskyKindPost, Position: 1, Account: "news", RKey: "3bbb", CreatedAt: now}, // planned
		{StatusID: 7, Kind: storage.BlueskyKindThreadgate, Position: 0, Account: "news", RKey: "3aaa", URI: at + "threadgate/3aaa", CID: "c0t", CreatedAt: now},
		{StatusID: 7, Kind: storage.BlueskyKindPost, Position: 0, Account: "news", RKey: "3aaa", URI: at + "post/3aaa", CID: "c0", CreatedAt: now},
		{StatusID: 8, Kind: storage.BlueskyKindPost, Position: 0, Account: "news", RKey: "3ccc", URI: at + "post/3ccc", CID: "c8", CreatedAt: now},
	}
	for _, r := range put {
		check(t, s.PutBlueskyRecord(ctx, r))
	}
	rs := must(s.ListBlueskyRecords(ctx, 7))(t)
	want := []string{"post 0 3aaa", "threadgate 0 3aaa", "postgate 0 3aaa", "post 1 3bbb"}
	if len(rs) != len(want) {
		t.Fatalf("ListBlueskyRecords = %+v, want %v", rs, want)
	}
	for i, r := range rs {
		if got := r.Kind + " " + string(rune('0'+r.Position)) + " " + r.RKey; got != want[i] {
			t.Errorf("record %d = %q, want %q", i, got, want[i])
		}
		if r.StatusID != 7 || r.Account != "news" || !r.CreatedAt.Equal(now) {
			t.Errorf("record %d = %+v", i, r)
		}
	}
	if rs[0].URI != at+"post/3aaa" || rs[0].CID != "c0" || rs[3].URI != "" || rs[3].CID != "" {
		t.Errorf("uri/cid = %+v", rs)
	}

	// The planned record is created: same key, URI and CID filled in.
	created := put[1]
	created.URI, created.CID = at+"post/3bbb", "c1"
	check(t, s.PutBlueskyRecord(ctx, created))
	rs = must(s.ListBlueskyRecords(ctx, 7))(t)
	if len(rs) != 4 || rs[3].URI != created.URI || rs[3].CID != "c1" {
		t.Errorf("after creation = %+v", rs)
	}

	check(t, s.DeleteBlueskyRecord(ctx, 7, storage.BlueskyKindThreadgate, 0))
	check(t, s.DeleteBlueskyRecord(ctx, 7, storage.BlueskyKindThreadgate, 0)) // absent: no error
	rs = must(s.ListBlueskyRecords(ctx, 7))(t)
	if len(rs) != 3 || rs[1].Kind != storage.BlueskyKindPostgate {
		t.Errorf("after delete = %+v", rs)
	}
	if rs := must(s.ListBlueskyRecords(ctx, 8))(t); len(rs) != 1 || rs[0].RKey != "3ccc" {
		t.Errorf("status 8 = %+v", rs)
	}
}

// testBlueskyInTx: the mirror's rows are written in the publishing
// transaction, together with the post, or not at all.
func testBlueskyInTx(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(q storage.Queries) error {
		if _, err := q.BumpBlueskyPost(ctx, 9, "news", now); err != nil {
			return err
		}
		if err := q.PutBlueskyRecord(ctx, storage.BlueskyRecord{StatusID: 9, Kind: storage.BlueskyKindPost, Account: "news", RKey: "3ddd"}); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom)
	_, err = s.GetBlueskyPost(ctx, 9)
	wantErr(t, err, storage.ErrNotFound)
	if rs := must(s.ListBlueskyRecords(ctx, 9))(t); len(rs) != 0 {
		t.Errorf("records after rollback = %+v", rs)
	}

	check(t, s.InTx(ctx, func(q storage.Queries) error {
		v, err := q.BumpBlueskyPost(ctx, 9, "news", now)
		if err == nil && v != 1 {
			err = errors.New("version is not 1")
		}
		return err
	}))
	if p := must(s.GetBlueskyPost(ctx, 9))(t); p.Version != 1 {
		t.Errorf("after commit = %+v", p)
	}
}
