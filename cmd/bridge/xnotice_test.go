package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/passerelle/passerelle/notice"
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
