package federation

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

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
	Tags         []NoteTag
	Mentions     []NoteMention
	Attachments  []NoteAttachment
	// Replies and Quotes are the post's interaction policy settings
	// (accounts[].replies and .quotes, or the post's own; package policy).
	Replies, Quotes string
}

// NoteTag is a hashtag. The publishing layer stores []NoteTag as the JSON
// of storage.Status.Tags.
type NoteTag struct {
	Name string `json:"name"` // without '#'
	URL  string `json:"url"`
}

// NoteMention is a resolved mention. The publishing layer stores
// []NoteMention as the JSON of storage.Status.Mentions.
type NoteMention struct {
	Handle     string `json:"handle"` // user@domain
	ActorID    string `json:"actor_id"`
	ProfileURL string `json:"profile_url,omitempty"`
	Inbox      string `json:"inbox,omitempty"` // where to deliver, when known
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
}

// NoteID is the AS2 id of a status.
func (s *Service) NoteID(account string, id int64) string {
	return s.ActorID(account) + "/statuses/" + strconv.FormatInt(id, 10)
}

// NoteURL is the HTML permalink of a status.
func (s *Service) NoteURL(account string, id int64) string {
	return s.ProfileURL(account) + "/" + strconv.FormatInt(id, 10)
}

// MediaURL is where a media file is served.
func (s *Service) MediaURL(id int64, mediaType string) string {
	ext := ""
	switch mediaType {
	case "image/jpeg":
		ext = ".jpg"
	case "image/png":
		ext = ".png"
	case "image/gif":
		ext = ".gif"
	case "image/webp":
		ext = ".webp"
	}
	return s.set.BaseURL + "/media/" + strconv.FormatInt(id, 10) + ext
}

// TagURL is the bridge's page for a hashtag.
func (s *Service) TagURL(name string) string {
	return s.set.BaseURL + "/tags/" + strings.ToLower(name)
}

