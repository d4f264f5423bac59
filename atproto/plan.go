package atproto

import (
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/render"
	"github.com/passerelle/passerelle/storage"
)

// A status becomes one record, or a thread of records when it is too long
// (long_posts: thread) or has more images than one record holds. The plan
// depends only on the status and the account's settings, so that it is the
// same when the job is queued (to choose the record keys) and when it runs.

// recordPlan is one record of a status's thread.
type recordPlan struct {
	text   Text
	images []int // indexes into the status's media
	// card is the URL of the link card (app.bsky.embed.external), "" for
	// none; noteCard says it is the status's own page (a truncated post),
	// described from the status itself rather than fetched.
	card     string
	noteCard bool
	// video: the record carries the status's video (media[videoAt]).
	video   bool
	videoAt int
}

type postPlan struct {
	records   []recordPlan
	truncated bool
}

// plan cuts st into records. media are the status's media (nil when only
// their number, len(st.MediaIDs), is known); handles are the fediverse
// handles written as Bluesky mentions (the others are written in full,
// @user@server).
func (m *Mirror) plan(a *account, st storage.Status, media []storage.Media, handles map[string]string) postPlan {
	if vi := videoIndex(media); vi >= 0 { // video.go
		return m.planVideo(a, st, media, vi, handles)
	}
	nMedia := len(st.MediaIDs)
	if media != nil {
		nMedia = len(media)
	}
	full := Compose(st.Text, st.SpoilerText, ComposeOptions{Handles: handles, LocalDomain: m.set.HandleDomain})
	pollURL := ""
	if poll := m.pollOf(st); poll != nil { // poll.go
		if m.set.NoteURL != nil {
			pollURL = m.set.NoteURL(st.Account, st.ID)
		}
		full = withPoll(full, poll, pollURL)
	}

	if a.Bluesky.LongPosts == config.LongPostsTruncate {
		suffix := Text{Text: "…"}
		noteURL := ""
		if m.set.NoteURL != nil {
			noteURL = m.set.NoteURL(st.Account, st.ID)
		}
		if nMedia > 0 && noteURL != "" {
			// No room for a link card next to the images: link the
			// original post in the text.
			short := render.ShortURL(noteURL)
			suffix = Text{Text: "…\n" + short, Facets: []Facet{{Kind: FacetLink, Start: len("…\n"), End: len("…\n" + short), Value: noteURL}}}
		}
		text, truncated := Truncate(full, suffix, MaxGraphemes, MaxBytes)
		rp := recordPlan{text: text, images: indexes(0, min(nMedia, MaxImages))}
		switch {
		case truncated && nMedia == 0 && noteURL != "":
			rp.card, rp.noteCard = noteURL, true
		case nMedia == 0:
			rp.card = firstLink(text)
		}
		return postPlan{records: []recordPlan{rp}, truncated: truncated}
	}

	texts := Split(full, MaxGraphemes, MaxBytes)
	groups := (nMedia + MaxImages - 1) / MaxImages
	for len(texts) < groups {
		texts = append(texts, Text{}) // images only
	}
	var p postPlan
	cardDone := nMedia > 0 // a link card only when there are no images
	for i, t := range texts {
		rp := recordPlan{text: t, images: indexes(i*MaxImages, min(nMedia, (i+1)*MaxImages))}
		if !cardDone {
			if u := firstLink(t); u != "" {
				rp.card, cardDone = u, true
				rp.noteCard = u == pollURL && pollURL != "" // the post's own page: described from the status
			}
		}
		p.records = append(p.records, rp)
	}
	return p
}

// planVideo plans a status with a video: planned as a text-only status,
// then the first record carries the video when Bluesky takes it, or else
// a card to the post's page (where the video plays) instead of any other
// link card.
func (m *Mirror) planVideo(a *account, st storage.Status, media []storage.Media, vi int, handles map[string]string) postPlan {
	text := st
	text.MediaIDs = nil
	p := m.plan(a, text, []storage.Media{}, handles)
	rp := &p.records[0]
	rp.card, rp.noteCard = "", false
	switch {
	case videoFits(media[vi]):
		rp.video, rp.videoAt = true, vi
	case m.set.NoteURL != nil:
		rp.card, rp.noteCard = m.set.NoteURL(st.Account, st.ID), true
	}
	return p
}

// firstLink is the URI of t's first link facet, or "".
func firstLink(t Text) string {
	for _, f := range t.Facets {
		if f.Kind == FacetLink {
			return f.Value
		}
	}
	return ""
}

// indexes returns [from, to).
func indexes(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}
