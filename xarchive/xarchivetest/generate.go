// Package xarchivetest writes realistic X archives for tests and
// benchmarks: the layout, file names and JSON shapes of X's data export,
// with threads, replies to other accounts, retweets, links, mentions,
// hashtags, escaped entities, photos (small JPEG and PNG files) and
// videos.
package xarchivetest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// Options shape a generated archive.
type Options struct {
	Tweets      int    // number of tweets
	Username    string // default "VilleDeTest"
	AccountID   string // default "1234567890"
	DisplayName string // default "Ville de Test"
	// Parts splits the tweets into tweets.js, tweets-part1.js, ...
	// (default 1).
	Parts int
	// Legacy writes data/tweet.js with bare tweet objects (older
	// exports) instead of data/tweets.js with {"tweet": {...}}.
	Legacy bool
	// Start is the date of the oldest tweet (default 2014-01-01); tweets
	// follow every 3 hours 17 minutes.
	Start time.Time
	Seed  uint64
	// NoMedia leaves the photos out of the zip (a partial archive).
	NoMedia bool
}

// Stats describe what was generated.
type Stats struct {
	Tweets          int
	Retweets        int
	RepliesToOthers int
	SelfReplies     int // replies to the previous own tweet (threads)
	Originals       int
	Photos          int // photo files, in tweets to import
	PhotoTweets     int
	Videos          int // videos, in tweets to import
	VideoOnly       int // tweets with a video and no text
	Importable      int // Originals + SelfReplies (the default selection)
	Oldest, Newest  time.Time
	OldestID        string
	NewestID        string
}

const twitterEpochMS = 1288834974657

type kind int

const (
	original kind = iota
	retweet
	replyOther
	selfReply
)

// gen derives everything about tweet i from the seed, so tweets can be
// written newest first without being kept in memory.
type gen struct {
	o    Options
	imgs [][]byte // a few images, reused
	exts []string
}

func (g *gen) rng(i int) *rand.Rand { return rand.New(rand.NewPCG(g.o.Seed, uint64(i))) }

func (g *gen) kind(i int) kind {
	r := g.rng(i).IntN(100)
	switch {
	case r < 10:
		return retweet
	case r < 20:
		return replyOther
	case r < 35 && i > 0 && (g.kind(i-1) == original || g.kind(i-1) == selfReply):
		return selfReply
	}
	return original
}

func (g *gen) at(i int) time.Time {
	return g.o.Start.Add(time.Duration(i) * (3*time.Hour + 17*time.Minute)).Add(time.Duration(i%1000) * time.Millisecond)
}

func (g *gen) id(i int) string {
	ms := g.at(i).UnixMilli() - twitterEpochMS
	return strconv.FormatInt(ms<<22|int64(i%4096), 10)
}

type media struct {
	ID            string `json:"id_str"`
	Type          string `json:"type"`
	URL           string `json:"url"`
	ExpandedURL   string `json:"expanded_url"`
	DisplayURL    string `json:"display_url"`
	MediaURL      string `json:"media_url"`
	MediaURLHTTPS string `json:"media_url_https"`
	ExtAltText    string `json:"ext_alt_text,omitempty"`
	file          []byte
	name          string
}

type tweet struct {
	EditInfo         map[string]any `json:"edit_info"`
	Retweeted        bool           `json:"retweeted"`
	Source           string         `json:"source"`
	Entities         map[string]any `json:"entities"`
	DisplayTextRange [2]string      `json:"display_text_range"`
	FavoriteCount    string         `json:"favorite_count"`
	IDStr            string         `json:"id_str"`
	Truncated        bool           `json:"truncated"`
	RetweetCount     string         `json:"retweet_count"`
	ID               string         `json:"id"`
	PossiblySens     bool           `json:"possibly_sensitive"`
	CreatedAt        string         `json:"created_at"`
	Favorited        bool           `json:"favorited"`
	FullText         string         `json:"full_text"`
	Lang             string         `json:"lang"`
	InReplyToStatus  string         `json:"in_reply_to_status_id_str,omitempty"`
	InReplyToUser    string         `json:"in_reply_to_user_id_str,omitempty"`
	InReplyToName    string         `json:"in_reply_to_screen_name,omitempty"`
	ExtendedEntities map[string]any `json:"extended_entities,omitempty"`
}

var topics = []string{
	"The council meets on Thursday at 6 pm in the town hall",
	"Roadworks on Main Street: traffic is diverted until Friday",
	"The summer festival programme is out",
	"Registration for school canteens opens on Monday",
	"The municipal library extends its opening hours",
	"Heatwave: the cool rooms of the town hall are open",
	"Waste collection is moved to Saturday this week",
	"Vote for the participatory budget projects",
}

