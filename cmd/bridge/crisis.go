package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/passerelle/passerelle/publish"
)

// cmdCrisis turns an account's crisis mode on or off, or shows it
// (package publish, crisis.go): on, nobody but the account may reply to
// or quote its new posts and its last N posts, on the fediverse and on
// Bluesky; off, each post gets back what it had. The changes reach the
// other servers and the PDS through the running server's delivery and
// mirror jobs, queued here in the same transaction.
func cmdCrisis(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "on" && args[0] != "off" && args[0] != "status") {
		return usageError{"crisis: want on, off or status"}
	}
	verb := args[0]
	fs := commandFlags("crisis "+verb, &path, stderr)
	account := fs.String("account", "", "account username")
	posts := fs.Int("posts", publish.CrisisDefaultPosts, fmt.Sprintf("on: how many recent posts to close too (1 to %d)", publish.CrisisMaxPosts))
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *account == "" {
		return usageError{"crisis " + verb + ": --account is required"}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("crisis %s: unexpected argument %q", verb, fs.Arg(0))}
	}
	if verb == "on" && (*posts < 1 || *posts > publish.CrisisMaxPosts) {
		return usageError{fmt.Sprintf("crisis on: --posts must be between 1 and %d", publish.CrisisMaxPosts)}
	}
	a, user, err := openAccount(ctx, path, *account, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	switch verb {
	case "on":
		res, err := a.pub.CrisisOn(ctx, user, *posts)
		if err != nil {
			return err
		}
		if res.Already {
			fmt.Fprintf(stdout, "crisis mode was already on for @%s (since %s)\n", user, stamp(res.Crisis.StartedAt))
		} else {
			fmt.Fprintf(stdout, "crisis mode on for @%s: nobody but the account may reply to or quote its new posts\n", user)
		}
		fmt.Fprintf(stdout, "%d of its last %d posts closed now (%d held closed in all); the fediverse and Bluesky are told by the running server\n",
			res.Changed, *posts, res.Posts)
	case "off":
		res, err := a.pub.CrisisOff(ctx, user)
		if err != nil {
			return err
		}
		if res.Already {
			fmt.Fprintf(stdout, "crisis mode is not on for @%s: nothing to do\n", user)
			return nil
		}
		fmt.Fprintf(stdout, "crisis mode off for @%s (on since %s): %d posts got back their replies and quotes policy\n",
			user, stamp(res.Crisis.StartedAt), res.Changed)
	case "status":
		res, err := a.pub.CrisisStatus(ctx, user)
		if err != nil {
			return err
		}
		if !res.On {
			fmt.Fprintf(stdout, "crisis mode off for @%s\n", user)
			return nil
		}
		fmt.Fprintf(stdout, "crisis mode on for @%s since %s: %d posts closed (the last %d when turned on, and those published since)\n",
			user, stamp(res.Crisis.StartedAt), res.Posts, res.Crisis.Posts)
	}
	return nil
}

// stamp is a time as the commands print it.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
