package storagetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// testKV runs the key/value store and lock conformance tests.
func testKV(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("Values", func(t *testing.T) { testKVValues(t, open(t)) })
	t.Run("ListAndDelete", func(t *testing.T) { testKVListAndDelete(t, open(t)) })
	t.Run("Locks", func(t *testing.T) { testKVLocks(t, open(t)) })
	t.Run("ConcurrentLocks", func(t *testing.T) { testKVConcurrentLocks(t, open(t)) })
}

func testKVValues(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()

	_, err := s.GetValue(ctx, "certificates/x/x.crt")
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.StatValue(ctx, "certificates/x/x.crt")
	wantErr(t, err, storage.ErrNotFound)

	blob := []byte{0, 1, 2, 0xff, '\n', 'x'} // binary-safe
	check(t, s.PutValue(ctx, "certificates/x/x.crt", blob, now))
	e := must(s.GetValue(ctx, "certificates/x/x.crt"))(t)
	if !bytes.Equal(e.Value, blob) || e.Size != int64(len(blob)) || !e.Modified.Equal(now) || e.Path != "certificates/x/x.crt" {
		t.Errorf("GetValue = %+v, want %v modified %v", e, blob, now)
	}
	st := must(s.StatValue(ctx, "certificates/x/x.crt"))(t)
	if st.Value != nil || st.Size != int64(len(blob)) || !st.Modified.Equal(now) {
		t.Errorf("StatValue = %+v, want size %d, no value", st, len(blob))
	}

	// Overwrite.
	later := now.Add(time.Minute)
	check(t, s.PutValue(ctx, "certificates/x/x.crt", []byte("new"), later))
	e = must(s.GetValue(ctx, "certificates/x/x.crt"))(t)
	if string(e.Value) != "new" || !e.Modified.Equal(later) {
		t.Errorf("after overwrite GetValue = %q at %v", e.Value, e.Modified)
	}

	// Empty values exist.
	check(t, s.PutValue(ctx, "empty", nil, now))
	e = must(s.GetValue(ctx, "empty"))(t)
	if e.Value == nil || len(e.Value) != 0 || e.Size != 0 {
		t.Errorf("empty value = %#v", e)
	}
	if err := s.PutValue(ctx, "", []byte("x"), now); err == nil {
		t.Error("PutValue with an empty path succeeded")
	}
}

func paths(es []storage.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Path
	}
	return out
}

func testKVListAndDelete(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	all := []string{
		"a", "a/b", "a/b/c", "a/d", "a_b/x", "a-b/x", "ab/c", "a0", "b/c",
		"certificates/acme-v02.example-directory/city.example/city.example.crt",
	}
	for i, p := range all {
		check(t, s.PutValue(ctx, p, []byte(fmt.Sprint(i)), now))
	}
	sorted := slices.Clone(all)
	slices.Sort(sorted)

	tests := []struct {
		name string
		dir  string
		want []string
	}{
		{name: "everything", dir: "", want: sorted},
		{name: "a directory holds its whole subtree, not look-alike prefixes", dir: "a", want: []string{"a/b", "a/b/c", "a/d"}},
		{name: "a nested directory", dir: "a/b", want: []string{"a/b/c"}},
		{name: "a leaf has nothing under it", dir: "a/d", want: nil},
		{name: "an unknown directory", dir: "zzz", want: nil},
		{name: "underscore is not a wildcard", dir: "a_b", want: []string{"a_b/x"}},
		{name: "a long path", dir: "certificates", want: []string{"certificates/acme-v02.example-directory/city.example/city.example.crt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := paths(must(s.ListValues(ctx, tt.dir))(t))
			if !slices.Equal(got, tt.want) {
				t.Errorf("ListValues(%q) = %q, want %q", tt.dir, got, tt.want)
			}
		})
	}
	if es := must(s.ListValues(ctx, "a/b"))(t); len(es) != 1 || es[0].Value != nil || es[0].Size != int64(len("2")) {
		t.Errorf("ListValues entries = %+v, want sizes and no values", es)
	}

	// Deleting a directory deletes its subtree and the entry of the same
	// name, nothing else.
	if n := must(s.DeleteValues(ctx, "a"))(t); n != 4 {
		t.Errorf("DeleteValues(a) = %d, want 4", n)
	}
	want := []string{"a-b/x", "a0", "a_b/x", "ab/c", "b/c", "certificates/acme-v02.example-directory/city.example/city.example.crt"}
	if got := paths(must(s.ListValues(ctx, ""))(t)); !slices.Equal(got, want) {
		t.Errorf("after DeleteValues(a): %q, want %q", got, want)
	}
	if n := must(s.DeleteValues(ctx, "a"))(t); n != 0 {
		t.Errorf("second DeleteValues(a) = %d, want 0", n)
	}
	if n := must(s.DeleteValues(ctx, "certificates"))(t); n != 1 {
		t.Errorf("DeleteValues(certificates) = %d, want 1", n)
	}
}

