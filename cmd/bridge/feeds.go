package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/passerelle/passerelle/feeds"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
)

// feedPoller polls the accounts' website feeds (accounts[].feeds).
func (a *app) feedPoller() *feeds.Poller {
	v, _, _ := buildInfo()
	client := safehttp.NewClient(safehttp.Config{
		AllowPrivateNetworks: a.cfg.Federation.AllowPrivateNetworks,
		UserAgent:            fmt.Sprintf("Passerelle/%s (+%s; feed reader)", v, a.cfg.Server.BaseURL()),
		Timeout:              30 * time.Second,
		MaxBodyBytes:         feeds.DefaultMaxBody,
	})
	return feeds.NewPoller(feeds.Settings{MaxChars: a.pub.Limits().MaxChars}, feeds.Sources(a.cfg.Accounts), a.store, a.pub, client,
		a.log.With().Str("component", "feeds").Logger())
}

// cmdFeeds shows the state of the accounts' feeds: `bridge feeds status
// [--account NAME]`: when each was last read, its last error, its
// entries (seen, posted, skipped by the caps) and the last time a cap was
// reached, with what it did.
func cmdFeeds(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		return usageError{"feeds: want status"}
	}
	fs := commandFlags("feeds status", &path, stderr)
	account := fs.String("account", "", "only this account's feeds")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	if *account != "" {
		if _, ok := cfg.Account(*account); !ok {
			return fmt.Errorf("no account %q in %s", *account, path)
		}
	}
	store, err := storage.Open(ctx, storage.Config{Driver: cfg.Storage.Driver, DSN: cfg.Storage.DSN},
		newLogger(cfg.Log, stderr).With().Str("component", "storage").Logger())
	if err != nil {
		return fmt.Errorf("open storage: %w", err)
	}
	defer store.Close()
	shown := 0
	now := time.Now()
	for _, src := range feeds.Sources(cfg.Accounts) {
		if *account != "" && !strings.EqualFold(src.Account, *account) {
			continue
		}
		shown++
		f := src.Feed
		fmt.Fprintf(stdout, "@%s %s\n", strings.ToLower(src.Account), f.URL)
		st, err := store.GetFeedState(ctx, src.Account, f.URL)
		switch {
		case errors.Is(err, storage.ErrNotFound) || (err == nil && st.CheckedAt.IsZero()):
			fmt.Fprintln(stdout, "  not read yet")
		case err != nil:
			return err
		case st.LastError != "":
			fmt.Fprintf(stdout, "  last read %s: error: %s\n", st.CheckedAt.UTC().Format(time.RFC3339), st.LastError)
		default:
			fmt.Fprintf(stdout, "  last read %s: ok\n", st.CheckedAt.UTC().Format(time.RFC3339))
		}
		stats, err := store.FeedEntryStats(ctx, src.Account, f.URL, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  entries: %d seen, %d posted, %d skipped by the caps; %d posted in the last hour (caps: %d per poll, %d per hour)\n",
			stats.Seen, stats.Posted, stats.Skipped, stats.PostedSince, f.MaxPostsPerPollOrDefault(), f.MaxPostsPerHourOrDefault())
		if !st.CappedAt.IsZero() {
			fmt.Fprintf(stdout, "  cap last reached %s: %s\n", st.CappedAt.UTC().Format(time.RFC3339), st.CapNote)
		}
	}
	if shown == 0 {
		fmt.Fprintln(stdout, "no feeds configured")
	}
	return nil
}
