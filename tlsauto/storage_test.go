package tlsauto_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
	"github.com/passerelle/passerelle/tlsauto"
)

// The adapter's conformance suite runs on both backends: certmagic ships
// no storage test helper, so these tests state the certmagic.Storage
// contract (see its doc comments) as we rely on it.
func TestStorageSQLite(t *testing.T) {
	runStorageSuite(t, func(t *testing.T) storage.Store { return storagetest.OpenSQLite(t) })
}

func TestStoragePostgres(t *testing.T) {
	storagetest.PostgresURL(t)
	runStorageSuite(t, func(t *testing.T) storage.Store { return storagetest.OpenPostgres(t) })
}

func runStorageSuite(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("Files", func(t *testing.T) { testFiles(t, open(t)) })
	t.Run("List", func(t *testing.T) { testList(t, open(t)) })
	// The lock's timing runs on synctest's clock: the store is opened in
	// the bubble so that its goroutines are part of it.
	t.Run("Locks", func(t *testing.T) { synctest.Test(t, func(t *testing.T) { testLocks(t, open(t)) }) })
	t.Run("CrashedHolder", func(t *testing.T) { testCrashedHolder(t, open(t)) })
	t.Run("SharedBetweenReplicas", func(t *testing.T) { testShared(t, open(t)) })
}

func newStorage(kv storage.KV) *tlsauto.Storage {
	s := tlsauto.NewStorage(kv, zerolog.Nop())
	s.SetLockTiming(600*time.Millisecond, 50*time.Millisecond)
	return s
}

func testFiles(t *testing.T, db storage.Store) {
	ctx := context.Background()
	s := newStorage(db)
	key := "certificates/acme.example-directory/city.example/city.example.crt"

	if _, err := s.Load(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(missing) = %v, want fs.ErrNotExist", err)
	}
	if s.Exists(ctx, key) {
		t.Error("Exists(missing) = true")
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Errorf("Delete(missing) = %v, want nil", err)
	}

	if err := s.Store(ctx, key, []byte("PEM")); err != nil {
		t.Fatal(err)
	}
	if err := s.Store(ctx, key, []byte("PEM v2")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, key)
	if err != nil || string(got) != "PEM v2" {
		t.Errorf("Load = %q, %v", got, err)
	}
	info, err := s.Stat(ctx, key)
	if err != nil || !info.IsTerminal || info.Size != 6 || info.Key != key || info.Modified.IsZero() {
		t.Errorf("Stat(file) = %+v, %v", info, err)
	}
	dir := "certificates/acme.example-directory/city.example"
	info, err = s.Stat(ctx, dir)
	if err != nil || info.IsTerminal || info.Key != dir {
		t.Errorf("Stat(dir) = %+v, %v; want a directory", info, err)
	}
	for _, k := range []string{key, dir, "certificates"} {
		if !s.Exists(ctx, k) {
			t.Errorf("Exists(%q) = false", k)
		}
	}
	if s.Exists(ctx, "certificates/acme.example-dir") {
		t.Error("a partial path component exists")
	}

	// Deleting a directory deletes what it holds.
	if err := s.Delete(ctx, "certificates"); err != nil {
		t.Fatal(err)
	}
	if s.Exists(ctx, key) || s.Exists(ctx, dir) {
		t.Error("Delete(dir) left its contents")
	}
}

