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

// TestUpgradeToInteractionAuthorizations builds a database at schema
// version 9 holding quote authorizations, then opens it: migration 11
// must keep them, with their ids (their stamps were given out), as
// authorizations of kind quote, and go on numbering after them.
func TestUpgradeToInteractionAuthorizations(t *testing.T) {
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
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, rebindFor(c.name, q), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			files, err := filepath.Glob(filepath.Join("migrations", c.name, "*.sql"))
			if err != nil || len(files) == 0 {
				t.Fatalf("migrations: %v", err)
			}
			exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
			for _, f := range files {
				num, _, _ := strings.Cut(filepath.Base(f), "_")
				if v, _ := strconv.Atoi(num); v <= 9 {
					b, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					exec(string(b))
					exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixMicro())
				}
			}
			for _, id := range []int64{1, 2} {
				exec(`INSERT INTO quote_authorizations (status_id, account, quote_note_id, actor_id, request_id, created_at)
					VALUES (?, ?, ?, ?, ?, ?)`, int64(42), "news", "https://remote.example/notes/q"+strconv.FormatInt(id, 10),
					"https://remote.example/users/bob", "https://remote.example/qr/"+strconv.FormatInt(id, 10), int64(7))
			}
			_ = db.Close()

			s, err := storage.Open(ctx, cfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			a, err := s.GetInteractionAuthorization(ctx, 2)
			if err != nil {
				t.Fatalf("quote authorization 2 after upgrade: %v", err)
			}
			if a.Kind != storage.AuthorizationQuote || a.StatusID != 42 || a.InteractionID != "https://remote.example/notes/q2" ||
				a.RequestID != "https://remote.example/qr/2" || a.CreatedAt.UnixMicro() != 7 {
				t.Errorf("quote authorization after upgrade = %+v", a)
			}
			next, created, err := s.PutInteractionAuthorization(ctx, storage.InteractionAuthorization{Kind: storage.AuthorizationReply,
				StatusID: 42, Account: "news", InteractionID: "https://remote.example/notes/r", ActorID: "https://remote.example/users/bob"})
			if err != nil || !created || next.ID <= 2 {
				t.Errorf("new authorization after upgrade = %+v, %v, %v; want an id after 2", next, created, err)
			}
		})
	}
}
