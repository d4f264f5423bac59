package federation

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// Note is one of our statuses, in plain Go, ready for encoding.
type Note struct {
	ID           string
	URL          string // HTML permalink
	AttributedTo string
	To, Cc       []string
	ContentHTML  string
	Language     string
	Summary      string // content warning
	Sensitive    bool
	Published    time.Time
	Updated      time.Time // zero when never edited
	InReplyTo    string
	Tags         []storage.StatusTag
	Mentions     []storage.StatusMention
	Attachments  []NoteAttachment
	// Replies and Quotes are the post's interaction policy settings
	// (accounts[].replies and .quotes, or the post's own; package policy).
	Replies, Quotes string
	// Poll makes the Note a Question (polls.go); nil: none.
	Poll *NotePoll
}

// NoteAttachment is a media attachment.
type NoteAttachment struct {
	URL       string
	MediaType string
	Name      string // alt text
	Blurhash  string
	Width     int
	Height    int
	FocusX    float64
	FocusY    float64
	// Videos: the duration and the poster frame's URL (a JPEG, sent as
	// the attachment's icon).
	Duration time.Duration
	Poster   string
}

// NoteFromStatus builds the Note of a stored status and its media.
func (s *Service) NoteFromStatus(st storage.Status, media []storage.Media) (Note, error) {
	actor := s.links.Actor(st.Account)
	n := Note{
		ID:           s.links.Note(st.Account, st.ID),
		URL:          s.links.NoteURL(st.Account, st.ID),
		AttributedTo: actor,
		ContentHTML:  st.ContentHTML,
		Language:     st.Language,
		Summary:      st.SpoilerText,
		Sensitive:    st.Sensitive || st.SpoilerText != "",
		Published:    st.CreatedAt,
		Updated:      st.EditedAt,
	}
	if la := s.accounts[st.Account]; la != nil {
		n.Replies, n.Quotes = la.cfg.Replies, la.cfg.Quotes
	}
	switch {
	case st.InReplyToURI != "":
		n.InReplyTo = st.InReplyToURI // a remote post
	case st.InReplyToID != 0:
		n.InReplyTo = s.links.Note(st.Account, st.InReplyToID)
	}
	n.Tags, n.Mentions = st.Tags, st.Mentions
	for _, m := range media {
		a := NoteAttachment{
			URL: s.links.Media(m.ID, m.MediaType), MediaType: m.MediaType, Name: m.Description,
			Blurhash: m.Blurhash, Width: m.Width, Height: m.Height, FocusX: m.FocusX, FocusY: m.FocusY,
		}
		if strings.HasPrefix(m.MediaType, "video/") {
			a.Duration, a.Poster = m.Duration, s.links.MediaPoster(m.ID)
		}
		n.Attachments = append(n.Attachments, a)
	}
	followers := actor + "/followers"
	var mentioned []string
	for _, m := range n.Mentions {
		mentioned = append(mentioned, m.ActorID)
	}
	switch st.Visibility {
	case storage.VisibilityUnlisted:
		n.To, n.Cc = []string{followers}, append([]string{asPublic}, mentioned...)
	case storage.VisibilityPrivate:
		n.To, n.Cc = []string{followers}, mentioned
	case storage.VisibilityDirect:
		n.To, n.Cc = mentioned, nil // the mentioned alone
	default:
		n.To, n.Cc = []string{asPublic}, append([]string{followers}, mentioned...)
	}
	return n, nil
}

// noteContext is the @context of notes and the activities carrying them.
var noteContext = []any{
	"https://www.w3.org/ns/activitystreams",
	map[string]any{
		"sensitive":  "as:sensitive",
		"Hashtag":    "as:Hashtag",
		"toot":       "http://joinmastodon.org/ns#",
		"blurhash":   "toot:blurhash",
		"focalPoint": map[string]any{"@container": "@list", "@id": "toot:focalPoint"},
	},
	interactionContext, // encode_interactions.go
}

