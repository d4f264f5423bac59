package atproto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// postRecord is the part of app.bsky.feed.post the tests read back.
type postRecord struct {
	Type      string   `json:"$type"`
	Text      string   `json:"text"`
	CreatedAt string   `json:"createdAt"`
	Langs     []string `json:"langs"`
	Facets    []struct {
		Index struct {
			ByteStart int `json:"byteStart"`
			ByteEnd   int `json:"byteEnd"`
		} `json:"index"`
		Features []struct {
			Type string `json:"$type"`
			URI  string `json:"uri"`
			Tag  string `json:"tag"`
			DID  string `json:"did"`
		} `json:"features"`
	} `json:"facets"`
	Embed *struct {
		Type   string `json:"$type"`
		Images []struct {
			Alt         string `json:"alt"`
			AspectRatio *struct {
				Width  int `json:"width"`
				Height int `json:"height"`
			} `json:"aspectRatio"`
			Image struct {
				Ref struct {
					Link string `json:"$link"`
				} `json:"ref"`
				MimeType string `json:"mimeType"`
				Size     int    `json:"size"`
			} `json:"image"`
		} `json:"images"`
		External *struct {
			URI         string `json:"uri"`
			Title       string `json:"title"`
			Description string `json:"description"`
			Thumb       *struct {
				Ref struct {
					Link string `json:"$link"`
				} `json:"ref"`
				Size int `json:"size"`
			} `json:"thumb"`
		} `json:"external"`
	} `json:"embed"`
	Reply *struct {
		Root   struct{ URI, CID string } `json:"root"`
		Parent struct{ URI, CID string } `json:"parent"`
	} `json:"reply"`
	Labels *struct {
		Type   string `json:"$type"`
		Values []struct {
			Val string `json:"val"`
		} `json:"values"`
	} `json:"labels"`
}

// labelValues lists a record's self-labels, "" when it has none.
func (p postRecord) labelValues() string {
	if p.Labels == nil {
		return ""
	}
	var vs []string
	for _, v := range p.Labels.Values {
		vs = append(vs, v.Val)
	}
	return p.Labels.Type + ":" + strings.Join(vs, ",")
}

// TestPDSSensitiveMediaLabelled: a sensitive post's record with images
// carries the configured self-label, which the PDS takes; the same post
// not sensitive, or sensitive without media, carries none.
func TestPDSSensitiveMediaLabelled(t *testing.T) {
	pds := sharedPDS(t)
	tests := []struct {
		name      string
		label     string // bluesky.sensitive_label; "": the default
		sensitive bool
		cw        bool // a content warning (sensitive, as on Mastodon)
		image     bool
		want      string
	}{
		{name: "sensitive image, default label", sensitive: true, image: true, want: "com.atproto.label.defs#selfLabels:graphic-media"},
		{name: "content warning and image, nudity", label: config.LabelNudity, cw: true, image: true, want: "com.atproto.label.defs#selfLabels:nudity"},
		{name: "image not sensitive", image: true},
		{name: "content warning, text only", cw: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, pds, envOptions{bluesky: func(b *config.Bluesky) { b.SensitiveLabel = tt.label }})
			d := publish.Draft{Text: "Exercice incendie à la mairie", Sensitive: tt.sensitive}
			if tt.cw {
				d.SpoilerText = "Photos de l'exercice"
			}
			if tt.image {
				d.MediaIDs = []int64{e.upload(noisyJPEG(t, 400, 300, 80, 2), "Les pompiers devant la mairie").ID}
			}
			st := e.post(d)
			e.waitState(st.ID, storage.BlueskyMirrored, 60*time.Second)
			p := decodePost(t, e.records(collPost)[0])
			if got := p.labelValues(); got != tt.want {
				t.Errorf("labels = %q, want %q", got, tt.want)
			}
			if tt.cw && !strings.HasPrefix(p.Text, "CW: Photos de l'exercice\n") {
				t.Errorf("text = %q: the content warning leads", p.Text)
			}
		})
	}
}

