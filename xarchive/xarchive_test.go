package xarchive_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/xarchive"
	"github.com/passerelle/passerelle/xarchive/xarchivetest"
)

// env is a real SQLite store with the real publishing service.
type env struct {
	store storage.Store
	pub   *publish.Service
}

func newEnv(t testing.TB) *env {
	t.Helper()
	b := bridgetest.New(t, bridgetest.Options{
		BaseURL:  "https://social.city.example",
		Accounts: []config.Account{{Username: "news", Type: "Organization"}},
		Publish: publish.Settings{MediaDir: filepath.Join(t.TempDir(), "media"), HandleDomain: "city.example",
			MediaLimits: media.Limits{MaxBytes: 1 << 20}},
	})
	return &env{store: b.Store, pub: b.Pub}
}

func (e *env) run(t testing.TB, path string, opts xarchive.Options) (xarchive.Summary, error) {
	t.Helper()
	a, err := xarchive.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	opts.Account = "news"
	opts.TempDir = t.TempDir()
	return xarchive.NewImporter(a, e.pub, e.store, opts).Run(context.Background())
}

// statuses lists the account's statuses, oldest first.
func (e *env) statuses(t testing.TB) []storage.Status {
	t.Helper()
	var out []storage.Status
	page := storage.StatusPage{Account: "news", Limit: 200}
	for {
		ss, err := e.store.ListStatuses(context.Background(), page)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ss...)
		if len(ss) < page.Limit {
			break
		}
		page.MaxID = ss[len(ss)-1].ID
	}
	slices.Reverse(out)
	return out
}

func imageBytes(t testing.TB, format string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		img.Set(x, x%30, color.RGBA{200, 10, 10, 255})
	}
	var b bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// quirksZip zips testdata/quirks with the photos its tweets name, plus
