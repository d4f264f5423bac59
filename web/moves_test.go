package web_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/storage"
)

// TestMovedAccountPages: once news moved, its profile redirects for good
// to the new profile, and its posts stay, with a notice pointing there.
func TestMovedAccountPages(t *testing.T) {
	s := newSite(t, siteOptions{posts: 1})
	ctx := context.Background()
	posts, err := s.store.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 1, Visibilities: []string{storage.VisibilityPublic}})
	if err != nil || len(posts) != 1 {
		t.Fatalf("posts: %v %v", posts, err)
	}
	postURL := s.url + "/@news/" + strconv.FormatInt(posts[0].ID, 10)
	if err := s.store.PutMoveOut(ctx, storage.MoveOut{Account: "news", Target: "https://new.example/users/news",
		TargetHandle: "news@new.example", TargetURL: "https://new.example/@news", ActivityID: "https://x/#moves/1"}); err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name         string
		url          string
		wantStatus   int
		wantLocation string
		wantBody     string
	}{
		{"profile redirects", s.url + "/@news", http.StatusMovedPermanently, "https://new.example/@news", ""},
		{"post stays, with the notice", postURL, http.StatusOK, "", `This account has moved to <a href="https://new.example/@news" translate="no">@news@new.example</a>`},
		{"another account is not moved", s.url + "/@mayor", http.StatusOK, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := noRedirect.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Location") != tt.wantLocation || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("GET %s: %d Location %q, want %d %q and body with %q", tt.url, resp.StatusCode, resp.Header.Get("Location"), tt.wantStatus, tt.wantLocation, tt.wantBody)
			}
		})
	}
}
