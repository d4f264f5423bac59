package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// TestVideoPost: a post's video is a video element with its poster
// (controls; a gifv plays muted in a loop), the page's CSP lets it load,
// its Open Graph image is the poster, and the RSS feed gives it as a video
// medium.
func TestVideoPost(t *testing.T) {
	s := newSite(t, siteOptions{})
	ctx := context.Background()
	insert := func(loop bool, alt string) int64 {
		mid, err := s.store.InsertMedia(ctx, storage.Media{Account: "news", MediaType: "video/mp4", Width: 1280, Height: 720,
			Size: 1234, Description: alt, Duration: 12 * time.Second, Path: "/nonexistent.mp4", Loop: loop, CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		sid, err := s.store.InsertStatus(ctx, storage.Status{Account: "news", Visibility: storage.VisibilityPublic,
			Text: "Le message du maire", ContentHTML: "<p>Le message du maire</p>", MediaIDs: []int64{mid}, CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return sid
	}
	clip, gifv := insert(false, "Le maire devant la mairie"), insert(true, "")
	s.pages.Invalidate("news")

	resp, body := get(t, s.url+"/@news/"+id(clip))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post page: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`<video src="` + s.url + `/media/`, `.mp4" poster="` + s.url + `/media/`, `/poster.jpg" controls playsinline`,
		`aria-label="Le maire devant la mairie"`, `width="1280" height="720"`,
		`<meta property="og:image" content="` + s.url + `/media/`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("post page lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "media-src 'self'") {
		t.Errorf("CSP %q does not allow our videos", csp)
	}
	if _, body := get(t, s.url+"/@news/"+id(gifv)); !strings.Contains(body, "autoplay loop muted playsinline") || strings.Contains(body, "controls") {
		t.Errorf("gifv is not a muted loop: %s", body)
	}
	if _, rss := get(t, s.url+"/@news.rss"); !strings.Contains(rss, `medium="video"`) {
		t.Errorf("RSS lacks the video medium")
	}
}
