package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// cmdStatus shows how far the delivery of an account's posts went: the
// last 10, or one by id. "reached" counts the servers (shared inboxes)
// that accepted the post; "fan-out" is "queued" while the list of
// followers' servers is still being expanded.
func cmdStatus(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	fs := commandFlags("status", &path, stderr)
	account := fs.String("account", "", "account username")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *account == "" {
		return usageError{"status: --account is required"}
	}
	if len(pos) > 1 {
		return usageError{"status: want at most one post id"}
	}
	var id int64
	if len(pos) == 1 {
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil || id <= 0 {
			return usageError{fmt.Sprintf("status: %q is not a post id", pos[0])}
		}
	}
	a, user, err := openAccount(ctx, path, *account, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	var posts []storage.Status
	if id != 0 {
		// A deleted post too: whether its Delete went out, and whether
		// its Bluesky records are gone.
		st, err := a.pub.StatusOrTombstone(ctx, user, id)
		if errors.Is(err, publish.ErrNotFound) {
			return fmt.Errorf("no post %d of @%s", id, a.cfg.Handle(user))
		}
		if err != nil {
			return err
		}
		posts = []storage.Status{st}
	} else if posts, err = a.store.ListStatuses(ctx, storage.StatusPage{Account: user, Limit: 10}); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPOSTED\tVISIBILITY\tREACHED\tPENDING\tFAILED\tFAN-OUT\tBLUESKY\tTEXT")
	for _, st := range posts {
		stats, fanout, err := a.pub.DeliveryStats(ctx, st.ID)
		if err != nil {
			return err
		}
		fo := "done"
		if fanout {
			fo = "queued"
		}
		bsky, _, err := a.blueskyCell(ctx, st.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", st.ID, day(st.CreatedAt), st.Visibility,
			stats.Done, stats.Pending, stats.Failed, fo, bsky, excerpt(st.Text, 40))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if id != 0 {
		fmt.Fprintln(stdout, a.links.NoteURL(user, id))
		if st := posts[0]; !st.DeletedAt.IsZero() {
			del, queued, err := a.pub.DeletionStats(ctx, id)
			if err != nil {
				return err
			}
			fo := ""
			if queued {
				fo = ", fan-out queued"
			}
			fmt.Fprintf(stdout, "deleted %s: the Delete reached %d server(s), %d pending, %d failed%s\n",
				st.DeletedAt.UTC().Format(time.RFC3339), del.Done, del.Pending, del.Failed, fo)
		}
		if err := a.printBluesky(ctx, stdout, id); err != nil {
			return err
		}
	}
	return nil
}

// excerpt is the first line of text, at most n characters.
func excerpt(text string, n int) string {
	text, _, _ = strings.Cut(strings.TrimSpace(text), "\n")
	r := []rune(text)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return text
}
