package storagetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// RunSources runs the conformance tests of storage.Sources (feed and
// import state) and storage.PendingJobs. open must return a new, empty
// store for each call.
func RunSources(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("FeedState", func(t *testing.T) { testFeedState(t, open(t)) })
	t.Run("FeedEntries", func(t *testing.T) { testFeedEntries(t, open) })
	t.Run("FeedEntryStats", func(t *testing.T) { testFeedEntryStats(t, open(t)) })
	t.Run("Imports", func(t *testing.T) { testImports(t, open(t)) })
	t.Run("PendingJobs", func(t *testing.T) { testPendingJobs(t, open(t)) })
}

func testFeedState(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const feed = "https://city.example/news.rss"
	_, err := s.GetFeedState(ctx, "news", feed)
	wantErr(t, err, storage.ErrNotFound)

	steps := []struct {
		name string
		put  storage.FeedState
	}{
		{"first fetch", storage.FeedState{Account: "news", URL: feed, ETag: `"v1"`, LastModified: "Wed, 01 May 2024 10:00:00 GMT", FirstRunDone: true, CheckedAt: base()}},
		{"replaced, validators cleared, error kept", storage.FeedState{Account: "news", URL: feed, FirstRunDone: true, CheckedAt: base().Add(time.Minute), LastError: "feed answered 500"}},
		{"never checked", storage.FeedState{Account: "news", URL: feed}},
		{"capped", storage.FeedState{Account: "news", URL: feed, FirstRunDone: true, CheckedAt: base(), CappedAt: base(), CapNote: "995 older entries skipped"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			check(t, s.PutFeedState(ctx, st.put))
			got := must(s.GetFeedState(ctx, "news", feed))(t)
			if got.Account != st.put.Account || got.URL != st.put.URL || got.ETag != st.put.ETag ||
				got.LastModified != st.put.LastModified || got.FirstRunDone != st.put.FirstRunDone ||
				!got.CheckedAt.Equal(st.put.CheckedAt) || got.LastError != st.put.LastError ||
				!got.CappedAt.Equal(st.put.CappedAt) || got.CapNote != st.put.CapNote {
				t.Errorf("GetFeedState = %+v, want %+v", got, st.put)
			}
		})
	}
	// Another account's feed of the same URL is another feed.
	_, err = s.GetFeedState(ctx, "events", feed)
	wantErr(t, err, storage.ErrNotFound)
}

func testFeedEntries(t *testing.T, open func(t *testing.T) storage.Store) {
	ctx := context.Background()
	const feed = "https://city.example/news.rss"
	s := open(t)
	sid := insertStatus(t, s, newStatus("news", "posted entry", storage.VisibilityPublic))

	steps := []struct {
		name      string
		account   string
		entry     string
		status    int64
		wantFirst bool
	}{
		{"seen without a post", "news", "urn:entry:1", 0, true},
		{"posted", "news", "urn:entry:2", sid, true},
		{"seen again", "news", "urn:entry:1", sid, false},
		{"same id, other account", "events", "urn:entry:1", 0, true},
	}
	for _, st := range steps {
		if got := must(s.MarkFeedEntry(ctx, st.account, feed, st.entry, st.status, base()))(t); got != st.wantFirst {
			t.Errorf("%s: first = %v, want %v", st.name, got, st.wantFirst)
		}
	}
	for _, c := range []struct {
		account, url, entry string
		want                bool
	}{
		{"news", feed, "urn:entry:1", true},
		{"news", feed, "urn:entry:2", true},
		{"news", feed, "urn:entry:3", false},
		{"news", "https://city.example/other.rss", "urn:entry:1", false},
	} {
		if got := must(s.FeedEntrySeen(ctx, c.account, c.url, c.entry))(t); got != c.want {
			t.Errorf("FeedEntrySeen(%s, %s, %s) = %v, want %v", c.account, c.url, c.entry, got, c.want)
		}
	}
	seen, posted, err := s.CountFeedEntries(ctx, "news", feed)
	check(t, err)
	if seen != 2 || posted != 1 {
		t.Errorf("CountFeedEntries = %d seen, %d posted; want 2, 1 (a repeated mark keeps the first status)", seen, posted)
	}

	t.Run("rolled back with the status", func(t *testing.T) {
		s := open(t)
		err := s.InTx(ctx, func(q storage.Queries) error {
			if _, err := q.MarkFeedEntry(ctx, "news", feed, "urn:entry:9", 0, base()); err != nil {
				return err
			}
			return storage.ErrBusy
		})
		wantErr(t, err, storage.ErrBusy)
		if must(s.FeedEntrySeen(ctx, "news", feed, "urn:entry:9"))(t) {
			t.Error("entry marked by a rolled-back transaction")
		}
	})
}