func testList(t *testing.T, db storage.Store) {
	ctx := context.Background()
	s := newStorage(db)
	for _, k := range []string{
		"certificates/ca/a.example/a.example.crt",
		"certificates/ca/a.example/a.example.key",
		"certificates/ca/b.example/b.example.crt",
		"certificates/cab/x",
		"acme/ca/users/it@city.example/it.json",
		"ocsp/a.example-abc",
	} {
		if err := s.Store(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		prefix    string
		recursive bool
		want      []string
	}{
		{"top level", "", false, []string{"acme", "certificates", "ocsp"}},
		{"issuer directories", "certificates", false, []string{"certificates/ca", "certificates/cab"}},
		{"site directories", "certificates/ca", false, []string{"certificates/ca/a.example", "certificates/ca/b.example"}},
		{"site files", "certificates/ca/a.example", false, []string{"certificates/ca/a.example/a.example.crt", "certificates/ca/a.example/a.example.key"}},
		{"recursive walks directories", "certificates/ca", true, []string{
			"certificates/ca/a.example", "certificates/ca/a.example/a.example.crt", "certificates/ca/a.example/a.example.key",
			"certificates/ca/b.example", "certificates/ca/b.example/b.example.crt",
		}},
		{"trailing slash", "ocsp/", false, []string{"ocsp/a.example-abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.List(ctx, tt.prefix, tt.recursive)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("List(%q, %v) = %q, %v; want %q", tt.prefix, tt.recursive, got, err, tt.want)
			}
		})
	}
	if _, err := s.List(ctx, "nothing/here", false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List(missing) = %v, want fs.ErrNotExist", err)
	}
}

func testLocks(t *testing.T, db storage.Store) {
	ctx := context.Background()
	a, b := newStorage(db), newStorage(db) // two replicas

	if err := a.Lock(ctx, "issue_cert_city.example"); err != nil {
		t.Fatal(err)
	}
	// Held past its TTL: the holder renews it.
	time.Sleep(1500 * time.Millisecond)
	synctest.Wait()
	if ok, err := b.TryLock(ctx, "issue_cert_city.example"); ok || err != nil {
		t.Fatalf("TryLock of a held lock = %v, %v; want false", ok, err)
	}
	// The same process's other goroutines wait too.
	if ok, err := a.TryLock(ctx, "issue_cert_city.example"); ok || err != nil {
		t.Fatalf("second TryLock in the holder = %v, %v; want false", ok, err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := b.Lock(short, "issue_cert_city.example"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock with a deadline = %v, want context.DeadlineExceeded", err)
	}

	got := make(chan error, 1)
	go func() { got <- b.Lock(ctx, "issue_cert_city.example") }()
	time.Sleep(150 * time.Millisecond) // three polls
	synctest.Wait()
	select {
	case err := <-got:
		t.Fatalf("Lock returned %v while the lock was held", err)
	default:
	}
	if err := a.Unlock(ctx, "issue_cert_city.example"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock did not return after Unlock")
	}
	if err := b.Unlock(ctx, "issue_cert_city.example"); err != nil {
		t.Fatal(err)
	}
	if err := b.Unlock(ctx, "issue_cert_city.example"); err == nil {
		t.Error("Unlock of a lock not held succeeded")
	}
}

// testCrashedHolder: a replica that took a lock and died (it never renews
// nor releases it) blocks the others until the lock expires, not forever.
func testCrashedHolder(t *testing.T, db storage.Store) {
	ctx := context.Background()
	ok, err := db.AcquireLock(ctx, "certmagic/issue_cert_city.example", "crashed-replica", time.Now(), 500*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("AcquireLock = %v, %v", ok, err)
	}
	s := newStorage(db)
	start := time.Now()
	if err := s.Lock(ctx, "issue_cert_city.example"); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond || waited > 5*time.Second {
		t.Errorf("waited %v for a crashed holder's lock, want about its 500ms TTL", waited)
	}
	if err := s.Unlock(ctx, "issue_cert_city.example"); err != nil {
		t.Fatal(err)
	}
}

func testShared(t *testing.T, db storage.Store) {
	ctx := context.Background()
	var a, b certmagic.Storage = newStorage(db), newStorage(db)
	if err := a.Store(ctx, "acme/ca/users/it/it.key", []byte("account key")); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Load(ctx, "acme/ca/users/it/it.key"); err != nil || string(got) != "account key" {
		t.Errorf("other replica Load = %q, %v", got, err)
	}
}
