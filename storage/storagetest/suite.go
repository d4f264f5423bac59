package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// Run runs the conformance suite. open must return a new, empty store for
// each call (closed by the test's cleanup).
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("Basics", func(t *testing.T) { testBasics(t, open(t)) })
	t.Run("KeyPairs", func(t *testing.T) { testKeyPairs(t, open(t)) })
	t.Run("ProcessedActivities", func(t *testing.T) { testProcessedActivities(t, open(t)) })
	t.Run("OutgoingActivities", func(t *testing.T) { testOutgoingActivities(t, open(t)) })
	t.Run("FollowerUpsert", func(t *testing.T) { testFollowerUpsert(t, open(t)) })
	t.Run("FollowerState", func(t *testing.T) { testFollowerState(t, open(t)) })
	t.Run("FollowerCountAndList", func(t *testing.T) { testFollowerCountAndList(t, open(t)) })
	t.Run("FollowerDelete", func(t *testing.T) { testFollowerDelete(t, open(t)) })
	t.Run("RemoteActors", func(t *testing.T) { testRemoteActors(t, open(t)) })
	t.Run("EnqueueJob", func(t *testing.T) { testEnqueueJob(t, open(t)) })
	t.Run("ClaimRunAt", func(t *testing.T) { testClaimRunAt(t, open(t)) })
	t.Run("ClaimKinds", func(t *testing.T) { testClaimKinds(t, open) })
	t.Run("ClaimLimitAndOrder", func(t *testing.T) { testClaimLimitAndOrder(t, open(t)) })
	t.Run("ClaimLease", func(t *testing.T) { testClaimLease(t, open(t)) })
	t.Run("FinishJob", func(t *testing.T) { testFinishJob(t, open) })
	t.Run("LeaseLost", func(t *testing.T) { testLeaseLost(t, open) })
	t.Run("CompleteJobs", func(t *testing.T) { testCompleteJobs(t, open(t)) })
	t.Run("EnqueueJobs", func(t *testing.T) { testEnqueueJobs(t, open(t)) })
	t.Run("ReleaseJobs", func(t *testing.T) { testReleaseJobs(t, open(t)) })
	t.Run("RenewJobLeases", func(t *testing.T) { testRenewJobLeases(t, open(t)) })
	t.Run("JobStats", func(t *testing.T) { testJobStats(t, open(t)) })
	t.Run("RefStats", func(t *testing.T) { testRefStats(t, open(t)) })
	t.Run("PruneJobs", func(t *testing.T) { testPruneJobs(t, open(t)) })
	t.Run("InTx", func(t *testing.T) { testInTx(t, open) })
	t.Run("ConcurrentClaims", func(t *testing.T) { testConcurrentClaims(t, open(t)) })
	t.Run("KV", func(t *testing.T) { testKV(t, open) })
	t.Run("Content", func(t *testing.T) { RunContent(t, open) })
	t.Run("Bluesky", func(t *testing.T) { testBluesky(t, open) })
	t.Run("Sources", func(t *testing.T) { RunSources(t, open) })
	t.Run("Interactions", func(t *testing.T) { RunInteractions(t, open) })
	t.Run("Presence", func(t *testing.T) { RunPresence(t, open) })
	t.Run("Moderation", func(t *testing.T) { RunModeration(t, open) })
	t.Run("AccountDomainBlocks", func(t *testing.T) { RunAccountDomainBlocks(t, open) })
	t.Run("Moves", func(t *testing.T) { RunMoves(t, open) })
	t.Run("Push", func(t *testing.T) { RunPush(t, open) })
	t.Run("Team", func(t *testing.T) { RunTeam(t, open) })
	t.Run("NoticeFunnel", func(t *testing.T) { RunNoticeFunnel(t, open) })
	t.Run("Reach", func(t *testing.T) { RunReach(t, open) })
	t.Run("Polls", func(t *testing.T) { RunPolls(t, open) })
	t.Run("Follows", func(t *testing.T) { RunFollows(t, open) })
	t.Run("Crisis", func(t *testing.T) { RunCrisis(t, open) })
}

// base is a test clock: now, to the microsecond the stores keep.
func base() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// must returns v, failing the test on err: v := must(s.GetJob(ctx, id))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func testBasics(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if d := s.Driver(); d != "sqlite" && d != "postgres" {
		t.Errorf("Driver() = %q", d)
	}
	check(t, s.Ping(ctx))
	if v := must(s.SchemaVersion(ctx))(t); v < 1 {
		t.Errorf("SchemaVersion() = %d, want >= 1", v)
	}
}

func testKeyPairs(t *testing.T, s storage.Store) {
	ctx := context.Background()
	kp := storage.KeyPair{Owner: "instance", PrivateKey: "PRIV", PublicKey: "PUB", CreatedAt: base()}
	check(t, s.InsertKeyPair(ctx, kp))

	got := must(s.GetKeyPair(ctx, "instance"))(t)
	if got.Owner != kp.Owner || got.PrivateKey != kp.PrivateKey || got.PublicKey != kp.PublicKey || !got.CreatedAt.Equal(kp.CreatedAt) {
		t.Errorf("GetKeyPair = %+v, want %+v", got, kp)
	}

	other := kp
	other.PrivateKey = "OTHER"
	wantErr(t, s.InsertKeyPair(ctx, other), storage.ErrAlreadyExists)
	if got := must(s.GetKeyPair(ctx, "instance"))(t); got.PrivateKey != "PRIV" {
		t.Errorf("key replaced by a failed insert: %q", got.PrivateKey)
	}

	_, err := s.GetKeyPair(ctx, "nobody")
	wantErr(t, err, storage.ErrNotFound)
}