func testImports(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, err := s.GetImport(ctx, "news", "x:42")
	wantErr(t, err, storage.ErrNotFound)
	start := base()
	runs := []storage.ImportRun{
		{Account: "news", Source: "x:42", State: storage.ImportRunning, Total: 10000, Processed: 0,
			Counts: []byte(`{}`), StartedAt: start, UpdatedAt: start},
		{Account: "news", Source: "x:42", State: storage.ImportRunning, Total: 10000, Processed: 4213,
			Counts: []byte(`{"imported":4000}`), LastError: "interrupted", StartedAt: start, UpdatedAt: start.Add(time.Minute)},
		{Account: "news", Source: "x:42", State: storage.ImportDone, Total: 10000, Processed: 10000,
			Counts: []byte(`{"imported":9500}`), StartedAt: start, UpdatedAt: start.Add(2 * time.Minute), FinishedAt: start.Add(2 * time.Minute)},
	}
	for i, r := range runs {
		check(t, s.PutImport(ctx, r))
		got := must(s.GetImport(ctx, "news", "x:42"))(t)
		if got.State != r.State || got.Total != r.Total || got.Processed != r.Processed || string(got.Counts) != string(r.Counts) ||
			got.LastError != r.LastError || !got.StartedAt.Equal(r.StartedAt) || !got.UpdatedAt.Equal(r.UpdatedAt) ||
			!got.FinishedAt.Equal(r.FinishedAt) {
			t.Errorf("step %d: GetImport = %+v, want %+v", i, got, r)
		}
	}
	_, err = s.GetImport(ctx, "events", "x:42")
	wantErr(t, err, storage.ErrNotFound)
	if err := s.PutImport(ctx, storage.ImportRun{Account: "news", Source: "x:1"}); err == nil {
		t.Error("PutImport without a state succeeded")
	}
}

