package storage_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// TestUpgradeToRemoteKeys builds a database at schema version 8 with a
// cached actor and a processed activity, then opens it: migration 9 must
// move the actor's key to remote_keys and keep the processed id.
func TestUpgradeToRemoteKeys(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(t *testing.T) storage.Config
		drv  string
	}{
		{"sqlite", func(t *testing.T) storage.Config {
			return storage.Config{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "old.db")}
		}, "sqlite"},
		{"postgres", func(t *testing.T) storage.Config {
			return storage.Config{Driver: "postgres", DSN: storagetest.PostgresSchema(t)}
		}, "pgx"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := c.cfg(t)
			db, err := sql.Open(c.drv, cfg.DSN)
			if err != nil {
				t.Fatal(err)
			}
			files, err := filepath.Glob(filepath.Join("migrations", c.name, "*.sql")) // sorted
			if err != nil || len(files) == 0 {
				t.Fatalf("migrations: %v", err)
			}
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
			for _, f := range files {
				num, _, _ := strings.Cut(filepath.Base(f), "_")
				v, _ := strconv.Atoi(num)
				if v > 8 {
					break
				}
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				exec(string(b))
				exec(rebindFor(c.name, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, time.Now().UnixMicro())
			}
			const actor = "https://remote.example/users/ann"
			exec(rebindFor(c.name, `INSERT INTO remote_actors (id, key_id, public_key_pem, inbox, shared_inbox, preferred_username, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
				actor, actor+"#main-key", "PEM", actor+"/inbox", "", "ann", int64(42))
			exec(rebindFor(c.name, `INSERT INTO processed_activities (id, received_at) VALUES (?, ?)`), "https://remote.example/a/1", int64(43))
			_ = db.Close()

			s, err := storage.Open(ctx, cfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			k, err := s.GetRemoteKey(ctx, actor+"#main-key")
			if err != nil {
				t.Fatalf("key not moved: %v", err)
			}
			if k.Owner != actor || k.PublicKeyPEM != "PEM" || k.FetchedAt.UnixMicro() != 42 {
				t.Errorf("moved key = %+v", k)
			}
			a, err := s.GetRemoteActor(ctx, actor)
			if err != nil || a.Inbox != actor+"/inbox" {
				t.Errorf("actor after upgrade = %+v, %v", a, err)
			}
			// The old id is kept (under no actor) until pruned.
			if n, err := s.PruneActivities(ctx, time.UnixMicro(44)); err != nil || n != 1 {
				t.Errorf("PruneActivities = %d, %v; want the old id pruned", n, err)
			}
		})
	}
}

// rebindFor numbers the placeholders for PostgreSQL ($1, $2...).
func rebindFor(dialect, q string) string {
	if dialect != "postgres" {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