func testProcessedActivities(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	const ann, bob = "https://remote.example/users/ann", "https://remote.example/users/bob"
	steps := []struct {
		name  string
		actor string
		id    string
		at    time.Time
		want  bool
	}{
		{"first time", ann, "https://remote.example/a/1", now.Add(-2 * time.Hour), true},
		{"again", ann, "https://remote.example/a/1", now, false},
		{"another id", ann, "https://remote.example/a/2", now, true},
		// An id claimed by one actor does not make another's a duplicate.
		{"same id, another actor", bob, "https://remote.example/a/2", now, true},
		{"same id, that actor again", bob, "https://remote.example/a/2", now, false},
	}
	for _, st := range steps {
		if got := must(s.MarkActivityProcessed(ctx, st.actor, st.id, st.at))(t); got != st.want {
			t.Errorf("%s: first = %v, want %v", st.name, got, st.want)
		}
	}

	if n := must(s.PruneActivities(ctx, now.Add(-time.Hour)))(t); n != 1 {
		t.Errorf("PruneActivities = %d, want 1", n)
	}
	if !must(s.MarkActivityProcessed(ctx, ann, "https://remote.example/a/1", now))(t) {
		t.Error("pruned id still recorded")
	}
	if must(s.MarkActivityProcessed(ctx, ann, "https://remote.example/a/2", now))(t) {
		t.Error("recent id pruned")
	}
}

