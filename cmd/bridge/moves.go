package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/storage"
)

// Account moves (docs/history.md#moving-accounts): moving followers in
// from a former fediverse account, and moving out to a new one.

const moveInUsage = `usage: bridge move-in check  --account NAME [--from OLD]
       bridge move-in expect --account NAME --from OLD [--days 7]
       bridge move-in status --account NAME

OLD is a former account listed in accounts[].also_known_as: an actor URL
(https://mastodon.social/users/city) or a handle (@city@mastodon.social).
  check   checks what the old server checks before it moves the followers
          here, and says what to do on the old server
  expect  opens a move-in window: until it closes, Follows are accepted even
          with manual approval and counted as moved in (--days 0 closes it)
  status  the windows and the followers moved in so far`

const moveOutUsage = `usage: bridge move-out --account NAME --to NEW [--dry-run] [--resend]
       bridge move-out --account NAME --status

NEW is the new account: a handle (@news@new.example) or an actor URL. It must
list this account in alsoKnownAs (Mastodon: "Create an account alias").
  --dry-run  only check the new account
  --resend   send the Move again to the followers (already moved to NEW)
  --status   where the account moved and how far the Move's delivery went`

// printMoveError prints a move refused with its reason and hint.
func printMoveError(stderr io.Writer, err error) error {
	var me *federation.MoveError
	if !errors.As(err, &me) {
		return err
	}
	fmt.Fprintf(stderr, "bridge: %s\n", me.Error())
	if me.Hint != "" {
		fmt.Fprintf(stderr, "  %s\n", me.Hint)
	}
	return errReported
}

func cmdMoveIn(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "check" && args[0] != "expect" && args[0] != "status") {
		return usageError{moveInUsage}
	}
	sub := args[0]
	fs := commandFlags("move-in "+sub, &path, stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, moveInUsage) }
	account := fs.String("account", "", "account username")
	from := fs.String("from", "", "the former account: actor URL or handle")
	days := fs.Float64("days", federation.DefaultMoveInWindow.Hours()/24, "how long the window stays open (expect)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *account == "" || fs.NArg() > 0 || (sub == "expect" && *from == "") {
		return usageError{moveInUsage}
	}
	a, name, err := openAccount(ctx, path, *account, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	switch sub {
	case "check":
		checks, err := a.fed.CheckMoveIn(ctx, name, *from)
		if err != nil {
			return printMoveError(stderr, err)
		}
		failed := false
		for _, c := range checks {
			failed = printMoveInCheck(stdout, c) || failed
		}
		if failed {
			return errReported
		}
		return nil
	case "expect":
		m, err := a.fed.ExpectMoveIn(ctx, name, *from, time.Duration(*days*24*float64(time.Hour)))
		if err != nil {
			return printMoveError(stderr, err)
		}
		if !m.Until.After(m.OpenedAt) {
			fmt.Fprintf(stdout, "closed the move-in window of @%s from %s\n", a.links.Handle(name), m.Origin)
			return nil
		}
		fmt.Fprintf(stdout, "move-in window of @%s from %s open until %s:\n", a.links.Handle(name), m.Origin, m.Until.Format(time.RFC3339))
		fmt.Fprintln(stdout, "  Follows arriving until then are accepted (even with manual approval) and counted as moved in.")
		fmt.Fprintln(stdout, "  Now move the old account on its server (see bridge move-in check).")
		return nil
	}
	return printMoveInStatus(ctx, stdout, a, name)
}

