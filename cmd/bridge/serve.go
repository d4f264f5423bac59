package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/passerelle/passerelle/admin"
	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/atproto"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/execpages"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/metrics"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/push"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/video"
	"github.com/passerelle/passerelle/video/ffwasm"
	"github.com/passerelle/passerelle/web"
)

// loadConfig loads the configuration, printing every problem on its own
// line when there are any.
func loadConfig(path string, stderr io.Writer) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
		fmt.Fprintf(stderr, "bridge: %s: %d problem(s):\n", path, len(lines))
		for _, l := range lines {
			fmt.Fprintln(stderr, "  "+l)
		}
		return nil, errReported
	}
	return cfg, nil
}

func cmdCheckConfig(path string, args []string, stdout, stderr io.Writer) error {
	fs := commandFlags("check-config", &path, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: OK (%d account(s): ", path, len(cfg.Accounts))
	for i, a := range cfg.Accounts {
		if i > 0 {
			fmt.Fprint(stdout, ", ")
		}
		fmt.Fprint(stdout, "@"+cfg.Handle(a.Username))
	}
	fmt.Fprintln(stdout, ")")
	return nil
}

func newLogger(cfg config.Log, stderr io.Writer) zerolog.Logger {
	var w io.Writer = stderr
	if cfg.Format == "console" {
		w = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.RFC3339}
	}
	level, err := zerolog.ParseLevel(cfg.Level)
	if err != nil || cfg.Level == "" {
		level = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// app is the wired program: built in dependency order, closed in reverse.
type app struct {
	cfg     *config.Config
	log     zerolog.Logger
	store   storage.Store
	client  *http.Client
	metrics *metrics.Metrics
	fed     *federation.Service
	links   links.Site // our own URLs
	pub     *publish.Service
	mirror  *atproto.Mirror // nil when no account is mirrored to Bluesky
	mod     *moderation.Service
	push    *push.Service // Web Push of the notifications
	pages   *web.Pages    // the public pages, kept in memory
}

func newApp(ctx context.Context, cfg *config.Config, log zerolog.Logger) (*app, error) {
	store, err := storage.Open(ctx, storage.Config{Driver: cfg.Storage.Driver, DSN: cfg.Storage.DSN},
		log.With().Str("component", "storage").Logger())
	if err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	v, _, _ := buildInfo()
	client := safehttp.NewClient(safehttp.Config{
		AllowPrivateNetworks: cfg.Federation.AllowPrivateNetworks,
		UserAgent:            fmt.Sprintf("Passerelle/%s (+%s)", v, cfg.Server.BaseURL()),
		Timeout:              15 * time.Second,
		MaxBodyBytes:         federation.MaxDocumentBody,
	})
	_, commit, _ := buildInfo()
	m := metrics.New(v, commit)
	mod, err := moderation.New(ctx, cfg.Moderation, store, client, log.With().Str("component", "moderation").Logger())
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("start moderation: %w", err)
	}
	pusher, err := push.New(ctx, pushSettings(cfg, store), store, client, log.With().Str("component", "push").Logger())
	if err != nil {
		store.Close()
		return nil, err
	}
	fed, err := federation.New(ctx, federation.Settings{
		BaseURL:    cfg.Server.BaseURL(),
		Federation: cfg.Federation,
		Accounts:   cfg.Accounts,
		Version:    v,
		Moderation: mod,
		Observer:   m,
		Notifier:   pusher, // a notification queues its pushes in its own transaction
	}, store, client, log.With().Str("component", "federation").Logger())
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("start federation: %w", err)
	}
	site := cfg.Links()
	mirror, err := newMirror(cfg, store, site.NoteURL, pusher, log) // Bluesky's notifications are pushed too
	if err != nil {
		store.Close()
		return nil, err
	}
	pages, err := newPages(cfg, store, fed, client, site, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	set := publishSettings(cfg)
	if mirror != nil { // a nil *Mirror would make a non-nil interface
		set.Mirror = mirror
	}
	set.OnChange = pages.Invalidate // the pages kept in memory follow what is published
	set.Drafts = pusher             // a contributor's draft is pushed to the account's editors
	pub := publish.New(set, store, fed, log.With().Str("component", "publish").Logger())
	return &app{cfg: cfg, log: log, store: store, client: client, metrics: m, fed: fed, links: site, pub: pub, mirror: mirror, mod: mod, push: pusher, pages: pages}, nil
}

// newPages builds the public pages (profiles, posts, tags, feeds, the X
// notice), kept in memory.
func newPages(cfg *config.Config, store storage.Store, fed *federation.Service, client *http.Client, site links.Site, log zerolog.Logger) (*web.Pages, error) {
	profiles := make([]web.Profile, 0, len(cfg.Accounts))
	for _, acc := range cfg.Accounts {
		p := web.Profile{
			Username:    acc.Username,
			DisplayName: acc.DisplayName,
			SummaryHTML: safeHTML(fed.SummaryHTML(acc.Username)),
			Handle:      site.Handle(acc.Username),
			ActorURL:    site.Actor(acc.Username),
			ProfileURL:  site.Profile(acc.Username),
			AvatarURL:   fed.AvatarURL(acc.Username),
		}
		for _, f := range acc.Fields {
			p.Fields = append(p.Fields, web.Field{Name: f.Name, ValueHTML: safeHTML(federation.FieldValueHTML(f.Value))})
		}
		profiles = append(profiles, p)
	}
	pages, err := web.New(profiles, store, fed, log.With().Str("component", "web").Logger(),
		web.WithPages(web.PageSettings{Accounts: cfg.Accounts, Client: client, AllowPrivateNetworks: cfg.Federation.AllowPrivateNetworks}),
		web.WithNotices(web.NoticeSettings{BaseURL: cfg.Server.BaseURL(), Accounts: cfg.Accounts, Client: client, AllowPrivateNetworks: cfg.Federation.AllowPrivateNetworks}))
	if err != nil {
		return nil, fmt.Errorf("load templates: %w", err)
	}
	return pages, nil
}

// publishSettings derives the publishing limits and the media location:
// files next to the SQLite database, or in PostgreSQL itself so that
// several replicas share them.
func publishSettings(cfg *config.Config) publish.Settings {
	set := publish.Settings{
		MaxChars:    cfg.Posts.Characters(),
		MediaLimits: media.Limits{MaxBytes: cfg.Posts.MediaBytes(), MaxPixels: cfg.Posts.MediaPixels()},
		Polls: publish.PollLimits{MaxOptions: cfg.Posts.Polls.Options(), MaxCharacters: cfg.Posts.Polls.Characters(),
			MinExpiration: time.Duration(cfg.Posts.Polls.MinSeconds()) * time.Second,
			MaxExpiration: time.Duration(cfg.Posts.Polls.MaxSeconds()) * time.Second},
		HandleDomain: cfg.HandleDomain(),
		Languages:    map[string]string{},
	}
	for _, acc := range cfg.Accounts {
		set.Languages[strings.ToLower(acc.Username)] = acc.PostLanguage()
	}
	if cfg.Storage.Driver == config.DriverPostgres {
		set.MediaInDB = true
	} else {
		set.MediaDir = filepath.Join(filepath.Dir(cfg.Storage.DSN), "media")
	}
	set.Video = publish.VideoSettings{
		Processor:   video.New(ffwasm.New(wasmCacheDir(cfg))),
		MaxBytes:    cfg.Posts.VideoBytes(),
		MaxDuration: cfg.Posts.VideoDuration(),
		Wake:        jobs.NewWake(),
	}
	return set
}

// wasmCacheDir is where the compiled ffmpeg module is kept between runs
// (compiling it costs about 10 s of CPU): next to the SQLite database, or
// in the user's cache directory; "" (compiled by every process) when
// there is none.
func wasmCacheDir(cfg *config.Config) string {
	if cfg.Storage.Driver != config.DriverPostgres {
		return filepath.Join(filepath.Dir(cfg.Storage.DSN), "cache", "wazero")
	}
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "passerelle", "wazero")
	}
	return ""
}

