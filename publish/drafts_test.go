package publish_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

var timeZero time.Time

// TestDraftApproval: a contributor's draft publishes nothing until
// approved; approval publishes once (twice, or at once from two editors:
// one status), attributed to the contributor, the draft marked with the
// status; another account cannot decide it; a rejected draft keeps its
// reason and is never published.
func TestDraftApproval(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	by := &storage.StatusAttribution{MemberID: 3, TokenID: 5}
	if _, err := e.pub.SubmitDraft(ctx, "news", publish.Draft{Text: "", By: by}, timeZero); err == nil {
		t.Fatal("an empty draft was accepted")
	}
	td, err := e.pub.SubmitDraft(ctx, "news", publish.Draft{Text: "from a contributor", By: by}, timeZero)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := e.store.CountStatuses(ctx, "news", nil); n != 0 {
		t.Fatalf("%d statuses before approval", n)
	}
	if _, err := e.pub.ApproveDraft(ctx, "other", td.ID, 9); !errors.Is(err, publish.ErrNotFound) {
		t.Fatalf("approve through another account: %v", err)
	}
	if err := e.pub.RejectDraft(ctx, "other", td.ID, 9, ""); !errors.Is(err, publish.ErrNotFound) {
		t.Fatalf("reject through another account: %v", err)
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[int64]bool{}
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ap, err := e.pub.ApproveDraft(ctx, "news", td.ID, 9)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("approve: %v", err)
				return
			}
			ids[ap.Status.ID] = true
		}()
	}
	wg.Wait()
	if n, _ := e.store.CountStatuses(ctx, "news", nil); n != 1 || len(ids) != 1 {
		t.Fatalf("%d statuses, %d ids after concurrent approvals", n, len(ids))
	}
	got, err := e.store.GetTeamDraft(ctx, td.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != storage.DraftApproved || got.DecidedBy != 9 || !ids[got.StatusID] {
		t.Fatalf("approved draft = %+v", got)
	}
	attr, _ := e.store.StatusAttributions(ctx, []int64{got.StatusID})
	if a := attr[got.StatusID]; a.MemberID != 3 || a.TokenID != 5 {
		t.Fatalf("attribution = %+v", a)
	}
	if err := e.pub.RejectDraft(ctx, "news", td.ID, 9, "late"); !errors.Is(err, publish.ErrDraftDecided) {
		t.Fatalf("reject an approved draft: %v", err)
	}

	td2, err := e.pub.SubmitDraft(ctx, "news", publish.Draft{Text: "not this one", By: by}, timeZero)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.pub.RejectDraft(ctx, "news", td2.ID, 9, "off topic"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.pub.ApproveDraft(ctx, "news", td2.ID, 9); !errors.Is(err, publish.ErrDraftDecided) {
		t.Fatalf("approve a rejected draft: %v", err)
	}
	if got, _ := e.store.GetTeamDraft(ctx, td2.ID); got.State != storage.DraftRejected || got.Reason != "off topic" {
		t.Fatalf("rejected draft = %+v", got)
	}
	if n, _ := e.store.CountStatuses(ctx, "news", nil); n != 1 {
		t.Fatalf("%d statuses", n)
	}
}