// noteJSON is a Note as we send and serve it (Mastodon expects arrays
// for to, cc, tag and attachment).
type noteJSON struct {
	Context           any               `json:"@context,omitempty"`
	ID                string            `json:"id"`
	Type              string            `json:"type"`
	AttributedTo      string            `json:"attributedTo"`
	To                []string          `json:"to"`
	Cc                []string          `json:"cc"`
	Content           string            `json:"content"`
	ContentMap        map[string]string `json:"contentMap,omitempty"`
	Summary           string            `json:"summary,omitempty"`
	Sensitive         bool              `json:"sensitive"`
	Published         string            `json:"published"`
	Updated           string            `json:"updated,omitempty"`
	URL               string            `json:"url"`
	InReplyTo         string            `json:"inReplyTo,omitempty"`
	Tag               []tagJSON         `json:"tag"`
	Attachment        []documentJSON    `json:"attachment"`
	InteractionPolicy map[string]any    `json:"interactionPolicy"`
	// A Question's (polls.go).
	OneOf       []pollOptionJSON `json:"oneOf,omitempty"`
	AnyOf       []pollOptionJSON `json:"anyOf,omitempty"`
	EndTime     string           `json:"endTime,omitempty"`
	Closed      string           `json:"closed,omitempty"`
	VotersCount *int64           `json:"votersCount,omitempty"`
}

// tagJSON is a Mention or a Hashtag.
type tagJSON struct {
	Type string `json:"type"`
	Href string `json:"href"`
	Name string `json:"name"`
}

// documentJSON is a media attachment; name (the alt text) is null when
// there is none. A video is a Video (Mastodon reads any attachment by its
// mediaType; PeerTube and Fedify by the type) with its xsd:duration and
// its poster frame as icon.
type documentJSON struct {
	Type       string     `json:"type"`
	MediaType  string     `json:"mediaType"`
	URL        string     `json:"url"`
	Name       *string    `json:"name"`
	Blurhash   string     `json:"blurhash,omitempty"`
	Width      int        `json:"width,omitempty"`
	Height     int        `json:"height,omitempty"`
	Duration   string     `json:"duration,omitempty"`
	Icon       *imageJSON `json:"icon,omitempty"`
	FocalPoint [2]float64 `json:"focalPoint"`
}

// xsdDuration formats d as an xsd:duration in whole seconds ("PT93S"),
// at least one: fractions are valid xsd but go-fed (and the servers built
// on it, GoToSocial among them) read "PT92.5S" as zero; PeerTube sends
// whole seconds too.
func xsdDuration(d time.Duration) string {
	return "PT" + strconv.FormatInt(max(1, int64(d.Round(time.Second)/time.Second)), 10) + "S"
}

// noteDoc builds the document of n, without @context (set it when the
// note is not embedded).
func noteDoc(n Note) noteJSON {
	d := noteJSON{
		ID: n.ID, Type: "Note", AttributedTo: n.AttributedTo, To: orEmptyStrings(n.To), Cc: orEmptyStrings(n.Cc),
		Content: n.ContentHTML, Summary: n.Summary, Sensitive: n.Sensitive, Published: timeJSON(n.Published),
		URL: n.URL, InReplyTo: n.InReplyTo, Tag: []tagJSON{}, Attachment: []documentJSON{},
		InteractionPolicy: n.interactionPolicy(), // encode_interactions.go
	}
	if n.Language != "" {
		d.ContentMap = map[string]string{n.Language: n.ContentHTML}
	}
	if !n.Updated.IsZero() {
		d.Updated = timeJSON(n.Updated)
	}
	for _, m := range n.Mentions {
		d.Tag = append(d.Tag, tagJSON{Type: "Mention", Href: m.ActorID, Name: "@" + m.Handle})
	}
	for _, t := range n.Tags {
		d.Tag = append(d.Tag, tagJSON{Type: "Hashtag", Href: t.URL, Name: "#" + t.Name})
	}
	for _, a := range n.Attachments {
		doc := documentJSON{Type: "Document", MediaType: a.MediaType, URL: a.URL, Blurhash: a.Blurhash,
			FocalPoint: [2]float64{a.FocusX, a.FocusY}}
		if a.Name != "" {
			doc.Name = &a.Name
		}
		if a.Width > 0 && a.Height > 0 {
			doc.Width, doc.Height = a.Width, a.Height
		}
		if strings.HasPrefix(a.MediaType, "video/") {
			doc.Type = "Video"
			if a.Duration > 0 {
				doc.Duration = xsdDuration(a.Duration)
			}
			if a.Poster != "" {
				doc.Icon = &imageJSON{Type: "Image", MediaType: "image/jpeg", URL: a.Poster}
			}
		}
		d.Attachment = append(d.Attachment, doc)
	}
	if n.Poll != nil {
		pollFields(&d, n.Poll) // polls.go
	}
	return d
}

