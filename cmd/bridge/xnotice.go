package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/notice"
	"github.com/passerelle/passerelle/safehttp"
)

// cmdX dispatches "bridge x SUBCOMMAND".
func cmdX(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "notice" {
		return usageError{"usage: bridge x notice --account NAME [--lang L] [--post]"}
	}
	return cmdXNotice(ctx, path, args[1:], stdout, stderr)
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
