package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/passerelle/passerelle/admin"
)

// cmdTeam manages the comms team's console logins.
//
//	bridge team invite EMAIL --account NAME --role admin|editor|contributor
func cmdTeam(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	// Usage errors are printed here: main prints only the others.
	usage := func(msg string) error {
		fmt.Fprintln(stderr, "bridge:", msg)
		return usageError{msg}
	}
	if len(args) == 0 || args[0] != "invite" {
		return usage("team: want invite EMAIL --account NAME --role ROLE")
	}
	fs := commandFlags("team invite", &path, stderr)
	account := fs.String("account", "", "the account the member joins")
	role := fs.String("role", "", "admin, editor or contributor")
	// The email may come before or after the flags.
	rest := args[1:]
	var email string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		email, rest = rest[0], rest[1:]
	}
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if email == "" && fs.NArg() == 1 {
		email = fs.Arg(0)
	} else if fs.NArg() != 0 || email == "" {
		return usage("team invite: want one EMAIL")
	}
	if *account == "" || *role == "" {
		return usage("team invite: --account and --role are required")
	}
	if !admin.ValidRole(*role) {
		return usage(fmt.Sprintf("team invite: --role %q: use admin, editor or contributor", *role))
	}
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	if _, ok := cfg.Account(strings.ToLower(*account)); !ok {
		return fmt.Errorf("no account %q in %s", *account, path)
	}
	a, err := newApp(ctx, cfg, newLogger(cfg.Log, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	link, until, err := a.console(nil).Invite(ctx, email, *account, *role)
	var bad *admin.InviteError
	if errors.As(err, &bad) {
		return usage("team invite: " + bad.Msg)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "invitation of %s to @%s as %s, valid once until %s; the link is shown only once:\n",
		strings.ToLower(strings.TrimSpace(email)), a.cfg.Handle(strings.ToLower(*account)), *role, until.Format("2006-01-02 15:04 MST"))
	fmt.Fprintln(stdout, link)
	return nil
}