// testOutgoingActivities: an outgoing activity is kept while a pending or
// running job names it, whatever its age, and pruned after.
func testOutgoingActivities(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	body := []byte(`{"type":"Create"}`)
	id := must(s.InsertOutgoingActivity(ctx, "news", body, now.Add(-48*time.Hour)))(t)
	young := must(s.InsertOutgoingActivity(ctx, "news", body, now))(t)
	if id == young || id <= 0 {
		t.Fatalf("ids %d and %d", id, young)
	}
	if got := must(s.GetOutgoingActivity(ctx, id))(t); string(got) != string(body) {
		t.Errorf("GetOutgoingActivity = %s", got)
	}
	fan := must(s.EnqueueJob(ctx, storage.NewJob{Kind: "fanout", ActivityID: id}))(t)
	del := must(s.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", ActivityID: id, Key: "d1"}))(t)
	prune := func() int64 { return must(s.PruneOutgoingActivities(ctx, now.Add(-time.Hour)))(t) }
	if n := prune(); n != 0 {
		t.Fatalf("pruned %d activities named by pending jobs", n)
	}
	jobs := must(s.ClaimJobs(ctx, "w1", []string{"fanout", "deliver"}, 10, time.Minute, time.Now()))(t)
	if len(jobs) != 2 {
		t.Fatalf("claimed %d jobs", len(jobs))
	}
	check(t, s.CompleteJob(ctx, fan, "w1"))
	if n := prune(); n != 0 {
		t.Fatalf("pruned %d activities named by a running job", n)
	}
	check(t, s.FailJob(ctx, del, "w1", "gone"))
	if n := prune(); n != 1 {
		t.Fatalf("pruned %d, want the old activity no job names", n)
	}
	_, err := s.GetOutgoingActivity(ctx, id)
	wantErr(t, err, storage.ErrNotFound)
	must(s.GetOutgoingActivity(ctx, young))(t) // too young to go
}

func follower(account, actor, state string, created time.Time) storage.Follower {
	return storage.Follower{
		Account:          account,
		ActorID:          actor,
		Inbox:            actor + "/inbox",
		SharedInbox:      "https://remote.example/inbox",
		FollowActivityID: actor + "#follow",
		State:            state,
		CreatedAt:        created,
	}
}

func sameFollower(a, b storage.Follower) bool {
	return a.Account == b.Account && a.ActorID == b.ActorID && a.Inbox == b.Inbox &&
		a.SharedInbox == b.SharedInbox && a.FollowActivityID == b.FollowActivityID &&
		a.State == b.State && a.CreatedAt.Equal(b.CreatedAt) && a.AcceptedAt.Equal(b.AcceptedAt)
}

func testFollowerUpsert(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	f := follower("news", "https://remote.example/users/ann", storage.FollowerPending, now)

	if !must(s.UpsertFollower(ctx, f))(t) {
		t.Error("first upsert: created = false")
	}
	if got := must(s.GetFollower(ctx, "news", f.ActorID))(t); !sameFollower(got, f) {
		t.Errorf("GetFollower = %+v, want %+v", got, f)
	}

	// Update: new inbox, accepted. CreatedAt is kept.
	upd := f
	upd.Inbox = "https://remote.example/users/ann/inbox2"
	upd.SharedInbox = ""
	upd.FollowActivityID = "https://remote.example/follows/2"
	upd.State = storage.FollowerAccepted
	upd.CreatedAt = now.Add(time.Hour)
	upd.AcceptedAt = now.Add(time.Minute)
	if must(s.UpsertFollower(ctx, upd))(t) {
		t.Error("second upsert: created = true")
	}
	want := upd
	want.CreatedAt = f.CreatedAt
	if got := must(s.GetFollower(ctx, "news", f.ActorID))(t); !sameFollower(got, want) {
		t.Errorf("after update GetFollower = %+v, want %+v", got, want)
	}

	// AcceptedAt, once set, is kept.
	again := upd
	again.AcceptedAt = now.Add(2 * time.Hour)
	must(s.UpsertFollower(ctx, again))(t)
	if got := must(s.GetFollower(ctx, "news", f.ActorID))(t); !got.AcceptedAt.Equal(upd.AcceptedAt) {
		t.Errorf("AcceptedAt = %v, want kept %v", got.AcceptedAt, upd.AcceptedAt)
	}

	_, err := s.GetFollower(ctx, "news", "https://remote.example/users/nobody")
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetFollower(ctx, "other", f.ActorID)
	wantErr(t, err, storage.ErrNotFound)
}

func testFollowerState(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	f := follower("news", "https://remote.example/users/ann", storage.FollowerPending, now)
	must(s.UpsertFollower(ctx, f))(t)

	steps := []struct {
		name         string
		state        string
		at           time.Time
		wantAccepted time.Time
	}{
		{"accept", storage.FollowerAccepted, now.Add(time.Minute), now.Add(time.Minute)},
		{"accept again keeps the first time", storage.FollowerAccepted, now.Add(time.Hour), now.Add(time.Minute)},
		{"back to pending clears it", storage.FollowerPending, now.Add(2 * time.Hour), time.Time{}},
		{"accept anew", storage.FollowerAccepted, now.Add(3 * time.Hour), now.Add(3 * time.Hour)},
	}
	for _, st := range steps {
		check(t, s.SetFollowerState(ctx, "news", f.ActorID, st.state, st.at))
		got := must(s.GetFollower(ctx, "news", f.ActorID))(t)
		if got.State != st.state || !got.AcceptedAt.Equal(st.wantAccepted) {
			t.Errorf("%s: state %q accepted %v, want %q %v", st.name, got.State, got.AcceptedAt, st.state, st.wantAccepted)
		}
	}

	wantErr(t, s.SetFollowerState(ctx, "news", "https://remote.example/users/nobody", storage.FollowerAccepted, now), storage.ErrNotFound)
}

func testFollowerCountAndList(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	// Inserted out of order; actor ids sort as listed in want* below.
	actors := []struct{ id, state string }{
		{"https://c.example/u/3", storage.FollowerAccepted},
		{"https://a.example/u/1", storage.FollowerAccepted},
		{"https://e.example/u/5", storage.FollowerPending},
		{"https://b.example/u/2", storage.FollowerPending},
		{"https://d.example/u/4", storage.FollowerAccepted},
	}
	for _, a := range actors {
		must(s.UpsertFollower(ctx, follower("news", a.id, a.state, now)))(t)
	}
	must(s.UpsertFollower(ctx, follower("other", "https://z.example/u/9", storage.FollowerAccepted, now)))(t)

	counts := []struct {
		account, state string
		want           int64
	}{
		{"news", "", 5},
		{"news", storage.FollowerAccepted, 3},
		{"news", storage.FollowerPending, 2},
		{"other", "", 1},
		{"nobody", "", 0},
	}
	for _, c := range counts {
		if got := must(s.CountFollowers(ctx, c.account, c.state))(t); got != c.want {
			t.Errorf("CountFollowers(%q, %q) = %d, want %d", c.account, c.state, got, c.want)
		}
	}

	lists := []struct {
		name  string
		state string
		limit int
		want  [][]string // pages
	}{
		{"all by two", "", 2, [][]string{
			{"https://a.example/u/1", "https://b.example/u/2"},
			{"https://c.example/u/3", "https://d.example/u/4"},
			{"https://e.example/u/5"},
		}},
		{"accepted by two", storage.FollowerAccepted, 2, [][]string{
			{"https://a.example/u/1", "https://c.example/u/3"},
			{"https://d.example/u/4"},
		}},
		{"pending in one page", storage.FollowerPending, 10, [][]string{
			{"https://b.example/u/2", "https://e.example/u/5"},
		}},
	}
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			var pages [][]string
			after := ""
			for {
				fs := must(s.ListFollowers(ctx, "news", l.state, after, l.limit))(t)
				if len(fs) == 0 {
					break
				}
				var page []string
				for _, f := range fs {
					if f.Account != "news" || (l.state != "" && f.State != l.state) {
						t.Errorf("listed %+v", f)
					}
					page = append(page, f.ActorID)
				}
				pages = append(pages, page)
				after = page[len(page)-1]
			}
			if fmt.Sprint(pages) != fmt.Sprint(l.want) {
				t.Errorf("pages = %v, want %v", pages, l.want)
			}
		})
	}

	if fs := must(s.ListFollowers(ctx, "news", "", "", 0))(t); len(fs) != 0 {
		t.Errorf("limit 0 listed %d followers", len(fs))
	}
}

