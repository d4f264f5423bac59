package feeds_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/feeds"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/render"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseQuirks(t *testing.T) {
	base, _ := url.Parse("https://www.city.example/news/feed.xml")
	type entry struct{ id, title, link, summary, date string }
	tests := []struct {
		name    string
		fixture string
		title   string
		want    []entry
	}{
		{"RSS 2.0", "rss2.xml", "Ville de Test – Actualités", []entry{
			// HTML escaped in the title, relative link, HTML summary.
			{"cms-node-1042", "Budget 2025 adopted", "https://www.city.example/news/budget-2025",
				"The council adopted the 2025 budget & its annexes. Details inside.", "2025-01-14T16:30:00Z"},
			// CDATA HTML in the title, no guid (the link is the id), no date.
			{"https://www.city.example/news/roadworks", "Roadworks on Main\u00a0Street", "https://www.city.example/news/roadworks",
				"Main Street is closed from Monday.", ""},
			// A link relative to the feed's URL, no description.
			{"https://www.city.example/news/pool-reopens.html", "Swimming pool reopens", "https://www.city.example/news/pool-reopens.html", "", "2025-01-06T09:00:00Z"},
		}},
		{"Atom", "atom.xml", "Ville de Test — Press releases", []entry{
			// xml:base, HTML title and summary.
			{"tag:city.example,2025:press-7", "New tram line", "https://www.city.example/press/2025/tram-line", "Line T3 opens in March.", "2025-02-03T10:00:00Z"},
			// XHTML content as the summary, published preferred to updated.
			{"tag:city.example,2025:press-6", "Mayor's new year address", "https://www.city.example/press/2025/new-year", "Dear citizens, Happy new year.", "2025-01-02T07:00:00Z"},
			// No date; a javascript: link is dropped.
			{"tag:city.example,2024:press-5", "Undated notice", "", "No date, no usable link.", ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := feeds.Parse(readFixture(t, tc.fixture), base)
			if err != nil {
				t.Fatal(err)
			}
			if f.Title != tc.title || len(f.Entries) != len(tc.want) {
				t.Fatalf("feed %q with %d entries: %+v", f.Title, len(f.Entries), f.Entries)
			}
			for i, w := range tc.want {
				e := f.Entries[i]
				date := ""
				if !e.Published.IsZero() {
					date = e.Published.Format(time.RFC3339)
				}
				if got := (entry{e.ID, e.Title, e.Link, e.Summary, date}); got != w {
					t.Errorf("entry %d:\n got %+v\nwant %+v", i, got, w)
				}
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	base, _ := url.Parse("https://www.city.example/news/")
	tests := []struct {
		name     string
		body     []byte
		want     error
		contains string
	}{
		{"HTML page naming its feed", readFixture(t, "page.html"), feeds.ErrHTMLPage, "https://www.city.example/news/feed.xml"},
		{"HTML page without a feed", readFixture(t, "page_nofeed.html"), feeds.ErrHTMLPage, "advertises no feed"},
		{"HTML after a BOM and a comment", []byte("\xef\xbb\xbf<!-- cms -->\n<!doctype html><title>x</title>"), feeds.ErrHTMLPage, "web page"},
		{"truncated XML", readFixture(t, "broken.xml"), feeds.ErrNotAFeed, "syntax error"},
		{"plain text", []byte("Service unavailable"), feeds.ErrNotAFeed, "not RSS, Atom or JSON Feed"},
		{"empty", nil, feeds.ErrNotAFeed, "not RSS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := feeds.Parse(tc.body, base)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error = %v, want %v containing %q", err, tc.want, tc.contains)
			}
		})
	}
}

func TestPostText(t *testing.T) {
	long := strings.Repeat("The council met to discuss the future of the harbour. ", 20)
	tests := []struct {
		name   string
		tmpl   string
		entry  feeds.Entry
		want   string // exact, or a prefix when fit is set
		fit    bool
		suffix string
	}{
		{"default template", config.DefaultFeedTemplate, feeds.Entry{Title: "Budget adopted", Link: "https://city.example/b"},
			"Budget adopted\n\nhttps://city.example/b\n\n#CityNews", false, ""},
		{"missing summary leaves no gap", "{title}\n\n{summary}\n\n{link}", feeds.Entry{Title: "T", Link: "https://city.example/t"},
			"T\n\nhttps://city.example/t", false, ""},
		{"long summary shortened", "{title}\n\n{summary}\n\n{link} {hashtags}", feeds.Entry{Title: "Harbour", Summary: long, Link: "https://city.example/" + strings.Repeat("x", 200)},
			"Harbour\n\nThe council met", true, "… \n"},
		{"long title shortened", "{title} {link}", feeds.Entry{Title: long, Link: "https://city.example/h"},
			"The council met", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := feeds.PostText(tc.tmpl, tc.entry, "#CityNews", 500)
			if !tc.fit {
				if got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
				return
			}
			if n := render.CountCharacters(got); n > 500 || n < 400 || !strings.HasPrefix(got, tc.want) || !strings.Contains(got, "…") {
				t.Errorf("got %d characters: %q", n, got)
			}
		})
	}
}

// site is a website on loopback serving a feed with validators, counting
// requests and conditional hits.
type site struct {
	mu          sync.Mutex
	body        []byte
	contentType string
	etag        string
	status      int
	requests    int
	notModified int
	srv         *httptest.Server
}

func newSite(t *testing.T, body []byte, contentType string) *site {
	s := &site{body: body, contentType: contentType, etag: `"v1"`}
	mux := http.NewServeMux()
	mux.HandleFunc("/feed", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests++
		if s.status != 0 {
			w.WriteHeader(s.status)
			return
		}
		if r.Header.Get("If-None-Match") == s.etag {
			s.notModified++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", s.etag)
		w.Header().Set("Last-Modified", "Tue, 14 Jan 2025 17:30:00 GMT")
		w.Header().Set("Content-Type", s.contentType)
		w.Write(s.body)
	})
	mux.HandleFunc("/loop/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/b", http.StatusFound) })
	mux.HandleFunc("/loop/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/a", http.StatusFound) })
	mux.HandleFunc("/chain/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		http.Redirect(w, r, fmt.Sprintf("/chain/%d", n+1), http.StatusMovedPermanently)
	})
	mux.HandleFunc("/news", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(readFixture(t, "page.html"))
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>`))
		w.Write([]byte(strings.Repeat("x", 2<<20)))
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *site) set(body []byte, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag = body, etag
}

func (s *site) counts() (requests, notModified int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.notModified
}

type env struct {
	store  storage.Store
	pub    *publish.Service
	client *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	b := bridgetest.New(t, bridgetest.Options{BaseURL: "http://127.0.0.1:1",
		Accounts: []config.Account{{Username: "news", Type: "Organization"}}})
	return &env{store: b.Store, pub: b.Pub, client: b.Client}
}

func (e *env) poller(t *testing.T, srcs ...feeds.Source) *feeds.Poller {
	return feeds.NewPoller(feeds.Settings{MaxBody: 1 << 20}, srcs, e.store, e.pub, e.client, zerolog.New(zerolog.NewTestWriter(t)))
}

// texts lists the account's posts, oldest first.
func (e *env) texts(t *testing.T) []string {
	t.Helper()
	page, err := e.store.ListStatuses(context.Background(), storage.StatusPage{Account: "news", Limit: 40})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(page) - 1; i >= 0; i-- {
		out = append(out, strings.SplitN(page[i].Text, "\n", 2)[0])
	}
	return out
}

const newEntry = `<item><title>Library opens on Sundays</title><link>/news/library-sundays</link>
<guid>cms-node-1050</guid><pubDate>Wed, 15 Jan 2025 10:00:00 +0100</pubDate></item>`

// TestPollRSS: the first poll posts nothing, unchanged feeds cost a 304,
// a new entry is posted exactly once, also after a restart.
func TestPollRSS(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rss := readFixture(t, "rss2.xml")
	s := newSite(t, rss, "application/rss+xml")
	src := feeds.Source{Account: "news", Feed: config.Feed{URL: s.srv.URL + "/feed", Hashtags: []string{"CityNews"}}}
	p := e.poller(t, src)

	steps := []struct {
		name   string
		change func()
		want   feeds.Result
		posts  []string
	}{
		{"first poll records the entries", nil, feeds.Result{Entries: 3, New: 3, Recorded: 3}, nil},
		{"unchanged: 304", nil, feeds.Result{NotModified: true}, nil},
		{"new entry posted", func() { s.set([]byte(strings.Replace(string(rss), "<item>", newEntry+"<item>", 1)), `"v2"`) },
			feeds.Result{Entries: 4, New: 1, Posted: 1}, []string{"Library opens on Sundays"}},
		{"same again: 304", nil, feeds.Result{NotModified: true}, []string{"Library opens on Sundays"}},
		{"validators lost (new ETag, same entries): nothing posted", func() { s.set(s.body, `"v3"`) },
			feeds.Result{Entries: 4}, []string{"Library opens on Sundays"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change != nil {
				st.change()
			}
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
	if _, nm := s.counts(); nm != 2 {
		t.Errorf("%d conditional hits, want 2", nm)
	}
	page, _ := e.store.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 1})
	if len(page) != 1 || page[0].Text != "Library opens on Sundays\n\n"+s.srv.URL+"/news/library-sundays\n\n#CityNews" {
		t.Errorf("post text %q", page[0].Text)
	}

	// A restart: a new poller on the same database posts nothing again.
	s.set(s.body, `"v4"`)
	res, err := e.poller(t, src).Poll(ctx, src)
	if err != nil || res.Posted != 0 || res.New != 0 {
		t.Errorf("after restart: %+v, %v", res, err)
	}
	seen, posted, _ := e.store.CountFeedEntries(ctx, "news", src.Feed.URL)
	if seen != 4 || posted != 1 {
		t.Errorf("recorded %d entries, %d posted; want 4, 1", seen, posted)
	}
}

// TestPollAtomBackfill posts the entries present at the first poll, oldest
// first (the undated one, last in the feed, counts as the oldest).
func TestPollAtomBackfill(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := newSite(t, readFixture(t, "atom.xml"), "application/atom+xml")
	src := feeds.Source{Account: "news", Feed: config.Feed{URL: s.srv.URL + "/feed", Backfill: true, Template: "{title}\n\n{summary}\n\n{link}"}}
	res, err := e.poller(t, src).Poll(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if res.Posted != 3 {
		t.Errorf("result %+v, want 3 posted", res)
	}
	want := []string{"Undated notice", "Mayor's new year address", "New tram line"}
	if got := e.texts(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("posts %q, want %q", got, want)
	}
	if res, _ := e.poller(t, src).Poll(ctx, src); res.Posted != 0 {
		t.Errorf("second poll posted %d", res.Posted)
	}
}

// TestPollPostedBeforeRecorded: a crash between posting an entry and
// recording it does not post it twice.
func TestPollPostedBeforeRecorded(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rss := readFixture(t, "rss2.xml")
	s := newSite(t, rss, "application/rss+xml")
	src := feeds.Source{Account: "news", Feed: config.Feed{URL: s.srv.URL + "/feed"}}
	if _, err := e.poller(t, src).Poll(ctx, src); err != nil {
		t.Fatal(err)
	}
	s.set([]byte(strings.Replace(string(rss), "<item>", newEntry+"<item>", 1)), `"v2"`)
	// Posted by a process that crashed before recording it.
	if _, err := e.pub.Create(ctx, "news", publish.Draft{Text: "Library opens on Sundays", IdempotencyKey: feeds.EntryKey(src.Feed.URL, "cms-node-1050")}); err != nil {
		t.Fatal(err)
	}
	res, err := e.poller(t, src).Poll(ctx, src)
	if err != nil || res.Posted != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	if n, _ := e.store.CountStatuses(ctx, "news", nil); n != 1 {
		t.Errorf("%d statuses, want 1", n)
	}
}

func TestPollRejects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := newSite(t, readFixture(t, "rss2.xml"), "application/rss+xml")
	tests := []struct {
		name     string
		path     string
		status   int
		want     error
		contains string
	}{
		{"HTML page", "/news", 0, feeds.ErrHTMLPage, "/news/feed.xml"},
		{"redirect loop", "/loop/a", 0, feeds.ErrRedirectLoop, "redirects back to"},
		{"endless redirects", "/chain/1", 0, feeds.ErrRedirectLoop, "more than 5 redirects"},
		{"too large", "/huge", 0, safehttp.ErrResponseTooLarge, "too large"},
		{"server error", "/feed", http.StatusInternalServerError, nil, "500 Internal Server Error"},
		{"gone", "/feed", http.StatusGone, nil, "410 Gone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.mu.Lock()
			s.status = tc.status
			s.mu.Unlock()
			src := feeds.Source{Account: "news", Feed: config.Feed{URL: s.srv.URL + tc.path, Backfill: true}}
			_, err := e.poller(t, src).Poll(ctx, src)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("error = %v, want %v containing %q", err, tc.want, tc.contains)
			}
			st, gerr := e.store.GetFeedState(ctx, "news", src.Feed.URL)
			if gerr != nil || st.LastError == "" || st.FirstRunDone || st.CheckedAt.IsZero() {
				t.Errorf("state after the error: %+v, %v", st, gerr)
			}
		})
	}
	if n, _ := e.store.CountStatuses(ctx, "news", nil); n != 0 {
		t.Errorf("%d statuses posted from bad feeds", n)
	}
}

// TestPollSSRF: without allow_private_networks, the SSRF-safe client
// refuses a feed on loopback.
func TestPollSSRF(t *testing.T) {
	e := newEnv(t)
	s := newSite(t, readFixture(t, "rss2.xml"), "application/rss+xml")
	src := feeds.Source{Account: "news", Feed: config.Feed{URL: s.srv.URL + "/feed"}}
	p := feeds.NewPoller(feeds.Settings{}, []feeds.Source{src}, e.store, e.pub, safehttp.NewClient(safehttp.Config{}), zerolog.Nop())
	_, err := p.Poll(context.Background(), src)
	if !errors.Is(err, safehttp.ErrForbiddenAddress) {
		t.Errorf("error = %v, want ErrForbiddenAddress", err)
	}
	if n, _ := s.counts(); n != 0 {
		t.Errorf("the site received %d requests", n)
	}
}

// feedTransport serves a feed from memory (so that polls run in a
// synctest bubble), counting requests.
type feedTransport struct {
	body     []byte
	requests atomic.Int32
}

func (f *feedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.requests.Add(1)
	return &http.Response{
		StatusCode: http.StatusOK, Request: r, Body: io.NopCloser(bytes.NewReader(f.body)),
		Header: http.Header{"Content-Type": {"application/rss+xml"}},
	}, nil
}

// runPolls runs the poller's pool on a job runner until stop (or the end
// of the test).
func runPolls(t *testing.T, store storage.Store, p *feeds.Poller) (stop func()) {
	t.Helper()
	return bridgetest.RunJobs(t, store, time.Second, p.Register)
}

// TestPollJob: a feed's job polls it at once, then at its interval, and
// stops with the runner; after a restart the feed waits for the rest of
// its interval; a feed no longer configured is not polled, its job kept
// for when it comes back.
func TestPollJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		ctx := context.Background()
		site := &feedTransport{body: readFixture(t, "rss2.xml")}
		src := feeds.Source{Account: "news", Feed: config.Feed{URL: "http://city.example/feed"}} // every 15 minutes
		poller := func(srcs ...feeds.Source) *feeds.Poller {
			return feeds.NewPoller(feeds.Settings{MaxBody: 1 << 20}, srcs, e.store, e.pub, &http.Client{Transport: site}, zerolog.New(zerolog.NewTestWriter(t)))
		}
		stop := runPolls(t, e.store, poller(src))
		synctest.Wait()
		st, err := e.store.GetFeedState(ctx, "news", src.Feed.URL)
		if err != nil || !st.FirstRunDone || site.requests.Load() != 1 {
			t.Fatalf("after the start: %d requests, state %+v, %v; want the feed polled once", site.requests.Load(), st, err)
		}
		time.Sleep(14 * time.Minute)
		synctest.Wait()
		if n := site.requests.Load(); n != 1 {
			t.Errorf("%d requests in a 15-minute interval, want 1", n)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := site.requests.Load(); n != 2 {
			t.Errorf("%d requests after 15 minutes, want 2", n)
		}
		stop()
		list, err := e.store.ListJobsByRef(ctx, feeds.JobPoll, "feed:news:"+src.Feed.URL, "", 10)
		if err != nil || len(list) != 1 || list[0].Status != storage.JobPending || !list[0].RunAt.Equal(time.Now().Add(15*time.Minute)) {
			t.Fatalf("feed's jobs after the stop: %+v, %v; want one, due in 15 minutes", list, err)
		}

		// A restart five minutes later: the next poll is still ten minutes
		// away.
		time.Sleep(5 * time.Minute)
		stop = runPolls(t, e.store, poller(src))
		time.Sleep(9 * time.Minute)
		synctest.Wait()
		if n := site.requests.Load(); n != 2 {
			t.Errorf("%d requests 9 minutes after the restart, want 2", n)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := site.requests.Load(); n != 3 {
			t.Errorf("%d requests 10 minutes after the restart, want 3", n)
		}
		stop()

		// The feed is removed from the configuration: not polled, its job
		// kept (looked at daily).
		runPolls(t, e.store, poller())
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := site.requests.Load(); n != 3 {
			t.Errorf("%d requests after the feed was removed, want 3", n)
		}
		list, err = e.store.ListJobsByRef(ctx, feeds.JobPoll, "feed:news:"+src.Feed.URL, "", 10)
		if err != nil || len(list) != 1 || list[0].Status != storage.JobPending || list[0].RunAt.Before(time.Now().Add(22*time.Hour)) {
			t.Errorf("removed feed's jobs: %+v, %v; want one, due in a day", list, err)
		}
	})
}

// TestPollJobInterval: a feed whose interval was shortened has its job
// brought forward at the start.
func TestPollJobInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		site := &feedTransport{body: readFixture(t, "rss2.xml")}
		feed := config.Feed{URL: "http://city.example/feed", Interval: config.Duration(2 * time.Hour)}
		poller := func(f config.Feed) *feeds.Poller {
			return feeds.NewPoller(feeds.Settings{MaxBody: 1 << 20}, []feeds.Source{{Account: "news", Feed: f}},
				e.store, e.pub, &http.Client{Transport: site}, zerolog.Nop())
		}
		stop := runPolls(t, e.store, poller(feed))
		synctest.Wait()
		stop()
		feed.Interval = config.Duration(30 * time.Minute)
		runPolls(t, e.store, poller(feed))
		time.Sleep(29 * time.Minute)
		synctest.Wait()
		if n := site.requests.Load(); n != 1 {
			t.Errorf("%d requests before the new interval, want 1", n)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := site.requests.Load(); n != 2 {
			t.Errorf("%d requests at the new interval (30 minutes, not the old 2 hours), want 2", n)
		}
	})
}
