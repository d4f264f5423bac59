package publish_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/safehttp"
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

// TestScheduledSurvivesRestart stops the store and the service before the
// due time; a new process (new store on the same file, new service) lists
// the scheduled status and publishes it when due, once.
func TestScheduledSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bridge.db")
	start := func() (storage.Store, *publish.Service) {
		store, err := storage.Open(ctx, storage.Config{Driver: "sqlite", DSN: path}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		fed, err := federation.New(ctx, federation.Settings{
			BaseURL: "http://127.0.0.1:1", Federation: config.Federation{AllowPrivateNetworks: true},
			Accounts: []config.Account{{Username: "news", Type: "Organization"}}, Version: "test",
		}, store, safehttp.NewClient(safehttp.Config{}), zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		return store, publish.New(publish.Settings{MediaDir: t.TempDir(), HandleDomain: "127.0.0.1:1"}, store, fed, zerolog.Nop())
	}

	store, pub := start()
	due := time.Now().Add(10 * time.Minute)
	sc, err := pub.Schedule(ctx, "news", publish.Draft{Text: "after the restart", Visibility: storage.VisibilityUnlisted}, due)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store, pub = start()
	defer store.Close()
	list, err := pub.ListScheduled(ctx, "news")
	if err != nil || len(list) != 1 || list[0].ID != sc.ID || list[0].Draft.Text != "after the restart" {
		t.Fatalf("after restart ListScheduled = %+v, %v", list, err)
	}
	if n, _ := store.CountStatuses(ctx, "news", nil); n != 0 {
		t.Fatal("published before its time")
	}
	pub.SetClock(func() time.Time { return due.Add(time.Minute) })
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- pub.RunScheduler(runCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for n := int64(0); n == 0; n, _ = store.CountStatuses(ctx, "news", nil) {
		if time.Now().After(deadline) {
			t.Fatal("scheduled status not published after the restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	page, _ := store.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 5})
	if len(page) != 1 || page[0].Text != "after the restart" || page[0].Visibility != storage.VisibilityUnlisted {
		t.Errorf("published %+v", page)
	}
	if list, _ := pub.ListScheduled(ctx, "news"); len(list) != 0 {
		t.Errorf("still listed as scheduled: %+v", list)
	}
}