func testFollowerDelete(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	gone := "https://remote.example/users/gone"
	kept := "https://remote.example/users/kept"
	for _, f := range []storage.Follower{
		follower("news", gone, storage.FollowerAccepted, now),
		follower("events", gone, storage.FollowerPending, now),
		follower("news", kept, storage.FollowerAccepted, now),
		follower("events", kept, storage.FollowerAccepted, now),
	} {
		must(s.UpsertFollower(ctx, f))(t)
	}

	if !must(s.DeleteFollower(ctx, "events", kept))(t) {
		t.Error("DeleteFollower: removed = false")
	}
	if must(s.DeleteFollower(ctx, "events", kept))(t) {
		t.Error("DeleteFollower twice: removed = true")
	}
	if n := must(s.DeleteFollowerEverywhere(ctx, gone))(t); n != 2 {
		t.Errorf("DeleteFollowerEverywhere = %d, want 2", n)
	}
	if n := must(s.DeleteFollowerEverywhere(ctx, gone))(t); n != 0 {
		t.Errorf("DeleteFollowerEverywhere again = %d, want 0", n)
	}
	for _, acc := range []string{"news", "events"} {
		_, err := s.GetFollower(ctx, acc, gone)
		wantErr(t, err, storage.ErrNotFound)
	}
	must(s.GetFollower(ctx, "news", kept))(t)
}

func testRemoteActors(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	a := storage.RemoteActor{
		ID:                "https://remote.example/users/ann",
		Inbox:             "https://remote.example/users/ann/inbox",
		SharedInbox:       "https://remote.example/inbox",
		PreferredUsername: "ann",
		FetchedAt:         now,
	}
	check(t, s.UpsertRemoteActor(ctx, a))
	if got := must(s.GetRemoteActor(ctx, a.ID))(t); !sameActor(got, a) {
		t.Errorf("GetRemoteActor = %+v, want %+v", got, a)
	}
	// The upsert replaces every field.
	b := a
	b.SharedInbox = ""
	b.PreferredUsername = "ann2"
	b.FetchedAt = now.Add(time.Hour)
	check(t, s.UpsertRemoteActor(ctx, b))
	if got := must(s.GetRemoteActor(ctx, a.ID))(t); !sameActor(got, b) {
		t.Errorf("after upsert GetRemoteActor = %+v, want %+v", got, b)
	}

	// Keys: several per actor; a key id names one key, whose owner may
	// change (the upsert replaces it).
	k1 := storage.RemoteKey{KeyID: a.ID + "#main-key", Owner: a.ID, PublicKeyPEM: "PEM1", FetchedAt: now}
	k2 := storage.RemoteKey{KeyID: a.ID + "#ed25519-key", Owner: a.ID, PublicKeyPEM: "PEM2", FetchedAt: now}
	check(t, s.UpsertRemoteKey(ctx, k1))
	check(t, s.UpsertRemoteKey(ctx, k2))
	for _, k := range []storage.RemoteKey{k1, k2} {
		if got := must(s.GetRemoteKey(ctx, k.KeyID))(t); !sameKey(got, k) {
			t.Errorf("GetRemoteKey(%s) = %+v, want %+v", k.KeyID, got, k)
		}
	}
	k1b := k1
	k1b.PublicKeyPEM, k1b.FetchedAt = "PEM3", now.Add(2*time.Hour)
	check(t, s.UpsertRemoteKey(ctx, k1b))
	if got := must(s.GetRemoteKey(ctx, k1.KeyID))(t); !sameKey(got, k1b) {
		t.Errorf("after rotation GetRemoteKey = %+v, want %+v", got, k1b)
	}
	_, err := s.GetRemoteKey(ctx, "https://remote.example/users/nobody#main-key")
	wantErr(t, err, storage.ErrNotFound)

	// A key of another actor survives the deletion of this one.
	other := storage.RemoteKey{KeyID: "https://remote.example/users/bob#main-key", Owner: "https://remote.example/users/bob", PublicKeyPEM: "PEM4", FetchedAt: now}
	check(t, s.UpsertRemoteKey(ctx, other))
	check(t, s.DeleteRemoteActor(ctx, a.ID))
	_, err = s.GetRemoteActor(ctx, a.ID)
	wantErr(t, err, storage.ErrNotFound)
	for _, k := range []storage.RemoteKey{k1, k2} {
		_, err = s.GetRemoteKey(ctx, k.KeyID)
		wantErr(t, err, storage.ErrNotFound)
	}
	must(s.GetRemoteKey(ctx, other.KeyID))(t)
	check(t, s.DeleteRemoteActor(ctx, a.ID)) // absent: not an error
}

func sameActor(a, b storage.RemoteActor) bool {
	return a.ID == b.ID && a.Inbox == b.Inbox && a.SharedInbox == b.SharedInbox &&
		a.PreferredUsername == b.PreferredUsername && a.FetchedAt.Equal(b.FetchedAt)
}

func sameKey(a, b storage.RemoteKey) bool {
	return a.KeyID == b.KeyID && a.Owner == b.Owner && a.PublicKeyPEM == b.PublicKeyPEM && a.FetchedAt.Equal(b.FetchedAt)
}

