package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/xarchive/xarchivetest"
)

// importConfig has two accounts: news (the X account @VilleDeTest) and
// mayor (no X handle).
func importConfig(t *testing.T) (path, db string) {
	t.Helper()
	dir := t.TempDir()
	db = filepath.Join(dir, "data", "bridge.db")
	cfg := `server:
  public_url: "https://social.city.example"
storage:
  dsn: "` + db + `"
log:
  level: warn
accounts:
  - username: news
    display_name: "Ville de Test"
    notice:
      x_handle: "@VilleDeTest"
      left_x_on: "2025-01-20"
      bluesky_handle: "villedetest.bsky.social"
  - username: mayor
`
	path = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, db
}

func TestImportXArchiveCommand(t *testing.T) {
	cfg, db := importConfig(t)
	archive := filepath.Join(t.TempDir(), "twitter-2025-01-20.zip")
	st, err := xarchivetest.WriteFile(archive, xarchivetest.Options{Tweets: 120, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		stdout  []string
		wantErr string
	}{
		{"usage", []string{"import"}, nil, "usage: bridge import x-archive"},
		{"no archive", []string{"import", "x-archive", "--account", "news"}, nil, "usage: bridge import x-archive"},
		{"bad date", []string{"import", "x-archive", "--account", "news", "--since", "2024-13-01", archive}, nil, "--since 2024-13-01"},
		{"unknown account", []string{"import", "x-archive", "--account", "nobody", archive}, nil, `no account "nobody"`},
		{"account without X handle", []string{"import", "x-archive", "--account", "mayor", archive}, nil, "set notice.x_handle, or pass --force"},
		{"not mirrored", []string{"import", "x-archive", "--account", "news", "--bluesky", archive}, nil, "not mirrored to Bluesky"},
		{"not an archive", []string{"import", "x-archive", "--account", "news", cfg}, nil, "zip"},
		{"dry run", []string{"import", "x-archive", "--account", "news", "--dry-run", archive},
			[]string{"X archive of @VilleDeTest: 120 tweets", "would be imported", "skipped: retweets"}, ""},
		{"import", []string{"import", "x-archive", "--account", "news", archive},
			[]string{"imported", "photos", "of which replies in a thread", "nothing was sent to followers"}, ""},
		{"again: nothing new", []string{"import", "x-archive", "--account", "news", archive},
			[]string{"already imported (earlier run)"}, ""},
		{"another account with --force", []string{"import", "x-archive", "--account", "mayor", "--force", "--until", "2014-01-08", archive},
			[]string{"imported", "skipped: after the date range"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), append([]string{"--config", cfg}, tc.args...), &stdout, &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q\n%s", err, tc.wantErr, stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v\n%s", err, stderr.String())
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout.String())
				}
			}
		})
	}
	store, err := storage.Open(context.Background(), storage.Config{Driver: "sqlite", DSN: db}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if n, _ := store.CountStatuses(context.Background(), "news", nil); n != int64(st.Importable) {
		t.Errorf("news has %d statuses, want %d", n, st.Importable)
	}
	if js, _ := store.JobStats(context.Background(), time.Now().Add(time.Hour)); js.Pending != 0 {
		t.Errorf("%d jobs queued by a quiet import", js.Pending)
	}
}

func TestExportHandles(t *testing.T) {
	cfg, _ := importConfig(t)
	out := func(format string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(t.Context(), []string{"--config", cfg, "export", "handles", "--format", format}, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v\n%s", format, err, stderr.String())
		}
		return stdout.String()
	}

	var exp HandleExport
	if err := json.Unmarshal([]byte(out("json")), &exp); err != nil {
		t.Fatal(err)
	}
	want := HandleExport{Instance: "https://social.city.example", Accounts: []HandleEntry{
		{Username: "news", DisplayName: "Ville de Test", FediverseHandle: "@news@social.city.example",
			ActorURL: "https://social.city.example/users/news", ProfileURL: "https://social.city.example/@news",
			BlueskyHandle: "@villedetest.bsky.social", BlueskyURL: "https://bsky.app/profile/villedetest.bsky.social",
			XHandle: "@VilleDeTest", XURL: "https://x.com/VilleDeTest", NoticeURL: "https://social.city.example/x/news"},
		{Username: "mayor", FediverseHandle: "@mayor@social.city.example",
			ActorURL: "https://social.city.example/users/mayor", ProfileURL: "https://social.city.example/@mayor"},
	}}
	if len(exp.Accounts) != 2 || exp.Instance != want.Instance || exp.Accounts[0] != want.Accounts[0] || exp.Accounts[1] != want.Accounts[1] {
		t.Errorf("json:\n got %+v\nwant %+v", exp, want)
	}

	rows, err := csv.NewReader(strings.NewReader(out("csv"))).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][2] != "fediverse_handle" || rows[1][2] != "@news@social.city.example" || rows[1][7] != "@VilleDeTest" {
		t.Errorf("csv: %q, %v", rows, err)
	}
	if got := out("mastodon"); got != "Account address,Show boosts,Notify on new posts,Languages\nnews@social.city.example,true,false,\nmayor@social.city.example,true,false,\n" {
		t.Errorf("mastodon csv: %q", got)
	}

	file := filepath.Join(t.TempDir(), "handles.json")
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"--config", cfg, "export", "handles", "--output", file}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(file); err != nil || !bytes.Contains(b, []byte(`"actor_url": "https://social.city.example/users/news"`)) {
		t.Errorf("file: %s, %v", b, err)
	}
	if err := run(t.Context(), []string{"--config", cfg, "export", "handles", "--format", "xml"}, &stdout, &stderr); err == nil {
		t.Error("--format xml accepted")
	}
}
