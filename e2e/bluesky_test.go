package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rivo/uniseg"

	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/render"
)

// TestBlueskyMirror drives the real bridge binary against the reference
// PDS: posts made through the Mastodon client API appear on Bluesky as
// valid records, read back with com.atproto.repo.* and sync.getBlob.
func TestBlueskyMirror(t *testing.T) {
	pds := pdstest.StartT(t, pdstest.Options{})
	ctx := context.Background()
	acct, err := pds.CreateAccount(ctx, "villetest.test")
	if err != nil {
		t.Fatal(err)
	}
	api, cfgPath := startBlueskyBridge(t, pds, acct, BlueskyConfig{Handle: "city.example", Replies: "followers"})
	wait := func(t *testing.T, id, state string, d time.Duration) BlueskyDelivery {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		bd, err := api.WaitBluesky(wctx, id, state, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		return bd
	}
	rkey := func(uri string) string { return uri[strings.LastIndexByte(uri, '/')+1:] }

	var imageStatus string
	t.Run("link, hashtag and a 9 MB image", func(t *testing.T) {
		big := noisyJPEG(t, 3000, 2400, 9)
		if len(big) < 9_000_000 {
			t.Fatalf("the image is %d bytes", len(big))
		}
		mid, err := api.UploadMedia(ctx, big, "plan.jpg", "Plan du chantier de la rue Haute")
		if err != nil {
			t.Fatal(err)
		}
		link := "https://www.city.example/travaux?rue=haute&etape=2#plan"
		id, err := api.PostStatus(ctx, map[string]any{
			"status":    "Travaux rue Haute du 3 au 17 mars : " + link + " #Mobilité",
			"media_ids": []string{mid}, "language": "fr",
		})
		if err != nil {
			t.Fatal(err)
		}
		imageStatus = id
		bd := wait(t, id, "mirrored", 90*time.Second)
		if len(bd.URIs) != 1 {
			t.Fatalf("uris = %v", bd.URIs)
		}
		rec, err := pds.GetRecord(ctx, acct.DID, "app.bsky.feed.post", rkey(bd.URIs[0]))
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Text   string   `json:"text"`
			Langs  []string `json:"langs"`
			Facets []struct {
				Index    struct{ ByteStart, ByteEnd int }
				Features []map[string]string
			} `json:"facets"`
			Embed struct {
				Type   string `json:"$type"`
				Images []struct {
					Alt         string
					AspectRatio struct{ Width, Height int } `json:"aspectRatio"`
					Image       struct {
						Ref struct {
							Link string `json:"$link"`
						} `json:"ref"`
						MimeType string `json:"mimeType"`
						Size     int    `json:"size"`
					} `json:"image"`
				} `json:"images"`
			} `json:"embed"`
		}
		if err := json.Unmarshal(rec.Value, &p); err != nil {
			t.Fatal(err)
		}
		for i := range p.Facets {
			p.Facets[i].Index.ByteStart, p.Facets[i].Index.ByteEnd = facetIndex(rec.Value, i)
		}
		if len(p.Facets) != 2 {
			t.Fatalf("facets = %+v (text %q)", p.Facets, p.Text)
		}
		f0, f1 := p.Facets[0], p.Facets[1]
		if s := p.Text[f0.Index.ByteStart:f0.Index.ByteEnd]; s != "city.example/travaux?rue=haute…" ||
			f0.Features[0]["$type"] != "app.bsky.richtext.facet#link" || f0.Features[0]["uri"] != link {
			t.Errorf("link facet slices %q: %v", s, f0.Features)
		}
		if s := p.Text[f1.Index.ByteStart:f1.Index.ByteEnd]; s != "#Mobilité" ||
			f1.Features[0]["$type"] != "app.bsky.richtext.facet#tag" || f1.Features[0]["tag"] != "Mobilité" {
			t.Errorf("tag facet slices %q: %v", s, f1.Features)
		}
		if p.Embed.Type != "app.bsky.embed.images" || len(p.Embed.Images) != 1 {
			t.Fatalf("embed = %+v", p.Embed)
		}
		img := p.Embed.Images[0]
		if img.Alt != "Plan du chantier de la rue Haute" || img.AspectRatio.Width == 0 || img.AspectRatio.Height == 0 {
			t.Errorf("image = %+v", img)
		}
		blob, err := pds.GetBlob(ctx, acct.DID, img.Image.Ref.Link)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := image.DecodeConfig(bytes.NewReader(blob))
		if err != nil || c.Width != img.AspectRatio.Width || c.Height != img.AspectRatio.Height || max(c.Width, c.Height) > 2000 || len(blob) > 2_000_000 {
			t.Errorf("blob: %d bytes %dx%d (%v), aspectRatio %+v", len(blob), c.Width, c.Height, err, img.AspectRatio)
		}
		if len(p.Langs) != 1 || p.Langs[0] != "fr" {
			t.Errorf("langs = %v", p.Langs)
		}
		gate, err := pds.GetRecord(ctx, acct.DID, "app.bsky.feed.threadgate", rkey(bd.URIs[0]))
		if err != nil {
			t.Fatalf("no threadgate with the post's rkey: %v", err)
		}
		var g struct {
			Post  string           `json:"post"`
			Allow []map[string]any `json:"allow"`
		}
		_ = json.Unmarshal(gate.Value, &g)
		if g.Post != bd.URIs[0] || len(g.Allow) == 0 {
			t.Errorf("threadgate = %s", gate.Value)
		}
	})

	var threadStatus string
	var threadURIs []string
	t.Run("a 700-character status becomes a thread within the limits", func(t *testing.T) {
		// 700 characters as written; Mastodon counts each URL as 23,
		// so it fits its 500.
		links := "Programme : https://www.city.example/mediatheque/samedi/programme-complet-des-animations-pour-les-familles-et-les-enfants " +
			"Inscriptions : https://www.city.example/mediatheque/inscriptions/formulaire-en-ligne?atelier=contes&age=6-10&jour=samedi " +
			"Accès : https://www.city.example/plan-d-acces/mediatheque-centrale?depuis=gare&mode=pied&accessibilite=1 #Culture"
		text := links
		for uniseg.GraphemeClusterCount(text) < 700 {
			text = "La médiathèque ouvre ses portes aux familles ce samedi matin. " + text
		}
		if n, counted := uniseg.GraphemeClusterCount(text), render.CountCharacters(text); n < 700 || counted > 500 {
			t.Fatalf("text of %d characters, %d as Mastodon counts", n, counted)
		}
		id, err := api.PostStatus(ctx, map[string]any{"status": text, "language": "fr"})
		if err != nil {
			t.Fatal(err)
		}
		threadStatus = id
		bd := wait(t, id, "mirrored", 60*time.Second)
		if len(bd.URIs) < 2 {
			t.Fatalf("thread of %d posts", len(bd.URIs))
		}
		threadURIs = bd.URIs
		for i, uri := range bd.URIs {
			rec, err := pds.GetRecord(ctx, acct.DID, "app.bsky.feed.post", rkey(uri))
			if err != nil {
				t.Fatal(err)
			}
			var p struct {
				Text  string `json:"text"`
				Reply *struct {
					Root, Parent struct{ URI string }
				} `json:"reply"`
			}
			_ = json.Unmarshal(rec.Value, &p)
			if g := uniseg.GraphemeClusterCount(p.Text); g > 300 || len(p.Text) > 3000 {
				t.Errorf("post %d: %d graphemes, %d bytes", i, g, len(p.Text))
			}
			if i > 0 && (p.Reply == nil || p.Reply.Root.URI != bd.URIs[0] || p.Reply.Parent.URI != bd.URIs[i-1]) {
				t.Errorf("post %d: reply %+v", i, p.Reply)
			}
			for j := range facetCount(rec.Value) {
				s, e := facetIndex(rec.Value, j)
				if s < 0 || e > len(p.Text) || s >= e {
					t.Errorf("post %d facet %d [%d,%d) out of %d bytes", i, j, s, e, len(p.Text))
				}
			}
		}
	})

	t.Run("deleting the status deletes its records", func(t *testing.T) {
		if threadStatus == "" {
			t.Skip("no thread")
		}
		if err := api.DeleteStatus(ctx, threadStatus); err != nil {
			t.Fatal(err)
		}
		// The status is gone from the API (404): watch the PDS.
		left := func() []string {
			var out []string
			for _, uri := range threadURIs {
				if _, err := pds.GetRecord(ctx, acct.DID, "app.bsky.feed.post", rkey(uri)); err == nil {
					out = append(out, uri)
				}
			}
			if _, err := pds.GetRecord(ctx, acct.DID, "app.bsky.feed.threadgate", rkey(threadURIs[0])); err == nil {
				out = append(out, "threadgate "+rkey(threadURIs[0]))
			}
			return out
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(left()) > 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if l := left(); len(l) > 0 {
			t.Errorf("still on the PDS: %v", l)
		}
	})

	t.Run("/.well-known/atproto-did answers for the account's domain", func(t *testing.T) {
		req, _ := http.NewRequest("GET", api.BaseURL+"/.well-known/atproto-did", nil)
		req.Host = "city.example"
		resp, err := api.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != acct.DID || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("atproto-did: %d %q %s, want %s", resp.StatusCode, body, resp.Header.Get("Content-Type"), acct.DID)
		}
		req.Host = "other.example"
		if resp, err := api.Client.Do(req); err != nil || resp.StatusCode != 404 {
			t.Errorf("another host: %v %v", resp.StatusCode, err)
		}
	})

	t.Run("bridge status shows the mirror next to the delivery", func(t *testing.T) {
		if imageStatus == "" {
			t.Skip("no post")
		}
		t.Setenv("BSKY_APP_PASSWORD", acct.AppPassword)
		out, _, code := runBridge(t, "--config", cfgPath, "status", "--account", "news", imageStatus)
		if code != 0 || !strings.Contains(out, "BLUESKY") || !strings.Contains(out, "mirrored") || !strings.Contains(out, "bluesky: at://"+acct.DID) {
			t.Errorf("bridge status (%d):\n%s", code, out)
		}
	})

	t.Run("a PDS outage loses no post and duplicates none", func(t *testing.T) {
		outage := time.Minute
		if v := os.Getenv("BLUESKY_OUTAGE"); v != "" {
			if d, err := time.ParseDuration(v); err == nil {
				outage = d
			}
		}
		before, err := pds.ListRecords(ctx, acct.DID, "app.bsky.feed.post")
		if err != nil {
			t.Fatal(err)
		}
		pds.StopPDS()
		stopped := time.Now()
		var ids []string
		for i := range 3 {
			id, err := api.PostStatus(ctx, map[string]any{"status": "Pendant la coupure, message " + string(rune('1'+i))})
			if err != nil {
				t.Fatal(err) // the fediverse side keeps publishing
			}
			ids = append(ids, id)
		}
		time.Sleep(time.Until(stopped.Add(outage)))
		for _, id := range ids {
			d, err := api.Delivery(ctx, id)
			if err != nil || d.Bluesky == nil || d.Bluesky.State != "pending" {
				t.Errorf("status %s during the outage: %+v %v", id, d.Bluesky, err)
			}
		}
		restart := time.Now()
		if err := pds.StartPDS(); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		t.Logf("PDS stopped at %s, restarted at %s, ready at %s", stopped.UTC().Format("15:04:05.000"),
			restart.UTC().Format("15:04:05.000"), back.UTC().Format("15:04:05.000"))
		for _, id := range ids {
			wait(t, id, "mirrored", 2*time.Minute)
		}
		t.Logf("PDS down for %v; every post on Bluesky %v after it came back", outage.Round(time.Second), time.Since(back).Round(time.Millisecond))
		after, err := pds.ListRecords(ctx, acct.DID, "app.bsky.feed.post")
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before)+len(ids) {
			t.Errorf("%d posts after the outage, want %d", len(after), len(before)+len(ids))
		}
		seen := map[string]bool{}
		for _, r := range after {
			var p struct{ Text string }
			_ = json.Unmarshal(r.Value, &p)
			if seen[p.Text] {
				t.Errorf("posted twice: %q", p.Text)
			}
			seen[p.Text] = true
		}
	})
}