func testEnqueueJob(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	nj := storage.NewJob{
		Kind:    "deliver",
		Payload: []byte(`{"inbox":"https://remote.example/inbox"}`),
		RunAt:   now.Add(time.Minute),
		Key:     "deliver:1:https://remote.example/inbox",
		Host:    "remote.example",
		Ref:     "status:1",
	}
	id := must(s.EnqueueJob(ctx, nj))(t)
	j := must(s.GetJob(ctx, id))(t)
	if j.ID != id || j.Kind != nj.Kind || !bytes.Equal(j.Payload, nj.Payload) || j.Key != nj.Key ||
		j.Host != nj.Host || j.Ref != nj.Ref || j.Status != storage.JobPending || j.Attempts != 0 ||
		!j.RunAt.Equal(nj.RunAt) || j.LeaseOwner != "" || !j.LeaseUntil.IsZero() || j.LastError != "" {
		t.Errorf("GetJob = %+v, want fields of %+v, pending", j, nj)
	}
	if d := time.Since(j.CreatedAt); d < -time.Minute || d > time.Minute {
		t.Errorf("CreatedAt = %v, want about now", j.CreatedAt)
	}

	// Same key: same job, nothing added.
	dup := nj
	dup.Payload = []byte("other")
	if id2 := must(s.EnqueueJob(ctx, dup))(t); id2 != id {
		t.Errorf("EnqueueJob with an existing key = %d, want %d", id2, id)
	}
	if j := must(s.GetJob(ctx, id))(t); string(j.Payload) != string(nj.Payload) {
		t.Errorf("existing job changed: payload %q", j.Payload)
	}

	// Empty keys never collide; zero RunAt means now; nil payload is fine.
	a := must(s.EnqueueJob(ctx, storage.NewJob{Kind: "deliver"}))(t)
	b := must(s.EnqueueJob(ctx, storage.NewJob{Kind: "deliver"}))(t)
	if a == b || a == id {
		t.Errorf("keyless jobs got ids %d, %d (keyed %d)", a, b, id)
	}
	ja := must(s.GetJob(ctx, a))(t)
	if ja.Key != "" || len(ja.Payload) != 0 {
		t.Errorf("keyless job = %+v", ja)
	}
	if d := time.Since(ja.RunAt); d < -time.Minute || d > time.Minute {
		t.Errorf("zero RunAt stored as %v, want about now", ja.RunAt)
	}
	if st := must(s.JobStats(ctx, now.Add(time.Hour)))(t); st.Pending != 3 {
		t.Errorf("pending = %d, want 3", st.Pending)
	}

	if _, err := s.EnqueueJob(ctx, storage.NewJob{}); err == nil {
		t.Error("EnqueueJob without kind succeeded")
	}
	_, err := s.GetJob(ctx, id+1000)
	wantErr(t, err, storage.ErrNotFound)
}

