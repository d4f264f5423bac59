package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/atproto"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
)

// newMirror builds the Bluesky mirror of the mirrored accounts (nil when
// there are none); notifier, when set, is told of the notifications read
// from Bluesky (Web Push).
func newMirror(cfg *config.Config, store storage.Store, noteURL func(account string, id int64) string, notifier atproto.Notifier, log zerolog.Logger) (*atproto.Mirror, error) {
	var accounts []atproto.Account
	for _, a := range cfg.Accounts {
		if a.Bluesky.Enabled() {
			accounts = append(accounts, atproto.Account{
				Username: a.Username, DisplayName: a.DisplayName, Replies: a.Replies,
				Bluesky: a.Bluesky, Handle: cfg.BlueskyHandle(a),
			})
		}
	}
	if len(accounts) == 0 {
		return nil, nil
	}
	v, _, _ := buildInfo()
	ua := fmt.Sprintf("Passerelle/%s (+%s)", v, cfg.Server.BaseURL())
	m, err := atproto.New(atproto.Settings{
		Accounts:     accounts,
		HandleDomain: cfg.HandleDomain(),
		HTTPClient: safehttp.NewClient(safehttp.Config{
			AllowPrivateNetworks: cfg.Federation.AllowPrivateNetworks,
			UserAgent:            ua,
			Timeout:              60 * time.Second, // blob uploads
			MaxBodyBytes:         16 << 20,
		}),
		CardClient: safehttp.NewClient(safehttp.Config{
			AllowPrivateNetworks: cfg.Federation.AllowPrivateNetworks,
			UserAgent:            ua,
			Timeout:              10 * time.Second,
			MaxBodyBytes:         10 << 20,
		}),
		NoteURL:  noteURL,
		Notifier: notifier,
	}, store, log.With().Str("component", "bluesky").Logger())
	if err != nil {
		return nil, fmt.Errorf("bluesky mirror: %w", err)
	}
	return m, nil
}

// blueskyRoutes serves the mirrored accounts' handle verification.
func (a *app) blueskyRoutes(mux *http.ServeMux) {
	if a.mirror != nil {
		mux.HandleFunc("GET /.well-known/atproto-did", a.mirror.WellKnownDID)
	}
}

// cmdBluesky: bridge bluesky handle|status --account NAME.
func cmdBluesky(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "handle" && args[0] != "status") {
		return usageError{"bluesky: want \"handle --account NAME\" or \"status --account NAME\""}
	}
	sub := args[0]
	fs := commandFlags("bluesky "+sub, &path, stderr)
	account := fs.String("account", "", "account username")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *account == "" {
		return usageError{"bluesky " + sub + ": --account is required"}
	}
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	user := strings.ToLower(*account)
	acc, ok := cfg.Account(user)
	if !ok {
		return fmt.Errorf("no account %q in %s", *account, path)
	}
	if !acc.Bluesky.Enabled() {
		return fmt.Errorf("account %s has no bluesky section in %s", user, path)
	}
	a, err := newApp(ctx, cfg, newLogger(cfg.Log, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	switch sub {
	case "handle":
		res, err := a.mirror.SwitchHandle(ctx, user)
		if err != nil {
			return fmt.Errorf("bluesky handle: %w", err)
		}
		fmt.Fprintf(stdout, "@%s on Bluesky (%s) now has the handle @%s\n", user, res.DID, res.Handle)
		return nil
	default:
		st, err := atproto.AccountStatusOf(ctx, a.store, user)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "account:  %s\nstate:    %s\n", user, st.State)
		if st.DID != "" {
			fmt.Fprintf(stdout, "did:      %s\nhandle:   %s\n", st.DID, st.Handle)
		}
		if st.Error != "" {
			fmt.Fprintf(stdout, "error:    %s\n", st.Error)
		}
		fmt.Fprintf(stdout, "wanted:   %s (bridge bluesky handle --account %s)\n", cfg.BlueskyHandle(acc), user)
		return nil
	}
}

// blueskyCell is a post's mirror state for `bridge status`: "-" when not
// mirrored.
func (a *app) blueskyCell(ctx context.Context, id int64) (string, *atproto.PostStatus, error) {
	if a.mirror == nil {
		return "-", nil, nil
	}
	ps, err := atproto.StatusOf(ctx, a.store, id)
	if err != nil || ps == nil {
		return "-", nil, err
	}
	cell := ps.State
	if ps.State == storage.BlueskyDeleted {
		return cell, ps, nil
	}
	if n := len(ps.URIs); n > 1 {
		cell += fmt.Sprintf(" (%d posts)", n)
	}
	return cell, ps, nil
}

// printBluesky prints a post's Bluesky records and mirror error.
func (a *app) printBluesky(ctx context.Context, w io.Writer, id int64) error {
	_, ps, err := a.blueskyCell(ctx, id)
	if err != nil || ps == nil {
		return err
	}
	for _, u := range ps.URIs {
		fmt.Fprintln(w, "bluesky: "+u)
	}
	if ps.Error != "" {
		fmt.Fprintln(w, "bluesky error: "+ps.Error)
	}
	return nil
}

// blueskyCheck is one mirrored account's login check for `bridge doctor`.
type blueskyCheck struct {
	name  string
	login func(ctx context.Context) (string, error) // nil: not checkable
}

// blueskyChecks lists the doctor's Bluesky checks: each mirrored account
// resumes its saved session (or logs in) and asks the PDS who it is.
func blueskyChecks(cfg *config.Config, store storage.Store, openErr error) []blueskyCheck {
	var out []blueskyCheck
	var m *atproto.Mirror
	if openErr == nil && store != nil {
		m, _ = newMirror(cfg, store, nil, nil, zerolog.Nop())
	}
	for _, a := range cfg.Accounts {
		if !a.Bluesky.Enabled() {
			continue
		}
		c := blueskyCheck{name: strings.ToLower(a.Username)}
		if m != nil {
			c.login = func(ctx context.Context) (string, error) { return m.CheckLogin(ctx, c.name) }
		}
		out = append(out, c)
	}
	return out
}