// extra files (name → content; nil content removes a file).
func quirksZip(t *testing.T, extra map[string][]byte) string {
	t.Helper()
	files := map[string][]byte{
		"data/tweets_media/1577000000000000004-FeAbC1.jpg": imageBytes(t, "jpg"),
		"data/tweets_media/1577000000000000004-FeAbC2.png": imageBytes(t, "png"),
	}
	err := filepath.WalkDir("testdata/quirks", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel("testdata/quirks", p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		if v == nil {
			delete(files, k)
		} else {
			files[k] = v
		}
	}
	path := filepath.Join(t.TempDir(), "twitter-archive.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, b := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

func TestQuirksTexts(t *testing.T) {
	path := quirksZip(t, nil)
	e := newEnv(t)
	sum, err := e.run(t, path, xarchive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]storage.Status{}
	for _, st := range e.statuses(t) {
		byKey[st.IdempotencyKey] = st
	}
	tests := []struct {
		name, key, text, lang string
		created               string
		media                 int
		parent                string
	}{
		{"thread start (bare object in a part file, listed twice)", "x:1577000000000000000", "Thread about opening hours:", "en", "2022-09-30T08:00:00Z", 0, ""},
		{"reply beginning with a mention of its own; video linked", "x:1577000000000000001",
			"@MairieAnnexe opens late today. https://twitter.com/VilleDeTest/status/1577000000000000001/video/1", "", "2022-10-01T10:00:00Z", 0, "x:1577000000000000000"},
		{"entities unescaped, t.co expanded, photo links removed, mention as text", "x:1577000000000000004",
			"1/2 Pool & gym: works are over <3 Thanks @SportTest! https://www.city.example/pool?from=x&lang=en #Piscine", "en", "2022-10-03T09:12:00Z", 2, ""},
		{"reply prefix removed", "x:1577000000000000005", "2/2 The pool reopens on Monday at 9 am.", "en", "2022-10-03T09:12:30Z", 0, "x:1577000000000000004"},
		{"oldest format (text, not full_text), withdrawn language code", "x:20", "just setting up our account", "id", "2006-03-21T20:50:14Z", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, ok := byKey[tc.key]
			if !ok {
				t.Fatalf("%s not imported", tc.key)
			}
			if st.Text != tc.text || st.Language != tc.lang || st.CreatedAt.Format(time.RFC3339) != tc.created || len(st.MediaIDs) != tc.media {
				t.Errorf("got %q lang %q at %s with %d media", st.Text, st.Language, st.CreatedAt.Format(time.RFC3339), len(st.MediaIDs))
			}
			if tc.parent != "" && st.InReplyToID != byKey[tc.parent].ID {
				t.Errorf("in reply to %d, want %s (%d)", st.InReplyToID, tc.parent, byKey[tc.parent].ID)
			}
			if tc.parent == "" && st.InReplyToID != 0 {
				t.Errorf("in reply to %d, want none", st.InReplyToID)
			}
			if strings.Contains(st.ContentHTML, "h-card") {
				t.Errorf("an X mention became a fediverse mention: %s", st.ContentHTML)
			}
		})
	}
	photo, err := e.store.GetMedia(context.Background(), byKey["x:1577000000000000004"].MediaIDs[0])
	if err != nil || photo.Description != "The outdoor pool, blue water, empty lanes" {
		t.Errorf("first photo %+v, %v: want its ext_alt_text", photo, err)
	}
	want := xarchive.Summary{Tweets: 8, Selected: 5, Imported: 5, Threads: 2, Photos: 2, Videos: 1, Done: true,
		Skipped: map[string]int{xarchive.SkipRetweet: 1, xarchive.SkipReply: 1}}
	if sum.Tweets != want.Tweets || sum.Selected != want.Selected || sum.Imported != want.Imported || sum.Threads != want.Threads ||
		sum.Photos != want.Photos || sum.Videos != want.Videos || !sum.Done || !mapsEqual(sum.Skipped, want.Skipped) {
		t.Errorf("summary %+v\nwant    %+v", sum, want)
	}
	// The outbox is in date order: ids follow the original dates.
	ss := e.statuses(t)
	for i := 1; i < len(ss); i++ {
		if ss[i].CreatedAt.Before(ss[i-1].CreatedAt) {
			t.Errorf("outbox order: %s after %s", ss[i].CreatedAt, ss[i-1].CreatedAt)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestFilters(t *testing.T) {
	path := quirksZip(t, nil)
	tests := []struct {
		name     string
		opts     xarchive.Options
		imported int
		skipped  map[string]int
	}{
		{"with replies and retweets", xarchive.Options{IncludeReplies: true, IncludeRetweets: true}, 7, map[string]int{}},
		{"date range (the tweet listed twice counts twice)", xarchive.Options{Since: time.Date(2022, 10, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2022, 10, 3, 9, 12, 10, 0, time.UTC)}, 2,
			map[string]int{xarchive.SkipRetweet: 1, xarchive.SkipReply: 1, xarchive.SkipBefore: 3, xarchive.SkipAfter: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			sum, err := e.run(t, path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Imported != tc.imported || !mapsEqual(sum.Skipped, tc.skipped) {
				t.Errorf("imported %d, skipped %v; want %d, %v", sum.Imported, sum.Skipped, tc.imported, tc.skipped)
			}
		})
	}
}

func TestCheckAccount(t *testing.T) {
	a, err := xarchive.Open(quirksZip(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Account != (xarchive.Account{ID: "1234567890", Username: "VilleDeTest", DisplayName: "Ville de Test"}) {
		t.Errorf("account %+v", a.Account)
	}
	tests := []struct {
		handle string
		want   error
	}{
		{"@VilleDeTest", nil},
		{"villedetest", nil},
		{"@OtherCity", xarchive.ErrOtherAccount},
		{"", xarchive.ErrUnknownAccount},
	}
	for _, tc := range tests {
		if err := a.CheckAccount(tc.handle); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("CheckAccount(%q) = %v, want %v", tc.handle, err, tc.want)
		}
	}
}

// TestBadArchives: damaged inputs are refused with a clear message and
// nothing is imported.
func TestBadArchives(t *testing.T) {
	good, err := os.ReadFile(quirksZip(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	tweets, _ := os.ReadFile("testdata/quirks/data/tweets.js")
	write := func(b []byte) string {
		p := filepath.Join(t.TempDir(), "archive.zip")
		os.WriteFile(p, b, 0o600)
		return p
	}
	tests := []struct {
		name     string
		path     string
		opts     xarchive.Options
		want     error
		contains string
	}{
		{"not a zip", write([]byte("<html>Sign in to X</html>")), xarchive.Options{}, xarchive.ErrNotArchive, "zip"},
		{"truncated download", write(good[:len(good)/2]), xarchive.Options{}, xarchive.ErrNotArchive, "partly downloaded"},
		{"no tweets", quirksZip(t, map[string][]byte{"data/tweets.js": nil, "data/tweets-part1.js": nil}), xarchive.Options{}, xarchive.ErrNotArchive, "no data/tweets.js"},
		{"no account", quirksZip(t, map[string][]byte{"data/account.js": nil}), xarchive.Options{}, xarchive.ErrNotArchive, "account.js"},
		{"truncated tweets file", quirksZip(t, map[string][]byte{"data/tweets.js": tweets[:len(tweets)-300]}), xarchive.Options{}, xarchive.ErrNotArchive, "truncated"},
		{"not an array", quirksZip(t, map[string][]byte{"data/tweets.js": []byte(`window.YTD.tweets.part0 = {"a": 1}`)}), xarchive.Options{}, xarchive.ErrNotArchive, "array of tweets"},
		{"bad date", quirksZip(t, map[string][]byte{"data/tweets-part1.js": []byte(`window.YTD.tweets.part1 = [{"id_str": "1", "created_at": "yesterday", "full_text": "x"}]`)}),
			xarchive.Options{}, xarchive.ErrNotArchive, "created_at"},
		{"missing photos (partial archive)", quirksZip(t, map[string][]byte{"data/tweets_media/1577000000000000004-FeAbC2.png": nil}), xarchive.Options{}, xarchive.ErrBadMedia, "FeAbC2.png is missing"},
		{"huge photo", quirksZip(t, map[string][]byte{"data/tweets_media/1577000000000000004-FeAbC2.png": bytes.Repeat([]byte{1}, 3<<20)}),
			xarchive.Options{MaxMediaBytes: 2 << 20}, xarchive.ErrBadMedia, "3 MB, more than the 2 MB allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			a, err := xarchive.Open(tc.path)
			if err == nil {
				tc.opts.Account, tc.opts.TempDir = "news", t.TempDir()
				_, err = xarchive.NewImporter(a, e.pub, e.store, tc.opts).Run(context.Background())
				a.Close()
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("error = %v, want %v containing %q", err, tc.want, tc.contains)
			}
			if n, _ := e.store.CountStatuses(context.Background(), "news", nil); n != 0 {
				t.Errorf("%d statuses imported from a bad archive", n)
			}
		})
	}
}

// TestUndecodablePhoto: a photo that is not an image stops the import at
// its tweet (resumable), unless skipped.
func TestUndecodablePhoto(t *testing.T) {
	path := quirksZip(t, map[string][]byte{"data/tweets_media/1577000000000000004-FeAbC2.png": []byte("not an image")})
	e := newEnv(t)
	sum, err := e.run(t, path, xarchive.Options{})
	if !errors.Is(err, xarchive.ErrBadMedia) || !strings.Contains(err.Error(), "--skip-bad-media") || sum.Done {
		t.Fatalf("error = %v (summary %+v)", err, sum)
	}
	if sum.Imported != 3 {
		t.Errorf("imported %d before the bad photo, want the 3 older tweets", sum.Imported)
	}
	run, err := e.store.GetImport(context.Background(), "news", "x:1234567890")
	if err != nil || run.State != storage.ImportFailed || !strings.Contains(run.LastError, "FeAbC2.png") || run.Processed != 3 {
		t.Errorf("progress record %+v, %v", run, err)
	}
	sum, err = e.run(t, path, xarchive.Options{SkipBadMedia: true})
	if err != nil || !sum.Done || sum.Imported != 2 || sum.AlreadyImported != 3 || sum.PhotosSkipped != 1 || sum.Photos != 1 || !sum.Resumed {
		t.Errorf("with --skip-bad-media: %+v, %v", sum, err)
	}
}

// TestGeneratedArchive imports a generated archive twice (the second run
// imports nothing), dry-runs it, and resumes an interrupted import.
func TestGeneratedArchive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "archive.zip")
	st, err := xarchivetest.WriteFile(path, xarchivetest.Options{Tweets: 300, Parts: 2, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	dry, err := e.run(t, path, xarchive.Options{DryRun: true})
	if err != nil || dry.Selected != st.Importable || dry.Imported != 0 {
		t.Fatalf("dry run: %+v, %v (stats %+v)", dry, err, st)
	}
	if n, _ := e.store.CountStatuses(context.Background(), "news", nil); n != 0 {
		t.Fatalf("the dry run imported %d", n)
	}

	// Interrupted after 100 tweets.
	a, err := xarchive.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sum, err := xarchive.NewImporter(a, e.pub, e.store, xarchive.Options{Account: "news", TempDir: t.TempDir(),
		Progress: func(done, total int) {
			if done == 100 {
				cancel()
			}
		}}).Run(ctx)
	a.Close()
	if !errors.Is(err, context.Canceled) || sum.Done || sum.Imported != 100 {
		t.Fatalf("interrupted run: %+v, %v", sum, err)
	}
	run, _ := e.store.GetImport(context.Background(), "news", "x:1234567890")
	if run.State != storage.ImportRunning || run.Processed != 100 || run.Total != int64(st.Importable) {
		t.Errorf("progress record after the interruption: %+v", run)
	}

	sum, err = e.run(t, path, xarchive.Options{})
	if err != nil || !sum.Done || !sum.Resumed || sum.AlreadyImported != 100 || sum.Imported != st.Importable-100 || sum.Threads == 0 {
		t.Fatalf("resumed run: %+v, %v (stats %+v)", sum, err, st)
	}
	again, err := e.run(t, path, xarchive.Options{})
	if err != nil || again.Imported != 0 || again.AlreadyImported != st.Importable || again.Resumed {
		t.Errorf("second run: %+v, %v", again, err)
	}
	ss := e.statuses(t)
	if len(ss) != st.Importable {
		t.Fatalf("%d statuses, want %d", len(ss), st.Importable)
	}
	if !ss[0].CreatedAt.Equal(st.Oldest) || !ss[len(ss)-1].CreatedAt.Equal(st.Newest) {
		t.Errorf("dates from %s to %s, want %s to %s", ss[0].CreatedAt, ss[len(ss)-1].CreatedAt, st.Oldest, st.Newest)
	}
	photos, threads := 0, 0
	byID := map[int64]bool{}
	for _, s := range ss {
		photos += len(s.MediaIDs)
		if s.InReplyToID != 0 {
			threads++
			if !byID[s.InReplyToID] {
				t.Errorf("status %d replies to %d, not an earlier imported status", s.ID, s.InReplyToID)
			}
		}
		byID[s.ID] = true
	}
	if photos != st.Photos || threads != st.SelfReplies {
		t.Errorf("%d photos and %d thread replies, want %d and %d", photos, threads, st.Photos, st.SelfReplies)
	}
	if js, _ := e.store.JobStats(context.Background(), time.Now().Add(time.Hour)); js.Pending != 0 {
		t.Errorf("%d jobs queued: the import must deliver nothing", js.Pending)
	}
}