// NoteFromStatus builds the Note of a stored status and its media.
func (s *Service) NoteFromStatus(st storage.Status, media []storage.Media) (Note, error) {
	actor := s.ActorID(st.Account)
	n := Note{
		ID:           s.NoteID(st.Account, st.ID),
		URL:          s.NoteURL(st.Account, st.ID),
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
	if st.InReplyToID != 0 {
		n.InReplyTo = s.NoteID(st.Account, st.InReplyToID)
	}
	if len(st.Tags) > 0 {
		if err := json.Unmarshal(st.Tags, &n.Tags); err != nil {
			return Note{}, fmt.Errorf("federation: status %d tags: %w", st.ID, err)
		}
	}
	if len(st.Mentions) > 0 {
		if err := json.Unmarshal(st.Mentions, &n.Mentions); err != nil {
			return Note{}, fmt.Errorf("federation: status %d mentions: %w", st.ID, err)
		}
	}
	for _, m := range media {
		n.Attachments = append(n.Attachments, NoteAttachment{
			URL: s.MediaURL(m.ID, m.MediaType), MediaType: m.MediaType, Name: m.Description,
			Blurhash: m.Blurhash, Width: m.Width, Height: m.Height, FocusX: m.FocusX, FocusY: m.FocusY,
		})
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

// noteType builds the go-fed Note; noteMap adds what go-fed v1 lacks.
func noteType(n Note) vocab.ActivityStreamsNote {
	note := streams.NewActivityStreamsNote()
	note.SetJSONLDId(idProp(n.ID))
	at := streams.NewActivityStreamsAttributedToProperty()
	at.AppendIRI(mustIRI(n.AttributedTo))
	note.SetActivityStreamsAttributedTo(at)
	to := streams.NewActivityStreamsToProperty()
	for _, v := range n.To {
		to.AppendIRI(mustIRI(v))
	}
	note.SetActivityStreamsTo(to)
	cc := streams.NewActivityStreamsCcProperty()
	for _, v := range n.Cc {
		cc.AppendIRI(mustIRI(v))
	}
	note.SetActivityStreamsCc(cc)
	content := streams.NewActivityStreamsContentProperty()
	content.AppendXMLSchemaString(n.ContentHTML)
	note.SetActivityStreamsContent(content)
	if n.Summary != "" {
		sum := streams.NewActivityStreamsSummaryProperty()
		sum.AppendXMLSchemaString(n.Summary)
		note.SetActivityStreamsSummary(sum)
	}
	pub := streams.NewActivityStreamsPublishedProperty()
	pub.Set(n.Published.UTC().Truncate(time.Second))
	note.SetActivityStreamsPublished(pub)
	if !n.Updated.IsZero() {
		up := streams.NewActivityStreamsUpdatedProperty()
		up.Set(n.Updated.UTC().Truncate(time.Second))
		note.SetActivityStreamsUpdated(up)
	}
	u := streams.NewActivityStreamsUrlProperty()
	u.AppendIRI(mustIRI(n.URL))
	note.SetActivityStreamsUrl(u)
	if n.InReplyTo != "" {
		irt := streams.NewActivityStreamsInReplyToProperty()
		irt.AppendIRI(mustIRI(n.InReplyTo))
		note.SetActivityStreamsInReplyTo(irt)
	}
	if len(n.Mentions) > 0 {
		tags := streams.NewActivityStreamsTagProperty()
		for _, m := range n.Mentions {
			mt := streams.NewActivityStreamsMention()
			href := streams.NewActivityStreamsHrefProperty()
			href.Set(mustIRI(m.ActorID))
			mt.SetActivityStreamsHref(href)
			name := streams.NewActivityStreamsNameProperty()
			name.AppendXMLSchemaString("@" + m.Handle)
			mt.SetActivityStreamsName(name)
			tags.AppendActivityStreamsMention(mt)
		}
		note.SetActivityStreamsTag(tags)
	}
	if len(n.Attachments) > 0 {
		att := streams.NewActivityStreamsAttachmentProperty()
		for _, a := range n.Attachments {
			doc := streams.NewActivityStreamsDocument()
			mt := streams.NewActivityStreamsMediaTypeProperty()
			mt.Set(a.MediaType)
			doc.SetActivityStreamsMediaType(mt)
			du := streams.NewActivityStreamsUrlProperty()
			du.AppendIRI(mustIRI(a.URL))
			doc.SetActivityStreamsUrl(du)
			if a.Blurhash != "" {
				bh := streams.NewTootBlurhashProperty()
				bh.Set(a.Blurhash)
				doc.SetTootBlurhash(bh)
			}
			att.AppendActivityStreamsDocument(doc)
		}
		note.SetActivityStreamsAttachment(att)
	}
	return note
}

// noteMap serialises a Note with Mastodon's extensions.
func noteMap(n Note) (map[string]any, error) {
	m, err := streams.Serialize(noteType(n))
	if err != nil {
		return nil, fmt.Errorf("federation: serialise note: %w", err)
	}
	m["@context"] = noteContext
	m["sensitive"] = n.Sensitive
	if n.Language != "" {
		m["contentMap"] = map[string]string{n.Language: n.ContentHTML}
	}
	// Mastodon expects arrays for to/cc/tag/attachment.
	m["to"] = toAny(n.To)
	m["cc"] = toAny(n.Cc)
	var tags []any
	for _, m := range n.Mentions {
		tags = append(tags, map[string]any{"type": "Mention", "href": m.ActorID, "name": "@" + m.Handle})
	}
	for _, t := range n.Tags {
		// go-fed v1 has no Hashtag type.
		tags = append(tags, map[string]any{"type": "Hashtag", "href": t.URL, "name": "#" + t.Name})
	}
	m["tag"] = orEmpty(tags)
	var atts []any
	for _, a := range n.Attachments {
		d := map[string]any{"type": "Document", "mediaType": a.MediaType, "url": a.URL, "name": nilIfEmpty(a.Name)}
		if a.Blurhash != "" {
			d["blurhash"] = a.Blurhash
		}
		if a.Width > 0 && a.Height > 0 {
			d["width"], d["height"] = a.Width, a.Height
		}
		d["focalPoint"] = []float64{a.FocusX, a.FocusY}
		atts = append(atts, d)
	}
	m["attachment"] = orEmpty(atts)
	m["interactionPolicy"] = n.interactionPolicy() // encode_interactions.go
	return m, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func orEmpty(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// EncodeNote serialises a Note as a standalone document.
func EncodeNote(n Note) ([]byte, error) {
	m, err := noteMap(n)
	if err != nil {
		return nil, err
	}
	return marshalJSON(m)
}

// EncodeNoteActivity wraps a Note in a Create or Update by actor.
func EncodeNoteActivity(typ string, n Note) ([]byte, error) {
	m, err := noteActivityMap(typ, n)
	if err != nil {
		return nil, err
	}
	return marshalJSON(m)
}

func noteActivityMap(typ string, n Note) (map[string]any, error) {
	nm, err := noteMap(n)
	if err != nil {
		return nil, err
	}
	delete(nm, "@context")
	id := n.ID + "/activity"
	published := n.Published
	if typ == "Update" {
		published = n.Updated
		id = n.ID + "#updates/" + strconv.FormatInt(n.Updated.Unix(), 10)
	}
	return map[string]any{
		"@context":  noteContext,
		"id":        id,
		"type":      typ,
		"actor":     n.AttributedTo,
		"published": published.UTC().Truncate(time.Second).Format(time.RFC3339),
		"to":        toAny(n.To),
		"cc":        toAny(n.Cc),
		"object":    nm,
	}, nil
}

// EncodeDelete builds the Delete of a note: its object is a Tombstone.
func EncodeDelete(n Note) ([]byte, error) {
	del := streams.NewActivityStreamsDelete()
	del.SetJSONLDId(idProp(n.ID + "#delete"))
	a := streams.NewActivityStreamsActorProperty()
	a.AppendIRI(mustIRI(n.AttributedTo))
	del.SetActivityStreamsActor(a)
	ts := streams.NewActivityStreamsTombstone()
	ts.SetJSONLDId(idProp(n.ID))
	obj := streams.NewActivityStreamsObjectProperty()
	obj.AppendActivityStreamsTombstone(ts)
	del.SetActivityStreamsObject(obj)
	m, err := streams.Serialize(del)
	if err != nil {
		return nil, fmt.Errorf("federation: serialise delete: %w", err)
	}
	m["to"] = toAny(n.To)
	m["cc"] = toAny(n.Cc)
	return marshalJSON(m)
}

// EncodeTombstone is what a deleted note's URL answers, with 410.
func EncodeTombstone(id string, deleted time.Time) ([]byte, error) {
	ts := streams.NewActivityStreamsTombstone()
	ts.SetJSONLDId(idProp(id))
	d := streams.NewActivityStreamsDeletedProperty()
	d.Set(deleted.UTC().Truncate(time.Second))
	ts.SetActivityStreamsDeleted(d)
	return serialize(ts)
}

// EncodeFeaturedChange builds the Add (pin) or Remove (unpin) of a note to
// or from the featured collection.
func EncodeFeaturedChange(typ, actor, featured, noteID string) ([]byte, error) {
	var act interface {
		vocab.Type
		SetJSONLDId(vocab.JSONLDIdProperty)
		SetActivityStreamsActor(vocab.ActivityStreamsActorProperty)
		SetActivityStreamsObject(vocab.ActivityStreamsObjectProperty)
		SetActivityStreamsTarget(vocab.ActivityStreamsTargetProperty)
	}
	switch typ {
	case "Add":
		act = streams.NewActivityStreamsAdd()
	case "Remove":
		act = streams.NewActivityStreamsRemove()
	default:
		return nil, fmt.Errorf("federation: featured change %q", typ)
	}
	act.SetJSONLDId(idProp(featured + "#" + strings.ToLower(typ) + "/" + shortHash(noteID+time.Now().String())))
	a := streams.NewActivityStreamsActorProperty()
	a.AppendIRI(mustIRI(actor))
	act.SetActivityStreamsActor(a)
	o := streams.NewActivityStreamsObjectProperty()
	o.AppendIRI(mustIRI(noteID))
	act.SetActivityStreamsObject(o)
	t := streams.NewActivityStreamsTargetProperty()
	t.AppendIRI(mustIRI(featured))
	act.SetActivityStreamsTarget(t)
	m, err := streams.Serialize(act)
	if err != nil {
		return nil, fmt.Errorf("federation: serialise %s: %w", typ, err)
	}
	m["to"] = []any{asPublic}
	m["cc"] = []any{actor + "/followers"}
	return marshalJSON(m)
}
