package xarchive_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/xarchive"
	"github.com/passerelle/passerelle/xarchive/xarchivetest"
)

// rawEntry writes a deflated entry whose header declares size bytes.
func rawEntry(t *testing.T, zw *zip.Writer, name, content string, size uint64) {
	t.Helper()
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	io.WriteString(fw, content)
	fw.Close()
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE([]byte(content)),
		CompressedSize64: uint64(buf.Len()), UncompressedSize64: size})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(buf.Bytes())
}

const tweetsJS = `window.YTD.tweets.part0 = [{"tweet":{"id_str":"1","created_at":"Wed Oct 10 20:19:24 +0000 2018","full_text":"hello"}}]`

// TestArchiveLimits: what the tweet files would decompress to is bounded
// per file and in all, before anything is read; the error names the file.
func TestArchiveLimits(t *testing.T) {
	// A header claiming 8 GiB (the zip reader would stop at the claimed
	// size, so the claim is what to refuse).
	path := filepath.Join(t.TempDir(), "claim.zip")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	rawEntry(t, zw, "data/account.js", accountJS, uint64(len(accountJS)))
	rawEntry(t, zw, "data/tweets.js", tweetsJS, 8<<30)
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := xarchive.Open(path)
	if !errors.Is(err, xarchive.ErrNotArchive) || !strings.Contains(err.Error(), "data/tweets.js") || !strings.Contains(err.Error(), "8.0 GiB") {
		t.Errorf("a tweets.js claiming 8 GiB: %v", err)
	}

	small := writeZip(t, map[string]func(io.Writer) error{
		"data/account.js":      text(accountJS),
		"data/tweets.js":       text(tweetsJS),
		"data/tweets-part1.js": text(strings.Replace(tweetsJS, `"1"`, `"2"`, 1)),
	})
	tests := []struct {
		name   string
		limits xarchive.Limits
		want   string // "" : accepted
	}{
		{"defaults", xarchive.Limits{}, ""},
		{"one file over the per-file bound", xarchive.Limits{MaxEntryBytes: 100}, "data/tweets.js"},
		{"all files over the total bound", xarchive.Limits{MaxTotalBytes: int64(2*len(tweetsJS) - 10)}, "in all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := xarchive.OpenWith(small, tt.limits)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				a.Close()
				return
			}
			if !errors.Is(err, xarchive.ErrNotArchive) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want ErrNotArchive naming %q", err, tt.want)
			}
		})
	}
}

// TestArchiveTotalWithPhotos: the photos read during an import count in
// the total bound; the import stops naming the photo that crossed it.
func TestArchiveTotalWithPhotos(t *testing.T) {
	path := filepath.Join(t.TempDir(), "archive.zip")
	st, err := xarchivetest.WriteFile(path, xarchivetest.Options{Tweets: 60, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if st.Photos < 2 {
		t.Fatalf("the generated archive has %d photos", st.Photos)
	}
	probe, err := xarchive.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	size := probe.Size
	probe.Close()
	a, err := xarchive.OpenWith(path, xarchive.Limits{MaxTotalBytes: size + 100})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	e := newEnv(t)
	_, err = xarchive.NewImporter(a, e.pub, e.store, xarchive.Options{Account: "news", TempDir: t.TempDir()}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "tweets_media/") || !strings.Contains(err.Error(), "in all") {
		t.Errorf("error %v, want the photo over the total bound named", err)
	}
}
