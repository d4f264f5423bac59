package xarchive

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/passerelle/passerelle/xarchive/xarchivetest"
)

// fuzzLimits keep each fuzzing run small.
var fuzzLimits = Limits{MaxTweetBytes: 64 << 10, MaxEntryBytes: 4 << 20, MaxTotalBytes: 8 << 20}

// readAll opens an archive and reads all of it as an import's first pass
// does; it checks what it decodes.
func readAll(t *testing.T, data []byte) {
	a, err := NewReaderWith(bytes.NewReader(data), int64(len(data)), fuzzLimits)
	if err != nil {
		return
	}
	if a.Account.Username == "" {
		t.Fatal("an archive opened without an account name")
	}
	_ = a.CheckAccount("@VilleDeTest")
	_ = a.scanTweets(func(tw Tweet, raw []byte) error {
		if tw.ID == "" {
			t.Fatal("a tweet without id was decoded")
		}
		if int64(len(raw)) > fuzzLimits.MaxTweetBytes {
			t.Fatalf("a tweet of %d bytes passed the %d-byte bound", len(raw), fuzzLimits.MaxTweetBytes)
		}
		for _, m := range tw.Media {
			if f := a.MediaFile(tw.ID, m); f != nil {
				if rc, err := a.open(f); err == nil {
					rc.Close()
				}
			}
		}
		return nil
	})
}

// zipOf zips files (name -> content).
func zipOf(files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store}) // no deflate state per run
		w.Write(content)
	}
	zw.Close()
	return buf.Bytes()
}

// FuzzArchive opens anything as an X archive (the zip itself mutated).
// Seeded with a generated archive and the quirks of testdata/.
func FuzzArchive(f *testing.F) {
	var buf bytes.Buffer
	if _, err := xarchivetest.Write(&buf, xarchivetest.Options{Tweets: 6, Seed: 1}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	quirks := map[string][]byte{}
	filepath.WalkDir("testdata/quirks", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel("testdata/quirks", path)
			quirks[filepath.ToSlash(rel)], _ = os.ReadFile(path)
		}
		return nil
	})
	f.Add(zipOf(quirks))
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Fuzz(func(t *testing.T, data []byte) { readAll(t, data) })
}

// FuzzTweetsFile reads mutated account.js and tweets.js files inside a
// well-formed zip (what a damaged or hand-edited export holds).
func FuzzTweetsFile(f *testing.F) {
	account, _ := os.ReadFile("testdata/quirks/data/account.js")
	for _, name := range []string{"tweets.js", "tweets-part1.js"} {
		tweets, _ := os.ReadFile("testdata/quirks/data/" + name)
		f.Add(account, tweets)
	}
	f.Add(account, []byte(`window.YTD.tweets.part0 = [{"tweet":{"id_str":"1","created_at":"2018-10-10T20:19:24Z","full_text":"x","display_text_range":["0","1"],"retweeted":"true","entities":{"media":[{"type":"photo","media_url":"https://pbs.twimg.com/media/a.jpg"}]}}}]`))
	f.Add(account, []byte(`[{"id_str":"1","created_at":"Wed Oct 10 20:19:24 +0000 2018","text":"old shape"}]`))
	f.Add([]byte(`window.YTD.account.part0 = [{"account":{"username":"x"}}]`), []byte(`window.YTD.tweets.part0 = [`))
	f.Fuzz(func(t *testing.T, account, tweets []byte) {
		readAll(t, zipOf(map[string][]byte{"data/account.js": account, "data/tweets.js": tweets}))
	})
}
