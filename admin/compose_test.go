package admin

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/storage"
)

// multipartForm encodes fields and files (name -> file name, content).
func multipartForm(t *testing.T, fields map[string]string, files map[string][]byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	for k, v := range files {
		fw, err := w.CreateFormFile(k, k+".png")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(v)
	}
	w.Close()
	return w.FormDataContentType(), &buf
}

func (h *harness) post(c *http.Client, path, ct string, body *bytes.Buffer) (*http.Response, string) {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.srv.URL+path, body)
	req.Header.Set("Content-Type", ct)
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp, b.String()
}

// TestCompose: the compose page previews a post (its count, the Bluesky
// thread the mirror will cut from a previewer) and keeps the images
// uploaded for the preview; an image without alt text is refused; an
// editor publishes through package publish, attributed and audited; a
// contributor's post becomes a draft; nobody composes for another
// account; the form needs its CSRF token.
func TestCompose(t *testing.T) {
	ctx := context.Background()
	store, err := storage.Open(ctx, storage.Config{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "b.db")}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	env := bridgetest.New(t, bridgetest.Options{Store: store, Accounts: []config.Account{{Username: "news"}, {Username: "events"}}})
	previewed := 0
	preview := func(account string, st storage.Status, media []storage.Media) (BlueskyPreview, bool) {
		previewed++
		return BlueskyPreview{Records: []BlueskyRecord{{Text: "part one", Graphemes: 8, Bytes: 8, Images: []int{0}}, {Text: "part two", Graphemes: 8, Bytes: 8}},
			ImageMaxBytes: 10}, account == "news"
	}
	c := New(Settings{BaseURL: "http://console.test", Accounts: []string{"news", "events"}, Drafts: env.Pub, Compose: env.Pub, Preview: preview}, store, zerolog.Nop())
	mux := http.NewServeMux()
	c.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h := &harness{t: t, store: store, c: c, srv: srv}
	editor, writer := h.browser(), h.browser()
	h.join(editor, h.invite("editor@x.example", "news", "editor"))
	h.join(writer, h.invite("writer@x.example", "news", "contributor"))
	_, page := h.do(editor, "GET", "/admin/compose", nil)
	csrf := match(t, csrfRE, page)
	_, wpage := h.do(writer, "GET", "/admin/compose", nil)
	wcsrf := match(t, csrfRE, wpage)
	if !strings.Contains(wpage, "Submit for approval") || strings.Contains(page, "Submit for approval") {
		t.Errorf("the contributor's button says submit, the editor's publish")
	}
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 40, 30)))

	// Preview with an image: kept for the publish, and previewed.
	ct, body := multipartForm(t, map[string]string{"csrf": csrf, "account": "news", "text": "Fête du quartier samedi", "visibility": "public",
		"alt1": "Affiche de la fête", "action": "preview"}, map[string][]byte{"image1": img.Bytes()})
	resp, page := h.post(editor, "/admin/compose", ct, body)
	if resp.StatusCode != 200 || previewed != 1 || !strings.Contains(page, "part two") || !strings.Contains(page, "23 of 500 characters") ||
		!strings.Contains(page, "re-encoded for Bluesky") {
		t.Fatalf("preview: %d, previewed %d\n%s", resp.StatusCode, previewed, page)
	}
	mediaID := match(t, regexp.MustCompile(`name="media" value="(\d+)"`), page)

	for _, tt := range []struct {
		name   string
		client *http.Client
		fields map[string]string
		files  map[string][]byte
		want   int
		says   string
	}{
		{"an image without alt text", editor, map[string]string{"csrf": csrf, "account": "news", "text": "x", "action": "publish"}, map[string][]byte{"image2": img.Bytes()}, 422, "alt text required"},
		{"another account", editor, map[string]string{"csrf": csrf, "account": "events", "text": "x", "action": "publish"}, nil, 403, ""},
		{"without CSRF token", editor, map[string]string{"account": "news", "text": "x", "action": "publish"}, nil, 403, ""},
		{"an empty post", editor, map[string]string{"csrf": csrf, "account": "news", "text": " ", "action": "publish"}, nil, 422, "be blank"},
		{"a time that is not one", editor, map[string]string{"csrf": csrf, "account": "news", "text": "x", "scheduled_at": "demain", "action": "publish"}, nil, 422, "not a valid date"},
		{"another account's media", writer, map[string]string{"csrf": wcsrf, "account": "news", "text": "x", "media": "999", "action": "publish"}, nil, 422, "not available"},
	} {
		ct, body := multipartForm(t, tt.fields, tt.files)
		resp, page := h.post(tt.client, "/admin/compose", ct, body)
		if resp.StatusCode != tt.want || !strings.Contains(page, tt.says) {
			t.Errorf("%s: %d, want %d with %q\n%s", tt.name, resp.StatusCode, tt.want, tt.says, page)
		}
	}
	if n, _ := store.CountStatuses(ctx, "", nil); n != 0 {
		t.Fatalf("%d statuses after the refusals", n)
	}

	// The editor publishes with the previewed image.
	ct, body = multipartForm(t, map[string]string{"csrf": csrf, "account": "news", "text": "Fête du quartier samedi", "visibility": "public",
		"media": mediaID, "replies": "followers", "action": "publish"}, nil)
	resp, page = h.post(editor, "/admin/compose", ct, body)
	id := match(t, regexp.MustCompile(`Published as status (\d+)`), page)
	sts, _ := store.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 5})
	if resp.StatusCode != 200 || len(sts) != 1 || len(sts[0].MediaIDs) != 1 {
		t.Fatalf("published %d %+v", resp.StatusCode, sts)
	}
	if p, err := store.GetStatusPolicy(ctx, sts[0].ID); err != nil || p.Replies != "followers" {
		t.Errorf("the post's policy %+v, %v", p, err)
	}
	ed, _ := store.GetTeamMemberByEmail(ctx, "editor@x.example")
	if a, _ := store.StatusAttributions(ctx, []int64{sts[0].ID}); a[sts[0].ID].MemberID != ed.ID {
		t.Errorf("attribution %+v", a[sts[0].ID])
	}
	// The contributor's post waits.
	ct, body = multipartForm(t, map[string]string{"csrf": wcsrf, "account": "news", "text": "Concert au parc", "action": "publish"}, nil)
	resp, page = h.post(writer, "/admin/compose", ct, body)
	if resp.StatusCode != 200 || !strings.Contains(page, "Submitted for approval") {
		t.Fatalf("contributor: %d\n%s", resp.StatusCode, page)
	}
	if n, _ := store.CountStatuses(ctx, "news", nil); n != 1 {
		t.Errorf("%d statuses: the contributor's post was published", n)
	}
	entries, _ := store.ListAudit(ctx, storage.AuditQuery{Accounts: []string{"news"}, Limit: 50})
	seen := map[string]string{}
	for _, e := range entries {
		seen[e.Action] = e.Actor + " " + e.Target
	}
	if seen["status.create"] != "editor@x.example status "+id || !strings.HasPrefix(seen["draft.create"], "writer@x.example draft ") {
		t.Errorf("audit %v", seen)
	}
}
