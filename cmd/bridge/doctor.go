package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/doctor"
	"github.com/passerelle/passerelle/storage"
)

// cmdDoctor checks the deployment described by the configuration and
// prints each check with a fix hint; it fails when any check fails.
func cmdDoctor(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	fs := commandFlags("doctor", &path, stderr)
	clockURL := fs.String("clock-url", "", "server whose HTTP Date is the reference time (default: the ACME directory)")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit of each check")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	env := doctor.DefaultEnv()
	env.HTTP.Timeout = *timeout
	// The database is opened as `serve` opens it (pending migrations are
	// applied); only warnings and errors of its own are printed.
	storeLog := newLogger(cfg.Log, stderr).Level(zerolog.WarnLevel).With().Str("component", "storage").Logger()
	store, openErr := storage.Open(ctx, storage.Config{Driver: cfg.Storage.Driver, DSN: cfg.Storage.DSN}, storeLog)
	if openErr == nil {
		defer store.Close()
	}
	ref := *clockURL
	if ref == "" {
		ref = cfg.Server.TLS.ACMEDirectory
	}
	if ref == "" {
		ref = config.DefaultACMEDirectory
	}
	fmt.Fprintf(stdout, "Checking %s (public URL %s)\n\n", path, cfg.Server.BaseURL())
	checks := doctorChecks(cfg, env, store, openErr, ref, *timeout)
	if doctor.Run(ctx, checks, stdout) > 0 {
		return errReported
	}
	return nil
}

// doctorChecks lists the checks for cfg, in the order an admin would fix
// them.
func doctorChecks(cfg *config.Config, env doctor.Env, store storage.Store, openErr error, clockRef string, timeout time.Duration) []doctor.Check {
	var checks []doctor.Check
	add := func(name string, run func(ctx context.Context) doctor.Result) {
		checks = append(checks, doctor.Check{Name: name, Run: func(ctx context.Context) doctor.Result {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			return run(ctx)
		}})
	}
	pub, _ := url.Parse(cfg.Server.BaseURL())
	publicHost := pub.Hostname()
	domains := []string{publicHost}
	if d := cfg.Federation.AccountDomain; d != "" && !strings.EqualFold(d, publicHost) {
		domains = append(domains, d)
	}
	for _, d := range domains {
		add("dns "+d, func(ctx context.Context) doctor.Result { return doctor.DNS(ctx, env, d) })
	}
	if pub.Scheme == "https" {
		port := pub.Port()
		if port == "" {
			port = "443"
		}
		add("tls "+publicHost, func(ctx context.Context) doctor.Result {
			return doctor.TLS(ctx, env, net.JoinHostPort(publicHost, port), publicHost)
		})
		for _, d := range domains[1:] {
			add("tls "+d, func(ctx context.Context) doctor.Result {
				return doctor.TLS(ctx, env, net.JoinHostPort(d, "443"), d)
			})
		}
	} else {
		add("tls", func(context.Context) doctor.Result {
			return doctor.Result{Status: doctor.Warn, Detail: "server.public_url is http: other servers only federate over https",
				Hint: "use an https public_url in production (tls.mode auto, manual, or a reverse proxy)"}
		})
	}
	for _, acc := range cfg.Accounts {
		spec := doctor.WebFingerSpec{
			Scheme:       pub.Scheme,
			HandleDomain: cfg.HandleDomain(),
			PublicBase:   cfg.Server.BaseURL(),
			Username:     strings.ToLower(acc.Username),
			ActorID:      cfg.Links().Actor(acc.Username),
		}
		add("webfinger @"+cfg.Handle(spec.Username), func(ctx context.Context) doctor.Result { return doctor.WebFinger(ctx, env, spec) })
	}
	add("clock", func(ctx context.Context) doctor.Result { return doctor.Clock(ctx, env, clockRef) })
	add("database", func(ctx context.Context) doctor.Result {
		if openErr != nil {
			return doctor.DatabaseOpenFailed(cfg.Storage.Driver, openErr)
		}
		return doctor.Database(ctx, store)
	})
	if bc := blueskyChecks(cfg, store, openErr); len(bc) == 0 {
		add("bluesky", func(ctx context.Context) doctor.Result { return doctor.Bluesky(ctx, false, nil) })
	} else {
		for _, c := range bc {
			add("bluesky @"+c.name, func(ctx context.Context) doctor.Result { return doctor.Bluesky(ctx, c.login != nil, c.login) })
		}
	}
	for _, acc := range cfg.Accounts {
		name := strings.ToLower(acc.Username)
		add("signature @"+name, func(ctx context.Context) doctor.Result {
			if openErr != nil {
				return doctor.Result{Status: doctor.Skip, Detail: "needs the database"}
			}
			return doctor.Signature(ctx, env, store, name, cfg.Links().Actor(name))
		})
	}
	return checks
}