// pushSettings derives the Web Push settings: each account's language
// as the payloads' preferred_locale.
func pushSettings(cfg *config.Config, store storage.Store) push.Settings {
	set := push.Settings{
		BaseURL:              cfg.Server.BaseURL(),
		AllowPrivateNetworks: cfg.Federation.AllowPrivateNetworks,
		Languages:            map[string]string{},
		// The "followed" policy: whom the account follows (accepted).
		Follows: func(ctx context.Context, account, actorID string) (bool, error) {
			f, err := store.GetFollow(ctx, account, actorID)
			if errors.Is(err, storage.ErrNotFound) {
				return false, nil
			}
			return err == nil && f.State == storage.FollowAccepted, err
		},
	}
	for _, acc := range cfg.Accounts {
		set.Languages[strings.ToLower(acc.Username)] = acc.PostLanguage()
	}
	return set
}

// openAccount loads the configuration, checks that it has the account, and
// opens the wired app (close it when done). It returns the account's
// username in lower case.
func openAccount(ctx context.Context, path, account string, stderr io.Writer) (*app, string, error) {
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return nil, "", err
	}
	if _, ok := cfg.Account(account); !ok {
		return nil, "", fmt.Errorf("no account %q in %s", account, path)
	}
	a, err := newApp(ctx, cfg, newLogger(cfg.Log, stderr))
	if err != nil {
		return nil, "", err
	}
	return a, strings.ToLower(account), nil
}

