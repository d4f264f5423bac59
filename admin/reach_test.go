package admin

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/storage"
)

// reachFixture fills the store with one account's figures: follower
// samples, a failed and a retried delivery, a raid, posts with their
// deliveries, Bluesky state and interactions. Each figure carries the
// account's name, so that a page showing another account's is caught.
func reachFixture(t *testing.T, s storage.Store, account string, posts int) []int64 {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range []int64{10, 14} {
		check(s.PutFollowerSnapshot(ctx, storage.FollowerSnapshot{Account: account, Day: storage.FunnelDay(now.AddDate(0, 0, i-1)),
			Fediverse: n, Bluesky: n * 3, BlueskyOK: i == 1, TakenAt: now}))
	}
	var ids []int64
	for i := range posts {
		id, err := s.InsertStatus(ctx, storage.Status{Account: account, Text: fmt.Sprintf("post %d of %s", i, account),
			ContentHTML: "<p>x</p>", Visibility: storage.VisibilityPublic, CreatedAt: now.Add(time.Duration(i-posts) * time.Minute)})
		check(err)
		ids = append(ids, id)
	}
	newest := ids[len(ids)-1]
	ref := "status:" + strconv.FormatInt(newest, 10)
	// Deliveries of the newest post: 2 reached, 1 failed (410), 1 retried.
	for i, host := range []string{"ok1.example", "ok2.example", account + "-gone.example", account + "-slow.example"} {
		_, err := s.EnqueueJob(ctx, storage.NewJob{Kind: federation.JobDeliver, Host: host, Ref: ref, RunAt: now.Add(time.Duration(i-10) * time.Second),
			Payload: []byte(`{"signer":"` + account + `","inbox":"https://` + host + `/inbox","activity_id":1}`)})
		check(err)
	}
	js, err := s.ClaimJobs(ctx, "w", []string{federation.JobDeliver}, 10, time.Minute, now)
	check(err)
	for _, j := range js {
		switch {
		case strings.HasPrefix(j.Host, "ok"):
			check(s.CompleteJob(ctx, j.ID, "w"))
		case strings.HasSuffix(j.Host, "-gone.example"):
			check(s.FailJob(ctx, j.ID, "w", "410 Gone at "+account))
		default:
			check(s.RetryJob(ctx, j.ID, "w", now.Add(time.Hour), "timeout at "+account))
		}
	}
	// Mirrored, and failed on Bluesky.
	v, err := s.BumpBlueskyPost(ctx, newest, account, now)
	check(err)
	_, err = s.SetBlueskyPostState(ctx, newest, v, storage.BlueskyFailed, "PDS refused "+account, now)
	check(err)
	// Interactions: a fediverse like and boost, a Bluesky like and reply.
	for i, n := range []storage.Notification{
		{Type: storage.NotificationFavourite, ActorID: "https://fedi.example/u/a", ActorDomain: "fedi.example"},
		{Type: storage.NotificationReblog, ActorID: "https://fedi.example/u/a", ActorDomain: "fedi.example"},
		{Type: storage.NotificationFavourite, ActorID: "did:plc:bob", ActorDomain: "bsky.social"},
	} {
		n.Account, n.StatusID, n.CreatedAt, n.GroupKey = account, newest, now, "g"
		n.ActivityID = fmt.Sprintf("https://act.example/%s/%d", account, i)
		_, _, err := s.InsertNotification(ctx, n)
		check(err)
	}
	_, _, err = s.InsertRemoteStatus(ctx, storage.RemoteStatus{ID: int64(5000 + len(account)), NoteID: "at://did:plc:bob/app.bsky.feed.post/" + account,
		ActorID: "did:plc:bob", Visibility: storage.VisibilityPublic, InReplyToID: newest, CreatedAt: now})
	check(err)
	// A raid: 24 mentions from 4 accounts of the account's raid server, a
	// few minutes ago.
	for i := range 24 {
		_, _, err := s.InsertNotification(ctx, storage.Notification{Account: account, Type: storage.NotificationMention,
			ActivityID: fmt.Sprintf("https://%s-raid.example/m/%d", account, i), ActorID: fmt.Sprintf("https://%s-raid.example/u/%d", account, i%4),
			ActorDomain: account + "-raid.example", GroupKey: fmt.Sprintf("m%d", i), CreatedAt: now.Add(-3 * time.Minute)})
		check(err)
	}
	return ids
}

