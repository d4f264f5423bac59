package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
)

func TestFeedsStatus(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	db := filepath.Join(dir, "bridge.db")
	cfg := `server:
  public_url: "http://127.0.0.1:8080"
storage:
  driver: "sqlite"
  dsn: "` + db + `"
log:
  level: "error"
accounts:
  - username: news
    feeds:
      - url: "https://www.city.example/feed.xml"
        max_posts_per_poll: 3
      - url: "https://www.city.example/press.xml"
  - username: mayor
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := storage.Open(ctx, storage.Config{Driver: "sqlite", DSN: db}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	const feed = "https://www.city.example/feed.xml"
	if err := store.PutFeedState(ctx, storage.FeedState{Account: "news", URL: feed, FirstRunDone: true, CheckedAt: now,
		CappedAt: now, CapNote: "1000 new entries, more than max_posts_per_poll (3): the 997 oldest recorded as skipped, never posted"}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if _, err := store.SkipFeedEntry(ctx, "news", feed, string(rune('a'+i)), now); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	out, err := cli(t, cmdFeeds, path, "status")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"@news https://www.city.example/feed.xml\n  last read " + now.Format(time.RFC3339) + ": ok",
		"entries: 4 seen, 0 posted, 4 skipped by the caps; 0 posted in the last hour (caps: 3 per poll, 10 per hour)",
		"cap last reached " + now.Format(time.RFC3339) + ": 1000 new entries",
		"@news https://www.city.example/press.xml\n  not read yet",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if out, err := cli(t, cmdFeeds, path, "status", "--account", "mayor"); err != nil || !strings.Contains(out, "no feeds configured") {
		t.Errorf("mayor: %q, %v", out, err)
	}
	if _, err := cli(t, cmdFeeds, path, "list"); err == nil {
		t.Error("feeds list accepted")
	}
}
