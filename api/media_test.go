package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

func TestMediaUploadAndServe(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "write:media")
	img := pngBytes(t, 40, 30)

	r := e.upload(t, tok, img, [2]string{"description", "The city hall"}, [2]string{"focus", "0.5,-0.25"})
	if r.code != http.StatusOK {
		t.Fatalf("upload: %d %s", r.code, r.body)
	}
	m := r.json(t)
	sameKeys(t, "media", m, fixture(t, "media_attachment.json"))
	meta := m["meta"].(map[string]any)
	orig := meta["original"].(map[string]any)
	focus := meta["focus"].(map[string]any)
	if m["type"] != "image" || m["description"] != "The city hall" || orig["width"] != 40.0 || orig["height"] != 30.0 ||
		orig["size"] != "40x30" || focus["x"] != 0.5 || focus["y"] != -0.25 || m["blurhash"] == nil ||
		!strings.HasSuffix(m["url"].(string), ".png") || m["remote_url"] != nil {
		t.Errorf("attachment: %s", r.body)
	}
	id := m["id"].(string)

	body, ct := multipartBody(t, nil, "photo.png", img)
	if r := e.do(t, request{method: http.MethodPost, path: "/api/v1/media", token: tok, contentType: ct, body: body}); r.code != http.StatusOK {
		t.Errorf("v1 upload: %d %s", r.code, r.body)
	}
	if r := e.get(t, "/api/v1/media/"+id, tok); r.code != http.StatusOK || r.json(t)["id"] != id {
		t.Errorf("GET media: %d %s", r.code, r.body)
	}
	if r := e.get(t, "/api/v1/media/"+id, e.token(t, "mayor", "write")); r.code != http.StatusNotFound {
		t.Errorf("GET another account's media: %d %s", r.code, r.body)
	}
	r = e.form(t, http.MethodPut, "/api/v1/media/"+id, tok, url.Values{"description": {"changed"}, "focus": {"0,0"}})
	if r.code != http.StatusOK || r.json(t)["description"] != "changed" {
		t.Errorf("PUT media: %d %s", r.code, r.body)
	}
	if r := e.form(t, http.MethodPut, "/api/v1/media/"+id, tok, url.Values{"focus": {"3,0"}}); r.code != http.StatusUnprocessableEntity {
		t.Errorf("PUT bad focus: %d %s", r.code, r.body)
	}

	// The file itself.
	f := e.get(t, m["url"].(string), "")
	if f.code != http.StatusOK {
		t.Fatalf("GET file: %d", f.code)
	}
	for k, want := range map[string]string{
		"Content-Type": "image/png", "Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff",
	} {
		if got := f.header.Get(k); got != want {
			t.Errorf("file %s = %q, want %q", k, got, want)
		}
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(f.body)); err != nil || cfg.Width != 40 || cfg.Height != 30 {
		t.Errorf("served file: %v %+v", err, cfg)
	}
	etag := f.header.Get("ETag")
	tests := []struct {
		name   string
		path   string
		header map[string]string
		code   int
	}{
		{"range", m["url"].(string), map[string]string{"Range": "bytes=0-9"}, http.StatusPartialContent},
		{"not modified", m["url"].(string), map[string]string{"If-None-Match": etag}, http.StatusNotModified},
		{"without extension", "/media/" + id, nil, http.StatusOK},
		{"wrong extension", "/media/" + id + ".jpg", nil, http.StatusNotFound},
		{"unknown", "/media/999.png", nil, http.StatusNotFound},
		{"not an id", "/media/abc.png", nil, http.StatusNotFound},
		{"avatar placeholder", "/static/avatar.png", nil, http.StatusOK},
		{"header placeholder", "/static/header.png", nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, request{method: http.MethodGet, path: tt.path, header: tt.header})
			if r.code != tt.code {
				t.Errorf("%d, want %d", r.code, tt.code)
			}
			if tt.code == http.StatusPartialContent && len(r.body) != 10 {
				t.Errorf("range answered %d bytes", len(r.body))
			}
		})
	}
}

// pngHeader is a PNG that declares w×h pixels but carries almost no data:
// the shape of a decompression bomb.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8 bits, RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

