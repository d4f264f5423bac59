package xarchive_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/xarchive"
)

const accountJS = `window.YTD.account.part0 = [{"account":{"accountId":"42","username":"VilleDeTest","accountDisplayName":"Ville"}}]`

// writeZip writes a zip of name -> content (deflated) to a file.
func writeZip(t *testing.T, files map[string]func(w io.Writer) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "archive.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestCompression) })
	for _, name := range []string{"data/account.js", "data/tweets.js", "data/tweets-part1.js"} {
		write, ok := files[name]
		if !ok {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(w); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func text(s string) func(w io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// hugeTweet writes one tweet whose text is n bytes of "a".
func hugeTweet(n int) func(w io.Writer) error {
	return func(w io.Writer) error {
		io.WriteString(w, `window.YTD.tweets.part0 = [{"tweet":{"id_str":"1","created_at":"Wed Oct 10 20:19:24 +0000 2018","full_text":"`)
		chunk := bytes.Repeat([]byte("a"), 1<<20)
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := w.Write(chunk[:k]); err != nil {
				return err
			}
			n -= k
		}
		_, err := io.WriteString(w, `"}}]`)
		return err
	}
}

// TestZipBombTweet: a small zip holding one huge tweet is refused, naming
// the entry, after reading little more than the one-tweet bound (issue
// 13: a 510 KB zip with a 512 MiB tweet drove a dry run to 1.6 GB).
func TestZipBombTweet(t *testing.T) {
	path := writeZip(t, map[string]func(io.Writer) error{
		"data/account.js": text(accountJS),
		"data/tweets.js":  hugeTweet(96 << 20),
	})
	if fi, _ := os.Stat(path); fi.Size() > 1<<20 {
		t.Fatalf("the bomb is %d bytes, not a small zip", fi.Size())
	}
	e := newEnv(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := e.run(t, path, xarchive.Options{DryRun: true})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, xarchive.ErrNotArchive) || !strings.Contains(err.Error(), "data/tweets.js") {
		t.Fatalf("error %v, want ErrNotArchive naming data/tweets.js", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("the dry run allocated %d MiB for a 96 MiB tweet; want it refused within a few MiB", alloc>>20)
	}
	t.Logf("refused after allocating %d KiB: %v", (after.TotalAlloc-before.TotalAlloc)>>10, err)
}
