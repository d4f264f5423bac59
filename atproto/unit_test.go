package atproto

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

func TestSeal(t *testing.T) {
	s, err := newSealer("app-password", "news")
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.seal("eyJhbGciOi.token")
	if bytes.Contains(sealed, []byte("eyJ")) {
		t.Fatal("sealed token contains the token")
	}
	if got, err := s.open(sealed); err != nil || got != "eyJhbGciOi.token" {
		t.Fatalf("open = %q, %v", got, err)
	}
	if again := s.seal("eyJhbGciOi.token"); bytes.Equal(again, sealed) {
		t.Error("two seals of one token are equal (nonce reused)")
	}
	for _, other := range []struct{ secret, account string }{{"new-app-password", "news"}, {"app-password", "events"}} {
		o, _ := newSealer(other.secret, other.account)
		if _, err := o.open(sealed); !errors.Is(err, errUnsealable) {
			t.Errorf("opened with secret %q account %q: %v", other.secret, other.account, err)
		}
	}
	if got, err := s.open(nil); err != nil || got != "" {
		t.Errorf("open(nil) = %q, %v", got, err)
	}
}

func TestRateLimitHeaders(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	tests := []struct {
		name    string
		status  int
		headers map[string]string
		want    time.Time // zero: not blocked
	}{
		{"plenty left", 200, map[string]string{"RateLimit-Remaining": "4000", "RateLimit-Reset": "1750000300"}, time.Time{}},
		{"none left: until the reset (Unix seconds)", 200, map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": "1750000300"}, time.Unix(1_750_000_300, 0)},
		{"none left: reset in seconds (IETF draft)", 200, map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": "30"}, now.Add(30 * time.Second)},
		{"429 with Retry-After seconds", 429, map[string]string{"Retry-After": "120"}, now.Add(2 * time.Minute)},
		{"429 with Retry-After date", 429, map[string]string{"Retry-After": now.Add(time.Hour).UTC().Format(http.TimeFormat)}, now.Add(time.Hour)},
		{"429 with RateLimit-Reset only", 429, map[string]string{"RateLimit-Reset": "1750000600"}, time.Unix(1_750_000_600, 0)},
		{"429 without a hint", 429, nil, now.Add(fallbackRetry)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &limiter{now: func() time.Time { return now }}
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			for k, v := range tt.headers {
				resp.Header.Set(k, v)
			}
			l.observe(resp)
			if got := l.blocked(); !got.Equal(tt.want) {
				t.Errorf("blocked until %v, want %v", got, tt.want)
			}
		})
	}
	// A blocked account sends nothing.
	l := &limiter{now: time.Now}
	l.block(time.Now().Add(time.Minute))
	sent := false
	tr := &rateTransport{lim: l, base: roundTripFunc(func(*http.Request) (*http.Response, error) { sent = true; return nil, errors.New("sent") })}
	req, _ := http.NewRequest("GET", "https://pds.example/xrpc/x", nil)
	_, err := tr.RoundTrip(req)
	var rl *RateLimitedError
	if sent || !errors.As(err, &rl) {
		t.Errorf("sent = %v, err = %v", sent, err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want errorKind
	}{
		{"network", fmt.Errorf("post: %w", errors.New("dial tcp: connection refused")), kindTransient},
		{"5xx", &atclient.APIError{StatusCode: 502, Name: "UpstreamFailure"}, kindTransient},
		{"408", &atclient.APIError{StatusCode: 408}, kindTransient},
		{"429", &atclient.APIError{StatusCode: 429, Name: "RateLimitExceeded"}, kindRateLimited},
		{"rate limited locally", &RateLimitedError{Until: time.Now()}, kindRateLimited},
		{"invalid record", &atclient.APIError{StatusCode: 400, Name: "InvalidRequest", Message: "Invalid app.bsky.feed.post record"}, kindPermanent},
		{"blob too large", &atclient.APIError{StatusCode: 413, Name: "PayloadTooLarge"}, kindPermanent},
		{"expired token", &atclient.APIError{StatusCode: 400, Name: "ExpiredToken"}, kindSessionExpired},
		{"invalid token", &atclient.APIError{StatusCode: 401, Name: "InvalidToken"}, kindSessionExpired},
		{"login refused", &LoginError{Err: errors.New("AuthenticationRequired")}, kindLogin},
		{"undecodable image", fmt.Errorf("image 3: %w", media.ErrCorrupt), kindPermanent},
		{"unsupported image", fmt.Errorf("image 3: %w", media.ErrUnsupported), kindPermanent},
		{"forbidden address", fmt.Errorf("x: %w", safehttp.ErrForbiddenAddress), kindPermanent},
		{"permanent", permanent(errors.New("no")), kindPermanent},
		{"cancelled", context.Canceled, kindCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err); got != tt.want {
				t.Errorf("classify(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestBlobLimit(t *testing.T) {
	msg := "Invalid app.bsky.feed.post record: blob too big (maximum 1000000, got 1657798) at $.writes[0].record.embed.images[0].image"
	if got := blobLimit(&atclient.APIError{StatusCode: 400, Name: "InvalidRequest", Message: msg}); got != 1_000_000 {
		t.Errorf("blobLimit = %d", got)
	}
	if got := blobLimit(&atclient.APIError{StatusCode: 400, Name: "InvalidRequest", Message: "text too long"}); got != 0 {
		t.Errorf("blobLimit of another error = %d", got)
	}
}

func TestRKeyFor(t *testing.T) {
	clock := syntax.NewTIDClock(7)
	tids := []string{clock.Next().String(), clock.Next().String()}
	seen := map[string]bool{}
	for i := range 5 {
		k, err := rkeyFor(tids, i)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := syntax.ParseTID(k); err != nil || seen[k] {
			t.Errorf("key %d = %q: invalid or repeated (%v)", i, k, err)
		}
		seen[k] = true
		if again, _ := rkeyFor(tids, i); again != k {
			t.Errorf("key %d not stable: %q then %q", i, k, again)
		}
	}
	if _, err := rkeyFor(nil, 0); err == nil {
		t.Error("no error without keys")
	}
}

func TestThreadgateRules(t *testing.T) {
	tests := []struct {
		replies string
		json    string
	}{
		{config.RepliesEveryone, `{"$type":"app.bsky.feed.threadgate","createdAt":"2025-03-01T10:00:00Z","post":"at://x"}`},
		{config.RepliesFollowers, `{"$type":"app.bsky.feed.threadgate","allow":[{"$type":"app.bsky.feed.threadgate#mentionRule"},{"$type":"app.bsky.feed.threadgate#followerRule"}],"createdAt":"2025-03-01T10:00:00Z","post":"at://x"}`},
		{config.RepliesFollowing, `{"$type":"app.bsky.feed.threadgate","allow":[{"$type":"app.bsky.feed.threadgate#mentionRule"},{"$type":"app.bsky.feed.threadgate#followingRule"}],"createdAt":"2025-03-01T10:00:00Z","post":"at://x"}`},
		{config.RepliesMentioned, `{"$type":"app.bsky.feed.threadgate","allow":[{"$type":"app.bsky.feed.threadgate#mentionRule"}],"createdAt":"2025-03-01T10:00:00Z","post":"at://x"}`},
		{config.RepliesNobody, `{"$type":"app.bsky.feed.threadgate","allow":[],"createdAt":"2025-03-01T10:00:00Z","post":"at://x"}`},
		{policy.RepliesFollowersOrFollowing, `{"$type":"app.bsky.feed.threadgate","allow":[{"$type":"app.bsky.feed.threadgate#mentionRule"},{"$type":"app.bsky.feed.threadgate#followerRule"},{"$type":"app.bsky.feed.threadgate#followingRule"}],"createdAt":"2025-03-01T10:00:00Z","post":"at://x"}`},
		// Bluesky's rules add up: following alone would let in those who
		// do not follow us. Mentioned accounts only.
		{policy.RepliesMutuals, `{"$type":"app.bsky.feed.threadgate","allow":[{"$type":"app.bsky.feed.threadgate#mentionRule"}],"createdAt":"2025-03-01T10:00:00Z","post":"at://x"}`},
		{"friends", `{"$type":"app.bsky.feed.threadgate","allow":[],"createdAt":"2025-03-01T10:00:00Z","post":"at://x"}`},
	}
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.replies, func(t *testing.T) {
			b, err := jsonMarshal(threadgate(policy.Replies(tt.replies), "at://x", at))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.json {
				t.Errorf("threadgate =\n%s\nwant\n%s", b, tt.json)
			}
		})
	}
}

// TestThreadgateNeverWidens: for every replies setting, whoever the
// threadgate lets reply (Bluesky allows anyone when allow is absent, and
// anyone any rule lets in otherwise: the rules are a union) is allowed
// by the setting's rule.
func TestThreadgateNeverWidens(t *testing.T) {
	for _, v := range append(slices.Clone(policy.RepliesValues), "") {
		rule := policy.Replies(v)
		tg := threadgate(policy.Replies(v), "at://x", time.Now())
		for i := range 8 {
			f := policy.Facts{Follower: i&1 != 0, Followed: i&2 != 0, Mentioned: i&4 != 0}
			allowed := tg.Allow == nil
			for _, r := range tg.Allow {
				switch {
				case r.FeedThreadgate_MentionRule != nil:
					allowed = allowed || f.Mentioned
				case r.FeedThreadgate_FollowerRule != nil:
					allowed = allowed || f.Follower
				case r.FeedThreadgate_FollowingRule != nil:
					allowed = allowed || f.Followed
				default:
					t.Fatalf("%q: unexpected rule %+v", v, r)
				}
			}
			if allowed && !rule.Allows(f) {
				t.Errorf("replies %q: the threadgate lets in %+v, whom the policy refuses", v, f)
			}
		}
	}
}

func TestPlan(t *testing.T) {
	m := &Mirror{set: Settings{NoteURL: func(a string, id int64) string { return fmt.Sprintf("https://city.example/@%s/%d", a, id) }}, handles: map[string]string{}}
	thread := &account{Account: Account{Bluesky: config.Bluesky{LongPosts: config.LongPostsThread}}}
	trunc := &account{Account: Account{Bluesky: config.Bluesky{LongPosts: config.LongPostsTruncate}}}
	long := strings.Repeat("Une phrase du fil. ", 40)
	tests := []struct {
		name    string
		a       *account
		st      storage.Status
		records int
		check   func(t *testing.T, p postPlan)
	}{
		{"a link card for the first link without images", thread, storage.Status{Text: "Voir https://a.example/x et https://b.example/y"}, 1, func(t *testing.T, p postPlan) {
			if p.records[0].card != "https://a.example/x" {
				t.Errorf("card = %q", p.records[0].card)
			}
		}},
		{"no card with images", thread, storage.Status{Text: "Voir https://a.example/x", MediaIDs: []int64{1}}, 1, func(t *testing.T, p postPlan) {
			if p.records[0].card != "" || len(p.records[0].images) != 1 {
				t.Errorf("record = %+v", p.records[0])
			}
		}},
		{"more than 4 images go to the next record", thread, storage.Status{Text: "Album", MediaIDs: []int64{1, 2, 3, 4, 5, 6}}, 2, func(t *testing.T, p postPlan) {
			if len(p.records[0].images) != 4 || len(p.records[1].images) != 2 || p.records[1].text.Text != "" {
				t.Errorf("records = %+v", p.records)
			}
		}},
		{"long text: a thread, images on the first records", thread, storage.Status{Text: long, MediaIDs: []int64{1, 2, 3, 4, 5}}, 3, func(t *testing.T, p postPlan) {
			if len(p.records[0].images) != 4 || len(p.records[1].images) != 1 || len(p.records[2].images) != 0 {
				t.Errorf("images = %v %v %v", p.records[0].images, p.records[1].images, p.records[2].images)
			}
		}},
		{"truncate: the post's page as link card", trunc, storage.Status{ID: 5, Account: "news", Text: long}, 1, func(t *testing.T, p postPlan) {
			r := p.records[0]
			if !p.truncated || !r.noteCard || r.card != "https://city.example/@news/5" || !strings.HasSuffix(r.text.Text, "…") {
				t.Errorf("plan = %+v", p)
			}
		}},
		{"truncate with images: the post's link in the text", trunc, storage.Status{ID: 5, Account: "news", Text: long, MediaIDs: []int64{1, 2, 3, 4, 5}}, 1, func(t *testing.T, p postPlan) {
			r := p.records[0]
			if r.card != "" || len(r.images) != 4 || !strings.HasSuffix(r.text.Text, "…\ncity.example/@news/5") || Graphemes(r.text.Text) > MaxGraphemes {
				t.Errorf("record = %+v", r)
			}
			checkFacets(t, r.text, []span{{FacetLink, "city.example/@news/5", "https://city.example/@news/5"}})
		}},
		{"truncate: short posts unchanged", trunc, storage.Status{Text: "Court https://a.example/x"}, 1, func(t *testing.T, p postPlan) {
			if p.truncated || p.records[0].card != "https://a.example/x" || p.records[0].noteCard {
				t.Errorf("plan = %+v", p)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := m.plan(tt.a, tt.st, nil, m.handles)
			if len(p.records) != tt.records {
				t.Fatalf("%d records, want %d", len(p.records), tt.records)
			}
			tt.check(t, p)
		})
	}
}

// TestPreview: the compose page's preview is the mirror's plan: a long
// post is the same thread of records, with its images and counts; an
// account that is not mirrored has none.
func TestPreview(t *testing.T) {
	acc := &account{Account: Account{Username: "news", Bluesky: config.Bluesky{LongPosts: config.LongPostsThread, ImageMaxBytes: 1_000_000}}}
	m := &Mirror{accounts: map[string]*account{"news": acc}, handles: map[string]string{}}
	st := storage.Status{Text: strings.Repeat("Une phrase du fil. ", 40), MediaIDs: []int64{7, 8, 9, 10, 11}}
	p, ok := m.Preview("News", st, nil)
	plan := m.plan(acc, st, nil, m.handles)
	if !ok || len(p.Records) != len(plan.records) || len(p.Records) != 3 || p.ImageMaxBytes != 1_000_000 {
		t.Fatalf("preview %+v, %v; want the plan's 3 records", p, ok)
	}
	for i, r := range p.Records {
		if r.Text != plan.records[i].text.Text || r.Graphemes != Graphemes(r.Text) || r.Graphemes > MaxGraphemes || !slices.Equal(r.Images, plan.records[i].images) {
			t.Errorf("record %d = %+v, plan %+v", i, r, plan.records[i])
		}
	}
	if _, ok := m.Preview("events", st, nil); ok {
		t.Error("a preview for an account that is not mirrored")
	}
}

func TestImageFitting(t *testing.T) {
	store := storagetest.OpenSQLite(t)
	m, err := New(Settings{HTTPClient: http.DefaultClient}, store, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	noisy := noisyJPEG(t, 3000, 2000, 95, 9)
	var pngBuf bytes.Buffer
	_ = png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 4000, 100)))
	tests := []struct {
		name      string
		data      []byte
		typ       string
		maxBytes  int64
		wantW     int
		wantError error
	}{
		{"noisy 3000 px JPEG within 2,000,000 bytes and 2000 px", noisy, "image/jpeg", 2_000_000, 0, nil},
		{"within an older PDS's 1,000,000 bytes", noisy, "image/jpeg", 1_000_000, 0, nil},
		{"a long PNG scaled to 2000 px", pngBuf.Bytes(), "image/png", 2_000_000, 2000, nil},
		{"not an image", []byte("\xff\xd8\xff garbage"), "image/jpeg", 2_000_000, 0, media.ErrCorrupt},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprint(i))
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			img, err := m.fitted(context.Background(), storage.Media{ID: int64(i + 1), MediaType: tt.typ, Path: path}, tt.maxBytes)
			if tt.wantError != nil {
				if !errors.Is(err, tt.wantError) || classify(err) != kindPermanent {
					t.Fatalf("error = %v, want %v (permanent)", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, _, err := image.DecodeConfig(bytes.NewReader(img.Data))
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(img.Data)) > tt.maxBytes || max(cfg.Width, cfg.Height) > MaxImageSide || cfg.Width != img.Width || cfg.Height != img.Height {
				t.Errorf("%d bytes, %dx%d (reported %dx%d)", len(img.Data), cfg.Width, cfg.Height, img.Width, img.Height)
			}
			if tt.wantW != 0 && cfg.Width != tt.wantW {
				t.Errorf("width %d, want %d", cfg.Width, tt.wantW)
			}
		})
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// The mirror is what publish expects.
var (
	_ publish.Mirror        = (*Mirror)(nil)
	_ publish.MediaPreparer = (*Mirror)(nil)
)
