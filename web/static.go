package web

import (
	"embed"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// The pages' only stylesheet and script, served by us (CSP 'self').
//
//go:embed static/site.css static/copy.js
var staticFS embed.FS

type staticFile struct {
	body        []byte
	contentType string
	version     string // a hash of body, appended to URLs so they can be cached long
}

var staticFiles = loadStatic()

func loadStatic() map[string]staticFile {
	files := map[string]staticFile{}
	for name, ct := range map[string]string{"site.css": "text/css; charset=utf-8", "copy.js": "text/javascript; charset=utf-8"} {
		body, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			panic(err) // embedded: cannot fail
		}
		files[name] = staticFile{body: body, contentType: ct, version: fmt.Sprintf("%08x", crc32.ChecksumIEEE(body))}
	}
	return files
}

// staticURL is the template function giving a static file's versioned
// path ("/static/site.css?v=1a2b3c4d").
func staticURL(name string) string {
	return "/static/" + name + "?v=" + staticFiles[name].version
}

func serveStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := staticFiles[path.Base(r.URL.Path)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == f.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	w.Write(f.body)
}

// sameOrigin reports whether URL a is on the origin of URL b.
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host != "" &&
		strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host)
}