func TestMediaUploadRejects(t *testing.T) {
	const limit = 64 << 10
	e := newEnv(t, envOptions{maxBytes: limit})
	tok := e.token(t, "news", "write")
	noise := bytes.Repeat([]byte{0x42}, limit+1)
	corrupt := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xff}, 200)...)
	tests := []struct {
		name string
		send func() response
		code int
		msg  string
	}{
		{"corrupt image", func() response { return e.upload(t, tok, corrupt) }, 422, "could not be decoded"},
		{"not an image", func() response { return e.upload(t, tok, []byte("hello, I am text")) }, 422, "not supported"},
		{"over the size limit", func() response { return e.upload(t, tok, noise) }, 413, "File is too large"},
		{"far over the size limit", func() response { return e.upload(t, tok, bytes.Repeat([]byte{1}, 3<<20)) }, 413, "too large"},
		{"decompression bomb", func() response { return e.upload(t, tok, pngHeader(60000, 60000)) }, 422, "dimensions are too large"},
		{"missing file", func() response {
			body, ct := multipartBody(t, [][2]string{{"description", "no file"}}, "", nil)
			return e.do(t, request{method: http.MethodPost, path: "/api/v2/media", token: tok, contentType: ct, body: body})
		}, 422, "can't be blank"},
		{"not multipart", func() response {
			return e.jsonBody(t, http.MethodPost, "/api/v2/media", tok, map[string]string{"file": "x"})
		}, 422, "can't be blank"},
		{"bad focus", func() response { return e.upload(t, tok, pngBytes(t, 4, 4), [2]string{"focus", "2,2"}) }, 422, "focus"},
		{"description too long", func() response {
			return e.upload(t, tok, pngBytes(t, 4, 4), [2]string{"description", strings.Repeat("a", 1501)})
		}, 422, "Description is too long"},
		{"read scope", func() response { return e.upload(t, e.token(t, "news", "read"), pngBytes(t, 4, 4)) }, 403, "outside the authorized scopes"},
		{"statuses scope", func() response { return e.upload(t, e.token(t, "news", "write:statuses"), pngBytes(t, 4, 4)) }, 403, "outside"},
		{"no token", func() response { return e.upload(t, "", pngBytes(t, 4, 4)) }, 401, "The access token is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.send()
			if r.code != tt.code || !strings.Contains(r.errorText(t), tt.msg) {
				t.Errorf("got %d %s, want %d with %q", r.code, r.body, tt.code, tt.msg)
			}
			if files, _ := os.ReadDir(e.mediaDir); len(files) != 0 {
				t.Errorf("%d file(s) left in the media directory", len(files))
			}
		})
	}
	// Nothing was stored: the first accepted upload gets the first id.
	r := e.upload(t, tok, pngBytes(t, 4, 4))
	if r.code != http.StatusOK || r.json(t)["id"] != "1" {
		t.Errorf("first accepted upload: %d %s", r.code, r.body)
	}
	if _, err := e.store.GetMedia(context.Background(), 2); err == nil {
		t.Error("a second media row exists")
	}
}

// A deleted post's media answer 410 at once, as the post's page does, and
// again 200 once a redraft attaches them.
func TestMediaOfDeletedPostGone(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "read write")
	r := e.upload(t, tok, pngBytes(t, 20, 20), [2]string{"description", "A bridge"})
	if r.code != http.StatusOK {
		t.Fatalf("upload: %d %s", r.code, r.body)
	}
	m := r.json(t)
	id, file := m["id"].(string), m["url"].(string)
	status := e.post(t, tok, url.Values{"status": {"With an image"}, "media_ids[]": {id}})
	if f := e.get(t, file, ""); f.code != http.StatusOK {
		t.Fatalf("media of a live post: %d", f.code)
	}
	if d := e.do(t, request{method: http.MethodDelete, path: "/api/v1/statuses/" + status, token: tok}); d.code != http.StatusOK {
		t.Fatalf("delete: %d %s", d.code, d.body)
	}
	f := e.get(t, file, "")
	if f.code != http.StatusGone || f.header.Get("Cache-Control") != "no-store" {
		t.Errorf("media of a deleted post: %d %q, want 410 no-store", f.code, f.header.Get("Cache-Control"))
	}
	e.post(t, tok, url.Values{"status": {"Redrafted"}, "media_ids[]": {id}})
	if f := e.get(t, file, ""); f.code != http.StatusOK {
		t.Errorf("media redrafted: %d, want 200", f.code)
	}
}