func ids(jobs []storage.Job) []int64 {
	out := make([]int64, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func enqueue(t *testing.T, s storage.Store, kind string, runAt time.Time) int64 {
	t.Helper()
	return must(s.EnqueueJob(context.Background(), storage.NewJob{Kind: kind, RunAt: runAt}))(t)
}

func testClaimRunAt(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	due := enqueue(t, s, "deliver", now.Add(-time.Second))
	later := enqueue(t, s, "deliver", now.Add(time.Minute))

	got := must(s.ClaimJobs(ctx, "w1", nil, 10, time.Minute, now))(t)
	if !slices.Equal(ids(got), []int64{due}) {
		t.Fatalf("claimed %v, want [%d]", ids(got), due)
	}
	j := got[0]
	if j.Status != storage.JobRunning || j.LeaseOwner != "w1" || j.Attempts != 1 || !j.LeaseUntil.Equal(now.Add(time.Minute)) {
		t.Errorf("claimed job = %+v", j)
	}
	if stored := must(s.GetJob(ctx, due))(t); stored.Status != storage.JobRunning || stored.LeaseOwner != "w1" || stored.Attempts != 1 {
		t.Errorf("stored claimed job = %+v", stored)
	}

	// run_at <= now: due exactly at its time.
	got = must(s.ClaimJobs(ctx, "w1", nil, 10, time.Minute, now.Add(time.Minute)))(t)
	if !slices.Equal(ids(got), []int64{later}) {
		t.Errorf("at run_at claimed %v, want [%d]", ids(got), later)
	}
	if got := must(s.ClaimJobs(ctx, "w1", nil, 0, time.Minute, now.Add(time.Hour)))(t); len(got) != 0 {
		t.Errorf("limit 0 claimed %v", ids(got))
	}
}

func testClaimKinds(t *testing.T, open func(t *testing.T) storage.Store) {
	cases := []struct {
		name  string
		kinds []string
		want  []string
	}{
		{"all kinds", nil, []string{"a", "b", "c"}},
		{"one kind", []string{"b"}, []string{"b"}},
		{"two kinds", []string{"a", "c"}, []string{"a", "c"}},
		{"unknown kind", []string{"zzz"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			now := base()
			for i, k := range []string{"a", "b", "c"} {
				enqueue(t, s, k, now.Add(time.Duration(i-10)*time.Second))
			}
			got := must(s.ClaimJobs(context.Background(), "w1", c.kinds, 10, time.Minute, now))(t)
			var kinds []string
			for _, j := range got {
				kinds = append(kinds, j.Kind)
			}
			if !slices.Equal(kinds, c.want) {
				t.Errorf("claimed kinds %v, want %v", kinds, c.want)
			}
		})
	}
}

func testClaimLimitAndOrder(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	// Enqueued in an order unlike run_at order; two share a run_at.
	offsets := []time.Duration{-3, -5, -1, -5, -2}
	var want []int64
	byOffset := map[time.Duration][]int64{}
	for _, o := range offsets {
		id := enqueue(t, s, "deliver", now.Add(o*time.Second))
		byOffset[o] = append(byOffset[o], id)
	}
	for _, o := range []time.Duration{-5, -3, -2, -1} {
		want = append(want, byOffset[o]...)
	}

	first := must(s.ClaimJobs(ctx, "w1", nil, 2, time.Minute, now))(t)
	rest := must(s.ClaimJobs(ctx, "w2", nil, 10, time.Minute, now))(t)
	if !slices.Equal(ids(first), want[:2]) || !slices.Equal(ids(rest), want[2:]) {
		t.Errorf("claimed %v then %v, want %v then %v", ids(first), ids(rest), want[:2], want[2:])
	}
}

func testClaimLease(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	id := enqueue(t, s, "deliver", now)

	if got := must(s.ClaimJobs(ctx, "w1", nil, 10, time.Minute, now))(t); !slices.Equal(ids(got), []int64{id}) {
		t.Fatalf("claimed %v, want [%d]", ids(got), id)
	}
	if got := must(s.ClaimJobs(ctx, "w2", nil, 10, time.Minute, now.Add(30*time.Second)))(t); len(got) != 0 {
		t.Fatalf("leased job claimed again before expiry: %v", ids(got))
	}

	later := now.Add(2 * time.Minute)
	got := must(s.ClaimJobs(ctx, "w2", nil, 10, time.Minute, later))(t)
	if !slices.Equal(ids(got), []int64{id}) {
		t.Fatalf("after expiry claimed %v, want [%d]", ids(got), id)
	}
	if j := got[0]; j.LeaseOwner != "w2" || j.Attempts != 2 || !j.LeaseUntil.Equal(later.Add(time.Minute)) {
		t.Errorf("reclaimed job = %+v", j)
	}
	wantErr(t, s.CompleteJob(ctx, id, "w1"), storage.ErrLeaseLost)
	check(t, s.CompleteJob(ctx, id, "w2"))
}

func testFinishJob(t *testing.T, open func(t *testing.T) storage.Store) {
	cases := []struct {
		name          string
		finish        func(s storage.Store, id int64, now time.Time) error
		wantStatus    string
		wantLastError string
		wantRunAt     time.Duration // from now; pending jobs only
	}{
		{"complete", func(s storage.Store, id int64, _ time.Time) error {
			return s.CompleteJob(context.Background(), id, "w1")
		}, storage.JobDone, "", 0},
		{"retry", func(s storage.Store, id int64, now time.Time) error {
			return s.RetryJob(context.Background(), id, "w1", now.Add(5*time.Minute), "503 from remote")
		}, storage.JobPending, "503 from remote", 5 * time.Minute},
		{"fail", func(s storage.Store, id int64, _ time.Time) error {
			return s.FailJob(context.Background(), id, "w1", "410 gone")
		}, storage.JobFailed, "410 gone", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			now := base()
			id := enqueue(t, s, "deliver", now)
			must(s.ClaimJobs(ctx, "w1", nil, 1, time.Minute, now))(t)
			check(t, c.finish(s, id, now))

			j := must(s.GetJob(ctx, id))(t)
			if j.Status != c.wantStatus || j.LastError != c.wantLastError || j.LeaseOwner != "" || !j.LeaseUntil.IsZero() || j.Attempts != 1 {
				t.Errorf("job = %+v, want status %q, last error %q, no lease", j, c.wantStatus, c.wantLastError)
			}
			if c.wantStatus != storage.JobPending {
				if got := must(s.ClaimJobs(ctx, "w2", nil, 10, time.Minute, now.Add(time.Hour)))(t); len(got) != 0 {
					t.Errorf("finished job claimed again: %v", ids(got))
				}
				return
			}
			if !j.RunAt.Equal(now.Add(c.wantRunAt)) {
				t.Errorf("RunAt = %v, want %v", j.RunAt, now.Add(c.wantRunAt))
			}
			if got := must(s.ClaimJobs(ctx, "w2", nil, 10, time.Minute, now.Add(c.wantRunAt-time.Second)))(t); len(got) != 0 {
				t.Errorf("retried job claimed before its time: %v", ids(got))
			}
			got := must(s.ClaimJobs(ctx, "w2", nil, 10, time.Minute, now.Add(c.wantRunAt)))(t)
			if len(got) != 1 || got[0].Attempts != 2 || got[0].LastError != c.wantLastError {
				t.Errorf("retried job claimed as %+v", got)
			}
		})
	}
}

func testLeaseLost(t *testing.T, open func(t *testing.T) storage.Store) {
	ops := []struct {
		name string
		op   func(s storage.Store, id int64, owner string) error
	}{
		{"complete", func(s storage.Store, id int64, owner string) error {
			return s.CompleteJob(context.Background(), id, owner)
		}},
		{"retry", func(s storage.Store, id int64, owner string) error {
			return s.RetryJob(context.Background(), id, owner, time.Now(), "boom")
		}},
		{"fail", func(s storage.Store, id int64, owner string) error {
			return s.FailJob(context.Background(), id, owner, "boom")
		}},
	}
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			now := base()
			id := enqueue(t, s, "deliver", now)

			wantErr(t, o.op(s, id, "w1"), storage.ErrLeaseLost) // not claimed yet
			must(s.ClaimJobs(ctx, "w1", nil, 1, time.Minute, now))(t)
			wantErr(t, o.op(s, id, "w2"), storage.ErrLeaseLost) // someone else's
			wantErr(t, o.op(s, id+1000, "w1"), storage.ErrLeaseLost)
			if j := must(s.GetJob(ctx, id))(t); j.Status != storage.JobRunning || j.LeaseOwner != "w1" {
				t.Errorf("job changed by a failed %s: %+v", o.name, j)
			}
			check(t, o.op(s, id, "w1"))
			wantErr(t, o.op(s, id, "w1"), storage.ErrLeaseLost) // no longer running
		})
	}
}

