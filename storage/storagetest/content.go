package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// RunContent runs the conformance tests of storage.Content: statuses,
// media, API credentials, follower inboxes and hosts. open must return a
// new, empty store for each call.
func RunContent(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("StatusInsertGet", func(t *testing.T) { testStatusInsertGet(t, open(t)) })
	t.Run("StatusIdempotencyKey", func(t *testing.T) { testStatusIdempotencyKey(t, open(t)) })
	t.Run("StatusMediaChecks", func(t *testing.T) { testStatusMediaChecks(t, open) })
	t.Run("StatusUpdate", func(t *testing.T) { testStatusUpdate(t, open(t)) })
	t.Run("StatusDelete", func(t *testing.T) { testStatusDelete(t, open(t)) })
	t.Run("StatusPinned", func(t *testing.T) { testStatusPinned(t, open(t)) })
	t.Run("StatusPagingAndCounts", func(t *testing.T) { testStatusPagingAndCounts(t, open(t)) })
	t.Run("ContentInTx", func(t *testing.T) { testContentInTx(t, open) })
	t.Run("Media", func(t *testing.T) { testMedia(t, open(t)) })
	t.Run("MediaRemovedWithStatus", func(t *testing.T) { testMediaRemoved(t, open(t)) })
	t.Run("MediaVideoProcessing", func(t *testing.T) { testMediaVideo(t, open(t)) })
	t.Run("AppsAndTokens", func(t *testing.T) { testAppsAndTokens(t, open(t)) })
	t.Run("AuthCodes", func(t *testing.T) { testAuthCodes(t, open(t)) })
	t.Run("FollowerInboxes", func(t *testing.T) { testFollowerInboxes(t, open(t)) })
	t.Run("DeleteFollowersByInbox", func(t *testing.T) { testDeleteFollowersByInbox(t, open(t)) })
	t.Run("Hosts", func(t *testing.T) { testHosts(t, open(t)) })
	t.Run("HostsEd25519", func(t *testing.T) { testHostsEd25519(t, open(t)) })
}

func newStatus(account, text, visibility string) storage.Status {
	return storage.Status{
		Account:     account,
		Text:        text,
		ContentHTML: "<p>" + text + "</p>",
		Visibility:  visibility,
		CreatedAt:   base(),
	}
}

func sameStatus(a, b storage.Status) bool {
	return a.ID == b.ID && a.Account == b.Account && a.Text == b.Text && a.ContentHTML == b.ContentHTML &&
		a.SpoilerText == b.SpoilerText && a.Sensitive == b.Sensitive && a.Language == b.Language &&
		a.Visibility == b.Visibility && a.InReplyToID == b.InReplyToID &&
		slices.Equal(a.Mentions, b.Mentions) && slices.Equal(a.Tags, b.Tags) &&
		slices.Equal(a.MediaIDs, b.MediaIDs) && a.IdempotencyKey == b.IdempotencyKey &&
		a.CreatedAt.Equal(b.CreatedAt) && a.EditedAt.Equal(b.EditedAt) &&
		a.DeletedAt.Equal(b.DeletedAt) && a.PinnedAt.Equal(b.PinnedAt)
}

func insertStatus(t *testing.T, q storage.Queries, s storage.Status) int64 {
	t.Helper()
	return must(q.InsertStatus(context.Background(), s))(t)
}

func insertMedia(t *testing.T, q storage.Queries, account string) int64 {
	t.Helper()
	return must(q.InsertMedia(context.Background(), storage.Media{
		Account: account, MediaType: "image/png", Width: 640, Height: 480, Size: 1234,
		Path: "media/" + account + ".png", CreatedAt: base(),
	}))(t)
}