func decodePost(t *testing.T, r pdstest.Record) postRecord {
	t.Helper()
	var p postRecord
	if err := json.Unmarshal(r.Value, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// facetTexts returns, for each facet, the text its byte range covers and
// its feature ("link:URI", "tag:TAG", "mention:DID").
func facetTexts(t *testing.T, p postRecord) []string {
	t.Helper()
	var out []string
	for _, f := range p.Facets {
		if f.Index.ByteStart < 0 || f.Index.ByteEnd > len(p.Text) || f.Index.ByteStart >= f.Index.ByteEnd {
			t.Fatalf("facet %+v out of the text's %d bytes", f.Index, len(p.Text))
		}
		s := p.Text[f.Index.ByteStart:f.Index.ByteEnd]
		for _, feat := range f.Features {
			switch feat.Type {
			case "app.bsky.richtext.facet#link":
				out = append(out, s+" => link:"+feat.URI)
			case "app.bsky.richtext.facet#tag":
				out = append(out, s+" => tag:"+feat.Tag)
			case "app.bsky.richtext.facet#mention":
				out = append(out, s+" => mention:"+feat.DID)
			}
		}
	}
	return out
}

func TestPDSPostWithLinkTagAndLargeImage(t *testing.T) {
	pds := sharedPDS(t)
	e := newEnv(t, pds, envOptions{replies: config.RepliesFollowers})
	big := noisyJPEG(t, 3000, 2400, 96, 1)
	if len(big) < 9_000_000 {
		t.Fatalf("test image is %d bytes, want a large one", len(big))
	}
	m := e.upload(big, "Plan des travaux de la rue Haute")
	st := e.post(publish.Draft{
		Text:     "Travaux rue Haute : https://www.city.example/travaux?rue=haute&etape=2 #Mobilité",
		Language: "fr", MediaIDs: []int64{m.ID},
	})
	ps := e.waitState(st.ID, storage.BlueskyMirrored, 60*time.Second)
	if len(ps.URIs) != 1 {
		t.Fatalf("URIs = %v", ps.URIs)
	}
	posts := e.records(collPost)
	if len(posts) != 1 || posts[0].URI != ps.URIs[0] {
		t.Fatalf("posts = %+v, want %s", posts, ps.URIs[0])
	}
	p := decodePost(t, posts[0])
	if p.Text != "Travaux rue Haute : city.example/travaux?rue=haute… #Mobilité" {
		t.Errorf("text = %q", p.Text)
	}
	want := []string{
		"city.example/travaux?rue=haute… => link:https://www.city.example/travaux?rue=haute&etape=2",
		"#Mobilité => tag:Mobilité",
	}
	if got := facetTexts(t, p); !slices.Equal(got, want) {
		t.Errorf("facets = %q, want %q", got, want)
	}
	if !slices.Equal(p.Langs, []string{"fr"}) {
		t.Errorf("langs = %v", p.Langs)
	}
	if want := st.CreatedAt.UTC().Format(time.RFC3339); !strings.HasPrefix(p.CreatedAt, want[:19]) {
		t.Errorf("createdAt = %s, want %s", p.CreatedAt, want)
	}
	if p.Embed == nil || p.Embed.Type != "app.bsky.embed.images" || len(p.Embed.Images) != 1 {
		t.Fatalf("embed = %+v", p.Embed)
	}
	img := p.Embed.Images[0]
	if img.Alt != "Plan des travaux de la rue Haute" || img.AspectRatio == nil {
		t.Errorf("image = %+v", img)
	}
	if img.Image.Size > config.DefaultBlueskyImageMaxBytes {
		t.Errorf("blob of %d bytes", img.Image.Size)
	}
	blob, err := pds.GetBlob(e.ctx, e.acct.DID, img.Image.Ref.Link)
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(blob))
	if err != nil || len(blob) != img.Image.Size || len(blob) > 2_000_000 {
		t.Fatalf("blob: %d bytes, %s, %v", len(blob), format, err)
	}
	if max(cfg.Width, cfg.Height) > MaxImageSide || cfg.Width != img.AspectRatio.Width || cfg.Height != img.AspectRatio.Height {
		t.Errorf("blob is %dx%d, aspectRatio %+v", cfg.Width, cfg.Height, img.AspectRatio)
	}
	t.Logf("9 MB image: %d bytes %dx%d -> blob %d bytes %dx%d", len(big), 3000, 2400, len(blob), cfg.Width, cfg.Height)

	// The threadgate has the post's record key and the replies rule.
	gates := e.records(collThreadgate)
	if len(gates) != 1 || gates[0].RKey() != posts[0].RKey() {
		t.Fatalf("threadgates = %+v", gates)
	}
	var tg struct {
		Post  string            `json:"post"`
		Allow []json.RawMessage `json:"allow"`
	}
	_ = json.Unmarshal(gates[0].Value, &tg)
	if tg.Post != posts[0].URI || len(tg.Allow) != 2 || !strings.Contains(string(tg.Allow[1]), "followerRule") {
		t.Errorf("threadgate = %s", gates[0].Value)
	}
	if pg := e.records(collPostgate); len(pg) != 0 {
		t.Errorf("postgates with quotes allowed: %+v", pg)
	}
}

func TestPDSLongPostBecomesThread(t *testing.T) {
	pds := sharedPDS(t)
	e := newEnv(t, pds, envOptions{bluesky: func(b *config.Bluesky) { b.Quotes = config.QuotesDisallow }})
	sentence := "Le conseil municipal se réunira jeudi à 18 h dans la salle des fêtes de la mairie. "
	text := strings.TrimSpace(strings.Repeat(sentence, 8)) + " #Conseil https://city.example/conseil?date=2025-03-06"
	if n := len([]rune(text)); n < 700 {
		t.Fatalf("text of %d characters", n)
	}
	st := e.post(publish.Draft{Text: text, Language: "fr"})
	ps := e.waitState(st.ID, storage.BlueskyMirrored, 60*time.Second)
	if len(ps.URIs) < 3 {
		t.Fatalf("thread of %d posts: %v", len(ps.URIs), ps.URIs)
	}
	byURI := map[string]pdstest.Record{}
	for _, r := range e.records(collPost) {
		byURI[r.URI] = r
	}
	var joined []string
	for i, uri := range ps.URIs {
		r, ok := byURI[uri]
		if !ok {
			t.Fatalf("post %s not on the PDS", uri)
		}
		p := decodePost(t, r)
		if g := Graphemes(p.Text); g > MaxGraphemes || len(p.Text) > MaxBytes {
			t.Errorf("post %d: %d graphemes, %d bytes", i, g, len(p.Text))
		}
		joined = append(joined, p.Text)
		switch {
		case i == 0 && p.Reply != nil:
			t.Errorf("the first post is a reply")
		case i > 0 && (p.Reply == nil || p.Reply.Root.URI != ps.URIs[0] || p.Reply.Parent.URI != ps.URIs[i-1]):
			t.Errorf("post %d reply = %+v", i, p.Reply)
		}
		if i < len(ps.URIs)-1 && !strings.HasSuffix(p.Text, ".") {
			t.Errorf("post %d not cut after a sentence: %q", i, p.Text)
		}
		for _, f := range facetTexts(t, p) {
			if f != "#Conseil => tag:Conseil" && f != "city.example/conseil?date=2025… => link:https://city.example/conseil?date=2025-03-06" {
				t.Errorf("post %d facet %q", i, f)
			}
		}
	}
	if strings.Join(strings.Fields(strings.Join(joined, " ")), " ") != strings.Join(strings.Fields(Compose(text, "", ComposeOptions{}).Text), " ") {
		t.Errorf("the thread does not add up to the post:\n%q", joined)
	}
	// One threadgate (the root's), a postgate per post (quotes: disallow).
	if tg := e.records(collThreadgate); len(tg) != 1 || tg[0].RKey() != byURI[ps.URIs[0]].RKey() {
		t.Errorf("threadgates = %+v", tg)
	}
	if pg := e.records(collPostgate); len(pg) != len(ps.URIs) {
		t.Errorf("%d postgates for %d posts", len(pg), len(ps.URIs))
	}

	// Deleting the status deletes every record.
	if _, err := e.pub.Delete(e.ctx, "news", st.ID); err != nil {
		t.Fatal(err)
	}
	e.waitState(st.ID, storage.BlueskyDeleted, 30*time.Second)
	for _, c := range []string{collPost, collThreadgate, collPostgate} {
		if rs := e.records(c); len(rs) != 0 {
			t.Errorf("%s left after the delete: %+v", c, rs)
		}
	}
	if recs, _ := e.store.ListBlueskyRecords(e.ctx, st.ID); len(recs) != 0 {
		t.Errorf("mapping left after the delete: %+v", recs)
	}
}

func TestPDSEdits(t *testing.T) {
	pds := sharedPDS(t)
	t.Run("recreate", func(t *testing.T) {
		e := newEnv(t, pds, envOptions{})
		st := e.post(publish.Draft{Text: "Première version #v1"})
		first := e.waitState(st.ID, storage.BlueskyMirrored, 30*time.Second)
		if _, err := e.pub.Edit(e.ctx, "news", st.ID, publish.Draft{Text: "Seconde version #v2"}); err != nil {
			t.Fatal(err)
		}
		var second *PostStatus
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if second = e.waitState(st.ID, storage.BlueskyMirrored, 30*time.Second); len(second.URIs) == 1 && second.URIs[0] != first.URIs[0] {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		posts := e.records(collPost)
		if len(posts) != 1 || posts[0].URI != second.URIs[0] || second.URIs[0] == first.URIs[0] {
			t.Fatalf("after the edit: posts %+v, mapping %v (before %v)", posts, second.URIs, first.URIs)
		}
		if p := decodePost(t, posts[0]); p.Text != "Seconde version #v2" {
			t.Errorf("text = %q", p.Text)
		}
		if tg := e.records(collThreadgate); len(tg) != 1 || tg[0].RKey() != posts[0].RKey() {
			t.Errorf("threadgates = %+v", tg)
		}
	})
	t.Run("ignore", func(t *testing.T) {
		e := newEnv(t, pds, envOptions{bluesky: func(b *config.Bluesky) { b.Edits = config.EditsIgnore }})
		st := e.post(publish.Draft{Text: "Version unique"})
		first := e.waitState(st.ID, storage.BlueskyMirrored, 30*time.Second)
		if _, err := e.pub.Edit(e.ctx, "news", st.ID, publish.Draft{Text: "Modifiée"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		posts := e.records(collPost)
		if len(posts) != 1 || posts[0].URI != first.URIs[0] || decodePost(t, posts[0]).Text != "Version unique" {
			t.Errorf("edits: ignore changed the post: %+v", posts)
		}
	})
}

func TestPDSThreadgateForEachRepliesValue(t *testing.T) {
	pds := sharedPDS(t)
	tests := []struct {
		replies string
		allow   string // JSON of allow, "" when absent
	}{
		{config.RepliesEveryone, ""},
		{config.RepliesFollowers, `[{"$type":"app.bsky.feed.threadgate#mentionRule"},{"$type":"app.bsky.feed.threadgate#followerRule"}]`},
		{config.RepliesFollowing, `[{"$type":"app.bsky.feed.threadgate#mentionRule"},{"$type":"app.bsky.feed.threadgate#followingRule"}]`},
		{config.RepliesMentioned, `[{"$type":"app.bsky.feed.threadgate#mentionRule"}]`},
		{config.RepliesNobody, `[]`},
	}
	acct, err := pds.CreateAccount(t.Context(), newHandle("gates"))
	if err != nil {
		t.Fatal(err)
	}
	clock := syntax.NewTIDClock(1)
	for _, tt := range tests {
		t.Run(tt.replies, func(t *testing.T) {
			rkey := clock.Next().String()
			uri := "at://" + acct.DID + "/app.bsky.feed.post/" + rkey
			rec := threadgate(policy.Replies(tt.replies), uri, time.Now())
			// The real PDS validates it against the lexicon.
			body := map[string]any{"repo": acct.DID, "collection": collThreadgate, "rkey": rkey, "record": rec}
			if err := pds.XRPC(t.Context(), http.MethodPost, "com.atproto.repo.createRecord", acct.AccessJWT, nil, body, nil); err != nil {
				t.Fatal(err)
			}
			got, err := pds.GetRecord(t.Context(), acct.DID, collThreadgate, rkey)
			if err != nil {
				t.Fatal(err)
			}
			var v struct {
				Allow *json.RawMessage `json:"allow"`
			}
			_ = json.Unmarshal(got.Value, &v)
			gotAllow := ""
			if v.Allow != nil {
				gotAllow = string(*v.Allow)
			}
			if gotAllow != tt.allow {
				t.Errorf("allow = %s, want %s", gotAllow, tt.allow)
			}
		})
	}
}

func TestPDSLinkCard(t *testing.T) {
	pds := sharedPDS(t)
	thumb := photoJPEG(t, 1600, 900, 3)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/article":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><html><head><title>Fallback</title>
<meta property="og:title" content="Fermeture de la piscine">
<meta property="og:description" content="La piscine municipale ferme pour travaux du 3 au 17 mars.">
<meta property="og:image" content="/img/piscine.jpg"></head><body>…</body></html>`)
		case "/img/piscine.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(thumb)
		default:
			http.NotFound(w, r)
		}
	}))
	defer site.Close()
	// Links to IP addresses are not linked (as on Mastodon): the page is
	// www.city.example, which the card client reaches at the test server.
	cards := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 5 * time.Second})
	cards.Transport = redirectHost{to: strings.TrimPrefix(site.URL, "http://"), base: cards.Transport}
	e := newEnv(t, pds, envOptions{cards: cards})
	page := "http://www.city.example/article?id=7"
	st := e.post(publish.Draft{Text: "À lire : " + page})
	e.waitState(st.ID, storage.BlueskyMirrored, 30*time.Second)
	p := decodePost(t, e.records(collPost)[0])
	if p.Embed == nil || p.Embed.Type != "app.bsky.embed.external" || p.Embed.External == nil {
		t.Fatalf("embed = %+v", p.Embed)
	}
	ext := p.Embed.External
	if ext.URI != page || ext.Title != "Fermeture de la piscine" || !strings.HasPrefix(ext.Description, "La piscine municipale") || ext.Thumb == nil {
		t.Fatalf("card = %+v", ext)
	}
	blob, err := pds.GetBlob(e.ctx, e.acct.DID, ext.Thumb.Ref.Link)
	if err != nil || len(blob) > 1_000_000 {
		t.Errorf("thumb: %d bytes, %v", len(blob), err)
	}
}

func TestPDSTruncate(t *testing.T) {
	pds := sharedPDS(t)
	e := newEnv(t, pds, envOptions{bluesky: func(b *config.Bluesky) { b.LongPosts = config.LongPostsTruncate }})
	text := strings.Repeat("Une information importante pour tous les habitants du quartier. ", 10)
	st := e.post(publish.Draft{Text: text})
	ps := e.waitState(st.ID, storage.BlueskyMirrored, 30*time.Second)
	if len(ps.URIs) != 1 {
		t.Fatalf("URIs = %v", ps.URIs)
	}
	p := decodePost(t, e.records(collPost)[0])
	if !strings.HasSuffix(p.Text, "…") || Graphemes(p.Text) > MaxGraphemes {
		t.Errorf("text = %q (%d graphemes)", p.Text, Graphemes(p.Text))
	}
	if p.Embed == nil || p.Embed.External == nil || p.Embed.External.URI != e.fed.Links().NoteURL("news", st.ID) || p.Embed.External.Title != "Ville de Test" {
		t.Errorf("card = %+v", p.Embed)
	}
}

func TestPDSMentions(t *testing.T) {
	pds := sharedPDS(t)
	alice, err := pds.CreateAccount(t.Context(), newHandle("alice"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, pds, envOptions{bluesky: func(b *config.Bluesky) {
		b.Handles = config.BlueskyHandles{"alice@social.example": alice.Handle, "ghost@social.example": "ghost-nobody.test"}
	}})
	// The fediverse side resolves mentions with WebFinger; none answers
	// here, so the mentions stay text there, and the Bluesky side maps them.
	st := e.post(publish.Draft{Text: "Merci @alice@social.example et @ghost@social.example et @bob@other.example !"})
	e.waitState(st.ID, storage.BlueskyMirrored, 30*time.Second)
	p := decodePost(t, e.records(collPost)[0])
	// ghost's configured handle does not resolve: written as on the
	// fediverse (docs/bluesky.md), not as a handle that leads nowhere.
	if p.Text != "Merci @"+alice.Handle+" et @ghost@social.example et @bob@other.example !" {
		t.Errorf("text = %q", p.Text)
	}
	want := []string{"@" + alice.Handle + " => mention:" + alice.DID}
	if got := facetTexts(t, p); !slices.Equal(got, want) {
		t.Errorf("facets = %q, want %q", got, want)
	}
}

// redirectHost sends every request to another host:port, keeping the URL
// and Host header (a test DNS).
type redirectHost struct {
	to   string
	base http.RoundTripper
}

func (r redirectHost) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Host = req.URL.Host
	req.URL.Host = r.to
	return r.base.RoundTrip(req)
}

// TestPDSOnPostgres runs the mirror on a PostgreSQL store: a thread
// created, then deleted.
func TestPDSOnPostgres(t *testing.T) {
	storagetest.PostgresURL(t) // skip (or fail under CI) without a database
	pds := sharedPDS(t)
	e := newEnv(t, pds, envOptions{store: storagetest.OpenPostgres(t)})
	st := e.post(publish.Draft{Text: strings.Repeat("Une phrase pour PostgreSQL. ", 20) + "#pg"})
	ps := e.waitState(st.ID, storage.BlueskyMirrored, 30*time.Second)
	if len(ps.URIs) < 2 || len(e.records(collPost)) != len(ps.URIs) {
		t.Fatalf("thread %v, %d posts on the PDS", ps.URIs, len(e.records(collPost)))
	}
	if _, err := e.pub.Delete(e.ctx, "news", st.ID); err != nil {
		t.Fatal(err)
	}
	e.waitState(st.ID, storage.BlueskyDeleted, 30*time.Second)
	if n := len(e.records(collPost)); n != 0 {
		t.Errorf("%d posts left", n)
	}
}

// TestPDSPoll: a post with a poll is mirrored with its options as text
// and a link to vote on the fediverse, which the reference PDS accepts.
func TestPDSPoll(t *testing.T) {
	pds := sharedPDS(t)
	e := newEnv(t, pds, envOptions{})
	st := e.post(publish.Draft{Text: "Quel jour pour le marché ?",
		Poll: &publish.PollDraft{Options: []string{"Samedi", "Dimanche"}, ExpiresIn: 3600}})
	e.waitState(st.ID, storage.BlueskyMirrored, 30*time.Second)
	recs := e.records(collPost)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	p := decodePost(t, recs[0])
	if !strings.Contains(p.Text, "Quel jour pour le marché ?\n\n☐ Samedi\n☐ Dimanche\nVote: ") {
		t.Fatalf("text = %q", p.Text)
	}
	if n := Graphemes(p.Text); n > MaxGraphemes {
		t.Errorf("%d graphemes", n)
	}
	noteURL := e.fed.Links().NoteURL("news", st.ID)
	linked := false
	for _, f := range p.Facets {
		for _, ft := range f.Features {
			if ft.Type == "app.bsky.richtext.facet#link" && ft.URI == noteURL && p.Text[f.Index.ByteStart:f.Index.ByteEnd] != "" {
				linked = true
			}
		}
	}
	if !linked {
		t.Errorf("no link facet to %s in %+v", noteURL, p.Facets)
	}
}