func testKVLocks(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	ttl := time.Minute
	acquire := func(name, owner string, at time.Time) bool {
		t.Helper()
		return must(s.AcquireLock(ctx, name, owner, at, ttl))(t)
	}

	if !acquire("issue_cert_city.example", "replica-1", now) {
		t.Fatal("first AcquireLock failed")
	}
	if acquire("issue_cert_city.example", "replica-2", now.Add(time.Second)) {
		t.Error("a held lock was acquired by another owner")
	}
	if acquire("issue_cert_city.example", "replica-1", now.Add(time.Second)) {
		t.Error("a held lock was acquired again by its owner (locks are not re-entrant)")
	}
	if !acquire("issue_cert_other.example", "replica-2", now) {
		t.Error("an unrelated lock was not acquired")
	}

	// Renewing keeps it past the first expiry.
	check(t, s.RenewLock(ctx, "issue_cert_city.example", "replica-1", now.Add(50*time.Second), ttl))
	if acquire("issue_cert_city.example", "replica-2", now.Add(90*time.Second)) {
		t.Error("a renewed lock was taken over before its new expiry")
	}
	wantErr(t, s.RenewLock(ctx, "issue_cert_city.example", "replica-2", now, ttl), storage.ErrLockNotHeld)

	// Releasing by a non-owner does nothing.
	wantErr(t, s.ReleaseLock(ctx, "issue_cert_city.example", "replica-2"), storage.ErrLockNotHeld)
	if acquire("issue_cert_city.example", "replica-2", now.Add(100*time.Second)) {
		t.Error("the lock was taken after a non-owner's release")
	}

	// An expired lock (its holder crashed) is taken over.
	if !acquire("issue_cert_city.example", "replica-2", now.Add(111*time.Second)) {
		t.Fatal("an expired lock was not taken over")
	}
	wantErr(t, s.RenewLock(ctx, "issue_cert_city.example", "replica-1", now, ttl), storage.ErrLockNotHeld)
	wantErr(t, s.ReleaseLock(ctx, "issue_cert_city.example", "replica-1"), storage.ErrLockNotHeld)

	// Release, then anyone may take it at once.
	check(t, s.ReleaseLock(ctx, "issue_cert_city.example", "replica-2"))
	wantErr(t, s.ReleaseLock(ctx, "issue_cert_city.example", "replica-2"), storage.ErrLockNotHeld)
	if !acquire("issue_cert_city.example", "replica-3", now.Add(112*time.Second)) {
		t.Error("a released lock was not acquired")
	}
	if _, err := s.AcquireLock(ctx, "x", "", now, ttl); err == nil {
		t.Error("AcquireLock with an empty owner succeeded")
	}
}

// testKVConcurrentLocks races owners for one lock: exactly one wins each
// round.
func testKVConcurrentLocks(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const owners, rounds = 8, 5
	for round := range rounds {
		now := base()
		name := fmt.Sprintf("round-%d", round)
		var (
			wg      sync.WaitGroup
			winners atomic.Int32
			errs    = make(chan error, owners)
		)
		for i := range owners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.AcquireLock(ctx, name, fmt.Sprintf("owner-%d", i), now, time.Minute)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					winners.Add(1)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		if n := winners.Load(); n != 1 {
			t.Errorf("round %d: %d owners acquired the lock, want 1", round, n)
		}
	}
}
