package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/passerelle/passerelle/archive"
	"github.com/passerelle/passerelle/storage"
)

// The exports that keep contacts and history when leaving
// (docs/history.md#moving-accounts): the followers list and the outbox
// archive, in Mastodon's formats.

const exportFollowersUsage = `usage: bridge export followers --account NAME [--format mastodon|csv|actors] [--all] [--output FILE]

The account's accepted followers (--all: pending ones too):
  mastodon  (default) Mastodon's "following list" CSV (Account address, Show
            boosts, Notify on new posts, Languages): the new account can import
            it (Preferences > Import and export > Import, "Following list") to
            follow them back. The followers themselves come over with the Move.
  csv       actor_url, account_address, state, since, moved_from
  actors    one actor URL per line`

const exportOutboxUsage = `usage: bridge export outbox --account NAME --output DIR|FILE.zip

The account's posts in the layout of Mastodon's account archive: outbox.json
(Create activities with their Notes, oldest first), actor.json, likes.json,
bookmarks.json and media_attachments/... (the files the attachments' url
point to), in a directory or a .zip file.`

// cmdExportHistory runs "bridge export followers" and "bridge export outbox".
func cmdExportHistory(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	sub := args[0]
	usage := exportFollowersUsage
	if sub == "outbox" {
		usage = exportOutboxUsage
	}
	fs := commandFlags("export "+sub, &path, stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage) }
	account := fs.String("account", "", "account username")
	output := fs.String("output", "", "file or directory to write")
	fs.StringVar(output, "out", "", "same as --output")
	format := fs.String("format", "mastodon", "mastodon, csv or actors (followers)")
	all := fs.Bool("all", false, "pending followers too (followers)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *account == "" || fs.NArg() > 0 || (sub == "outbox" && *output == "") {
		return usageError{usage}
	}
	a, name, err := openAccount(ctx, path, *account, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if sub == "outbox" {
		return exportOutbox(ctx, a, name, *output, stderr)
	}
	var buf bytes.Buffer
	n, skipped, err := writeFollowers(ctx, a.store, name, *format, *all, &buf)
	if err != nil {
		return err
	}
	if *output == "" {
		_, err = stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(*output, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("export followers: %w", err)
	}
	fmt.Fprintf(stderr, "wrote %d follower(s) of @%s to %s\n", n, a.links.Handle(name), *output)
	if skipped > 0 {
		fmt.Fprintf(stderr, "%d follower(s) without a known user@domain address left out of the mastodon format (see --format actors)\n", skipped)
	}
	return nil
}

// writeFollowers writes the account's followers in format; it returns how
// many it wrote and how many it left out (no known address).
func writeFollowers(ctx context.Context, store storage.Store, account, format string, all bool, w io.Writer) (n, skipped int, err error) {
	if format != "mastodon" && format != "csv" && format != "actors" {
		return 0, 0, usageError{fmt.Sprintf("--format %s: want mastodon, csv or actors", format)}
	}
	state := storage.FollowerAccepted
	if all {
		state = ""
	}
	cw := csv.NewWriter(w)
	switch format {
	case "mastodon":
		cw.Write([]string{"Account address", "Show boosts", "Notify on new posts", "Languages"})
	case "csv":
		cw.Write([]string{"actor_url", "account_address", "state", "since", "moved_from"})
	}
	moved, err := movedInSet(ctx, store, account)
	if err != nil {
		return 0, 0, err
	}
	for after := ""; ; {
		rows, err := store.ListFollowers(ctx, account, state, after, 500)
		if err != nil {
			return n, skipped, err
		}
		for _, f := range rows {
			switch format {
			case "actors":
				fmt.Fprintln(w, f.ActorID)
			case "mastodon":
				addr, err := accountAddress(ctx, store, f.ActorID)
				if err != nil {
					return n, skipped, err
				}
				if addr == "" {
					skipped++
					continue
				}
				cw.Write([]string{addr, "true", "false", ""})
			case "csv":
				addr, err := accountAddress(ctx, store, f.ActorID)
				if err != nil {
					return n, skipped, err
				}
				since := f.AcceptedAt
				if since.IsZero() {
					since = f.CreatedAt
				}
				cw.Write([]string{f.ActorID, addr, f.State, since.UTC().Format(time.RFC3339), moved[f.ActorID]})
			}
			n++
		}
		if len(rows) < 500 {
			break
		}
		after = rows[len(rows)-1].ActorID
	}
	cw.Flush()
	return n, skipped, cw.Error()
}

// movedInSet maps the account's followers who moved in to their origin.
func movedInSet(ctx context.Context, store storage.Store, account string) (map[string]string, error) {
	out := map[string]string{}
	for after := ""; ; {
		rows, err := store.ListFollowersMovedIn(ctx, account, after, 500)
		if err != nil {
			return nil, err
		}
		for _, f := range rows {
			out[f.ActorID] = f.MovedFrom
		}
		if len(rows) < 500 {
			return out, nil
		}
		after = rows[len(rows)-1].ActorID
	}
}

// accountAddress is the follower's user@domain: the WebFinger address
// known from its profile, else its preferred username at its actor's
// host; "" when neither is known.
func accountAddress(ctx context.Context, store storage.Store, actorID string) (string, error) {
	p, err := store.GetRemoteProfile(ctx, actorID)
	if err == nil && p.Acct != "" {
		return p.Acct, nil
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return "", err
	}
	ra, err := store.GetRemoteActor(ctx, actorID)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	u, perr := url.Parse(actorID)
	if perr != nil || ra.PreferredUsername == "" || u.Host == "" {
		return "", nil
	}
	return ra.PreferredUsername + "@" + strings.ToLower(u.Host), nil
}

func exportOutbox(ctx context.Context, a *app, name, output string, stderr io.Writer) error {
	sink, err := archive.Open(output)
	if err != nil {
		return err
	}
	sum, err := archive.Write(ctx, a.fed, a.store, name, sink, func(m storage.Media, err error) {
		fmt.Fprintf(stderr, "media %d: %v (left out; the post keeps its URL on the bridge)\n", m.ID, err)
	})
	if cerr := sink.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export outbox: %w", err)
	}
	fmt.Fprintf(stderr, "wrote the archive of @%s to %s: %d post(s), %d media file(s)\n", a.links.Handle(name), output, sum.Posts, sum.Media)
	return nil
}
