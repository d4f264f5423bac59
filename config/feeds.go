package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Feed is an RSS or Atom feed of the institution's website (news pages,
// press releases) whose new entries the account posts.
type Feed struct {
	// URL is the feed's http(s) URL.
	URL string `yaml:"url"`
	// Template is the post's text, with the placeholders {title}, {link},
	// {summary} (the entry's summary, HTML removed, shortened to fit) and
	// {hashtags}. Empty: DefaultFeedTemplate.
	Template string `yaml:"template"`
	// Hashtags end up in {hashtags}, "#" added when missing.
	Hashtags []string `yaml:"hashtags"`
	// Interval is the time between two polls. 0: DefaultFeedInterval.
	Interval Duration `yaml:"interval"`
	// Backfill posts the entries already in the feed at the first poll;
	// by default they are only recorded as seen, and only entries that
	// appear later are posted.
	Backfill bool `yaml:"backfill"`
	// MaxPostsPerPoll caps the new entries one poll posts: beyond it (a
	// flood, a CMS that changed every entry's id, a first backfill), the
	// newest are posted and the older ones recorded as skipped. 0:
	// DefaultFeedMaxPostsPerPoll.
	MaxPostsPerPoll int `yaml:"max_posts_per_poll"`
	// MaxPostsPerHour caps the posts of the feed in any hour: entries
	// over it wait for the next poll. 0: DefaultFeedMaxPostsPerHour.
	MaxPostsPerHour int `yaml:"max_posts_per_hour"`
}

// Feed defaults and limits.
const (
	DefaultFeedTemplate = "{title}\n\n{link}\n\n{hashtags}"
	DefaultFeedInterval = Duration(15 * time.Minute)
	MinFeedInterval     = Duration(time.Minute)
	MaxFeedInterval     = Duration(24 * time.Hour)
	MaxFeedsPerAccount  = 20
	MaxFeedTemplate     = 1000 // characters
	MaxFeedHashtags     = 10
	// Caps of new posts (a feed must not flood its account).
	DefaultFeedMaxPostsPerPoll = 5
	DefaultFeedMaxPostsPerHour = 10
	MaxFeedPostsPerPoll        = 100
	MaxFeedPostsPerHour        = 1000
)

// FeedPlaceholders are the placeholders a feed template may use.
var FeedPlaceholders = []string{"title", "link", "summary", "hashtags"}

var placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// TemplateOrDefault returns Template, or DefaultFeedTemplate when empty.
func (f Feed) TemplateOrDefault() string {
	if strings.TrimSpace(f.Template) == "" {
		return DefaultFeedTemplate
	}
	return f.Template
}

// IntervalOrDefault returns Interval, or DefaultFeedInterval when zero.
func (f Feed) IntervalOrDefault() time.Duration {
	if f.Interval == 0 {
		return DefaultFeedInterval.Duration()
	}
	return f.Interval.Duration()
}

// MaxPostsPerPollOrDefault returns MaxPostsPerPoll, or its default.
func (f Feed) MaxPostsPerPollOrDefault() int {
	if f.MaxPostsPerPoll <= 0 {
		return DefaultFeedMaxPostsPerPoll
	}
	return f.MaxPostsPerPoll
}

// MaxPostsPerHourOrDefault returns MaxPostsPerHour, or its default (at
// least the per-poll cap).
func (f Feed) MaxPostsPerHourOrDefault() int {
	if f.MaxPostsPerHour <= 0 {
		return max(DefaultFeedMaxPostsPerHour, f.MaxPostsPerPollOrDefault())
	}
	return f.MaxPostsPerHour
}

// HashtagText returns the hashtags as they end a post: "#a #b".
func (f Feed) HashtagText() string {
	tags := make([]string, 0, len(f.Hashtags))
	for _, h := range f.Hashtags {
		if h = strings.TrimPrefix(strings.TrimSpace(h), "#"); h != "" {
			tags = append(tags, "#"+h)
		}
	}
	return strings.Join(tags, " ")
}

// feedAccounts checks every account's feeds.
func (v *validator) feedAccounts(accounts []Account) {
	for i, a := range accounts {
		key := fmt.Sprintf("accounts[%d].feeds", i)
		if len(a.Feeds) > MaxFeedsPerAccount {
			v.addf(key, "has %d entries; at most %d are allowed", len(a.Feeds), MaxFeedsPerAccount)
		}
		seen := map[string]int{}
		for j, f := range a.Feeds {
			fk := fmt.Sprintf("%s[%d]", key, j)
			v.feed(fk, f)
			if first, dup := seen[f.URL]; dup && f.URL != "" {
				v.addf(fk+".url", "%s is already listed as %s[%d]", quote(f.URL), key, first)
			}
			seen[f.URL] = j
		}
	}
}

func (v *validator) feed(key string, f Feed) {
	if v.required(key+".url", f.URL) {
		u, err := url.Parse(f.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			v.addf(key+".url", "must be an http(s) URL of an RSS or Atom feed, such as \"https://city.example/news/feed.xml\"; got %s", quote(f.URL))
		}
	}
	if f.Template != "" {
		v.maxLength(key+".template", f.Template, MaxFeedTemplate)
		used := false
		for _, m := range placeholderRE.FindAllStringSubmatch(f.Template, -1) {
			if !slices.Contains(FeedPlaceholders, m[1]) {
				v.addf(key+".template", "unknown placeholder {%s}; use %s", m[1], placeholderList())
				continue
			}
			used = used || m[1] != "hashtags"
		}
		if !used {
			v.addf(key+".template", "must use {title}, {link} or {summary}, else every post would be the same")
		}
	}
	if len(f.Hashtags) > MaxFeedHashtags {
		v.addf(key+".hashtags", "has %d entries; at most %d are allowed", len(f.Hashtags), MaxFeedHashtags)
	}
	for i, h := range f.Hashtags {
		if !validHashtag("#" + strings.TrimPrefix(strings.TrimSpace(h), "#")) {
			v.addf(fmt.Sprintf("%s.hashtags[%d]", key, i), "%s is not a hashtag: letters, digits and underscores, such as \"CityNews\"", quote(h))
		}
	}
	if f.Interval != 0 && (f.Interval < MinFeedInterval || f.Interval > MaxFeedInterval) {
		v.addf(key+".interval", "must be between %s and %s; got %s", MinFeedInterval, MaxFeedInterval, f.Interval)
	}
	if f.MaxPostsPerPoll < 0 || f.MaxPostsPerPoll > MaxFeedPostsPerPoll {
		v.addf(key+".max_posts_per_poll", "must be between 1 and %d (0: the default, %d); got %d", MaxFeedPostsPerPoll, DefaultFeedMaxPostsPerPoll, f.MaxPostsPerPoll)
	}
	if f.MaxPostsPerHour < 0 || f.MaxPostsPerHour > MaxFeedPostsPerHour {
		v.addf(key+".max_posts_per_hour", "must be between 1 and %d (0: the default, %d); got %d", MaxFeedPostsPerHour, DefaultFeedMaxPostsPerHour, f.MaxPostsPerHour)
	} else if f.MaxPostsPerHour > 0 && f.MaxPostsPerHour < f.MaxPostsPerPollOrDefault() {
		v.addf(key+".max_posts_per_hour", "must be at least max_posts_per_poll (%d); got %d", f.MaxPostsPerPollOrDefault(), f.MaxPostsPerHour)
	}
}

func placeholderList() string {
	out := make([]string, len(FeedPlaceholders))
	for i, p := range FeedPlaceholders {
		out[i] = "{" + p + "}"
	}
	return strings.Join(out, ", ")
}
