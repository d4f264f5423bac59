package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// RunCrisis checks crisis mode's storage: on once, the posts it tightened
// with what each had before (the first record kept), off forgetting them,
// one account's crisis apart from another's, and removing a post's own
// policy.
func RunCrisis(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("OnOff", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		at := base()
		_, err := s.GetCrisis(ctx, "news")
		wantErr(t, err, storage.ErrNotFound)
		if created := must(s.StartCrisis(ctx, storage.Crisis{Account: "news", Posts: 20, StartedAt: at}))(t); !created {
			t.Fatal("StartCrisis: not created")
		}
		if created := must(s.StartCrisis(ctx, storage.Crisis{Account: "news", Posts: 50, StartedAt: at.Add(time.Hour)}))(t); created {
			t.Error("StartCrisis twice: created again")
		}
		if got := must(s.GetCrisis(ctx, "news"))(t); got != (storage.Crisis{Account: "news", Posts: 20, StartedAt: at}) {
			t.Errorf("GetCrisis = %+v, want the first one", got)
		}
		check(t, ignore(s.StartCrisis(ctx, storage.Crisis{Account: "events", Posts: 5, StartedAt: at})))
		if got := must(s.LockCrisis(ctx, "news"))(t); got != (storage.Crisis{Account: "news", Posts: 20, StartedAt: at}) {
			t.Errorf("LockCrisis = %+v, want the first one", got)
		}
		_, err = s.LockCrisis(ctx, "nobody")
		wantErr(t, err, storage.ErrNotFound)
		if ended := must(s.EndCrisis(ctx, "news"))(t); !ended {
			t.Error("EndCrisis: not ended")
		}
		if ended := must(s.EndCrisis(ctx, "news"))(t); ended {
			t.Error("EndCrisis when off: ended")
		}
		_, err = s.GetCrisis(ctx, "news")
		wantErr(t, err, storage.ErrNotFound)
		_, err = s.LockCrisis(ctx, "news")
		wantErr(t, err, storage.ErrNotFound)
		if _, err := s.GetCrisis(ctx, "events"); err != nil {
			t.Errorf("another account's crisis: %v", err)
		}
	})
	t.Run("Posts", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		at := base()
		check(t, ignore(s.StartCrisis(ctx, storage.Crisis{Account: "news", Posts: 2, StartedAt: at})))
		check(t, ignore(s.StartCrisis(ctx, storage.Crisis{Account: "events", Posts: 2, StartedAt: at})))
		first := storage.CrisisPost{StatusID: 7, Account: "news", HadPolicy: true, Replies: "mentioned", Quotes: "", CreatedAt: at}
		if created := must(s.AddCrisisPost(ctx, first))(t); !created {
			t.Fatal("AddCrisisPost: not created")
		}
		// A second record of the same post (turned on again) keeps what
		// it had before the crisis.
		if created := must(s.AddCrisisPost(ctx, storage.CrisisPost{StatusID: 7, Account: "news", HadPolicy: true, Replies: "nobody", Quotes: "disallow"}))(t); created {
			t.Error("AddCrisisPost twice: created again")
		}
		none := storage.CrisisPost{StatusID: 3, Account: "news", CreatedAt: at}
		check(t, ignore(s.AddCrisisPost(ctx, none)))
		other := storage.CrisisPost{StatusID: 9, Account: "events", HadPolicy: true, Quotes: "followers", CreatedAt: at}
		check(t, ignore(s.AddCrisisPost(ctx, other)))
		got := must(s.ListCrisisPosts(ctx, "news"))(t)
		if len(got) != 2 || got[0] != none || got[1] != first {
			t.Errorf("ListCrisisPosts = %+v, want %+v then %+v", got, none, first)
		}
		check(t, ignore(s.EndCrisis(ctx, "news")))
		if got := must(s.ListCrisisPosts(ctx, "news"))(t); len(got) != 0 {
			t.Errorf("after EndCrisis: %+v", got)
		}
		if got := must(s.ListCrisisPosts(ctx, "events"))(t); len(got) != 1 || got[0] != other {
			t.Errorf("another account's posts after EndCrisis: %+v, want %+v", got, other)
		}
	})
	t.Run("InTxRollsBack", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		err := s.InTx(ctx, func(q storage.Queries) error {
			if _, err := q.StartCrisis(ctx, storage.Crisis{Account: "news", Posts: 1}); err != nil {
				return err
			}
			if _, err := q.AddCrisisPost(ctx, storage.CrisisPost{StatusID: 1, Account: "news"}); err != nil {
				return err
			}
			return errRollback
		})
		wantErr(t, err, errRollback)
		if _, err := s.GetCrisis(ctx, "news"); err == nil {
			t.Error("a rolled back StartCrisis left the crisis on")
		}
		if got := must(s.ListCrisisPosts(ctx, "news"))(t); len(got) != 0 {
			t.Errorf("a rolled back AddCrisisPost left %+v", got)
		}
	})
	// What a transaction adds to a crisis it locked is never left behind
	// by an EndCrisis that ran meanwhile: the end waits for it.
	t.Run("LockHoldsEnd", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		check(t, ignore(s.StartCrisis(ctx, storage.Crisis{Account: "news", Posts: 1})))
		locked, ended := make(chan struct{}), make(chan error, 1)
		go func() {
			<-locked
			_, err := s.EndCrisis(ctx, "news")
			ended <- err
		}()
		err := s.InTx(ctx, func(q storage.Queries) error {
			if _, err := q.LockCrisis(ctx, "news"); err != nil {
				return err
			}
			close(locked)
			time.Sleep(100 * time.Millisecond) // the end is under way
			_, err := q.AddCrisisPost(ctx, storage.CrisisPost{StatusID: 1, Account: "news"})
			return err
		})
		check(t, err)
		check(t, <-ended)
		if got := must(s.ListCrisisPosts(ctx, "news"))(t); len(got) != 0 {
			t.Errorf("a post added under the lock outlived the crisis: %+v", got)
		}
	})
	t.Run("DeleteStatusPolicy", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		if deleted := must(s.DeleteStatusPolicy(ctx, 1))(t); deleted {
			t.Error("DeleteStatusPolicy of none: deleted")
		}
		check(t, s.PutStatusPolicy(ctx, storage.StatusPolicy{StatusID: 1, Replies: "nobody", Quotes: "disallow"}))
		check(t, s.PutStatusPolicy(ctx, storage.StatusPolicy{StatusID: 2, Replies: "followers"}))
		if deleted := must(s.DeleteStatusPolicy(ctx, 1))(t); !deleted {
			t.Error("DeleteStatusPolicy: not deleted")
		}
		_, err := s.GetStatusPolicy(ctx, 1)
		wantErr(t, err, storage.ErrNotFound)
		if got := must(s.GetStatusPolicy(ctx, 2))(t); got.Replies != "followers" {
			t.Errorf("another post's policy: %+v", got)
		}
	})
}

var errRollback = errors.New("roll back")

// ignore drops a result and keeps the error.
func ignore[T any](_ T, err error) error { return err }