// tweet builds tweet i and its media.
func (g *gen) tweet(i int, st *Stats) (tweet, []media) {
	r := g.rng(i)
	r.IntN(100) // the kind's draw
	k := g.kind(i)
	id := g.id(i)
	text := topics[r.IntN(len(topics))] + fmt.Sprintf(" (%d).", i)
	t := tweet{
		EditInfo: map[string]any{"initial": map[string]any{"editTweetIds": []string{id}, "editableUntil": "2018-10-10T21:19:24.000Z", "editsRemaining": "5", "isEditEligible": true}},
		Source:   `<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>`,
		IDStr:    id, ID: id, FavoriteCount: strconv.Itoa(r.IntN(50)), RetweetCount: strconv.Itoa(r.IntN(20)),
		CreatedAt: g.at(i).UTC().Format("Mon Jan 02 15:04:05 -0700 2006"), Lang: []string{"fr", "en", "fr", "und"}[r.IntN(4)],
	}
	urls := []any{}
	mentions := []any{}
	hashtags := []any{}
	var ms []media
	switch k {
	case retweet:
		st.Retweets++
		t.Retweeted = r.IntN(2) == 0
		text = "RT @PrefectureTest: " + text
		mentions = append(mentions, map[string]any{"name": "Préfecture", "screen_name": "PrefectureTest", "id_str": "42", "indices": []string{"3", "18"}})
	case replyOther:
		st.RepliesToOthers++
		t.InReplyToStatus, t.InReplyToUser, t.InReplyToName = strconv.Itoa(1000+i), "777", "citizen"+strconv.Itoa(i%50)
		prefix := "@" + t.InReplyToName + " "
		text = prefix + "Thanks for your message, we forwarded it to the services."
		t.DisplayTextRange[0] = strconv.Itoa(len(prefix))
	case selfReply:
		st.SelfReplies++
		t.InReplyToStatus, t.InReplyToUser, t.InReplyToName = g.id(i-1), g.o.AccountID, g.o.Username
		text = "More details: " + text
	default:
		st.Originals++
	}
	own := k == original || k == selfReply
	if i%3 == 0 {
		short := "https://t.co/" + fmt.Sprintf("u%09d", i)
		text += " " + short
		urls = append(urls, map[string]any{"url": short, "expanded_url": fmt.Sprintf("https://www.city.example/news/%d", i), "display_url": "city.example/news/…"})
	}
	if i%7 == 0 && k != replyOther {
		text += " with @MairieAnnexe"
		mentions = append(mentions, map[string]any{"name": "Annexe", "screen_name": "MairieAnnexe", "id_str": "43"})
	}
	if i%4 == 0 {
		text += " #VilleDeTest"
		hashtags = append(hashtags, map[string]any{"text": "VilleDeTest"})
	}
	if i%11 == 0 {
		text += " Q&amp;A: 3 &lt; 4"
	}
	switch {
	case own && k == original && i%37 == 5:
		// A video: not imported, linked.
		short := fmt.Sprintf("https://t.co/v%09d", i)
		mid := strconv.Itoa(900000000 + i)
		ms = append(ms, media{ID: mid, Type: "video", URL: short, ExpandedURL: "https://x.com/" + g.o.Username + "/status/" + id + "/video/1",
			MediaURL: "http://pbs.twimg.com/ext_tw_video_thumb/" + mid + "/pu/img/thumb.jpg"})
		if i%2 == 0 {
			text = short // a video alone
			st.VideoOnly++
		} else {
			text += " " + short
		}
		st.Videos++
	case i%5 == 0:
		n := 1 + r.IntN(2)
		for j := range n {
			short := fmt.Sprintf("https://t.co/p%09d", i) // all photos of a tweet share one link
			mid := strconv.Itoa(800000000 + i*4 + j)
			v := (i + j) % len(g.imgs)
			name := fmt.Sprintf("P%dx%d.%s", i, j, g.exts[v])
			m := media{ID: mid, Type: "photo", URL: short, ExpandedURL: "https://x.com/" + g.o.Username + "/status/" + id + "/photo/1",
				MediaURL: "http://pbs.twimg.com/media/" + name, MediaURLHTTPS: "https://pbs.twimg.com/media/" + name,
				file: g.imgs[v], name: id + "-" + name}
			if j == 0 && i%10 == 0 {
				m.ExtAltText = "Photo " + strconv.Itoa(i) + " of the city"
			}
			ms = append(ms, m)
		}
		text += " " + ms[0].URL
		if own {
			st.Photos += n
			st.PhotoTweets++
		}
	}
	t.FullText = text
	t.DisplayTextRange[1] = strconv.Itoa(len([]rune(text)))
	if t.DisplayTextRange[0] == "" {
		t.DisplayTextRange[0] = "0"
	}
	t.Entities = map[string]any{"hashtags": hashtags, "symbols": []any{}, "user_mentions": mentions, "urls": urls}
	if len(ms) > 0 {
		t.Entities["media"] = []media{ms[0]}
		t.ExtendedEntities = map[string]any{"media": ms}
	}
	if own {
		st.Importable++
		if st.Oldest.IsZero() || g.at(i).Before(st.Oldest) {
			st.Oldest, st.OldestID = g.at(i), id
		}
		if g.at(i).After(st.Newest) {
			st.Newest, st.NewestID = g.at(i), id
		}
	}
	return t, ms
}