func TestReachPages(t *testing.T) {
	h := newHarness(t)
	reachFixture(t, h.store, "news", 3)
	eventIDs := reachFixture(t, h.store, "events", 2)
	b := h.browser()
	h.join(b, h.invite("writer@x.example", "news", "contributor"))

	resp, page := h.do(b, "GET", "/admin/reach", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reach: %d\n%s", resp.StatusCode, page)
	}
	today := storage.FunnelDay(time.Now())
	for _, want := range []struct{ name, re string }{
		{"chart with its title", `<svg viewBox="0 0 640 240" role="img" aria-labelledby="chart-news-title chart-news-desc"`},
		{"chart title", `<title id="chart-news-title">Followers of @news over time</title>`},
		{"chart description", `Fediverse followers at the last sample: 14\. Bluesky followers at the last sample: 42\.`},
		{"fediverse line", `<polyline points="[0-9., ]+" fill="none" stroke="#2a3cb0"`},
		{"bluesky line", `<polyline points="[0-9.,]+" fill="none" stroke="#a3460a"`},
		{"today's followers row", `<tr><th scope="row">` + today + `</th><td>14</td><td>42</td></tr>`},
		{"a day without Bluesky", `<td>10</td><td><span aria-label="not known">—</span></td>`},
		{"failed server", `<tr><th scope="row">news-gone\.example</th><td>1</td><td>0</td><td class="reason">410 Gone at news</td><td>given up `},
		{"retried server", `<tr><th scope="row">news-slow\.example</th><td>0</td><td>1</td><td class="reason">timeout at news</td><td>next try `},
		{"raid", `\(going on\): mentions: 24, accounts: 4, servers: 1`},
		{"raid server", `<li>news-raid\.example: mentions: 24, accounts: 4</li>`},
		{"posts link", `<a href="/admin/reach/posts/news">`},
	} {
		if !regexp.MustCompile(want.re).MatchString(page) {
			t.Errorf("%s: %s not on the page:\n%s", want.name, want.re, page)
		}
	}
	for _, other := range []string{"events", "@events", "events-gone", "events-raid"} {
		if strings.Contains(page, other) {
			t.Errorf("another account's figures (%q) on the reach page", other)
		}
	}

	resp, page = h.do(b, "GET", "/admin/reach/posts/news", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posts: %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []struct{ name, re string }{
		{"newest post", `post 2 of news`},
		{"delivery", `<td data-label="Servers reached">2</td>\s*<td data-label="Pending">1</td>\s*<td data-label="Failed">1</td>\s*<td data-label="Bluesky">failed<br>`},
		{"bluesky error", `<small class="reason">PDS refused news</small>`},
		{"replies", `>0 / 1</td>\s*<td [^>]+>1 / 0</td>\s*<td [^>]+>1 / 1</td>`},
		{"a post not mirrored", `>0</td>\s*<td [^>]+>0</td>\s*<td [^>]+>0</td>\s*<td [^>]+>not mirrored</td>`},
	} {
		if !regexp.MustCompile(want.re).MatchString(page) {
			t.Errorf("%s: %s not on the posts page:\n%s", want.name, want.re, page)
		}
	}
	if strings.Contains(page, "events") || strings.Contains(page, "Older posts") {
		t.Errorf("posts page shows another account's posts or a next page:\n%s", page)
	}

	// Another account's posts, by name or by paging past one of its ids:
	// nothing of it.
	for _, path := range []string{"/admin/reach/posts/events", "/admin/reach/posts/EVENTS", "/admin/reach/posts/nobody"} {
		if resp, page := h.do(b, "GET", path, nil); resp.StatusCode != http.StatusNotFound || strings.Contains(page, "post 0 of events") {
			t.Errorf("GET %s: %d, want 404 without the posts", path, resp.StatusCode)
		}
	}
	_, page = h.do(b, "GET", fmt.Sprintf("/admin/reach/posts/news?max_id=%d", eventIDs[1]+1), nil)
	if strings.Contains(page, "of events") {
		t.Errorf("paging shows another account's posts:\n%s", page)
	}
}

func TestReachPaging(t *testing.T) {
	h := newHarness(t)
	ids := reachFixture(t, h.store, "news", reachPage+3)
	b := h.browser()
	h.join(b, h.invite("editor@x.example", "news", "editor"))
	_, page := h.do(b, "GET", "/admin/reach/posts/news", nil)
	older := fmt.Sprintf(`href="/admin/reach/posts/news?max_id=%d" rel="next"`, ids[3])
	if n := strings.Count(page, `<tr id="post-`); n != reachPage || !strings.Contains(page, older) {
		t.Fatalf("first page: %d posts, want %d and a link to those before %d\n%s", n, reachPage, ids[3], page)
	}
	_, page = h.do(b, "GET", fmt.Sprintf("/admin/reach/posts/news?max_id=%d", ids[3]), nil)
	if n := strings.Count(page, `<tr id="post-`); n != 3 || !strings.Contains(page, "post 0 of news") || strings.Contains(page, "Older posts") {
		t.Errorf("second page: %d posts, want the 3 oldest and no further page\n%s", n, page)
	}
}

func TestReachEmpty(t *testing.T) {
	cases := []struct {
		name, path string
		want       []string
	}{
		{"reach", "/admin/reach", []string{"No sample yet", "No delivery failed.", "No raid in the last 24 hours.", "Nothing counted yet."}},
		{"posts", "/admin/reach/posts/news", []string{"No post yet."}},
	}
	h := newHarness(t)
	b := h.browser()
	h.join(b, h.invite("new@x.example", "news", "admin"))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, page := h.do(b, "GET", c.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d\n%s", resp.StatusCode, page)
			}
			for _, w := range c.want {
				if !strings.Contains(page, w) {
					t.Errorf("%q not on the page:\n%s", w, page)
				}
			}
			if strings.Contains(page, "<svg") {
				t.Error("a chart without any sample")
			}
		})
	}
}