func orEmptyStrings(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// EncodeNote serialises a Note as a standalone document.
func EncodeNote(n Note) ([]byte, error) {
	d := noteDoc(n)
	d.Context = contextOf(n)
	return marshalJSON(d)
}

// EncodeNoteActivity wraps a Note in a Create or Update by actor.
func EncodeNoteActivity(typ string, n Note) ([]byte, error) {
	a := noteActivity(typ, n)
	a.Context = contextOf(n)
	return marshalJSON(a)
}

// noteActivity is the Create or Update of n, without @context.
func noteActivity(typ string, n Note) activityJSON {
	id := n.ID + "/activity"
	published := n.Published
	if typ == "Update" {
		published = n.Updated
		id = n.ID + "#updates/" + strconv.FormatInt(n.Updated.Unix(), 10)
	}
	return activityJSON{ID: id, Type: typ, Actor: n.AttributedTo, Published: timeJSON(published),
		To: orEmptyStrings(n.To), Cc: orEmptyStrings(n.Cc), Object: noteDoc(n)}
}

// EncodePolicyUpdate wraps a Note whose interaction policy changed at
// `at` in an Update with an id of its own ("#policy/" and the time).
func EncodePolicyUpdate(n Note, at time.Time) ([]byte, error) {
	a := noteActivity("Update", n)
	a.ID = n.ID + "#policy/" + strconv.FormatInt(at.UnixMicro(), 10)
	a.Published = timeJSON(at)
	a.Context = contextOf(n)
	return marshalJSON(a)
}

// EncodeDelete builds the Delete of a note: its object is a Tombstone.
func EncodeDelete(n Note) ([]byte, error) {
	return marshalJSON(activityJSON{Context: asContext, ID: n.ID + "#delete", Type: "Delete", Actor: n.AttributedTo,
		To: orEmptyStrings(n.To), Cc: orEmptyStrings(n.Cc), Object: tombstoneJSON{ID: n.ID, Type: "Tombstone"}})
}

// tombstoneJSON is a deleted object.
type tombstoneJSON struct {
	Context any    `json:"@context,omitempty"`
	ID      string `json:"id"`
	Type    string `json:"type"`
	Deleted string `json:"deleted,omitempty"`
}

// EncodeTombstone is what a deleted note's URL answers, with 410.
func EncodeTombstone(id string, deleted time.Time) ([]byte, error) {
	return marshalJSON(tombstoneJSON{Context: asContext, ID: id, Type: "Tombstone", Deleted: timeJSON(deleted)})
}

// EncodeFeaturedChange builds the Add (pin) or Remove (unpin) of a note to
// or from the featured collection.
func EncodeFeaturedChange(typ, actor, featured, noteID string) ([]byte, error) {
	if typ != "Add" && typ != "Remove" {
		return nil, fmt.Errorf("federation: featured change %q", typ)
	}
	return marshalJSON(activityJSON{Context: asContext,
		ID:   featured + "#" + strings.ToLower(typ) + "/" + shortHash(noteID+time.Now().String()),
		Type: typ, Actor: actor, To: []string{asPublic}, Cc: []string{actor + "/followers"}, Object: noteID, Target: featured})
}