// Write writes an archive of o.Tweets tweets to w.
func Write(w io.Writer, o Options) (Stats, error) {
	if o.Username == "" {
		o.Username = "VilleDeTest"
	}
	if o.AccountID == "" {
		o.AccountID = "1234567890"
	}
	if o.DisplayName == "" {
		o.DisplayName = "Ville de Test"
	}
	if o.Parts <= 0 {
		o.Parts = 1
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2014, 1, 1, 8, 0, 0, 0, time.UTC)
	}
	g := &gen{o: o}
	for v := range 4 {
		img, ext, err := sampleImage(v)
		if err != nil {
			return Stats{}, err
		}
		g.imgs, g.exts = append(g.imgs, img), append(g.exts, ext)
	}
	st := Stats{Tweets: o.Tweets}
	zw := zip.NewWriter(w)
	acc, err := zw.Create("data/account.js")
	if err != nil {
		return st, err
	}
	accJSON, _ := json.Marshal([]any{map[string]any{"account": map[string]any{
		"email": "communication@city.example", "createdVia": "web", "username": o.Username,
		"accountId": o.AccountID, "createdAt": "2010-03-01T10:00:00.000Z", "accountDisplayName": o.DisplayName,
	}}})
	fmt.Fprintf(acc, "window.YTD.account.part0 = %s", accJSON)

	base := "tweets"
	if o.Legacy {
		base = "tweet"
	}
	perPart := (o.Tweets + o.Parts - 1) / max(o.Parts, 1)
	var photos []media
	i := o.Tweets - 1 // newest first, as X writes them
	for p := range o.Parts {
		name := "data/" + base + ".js"
		if p > 0 {
			name = fmt.Sprintf("data/%s-part%d.js", base, p)
		}
		f, err := zw.Create(name)
		if err != nil {
			return st, err
		}
		bw := bufio.NewWriter(f)
		fmt.Fprintf(bw, "window.YTD.%s.part%d = [ ", base, p)
		for n := 0; n < perPart && i >= 0; n, i = n+1, i-1 {
			t, ms := g.tweet(i, &st)
			var v any = map[string]any{"tweet": t}
			if o.Legacy {
				v = t
			}
			b, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				return st, err
			}
			if n > 0 {
				bw.WriteString(", ")
			}
			bw.Write(b)
			for _, m := range ms {
				if m.file != nil {
					photos = append(photos, media{name: m.name, file: m.file})
				}
			}
		}
		bw.WriteString(" ]")
		if err := bw.Flush(); err != nil {
			return st, err
		}
	}
	if !o.NoMedia {
		for _, m := range photos {
			f, err := zw.CreateHeader(&zip.FileHeader{Name: "data/tweets_media/" + m.name, Method: zip.Store})
			if err != nil {
				return st, err
			}
			if _, err := f.Write(m.file); err != nil {
				return st, err
			}
		}
	}
	// Other files of a real archive, which the import ignores.
	for _, name := range []string{"data/like.js", "data/follower.js", "Your archive.html"} {
		f, err := zw.Create(name)
		if err != nil {
			return st, err
		}
		fmt.Fprintf(f, "window.YTD.%s.part0 = [ ]", strings.TrimSuffix(strings.TrimPrefix(name, "data/"), ".js"))
	}
	return st, zw.Close()
}

// WriteFile writes an archive to path.
func WriteFile(path string, o Options) (Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return Stats{}, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	st, err := Write(bw, o)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return st, err
}

// sampleImage returns a small photo: JPEG or PNG, 64×48 pixels.
func sampleImage(v int) ([]byte, string, error) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x*4 + v*40), uint8(y*5 + v*20), uint8(128 + v*30), 255})
		}
	}
	var b bytes.Buffer
	if v%2 == 1 {
		err := png.Encode(&b, img)
		return b.Bytes(), "png", err
	}
	err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
	return b.Bytes(), "jpg", err
}