func (a *app) Close() error { return a.store.Close() }

// console builds the comms team's console (/admin).
func (a *app) console(raids admin.RaidBlocker) *admin.Console {
	names := make([]string, 0, len(a.cfg.Accounts))
	for _, acc := range a.cfg.Accounts {
		names = append(names, acc.Username)
	}
	set := admin.Settings{BaseURL: a.cfg.Server.BaseURL(), Accounts: names, Issuer: a.cfg.HandleDomain(), Drafts: a.pub, Compose: a.pub, Crisis: a.pub, Moderation: a.mod, RaidBlock: raids}
	if a.mirror != nil {
		set.Preview = blueskyPreview(a.mirror)
	}
	return admin.New(set, a.store, a.log.With().Str("component", "admin").Logger())
}

// raidBlockSummary says what blocking a raid did, for the console.
func raidBlockSummary(b api.RaidBlock, err error) (string, error) {
	if err != nil {
		return "", err
	}
	out := fmt.Sprintf("%d server(s) blocked (%s), %d follower(s) removed, %d notification(s) dismissed",
		len(b.Blocked), strings.Join(b.Blocked, " "), b.FollowersRemoved, b.Dismissed)
	if sh := b.Bluesky; sh != nil {
		out += fmt.Sprintf("; on Bluesky %d thread(s) shielded, %d repl(ies) hidden, %d quote(s) detached, %d account(s) blocked",
			sh.Threads, sh.HiddenReplies, sh.DetachedQuotes, sh.Blocked)
	}
	return out + ".", nil
}

// blueskyPreview gives the console the mirror's preview of a post.
func blueskyPreview(m *atproto.Mirror) admin.Previewer {
	return func(account string, st storage.Status, media []storage.Media) (admin.BlueskyPreview, bool) {
		p, ok := m.Preview(account, st, media)
		out := admin.BlueskyPreview{Truncated: p.Truncated, ImageMaxBytes: p.ImageMaxBytes}
		for _, r := range p.Records {
			out.Records = append(out.Records, admin.BlueskyRecord{Text: r.Text, Graphemes: r.Graphemes, Bytes: r.Bytes, Images: r.Images, Card: r.Card})
		}
		return out, ok
	}
}

// handler builds the HTTP surface.
func (a *app) handler() (http.Handler, error) {
	mux := http.NewServeMux()
	a.fed.Routes(mux)
	a.blueskyRoutes(mux)
	a.pages.Routes(mux)
	v, _, _ := buildInfo()
	// The console blocks raids as the client API does (api.Server.BlockRaid);
	// the API, built after it, takes the console's team logins.
	var apiSrv *api.Server
	console := a.console(func(ctx context.Context, account string, from, to time.Time) (string, error) {
		return raidBlockSummary(apiSrv.BlockRaid(ctx, account, from, to, nil))
	})
	console.Routes(mux)
	apiSet := api.Settings{
		BaseURL:      a.cfg.Server.BaseURL(),
		Accounts:     a.cfg.Accounts,
		HandleDomain: a.cfg.HandleDomain(),
		Version:      v,
		Moderation:   a.mod,   // domain blocks and raid blocks through the client API
		Push:         a.push,  // Web Push subscriptions
		Team:         console, // team logins on /oauth/authorize
	}
	if a.mirror != nil { // a nil *Mirror would make a non-nil interface
		apiSet.Bluesky = a.mirror // blocks, mutes and reports of Bluesky accounts
	}
	apiSrv = api.New(apiSet, a.store, a.pub, a.fed, a.log.With().Str("component", "api").Logger())
	apiSrv.Routes(mux)
	// /healthz and /readyz are served by the listeners (listen.go).
	return recoverer(a.log, mux), nil
}