func statusIDs(ss []storage.Status) []int64 {
	out := make([]int64, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

// mediaStatus returns the status a media is attached to (0: none).
func mediaStatus(t *testing.T, q storage.Queries, id int64) int64 {
	t.Helper()
	return must(q.GetMedia(context.Background(), id))(t).StatusID
}

func mediaIDs(ms []storage.Media) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func testStatusInsertGet(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	parent := insertStatus(t, s, newStatus("news", "parent", storage.VisibilityPublic))
	m1, m2 := insertMedia(t, s, "news"), insertMedia(t, s, "news")

	full := storage.Status{
		Account:        "news",
		Text:           "Hello #world @ann@remote.example",
		ContentHTML:    `<p>Hello <a href="https://x/tags/world">#world</a></p>`,
		SpoilerText:    "cw",
		Sensitive:      true,
		Language:       "en-GB",
		Visibility:     storage.VisibilityUnlisted,
		InReplyToID:    parent,
		Mentions:       []storage.StatusMention{{Handle: "ann@remote.example", ActorID: "https://remote.example/users/ann", Inbox: "https://remote.example/inbox"}},
		Tags:           []storage.StatusTag{{Name: "world", URL: "https://social.example/tags/world"}},
		MediaIDs:       []int64{m2, m1},
		IdempotencyKey: "key-1",
		CreatedAt:      now.Add(-time.Hour),
		EditedAt:       now.Add(-time.Minute),
	}
	id := insertStatus(t, s, full)
	if id <= parent {
		t.Errorf("ids %d then %d, want increasing", parent, id)
	}
	want := full
	want.ID = id
	if got := must(s.GetStatus(ctx, id))(t); !sameStatus(got, want) {
		t.Errorf("GetStatus = %+v\nwant %+v", got, want)
	}

	// Zero CreatedAt means now; empty documents read back empty.
	bare := storage.Status{Account: "news", Visibility: storage.VisibilityPrivate}
	bareID := insertStatus(t, s, bare)
	got := must(s.GetStatus(ctx, bareID))(t)
	if d := time.Since(got.CreatedAt); d < -time.Minute || d > time.Minute {
		t.Errorf("zero CreatedAt stored as %v, want about now", got.CreatedAt)
	}
	if len(got.Mentions) != 0 || len(got.Tags) != 0 || len(got.MediaIDs) != 0 || got.InReplyToID != 0 ||
		!got.EditedAt.IsZero() || !got.DeletedAt.IsZero() || !got.PinnedAt.IsZero() || got.IdempotencyKey != "" {
		t.Errorf("bare status read back as %+v", got)
	}

	// An explicit id is kept, and later ids are assigned above it.
	explicit := newStatus("news", "imported", storage.VisibilityPublic)
	explicit.ID = 1000
	if got := insertStatus(t, s, explicit); got != 1000 {
		t.Errorf("InsertStatus with ID 1000 = %d", got)
	}
	if next := insertStatus(t, s, newStatus("news", "after import", storage.VisibilityPublic)); next <= 1000 {
		t.Errorf("id after an explicit 1000 = %d, want > 1000", next)
	}
	_, err := s.InsertStatus(ctx, explicit)
	wantErr(t, err, storage.ErrAlreadyExists)

	_, err = s.GetStatus(ctx, 999999)
	wantErr(t, err, storage.ErrNotFound)

	invalid := []struct {
		name string
		s    storage.Status
	}{
		{"no account", storage.Status{Visibility: storage.VisibilityPublic}},
		{"no visibility", storage.Status{Account: "news"}},
	}
	for _, c := range invalid {
		if _, err := s.InsertStatus(ctx, c.s); err == nil {
			t.Errorf("%s: InsertStatus succeeded", c.name)
		}
	}
}

func testStatusIdempotencyKey(t *testing.T, s storage.Store) {
	ctx := context.Background()
	keyed := func(account, key string) storage.Status {
		st := newStatus(account, "text", storage.VisibilityPublic)
		st.IdempotencyKey = key
		return st
	}
	first := insertStatus(t, s, keyed("news", "k1"))

	steps := []struct {
		name    string
		s       storage.Status
		wantErr error
	}{
		{"same key, same account", keyed("news", "k1"), storage.ErrAlreadyExists},
		{"same key, other account", keyed("other", "k1"), nil},
		{"other key", keyed("news", "k2"), nil},
		{"no key", keyed("news", ""), nil},
		{"no key again", keyed("news", ""), nil},
	}
	for _, st := range steps {
		_, err := s.InsertStatus(ctx, st.s)
		if !errors.Is(err, st.wantErr) {
			t.Errorf("%s: error = %v, want %v", st.name, err, st.wantErr)
		}
	}
	if n := must(s.CountStatuses(ctx, "news", nil))(t); n != 4 {
		t.Errorf("news has %d statuses, want 4", n)
	}

	got := must(s.GetStatusByIdempotencyKey(ctx, "news", "k1"))(t)
	if got.ID != first || got.IdempotencyKey != "k1" {
		t.Errorf("GetStatusByIdempotencyKey = %+v, want id %d", got, first)
	}
	for _, c := range []struct{ name, account, key string }{
		{"unknown key", "news", "k9"},
		{"other account's key", "nobody", "k1"},
		{"empty key", "news", ""},
	} {
		_, err := s.GetStatusByIdempotencyKey(ctx, c.account, c.key)
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: error = %v, want ErrNotFound", c.name, err)
		}
	}
}

// testStatusMediaChecks tries to attach media InsertStatus and UpdateStatus
// must refuse: ErrNotFound (or an error for a repeated id), nothing
// written.
func testStatusMediaChecks(t *testing.T, open func(t *testing.T) storage.Store) {
	cases := []struct {
		name    string
		media   func(own, others, attached int64) []int64
		wantErr error // nil: any error
	}{
		{"unknown id", func(own, _, _ int64) []int64 { return []int64{own, 999999} }, storage.ErrNotFound},
		{"other account's media", func(own, others, _ int64) []int64 { return []int64{own, others} }, storage.ErrNotFound},
		{"media attached to another status", func(own, _, attached int64) []int64 { return []int64{own, attached} }, storage.ErrNotFound},
		{"media listed twice", func(own, _, _ int64) []int64 { return []int64{own, own} }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			own := insertMedia(t, s, "news")
			others := insertMedia(t, s, "other")
			attached := insertMedia(t, s, "news")
			holder := newStatus("news", "holder", storage.VisibilityPublic)
			holder.MediaIDs = []int64{attached}
			holderID := insertStatus(t, s, holder)
			target := insertStatus(t, s, newStatus("news", "target", storage.VisibilityPublic))
			refused := func(t *testing.T, op string, err error) {
				t.Helper()
				if err == nil || (c.wantErr != nil && !errors.Is(err, c.wantErr)) {
					t.Fatalf("%s: error = %v, want %v", op, err, c.wantErr)
				}
				if got := mediaStatus(t, s, own); got != 0 {
					t.Errorf("%s: own media attached to %d after the failure", op, got)
				}
				if got := mediaStatus(t, s, others); got != 0 {
					t.Errorf("%s: other account's media attached to %d", op, got)
				}
				if got := mediaStatus(t, s, attached); got != holderID {
					t.Errorf("%s: attached media moved to %d", op, got)
				}
			}

			st := newStatus("news", "new", storage.VisibilityPublic)
			st.MediaIDs = c.media(own, others, attached)
			st.IdempotencyKey = "k"
			_, err := s.InsertStatus(ctx, st)
			refused(t, "InsertStatus", err)
			if n := must(s.CountStatuses(ctx, "news", nil))(t); n != 2 {
				t.Errorf("%d statuses after a failed insert, want 2", n)
			}
			_, err = s.GetStatusByIdempotencyKey(ctx, "news", "k")
			wantErr(t, err, storage.ErrNotFound)

			upd := must(s.GetStatus(ctx, target))(t)
			upd.Text = "changed"
			upd.MediaIDs = c.media(own, others, attached)
			refused(t, "UpdateStatus", s.UpdateStatus(ctx, upd))
			if got := must(s.GetStatus(ctx, target))(t); got.Text != "target" || !got.EditedAt.IsZero() || len(got.MediaIDs) != 0 {
				t.Errorf("status changed by a failed update: %+v", got)
			}
		})
	}
}

func testStatusUpdate(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	m := []int64{insertMedia(t, s, "news"), insertMedia(t, s, "news"), insertMedia(t, s, "news"), insertMedia(t, s, "news")}
	st := newStatus("news", "v1", storage.VisibilityUnlisted)
	st.MediaIDs = []int64{m[0], m[1], m[2]}
	st.IdempotencyKey = "k"
	st.InReplyToID = 7
	id := insertStatus(t, s, st)
	if got := mediaIDs(must(s.ListStatusMedia(ctx, id))(t)); !slices.Equal(got, st.MediaIDs) {
		t.Fatalf("ListStatusMedia = %v, want %v", got, st.MediaIDs)
	}

	steps := []struct {
		name  string
		media []int64
	}{
		{"reorder, drop one, add one", []int64{m[2], m[0], m[3]}},
		{"take a dropped one back", []int64{m[1], m[2]}},
		{"no media", nil},
		{"all four", []int64{m[3], m[2], m[1], m[0]}},
	}
	for i, step := range steps {
		upd := storage.Status{
			ID: id, Account: "news",
			Text: fmt.Sprintf("v%d", i+2), ContentHTML: "<p>edited</p>", SpoilerText: "cw", Sensitive: true,
			Language: "fr", Mentions: []storage.StatusMention{{Handle: "b@x.example", ActorID: "https://x.example/b"}}, Tags: []storage.StatusTag{{Name: "t"}}, MediaIDs: step.media,
			EditedAt: now.Add(time.Duration(i+1) * time.Minute),
			// Not updatable: kept as stored.
			Visibility: storage.VisibilityPublic, InReplyToID: 99, IdempotencyKey: "other",
			CreatedAt: now.Add(time.Hour), PinnedAt: now,
		}
		check(t, s.UpdateStatus(ctx, upd))
		want := upd
		want.Visibility, want.InReplyToID, want.IdempotencyKey = st.Visibility, st.InReplyToID, st.IdempotencyKey
		want.CreatedAt, want.PinnedAt = st.CreatedAt, time.Time{}
		if got := must(s.GetStatus(ctx, id))(t); !sameStatus(got, want) {
			t.Errorf("%s: GetStatus = %+v\nwant %+v", step.name, got, want)
		}
		if got := mediaIDs(must(s.ListStatusMedia(ctx, id))(t)); !slices.Equal(got, step.media) {
			t.Errorf("%s: ListStatusMedia = %v, want %v", step.name, got, step.media)
		}
		for _, mid := range m {
			want := int64(0)
			if slices.Contains(step.media, mid) {
				want = id
			}
			if got := mediaStatus(t, s, mid); got != want {
				t.Errorf("%s: media %d attached to %d, want %d", step.name, mid, got, want)
			}
		}
	}

	// Zero EditedAt means now.
	cur := must(s.GetStatus(ctx, id))(t)
	cur.EditedAt = time.Time{}
	check(t, s.UpdateStatus(ctx, cur))
	if got := must(s.GetStatus(ctx, id))(t); time.Since(got.EditedAt) > time.Minute {
		t.Errorf("zero EditedAt stored as %v, want about now", got.EditedAt)
	}

	other := insertStatus(t, s, newStatus("other", "theirs", storage.VisibilityPublic))
	for _, c := range []struct {
		name string
		s    storage.Status
	}{
		{"unknown status", storage.Status{ID: 999999, Account: "news"}},
		{"other account's status", storage.Status{ID: other, Account: "news"}},
	} {
		wantErr(t, s.UpdateStatus(ctx, c.s), storage.ErrNotFound)
	}
}

