package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/passerelle/passerelle/config"
)

const exportUsage = `usage: bridge export handles [--format json|csv|mastodon] [--output FILE]
       bridge export followers --account NAME [--format mastodon|csv|actors] [--output FILE]
       bridge export outbox --account NAME --output DIR|FILE.zip

Writes each account's handles (fediverse, Bluesky, X) and addresses for
follower-matching tools and browser extensions:
  json      (default) {"instance": ..., "accounts": [{...}]}
  csv       one row per account, with a header
  mastodon  Mastodon's "following list" CSV: anyone can import it
            (Preferences > Import and export > Import) to follow every account`

// HandleEntry is one account in `bridge export handles`.
type HandleEntry struct {
	Username        string `json:"username"`
	DisplayName     string `json:"display_name"`
	FediverseHandle string `json:"fediverse_handle"` // "@news@city.example"
	ActorURL        string `json:"actor_url"`
	ProfileURL      string `json:"profile_url"`
	BlueskyHandle   string `json:"bluesky_handle,omitempty"` // "@city.example"
	BlueskyURL      string `json:"bluesky_url,omitempty"`
	XHandle         string `json:"x_handle,omitempty"` // "@VilleDeTest"
	XURL            string `json:"x_url,omitempty"`
	NoticeURL       string `json:"notice_url,omitempty"` // the X exit notice page
}

// HandleExport is the JSON document.
type HandleExport struct {
	Instance string        `json:"instance"`
	Accounts []HandleEntry `json:"accounts"`
}

// handleEntries lists the configured accounts' handles. The URLs are
// those of package federation (actor /users/NAME, profile /@NAME) and web
// (notice /x/NAME).
func handleEntries(cfg *config.Config) HandleExport {
	base := cfg.Server.BaseURL()
	out := HandleExport{Instance: base, Accounts: []HandleEntry{}}
	for _, a := range cfg.Accounts {
		name := strings.ToLower(a.Username)
		e := HandleEntry{
			Username: name, DisplayName: a.DisplayName, FediverseHandle: "@" + cfg.Handle(name),
			ActorURL: cfg.Links().Actor(name), ProfileURL: cfg.Links().Profile(name),
		}
		if h := a.NoticeBlueskyHandle(); h != "" {
			e.BlueskyHandle, e.BlueskyURL = "@"+h, "https://bsky.app/profile/"+h
		}
		if x := strings.TrimPrefix(strings.TrimSpace(a.Notice.XHandle), "@"); x != "" {
			e.XHandle, e.XURL = "@"+x, "https://x.com/"+x
		}
		if a.Notice.Enabled() {
			e.NoticeURL = base + "/x/" + name
		}
		out.Accounts = append(out.Accounts, e)
	}
	return out
}

// cmdExport dispatches "bridge export handles".
func cmdExport(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "followers" || args[0] == "outbox") {
		return cmdExportHistory(ctx, path, args, stdout, stderr) // export_history.go
	}
	if len(args) == 0 || args[0] != "handles" {
		return usageError{exportUsage}
	}
	fs := commandFlags("export handles", &path, stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, exportUsage) }
	format := fs.String("format", "json", "json, csv or mastodon")
	output := fs.String("output", "", "file to write (default: standard output)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{exportUsage}
	}
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	exp := handleEntries(cfg)
	var buf bytes.Buffer
	switch *format {
	case "json":
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(exp)
	case "csv":
		w := csv.NewWriter(&buf)
		w.Write([]string{"username", "display_name", "fediverse_handle", "actor_url", "profile_url",
			"bluesky_handle", "bluesky_url", "x_handle", "x_url", "notice_url"})
		for _, e := range exp.Accounts {
			w.Write([]string{e.Username, e.DisplayName, e.FediverseHandle, e.ActorURL, e.ProfileURL,
				e.BlueskyHandle, e.BlueskyURL, e.XHandle, e.XURL, e.NoticeURL})
		}
		w.Flush()
		err = w.Error()
	case "mastodon":
		// The columns of Mastodon's following_accounts.csv.
		w := csv.NewWriter(&buf)
		w.Write([]string{"Account address", "Show boosts", "Notify on new posts", "Languages"})
		for _, e := range exp.Accounts {
			w.Write([]string{strings.TrimPrefix(e.FediverseHandle, "@"), "true", "false", ""})
		}
		w.Flush()
		err = w.Error()
	default:
		return usageError{fmt.Sprintf("--format %s: want json, csv or mastodon", *format)}
	}
	if err != nil {
		return fmt.Errorf("export handles: %w", err)
	}
	if *output == "" {
		_, err = stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(*output, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("export handles: %w", err)
	}
	fmt.Fprintf(stderr, "wrote %d account(s) to %s\n", len(exp.Accounts), *output)
	return nil
}
