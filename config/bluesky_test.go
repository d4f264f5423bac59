package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBlueskyDefaults(t *testing.T) {
	c := Default()
	c.Server.PublicURL = "https://social.city.example:8443"
	c.Accounts = []Account{
		{Username: "news", Bluesky: Bluesky{Identifier: "@City.Example", AppPassword: "abcd-efgh-ijkl-mnop"}},
		{Username: "events"},
	}
	c.ApplyDefaults()
	b := c.Accounts[0].Bluesky
	want := Bluesky{
		PDSURL: DefaultBlueskyPDSURL, Identifier: "city.example", AppPassword: "abcd-efgh-ijkl-mnop",
		LongPosts: LongPostsThread, ImageMaxBytes: DefaultBlueskyImageMaxBytes, Edits: EditsRecreate,
		Quotes: QuotesAllow, AltText: AltTextRequired, SensitiveLabel: LabelGraphicMedia,
	}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("defaults = %+v\nwant %+v", b, want)
	}
	if c.Accounts[0].Replies != RepliesEveryone {
		t.Errorf("replies = %q", c.Accounts[0].Replies)
	}
	if c.Accounts[1].Bluesky.Enabled() || c.Accounts[1].Bluesky.PDSURL != "" {
		t.Errorf("an account without bluesky got a mirror: %+v", c.Accounts[1].Bluesky)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// The handle: the handle domain without its port, or bluesky.handle.
	if h := c.BlueskyHandle(c.Accounts[0]); h != "social.city.example" {
		t.Errorf("handle = %q", h)
	}
	c.Federation.AccountDomain = "city.example"
	if h := c.BlueskyHandle(c.Accounts[0]); h != "city.example" {
		t.Errorf("handle with account_domain = %q", h)
	}
	c.Accounts[0].Bluesky.Handle = "news.city.example"
	if h := c.BlueskyHandle(c.Accounts[0]); h != "news.city.example" {
		t.Errorf("explicit handle = %q", h)
	}
}

