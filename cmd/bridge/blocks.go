package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/passerelle/passerelle/moderation"
)

const blocksUsage = `Usage:
  bridge blocks list                          every blocked or silenced domain, and where from
  bridge blocks add DOMAIN... [--reason R]    block: followers removed, pending deliveries cancelled
  bridge blocks remove DOMAIN                 remove a block made with add or import
  bridge blocks import FILE [--reason R]      Mastodon's domain-block CSV export, or one domain per line ("-": stdin)
  bridge blocks preview                       what a refresh of the subscriptions would change
  bridge blocks refresh [--force]             refresh the subscriptions now (--force: even a list that lost most entries)
`

// cmdBlocks manages domain blocks. Changes are stored in the database: a
// running server picks them up within seconds.
func cmdBlocks(ctx context.Context, path string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, blocksUsage)
		return usageError{"blocks: want list, add, remove, import, preview or refresh"}
	}
	sub := args[0]
	fs := commandFlags("blocks "+sub, &path, stderr)
	reason := fs.String("reason", "", "public reason of the block")
	force := fs.Bool("force", false, "refresh: apply a list even if it lost most of its entries")
	// Flags may follow the domains: parse them out of the whole list.
	var operands []string
	rest := args[1:]
	for {
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		operands = append(operands, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	want := map[string][2]int{"list": {0, 0}, "add": {1, 1 << 20}, "remove": {1, 1}, "import": {1, 1}, "preview": {0, 0}, "refresh": {0, 0}}
	n, ok := want[sub]
	if !ok {
		fmt.Fprint(stderr, blocksUsage)
		return usageError{fmt.Sprintf("blocks: unknown subcommand %q", sub)}
	}
	if len(operands) < n[0] || len(operands) > n[1] {
		fmt.Fprint(stderr, blocksUsage)
		return usageError{fmt.Sprintf("blocks %s: wrong number of arguments", sub)}
	}
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, newLogger(cfg.Log, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	m := a.mod
	switch sub {
	case "list":
		entries, allows := m.List()
		if len(allows) > 0 {
			fmt.Fprintf(stdout, "allow-list mode: only %s (and their subdomains) may federate\n", strings.Join(allows, ", "))
		}
		for _, e := range entries {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", e.Domain, e.Severity, strings.Join(e.Sources, ","), e.Reason)
		}
		if len(entries) == 0 {
			fmt.Fprintln(stdout, "no domain blocked")
		}
		return nil
	case "add":
		res, err := m.BlockDomains(ctx, operands, *reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "blocked %s: %d follower(s) removed, %d pending deliver%s cancelled\n",
			strings.Join(res.Domains, ", "), res.FollowersRemoved, res.DeliveriesCancelled, plural(res.DeliveriesCancelled, "y", "ies"))
		return nil
	case "remove":
		res, err := m.Unblock(ctx, operands[0])
		if err != nil {
			return err
		}
		if res.Removed {
			fmt.Fprintf(stdout, "unblocked %s\n", res.Domain)
		} else {
			fmt.Fprintf(stdout, "%s had no block made with add or import\n", res.Domain)
		}
		if len(res.StillBlockedBy) > 0 {
			fmt.Fprintf(stdout, "%s is still blocked or silenced by: %s (edit the configuration or the list)\n", res.Domain, strings.Join(res.StillBlockedBy, ", "))
		}
		return nil
	case "import":
		var r io.Reader = stdin
		if operands[0] != "-" {
			f, err := os.Open(operands[0])
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		entries, skipped, err := moderation.ParseList(r)
		if err != nil {
			return err
		}
		for _, s := range skipped {
			fmt.Fprintf(stderr, "skipped %s\n", s)
		}
		res, err := m.Import(ctx, entries, *reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "imported %d domain(s): %d added, %d updated, %d unchanged, %d line(s) skipped; %d follower(s) removed, %d pending deliver%s cancelled\n",
			len(entries), res.Added, res.Updated, len(entries)-res.Added-res.Updated, len(skipped),
			res.FollowersRemoved, res.DeliveriesCancelled, plural(res.DeliveriesCancelled, "y", "ies"))
		return nil
	case "preview", "refresh":
		if len(cfg.Moderation.Subscriptions) == 0 {
			fmt.Fprintln(stdout, "no subscription (moderation.subscriptions)")
			return nil
		}
		var changes []moderation.Change
		switch {
		case sub == "preview":
			changes, err = m.Preview(ctx)
		case *force:
			changes, err = m.RefreshForce(ctx)
		default:
			changes, err = m.Refresh(ctx, true)
		}
		if err != nil {
			return err
		}
		if changes == nil && sub == "refresh" {
			fmt.Fprintln(stdout, "another process is refreshing the subscriptions; try again in a minute")
		}
		for _, c := range changes {
			printChange(stdout, c, sub == "preview")
		}
		return nil
	}
	return nil
}

// printChange shows one subscription's change, listing at most 50
// domains of each kind.
func printChange(w io.Writer, c moderation.Change, preview bool) {
	fmt.Fprintf(w, "%s\n", c.URL)
	switch {
	case c.Err != nil:
		fmt.Fprintf(w, "  error: %v\n", c.Err)
		return
	case c.Unmodified:
		fmt.Fprintln(w, "  not modified since the last refresh")
		return
	}
	verb := "added"
	if preview {
		verb = "would add"
	}
	fmt.Fprintf(w, "  %d entries; %s %d, update %d, remove %d; %d line(s) skipped\n", c.Entries, verb, len(c.Add), len(c.Update), len(c.Remove), len(c.Skipped))
	list := func(label string, ds []string) {
		for i, d := range ds {
			if i == 50 {
				fmt.Fprintf(w, "  ... and %d more\n", len(ds)-50)
				break
			}
			fmt.Fprintf(w, "  %s %s\n", label, d)
		}
	}
	var add, upd []string
	for _, e := range c.Add {
		add = append(add, e.Domain+" ("+e.Severity+")")
	}
	for _, e := range c.Update {
		upd = append(upd, e.Domain+" ("+e.Severity+")")
	}
	list("+", add)
	list("~", upd)
	list("-", c.Remove)
	if c.Refused != "" {
		fmt.Fprintf(w, "  not applied: %s\n", c.Refused)
	}
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
