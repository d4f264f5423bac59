package storage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

func TestSQLite(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return storagetest.OpenSQLite(t) })
}

func TestSQLiteMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := storage.Open(context.Background(), storage.Config{Driver: "sqlite", DSN: ":memory:"}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestPostgres(t *testing.T) {
	storagetest.PostgresURL(t) // skip (or fail under CI) before the subtests
	storagetest.Run(t, func(t *testing.T) storage.Store { return storagetest.OpenPostgres(t) })
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		cfg  storage.Config
	}{
		{"unknown driver", storage.Config{Driver: "mysql", DSN: "x"}},
		{"no driver", storage.Config{DSN: filepath.Join(dir, "a.db")}},
		{"empty sqlite path", storage.Config{Driver: "sqlite"}},
		{"sqlite path with parameters", storage.Config{Driver: "sqlite", DSN: filepath.Join(dir, "a.db?_pragma=foo")}},
		{"empty postgres dsn", storage.Config{Driver: "postgres"}},
		{"bad postgres dsn", storage.Config{Driver: "postgres", DSN: "postgres://%zz"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := storage.Open(context.Background(), c.cfg, zerolog.Nop())
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

// TestSQLiteReopen checks that migrations run once, data survives, and the
// file is created private in a new directory.
func TestSQLiteReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", "passerelle.db")
	cfg := storage.Config{Driver: "sqlite", DSN: path}

	s, err := storage.Open(ctx, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	v1, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InsertKeyPair(ctx, storage.KeyPair{Owner: "instance", PrivateKey: "k", PublicKey: "p"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{filepath.Dir(path), 0o700}, {path, 0o600}} {
		fi, err := os.Stat(p.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != p.mode {
			t.Errorf("%s mode = %v, want %v", p.path, got, p.mode)
		}
	}

	s, err = storage.Open(ctx, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v2, err := s.SchemaVersion(ctx)
	if err != nil || v2 != v1 {
		t.Errorf("SchemaVersion after reopen = %d, %v; want %d", v2, err, v1)
	}
	if _, err := s.GetKeyPair(ctx, "instance"); err != nil {
		t.Errorf("data lost on reopen: %v", err)
	}
}

// TestPostgresConcurrentOpen starts several stores on one empty schema at
// once, as replicas do: the advisory lock must let each migration run once.
func TestPostgresConcurrentOpen(t *testing.T) {
	dsn := storagetest.PostgresSchema(t)
	ctx := context.Background()
	versions := make([]int, 4)
	errs := make([]error, len(versions))
	var wg sync.WaitGroup
	for i := range versions {
		wg.Go(func() {
			s, err := storage.Open(ctx, storage.Config{Driver: "postgres", DSN: dsn}, zerolog.Nop())
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			versions[i], errs[i] = s.SchemaVersion(ctx)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
		if versions[i] < 1 || versions[i] != versions[0] {
			t.Errorf("schema versions = %v", versions)
		}
	}
}

func BenchmarkEnqueueClaimComplete(b *testing.B) {
	backends := []struct {
		name string
		open func(testing.TB) storage.Store
	}{
		{"sqlite", storagetest.OpenSQLite},
		{"postgres", storagetest.OpenPostgres},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			if be.name == "postgres" && os.Getenv(storagetest.PostgresURLEnv) == "" {
				b.Skip(storagetest.PostgresURLEnv + " not set")
			}
			s := be.open(b)
			benchQueue(b, s)
		})
	}
}

// benchQueue pushes b.N jobs through the queue as the fan-out does: enqueue
// in transactions of 100, then workers claim batches of 50 and complete
// each job.
func benchQueue(b *testing.B, s storage.Store) {
	const (
		enqueueBatch = 100
		claimBatch   = 50
		workers      = 4
	)
	ctx := context.Background()
	payload := []byte(`{"activity":"https://example.org/statuses/1/activity","inbox":"https://remote.example/inbox"}`)
	b.ResetTimer()
	start := time.Now()
	for done := 0; done < b.N; done += enqueueBatch {
		n := min(enqueueBatch, b.N-done)
		err := s.InTx(ctx, func(q storage.Queries) error {
			for range n {
				if _, err := q.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", Payload: payload, Host: "remote.example", Ref: "status:1"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	enqueued := time.Since(start)

	var wg sync.WaitGroup
	for w := range workers {
		owner := "bench-" + string(rune('a'+w))
		wg.Go(func() {
			for {
				jobs, err := s.ClaimJobs(ctx, owner, []string{"deliver"}, claimBatch, time.Minute, time.Now())
				if err != nil {
					b.Error(err)
					return
				}
				if len(jobs) == 0 {
					return
				}
				for _, j := range jobs {
					if err := s.CompleteJob(ctx, j.ID, owner); err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	total := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/enqueued.Seconds(), "enqueued/s")
	b.ReportMetric(float64(b.N)/(total-enqueued).Seconds(), "completed/s")
	b.ReportMetric(float64(b.N)/total.Seconds(), "jobs/s")
}

// TestUnavailable checks that a failure of the database itself matches
// ErrUnavailable, and answers about the data do not.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	s := storagetest.OpenSQLite(t)
	_, err := s.GetRemoteKey(ctx, "https://remote.example/k")
	if !errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("unknown key: %v, want ErrNotFound only", err)
	}
	_ = s.Close()
	_, err = s.GetRemoteKey(ctx, "https://remote.example/k")
	if !errors.Is(err, storage.ErrUnavailable) || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("closed store: %v, want ErrUnavailable", err)
	}
}