func testStatusDelete(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	m1, m2 := insertMedia(t, s, "news"), insertMedia(t, s, "news")
	st := newStatus("news", "to delete", storage.VisibilityPublic)
	st.MediaIDs = []int64{m1, m2}
	id := insertStatus(t, s, st)
	kept := insertStatus(t, s, newStatus("news", "kept", storage.VisibilityPublic))
	check(t, s.SetStatusPinned(ctx, "news", id, now))

	wantErr(t, s.DeleteStatus(ctx, "other", id, now), storage.ErrNotFound)
	check(t, s.DeleteStatus(ctx, "news", id, now.Add(time.Minute)))

	got := must(s.GetStatus(ctx, id))(t)
	if !got.DeletedAt.Equal(now.Add(time.Minute)) || got.Text != "to delete" || len(got.MediaIDs) != 0 || !got.PinnedAt.IsZero() {
		t.Errorf("tombstone = %+v, want DeletedAt set, text kept, no media, unpinned", got)
	}
	for _, mid := range []int64{m1, m2} {
		if sid := mediaStatus(t, s, mid); sid != 0 {
			t.Errorf("media %d still attached to %d", mid, sid)
		}
	}
	if ms := must(s.ListStatusMedia(ctx, id))(t); len(ms) != 0 {
		t.Errorf("ListStatusMedia of a deleted status = %v", mediaIDs(ms))
	}
	list := must(s.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 10}))(t)
	if !slices.Equal(statusIDs(list), []int64{kept}) {
		t.Errorf("ListStatuses = %v, want [%d]", statusIDs(list), kept)
	}
	if n := must(s.CountStatuses(ctx, "news", nil))(t); n != 1 {
		t.Errorf("CountStatuses = %d, want 1", n)
	}
	if p := must(s.ListPinned(ctx, "news"))(t); len(p) != 0 {
		t.Errorf("ListPinned = %v, want none", statusIDs(p))
	}

	// A tombstone takes no more changes.
	wantErr(t, s.DeleteStatus(ctx, "news", id, now.Add(time.Hour)), storage.ErrNotFound)
	if got := must(s.GetStatus(ctx, id))(t); !got.DeletedAt.Equal(now.Add(time.Minute)) {
		t.Errorf("second delete moved DeletedAt to %v", got.DeletedAt)
	}
	upd := got
	upd.Text = "resurrected"
	wantErr(t, s.UpdateStatus(ctx, upd), storage.ErrNotFound)
	wantErr(t, s.SetStatusPinned(ctx, "news", id, now), storage.ErrNotFound)
	wantErr(t, s.DeleteStatus(ctx, "news", 999999, now), storage.ErrNotFound)

	// Detached media can be attached again (delete and redraft).
	redraft := newStatus("news", "to delete", storage.VisibilityPublic)
	redraft.MediaIDs = []int64{m2, m1}
	rid := insertStatus(t, s, redraft)
	if got := must(s.GetStatus(ctx, rid))(t); !slices.Equal(got.MediaIDs, redraft.MediaIDs) {
		t.Errorf("redraft media = %v, want %v", got.MediaIDs, redraft.MediaIDs)
	}
}

func testStatusPinned(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	m := insertMedia(t, s, "news")
	a := newStatus("news", "a", storage.VisibilityPublic)
	a.MediaIDs = []int64{m}
	ida := insertStatus(t, s, a)
	idb := insertStatus(t, s, newStatus("news", "b", storage.VisibilityPublic))
	idc := insertStatus(t, s, newStatus("news", "c", storage.VisibilityPublic))
	theirs := insertStatus(t, s, newStatus("other", "d", storage.VisibilityPublic))

	steps := []struct {
		name string
		id   int64
		at   time.Time
		want []int64 // ListPinned after the step
	}{
		{"pin b", idb, now, []int64{idb}},
		{"pin a later", ida, now.Add(time.Minute), []int64{ida, idb}},
		{"pin c earliest", idc, now.Add(-time.Minute), []int64{ida, idb, idc}},
		{"pin b again keeps its time", idb, now.Add(time.Hour), []int64{ida, idb, idc}},
		{"unpin a", ida, time.Time{}, []int64{idb, idc}},
		{"unpin a again", ida, time.Time{}, []int64{idb, idc}},
		{"pin a anew", ida, now.Add(2 * time.Hour), []int64{ida, idb, idc}},
	}
	for _, st := range steps {
		check(t, s.SetStatusPinned(ctx, "news", st.id, st.at))
		if got := statusIDs(must(s.ListPinned(ctx, "news"))(t)); !slices.Equal(got, st.want) {
			t.Errorf("%s: ListPinned = %v, want %v", st.name, got, st.want)
		}
	}
	if got := must(s.GetStatus(ctx, idb))(t); !got.PinnedAt.Equal(now) {
		t.Errorf("PinnedAt = %v, want %v", got.PinnedAt, now)
	}
	pinned := must(s.ListPinned(ctx, "news"))(t)
	if !slices.Equal(pinned[0].MediaIDs, []int64{m}) || !pinned[0].PinnedAt.Equal(now.Add(2*time.Hour)) {
		t.Errorf("ListPinned[0] = %+v, want media [%d] and PinnedAt", pinned[0], m)
	}
	if p := must(s.ListPinned(ctx, "other"))(t); len(p) != 0 {
		t.Errorf("other account's pins = %v", statusIDs(p))
	}

	wantErr(t, s.SetStatusPinned(ctx, "news", theirs, now), storage.ErrNotFound)
	wantErr(t, s.SetStatusPinned(ctx, "news", 999999, now), storage.ErrNotFound)
}

