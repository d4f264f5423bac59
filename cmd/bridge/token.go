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

	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/storage"
)

// cmdToken creates, lists and revokes client API access tokens.
//
//	bridge token create --account NAME [--scopes "read write"] [--name N]
//	bridge token list --account NAME
//	bridge token revoke ID
func cmdToken(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"token: want create, list or revoke"}
	}
	sub := args[0]
	fs := commandFlags("token "+sub, &path, stderr)
	account := fs.String("account", "", "account username")
	scopes := fs.String("scopes", "read write", "space-separated scopes (read, write, read:statuses, write:media, ...)")
	name := fs.String("name", "cli", "a name to recognise the token by")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	switch sub {
	case "create", "list":
		if *account == "" {
			return usageError{"token " + sub + ": --account is required"}
		}
		if fs.NArg() != 0 {
			return usageError{"token " + sub + ": unexpected arguments"}
		}
	case "revoke":
		if fs.NArg() != 1 {
			return usageError{"token revoke: want one token id"}
		}
	default:
		return usageError{fmt.Sprintf("token: unknown subcommand %q", sub)}
	}
	if sub == "create" {
		if _, err := api.ParseScopes(*scopes); err != nil {
			return usageError{"token create: --scopes: " + err.Error()}
		}
	}
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	user := strings.ToLower(*account)
	if sub != "revoke" {
		if _, ok := cfg.Account(user); !ok {
			return fmt.Errorf("no account %q in %s", *account, path)
		}
	}
	a, err := newApp(ctx, cfg, newLogger(cfg.Log, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	switch sub {
	case "create":
		tok, t, err := api.CreateToken(ctx, a.store, user, 0, *name, *scopes, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %d for @%s, scopes %q; it is shown only once:\n", t.ID, a.cfg.Handle(user), t.Scopes)
		fmt.Fprintln(stdout, tok)
		return nil
	case "list":
		tokens, err := a.store.ListTokens(ctx, user)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tLAST USED\tREVOKED")
		for _, t := range tokens {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, tokenName(ctx, a.store, t), t.Scopes,
				day(t.CreatedAt), day(t.LastUsedAt), day(t.RevokedAt))
		}
		return tw.Flush()
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return usageError{fmt.Sprintf("token revoke: %q is not a token id (see token list)", fs.Arg(0))}
	}
	if err := a.store.RevokeToken(ctx, id, time.Now()); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no token %d", id)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked token %d\n", id)
	return nil
}

// tokenName is a token's name; OAuth tokens keep their app's client id as
// their name, shown as the app's name.
func tokenName(ctx context.Context, store storage.Store, t storage.Token) string {
	if t.AppID == 0 {
		return t.Name
	}
	if app, err := store.GetAppByClientID(ctx, t.Name); err == nil {
		return app.Name + " (app)"
	}
	return "app " + strconv.FormatInt(t.AppID, 10)
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// cmdLoginCode prints a one-time code that authorizes an app for the
// account on the OAuth login page (/oauth/authorize).
func cmdLoginCode(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	fs := commandFlags("login-code", &path, stderr)
	account := fs.String("account", "", "account username")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *account == "" || fs.NArg() != 0 {
		return usageError{"login-code: want --account NAME"}
	}
	a, user, err := openAccount(ctx, path, *account, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	code, expires, err := api.NewLoginCode(ctx, a.store, user, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "login code for @%s, valid once until %s:\n", a.cfg.Handle(user), expires.Local().Format("15:04:05"))
	fmt.Fprintln(stdout, code)
	return nil
}
