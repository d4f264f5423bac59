package publish_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// countingMirror records the statuses the mirror was asked to create,
// and its nudges: whether each came once the status it was asked for was
// committed (visible in store).
type countingMirror struct {
	store   storage.Store
	mu      sync.Mutex
	created []storage.Status
	gates   []int64 // statuses whose gates it was asked to rewrite
	nudges  []bool
}

var _ publish.Mirror = (*countingMirror)(nil)

func (m *countingMirror) MirrorCreate(_ context.Context, _ storage.Queries, st storage.Status) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.created = append(m.created, st)
	return nil
}
func (m *countingMirror) MirrorUpdate(context.Context, storage.Queries, storage.Status) error {
	return nil
}
func (m *countingMirror) MirrorDelete(context.Context, storage.Queries, storage.Status) error {
	return nil
}
func (m *countingMirror) MirrorReaction(context.Context, storage.Queries, storage.OwnReaction, bool) error {
	return nil
}
func (m *countingMirror) MirrorGates(_ context.Context, _ storage.Queries, st storage.Status) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gates = append(m.gates, st.ID)
	return nil
}
func (m *countingMirror) Mirrors(string) bool { return true }
func (m *countingMirror) Nudge() {
	m.mu.Lock()
	defer m.mu.Unlock()
	committed := false
	if n := len(m.created); n > 0 {
		_, err := m.store.GetStatus(context.Background(), m.created[n-1].ID)
		committed = err == nil
	}
	m.nudges = append(m.nudges, committed)
}

func TestImportIsQuietAndIdempotent(t *testing.T) {
	mirror := &countingMirror{}
	e := newEnvWith(t, func(o *bridgetest.Options) {
		o.Mirror = func(links.Site) publish.Mirror { return mirror }
	})
	mirror.store = e.store
	ctx := context.Background()
	for _, actor := range []string{"https://remote.example/users/ann", "https://other.example/users/bob"} {
		if _, err := e.store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: actor, Inbox: actor + "/inbox",
			State: storage.FollowerAccepted}); err != nil {
			t.Fatal(err)
		}
	}

	recent, err := e.pub.Create(ctx, "news", publish.Draft{Text: "posted today"})
	if err != nil {
		t.Fatal(err)
	}
	before := e.jobs(t)

	m, err := e.pub.UploadMedia(ctx, "news", bytes.NewReader(pngBytes(t, 8, 8)), "a tiny square", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Date(2015, 3, 14, 9, 26, 53, 0, time.UTC)
	first, err := e.pub.Import(ctx, "news", publish.ImportedPost{
		Draft:     publish.Draft{Text: "Opening of the new library #books thanks @someone", MediaIDs: []int64{m.ID}},
		CreatedAt: old, Key: "x:1001",
	})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := e.pub.Import(ctx, "news", publish.ImportedPost{
		Draft:     publish.Draft{Text: "Opening hours: 9 to 5", InReplyToID: first.Status.ID},
		CreatedAt: old.Add(time.Minute), Key: "x:1002", Mirror: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.pub.Import(ctx, "news", publish.ImportedPost{
		Draft: publish.Draft{Text: "changed text"}, CreatedAt: old, Key: "x:1001",
	})
	if err != nil {
		t.Fatal(err)
	}

	checks := []struct {
		name string
		ok   bool
	}{
		{"created the first time", first.Created && reply.Created},
		{"not created again", !again.Created && again.Status.ID == first.Status.ID && again.Status.Text == first.Status.Text},
		{"original date kept", first.Status.CreatedAt.Equal(old)},
		{"id made from the date", publish.IDTime(first.Status.ID).Equal(old)},
		{"older than today's post", first.Status.ID < reply.Status.ID && reply.Status.ID < recent.ID},
		{"thread kept", reply.Status.InReplyToID == first.Status.ID},
		{"image attached", len(first.Status.MediaIDs) == 1 && first.Status.MediaIDs[0] == m.ID},
		{"hashtag linked", strings.Contains(first.Status.ContentHTML, `/tags/books`)},
		{"mention left as text", strings.Contains(first.Status.ContentHTML, "@someone") && !strings.Contains(first.Status.ContentHTML, "h-card")},
		{"nothing delivered", e.jobs(t) == before},
		{"mirrored only when asked", reply.Mirrored && !first.Mirrored && len(mirror.created) == 2 && mirror.created[1].ID == reply.Status.ID},
		{"mirror sees the original date", mirror.created[len(mirror.created)-1].CreatedAt.Equal(old.Add(time.Minute))},
		{"mirror nudged after each commit that queued its work", len(mirror.nudges) == 2 && mirror.nudges[0] && mirror.nudges[1]},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: first %+v, reply %+v, again %+v", c.name, first, reply, again)
		}
	}

	// The outbox (newest first, by id) puts the imported posts below.
	page, err := e.store.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, st := range page {
		got = append(got, st.ID)
	}
	want := []int64{recent.ID, reply.Status.ID, first.Status.ID}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("outbox order %v, want %v", got, want)
	}
}

