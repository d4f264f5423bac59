package archive_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/archive"
	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// fixture: news with three live posts (one followers-only, one with two
// images, one stored in the database and one in a file) and a deleted one.
func fixture(t *testing.T) (*federation.Service, storage.Store, map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	fed := bridgetest.New(t, bridgetest.Options{Store: store, BaseURL: "https://social.city.example",
		Accounts: []config.Account{{Username: "news", DisplayName: "Ville de Test", Type: "Organization"}, {Username: "mayor", Type: "Person"}},
	}).Fed
	files := map[string][]byte{}
	png := []byte("\x89PNG\r\n\x1a\n fake png")
	jpg := []byte("\xff\xd8\xff fake jpeg")
	inDB, err := store.InsertMedia(ctx, storage.Media{Account: "news", MediaType: "image/png", Description: "The town hall", Data: png, Size: int64(len(png))})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.jpg")
	if err := os.WriteFile(path, jpg, 0o600); err != nil {
		t.Fatal(err)
	}
	inFile, err := store.InsertMedia(ctx, storage.Media{Account: "news", MediaType: "image/jpeg", Path: path, Size: int64(len(jpg))})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	posts := []storage.Status{
		{Text: "First", ContentHTML: "<p>First &amp; oldest</p>", Visibility: storage.VisibilityPublic},
		{Text: "Pictures", ContentHTML: "<p>Pictures</p>", Visibility: storage.VisibilityPublic, MediaIDs: []int64{inDB, inFile}},
		{Text: "Followers", ContentHTML: "<p>Followers</p>", Visibility: storage.VisibilityPrivate},
		{Text: "Gone", ContentHTML: "<p>Gone</p>", Visibility: storage.VisibilityPublic},
	}
	for i, p := range posts {
		p.Account, p.CreatedAt = "news", start.Add(time.Duration(i)*time.Hour)
		id, err := store.InsertStatus(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if p.Text == "Gone" {
			if err := store.DeleteStatus(ctx, "news", id, start.Add(time.Hour*24)); err != nil {
				t.Fatal(err)
			}
		}
	}
	m1, _ := store.GetMedia(ctx, inDB)
	m2, _ := store.GetMedia(ctx, inFile)
	files[archive.MediaPath(m1)] = png
	files[archive.MediaPath(m2)] = jpg
	return fed, store, files
}

func TestWriteArchive(t *testing.T) {
	fed, store, media := fixture(t)
	tests := []struct {
		name string
		out  string
		read func(t *testing.T, out string) map[string][]byte
	}{
		{"directory", "archive", readDir},
		{"zip", "archive.zip", readZip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), tt.out)
			sink, err := archive.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := archive.Write(context.Background(), fed, store, "news", sink, func(m storage.Media, err error) {
				t.Errorf("media %d missing: %v", m.ID, err)
			})
			if cerr := sink.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			if sum.Posts != 3 || sum.Media != 2 || sum.MissingMedia != 0 {
				t.Errorf("summary = %+v, want 3 posts, 2 media", sum)
			}
			checkArchive(t, tt.read(t, out), media)
		})
	}
}