func testStatusPagingAndCounts(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	vis := []string{
		storage.VisibilityPublic, storage.VisibilityUnlisted, storage.VisibilityPublic, storage.VisibilityPrivate,
		storage.VisibilityPublic, storage.VisibilityPublic, storage.VisibilityUnlisted, storage.VisibilityPublic,
	}
	n := make([]int64, len(vis)) // news's statuses, oldest first; n[5] gets deleted
	var theirs int64
	media := map[int][]int64{1: {insertMedia(t, s, "news"), insertMedia(t, s, "news")}, 4: {insertMedia(t, s, "news")}}
	for i, v := range vis {
		st := newStatus("news", fmt.Sprint(i), v)
		st.MediaIDs = media[i]
		n[i] = insertStatus(t, s, st)
		if i == 2 { // ids of one account need not be contiguous
			theirs = insertStatus(t, s, newStatus("other", "theirs", storage.VisibilityPublic))
		}
	}
	check(t, s.DeleteStatus(ctx, "news", n[5], now))
	pick := func(is ...int) []int64 {
		out := []int64{}
		for _, i := range is {
			out = append(out, n[i])
		}
		return out
	}
	pub, unl, priv := storage.VisibilityPublic, storage.VisibilityUnlisted, storage.VisibilityPrivate

	cases := []struct {
		name string
		p    storage.StatusPage
		want []int64
	}{
		{"newest first", storage.StatusPage{Account: "news", Limit: 3}, pick(7, 6, 4)},
		{"all, deleted left out", storage.StatusPage{Account: "news", Limit: 20}, pick(7, 6, 4, 3, 2, 1, 0)},
		{"max_id", storage.StatusPage{Account: "news", MaxID: n[4], Limit: 2}, pick(3, 2)},
		{"max_id, last page", storage.StatusPage{Account: "news", MaxID: n[2], Limit: 2}, pick(1, 0)},
		{"max_id, past the oldest", storage.StatusPage{Account: "news", MaxID: n[0], Limit: 2}, pick()},
		{"since_id gives the newest", storage.StatusPage{Account: "news", SinceID: n[4], Limit: 1}, pick(7)},
		{"min_id gives the oldest above", storage.StatusPage{Account: "news", MinID: n[4], Limit: 1}, pick(6)},
		{"min_id, newest first", storage.StatusPage{Account: "news", MinID: n[1], Limit: 3}, pick(4, 3, 2)},
		{"min_id, fewer than limit", storage.StatusPage{Account: "news", MinID: n[4], Limit: 5}, pick(7, 6)},
		{"since_id past the newest", storage.StatusPage{Account: "news", SinceID: n[7], Limit: 5}, pick()},
		{"min_id and max_id", storage.StatusPage{Account: "news", MinID: n[0], MaxID: n[4], Limit: 10}, pick(3, 2, 1)},
		{"min_id and max_id, limited", storage.StatusPage{Account: "news", MinID: n[0], MaxID: n[4], Limit: 2}, pick(2, 1)},
		{"since_id and max_id", storage.StatusPage{Account: "news", SinceID: n[1], MaxID: n[7], Limit: 2}, pick(6, 4)},
		{"since_id above min_id", storage.StatusPage{Account: "news", SinceID: n[3], MinID: n[0], Limit: 2}, pick(6, 4)},
		{"public", storage.StatusPage{Account: "news", Limit: 10, Visibilities: []string{pub}}, pick(7, 4, 2, 0)},
		{"public and unlisted", storage.StatusPage{Account: "news", Limit: 10, Visibilities: []string{pub, unl}}, pick(7, 6, 4, 2, 1, 0)},
		{"private", storage.StatusPage{Account: "news", Limit: 10, Visibilities: []string{priv}}, pick(3)},
		{"unknown visibility", storage.StatusPage{Account: "news", Limit: 10, Visibilities: []string{"direct"}}, pick()},
		{"public, max_id", storage.StatusPage{Account: "news", MaxID: n[4], Limit: 1, Visibilities: []string{pub}}, pick(2)},
		{"public, min_id", storage.StatusPage{Account: "news", MinID: n[0], Limit: 2, Visibilities: []string{pub}}, pick(4, 2)},
		{"limit 0", storage.StatusPage{Account: "news"}, pick()},
		{"other account", storage.StatusPage{Account: "other", Limit: 10}, []int64{theirs}},
		{"unknown account", storage.StatusPage{Account: "nobody", Limit: 10}, pick()},
		{"empty account", storage.StatusPage{Limit: 10}, pick()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := must(s.ListStatuses(ctx, c.p))(t)
			if ids := statusIDs(got); !slices.Equal(ids, c.want) {
				t.Errorf("ListStatuses(%+v) = %v, want %v", c.p, ids, c.want)
			}
			for _, st := range got {
				if st.Account != c.p.Account || !st.DeletedAt.IsZero() {
					t.Errorf("listed %+v", st)
				}
			}
		})
	}

	// Media ids are filled on every listed status.
	all := must(s.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 20}))(t)
	for _, st := range all {
		i := slices.Index(n, st.ID)
		if !slices.Equal(st.MediaIDs, media[i]) {
			t.Errorf("status %d: MediaIDs = %v, want %v", i, st.MediaIDs, media[i])
		}
	}

	counts := []struct {
		name         string
		account      string
		visibilities []string
		want         int64
	}{
		{"all live", "news", nil, 7},
		{"public", "news", []string{pub}, 4},
		{"public and unlisted", "news", []string{pub, unl}, 6},
		{"private", "news", []string{priv}, 1},
		{"other account", "other", nil, 1},
		{"unknown account", "nobody", nil, 0},
	}
	for _, c := range counts {
		if got := must(s.CountStatuses(ctx, c.account, c.visibilities))(t); got != c.want {
			t.Errorf("CountStatuses %s = %d, want %d", c.name, got, c.want)
		}
	}
}

func testContentInTx(t *testing.T, open func(t *testing.T) storage.Store) {
	ctx := context.Background()
	errBoom := errors.New("boom")

	// publish runs what the publishing layer does in one transaction and
	// returns the status id.
	publish := func(t *testing.T, q storage.Queries, media []int64) int64 {
		t.Helper()
		st := newStatus("news", "in tx", storage.VisibilityPublic)
		st.MediaIDs = media
		st.IdempotencyKey = "k"
		id := insertStatus(t, q, st)
		if got := must(q.GetStatus(ctx, id))(t); !slices.Equal(got.MediaIDs, media) { // own writes visible
			t.Errorf("in tx: MediaIDs = %v, want %v", got.MediaIDs, media)
		}
		st = must(q.GetStatus(ctx, id))(t)
		st.Text = "edited in tx"
		check(t, q.UpdateStatus(ctx, st))
		check(t, q.SetStatusPinned(ctx, "news", id, base()))
		if got := statusIDs(must(q.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 5}))(t)); !slices.Equal(got, []int64{id}) {
			t.Errorf("in tx: ListStatuses = %v", got)
		}
		must(q.InsertToken(ctx, storage.Token{Hash: "h", Account: "news"}))(t)
		check(t, q.InsertAuthCode(ctx, storage.AuthCode{Hash: "c", AppID: 1, Account: "news", ExpiresAt: base()}))
		must(q.TakeAuthCode(ctx, "c"))(t)
		must(q.RecordHostFailure(ctx, "remote.example", base(), time.Time{}))(t)
		return id
	}

	t.Run("commit", func(t *testing.T) {
		s := open(t)
		m := insertMedia(t, s, "news")
		var id int64
		check(t, s.InTx(ctx, func(q storage.Queries) error {
			id = publish(t, q, []int64{m})
			return nil
		}))
		got := must(s.GetStatus(ctx, id))(t)
		if got.Text != "edited in tx" || got.PinnedAt.IsZero() || !slices.Equal(got.MediaIDs, []int64{m}) {
			t.Errorf("committed status = %+v", got)
		}
		must(s.GetTokenByHash(ctx, "h"))(t)
		must(s.GetHost(ctx, "remote.example"))(t)
	})

	t.Run("rollback", func(t *testing.T) {
		s := open(t)
		m := insertMedia(t, s, "news")
		err := s.InTx(ctx, func(q storage.Queries) error {
			publish(t, q, []int64{m})
			return errBoom
		})
		if err != errBoom {
			t.Fatalf("InTx = %v, want fn's error as is", err)
		}
		if n := must(s.CountStatuses(ctx, "news", nil))(t); n != 0 {
			t.Errorf("%d statuses after rollback", n)
		}
		_, err = s.GetStatusByIdempotencyKey(ctx, "news", "k")
		wantErr(t, err, storage.ErrNotFound)
		if sid := mediaStatus(t, s, m); sid != 0 {
			t.Errorf("media attached to %d after rollback", sid)
		}
		_, err = s.GetTokenByHash(ctx, "h")
		wantErr(t, err, storage.ErrNotFound)
		_, err = s.GetHost(ctx, "remote.example")
		wantErr(t, err, storage.ErrNotFound)
	})

	// A failed InsertStatus or UpdateStatus inside a transaction writes
	// nothing and leaves the transaction usable, on both backends (a
	// constraint violation included).
	t.Run("failures inside keep the transaction", func(t *testing.T) {
		s := open(t)
		own, others := insertMedia(t, s, "news"), insertMedia(t, s, "other")
		var first int64
		check(t, s.InTx(ctx, func(q storage.Queries) error {
			st := newStatus("news", "first", storage.VisibilityPublic)
			st.IdempotencyKey = "k"
			first = insertStatus(t, q, st)

			st.MediaIDs = []int64{own}
			_, err := q.InsertStatus(ctx, st)
			wantErr(t, err, storage.ErrAlreadyExists)
			if got := must(q.GetStatusByIdempotencyKey(ctx, "news", "k"))(t); got.ID != first {
				t.Errorf("after ErrAlreadyExists in tx: status %d, want %d", got.ID, first)
			}

			bad := newStatus("news", "bad", storage.VisibilityPublic)
			bad.MediaIDs = []int64{own, others}
			_, err = q.InsertStatus(ctx, bad)
			wantErr(t, err, storage.ErrNotFound)

			upd := must(q.GetStatus(ctx, first))(t)
			upd.Text = "changed"
			upd.MediaIDs = []int64{own, others}
			wantErr(t, q.UpdateStatus(ctx, upd), storage.ErrNotFound)

			if sid := mediaStatus(t, q, own); sid != 0 {
				t.Errorf("in tx: media attached to %d by failed writes", sid)
			}
			if got := must(q.GetStatus(ctx, first))(t); got.Text != "first" {
				t.Errorf("in tx: failed update changed the text to %q", got.Text)
			}
			_, err = q.InsertStatus(ctx, newStatus("news", "second", storage.VisibilityPublic))
			return err
		}))
		if n := must(s.CountStatuses(ctx, "news", nil))(t); n != 2 {
			t.Errorf("%d statuses committed, want 2", n)
		}
		if sid := mediaStatus(t, s, own); sid != 0 {
			t.Errorf("media attached to %d", sid)
		}
	})
}

