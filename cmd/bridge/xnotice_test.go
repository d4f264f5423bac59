package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/notice"
	"github.com/passerelle/passerelle/storage"
	"github.com/rs/zerolog"
)

const xNoticeConfig = `server:
  public_url: "https://social.city.example"
federation:
  allow_private_networks: true
accounts:
  - username: news
    display_name: "Ville de Test"
    notice:
      x_handle: "@VilleDeTest"
      left_x_on: "2025-01-20"
      hashtag: "#eXit"
      bluesky_handle: "villedetest.bsky.social"
      default_language: fr
      x_api:
        base_url: "${X_API_URL:-https://api.x.com}"
        consumer_key: "${X_CONSUMER_KEY:-}"
        consumer_secret: "${X_CONSUMER_SECRET:-}"
        access_token: "${X_ACCESS_TOKEN:-}"
        access_token_secret: "${X_ACCESS_TOKEN_SECRET:-}"
  - username: mayor
`

func writeXConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(xNoticeConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestXNoticePrints(t *testing.T) {
	path := writeXConfig(t)
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{name: "default language", args: []string{"--account", "news"}, want: []string{
			"Nous avons quitté X.", "@news@social.city.example", "@villedetest.bsky.social", "https://social.city.example/x/news", "#eXit",
		}},
		{name: "English", args: []string{"--account", "NEWS", "--lang", "en"}, want: []string{"We have left X.", "https://social.city.example/x/news"}},
		{name: "language not offered", args: []string{"--account", "news", "--lang", "ja"}, wantErr: "--lang ja: the notice has fr, en"},
		{name: "account without notice", args: []string{"--account", "mayor"}, wantErr: "has no X exit notice: set accounts[1].notice.x_handle"},
		{name: "unknown account", args: []string{"--account", "nobody"}, wantErr: `no account "nobody"`},
		{name: "post without keys explains", args: []string{"--account", "news", "--post"}, wantErr: "accounts[0].notice.x_api:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), append([]string{"--config", path, "x", "notice"}, tt.args...), &stdout, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v\n%s", err, stderr.String())
			}
			text := strings.TrimSpace(stdout.String())
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("post lacks %q:\n%s", w, text)
				}
			}
			if n := notice.XLength(text); n > 280 {
				t.Errorf("post is %d characters as X counts them", n)
			}
			if !strings.Contains(stderr.String(), "of 280 characters") {
				t.Errorf("stderr = %q", stderr.String())
			}
		})
	}
}

func TestXNoticePosts(t *testing.T) {
	// A stand-in for the X API that checks the OAuth 1.0a signature (the
	// independent verification is in package notice's tests).
	var mu sync.Mutex
	var posted []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		params := map[string]string{}
		for _, part := range strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "OAuth "), ", ") {
			k, v, _ := strings.Cut(part, "=")
			v, _ = url.PathUnescape(strings.Trim(v, `"`))
			params[k] = v
		}
		u, _ := url.Parse("http://" + r.Host + r.URL.Path)
		want := notice.HMACSHA1(notice.SignatureBase(r.Method, u, nil, params), "csecret", "tsecret")
		if r.URL.Path != "/2/tweets" || params["oauth_consumer_key"] != "ckey" || params["oauth_token"] != "token" || params["oauth_signature"] != want {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"title": "Unauthorized", "detail": "Unauthorized", "status": 401})
			return
		}
		var body struct{ Text string }
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		posted = append(posted, body.Text)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]string{"id": "1880000000000000001", "text": body.Text}})
	}))
	defer srv.Close()
	t.Setenv("X_API_URL", srv.URL)
	t.Setenv("X_CONSUMER_KEY", "ckey")
	t.Setenv("X_CONSUMER_SECRET", "csecret")
	t.Setenv("X_ACCESS_TOKEN", "token")
	t.Setenv("X_ACCESS_TOKEN_SECRET", "tsecret")
	path := writeXConfig(t)

	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"--config", path, "x", "notice", "--account", "news", "--post"}, &stdout, &stderr); err != nil {
		t.Fatalf("x notice --post: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Posted on X: https://x.com/VilleDeTest/status/1880000000000000001") {
		t.Errorf("stdout = %q", stdout.String())
	}
	if len(posted) != 1 || !strings.Contains(posted[0], "https://social.city.example/x/news") || !strings.HasPrefix(stdout.String(), posted[0]) {
		t.Errorf("posted %q; printed %q", posted, stdout.String())
	}

	t.Setenv("X_CONSUMER_SECRET", "wrong")
	path = writeXConfig(t)
	err := run(t.Context(), []string{"--config", path, "x", "notice", "--account", "news", "--post"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "accounts[0].notice.x_api") {
		t.Errorf("wrong key: err = %v", err)
	}
}

// TestXStats: bridge x stats prints the notice page's funnel by day, with
// the totals, and refuses bad flags.
func TestXStats(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "bridge.db")
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(xNoticeConfig+"storage:\n  driver: sqlite\n  dsn: \""+db+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	store, err := storage.Open(ctx, storage.Config{Driver: "sqlite", DSN: db}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	today := storage.FunnelDay(time.Now())
	old := storage.FunnelDay(time.Now().AddDate(0, 0, -40))
	for _, v := range []struct {
		day, source string
		n           int64
	}{{today, "direct", 12}, {today, "qr", 5}, {today, "poster", 2}, {old, "direct", 100}} {
		if err := store.AddNoticeVisits(ctx, "news", v.day, v.source, v.n); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.AddNoticeFollowStart(ctx, "news", "social.example", time.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: "https://social.example/users/ann",
		Inbox: "https://social.example/inbox", State: storage.FollowerAccepted, CreatedAt: time.Now().Add(-110 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.RollUpNoticeFollowStarts(ctx, time.Now().Add(-30*time.Minute), 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	store.Close()

	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"--config", path, "x", "stats", "--account", "news"}, &stdout, &stderr); err != nil {
		t.Fatalf("x stats: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	dayLine := strings.Fields(lines[len(lines)-2])
	totalLine := strings.Fields(lines[len(lines)-1])
	started := storage.FunnelDay(time.Now().Add(-2 * time.Hour))
	if started != today { // just after midnight: the follow is yesterday's
		t.Skip("the follow start and the visits fall on two days")
	}
	if want := []string{today, "19", "5", "1", "1", "poster", "2"}; !slices.Equal(dayLine, want) {
		t.Errorf("day line = %q, want %q\n%s", dayLine, want, stdout.String())
	}
	if want := []string{"total", "19", "5", "1", "1"}; !slices.Equal(totalLine, want) { // the 40-day-old visits are out of the 30 days
		t.Errorf("total line = %q, want %q", totalLine, want)
	}
	for _, args := range [][]string{{"--account", "news", "--days", "0"}, {}, {"--account", "news", "extra"}} {
		if err := run(ctx, append([]string{"--config", path, "x", "stats"}, args...), &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "usage: bridge x stats") {
			t.Errorf("x stats %q: err = %v, want the usage", args, err)
		}
	}
}