func checkArchive(t *testing.T, files map[string][]byte, media map[string][]byte) {
	t.Helper()
	for _, name := range []string{"outbox.json", "actor.json", "likes.json", "bookmarks.json"} {
		if !json.Valid(files[name]) {
			t.Fatalf("%s is missing or not valid JSON", name)
		}
	}
	var outbox struct {
		Context      any    `json:"@context"`
		ID           string `json:"id"`
		Type         string `json:"type"`
		TotalItems   int    `json:"totalItems"`
		OrderedItems []struct {
			Context any    `json:"@context"`
			ID      string `json:"id"`
			Type    string `json:"type"`
			Actor   string `json:"actor"`
			Object  struct {
				ID         string   `json:"id"`
				Type       string   `json:"type"`
				Content    string   `json:"content"`
				To         []string `json:"to"`
				Published  string   `json:"published"`
				Attachment []struct {
					Type      string `json:"type"`
					MediaType string `json:"mediaType"`
					URL       string `json:"url"`
					Name      string `json:"name"`
				} `json:"attachment"`
			} `json:"object"`
		} `json:"orderedItems"`
	}
	if err := json.Unmarshal(files["outbox.json"], &outbox); err != nil {
		t.Fatal(err)
	}
	if outbox.ID != "outbox.json" || outbox.Type != "OrderedCollection" || outbox.TotalItems != 3 || len(outbox.OrderedItems) != 3 || outbox.Context == nil {
		t.Fatalf("outbox: id %q type %q totalItems %d, %d items, @context %v", outbox.ID, outbox.Type, outbox.TotalItems, len(outbox.OrderedItems), outbox.Context)
	}
	const actor = "https://social.city.example/users/news"
	wantContent := []string{"<p>First &amp; oldest</p>", "<p>Pictures</p>", "<p>Followers</p>"}
	for i, it := range outbox.OrderedItems {
		if it.Type != "Create" || it.Actor != actor || it.Object.Type != "Note" || it.Context != nil ||
			!strings.HasPrefix(it.Object.ID, actor+"/statuses/") || it.Object.Content != wantContent[i] {
			t.Errorf("item %d = %+v", i, it)
		}
	}
	if to := outbox.OrderedItems[2].Object.To; len(to) != 1 || to[0] != actor+"/followers" {
		t.Errorf("followers-only post addressed to %v", to)
	}
	att := outbox.OrderedItems[1].Object.Attachment
	if len(att) != 2 || att[0].Name != "The town hall" || att[0].MediaType != "image/png" {
		t.Fatalf("attachments = %+v", att)
	}
	for _, a := range att {
		want, ok := media[a.URL]
		if !ok || !strings.HasPrefix(a.URL, "media_attachments/") {
			t.Errorf("attachment url %q is not a media path of the archive", a.URL)
			continue
		}
		if !bytes.Equal(files[a.URL], want) {
			t.Errorf("%s: %d bytes in the archive, want the %d stored", a.URL, len(files[a.URL]), len(want))
		}
	}
	var actorDoc map[string]any
	json.Unmarshal(files["actor.json"], &actorDoc)
	if actorDoc["id"] != actor || actorDoc["outbox"] != "outbox.json" || actorDoc["likes"] != "likes.json" || actorDoc["bookmarks"] != "bookmarks.json" {
		t.Errorf("actor.json = id %v outbox %v likes %v bookmarks %v", actorDoc["id"], actorDoc["outbox"], actorDoc["likes"], actorDoc["bookmarks"])
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func readZip(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
	}
	return files
}

func TestWriteArchiveEmptyAndMissingMedia(t *testing.T) {
	fed, store, _ := fixture(t)
	ctx := context.Background()
	out := t.TempDir()
	sink, _ := archive.Open(out)
	if _, err := archive.Write(ctx, fed, store, "nobody", sink, nil); err == nil {
		t.Error("Write of an unknown account succeeded")
	}
	sink.Close()
	// An account without posts: a valid, empty outbox.
	sink, _ = archive.Open(out)
	sum, err := archive.Write(ctx, fed, store, "mayor", sink, nil)
	sink.Close()
	if err != nil || sum.Posts != 0 {
		t.Fatalf("empty archive: %+v, %v", sum, err)
	}
	files := readDir(t, out)
	var outbox map[string]any
	if err := json.Unmarshal(files["outbox.json"], &outbox); err != nil || outbox["totalItems"] != float64(0) {
		t.Errorf("empty outbox = %s (%v)", files["outbox.json"], err)
	}
	// A media file gone from disk is left out and reported; its post keeps
	// the bridge's URL.
	rows, _ := store.ListStatuses(ctx, storage.StatusPage{Account: "news", Limit: 10})
	for _, st := range rows {
		ms, _ := store.ListStatusMedia(ctx, st.ID)
		for _, m := range ms {
			if m.Path != "" {
				os.Remove(m.Path)
			}
		}
	}
	out = t.TempDir()
	sink, _ = archive.Open(out)
	var missing int
	sum, err = archive.Write(ctx, fed, store, "news", sink, func(storage.Media, error) { missing++ })
	sink.Close()
	if err != nil || sum.Media != 1 || sum.MissingMedia != 1 || missing != 1 {
		t.Errorf("with a missing file: %+v, %d reported, %v", sum, missing, err)
	}
	if !strings.Contains(string(readDir(t, out)["outbox.json"]), `"https://social.city.example/media/`) {
		t.Error("the missing media's attachment does not keep its URL on the bridge")
	}
}
