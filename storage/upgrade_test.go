package storage_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// forEachBackend runs an upgrade test on SQLite and on PostgreSQL: old
// builds a database of that backend at schema version (the migration
// files up to it, as an older binary left it) and returns its
// configuration and a way to run SQL on it (with ? placeholders) before
// it is opened by this binary.
func forEachBackend(t *testing.T, version int, test func(t *testing.T, cfg storage.Config, exec func(q string, args ...any))) {
	backends := []struct {
		name, driver string
		cfg          func(t *testing.T) storage.Config
	}{
		{"sqlite", "sqlite", func(t *testing.T) storage.Config {
			return storage.Config{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "old.db")}
		}},
		{"postgres", "pgx", func(t *testing.T) storage.Config {
			return storage.Config{Driver: "postgres", DSN: storagetest.PostgresSchema(t)}
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			cfg := b.cfg(t)
			db, err := sql.Open(b.driver, cfg.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(context.Background(), rebindFor(b.name, q), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			files, err := filepath.Glob(filepath.Join("migrations", b.name, "*.sql")) // sorted
			if err != nil || len(files) == 0 {
				t.Fatalf("migrations: %v", err)
			}
			exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
			for _, f := range files {
				num, _, _ := strings.Cut(filepath.Base(f), "_")
				if v, _ := strconv.Atoi(num); v <= version {
					body, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					exec(string(body))
					exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixMicro())
				}
			}
			test(t, cfg, exec)
		})
	}
}

// open opens an upgraded database: its pending migrations run.
func open(t *testing.T, cfg storage.Config) storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
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

// TestUpgradeToRemoteKeys: migration 9 moves a cached actor's key to
// remote_keys and keeps the processed ids.
func TestUpgradeToRemoteKeys(t *testing.T) {
	forEachBackend(t, 8, func(t *testing.T, cfg storage.Config, exec func(q string, args ...any)) {
		ctx := context.Background()
		const actor = "https://remote.example/users/ann"
		exec(`INSERT INTO remote_actors (id, key_id, public_key_pem, inbox, shared_inbox, preferred_username, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			actor, actor+"#main-key", "PEM", actor+"/inbox", "", "ann", int64(42))
		exec(`INSERT INTO processed_activities (id, received_at) VALUES (?, ?)`, "https://remote.example/a/1", int64(43))

		s := open(t, cfg)
		k, err := s.GetRemoteKey(ctx, actor+"#main-key")
		if err != nil {
			t.Fatalf("key not moved: %v", err)
		}
		if k.Owner != actor || k.PublicKeyPEM != "PEM" || k.FetchedAt.UnixMicro() != 42 {
			t.Errorf("moved key = %+v", k)
		}
		if a, err := s.GetRemoteActor(ctx, actor); err != nil || a.Inbox != actor+"/inbox" {
			t.Errorf("actor after upgrade = %+v, %v", a, err)
		}
		// The old id is kept (under no actor) until pruned.
		if n, err := s.PruneActivities(ctx, time.UnixMicro(44)); err != nil || n != 1 {
			t.Errorf("PruneActivities = %d, %v; want the old id pruned", n, err)
		}
	})
}

// TestUpgradeToInteractionAuthorizations: migration 11 keeps the quote
// authorizations with their ids (their stamps were given out), as
// authorizations of kind quote, and goes on numbering after them.
func TestUpgradeToInteractionAuthorizations(t *testing.T) {
	forEachBackend(t, 9, func(t *testing.T, cfg storage.Config, exec func(q string, args ...any)) {
		ctx := context.Background()
		for _, id := range []int64{1, 2} {
			exec(`INSERT INTO quote_authorizations (status_id, account, quote_note_id, actor_id, request_id, created_at)
				VALUES (?, ?, ?, ?, ?, ?)`, int64(42), "news", "https://remote.example/notes/q"+strconv.FormatInt(id, 10),
				"https://remote.example/users/bob", "https://remote.example/qr/"+strconv.FormatInt(id, 10), int64(7))
		}
		s := open(t, cfg)
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

// TestUpgradeToOutgoingActivities: migration 12 copies the activity of
// each fan-out job under the job's id, which its deliveries name, and
// marks the jobs, so that a fan-out under way at the upgrade goes on and
// its activity is kept while it does.
func TestUpgradeToOutgoingActivities(t *testing.T) {
	forEachBackend(t, 11, func(t *testing.T, cfg storage.Config, exec func(q string, args ...any)) {
		ctx := context.Background()
		const activity = `{"id":"https://social.example/users/news/statuses/1/activity","type":"Create"}`
		exec(`INSERT INTO jobs (id, kind, payload, host, ref, status, attempts, run_at, created_at, lease_owner, last_error)
			VALUES (?, 'fanout', ?, '', 'status:1:fanout', 'done', 1, 1, 5, '', '')`,
			int64(7), []byte(`{"signer":"news","activity":`+activity+`,"followers":true,"inboxes":null,"ref":"status:1"}`))
		exec(`INSERT INTO jobs (id, kind, payload, host, ref, status, attempts, run_at, created_at, lease_owner, last_error)
			VALUES (?, 'deliver', ?, 'remote.example', 'status:1', 'pending', 0, 1, 6, '', '')`,
			int64(8), []byte(`{"signer":"news","inbox":"https://remote.example/inbox","fanout":7}`))
		exec(`INSERT INTO jobs (id, kind, payload, host, ref, status, attempts, run_at, created_at, lease_owner, last_error)
			VALUES (?, 'bluesky', ?, '', '', 'pending', 0, 1, 6, '', '')`, int64(9), []byte{})

		s := open(t, cfg)
		body, err := s.GetOutgoingActivity(ctx, 7)
		if err != nil {
			t.Fatalf("the fan-out's activity was not copied: %v", err)
		}
		var got, want map[string]any
		if json.Unmarshal(body, &got) != nil || json.Unmarshal([]byte(activity), &want) != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("copied activity %s, want %s", body, activity)
		}
		// The pending delivery names it: it is kept.
		if n, err := s.PruneOutgoingActivities(ctx, time.Now()); err != nil || n != 0 {
			t.Errorf("PruneOutgoingActivities = %d, %v; want it kept for the pending delivery", n, err)
		}
		// New activities get new ids.
		id, err := s.InsertOutgoingActivity(ctx, "news", []byte(`{}`), time.Now())
		if err != nil || id <= 7 {
			t.Errorf("new activity id %d, %v; want one after 7", id, err)
		}
	})
}