// printMoveInCheck prints one former account's check and reports whether
// something blocks the move.
func printMoveInCheck(w io.Writer, c federation.MoveInCheck) (failed bool) {
	mark := func(ok bool, format string, args ...any) {
		tag := "ok  "
		if !ok {
			tag, failed = "FAIL", true
		}
		fmt.Fprintf(w, "  [%s] %s\n", tag, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(w, "@%s (%s), former account %s:\n", c.Account, c.Actor, c.Old)
	if c.OldActor == "" {
		mark(false, "cannot find %s: %v", c.Old, c.OldErr)
		return failed
	}
	mark(c.Listed, "accounts[].also_known_as lists %s", c.OldActor)
	if c.WebFingerErr != nil {
		mark(false, "WebFinger of @%s: %v", c.Account, c.WebFingerErr)
	} else {
		mark(true, "WebFinger of @%s answers %s", c.Account, c.Actor)
	}
	switch {
	case c.ServedErr != nil:
		mark(false, "fetch the actor document %s (is the bridge running and reachable?): %v", c.Actor, c.ServedErr)
	case !c.Served:
		mark(false, "the actor document served at %s does not list %s in alsoKnownAs yet (restart the bridge after editing also_known_as)", c.Actor, c.OldActor)
	default:
		mark(true, "the actor document served at %s lists it in alsoKnownAs", c.Actor)
	}
	switch {
	case c.OldErr != nil:
		mark(false, "fetch %s: %v", c.OldActor, c.OldErr)
	case c.MovedHere():
		fmt.Fprintf(w, "  [done] %s has moved here (movedTo); its followers' servers are following @%s\n", c.OldActor, c.Account)
	case c.OldMovedTo != "":
		mark(false, "%s has moved to %s, not here", c.OldActor, c.OldMovedTo)
	default:
		fmt.Fprintf(w, "  [todo] %s has not moved yet\n", c.OldActor)
	}
	if c.Window != nil {
		fmt.Fprintf(w, "  move-in window from %s open until %s\n", c.Window.Origin, c.Window.Until.Format(time.RFC3339))
	} else if !c.MovedHere() {
		fmt.Fprintf(w, "  no move-in window open: run \"bridge move-in expect --account %s --from %s\" first\n", strings.SplitN(c.Account, "@", 2)[0], c.Old)
	}
	fmt.Fprintf(w, "  %d follower(s) moved in so far\n", c.MovedIn)
	if !failed && !c.MovedHere() {
		fmt.Fprintf(w, `  Then, on the old server (Mastodon): log in as the old account, Preferences >
  Account > "Moving to a different account", enter @%s as the new account's
  handle and the current password. The old server checks that this account lists
  the old one in alsoKnownAs, marks the old account as moved and sends Move to
  its followers, whose servers follow @%s (posts stay on the old account; a
  Mastodon account can move once every 30 days).
`, c.Account, c.Account)
	}
	return failed
}

func printMoveInStatus(ctx context.Context, w io.Writer, a *app, name string) error {
	wins, err := a.store.ListMovesIn(ctx, name)
	if err != nil {
		return err
	}
	now := time.Now()
	if len(wins) == 0 {
		fmt.Fprintf(w, "@%s: no move-in window\n", a.links.Handle(name))
	}
	for _, m := range wins {
		state := "closed"
		if m.OpenedAt.Before(now) && m.Until.After(now) {
			state = "open"
		}
		how := "expected by an admin"
		if m.Source == storage.MoveInReceived {
			how = "Move received " + m.ActivityID
		}
		fmt.Fprintf(w, "@%s: window from %s %s (%s), %s to %s\n", a.links.Handle(name), m.Origin, state, how,
			m.OpenedAt.Format(time.RFC3339), m.Until.Format(time.RFC3339))
	}
	n, err := a.store.CountFollowersMovedIn(ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d follower(s) moved in\n", n)
	for after := ""; ; {
		rows, err := a.store.ListFollowersMovedIn(ctx, name, after, 500)
		if err != nil {
			return err
		}
		for _, f := range rows {
			fmt.Fprintf(w, "%s\t%s\tmoved from %s\n", f.ActorID, f.State, f.MovedFrom)
		}
		if len(rows) < 500 {
			return nil
		}
		after = rows[len(rows)-1].ActorID
	}
}

func cmdMoveOut(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	fs := commandFlags("move-out", &path, stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, moveOutUsage) }
	account := fs.String("account", "", "account username")
	to := fs.String("to", "", "the new account: handle or actor URL")
	dryRun := fs.Bool("dry-run", false, "only check the new account")
	resend := fs.Bool("resend", false, "send the Move again")
	status := fs.Bool("status", false, "show the move and its delivery")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *account == "" || fs.NArg() > 0 || (*to == "") == !*status {
		return usageError{moveOutUsage}
	}
	a, name, err := openAccount(ctx, path, *account, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	handle := a.links.Handle(name)
	if *status {
		m, err := a.store.GetMoveOut(ctx, name)
		if errors.Is(err, storage.ErrNotFound) {
			fmt.Fprintf(stdout, "@%s has not moved\n", handle)
			return nil
		}
		if err != nil {
			return err
		}
		st, fanout, err := a.fed.DeliveryStats(ctx, federation.MoveRef(m.ActivityID))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "@%s moved to @%s (%s) on %s\n", handle, m.TargetHandle, m.Target, m.MovedAt.Format(time.RFC3339))
		fo := "done"
		if fanout {
			fo = "queued"
		}
		fmt.Fprintf(stdout, "Move %s: %d server(s) reached, %d pending, %d failed; fan-out %s\n", m.ActivityID, st.Done, st.Pending, st.Failed, fo)
		return nil
	}
	if *dryRun {
		t, err := a.fed.CheckMoveTarget(ctx, name, *to)
		if err != nil {
			return printMoveError(stderr, err)
		}
		fmt.Fprintf(stdout, "@%s (%s) lists %s in alsoKnownAs: @%s can move there\n", t.Handle, t.Actor, a.links.Actor(name), handle)
		return nil
	}
	res, err := a.fed.MoveOut(ctx, name, *to, *resend)
	if err != nil {
		return printMoveError(stderr, err)
	}
	t := res.Target
	if res.Already {
		fmt.Fprintf(stdout, "@%s has already moved to @%s; nothing sent (--resend sends the Move again)\n", handle, t.Handle)
		return nil
	}
	fmt.Fprintf(stdout, "@%s moved to @%s (%s)\n", handle, t.Handle, t.Actor)
	fmt.Fprintf(stdout, "  Move %s queued for the servers of %d follower(s) and for the new account;\n", res.ActivityID, res.Followers)
	fmt.Fprintln(stdout, "  their servers check the new account's alsoKnownAs and follow it.")
	fmt.Fprintf(stdout, "  The actor now carries movedTo, and %s redirects to %s.\n", a.links.Profile(name), t.ProfileURL)
	fmt.Fprintf(stdout, "  Progress: bridge move-out --account %s --status\n", name)
	return nil
}

// printFollowersSummary ends bridge followers list (on stderr, so that
// the list stays one follower per line): the counts, moved in included.
func printFollowersSummary(ctx context.Context, w io.Writer, a *app, name string) error {
	accepted, err := a.store.CountFollowers(ctx, name, storage.FollowerAccepted)
	if err != nil {
		return err
	}
	pending, err := a.store.CountFollowers(ctx, name, storage.FollowerPending)
	if err != nil {
		return err
	}
	moved, err := a.store.CountFollowersMovedIn(ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "@%s: %d follower(s), %d pending, %d moved in (bridge move-in status)\n", a.links.Handle(name), accepted, pending, moved)
	return nil
}
