package atproto

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
	"github.com/rs/zerolog"
)

func TestRenderPost(t *testing.T) {
	link := func(s, e int, uri string) facet {
		f := facet{Features: []facetFeature{{Type: "app.bsky.richtext.facet#link", URI: uri}}}
		f.Index.ByteStart, f.Index.ByteEnd = s, e
		return f
	}
	tag := func(s, e int, t string) facet {
		f := facet{Features: []facetFeature{{Type: "app.bsky.richtext.facet#tag", Tag: t}}}
		f.Index.ByteStart, f.Index.ByteEnd = s, e
		return f
	}
	tests := []struct {
		name   string
		text   string
		facets []facet
		want   string
	}{
		{"plain, escaped", "a < b & c", nil, "<p>a &lt; b &amp; c</p>"},
		{"paragraphs and lines", "one\ntwo\n\nthree", nil, "<p>one<br>two</p><p>three</p>"},
		{"link", "see x.example now", []facet{link(4, 13, "https://x.example/")},
			`<p>see <a href="https://x.example/" rel="nofollow noreferrer noopener" target="_blank">x.example</a> now</p>`},
		{"tag after multibyte text", "été #fête", []facet{tag(6, 12, "fête")},
			`<p>été <a href="https://bsky.app/hashtag/f%C3%AAte" class="mention hashtag" rel="nofollow noreferrer noopener" target="_blank">#fête</a></p>`},
		{"out of range: ignored, text kept", "hello", []facet{link(0, 99, "https://x.example/")}, "<p>hello</p>"},
		{"negative: ignored", "hello", []facet{link(-1, 3, "https://x.example/")}, "<p>hello</p>"},
		{"cuts a character: ignored", "été", []facet{link(1, 3, "https://x.example/")}, "<p>été</p>"},
		{"javascript link: ignored", "click", []facet{link(0, 5, "javascript:alert(1)")}, "<p>click</p>"},
		{"overlapping: the first kept", "abcdef", []facet{link(0, 4, "https://a.example/"), link(2, 6, "https://b.example/")},
			`<p><a href="https://a.example/" rel="nofollow noreferrer noopener" target="_blank">abcd</a>ef</p>`},
		{"unknown feature: ignored", "abc", []facet{{Features: []facetFeature{{Type: "app.example#x"}}}}, "<p>abc</p>"},
		{"script in text stays text", "<script>x</script>", nil, "<p>&lt;script&gt;x&lt;/script&gt;</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderPost(tt.text, tt.facets); got != tt.want {
				t.Errorf("renderPost = %s\nwant          %s", got, tt.want)
			}
		})
	}
}

func TestRenderPostBounded(t *testing.T) {
	got := renderPost(strings.Repeat("é", 20000), nil)
	if len(got) > maxRecordText+64 || !strings.HasSuffix(got, "…</p>") {
		t.Errorf("oversized text rendered to %d bytes (ends %q)", len(got), got[len(got)-12:])
	}
	many := make([]facet, 10000)
	for i := range many {
		many[i].Index.ByteStart, many[i].Index.ByteEnd = 0, 1
		many[i].Features = []facetFeature{{Type: "app.bsky.richtext.facet#tag", Tag: "x"}}
	}
	if got := renderPost("abc", many); !strings.Contains(got, "bc</p>") {
		t.Errorf("many facets: %s", got)
	}
}

func TestPollDelay(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	const interval = 30 * time.Second
	tests := []struct {
		name   string
		active time.Time
		want   time.Duration
	}{
		{"never active: slow", time.Time{}, 2 * time.Minute},
		{"just active: fast", now.Add(-time.Minute), 10 * time.Second},
		{"active 10 min ago: the interval", now.Add(-10 * time.Minute), interval},
		{"idle for an hour: slow", now.Add(-time.Hour), 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pollDelay(interval, tt.active, now); got != tt.want {
				t.Errorf("pollDelay = %v, want %v", got, tt.want)
			}
		})
	}
	for n, want := range map[int]time.Duration{1: interval, 3: 4 * interval, 30: inboxMaxBackoff} {
		if d := failureDelay(interval, n); d < want*8/10 || d > want*12/10 {
			t.Errorf("failureDelay(%d) = %v, want %v ±20%%", n, d, want)
		}
	}
}

func TestQuotedURI(t *testing.T) {
	tests := []struct{ name, embed, want string }{
		{"record", `{"$type":"app.bsky.embed.record","record":{"uri":"at://a/app.bsky.feed.post/1","cid":"c"}}`, "at://a/app.bsky.feed.post/1"},
		{"record with media", `{"$type":"app.bsky.embed.recordWithMedia","record":{"record":{"uri":"at://a/app.bsky.feed.post/2","cid":"c"}},"media":{}}`, "at://a/app.bsky.feed.post/2"},
		{"images", `{"$type":"app.bsky.embed.images","images":[]}`, ""},
		{"malformed", `{"record":5}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (feedPost{Embed: []byte(tt.embed)}).quotedURI(); got != tt.want {
				t.Errorf("quotedURI = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRepliesExpectedAfterAPost: an idle account's notifications are read
// every four intervals; once one of its posts is mirrored, its poll job is
// due at once and the polls after it come at the active pace.
func TestRepliesExpectedAfterAPost(t *testing.T) {
	store := storagetest.OpenSQLite(t)
	m, err := New(Settings{Accounts: []Account{{Username: "news", Bluesky: config.Bluesky{PDSURL: "http://127.0.0.1:9", Identifier: "city.test",
		AppPassword: "app-password-1234", PollInterval: config.Duration(30 * time.Second)}}}, HTTPClient: http.DefaultClient}, store, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	m.SetClock(func() time.Time { return now })
	ctx := context.Background()
	if err := store.PutBlueskyInbox(ctx, storage.BlueskyInbox{Account: "news", PolledAt: now.Add(-time.Minute), UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := m.scheduleInbox(ctx); err != nil {
		t.Fatal(err)
	}
	job := func() storage.Job {
		t.Helper()
		jobs, err := store.ListJobsByRef(ctx, JobInbox, inboxKey("news"), storage.JobPending, 5)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("inbox jobs %+v, %v", jobs, err)
		}
		return jobs[0]
	}
	if got, want := job().RunAt, now.Add(-time.Minute).Add(2*time.Minute); !got.Equal(want) {
		t.Fatalf("idle: next poll at %v, want %v (four intervals after the last)", got, want)
	}
	a := m.accounts["news"]
	m.expectReplies(ctx, a)
	if got := job().RunAt; !got.Equal(now) {
		t.Errorf("after a post: next poll at %v, want now", got)
	}
	in, _ := store.GetBlueskyInbox(ctx, "news")
	if d := pollDelay(30*time.Second, a.activeAt(in), now.Add(time.Minute)); d != 10*time.Second {
		t.Errorf("a minute after the post the pace is %v, want 10s", d)
	}
}