func testMedia(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	file := storage.Media{
		Account: "news", MediaType: "image/jpeg", Width: 1920, Height: 1080, Size: 123456,
		Blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj", Description: "a cat", FocusX: -0.5, FocusY: 0.25,
		Path: "media/ab/cd.jpg", CreatedAt: now,
	}
	inDB := file
	inDB.Path = ""
	inDB.Data = []byte{0xff, 0xd8, 0x00, 0x01}
	inDB.StatusID = 42 // ignored: media are inserted unattached

	fileID := must(s.InsertMedia(ctx, file))(t)
	dbID := must(s.InsertMedia(ctx, inDB))(t)
	if fileID == dbID {
		t.Fatalf("same id %d twice", fileID)
	}

	cases := []struct {
		name     string
		get      func(context.Context, int64) (storage.Media, error)
		id       int64
		want     storage.Media
		wantData []byte
	}{
		{"GetMedia of a file", s.GetMedia, fileID, file, nil},
		{"GetMediaData of a file", s.GetMediaData, fileID, file, nil},
		{"GetMedia leaves the data out", s.GetMedia, dbID, inDB, nil},
		{"GetMediaData reads the data", s.GetMediaData, dbID, inDB, inDB.Data},
	}
	for _, c := range cases {
		got := must(c.get(ctx, c.id))(t)
		w := c.want
		if got.ID != c.id || got.Account != w.Account || got.StatusID != 0 || got.MediaType != w.MediaType ||
			got.Width != w.Width || got.Height != w.Height || got.Size != w.Size || got.Blurhash != w.Blurhash ||
			got.Description != w.Description || got.FocusX != w.FocusX || got.FocusY != w.FocusY ||
			got.Path != w.Path || !got.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("%s = %+v, want %+v", c.name, got, w)
		}
		if !bytes.Equal(got.Data, c.wantData) || (c.wantData == nil) != (got.Data == nil) {
			t.Errorf("%s: Data = %v, want %v", c.name, got.Data, c.wantData)
		}
	}

	check(t, s.UpdateMediaMeta(ctx, fileID, "a black cat", 0.1, -0.9))
	if got := must(s.GetMedia(ctx, fileID))(t); got.Description != "a black cat" || got.FocusX != 0.1 || got.FocusY != -0.9 {
		t.Errorf("after UpdateMediaMeta = %+v", got)
	}

	st := newStatus("news", "with media", storage.VisibilityPublic)
	st.MediaIDs = []int64{dbID, fileID}
	sid := insertStatus(t, s, st)
	ms := must(s.ListStatusMedia(ctx, sid))(t)
	if !slices.Equal(mediaIDs(ms), st.MediaIDs) {
		t.Errorf("ListStatusMedia = %v, want %v", mediaIDs(ms), st.MediaIDs)
	}
	for _, m := range ms {
		if m.StatusID != sid || m.Data != nil {
			t.Errorf("listed media = %+v, want attached to %d, no data", m, sid)
		}
	}
	if ms := must(s.ListStatusMedia(ctx, 999999))(t); len(ms) != 0 {
		t.Errorf("ListStatusMedia of an unknown status = %v", mediaIDs(ms))
	}

	_, err := s.GetMedia(ctx, 999999)
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetMediaData(ctx, 999999)
	wantErr(t, err, storage.ErrNotFound)
	wantErr(t, s.UpdateMediaMeta(ctx, 999999, "x", 0, 0), storage.ErrNotFound)
	if _, err := s.InsertMedia(ctx, storage.Media{MediaType: "image/png"}); err == nil {
		t.Error("InsertMedia without account succeeded")
	}
}

// testMediaVideo: a video is inserted processing with the upload's bytes;
// it cannot be attached until FinishMedia replaces them with the result
// and its poster; FailMedia keeps the reason and drops the bytes; neither
// applies twice.
func testMediaVideo(t *testing.T, s storage.Store) {
	ctx := context.Background()
	upload := func(inDB bool) int64 {
		m := storage.Media{Account: "news", MediaType: "video/mp4", State: storage.MediaProcessing,
			Size: 4, Captions: "WEBVTT\n\n00:00.000 --> 00:01.000\nHello", CaptionsLang: "fr", Loop: inDB, CreatedAt: base()}
		if inDB {
			m.Data = []byte("raw!")
		} else {
			m.Path = "media/raw-upload"
		}
		return must(s.InsertMedia(ctx, m))(t)
	}
	for _, inDB := range []bool{false, true} {
		id := upload(inDB)
		m := must(s.GetMedia(ctx, id))(t)
		if m.State != storage.MediaProcessing || m.CaptionsLang != "fr" || !strings.HasPrefix(m.Captions, "WEBVTT") || m.Loop != inDB {
			t.Fatalf("inserted = %+v, want processing with its captions", m)
		}
		st := newStatus("news", "too early", storage.VisibilityPublic)
		st.MediaIDs = []int64{id}
		_, err := s.InsertStatus(ctx, st)
		wantErr(t, err, storage.ErrNotFound)

		done := storage.Media{ID: id, MediaType: "video/mp4", Width: 1920, Height: 1080, Size: 5, Blurhash: "LEHV6nWB2yk8",
			Duration: 12500 * time.Millisecond, PosterSize: 3}
		if inDB {
			done.Data, done.PosterData = []byte("done!"), []byte("jpg")
		} else {
			done.Path, done.PosterPath = "media/out.mp4", "media/out.jpg"
		}
		check(t, s.FinishMedia(ctx, done))
		wantErr(t, s.FinishMedia(ctx, done), storage.ErrNotFound)
		wantErr(t, s.FailMedia(ctx, id, "late"), storage.ErrNotFound)
		got := must(s.GetMediaData(ctx, id))(t)
		if got.State != storage.MediaReady || got.Width != 1920 || got.Height != 1080 || got.Size != 5 ||
			got.Duration != done.Duration || got.Blurhash != done.Blurhash || got.Path != done.Path ||
			got.PosterPath != done.PosterPath || got.PosterSize != 3 || !bytes.Equal(got.Data, done.Data) || got.PosterData != nil {
			t.Errorf("finished (in DB %v) = %+v, want %+v", inDB, got, done)
		}
		poster := must(s.GetMediaPoster(ctx, id))(t)
		if !bytes.Equal(poster, done.PosterData) {
			t.Errorf("GetMediaPoster = %q, want %q", poster, done.PosterData)
		}
		st.MediaIDs = []int64{id}
		sid := insertStatus(t, s, st)
		if got := mediaStatus(t, s, id); got != sid {
			t.Errorf("finished video attached to %d, want %d", got, sid)
		}
	}

	id := upload(true)
	check(t, s.FailMedia(ctx, id, "the file has no video track"))
	wantErr(t, s.FailMedia(ctx, id, "again"), storage.ErrNotFound)
	got := must(s.GetMediaData(ctx, id))(t)
	if got.State != storage.MediaFailed || got.Error != "the file has no video track" || got.Data != nil || got.Path != "" {
		t.Errorf("failed = %+v, want failed with its reason and no bytes", got)
	}
	st := newStatus("news", "failed video", storage.VisibilityPublic)
	st.MediaIDs = []int64{id}
	_, err := s.InsertStatus(ctx, st)
	wantErr(t, err, storage.ErrNotFound)
	wantErr(t, s.FinishMedia(ctx, storage.Media{ID: 999999}), storage.ErrNotFound)
	if _, err := s.InsertMedia(ctx, storage.Media{Account: "news", MediaType: "video/mp4", State: 7}); err == nil {
		t.Error("InsertMedia with an invalid state succeeded")
	}
}