func testReleaseJobs(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	for range 3 {
		enqueue(t, s, "deliver", now.Add(-time.Minute))
	}
	mine := must(s.ClaimJobs(ctx, "w1", nil, 2, time.Hour, now))(t)
	theirs := must(s.ClaimJobs(ctx, "w2", nil, 1, time.Hour, now))(t)
	if len(mine) != 2 || len(theirs) != 1 {
		t.Fatalf("claimed %d and %d jobs", len(mine), len(theirs))
	}

	check(t, s.ReleaseJobs(ctx, "w1"))
	check(t, s.ReleaseJobs(ctx, "nobody"))
	for _, j := range mine {
		got := must(s.GetJob(ctx, j.ID))(t)
		if got.Status != storage.JobPending || got.Attempts != 0 || got.LeaseOwner != "" || !got.LeaseUntil.IsZero() {
			t.Errorf("released job = %+v", got)
		}
	}
	if got := must(s.GetJob(ctx, theirs[0].ID))(t); got.Status != storage.JobRunning || got.LeaseOwner != "w2" {
		t.Errorf("other owner's job = %+v", got)
	}
	again := must(s.ClaimJobs(ctx, "w3", nil, 10, time.Hour, time.Now()))(t)
	if !slices.Equal(ids(again), ids(mine)) {
		t.Errorf("after release claimed %v, want %v", ids(again), ids(mine))
	}
	for _, j := range again {
		if j.Attempts != 1 {
			t.Errorf("attempts after release and claim = %d, want 1", j.Attempts)
		}
	}
}

func testJobStats(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	if st := must(s.JobStats(ctx, now))(t); st != (storage.JobStats{}) {
		t.Errorf("empty queue stats = %+v", st)
	}

	enqueue(t, s, "a", now.Add(-10*time.Minute))
	enqueue(t, s, "a", now.Add(-time.Minute))
	enqueue(t, s, "a", now.Add(time.Hour)) // pending, not due
	for _, k := range []string{"run", "fail", "done"} {
		enqueue(t, s, k, now.Add(-time.Hour))
	}
	claimed := must(s.ClaimJobs(ctx, "w1", []string{"run", "fail", "done"}, 10, time.Minute, now))(t)
	for _, j := range claimed {
		switch j.Kind {
		case "fail":
			check(t, s.FailJob(ctx, j.ID, "w1", "boom"))
		case "done":
			check(t, s.CompleteJob(ctx, j.ID, "w1"))
		}
	}

	want := storage.JobStats{Pending: 3, Running: 1, Failed: 1, OldestPending: 10 * time.Minute}
	if st := must(s.JobStats(ctx, now))(t); st != want {
		t.Errorf("JobStats = %+v, want %+v", st, want)
	}
}

func testRefStats(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	for _, k := range []string{"pending", "run", "done", "fail"} {
		must(s.EnqueueJob(ctx, storage.NewJob{Kind: k, Ref: "status:42", RunAt: now}))(t)
	}
	must(s.EnqueueJob(ctx, storage.NewJob{Kind: "done", Ref: "status:43", RunAt: now}))(t)
	for _, j := range must(s.ClaimJobs(ctx, "w1", []string{"run", "done", "fail"}, 10, time.Minute, now))(t) {
		switch {
		case j.Kind == "fail":
			check(t, s.FailJob(ctx, j.ID, "w1", "boom"))
		case j.Kind == "done" && j.Ref == "status:42":
			check(t, s.CompleteJob(ctx, j.ID, "w1"))
		}
	}

	cases := []struct {
		ref  string
		want storage.RefStats
	}{
		{"status:42", storage.RefStats{Pending: 2, Done: 1, Failed: 1}},
		{"status:43", storage.RefStats{Pending: 1}},
		{"status:44", storage.RefStats{}},
	}
	for _, c := range cases {
		if got := must(s.RefStats(ctx, c.ref))(t); got != c.want {
			t.Errorf("RefStats(%q) = %+v, want %+v", c.ref, got, c.want)
		}
	}
}

func testPruneJobs(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	for _, k := range []string{"done", "fail", "pending"} {
		enqueue(t, s, k, now)
	}
	for _, j := range must(s.ClaimJobs(ctx, "w1", []string{"done", "fail"}, 10, time.Minute, now))(t) {
		if j.Kind == "done" {
			check(t, s.CompleteJob(ctx, j.ID, "w1"))
		} else {
			check(t, s.FailJob(ctx, j.ID, "w1", "boom"))
		}
	}

	if n := must(s.PruneJobs(ctx, time.Now().Add(-time.Hour)))(t); n != 0 {
		t.Errorf("PruneJobs(an hour ago) = %d, want 0", n)
	}
	if n := must(s.PruneJobs(ctx, time.Now().Add(time.Hour)))(t); n != 1 {
		t.Errorf("PruneJobs(in an hour) = %d, want 1 (the done job only)", n)
	}
	if st := must(s.JobStats(ctx, now))(t); st.Pending != 1 || st.Failed != 1 {
		t.Errorf("after prune JobStats = %+v", st)
	}
}

