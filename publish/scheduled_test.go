package publish_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

func TestScheduledListMoveCancel(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := func(d time.Duration) time.Time { return time.Now().Add(d).UTC().Truncate(time.Microsecond) }
	a, err := e.pub.Schedule(ctx, "news", publish.Draft{Text: "first", Language: "fr"}, in(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.pub.Schedule(ctx, "news", publish.Draft{Text: "second"}, in(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := e.pub.Schedule(ctx, "mayor", publish.Draft{Text: "the mayor's"}, in(time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	list, err := e.pub.ListScheduled(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID || list[0].Draft.Text != "first" || list[0].Draft.Language != "fr" ||
		!list[0].ScheduledAt.Equal(a.ScheduledAt) {
		t.Fatalf("ListScheduled = %+v", list)
	}

	later := in(3 * time.Hour)
	moved, err := e.pub.Reschedule(ctx, "news", a.ID, later)
	if err != nil || !moved.ScheduledAt.Equal(later) || moved.Draft.Text != "first" {
		t.Fatalf("Reschedule = %+v, %v", moved, err)
	}
	var ve *publish.ValidationError
	if _, err := e.pub.Reschedule(ctx, "news", a.ID, in(time.Minute)); !errors.As(err, &ve) {
		t.Errorf("reschedule one minute ahead: %v, want a validation error", err)
	}

	notFound := []struct {
		name string
		err  error
	}{
		{"get another account's", get(e, "news", theirs.ID)},
		{"move another account's", second(e.pub.Reschedule(ctx, "news", theirs.ID, later))},
		{"cancel another account's", e.pub.CancelScheduled(ctx, "news", theirs.ID)},
		{"get an unknown one", get(e, "news", b.ID+1000)},
	}
	for _, c := range notFound {
		if !errors.Is(c.err, publish.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", c.name, c.err)
		}
	}

	if err := e.pub.CancelScheduled(ctx, "news", b.ID); err != nil {
		t.Fatal(err)
	}
	if err := get(e, "news", b.ID); !errors.Is(err, publish.ErrNotFound) {
		t.Errorf("cancelled status still there: %v", err)
	}
	if list, _ := e.pub.ListScheduled(ctx, "news"); len(list) != 1 || list[0].ID != a.ID {
		t.Errorf("after cancel ListScheduled = %+v", list)
	}

	// Once claimed by the scheduler it is being published: no changes.
	claimed, err := e.store.ClaimJobs(ctx, "test", []string{publish.JobPublish}, 10, time.Minute, later.Add(time.Minute))
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d jobs, %v", len(claimed), err)
	}
	if _, err := e.pub.Reschedule(ctx, "news", a.ID, in(5*time.Hour)); !errors.Is(err, publish.ErrNotFound) {
		t.Errorf("reschedule while publishing: %v, want ErrNotFound", err)
	}
	if err := e.pub.CancelScheduled(ctx, "news", a.ID); !errors.Is(err, publish.ErrNotFound) {
		t.Errorf("cancel while publishing: %v, want ErrNotFound", err)
	}
}

func get(e *env, account string, id int64) error {
	_, err := e.pub.GetScheduled(context.Background(), account, id)
	return err
}

func second[T any](_ T, err error) error { return err }

// openService opens a publishing service on the SQLite file at path,
// without an HTTP server (so that it runs in a synctest bubble); wrap, if
// set, wraps its store. The store is closed when the test ends.
func openService(t *testing.T, path string, wrap func(storage.Store) storage.Store) (storage.Store, *publish.Service) {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, storage.Config{Driver: "sqlite", DSN: path}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	served := store
	if wrap != nil {
		served = wrap(store)
	}
	b := bridgetest.New(t, bridgetest.Options{Store: served, BaseURL: "http://127.0.0.1:1", Accounts: newsOnly})
	return store, b.Pub
}

// runScheduler runs the scheduler's pool on a job runner until stop (or
// the end of the test).
func runScheduler(t *testing.T, store storage.Store, pub *publish.Service) (stop func()) {
	t.Helper()
	return bridgetest.RunJobs(t, store, time.Second, pub.RegisterScheduler)
}

// TestSchedule: a status scheduled ten minutes ahead is published by the
// scheduler when due (not before), once.
func TestSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, pub := openService(t, filepath.Join(t.TempDir(), "bridge.db"), nil)
		ctx := context.Background()
		if _, err := pub.Schedule(ctx, "news", publish.Draft{Text: "soon"}, time.Now().Add(time.Minute)); err == nil {
			t.Error("a schedule one minute ahead was accepted")
		}
		sc, err := pub.Schedule(ctx, "news", publish.Draft{Text: "later"}, time.Now().Add(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		job, err := store.GetJob(ctx, sc.ID)
		if err != nil || job.Kind != publish.JobPublish || job.RunAt.Before(time.Now().Add(9*time.Minute)) {
			t.Fatalf("job %+v %v", job, err)
		}
		stop := runScheduler(t, store, pub)
		time.Sleep(9 * time.Minute)
		synctest.Wait()
		if n, _ := store.CountStatuses(ctx, "news", nil); n != 0 {
			t.Fatal("published before its time")
		}
		// Eleven minutes later, the scheduler has published it once.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if n, _ := store.CountStatuses(ctx, "news", nil); n != 1 {
			t.Fatalf("%d statuses published, want 1", n)
		}
		stop()
		if job, _ := store.GetJob(ctx, sc.ID); job.Status != storage.JobDone {
			t.Errorf("scheduled job %s", job.Status)
		}
	})
}

// TestScheduledDraftApproval: a contributor's draft with a time ahead is
// scheduled when approved (approval and scheduled status in one
// transaction; approving again, or from a second editor, schedules
// nothing more) and published at its time, once, attributed to the
// contributor; a draft whose time is too close is published at once.
func TestScheduledDraftApproval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, pub := openService(t, filepath.Join(t.TempDir(), "bridge.db"), nil)
		ctx := context.Background()
		by := &storage.StatusAttribution{MemberID: 3, TokenID: 5}
		td, err := pub.SubmitDraft(ctx, "news", publish.Draft{Text: "opening hours", By: by}, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		ap, err := pub.ApproveDraft(ctx, "news", td.ID, 9)
		if err != nil || ap.Status.ID != 0 || ap.Scheduled == 0 || !ap.ScheduledAt.Equal(time.Now().Add(time.Hour)) {
			t.Fatalf("approval %+v, %v; want scheduled in an hour", ap, err)
		}
		if again, err := pub.ApproveDraft(ctx, "news", td.ID, 10); err != nil || again.Status.ID != 0 || !again.ScheduledAt.Equal(ap.ScheduledAt) {
			t.Fatalf("approving again: %+v, %v", again, err)
		}
		if got, _ := store.GetTeamDraft(ctx, td.ID); got.State != storage.DraftApproved || got.DecidedBy != 9 {
			t.Fatalf("draft %+v", got)
		}
		if n, _ := store.CountStatuses(ctx, "news", nil); n != 0 {
			t.Fatalf("%d statuses before its time", n)
		}
		stop := runScheduler(t, store, pub)
		time.Sleep(time.Hour + time.Minute)
		synctest.Wait()
		stop()
		sts, err := store.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 10})
		if err != nil || len(sts) != 1 || sts[0].Text != "opening hours" {
			t.Fatalf("published %+v, %v; want the draft once", sts, err)
		}
		attr, _ := store.StatusAttributions(ctx, []int64{sts[0].ID})
		if a := attr[sts[0].ID]; a.MemberID != 3 || a.TokenID != 5 {
			t.Errorf("attribution = %+v", a)
		}

		soon, err := pub.SubmitDraft(ctx, "news", publish.Draft{Text: "too close", By: by}, time.Now().Add(6*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute) // an editor approves late
		ap, err = pub.ApproveDraft(ctx, "news", soon.ID, 9)
		if err != nil || ap.Status.ID == 0 {
			t.Fatalf("late approval %+v, %v; want published at once", ap, err)
		}
	})
}

// parentDeletingStore deletes a status just before the next transaction:
// the scheduled reply's parent goes between the scheduler's check and its
// transaction, whose own check then refuses the reply.
type parentDeletingStore struct {
	storage.Store
	parent atomic.Int64
}

func (s *parentDeletingStore) InTx(ctx context.Context, fn func(q storage.Queries) error) error {
	if id := s.parent.Swap(0); id != 0 {
		if err := s.Store.DeleteStatus(ctx, "news", id, time.Now()); err != nil {
			return err
		}
	}
	return s.Store.InTx(ctx, fn)
}

// TestScheduledInvalidFailsAtOnce: a scheduled status that no longer
// validates when it is published fails at once, even when the
// transaction's check (a wrapped validation error) is the one that says
// so; it is not retried ten times.
func TestScheduledInvalidFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var racing *parentDeletingStore
		store, pub := openService(t, filepath.Join(t.TempDir(), "bridge.db"), func(s storage.Store) storage.Store {
			racing = &parentDeletingStore{Store: s}
			return racing
		})
		parent, err := pub.Create(ctx, "news", publish.Draft{Text: "the thread starts"})
		if err != nil {
			t.Fatal(err)
		}
		sc, err := pub.Schedule(ctx, "news", publish.Draft{Text: "a reply", InReplyToID: parent.ID}, time.Now().Add(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		racing.parent.Store(parent.ID)
		runScheduler(t, store, pub)
		time.Sleep(11 * time.Minute)
		synctest.Wait()
		job, err := store.GetJob(ctx, sc.ID)
		if err != nil || job.Status != storage.JobFailed || job.Attempts != 1 || !strings.Contains(job.LastError, "in_reply_to_id") {
			t.Errorf("scheduled job = %s after %d attempts (%q), %v; want failed after 1", job.Status, job.Attempts, job.LastError, err)
		}
	})
}