func cmdServe(ctx context.Context, path string, args []string, stderr io.Writer) error {
	fs := commandFlags("serve", &path, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	h, err := a.handler()
	if err != nil {
		return err
	}
	runner := jobs.New(a.store, log.With().Str("component", "jobs").Logger())
	deliverer := a.fed.NewDeliverer(cfg.Federation.DeliveryWorkers)
	if err := a.registerJobs(runner, deliverer); err != nil {
		return err
	}
	ls, err := a.newListeners(h, deliverer)
	if err != nil {
		return err
	}
	// Bind every listener before anything runs: a taken port fails now.
	if err := ls.fe.Listen(); err != nil {
		return err
	}
	// The background components run in one group: stopping it (or one of
	// them failing) stops them all.
	base, stopWork := context.WithCancel(ctx)
	defer stopWork()
	work, workCtx := errgroup.WithContext(base)
	work.Go(func() error { return runner.Run(workCtx, 10*time.Second) }) // jobs.go
	work.Go(func() error {                                               // a changed profile: an Update of the actor to the followers
		if err := a.fed.AnnounceProfiles(workCtx); err != nil && workCtx.Err() == nil {
			log.Error().Err(err).Msg("profile changes not announced")
		}
		return nil
	})
	work.Go(func() error {
		runPruning(workCtx, a.store, cfg.Federation.HomeRetention.Duration(), log.With().Str("component", "prune").Logger())
		return nil
	})
	work.Go(func() error { return a.mod.Run(workCtx) })         // block reloads, blocklist subscriptions
	work.Go(func() error { return a.pages.RunFunnel(workCtx) }) // the notice pages' visits written every minute

	serveErr := ls.fe.Serve()
	// Certificates are obtained in the background (ACME challenges are
	// answered by the listeners just started); failures are logged and
	// retried, the servers stay up.
	if err := ls.start(workCtx); err != nil {
		log.Error().Err(err).Msg("tls: certificate management did not start")
	}
	log.Info().Str("listen", cfg.Server.Listen).Str("tls", cfg.Server.TLS.Mode).Str("public_url", cfg.Server.BaseURL()).
		Str("storage", cfg.Storage.Driver).Str("version", versionString()).Msg("bridge started")
	work.Go(func() error { releaseStartupPages(workCtx, log); return nil })

	var runErr error
	select {
	case <-ctx.Done():
		log.Info().Msg("shutting down")
	case <-workCtx.Done():
		log.Error().Msg("a component stopped; shutting down")
	case runErr = <-serveErr:
		log.Error().Err(runErr).Msg("a listener stopped; shutting down")
	}
	// Stop the workers first (in-flight deliveries finish or go back to
	// the queue) while the HTTP server still serves: a remote server
	// verifying one of those deliveries fetches our actor's key from it.
	// Then stop accepting and let in-flight requests finish, then
	// certificate maintenance; the database is closed last (deferred).
	stopWork()
	if err := work.Wait(); err != nil {
		log.Warn().Err(err).Msg("workers shutdown")
		if runErr == nil && ctx.Err() == nil {
			runErr = err
		}
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := ls.fe.Shutdown(shutCtx); err != nil {
		log.Warn().Err(err).Msg("http shutdown")
	}
	ls.stop()
	log.Info().Msg("stopped")
	return runErr
}

// recoverer turns a handler panic into a logged 500 instead of a dropped
// connection.
func recoverer(log zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				reqlog.Logger(r.Context(), log).Error().Interface("panic", v).Str("path", r.URL.Path).Msg("handler panicked")
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// safeHTML marks HTML produced by federation's escaping renderers.
func safeHTML(s string) template.HTML { return template.HTML(s) }

// startupSettle is how long after start-up the executable's start-up pages
// are released: the workers started with the server have made their first
// rounds by then.
const startupSettle = time.Second

// releaseStartupPages unmaps the executable's pages that only start-up
// used (package execpages), so that the resident memory is what the
// server uses.
func releaseStartupPages(ctx context.Context, log zerolog.Logger) {
	select {
	case <-time.After(startupSettle):
	case <-ctx.Done():
		return
	}
	// Start-up's garbage (configuration, templates, the vocabularies'
	// tables) goes back to the system now rather than over minutes.
	debug.FreeOSMemory()
	st, err := execpages.Release()
	if err != nil {
		log.Warn().Err(err).Msg("release start-up pages")
		return
	}
	log.Debug().Int64("mapped_kib", st.Mapped>>10).Int64("resident_before_kib", st.ResidentBefore>>10).
		Int64("resident_after_kib", st.ResidentAfter>>10).Msg("released the executable's start-up pages")
}