// facetCount and facetIndex read facets' byte ranges from a record.
// startBlueskyBridge starts the bridge binary with news mirrored to acct
// on pds (cfg's Config, PDSURL and Identifier are filled in), stopped when
// the test ends (its log shown if the test failed), and returns a client
// API with a "read write" token and the configuration's path.
func startBlueskyBridge(t *testing.T, pds *pdstest.Server, acct pdstest.Account, cfg BlueskyConfig) (API, string) {
	t.Helper()
	dir := t.TempDir()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Config = Config{Addr: addr, DSN: filepath.Join(dir, "data", "bridge.db")}
	cfg.PDSURL, cfg.Identifier = pds.URL, acct.Handle
	cfgPath, logPath := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "bridge.log")
	if err := os.WriteFile(cfgPath, []byte(cfg.YAML()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"BSKY_APP_PASSWORD=" + acct.AppPassword}
	proc, err := StartEnv(bridgeBin, cfgPath, logPath, cfg.BaseURL(), env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		proc.Kill()
		if t.Failed() || os.Getenv("E2E_BRIDGE_LOG") != "" {
			b, _ := os.ReadFile(logPath)
			if len(b) > 48<<10 {
				b = b[len(b)-48<<10:]
			}
			t.Logf("bridge log:\n%s", b)
		}
	})
	if err := proc.WaitHealthy(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	token, err := CreateToken(bridgeBin, cfgPath, env)
	if err != nil {
		t.Fatal(err)
	}
	return API{BaseURL: cfg.BaseURL(), Token: token, Client: Client(4)}, cfgPath
}

func facetCount(rec json.RawMessage) int {
	var p struct{ Facets []json.RawMessage }
	_ = json.Unmarshal(rec, &p)
	return len(p.Facets)
}

func facetIndex(rec json.RawMessage, i int) (int, int) {
	var p struct {
		Facets []struct {
			Index struct {
				ByteStart int `json:"byteStart"`
				ByteEnd   int `json:"byteEnd"`
			} `json:"index"`
		} `json:"facets"`
	}
	_ = json.Unmarshal(rec, &p)
	return p.Facets[i].Index.ByteStart, p.Facets[i].Index.ByteEnd
}

// noisyJPEG encodes random noise: it compresses badly, so that a few
// megapixels make megabytes.
func noisyJPEG(t testing.TB, w, h int, seed uint64) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < len(img.Pix); i += 4 {
		v := r.Uint32()
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(v), uint8(v>>8), uint8(v>>16), 0xff
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 96}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