// testMediaRemoved: deleting a status marks its media removed (their
// URLs answer 410), so does editing a status without them; a new status
// attaching them (delete-and-redraft) clears the mark; an upload never
// attached is not removed.
func testMediaRemoved(t *testing.T, s storage.Store) {
	ctx := context.Background()
	upload := func() int64 {
		return must(s.InsertMedia(ctx, storage.Media{Account: "news", MediaType: "image/png", Width: 1, Height: 1, Size: 10, Path: "m.png", CreatedAt: base()}))(t)
	}
	a, b, fresh := upload(), upload(), upload()
	st := newStatus("news", "with two images", storage.VisibilityPublic)
	st.MediaIDs = []int64{a, b}
	sid := insertStatus(t, s, st)
	for _, id := range []int64{a, b, fresh} {
		if m := must(s.GetMedia(ctx, id))(t); !m.RemovedAt.IsZero() {
			t.Fatalf("media %d removed before any deletion: %v", id, m.RemovedAt)
		}
	}

	// An edit keeping only a: b is removed.
	edited := must(s.GetStatus(ctx, sid))(t)
	edited.MediaIDs = []int64{a}
	edited.EditedAt = base().Add(time.Minute)
	check(t, s.UpdateStatus(ctx, edited))
	if m := must(s.GetMedia(ctx, b))(t); m.StatusID != 0 || !m.RemovedAt.Equal(edited.EditedAt) {
		t.Errorf("media dropped by an edit = status %d removed %v, want 0 and %v", m.StatusID, m.RemovedAt, edited.EditedAt)
	}
	if m := must(s.GetMedia(ctx, a))(t); m.StatusID != sid || !m.RemovedAt.IsZero() {
		t.Errorf("media kept by an edit = status %d removed %v", m.StatusID, m.RemovedAt)
	}

	// The status deleted: a is removed at the deletion time.
	deleted := base().Add(2 * time.Minute)
	check(t, s.DeleteStatus(ctx, "news", sid, deleted))
	if m := must(s.GetMedia(ctx, a))(t); m.StatusID != 0 || !m.RemovedAt.Equal(deleted) {
		t.Errorf("media of a deleted status = status %d removed %v, want 0 and %v", m.StatusID, m.RemovedAt, deleted)
	}
	if m := must(s.GetMedia(ctx, fresh))(t); !m.RemovedAt.IsZero() {
		t.Errorf("unattached upload marked removed: %v", m.RemovedAt)
	}

	// Redraft: a new status attaches a again.
	redraft := newStatus("news", "redrafted", storage.VisibilityPublic)
	redraft.MediaIDs = []int64{a}
	rid := insertStatus(t, s, redraft)
	if m := must(s.GetMedia(ctx, a))(t); m.StatusID != rid || !m.RemovedAt.IsZero() {
		t.Errorf("media attached again = status %d removed %v, want %d and not removed", m.StatusID, m.RemovedAt, rid)
	}
}

