package reach

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

type fakeBluesky struct {
	counts map[string]int64
	err    error
	asked  []string
}

func (f *fakeBluesky) FollowersCount(_ context.Context, username string) (int64, error) {
	f.asked = append(f.asked, username)
	if f.err != nil {
		return 0, f.err
	}
	return f.counts[username], nil
}

func follow(t *testing.T, s storage.Store, account, actor, state string) {
	t.Helper()
	f := storage.Follower{Account: account, ActorID: actor, Inbox: actor + "/inbox", FollowActivityID: actor + "#follow",
		State: state, CreatedAt: time.Now()}
	if state == storage.FollowerAccepted {
		f.AcceptedAt = time.Now()
	}
	if _, err := s.UpsertFollower(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

// TestSampleOnce: every account gets today's sample, with its accepted
// followers; only the mirrored accounts are asked their Bluesky count; a
// count Bluesky does not give leaves the day's earlier one; the job puts
// itself back Every later.
func TestSampleOnce(t *testing.T) {
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	follow(t, store, "news", "https://a.example/u/1", storage.FollowerAccepted)
	follow(t, store, "news", "https://b.example/u/2", storage.FollowerAccepted)
	follow(t, store, "news", "https://c.example/u/3", storage.FollowerPending)
	follow(t, store, "mayor", "https://a.example/u/1", storage.FollowerAccepted)
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	bsky := &fakeBluesky{counts: map[string]int64{"news": 40, "mayor": 7}}
	s := New(Settings{Accounts: []string{"News", "mayor"}, Mirrored: []string{"news"}, Bluesky: bsky,
		Now: func() time.Time { return now }}, store, zerolog.New(zerolog.NewTestWriter(t)))

	err := s.handle(ctx, &jobs.Job{})
	var again *jobs.RetryAtError
	if !errors.As(err, &again) || again.Err != nil || !again.At.Equal(now.Add(Every)) {
		t.Fatalf("handle = %v, want the job put back at %v", err, now.Add(Every))
	}
	if !reflect.DeepEqual(bsky.asked, []string{"news"}) {
		t.Errorf("Bluesky asked for %v, want news only (mayor is not mirrored)", bsky.asked)
	}
	cases := []struct {
		account string
		want    storage.FollowerSnapshot
	}{
		{"news", storage.FollowerSnapshot{Account: "news", Day: "2026-12-06", Fediverse: 2, Bluesky: 40, BlueskyOK: true, TakenAt: now}},
		{"mayor", storage.FollowerSnapshot{Account: "mayor", Day: "2026-12-06", Fediverse: 1, TakenAt: now}},
	}
	for _, c := range cases {
		got, err := store.FollowerSnapshots(ctx, c.account, "2026-12-01")
		if err != nil || len(got) != 1 || got[0] != c.want {
			t.Errorf("snapshots of %s = %+v, %v; want %+v", c.account, got, err, c.want)
		}
	}

	// Later that day Bluesky fails: the fediverse count moves on, the
	// Bluesky one stays.
	follow(t, store, "news", "https://d.example/u/4", storage.FollowerAccepted)
	now = now.Add(Every)
	bsky.err = errors.New("PDS unreachable")
	if err := s.SampleOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := store.FollowerSnapshots(ctx, "news", "2026-12-06")
	if err != nil || len(got) != 1 || got[0].Fediverse != 3 || !got[0].BlueskyOK || got[0].Bluesky != 40 {
		t.Errorf("after a failed Bluesky read, news = %+v, %v; want 3 followers and Bluesky's 40 kept", got, err)
	}
}

// TestSchedule: the job is queued once, due at start-up.
func TestSchedule(t *testing.T) {
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	s := New(Settings{Accounts: []string{"news"}, Now: func() time.Time { return now }}, store, zerolog.Nop())
	for range 2 {
		if err := s.schedule(ctx); err != nil {
			t.Fatal(err)
		}
	}
	js, err := store.ListJobsByRef(ctx, JobSnapshot, JobSnapshot, storage.JobPending, 10)
	if err != nil || len(js) != 1 || js[0].RunAt.After(now) {
		t.Fatalf("jobs %+v, %v; want one due at %v", js, err, now)
	}
}