func TestBlueskyValidate(t *testing.T) {
	mirror := func(mutate func(b *Bluesky)) func(c *Config) {
		return func(c *Config) {
			b := Bluesky{PDSURL: "https://pds.city.example", Identifier: "city.example", AppPassword: "abcd-efgh-ijkl-mnop"}
			if mutate != nil {
				mutate(&b)
			}
			c.Accounts[0].Bluesky = b
		}
	}
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{name: "valid", mutate: mirror(nil)},
		{name: "a DID as identifier", mutate: mirror(func(b *Bluesky) { b.Identifier = "did:plc:ewvi7nxzyoun6zhxrhs64oiz" })},
		{name: "every setting", mutate: mirror(func(b *Bluesky) {
			b.LongPosts, b.Edits, b.Quotes, b.AltText, b.ImageMaxBytes = LongPostsTruncate, EditsIgnore, QuotesDisallow, AltTextOptional, 1_000_000
			b.Handle, b.SessionKey = "news.city.example", "a-long-enough-secret"
			b.Handles = BlueskyHandles{"alice@social.example": "alice.bsky.social"}
		})},
		{name: "every replies value", mutate: func(c *Config) {
			for _, r := range repliesValues {
				c.Accounts = append(c.Accounts, Account{Username: "a_" + r, Replies: r})
			}
		}},
		{name: "credentials missing", mutate: mirror(func(b *Bluesky) { b.Identifier, b.AppPassword = "", "" }), want: []string{
			"accounts[0].bluesky.identifier: required",
			"accounts[0].bluesky.app_password: required",
		}},
		{name: "only an option set still needs credentials", mutate: func(c *Config) { c.Accounts[0].Bluesky = Bluesky{LongPosts: LongPostsThread} }, want: []string{
			"accounts[0].bluesky.identifier: required",
			"accounts[0].bluesky.app_password: required",
		}},
		{name: "bad values", mutate: mirror(func(b *Bluesky) {
			b.PDSURL, b.Identifier, b.LongPosts, b.Edits, b.Quotes, b.AltText = "ftp://pds/x", "not a handle", "split", "update", "followers", "maybe"
			b.ImageMaxBytes, b.SessionKey, b.Handle = 5_000_000, "short", "no_tld"
		}), want: []string{
			`accounts[0].bluesky.pds_url: must be the URL of a PDS`,
			`accounts[0].bluesky.identifier: must be the account's handle`,
			`accounts[0].bluesky.session_key: must be at least 16 characters long`,
			`accounts[0].bluesky.handle: must be a domain name`,
			`accounts[0].bluesky.long_posts: must be one of "thread", "truncate"`,
			`accounts[0].bluesky.edits: must be one of "recreate", "ignore"`,
			`accounts[0].bluesky.quotes: must be one of "allow", "disallow"`,
			`accounts[0].bluesky.alt_text: must be one of "required", "optional"`,
			`accounts[0].bluesky.image_max_bytes: must be between 50000 and 2000000; got 5000000`,
		}},
		{name: "poll interval too short", mutate: mirror(func(b *Bluesky) { b.PollInterval = Duration(5 * time.Second) }),
			want: []string{`accounts[0].bluesky.poll_interval: must be between 15s and 1h; got 5s`}},
		{name: "poll interval too long", mutate: mirror(func(b *Bluesky) { b.PollInterval = Duration(2 * time.Hour) }),
			want: []string{`accounts[0].bluesky.poll_interval: must be between 15s and 1h; got 2h`}},
		{name: "bad handles map", mutate: mirror(func(b *Bluesky) {
			b.Handles = BlueskyHandles{"alice": "alice.bsky.social", "bob@social.example": "not a handle"}
		}), want: []string{
			`accounts[0].bluesky.handles.alice: the key must be a fediverse handle`,
			`accounts[0].bluesky.handles.bob@social.example: must be a Bluesky handle`,
		}},
		{name: "bad replies", mutate: func(c *Config) { c.Accounts[0].Replies = "friends" }, want: []string{
			`accounts[0].replies: must be one of "everyone", "followers", "following", "mentioned", "nobody"; got "friends"`,
		}},
		{name: "two mirrors cannot share a handle", mutate: func(c *Config) {
			b := Bluesky{Identifier: "city.example", AppPassword: "abcd-efgh-ijkl-mnop"}
			c.Accounts[0].Bluesky = b
			c.Accounts = append(c.Accounts, Account{Username: "events", Bluesky: Bluesky{Identifier: "events.bsky.social", AppPassword: "x"}})
		}, want: []string{
			`accounts[1].bluesky.handle: "social.city.example" is already the Bluesky handle of accounts[0]`,
		}},
		// `bridge bluesky handle` would refuse these: check-config says so.
		{name: "default handle from an IP address", mutate: func(c *Config) {
			mirror(nil)(c)
			c.Server.PublicURL = "http://127.0.0.1:8080"
		}, want: []string{
			`accounts[0].bluesky.handle: the default Bluesky handle would be "127.0.0.1" (the host of server.public_url), which is not a domain name`,
		}},
		{name: "default handle from a single label", mutate: func(c *Config) {
			mirror(nil)(c)
			c.Server.PublicURL = "https://localhost"
		}, want: []string{
			`accounts[0].bluesky.handle: the default Bluesky handle would be "localhost" (the host of server.public_url)`,
		}},
		{name: "an IP address public URL with a handle set", mutate: func(c *Config) {
			mirror(func(b *Bluesky) { b.Handle = "city.example" })(c)
			c.Server.PublicURL = "http://127.0.0.1:8080"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			c.ApplyDefaults()
			var got []string
			for _, p := range Problems(c.Validate()) {
				got = append(got, p.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d = %q, want prefix %q", i, got[i], tt.want[i])
				}
			}
			for _, p := range got {
				if strings.Contains(p, "abcd-efgh-ijkl-mnop") {
					t.Errorf("a problem prints the app password: %s", p)
				}
			}
		})
	}
}

func TestBlueskyLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	t.Setenv("PASSERELLE_TEST_BSKY", "abcd-efgh-ijkl-mnop")
	yaml := `server: {public_url: "https://social.city.example"}
federation: {account_domain: city.example}
accounts:
  - username: news
    replies: "followers"
    bluesky:
      pds_url: "https://bsky.social/"
      identifier: "city.example"
      app_password: "${PASSERELLE_TEST_BSKY}"
      long_posts: truncate
      image_max_bytes: 1000000
      quotes: disallow
      handles:
        "@Alice@Social.Example": "@Alice.bsky.social"
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a := c.Accounts[0]
	b := a.Bluesky
	if a.Replies != RepliesFollowers || b.PDSURL != "https://bsky.social" || b.AppPassword != "abcd-efgh-ijkl-mnop" ||
		b.LongPosts != LongPostsTruncate || b.ImageMaxBytes != 1_000_000 || b.Quotes != QuotesDisallow || b.Edits != EditsRecreate {
		t.Errorf("loaded %+v", a)
	}
	if !reflect.DeepEqual(b.Handles, BlueskyHandles{"alice@social.example": "alice.bsky.social"}) {
		t.Errorf("handles = %v", b.Handles)
	}
	if h := c.BlueskyHandle(a); h != "city.example" {
		t.Errorf("handle = %q", h)
	}

	bad := strings.Replace(yaml, `"@Alice@Social.Example": "@Alice.bsky.social"`, `- not a mapping`, 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "accounts[0].bluesky.handles") {
		t.Errorf("Load with a list as handles: %v", err)
	}
}
