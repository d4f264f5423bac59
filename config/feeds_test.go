package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateFeeds(t *testing.T) {
	feed := func(mut func(f *Feed)) func(c *Config) {
		return func(c *Config) {
			f := Feed{URL: "https://www.city.example/news/feed.xml"}
			mut(&f)
			c.Accounts[0].Feeds = append(c.Accounts[0].Feeds, f)
		}
	}
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{name: "defaults only", mutate: feed(func(f *Feed) {})},
		{name: "everything set", mutate: feed(func(f *Feed) {
			f.Template, f.Hashtags, f.Interval, f.Backfill = "{title}: {summary}\n{link} {hashtags}", []string{"#CityNews", "Ville_de_Test", "été2025"}, Duration(time.Minute), true
		})},
		{name: "http feed", mutate: feed(func(f *Feed) { f.URL = "http://127.0.0.1:8081/feed" })},
		{name: "url missing", mutate: feed(func(f *Feed) { f.URL = "" }),
			want: []string{"accounts[0].feeds[0].url: required"}},
		{name: "url not http", mutate: feed(func(f *Feed) { f.URL = "ftp://city.example/feed" }),
			want: []string{`accounts[0].feeds[0].url: must be an http(s) URL of an RSS or Atom feed, such as "https://city.example/news/feed.xml"; got "ftp://city.example/feed"`}},
		{name: "url relative", mutate: feed(func(f *Feed) { f.URL = "/news/feed.xml" }),
			want: []string{`accounts[0].feeds[0].url: must be an http(s) URL of an RSS or Atom feed, such as "https://city.example/news/feed.xml"; got "/news/feed.xml"`}},
		{name: "url with credentials", mutate: feed(func(f *Feed) { f.URL = "https://u:p@city.example/feed" }),
			want: []string{`accounts[0].feeds[0].url: must be an http(s) URL of an RSS or Atom feed, such as "https://city.example/news/feed.xml"; got "https://u:p@city.example/feed"`}},
		{name: "same url twice", mutate: func(c *Config) {
			feed(func(f *Feed) {})(c)
			feed(func(f *Feed) {})(c)
		}, want: []string{`accounts[0].feeds[1].url: "https://www.city.example/news/feed.xml" is already listed as accounts[0].feeds[0]`}},
		{name: "unknown placeholder", mutate: feed(func(f *Feed) { f.Template = "{title} {url}" }),
			want: []string{"accounts[0].feeds[0].template: unknown placeholder {url}; use {title}, {link}, {summary}, {hashtags}"}},
		{name: "template without the entry", mutate: feed(func(f *Feed) { f.Template = "News! {hashtags}" }),
			want: []string{"accounts[0].feeds[0].template: must use {title}, {link} or {summary}, else every post would be the same"}},
		{name: "bad hashtag", mutate: feed(func(f *Feed) { f.Hashtags = []string{"ok", "two words", "#123"} }),
			want: []string{
				`accounts[0].feeds[0].hashtags[1]: "two words" is not a hashtag: letters, digits and underscores, such as "CityNews"`,
				`accounts[0].feeds[0].hashtags[2]: "#123" is not a hashtag: letters, digits and underscores, such as "CityNews"`,
			}},
		{name: "interval too short", mutate: feed(func(f *Feed) { f.Interval = Duration(30 * time.Second) }),
			want: []string{"accounts[0].feeds[0].interval: must be between 1m and 24h; got 30s"}},
		{name: "interval too long", mutate: feed(func(f *Feed) { f.Interval = Duration(48 * time.Hour) }),
			want: []string{"accounts[0].feeds[0].interval: must be between 1m and 24h; got 48h"}},
		{name: "caps set", mutate: feed(func(f *Feed) { f.MaxPostsPerPoll, f.MaxPostsPerHour = 20, 50 })},
		{name: "caps negative", mutate: feed(func(f *Feed) { f.MaxPostsPerPoll, f.MaxPostsPerHour = -1, -1 }),
			want: []string{
				"accounts[0].feeds[0].max_posts_per_poll: must be between 1 and 100 (0: the default, 5); got -1",
				"accounts[0].feeds[0].max_posts_per_hour: must be between 1 and 1000 (0: the default, 10); got -1",
			}},
		{name: "caps too high", mutate: feed(func(f *Feed) { f.MaxPostsPerPoll, f.MaxPostsPerHour = 101, 1001 }),
			want: []string{
				"accounts[0].feeds[0].max_posts_per_poll: must be between 1 and 100 (0: the default, 5); got 101",
				"accounts[0].feeds[0].max_posts_per_hour: must be between 1 and 1000 (0: the default, 10); got 1001",
			}},
		{name: "hourly cap below the per-poll cap", mutate: feed(func(f *Feed) { f.MaxPostsPerPoll, f.MaxPostsPerHour = 20, 10 }),
			want: []string{"accounts[0].feeds[0].max_posts_per_hour: must be at least max_posts_per_poll (20); got 10"}},
		{name: "hourly cap below the default per-poll cap", mutate: feed(func(f *Feed) { f.MaxPostsPerHour = 3 }),
			want: []string{"accounts[0].feeds[0].max_posts_per_hour: must be at least max_posts_per_poll (5); got 3"}},
		{name: "too many feeds", mutate: func(c *Config) {
			for i := range MaxFeedsPerAccount + 1 {
				c.Accounts[0].Feeds = append(c.Accounts[0].Feeds, Feed{URL: fmt.Sprintf("https://city.example/%d.xml", i)})
			}
		}, want: []string{"accounts[0].feeds: has 21 entries; at most 20 are allowed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(c)
			got := errorLines(c.Validate())
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestFeedDefaults(t *testing.T) {
	tests := []struct {
		name         string
		feed         Feed
		wantTemplate string
		wantInterval time.Duration
		wantTags     string
	}{
		{"zero", Feed{}, DefaultFeedTemplate, 15 * time.Minute, ""},
		{"set", Feed{Template: "{link}", Interval: Duration(time.Hour), Hashtags: []string{"#a", "b", " "}}, "{link}", time.Hour, "#a #b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.feed.TemplateOrDefault(); got != tc.wantTemplate {
				t.Errorf("template %q, want %q", got, tc.wantTemplate)
			}
			if got := tc.feed.IntervalOrDefault(); got != tc.wantInterval {
				t.Errorf("interval %v, want %v", got, tc.wantInterval)
			}
			if got := tc.feed.HashtagText(); got != tc.wantTags {
				t.Errorf("hashtags %q, want %q", got, tc.wantTags)
			}
		})
	}
	for _, tc := range []struct {
		feed            Feed
		perPoll, perHou int
	}{
		{Feed{}, 5, 10},
		{Feed{MaxPostsPerPoll: 20}, 20, 20},
		{Feed{MaxPostsPerPoll: 2, MaxPostsPerHour: 3}, 2, 3},
	} {
		if p, h := tc.feed.MaxPostsPerPollOrDefault(), tc.feed.MaxPostsPerHourOrDefault(); p != tc.perPoll || h != tc.perHou {
			t.Errorf("%+v: caps %d per poll, %d per hour; want %d, %d", tc.feed, p, h, tc.perPoll, tc.perHou)
		}
	}
}

func TestLoadFeeds(t *testing.T) {
	path := writeConfig(t, `server:
  public_url: "https://social.city.example"
accounts:
  - username: news
    feeds:
      - url: "https://www.city.example/feed.xml"
        hashtags: ["CityNews"]
        interval: 90
        backfill: true
`)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Accounts[0].Feeds
	if len(f) != 1 || f[0].URL != "https://www.city.example/feed.xml" || f[0].IntervalOrDefault() != 90*time.Second ||
		!f[0].Backfill || f[0].HashtagText() != "#CityNews" {
		t.Errorf("feeds = %+v", f)
	}
}
