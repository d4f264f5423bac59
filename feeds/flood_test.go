package feeds_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/feeds"
)

// bigFeed is an RSS feed of n entries, newest first, one an hour back
// from the 2025 new year; guid prefixes their ids.
func bigFeed(n int, guid string, extra ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>City</title><link>https://city.example/</link>`)
	for _, e := range extra {
		b.WriteString(e)
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		fmt.Fprintf(&b, `<item><title>Article %d</title><link>https://city.example/a/%d</link><guid>%s-%d</guid><pubDate>%s</pubDate></item>`,
			n-i, n-i, guid, n-i, start.Add(-time.Duration(i)*time.Hour).Format(time.RFC1123Z))
	}
	b.WriteString(`</channel></rss>`)
	return []byte(b.String())
}

func item(n int) string {
	return fmt.Sprintf(`<item><title>New %d</title><link>https://city.example/new/%d</link><guid>new-%d</guid><pubDate>%s</pubDate></item>`,
		n, n, n, time.Date(2025, 2, 1, n, 0, 0, 0, time.UTC).Format(time.RFC1123Z))
}

// TestPollFlood: a feed whose 1,000 entries all look new (a GUID change)
// posts a few of them, not 1,000 (issue 13: 40,000 posts in 70 s).
func TestPollFlood(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := newSite(t, bigFeed(1000, "old"), "application/rss+xml")
	src := feeds.Source{Account: "news", Feed: config.Feed{URL: s.srv.URL + "/feed"}}
	p := e.poller(t, src)
	if res, err := p.Poll(ctx, src); err != nil || res.Recorded != 1000 {
		t.Fatalf("first poll: %+v, %v", res, err)
	}
	// The CMS changes every GUID.
	s.set(bigFeed(1000, "cms2"), `"v2"`)
	if _, err := p.Poll(ctx, src); err != nil {
		t.Fatal(err)
	}
	got := e.texts(t)
	want := []string{"Article 996", "Article 997", "Article 998", "Article 999", "Article 1000"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%d posts (%.60q...), want the newest %d, oldest first: %q", len(got), got, len(want), want)
	}
	stats, err := e.store.FeedEntryStats(ctx, "news", src.Feed.URL, time.Time{})
	if err != nil || stats.Seen != 2000 || stats.Posted != 5 || stats.Skipped != 995 {
		t.Errorf("recorded %+v, %v; want 2000 seen, 5 posted, 995 skipped", stats, err)
	}
	st, err := e.store.GetFeedState(ctx, "news", src.Feed.URL)
	if err != nil || st.CappedAt.IsZero() || !strings.Contains(st.CapNote, "995 oldest recorded as skipped") {
		t.Errorf("feed state %+v, %v: the cap is not recorded", st, err)
	}
}

// TestPollCaps: the per-poll cap keeps the newest entries, the hourly cap
// makes the others wait (not lost), and the waiting ones come at the next
// poll with room, even when the document did not change.
func TestPollCaps(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	s := newSite(t, bigFeed(3, "a"), "application/rss+xml")
	src := feeds.Source{Account: "news", Feed: config.Feed{URL: s.srv.URL + "/feed", MaxPostsPerPoll: 3, MaxPostsPerHour: 4}}
	p := e.poller(t, src)
	p.SetClock(func() time.Time { return now })
	steps := []struct {
		name    string
		body    []byte // nil: unchanged
		advance time.Duration
		want    feeds.Result
		posts   []string
	}{
		{"first poll records", nil, 0, feeds.Result{Entries: 3, New: 3, Recorded: 3}, nil},
		{"5 new: the 2 oldest skipped, 3 posted", bigFeed(3, "a", item(1), item(2), item(3), item(4), item(5)), time.Minute,
			feeds.Result{Entries: 8, New: 5, Posted: 3, Skipped: 2}, []string{"New 3", "New 4", "New 5"}},
		{"2 new, 1 left in the hour: 1 posted, 1 waits", bigFeed(3, "a", item(1), item(2), item(3), item(4), item(5), item(6), item(7)), time.Minute,
			feeds.Result{Entries: 10, New: 2, Posted: 1, Deferred: 1}, []string{"New 3", "New 4", "New 5", "New 6"}},
		{"unchanged, still within the hour: it waits", nil, time.Minute,
			feeds.Result{Entries: 10, New: 1, Deferred: 1}, []string{"New 3", "New 4", "New 5", "New 6"}},
		{"an hour later: posted", nil, time.Hour,
			feeds.Result{Entries: 10, New: 1, Posted: 1}, []string{"New 3", "New 4", "New 5", "New 6", "New 7"}},
		{"then a 304 again", nil, time.Minute, feeds.Result{NotModified: true}, []string{"New 3", "New 4", "New 5", "New 6", "New 7"}},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.body != nil {
				s.set(st.body, fmt.Sprintf(`"step%d"`, i))
			}
			now = now.Add(st.advance)
			res, err := p.Poll(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			if res != st.want {
				t.Errorf("result %+v, want %+v", res, st.want)
			}
			if got := e.texts(t); strings.Join(got, "|") != strings.Join(st.posts, "|") {
				t.Errorf("posts %q, want %q", got, st.posts)
			}
		})
	}
}
