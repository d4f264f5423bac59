package atproto

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// videoRecord is the part of a post record with a video embed.
type videoRecord struct {
	Embed *struct {
		Type  string `json:"$type"`
		Alt   string `json:"alt"`
		Video *struct {
			Ref struct {
				Link string `json:"$link"`
			} `json:"ref"`
			MimeType string `json:"mimeType"`
			Size     int    `json:"size"`
		} `json:"video"`
		AspectRatio *struct {
			Width  int `json:"width"`
			Height int `json:"height"`
		} `json:"aspectRatio"`
		Captions []struct {
			Lang string `json:"lang"`
			File struct {
				Ref struct {
					Link string `json:"$link"`
				} `json:"ref"`
				MimeType string `json:"mimeType"`
			} `json:"file"`
		} `json:"captions"`
		External *struct {
			URI string `json:"uri"`
		} `json:"external"`
	} `json:"embed"`
}

// insertVideo stores a processed video (testdata/clip.mp4, an H.264/AAC
// mp4 made by package video) as package publish's video job leaves it.
func (e *env) insertVideo(alt, captions string, duration time.Duration) storage.Media {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "clip.mp4"))
	if err != nil {
		e.t.Fatal(err)
	}
	path := filepath.Join(e.t.TempDir(), "clip.mp4")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		e.t.Fatal(err)
	}
	m := storage.Media{Account: "news", MediaType: "video/mp4", Width: 160, Height: 120, Size: int64(len(data)),
		Description: alt, Duration: duration, Path: path, Captions: captions, CreatedAt: time.Now()}
	if captions != "" {
		m.CaptionsLang = "fr"
	}
	if m.ID, err = e.store.InsertMedia(e.ctx, m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// TestPDSVideo: the reference PDS accepts an app.bsky.embed.video record
// with the mp4 blob, alt text, aspect ratio and WebVTT captions; a video
// over Bluesky's 3 minutes becomes a link card to the post's page.
func TestPDSVideo(t *testing.T) {
	pds := sharedPDS(t)
	e := newEnv(t, pds, envOptions{})
	vtt := "WEBVTT\n\n00:00.000 --> 00:01.000\nBonjour à toutes et à tous\n"
	m := e.insertVideo("Le maire présente le budget", vtt, time.Second)
	st := e.post(publish.Draft{Text: "Message du maire", Language: "fr", MediaIDs: []int64{m.ID}})
	ps := e.waitState(st.ID, storage.BlueskyMirrored, 60*time.Second)
	posts := e.records(collPost)
	if len(posts) != 1 || posts[0].URI != ps.URIs[0] {
		t.Fatalf("posts = %+v", posts)
	}
	var rec videoRecord
	if err := json.Unmarshal(posts[0].Value, &rec); err != nil {
		t.Fatal(err)
	}
	v := rec.Embed
	if v == nil || v.Type != "app.bsky.embed.video" || v.Video == nil || v.Alt != "Le maire présente le budget" ||
		v.AspectRatio == nil || v.AspectRatio.Width != 160 || v.AspectRatio.Height != 120 || v.Video.MimeType != "video/mp4" {
		t.Fatalf("embed = %s", posts[0].Value)
	}
	blob, err := pds.GetBlob(e.ctx, e.acct.DID, v.Video.Ref.Link)
	want, _ := os.ReadFile(filepath.Join("testdata", "clip.mp4"))
	if err != nil || !bytes.Equal(blob, want) {
		t.Errorf("video blob: %d bytes, %v; want the %d bytes of the mp4", len(blob), err, len(want))
	}
	if len(v.Captions) != 1 || v.Captions[0].Lang != "fr" || v.Captions[0].File.MimeType != "text/vtt" {
		t.Fatalf("captions = %+v", v.Captions)
	}
	if b, err := pds.GetBlob(e.ctx, e.acct.DID, v.Captions[0].File.Ref.Link); err != nil || string(b) != vtt {
		t.Errorf("captions blob: %q, %v", b, err)
	}

	long := e.insertVideo("Conseil municipal", "", 4*time.Minute)
	st2 := e.post(publish.Draft{Text: "Le conseil municipal en entier", Language: "fr", MediaIDs: []int64{long.ID}})
	ps2 := e.waitState(st2.ID, storage.BlueskyMirrored, 60*time.Second)
	var rec2 videoRecord
	for _, p := range e.records(collPost) {
		if p.URI == ps2.URIs[0] {
			if err := json.Unmarshal(p.Value, &rec2); err != nil {
				t.Fatal(err)
			}
		}
	}
	if rec2.Embed == nil || rec2.Embed.Type != "app.bsky.embed.external" || rec2.Embed.External == nil ||
		rec2.Embed.External.URI != e.fed.Links().NoteURL("news", st2.ID) {
		t.Errorf("over Bluesky's limit: embed %+v, want a card to the post", rec2.Embed)
	}
}