func TestImportRejects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mayors, err := e.pub.Create(ctx, "mayor", publish.Draft{Text: "the mayor's"})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Date(2019, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		post publish.ImportedPost
	}{
		{"too long", publish.ImportedPost{Draft: publish.Draft{Text: strings.Repeat("a", 501)}, CreatedAt: old, Key: "x:1"}},
		{"no date", publish.ImportedPost{Draft: publish.Draft{Text: "x"}, Key: "x:2"}},
		{"in the future", publish.ImportedPost{Draft: publish.Draft{Text: "x"}, CreatedAt: time.Now().Add(time.Hour), Key: "x:3"}},
		{"reply to another account", publish.ImportedPost{Draft: publish.Draft{Text: "x", InReplyToID: mayors.ID}, CreatedAt: old, Key: "x:4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.pub.Import(ctx, "news", tc.post)
			var ve *publish.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error = %v, want a validation error", err)
			}
		})
	}
	if _, err := e.pub.Import(ctx, "news", publish.ImportedPost{Draft: publish.Draft{Text: "x"}, CreatedAt: old}); err == nil {
		t.Error("import without a key accepted")
	}
	if n, _ := e.store.CountStatuses(ctx, "news", nil); n != 0 {
		t.Errorf("%d statuses stored by refused imports", n)
	}
}

// TestStatusIDsIncrease: ids handed out now are time-ordered and strictly
// increasing, even within one millisecond.
func TestStatusIDsIncrease(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	start := time.Now().Add(-time.Second)
	var last int64
	for i := range 20 {
		st, err := e.pub.Create(ctx, "news", publish.Draft{Text: "post"})
		if err != nil {
			t.Fatal(err)
		}
		if st.ID <= last {
			t.Fatalf("post %d: id %d not above %d", i, st.ID, last)
		}
		if at := publish.IDTime(st.ID); at.Before(start) || at.After(time.Now().Add(time.Second)) {
			t.Fatalf("post %d: id %d is of %v, not now", i, st.ID, at)
		}
		last = st.ID
	}
}

// jobs counts the pending jobs (deliveries queued).
func (e *env) jobs(t *testing.T) int64 {
	t.Helper()
	st, err := e.store.JobStats(context.Background(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return st.Pending
}

// TestImportOrderBothBackends: imported and new posts interleave by date
// on both backends (explicit ids; PostgreSQL's identity moved past them).
func TestImportOrderBothBackends(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			var store storage.Store
			if backend == "postgres" {
				store = storagetest.OpenPostgres(t)
			} else {
				store = storagetest.OpenSQLite(t)
			}
			pub := bridgetest.New(t, bridgetest.Options{Store: store, BaseURL: "http://127.0.0.1:1", Accounts: newsOnly}).Pub
			// A status inserted the old way (autoincrement id).
			legacy, err := store.InsertStatus(ctx, storage.Status{Account: "news", Text: "legacy", Visibility: storage.VisibilityPublic})
			if err != nil {
				t.Fatal(err)
			}
			first, err := pub.Create(ctx, "news", publish.Draft{Text: "new 1"})
			if err != nil {
				t.Fatal(err)
			}
			var imported []int64
			for i, year := range []int{2016, 2012, 2020} {
				res, err := pub.Import(ctx, "news", publish.ImportedPost{Draft: publish.Draft{Text: "old"},
					CreatedAt: time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC), Key: "x:" + string(rune('a'+i))})
				if err != nil {
					t.Fatal(err)
				}
				imported = append(imported, res.Status.ID)
			}
			second, err := pub.Create(ctx, "news", publish.Draft{Text: "new 2"})
			if err != nil {
				t.Fatal(err)
			}
			page, err := store.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, st := range page {
				got = append(got, st.ID)
			}
			want := []int64{second.ID, first.ID, imported[2], imported[0], imported[1], legacy}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("newest first: %v, want %v", got, want)
			}
			// Inserting the old way still works after explicit ids.
			if _, err := store.InsertStatus(ctx, storage.Status{Account: "news", Text: "legacy 2", Visibility: storage.VisibilityPublic}); err != nil {
				t.Errorf("autoincrement insert after time-ordered ids: %v", err)
			}
		})
	}
}
