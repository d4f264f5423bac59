package config

import (
	"os"
	"strings"
	"testing"
)

func validNotice() Notice {
	return Notice{XHandle: "@VilleDeTest", LeftXOn: "2025-01-20"}
}

func TestValidateNotice(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{name: "no notice", mutate: func(c *Config) {}},
		{name: "minimal notice", mutate: func(c *Config) { c.Accounts[0].Notice = validNotice() }},
		{name: "every key", mutate: func(c *Config) {
			n := validNotice()
			n.Message = Texts{"fr": "Nous avons quitté X le {date}.", "en": "We left X.", "pt-BR": "Saímos do X."}
			n.Texts = LanguageTexts{"de": {"follow_button": "Folgen", "post": "Wir haben X verlassen: {url}"}}
			n.DefaultLanguage, n.Home, n.Hashtag, n.BlueskyHandle = "fr", true, "#eXit_2025", "@VilleDeTest.bsky.social"
			n.XAPI = XAPI{BaseURL: "http://127.0.0.1:9999", ConsumerKey: "a", ConsumerSecret: "b", AccessToken: "c", AccessTokenSecret: "d"}
			c.Accounts[0].Notice = n
		}},
		{name: "unicode hashtag", mutate: func(c *Config) { n := validNotice(); n.Hashtag = "#QuitterX_été"; c.Accounts[0].Notice = n }},
		{name: "15-character X handle", mutate: func(c *Config) {
			n := validNotice()
			n.XHandle = "@" + strings.Repeat("a", 15)
			c.Accounts[0].Notice = n
		}},

		{name: "any notice key requires the handle and date", mutate: func(c *Config) { c.Accounts[0].Notice = Notice{Hashtag: "#eXit"} },
			want: []string{"accounts[0].notice.x_handle: required", "accounts[0].notice.left_x_on: required"}},
		{name: "X handle without @", mutate: func(c *Config) { n := validNotice(); n.XHandle = "VilleDeTest"; c.Accounts[0].Notice = n },
			want: []string{`accounts[0].notice.x_handle: must be an X handle such as "@VilleDeTest": "@" then 1 to 15 letters, digits or underscores; got "VilleDeTest"`}},
		{name: "X handle too long", mutate: func(c *Config) {
			n := validNotice()
			n.XHandle = "@" + strings.Repeat("a", 16)
			c.Accounts[0].Notice = n
		},
			want: []string{`accounts[0].notice.x_handle: must be an X handle such as "@VilleDeTest": "@" then 1 to 15 letters, digits or underscores; got "@aaaaaaaaaaaaaaaa"`}},
		{name: "X handle with a dot", mutate: func(c *Config) { n := validNotice(); n.XHandle = "@ville.test"; c.Accounts[0].Notice = n },
			want: []string{`accounts[0].notice.x_handle: must be an X handle such as "@VilleDeTest": "@" then 1 to 15 letters, digits or underscores; got "@ville.test"`}},
		{name: "date in another format", mutate: func(c *Config) { n := validNotice(); n.LeftXOn = "20/01/2025"; c.Accounts[0].Notice = n },
			want: []string{`accounts[0].notice.left_x_on: must be a date written YYYY-MM-DD, such as "2025-01-20"; got "20/01/2025"`}},
		{name: "impossible date", mutate: func(c *Config) { n := validNotice(); n.LeftXOn = "2025-02-30"; c.Accounts[0].Notice = n },
			want: []string{`accounts[0].notice.left_x_on: must be a date written YYYY-MM-DD, such as "2025-01-20"; got "2025-02-30"`}},
		{name: "message language not a tag", mutate: func(c *Config) {
			n := validNotice()
			n.Message = Texts{"french": "Bonjour", "en": ""}
			c.Accounts[0].Notice = n
		}, want: []string{
			"accounts[0].notice.message.en: required",
			`accounts[0].notice.message.french: "french" is not a BCP 47 language tag such as "fr", "en" or "pt-BR"`,
		}},
		{name: "unknown text key", mutate: func(c *Config) {
			n := validNotice()
			n.Texts = LanguageTexts{"fr": {"folow_button": "Suivre"}}
			c.Accounts[0].Notice = n
		}, want: []string{`accounts[0].notice.texts.fr.folow_button: unknown text; the texts are "title", "message", "intro", "fediverse_heading", "handle_label", "copy", "copied", "follow_label", "follow_help", "follow_button", "bluesky_heading", "bluesky_button", "qr_heading", "qr_fediverse_alt", "qr_bluesky_alt", "qr_svg", "posts_heading", "no_posts", "language", "error_invalid", "error_private", "error_unreachable", "post", "post_no_bluesky" (did you mean "follow_button"?)`}},
		{name: "text too long", mutate: func(c *Config) {
			n := validNotice()
			n.Texts = LanguageTexts{"en": {"intro": strings.Repeat("x", 1001)}}
			c.Accounts[0].Notice = n
		}, want: []string{"accounts[0].notice.texts.en.intro: is 1001 characters long; at most 1000 are allowed"}},
		{name: "default language", mutate: func(c *Config) { n := validNotice(); n.DefaultLanguage = "fr_FR!"; c.Accounts[0].Notice = n },
			want: []string{`accounts[0].notice.default_language: "fr_FR!" is not a BCP 47 language tag such as "fr", "en" or "pt-BR"`}},
		{name: "hashtag", mutate: func(c *Config) { n := validNotice(); n.Hashtag = "eXit"; c.Accounts[0].Notice = n },
			want: []string{`accounts[0].notice.hashtag: must be a hashtag such as "#eXit": "#" then at most 100 letters, digits or underscores, not only digits; got "eXit"`}},
		{name: "hashtag of digits", mutate: func(c *Config) { n := validNotice(); n.Hashtag = "#2025"; c.Accounts[0].Notice = n },
			want: []string{`accounts[0].notice.hashtag: must be a hashtag such as "#eXit": "#" then at most 100 letters, digits or underscores, not only digits; got "#2025"`}},
		{name: "hashtag with a space", mutate: func(c *Config) { n := validNotice(); n.Hashtag = "#e Xit"; c.Accounts[0].Notice = n },
			want: []string{`accounts[0].notice.hashtag: must be a hashtag such as "#eXit": "#" then at most 100 letters, digits or underscores, not only digits; got "#e Xit"`}},
		{name: "Bluesky handle", mutate: func(c *Config) {
			n := validNotice()
			n.BlueskyHandle = "https://bsky.app/profile/x"
			c.Accounts[0].Notice = n
		},
			want: []string{`accounts[0].notice.bluesky_handle: must be a Bluesky handle such as "city.bsky.social" or "city.example"; got "https://bsky.app/profile/x"`}},
		{name: "Bluesky handle of one label", mutate: func(c *Config) { n := validNotice(); n.BlueskyHandle = "ville"; c.Accounts[0].Notice = n },
			want: []string{`accounts[0].notice.bluesky_handle: must be a Bluesky handle such as "city.bsky.social" or "city.example"; got "ville"`}},
		{name: "two home pages", mutate: func(c *Config) {
			a, b := validNotice(), validNotice()
			a.Home, b.Home = true, true
			c.Accounts[0].Notice = a
			c.Accounts = append(c.Accounts, Account{Username: "alerts", Type: "Service", Notice: b})
		}, want: []string{"accounts[1].notice.home: only one account's notice can be the home page; accounts[0] already has home: true"}},
		{name: "some X API keys missing", mutate: func(c *Config) {
			n := validNotice()
			n.XAPI = XAPI{ConsumerKey: "k", AccessTokenSecret: "s3cr3t"}
			c.Accounts[0].Notice = n
		}, want: []string{
			"accounts[0].notice.x_api.consumer_secret: required when consumer_key, access_token_secret is set (the four OAuth 1.0a keys go together)",
			"accounts[0].notice.x_api.access_token: required when consumer_key, access_token_secret is set (the four OAuth 1.0a keys go together)",
		}},
		{name: "X API base URL", mutate: func(c *Config) { n := validNotice(); n.XAPI.BaseURL = "api.x.com"; c.Accounts[0].Notice = n },
			want: []string{`accounts[0].notice.x_api.base_url: must be an http(s) URL such as "https://api.x.com"; got "api.x.com"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			var got []string
			for _, p := range Problems(c.Validate()) {
				got = append(got, p.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Validate:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestLoadNotice(t *testing.T) {
	t.Setenv("PASSERELLE_TEST_X_SECRET", "s3cr3t")
	path := writeConfig(t, `server: {public_url: "https://social.city.example"}
accounts:
  - username: news
    bluesky:
      identifier: "ville.bsky.social"
      app_password: "xxxx-xxxx-xxxx-xxxx"
    notice:
      x_handle: "@VilleDeTest"
      left_x_on: "2025-01-20"
      message: {fr: "Nous avons quitté X le {date}.", de: "Wir haben X verlassen."}
      texts:
        en: {follow_button: "Follow us"}
      x_api:
        consumer_key: "k"
        consumer_secret: "${PASSERELLE_TEST_X_SECRET}"
        access_token: "t"
        access_token_secret: "${PASSERELLE_TEST_X_SECRET}"
  - username: alerts
    notice:
      x_handle: "@Alerts"
      left_x_on: "2025-01-21"
      bluesky_handle: "@Alerts.City.Example"
      message: "not a mapping"
`)
	_, err := Load(path)
	lines := errorLines(err)
	if len(lines) != 1 || !strings.Contains(lines[0], ":23: accounts[1].notice.message: expected a mapping of language tags to texts") {
		t.Fatalf("Load = %q, want one problem on line 23", lines)
	}
	path = writeConfig(t, strings.Replace(readFile(t, path), `message: "not a mapping"`, `hashtag: "#eXit"`, 1))
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	news, alerts := cfg.Accounts[0], cfg.Accounts[1]
	if n := news.Notice; n.Message["de"] != "Wir haben X verlassen." || n.Texts["en"]["follow_button"] != "Follow us" ||
		n.XAPI.ConsumerSecret != "s3cr3t" || !n.XAPI.Configured() || n.XAPI.URL() != DefaultXAPIBaseURL || n.Language() != "en" {
		t.Errorf("news notice = %+v", n)
	}
	if got := news.NoticeBlueskyHandle(); got != "ville.bsky.social" {
		t.Errorf("Bluesky handle from bluesky.identifier = %q", got)
	}
	if got := alerts.NoticeBlueskyHandle(); got != "alerts.city.example" {
		t.Errorf("Bluesky handle from notice.bluesky_handle = %q", got)
	}
	if d := alerts.Notice.LeftXDate(); d.Day() != 21 {
		t.Errorf("LeftXDate = %v", d)
	}
	did := Account{Bluesky: Bluesky{Identifier: "did:plc:abc123"}}
	if got := did.NoticeBlueskyHandle(); got != "" {
		t.Errorf("a DID identifier gave handle %q", got)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