func sameToken(a, b storage.Token) bool {
	return a.ID == b.ID && a.Hash == b.Hash && a.Account == b.Account && a.AppID == b.AppID && a.Name == b.Name &&
		a.Scopes == b.Scopes && a.CreatedAt.Equal(b.CreatedAt) && a.LastUsedAt.Equal(b.LastUsedAt) &&
		a.RevokedAt.Equal(b.RevokedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

func testAppsAndTokens(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()

	app := storage.App{
		ClientID: "client-1", SecretHash: "5e", Name: "Tusky", RedirectURIs: "urn:ietf:wg:oauth:2.0:oob\nhttps://app/cb",
		Scopes: "read write", Website: "https://tusky.app", CreatedAt: now,
	}
	app.ID = must(s.InsertApp(ctx, app))(t)
	if got := must(s.GetAppByClientID(ctx, "client-1"))(t); got.ID != app.ID || got.ClientID != app.ClientID ||
		got.SecretHash != app.SecretHash || got.Name != app.Name || got.RedirectURIs != app.RedirectURIs ||
		got.Scopes != app.Scopes || got.Website != app.Website || !got.CreatedAt.Equal(app.CreatedAt) {
		t.Errorf("GetAppByClientID = %+v, want %+v", got, app)
	}
	dup := app
	dup.ID = 0
	_, err := s.InsertApp(ctx, dup)
	wantErr(t, err, storage.ErrAlreadyExists)
	_, err = s.GetAppByClientID(ctx, "nope")
	wantErr(t, err, storage.ErrNotFound)

	tokens := []storage.Token{
		{Hash: "h1", Account: "news", AppID: app.ID, Name: "Tusky", Scopes: "read", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{Hash: "h2", Account: "other", Name: "cli", Scopes: "read write", CreatedAt: now},
		{Hash: "h3", Account: "news", Name: "cli", Scopes: "write", CreatedAt: now.Add(time.Second), LastUsedAt: now},
	}
	for i := range tokens {
		tokens[i].ID = must(s.InsertToken(ctx, tokens[i]))(t)
	}
	for _, tk := range tokens {
		if got := must(s.GetTokenByHash(ctx, tk.Hash))(t); !sameToken(got, tk) {
			t.Errorf("GetTokenByHash(%q) = %+v, want %+v", tk.Hash, got, tk)
		}
	}
	_, err = s.InsertToken(ctx, storage.Token{Hash: "h1", Account: "news"})
	wantErr(t, err, storage.ErrAlreadyExists)
	_, err = s.GetTokenByHash(ctx, "nope")
	wantErr(t, err, storage.ErrNotFound)

	lists := []struct {
		account string
		want    []int64
	}{
		{"news", []int64{tokens[0].ID, tokens[2].ID}},
		{"other", []int64{tokens[1].ID}},
		{"nobody", nil},
	}
	for _, l := range lists {
		var got []int64
		for _, tk := range must(s.ListTokens(ctx, l.account))(t) {
			got = append(got, tk.ID)
		}
		if !slices.Equal(got, l.want) {
			t.Errorf("ListTokens(%q) = %v, want %v", l.account, got, l.want)
		}
	}

	steps := []struct {
		name string
		op   func() error
		hash string
		want func(tk *storage.Token) // applied to the expected token
	}{
		{"touch", func() error { return s.TouchToken(ctx, tokens[0].ID, now.Add(time.Minute)) }, "h1",
			func(tk *storage.Token) { tk.LastUsedAt = now.Add(time.Minute) }},
		{"touch never moves back", func() error { return s.TouchToken(ctx, tokens[0].ID, now) }, "h1",
			func(tk *storage.Token) {}},
		{"revoke by id", func() error { return s.RevokeToken(ctx, tokens[0].ID, now.Add(time.Hour)) }, "h1",
			func(tk *storage.Token) { tk.RevokedAt = now.Add(time.Hour) }},
		{"revoke again keeps the first time", func() error { return s.RevokeToken(ctx, tokens[0].ID, now.Add(2*time.Hour)) }, "h1",
			func(tk *storage.Token) {}},
		{"revoke by hash", func() error { return s.RevokeTokenByHash(ctx, "h2", now.Add(time.Minute)) }, "h2",
			func(tk *storage.Token) { tk.RevokedAt = now.Add(time.Minute) }},
	}
	for _, st := range steps {
		check(t, st.op())
		i := slices.IndexFunc(tokens, func(tk storage.Token) bool { return tk.Hash == st.hash })
		st.want(&tokens[i])
		if got := must(s.GetTokenByHash(ctx, st.hash))(t); !sameToken(got, tokens[i]) {
			t.Errorf("%s: token = %+v, want %+v", st.name, got, tokens[i])
		}
	}
	if ts := must(s.ListTokens(ctx, "news"))(t); len(ts) != 2 || ts[0].RevokedAt.IsZero() {
		t.Errorf("ListTokens after revoke = %+v, want revoked tokens listed", ts)
	}

	wantErr(t, s.RevokeToken(ctx, 999999, now), storage.ErrNotFound)
	wantErr(t, s.RevokeTokenByHash(ctx, "nope", now), storage.ErrNotFound)
	wantErr(t, s.TouchToken(ctx, 999999, now), storage.ErrNotFound)
}

func testAuthCodes(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	c := storage.AuthCode{Hash: "c1", AppID: 3, Account: "news", RedirectURI: "https://app/cb", Scopes: "read", ExpiresAt: now.Add(10 * time.Minute)}
	check(t, s.InsertAuthCode(ctx, c))
	wantErr(t, s.InsertAuthCode(ctx, c), storage.ErrAlreadyExists)

	got := must(s.TakeAuthCode(ctx, "c1"))(t)
	if got.Hash != c.Hash || got.AppID != c.AppID || got.Account != c.Account || got.RedirectURI != c.RedirectURI ||
		got.Scopes != c.Scopes || !got.ExpiresAt.Equal(c.ExpiresAt) {
		t.Errorf("TakeAuthCode = %+v, want %+v", got, c)
	}
	_, err := s.TakeAuthCode(ctx, "c1")
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.TakeAuthCode(ctx, "unknown")
	wantErr(t, err, storage.ErrNotFound)

	// An expired code is still returned: the caller checks ExpiresAt.
	expired := c
	expired.Hash, expired.ExpiresAt = "c2", now.Add(-time.Minute)
	check(t, s.InsertAuthCode(ctx, expired))
	if got := must(s.TakeAuthCode(ctx, "c2"))(t); !got.ExpiresAt.Equal(expired.ExpiresAt) {
		t.Errorf("expired code ExpiresAt = %v", got.ExpiresAt)
	}

	// A PKCE challenge is kept with its code.
	pkce := c
	pkce.Hash, pkce.CodeChallenge = "c3", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	check(t, s.InsertAuthCode(ctx, pkce))
	if got := must(s.TakeAuthCode(ctx, "c3"))(t); got.CodeChallenge != pkce.CodeChallenge {
		t.Errorf("CodeChallenge = %q, want %q", got.CodeChallenge, pkce.CodeChallenge)
	}

	// DeleteAuthCodes burns the codes of one account and app.
	for _, ac := range []storage.AuthCode{
		{Hash: "l1", AppID: 0, Account: "news", RedirectURI: "login", ExpiresAt: now.Add(time.Minute)},
		{Hash: "l2", AppID: 0, Account: "news", RedirectURI: "login", ExpiresAt: now.Add(time.Minute)},
		{Hash: "l3", AppID: 0, Account: "mayor", RedirectURI: "login", ExpiresAt: now.Add(time.Minute)},
		{Hash: "a1", AppID: 3, Account: "news", RedirectURI: "https://app/cb", ExpiresAt: now.Add(time.Minute)},
	} {
		check(t, s.InsertAuthCode(ctx, ac))
	}
	if n := must(s.DeleteAuthCodes(ctx, "news", 0))(t); n != 2 {
		t.Errorf("DeleteAuthCodes(news, 0) = %d, want 2", n)
	}
	for hash, want := range map[string]bool{"l1": false, "l2": false, "l3": true, "a1": true} {
		_, err := s.TakeAuthCode(ctx, hash)
		if (err == nil) != want {
			t.Errorf("code %s after DeleteAuthCodes: %v, want kept %v", hash, err, want)
		}
	}
}

func testFollowerInboxes(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	add := func(account, actor, inbox, shared, state string) {
		t.Helper()
		f := follower(account, actor, state, now)
		f.Inbox, f.SharedInbox = inbox, shared
		must(s.UpsertFollower(ctx, f))(t)
	}
	acc := storage.FollowerAccepted
	// Bytewise, "https://B..." < "https://a..." < "https://b..." < "https://c...".
	add("news", "https://a.example/u/1", "https://a.example/u/1/inbox", "https://a.example/inbox", acc)
	add("news", "https://a.example/u/2", "https://a.example/u/2/inbox", "https://a.example/inbox", acc)
	add("news", "https://a.example/u/3", "https://a.example/u/3/inbox", "https://a.example/inbox", acc)
	add("news", "https://b.example/u/1", "https://b.example/u/1/inbox", "", acc)
	add("news", "https://b.example/u/2", "https://b.example/u/2/inbox", "", acc)
	add("news", "https://B.example/u/1", "https://B.example/u/1/inbox", "", acc)
	add("news", "https://c.example/u/1", "https://c.example/u/1/inbox", "https://c.example/inbox", acc)
	add("news", "https://d.example/u/1", "https://d.example/u/1/inbox", "https://d.example/inbox", storage.FollowerPending)
	add("other", "https://e.example/u/1", "https://e.example/u/1/inbox", "https://e.example/inbox", acc)

	all := []string{
		"https://B.example/u/1/inbox",
		"https://a.example/inbox",
		"https://b.example/u/1/inbox",
		"https://b.example/u/2/inbox",
		"https://c.example/inbox",
	}
	cases := []struct {
		name    string
		account string
		limit   int
		want    [][]string // pages
	}{
		{"one page", "news", 10, [][]string{all}},
		{"by two", "news", 2, [][]string{all[:2], all[2:4], all[4:]}},
		{"by one", "news", 1, [][]string{all[:1], all[1:2], all[2:3], all[3:4], all[4:]}},
		{"other account", "other", 10, [][]string{{"https://e.example/inbox"}}},
		{"no followers", "nobody", 10, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var pages [][]string
			after := ""
			for range 10 {
				page := must(s.ListFollowerInboxes(ctx, c.account, after, c.limit))(t)
				if len(page) == 0 {
					break
				}
				pages = append(pages, page)
				after = page[len(page)-1]
			}
			if fmt.Sprint(pages) != fmt.Sprint(c.want) {
				t.Errorf("pages = %q, want %q", pages, c.want)
			}
		})
	}
	if got := must(s.ListFollowerInboxes(ctx, "news", "https://b", 10))(t); !slices.Equal(got, all[2:]) {
		t.Errorf("after a value not listed = %q, want %q", got, all[2:])
	}
	if got := must(s.ListFollowerInboxes(ctx, "news", "", 0))(t); len(got) != 0 {
		t.Errorf("limit 0 = %q", got)
	}
}

func testDeleteFollowersByInbox(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	add := func(account, actor, inbox, shared string) {
		t.Helper()
		f := follower(account, actor, storage.FollowerAccepted, now)
		f.Inbox, f.SharedInbox = inbox, shared
		must(s.UpsertFollower(ctx, f))(t)
	}
	add("news", "https://a.example/u/1", "https://a.example/u/1/inbox", "https://a.example/inbox")
	add("events", "https://a.example/u/1", "https://a.example/u/1/inbox", "https://a.example/inbox")
	add("news", "https://a.example/u/2", "https://a.example/u/2/inbox", "https://a.example/inbox")
	add("news", "https://b.example/u/1", "https://b.example/u/1/inbox", "")
	add("news", "https://b.example/u/2", "https://b.example/u/2/inbox", "")
	add("news", "https://c.example/u/1", "https://c.example/u/1/inbox", "https://c.example/inbox")

	steps := []struct {
		name  string
		inbox string
		want  int64
	}{
		{"empty inbox removes nothing", "", 0},
		{"unknown inbox", "https://z.example/inbox", 0},
		{"own inbox", "https://b.example/u/1/inbox", 1},
		{"own inbox of a follower with a shared inbox", "https://c.example/u/1/inbox", 1},
		{"shared inbox, every account", "https://a.example/inbox", 3},
		{"again", "https://a.example/inbox", 0},
	}
	for _, st := range steps {
		if got := must(s.DeleteFollowersByInbox(ctx, st.inbox))(t); got != st.want {
			t.Errorf("%s: DeleteFollowersByInbox = %d, want %d", st.name, got, st.want)
		}
	}
	var left []string
	for _, acc := range []string{"news", "events"} {
		for _, f := range must(s.ListFollowers(ctx, acc, "", "", 10))(t) {
			left = append(left, acc+" "+f.ActorID)
		}
	}
	if want := []string{"news https://b.example/u/2"}; !slices.Equal(left, want) {
		t.Errorf("followers left = %q, want %q", left, want)
	}
}

func sameHost(a, b storage.Host) bool {
	return a.Host == b.Host && a.Failures == b.Failures && a.UnavailableUntil.Equal(b.UnavailableUntil) &&
		a.LastSuccess.Equal(b.LastSuccess) && a.LastFailure.Equal(b.LastFailure)
}

func testHosts(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	const h = "remote.example"
	_, err := s.GetHost(ctx, h)
	wantErr(t, err, storage.ErrNotFound)

	steps := []struct {
		name    string
		success bool
		at      time.Time
		until   time.Time // failures only
		want    storage.Host
	}{
		{"first failure", false, now, now.Add(time.Minute),
			storage.Host{Host: h, Failures: 1, UnavailableUntil: now.Add(time.Minute), LastFailure: now}},
		{"failure without until keeps it", false, now.Add(time.Second), time.Time{},
			storage.Host{Host: h, Failures: 2, UnavailableUntil: now.Add(time.Minute), LastFailure: now.Add(time.Second)}},
		{"failure with a new until", false, now.Add(2 * time.Second), now.Add(time.Hour),
			storage.Host{Host: h, Failures: 3, UnavailableUntil: now.Add(time.Hour), LastFailure: now.Add(2 * time.Second)}},
		{"success resets", true, now.Add(3 * time.Second), time.Time{},
			storage.Host{Host: h, LastSuccess: now.Add(3 * time.Second), LastFailure: now.Add(2 * time.Second)}},
		{"failure after success", false, now.Add(4 * time.Second), time.Time{},
			storage.Host{Host: h, Failures: 1, LastSuccess: now.Add(3 * time.Second), LastFailure: now.Add(4 * time.Second)}},
	}
	for _, st := range steps {
		if st.success {
			check(t, s.RecordHostSuccess(ctx, h, st.at))
		} else if got := must(s.RecordHostFailure(ctx, h, st.at, st.until))(t); !sameHost(got, st.want) {
			t.Errorf("%s: RecordHostFailure = %+v, want %+v", st.name, got, st.want)
		}
		if got := must(s.GetHost(ctx, h))(t); !sameHost(got, st.want) {
			t.Errorf("%s: GetHost = %+v, want %+v", st.name, got, st.want)
		}
	}

	// Unavailable hosts: the one still paused, not those whose pause ended,
	// that never had one, or whose success cleared it (remote.example).
	check(t, s.RecordHostSuccess(ctx, "fine.example", now))
	must(s.RecordHostFailure(ctx, "paused.example", now, now.Add(2*time.Hour)))(t)
	must(s.RecordHostFailure(ctx, "resumed.example", now, now.Add(time.Minute)))(t)
	if got := must(s.ListUnavailableHosts(ctx, now.Add(30*time.Minute)))(t); len(got) != 1 ||
		got[0].Host != "paused.example" || !got[0].UnavailableUntil.Equal(now.Add(2*time.Hour)) || got[0].Failures != 1 {
		t.Errorf("ListUnavailableHosts = %+v, want paused.example, paused for two hours", got)
	}
	if got := must(s.ListUnavailableHosts(ctx, now.Add(3*time.Hour)))(t); len(got) != 0 {
		t.Errorf("ListUnavailableHosts after every pause = %+v, want none", got)
	}

	// A success first records the host too.
	check(t, s.RecordHostSuccess(ctx, "other.example", now))
	if got := must(s.GetHost(ctx, "other.example"))(t); !sameHost(got, storage.Host{Host: "other.example", LastSuccess: now}) {
		t.Errorf("GetHost after a first success = %+v", got)
	}
}

// testHostsEd25519: what a host is known to verify is recorded with or
// without a delivery row, changed when it changes, and leaves the host's
// failures alone.
func testHostsEd25519(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	if got := must(s.ListHostsEd25519(ctx))(t); len(got) != 0 {
		t.Fatalf("ListHostsEd25519 on an empty store = %v", got)
	}
	if err := s.SetHostEd25519(ctx, "", true); err == nil {
		t.Error("SetHostEd25519 with an empty host: no error")
	}
	failing := storage.Host{Host: "failing.example", Failures: 1, UnavailableUntil: now.Add(time.Minute), LastFailure: now}
	must(s.RecordHostFailure(ctx, failing.Host, now, failing.UnavailableUntil))(t)
	check(t, s.RecordHostSuccess(ctx, "unknown.example", now))
	steps := []struct {
		name     string
		host     string
		verifies bool
		want     map[string]bool
	}{
		{"a new host that verifies", "fedify.example", true, map[string]bool{"fedify.example": true}},
		{"a known host that refuses", "failing.example", false, map[string]bool{"fedify.example": true, "failing.example": false}},
		{"it changed its mind", "failing.example", true, map[string]bool{"fedify.example": true, "failing.example": true}},
		{"one that stopped", "fedify.example", false, map[string]bool{"fedify.example": false, "failing.example": true}},
	}
	for _, st := range steps {
		check(t, s.SetHostEd25519(ctx, st.host, st.verifies))
		got := must(s.ListHostsEd25519(ctx))(t)
		if len(got) != len(st.want) {
			t.Errorf("%s: ListHostsEd25519 = %v, want %v", st.name, got, st.want)
		}
		for h, v := range st.want {
			if g, ok := got[h]; !ok || g != v {
				t.Errorf("%s: ListHostsEd25519 = %v, want %v", st.name, got, st.want)
			}
		}
	}
	if got := must(s.GetHost(ctx, failing.Host))(t); !sameHost(got, failing) {
		t.Errorf("the failures of a host changed with its Ed25519 answer: %+v, want %+v", got, failing)
	}
}
