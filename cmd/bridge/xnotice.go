package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/notice"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
)

// cmdX dispatches "bridge x SUBCOMMAND".
func cmdX(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) > 0 && args[0] == "notice":
		return cmdXNotice(ctx, path, args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "stats":
		return cmdXStats(ctx, path, args[1:], stdout, stderr)
	}
	return usageError{"usage: bridge x notice --account NAME [--lang L] [--post]\n       bridge x stats --account NAME [--days N]"}
}

// cmdXStats prints the notice page's funnel of an account, a line per
// day: visits by source, remote follows started, and the follows they
// brought (web/funnel.go).
func cmdXStats(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	fs := commandFlags("x stats", &path, stderr)
	account := fs.String("account", "", "account username")
	days := fs.Int("days", 30, "the last N days (UTC), today included")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *account == "" || fs.NArg() > 0 || *days < 1 || *days > 3660 {
		return usageError{"usage: bridge x stats --account NAME [--days N] (N from 1 to 3660)"}
	}
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	acc, ok := cfg.Account(*account)
	if !ok {
		return fmt.Errorf("no account %q in %s", *account, path)
	}
	store, err := storage.Open(ctx, storage.Config{Driver: cfg.Storage.Driver, DSN: cfg.Storage.DSN}, newLogger(cfg.Log, stderr))
	if err != nil {
		return fmt.Errorf("open storage: %w", err)
	}
	defer store.Close()
	since := time.Now().UTC().AddDate(0, 0, -(*days - 1))
	rows, err := store.NoticeFunnelDays(ctx, strings.ToLower(acc.Username), storage.FunnelDay(since))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-10s  %7s  %7s  %7s  %7s  %s\n", "day", "visits", "qr", "follows", "started", "other sources")
	var total storage.NoticeFunnelDay
	total.Visits = map[string]int64{}
	for _, d := range rows {
		var visits int64
		var others []string
		for _, src := range slices.Sorted(maps.Keys(d.Visits)) {
			n := d.Visits[src]
			visits += n
			total.Visits[src] += n
			if src != "qr" && src != "direct" {
				others = append(others, fmt.Sprintf("%s %d", src, n))
			}
		}
		total.Starts += d.Starts
		total.Follows += d.Follows
		fmt.Fprintf(stdout, "%-10s  %7d  %7d  %7d  %7d  %s\n", d.Day, visits, d.Visits["qr"], d.Follows, d.Starts, strings.Join(others, ", "))
	}
	var visits int64
	for _, n := range total.Visits {
		visits += n
	}
	fmt.Fprintf(stdout, "%-10s  %7d  %7d  %7d  %7d\n", "total", visits, total.Visits["qr"], total.Follows, total.Starts)
	fmt.Fprintln(stderr, "(visits of /x/"+strings.ToLower(acc.Username)+", by ?src= (qr: the notice QR code); started: remote follows sent on to the visitor's server; follows: a new follower from that server within 30 minutes. Today's visits are written every minute, follows 30 minutes after they start.)")
	return nil
}

// cmdXNotice prints the last post on X for an account's notice and, with
// --post, posts it through the X API v2. It only ever creates that one
// post: nothing is deleted or changed on the X account.
func cmdXNotice(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	fs := commandFlags("x notice", &path, stderr)
	account := fs.String("account", "", "account username")
	lang := fs.String("lang", "", "language of the post (default: the notice's default_language)")
	post := fs.Bool("post", false, "post it on X through the X API (keys in notice.x_api)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *account == "" || fs.NArg() > 0 {
		return usageError{"usage: bridge x notice --account NAME [--lang L] [--post]"}
	}
	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	idx := slices.IndexFunc(cfg.Accounts, func(a config.Account) bool { return strings.EqualFold(a.Username, *account) })
	if idx < 0 {
		return fmt.Errorf("no account %q in %s", *account, path)
	}
	acc := cfg.Accounts[idx]
	key := fmt.Sprintf("accounts[%d].notice", idx)
	if !acc.Notice.Enabled() {
		return fmt.Errorf("account %q has no X exit notice: set %s.x_handle and %s.left_x_on in %s", acc.Username, key, key, path)
	}
	texts := notice.NewTexts(acc.Notice)
	l := texts.Default()
	if *lang != "" {
		if l = texts.Match(*lang, ""); !strings.EqualFold(l, *lang) {
			return usageError{fmt.Sprintf("--lang %s: the notice has %s", *lang, strings.Join(texts.Languages(), ", "))}
		}
	}
	name := acc.DisplayName
	if name == "" {
		name = acc.Username
	}
	text, err := texts.PostText(l, notice.Vars{
		Name: name, XHandle: acc.Notice.XHandle, Handle: strings.ToLower(acc.Username) + "@" + cfg.HandleDomain(),
		BlueskyHandle: acc.NoticeBlueskyHandle(), URL: cfg.Server.BaseURL() + "/x/" + strings.ToLower(acc.Username),
		Hashtag: acc.Notice.Hashtag, LeftXOn: acc.Notice.LeftXDate(),
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, text)
	fmt.Fprintf(stderr, "(%d of %d characters, as X counts them)\n", notice.XLength(text), notice.MaxXWeightedLength)
	if !*post {
		return nil
	}
	x := acc.Notice.XAPI
	if !x.Configured() {
		return fmt.Errorf(`--post needs the account's X API keys. In the X developer portal, create an app with "Read and write" permission, generate its consumer keys and its access token and secret, then set in %s:
  %s.x_api:
    consumer_key: "${X_CONSUMER_KEY}"
    consumer_secret: "${X_CONSUMER_SECRET}"
    access_token: "${X_ACCESS_TOKEN}"
    access_token_secret: "${X_ACCESS_TOKEN_SECRET}"
with those variables in the environment (or ${file:...} references). Without them, post the text above by hand`, path, key)
	}
	client := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: cfg.Federation.AllowPrivateNetworks, Timeout: 30 * time.Second})
	xc := notice.XClient{BaseURL: x.URL(), HTTP: client, Auth: notice.OAuth1{
		ConsumerKey: x.ConsumerKey, ConsumerSecret: x.ConsumerSecret, AccessToken: x.AccessToken, AccessTokenSecret: x.AccessTokenSecret,
	}}
	id, err := xc.Post(ctx, text)
	if err != nil {
		var xe *notice.XError
		if errors.As(err, &xe) && (xe.Status == 401 || xe.Status == 403) {
			return fmt.Errorf("%w (check %s.x_api: the four keys must belong to the same app, with read and write permission)", err, key)
		}
		return err
	}
	fmt.Fprintf(stdout, "Posted on X: https://x.com/%s/status/%s\n", strings.TrimPrefix(acc.Notice.XHandle, "@"), id)
	return nil
}