func TestNiceCeil(t *testing.T) {
	cases := []struct{ in, want int64 }{{0, 4}, {1, 4}, {4, 4}, {5, 8}, {7, 8}, {13, 16}, {42, 48}, {1234, 1600}, {99999, 100000}}
	for _, c := range cases {
		t.Run(strconv.FormatInt(c.in, 10), func(t *testing.T) {
			if got := niceCeil(c.in); got != c.want {
				t.Errorf("niceCeil(%d) = %d, want %d", c.in, got, c.want)
			}
		})
	}
}

func TestFollowerChart(t *testing.T) {
	snap := func(day string, fedi int64, bsky int64, ok bool) storage.FollowerSnapshot {
		return storage.FollowerSnapshot{Account: "news", Day: day, Fediverse: fedi, Bluesky: bsky, BlueskyOK: ok}
	}
	cases := []struct {
		name      string
		snaps     []storage.FollowerSnapshot
		from, to  string
		fediverse string // polyline points
		bluesky   string
		top       string // the highest tick's label
	}{
		{"two networks over ten days", []storage.FollowerSnapshot{snap("2026-12-01", 0, 8, true), snap("2026-12-11", 4, 2, true)},
			"2026-12-01", "2026-12-11", "56,200 624,108", "56,16 624,154", "8"},
		{"fediverse only, a gap", []storage.FollowerSnapshot{snap("2026-12-01", 40, 0, false), snap("2026-12-03", 30, 0, false)},
			"2026-12-01", "2026-12-05", "56,16 340,62", "", "40"},
		{"one day", []storage.FollowerSnapshot{snap("2026-12-06", 3, 0, false)}, "2026-12-06", "2026-12-06", "56,62", "", "4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := newFollowerChart(c.snaps, c.from, c.to)
			if ch.Fediverse.Path != c.fediverse || ch.Bluesky.Path != c.bluesky || ch.HasBluesky != (c.bluesky != "") {
				t.Errorf("lines %q and %q, want %q and %q", ch.Fediverse.Path, ch.Bluesky.Path, c.fediverse, c.bluesky)
			}
			if top := ch.YTicks[len(ch.YTicks)-1]; top.Label != c.top || top.Pos != chartTop {
				t.Errorf("top tick %+v, want %s at %d", top, c.top, chartTop)
			}
		})
	}
	if newFollowerChart(nil, "2026-12-01", "2026-12-02") != nil {
		t.Error("a chart without samples")
	}
}