// TestScheduledSurvivesRestart stops the store and the service before the
// due time; a new process (new store on the same file, new service) lists
// the scheduled status and publishes it when due, once.
func TestScheduledSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "bridge.db")
		store, pub := openService(t, path, nil)
		due := time.Now().Add(10 * time.Minute)
		sc, err := pub.Schedule(ctx, "news", publish.Draft{Text: "after the restart", Visibility: storage.VisibilityUnlisted}, due)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}

		store, pub = openService(t, path, nil)
		list, err := pub.ListScheduled(ctx, "news")
		if err != nil || len(list) != 1 || list[0].ID != sc.ID || list[0].Draft.Text != "after the restart" {
			t.Fatalf("after restart ListScheduled = %+v, %v", list, err)
		}
		if n, _ := store.CountStatuses(ctx, "news", nil); n != 0 {
			t.Fatal("published before its time")
		}
		stop := runScheduler(t, store, pub)
		time.Sleep(time.Until(due) + 5*time.Second)
		synctest.Wait()
		stop()
		if n, _ := store.CountStatuses(ctx, "news", nil); n != 1 {
			t.Fatalf("%d statuses published after the restart, want 1", n)
		}
		page, _ := store.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 5})
		if len(page) != 1 || page[0].Text != "after the restart" || page[0].Visibility != storage.VisibilityUnlisted {
			t.Errorf("published %+v", page)
		}
		if list, _ := pub.ListScheduled(ctx, "news"); len(list) != 0 {
			t.Errorf("still listed as scheduled: %+v", list)
		}
	})
}