func testPendingJobs(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	add := func(kind, ref string, at time.Time) int64 {
		return must(s.EnqueueJob(ctx, storage.NewJob{Kind: kind, Ref: ref, RunAt: at, Payload: []byte("{}")}))(t)
	}
	a := add("publish", "scheduled:news", now.Add(time.Hour))
	b := add("publish", "scheduled:news", now.Add(-time.Minute)) // due: claimed below
	c := add("publish", "scheduled:news", now.Add(2*time.Hour))
	other := add("publish", "scheduled:mayor", now.Add(time.Hour))
	deliver := add("deliver", "scheduled:news", now.Add(time.Hour))
	claimed := must(s.ClaimJobs(ctx, "w1", []string{"publish"}, 10, time.Minute, now))(t)
	if !slices.Equal(ids(claimed), []int64{b}) {
		t.Fatalf("claimed %v, want [%d]", ids(claimed), b)
	}

	lists := []struct {
		name, kind, ref, status string
		limit                   int
		want                    []int64
	}{
		{"pending of one ref", "publish", "scheduled:news", storage.JobPending, 10, []int64{a, c}},
		{"any state", "publish", "scheduled:news", "", 10, []int64{a, b, c}},
		{"limited", "publish", "scheduled:news", "", 2, []int64{a, b}},
		{"other ref", "publish", "scheduled:mayor", storage.JobPending, 10, []int64{other}},
		{"other kind", "deliver", "scheduled:news", "", 10, []int64{deliver}},
		{"nothing", "publish", "scheduled:nobody", "", 10, nil},
		{"zero limit", "publish", "scheduled:news", "", 0, nil},
	}
	for _, l := range lists {
		got := must(s.ListJobsByRef(ctx, l.kind, l.ref, l.status, l.limit))(t)
		if !slices.Equal(ids(got), l.want) {
			t.Errorf("%s: ListJobsByRef = %v, want %v", l.name, ids(got), l.want)
		}
	}

	later := now.Add(3 * time.Hour)
	check(t, s.RescheduleJob(ctx, a, "publish", later))
	if j := must(s.GetJob(ctx, a))(t); !j.RunAt.Equal(later) || j.Status != storage.JobPending {
		t.Errorf("rescheduled job = %+v", j)
	}
	changes := []struct {
		name string
		err  error
	}{
		{"reschedule a running job", s.RescheduleJob(ctx, b, "publish", later)},
		{"reschedule as another kind", s.RescheduleJob(ctx, deliver, "publish", later)},
		{"reschedule an unknown job", s.RescheduleJob(ctx, deliver+100, "publish", later)},
		{"delete a running job", s.DeletePendingJob(ctx, b, "publish")},
		{"delete as another kind", s.DeletePendingJob(ctx, deliver, "publish")},
	}
	for _, ch := range changes {
		if !errors.Is(ch.err, storage.ErrNotFound) {
			t.Errorf("%s: error = %v, want ErrNotFound", ch.name, ch.err)
		}
	}
	check(t, s.DeletePendingJob(ctx, c, "publish"))
	_, err := s.GetJob(ctx, c)
	wantErr(t, err, storage.ErrNotFound)
	wantErr(t, s.DeletePendingJob(ctx, c, "publish"), storage.ErrNotFound)
	if j := must(s.GetJob(ctx, b))(t); j.Status != storage.JobRunning {
		t.Errorf("running job after refused changes = %+v", j)
	}
	// A done job is no longer pending either.
	check(t, s.CompleteJob(ctx, b, "w1"))
	wantErr(t, s.RescheduleJob(ctx, b, "publish", later), storage.ErrNotFound)
}

func testFeedEntryStats(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const feed = "https://city.example/news.rss"
	now := base()
	sid := insertStatus(t, s, newStatus("news", "posted", storage.VisibilityPublic))
	sid2 := insertStatus(t, s, newStatus("news", "posted earlier", storage.VisibilityPublic))
	must(s.MarkFeedEntry(ctx, "news", feed, "recorded", 0, now))(t)
	must(s.MarkFeedEntry(ctx, "news", feed, "posted-now", sid, now.Add(-time.Minute)))(t)
	must(s.MarkFeedEntry(ctx, "news", feed, "posted-before", sid2, now.Add(-2*time.Hour)))(t)
	if !must(s.SkipFeedEntry(ctx, "news", feed, "skipped", now))(t) {
		t.Error("SkipFeedEntry of a new entry: first = false")
	}
	if must(s.SkipFeedEntry(ctx, "news", feed, "posted-now", now))(t) {
		t.Error("SkipFeedEntry of a recorded entry: first = true")
	}
	must(s.SkipFeedEntry(ctx, "events", feed, "skipped", now))(t)
	if !must(s.FeedEntrySeen(ctx, "news", feed, "skipped"))(t) {
		t.Error("a skipped entry is not seen")
	}
	got := must(s.FeedEntryStats(ctx, "news", feed, now.Add(-time.Hour)))(t)
	want := storage.FeedEntryStats{Seen: 4, Posted: 2, Skipped: 1, PostedSince: 1}
	if got != want {
		t.Errorf("FeedEntryStats = %+v, want %+v", got, want)
	}
}