func testInTx(t *testing.T, open func(t *testing.T) storage.Store) {
	ctx := context.Background()
	kp := storage.KeyPair{Owner: "news", PrivateKey: "PRIV", PublicKey: "PUB", CreatedAt: base()}
	errBoom := errors.New("boom")

	t.Run("commit", func(t *testing.T) {
		s := open(t)
		err := s.InTx(ctx, func(q storage.Queries) error {
			if err := q.InsertKeyPair(ctx, kp); err != nil {
				return err
			}
			if _, err := q.GetKeyPair(ctx, kp.Owner); err != nil { // own writes visible
				return err
			}
			if _, err := q.UpsertFollower(ctx, follower("news", "https://remote.example/u/1", storage.FollowerAccepted, base())); err != nil {
				return err
			}
			_, err := q.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", Key: "k1"})
			return err
		})
		check(t, err)
		must(s.GetKeyPair(ctx, kp.Owner))(t)
		must(s.GetFollower(ctx, "news", "https://remote.example/u/1"))(t)
		if st := must(s.JobStats(ctx, time.Now()))(t); st.Pending != 1 {
			t.Errorf("pending = %d, want 1", st.Pending)
		}
	})

	t.Run("rollback", func(t *testing.T) {
		s := open(t)
		err := s.InTx(ctx, func(q storage.Queries) error {
			if err := q.InsertKeyPair(ctx, kp); err != nil {
				return err
			}
			if _, err := q.MarkActivityProcessed(ctx, "https://remote.example/u/1", "https://remote.example/a/1", base()); err != nil {
				return err
			}
			if _, err := q.EnqueueJob(ctx, storage.NewJob{Kind: "deliver"}); err != nil {
				return err
			}
			return errBoom
		})
		if err != errBoom {
			t.Fatalf("InTx = %v, want fn's error as is", err)
		}
		_, err = s.GetKeyPair(ctx, kp.Owner)
		wantErr(t, err, storage.ErrNotFound)
		if !must(s.MarkActivityProcessed(ctx, "https://remote.example/u/1", "https://remote.example/a/1", base()))(t) {
			t.Error("rolled back activity still recorded")
		}
		if st := must(s.JobStats(ctx, time.Now()))(t); st.Pending != 0 {
			t.Errorf("pending = %d, want 0", st.Pending)
		}
	})

	t.Run("storage error inside", func(t *testing.T) {
		s := open(t)
		check(t, s.InsertKeyPair(ctx, kp))
		err := s.InTx(ctx, func(q storage.Queries) error {
			if err := q.UpsertRemoteActor(ctx, storage.RemoteActor{ID: "https://remote.example/u/1", FetchedAt: base()}); err != nil {
				return err
			}
			return q.InsertKeyPair(ctx, kp)
		})
		wantErr(t, err, storage.ErrAlreadyExists)
		_, err = s.GetRemoteActor(ctx, "https://remote.example/u/1")
		wantErr(t, err, storage.ErrNotFound)
		// The store is still usable.
		check(t, s.InTx(ctx, func(q storage.Queries) error {
			return q.UpsertRemoteActor(ctx, storage.RemoteActor{ID: "https://remote.example/u/1", FetchedAt: base()})
		}))
	})
}

func testConcurrentClaims(t *testing.T, s storage.Store) {
	const (
		jobs   = 500
		owners = 8
		batch  = 10
	)
	ctx := context.Background()
	now := base()
	check(t, s.InTx(ctx, func(q storage.Queries) error {
		for i := range jobs {
			if _, err := q.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", RunAt: now.Add(-time.Duration(i) * time.Microsecond)}); err != nil {
				return err
			}
		}
		return nil
	}))

	var (
		mu        sync.Mutex
		claimedBy = make(map[int64]string, jobs)
		wg        sync.WaitGroup
		errs      = make(chan error, owners)
	)
	for w := range owners {
		owner := fmt.Sprintf("worker-%d", w)
		wg.Go(func() {
			for {
				got, err := s.ClaimJobs(ctx, owner, nil, batch, time.Hour, now)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				for _, j := range got {
					mu.Lock()
					prev, dup := claimedBy[j.ID]
					claimedBy[j.ID] = owner
					mu.Unlock()
					if dup {
						errs <- fmt.Errorf("job %d claimed by %s and %s", j.ID, prev, owner)
						return
					}
					if err := s.CompleteJob(ctx, j.ID, owner); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(claimedBy) != jobs {
		t.Errorf("%d jobs claimed, want %d", len(claimedBy), jobs)
	}
	if st := must(s.JobStats(ctx, now))(t); st.Pending != 0 || st.Running != 0 {
		t.Errorf("after the run JobStats = %+v", st)
	}
	if n := must(s.PruneJobs(ctx, time.Now().Add(time.Hour)))(t); n != jobs {
		t.Errorf("%d done jobs, want %d", n, jobs)
	}
}
