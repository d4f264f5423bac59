package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// cmdReports lists the reports (Flag activities) remote servers sent
// about our accounts or posts, newest first: the admin reads them here.
func cmdReports(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return usageError{"reports: want list"}
	}
	fs := commandFlags("reports list", &path, stderr)
	limit := fs.Int("limit", 50, "at most this many reports")
	account := fs.String("account", "", "only the reports about this account")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *limit <= 0 {
		return usageError{"reports list: --limit must be positive"}
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
	shown, before := 0, int64(0)
	for shown < *limit {
		rows, err := a.store.ListReports(ctx, before, 100)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if *account != "" && !strings.EqualFold(r.Account, *account) {
				continue
			}
			if shown == *limit {
				break
			}
			shown++
			fmt.Fprintf(stdout, "report %d\t%s\taccount @%s\tfrom %s\n", r.ID, r.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), r.Account, r.ReporterID)
			for _, t := range r.Targets {
				fmt.Fprintf(stdout, "  about %s\n", t)
			}
			if r.Comment != "" {
				for _, line := range strings.Split(r.Comment, "\n") {
					fmt.Fprintf(stdout, "  > %s\n", line)
				}
			}
		}
		if len(rows) < 100 {
			break
		}
		before = rows[len(rows)-1].ID
	}
	if shown == 0 {
		fmt.Fprintln(stdout, "no reports")
	}
	return nil
}
