package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/passerelle/passerelle/storage"
)

// cmdFollowers lists followers, or approves a pending one (manual approval:
// the Accept is queued and sent by the running server's workers).
func cmdFollowers(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"followers: want list or approve"}
	}
	sub := args[0]
	fs := commandFlags("followers "+sub, &path, stderr)
	account := fs.String("account", "", "account username")
	pending := fs.Bool("pending", false, "list only followers waiting for approval")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	if *account == "" {
		return usageError{"followers: --account is required"}
	}
	if _, ok := cfg.Account(*account); !ok {
		return fmt.Errorf("no account %q in %s", *account, path)
	}
	name := strings.ToLower(*account)
	a, err := newApp(ctx, cfg, newLogger(cfg.Log, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	switch sub {
	case "list":
		state := ""
		if *pending {
			state = storage.FollowerPending
		}
		after := ""
		for {
			rows, err := a.store.ListFollowers(ctx, name, state, after, 500)
			if err != nil {
				return err
			}
			for _, f := range rows {
				fmt.Fprintf(stdout, "%s\t%s\t%s\n", f.ActorID, f.State, f.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"))
			}
			if len(rows) < 500 {
				return printFollowersSummary(ctx, stderr, a, name) // moves.go: the count moved in
			}
			after = rows[len(rows)-1].ActorID
		}
	case "approve":
		if fs.NArg() != 1 {
			return usageError{"followers approve: want one actor URL"}
		}
		if err := a.fed.ApproveFollower(ctx, name, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "approved %s; the Accept is queued for delivery\n", fs.Arg(0))
		return nil
	}
	return usageError{fmt.Sprintf("followers: unknown subcommand %q", sub)}
}
