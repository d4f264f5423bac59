package federation

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"github.com/passerelle/passerelle/httpsig"
)

// This file is the inbound half of the ActivityStreams conversion layer:
// go-fed's streams vocabulary decodes what remote servers send (it copes with
// the many shapes of the same property: IRI, embedded object, array) and the
// rest of the program only sees the plain types below.

// MaxJSONDepth bounds the nesting of inbound JSON documents.
const MaxJSONDepth = 32

// Activity is an inbound activity reduced to what we act on.
type Activity struct {
	ID    string
	Type  string
	Actor string
	// Object is the activity's object: its id, and, when the object was
	// embedded, its type and (for an embedded activity such as the Follow of
	// an Undo) its own actor and object ids.
	Object Object
	// Objects lists the ids of every object, for activities that have
	// several (a Flag names the reported actor and posts).
	Objects []string
	// Note is the post a Create or Update carries, or the post a
	// QuoteRequest's instrument embeds; nil otherwise.
	Note *InboundNote
	// Instrument is the id of a QuoteRequest's quoting post.
	Instrument string
	// Content is the activity's own content (a Flag's comment), raw.
	Content string
	// Target is the activity's target id (a Move's new account).
	Target string
}

// InboundNote is a remote post (Note, Article, Page, Question) reduced to
// what we show and check. Its HTML and text are as received: sanitise
// them (package sanitize) before storing or showing them.
type InboundNote struct {
	ID           string
	Type         string
	AttributedTo string
	URL          string
	ContentHTML  string
	Summary      string
	Sensitive    bool
	Language     string
	InReplyTo    string
	Mentions     []string // hrefs of the Mention tags
	// Quote is the quoted post: FEP-044f's quote, or the older quoteUrl,
	// quoteUri and _misskey_quote.
	Quote     string
	Published time.Time
	To, Cc    []string
	// Name is the post's name: a poll vote's choice (inbound_vote.go).
	Name string
}

// Object is an activity's object.
type Object struct {
	ID     string
	Type   string // empty when the object was given as a bare IRI
	Actor  string // for embedded activities
	Object string // for embedded activities: their object's id
}

// DecodeError is a client error in an inbound document.
type DecodeError struct{ Reason string }

func (e *DecodeError) Error() string { return "federation: decode: " + e.Reason }

func decodeErr(format string, args ...any) error {
	return &DecodeError{Reason: fmt.Sprintf(format, args...)}
}

// parseJSONObject checks the nesting depth of body with a streaming scan
// before unmarshalling it into a generic map, so that deeply nested
// documents are refused without building them.
func parseJSONObject(body []byte) (map[string]any, error) {
	if err := checkDepth(body, MaxJSONDepth); err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, decodeErr("malformed JSON: %v", err)
	}
	if m == nil {
		return nil, decodeErr("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, decodeErr("trailing data after the JSON object")
	}
	return m, nil
}

func checkDepth(body []byte, max int) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return decodeErr("malformed JSON: %v", err)
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
				if depth > max {
					return decodeErr("JSON nested deeper than %d levels", max)
				}
			default:
				depth--
			}
		}
	}
}

// DecodeActivity parses an inbound activity.
func DecodeActivity(ctx context.Context, body []byte) (Activity, error) {
	m, err := parseJSONObject(body)
	if err != nil {
		return Activity{}, err
	}
	if _, ok := m["@context"]; !ok {
		// Some servers omit the context on inbox deliveries; the AS2 spec
		// makes it implied.
		m["@context"] = "https://www.w3.org/ns/activitystreams"
	}
	var act Activity
	t, err := streams.ToType(ctx, m)
	switch {
	case err == nil:
		act, err = activityFromType(t)
		if err != nil {
			return Activity{}, err
		}
	case streams.IsUnmatchedErr(err):
		// A type go-fed does not know (EmojiReact, QuoteRequest...): keep
		// what we need to verify and ignore it.
		act = activityFromMap(ctx, m)
	default:
		return Activity{}, decodeErr("not an ActivityStreams activity: %v", err)
	}
	keepRawIDs(&act, m)
	if act.Note != nil {
		for _, k := range []string{"object", "instrument"} {
			if raw, ok := m[k].(map[string]any); ok && stringOrID(raw) == act.Note.ID {
				noteExtras(act.Note, raw)
				break
			}
		}
	}
	if act.Type == "" {
		return Activity{}, decodeErr("missing type")
	}
	if act.ID == "" {
		return Activity{}, decodeErr("missing id")
	}
	if act.Actor == "" {
		return Activity{}, decodeErr("missing actor")
	}
	for _, iri := range []string{act.ID, act.Actor} {
		if err := checkIRI(iri); err != nil {
			return Activity{}, err
		}
	}
	return act, nil
}

// keepRawIDs puts back the ids as the sender wrote them: go-fed holds ids
// as parsed URLs, and an id with a second '#' (WordPress writes
// ".../post/#activity#activity") comes back from url.URL.String() with
// "%23", which no longer matches the sender's. It also reads an embedded
// object whose type go-fed does not know (the QuoteRequest or ReplyRequest
// of an Accept or Reject), which go-fed drops.
func keepRawIDs(act *Activity, m map[string]any) {
	if id, ok := m["id"].(string); ok && act.ID != "" {
		act.ID = id
	}
	obj, ok := m["object"].(map[string]any)
	if !ok {
		return
	}
	id, _ := obj["id"].(string)
	switch {
	case id == "":
	case act.Object.ID == "":
		act.Object = Object{ID: id, Actor: stringOrID(obj["actor"]), Object: stringOrID(obj["object"])}
		act.Object.Type, _ = obj["type"].(string)
		act.Objects = []string{id}
	case act.Object.ID != id && len(act.Objects) == 1:
		act.Object.ID, act.Objects = id, []string{id}
	}
}

func checkIRI(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return decodeErr("not an http(s) IRI: %q", truncate(s, 80))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// activityLike is implemented by every transitive go-fed activity type.
type activityLike interface {
	vocab.Type
	GetActivityStreamsActor() vocab.ActivityStreamsActorProperty
	GetActivityStreamsObject() vocab.ActivityStreamsObjectProperty
}

func activityFromType(t vocab.Type) (Activity, error) {
	act := Activity{ID: idOf(t), Type: t.GetTypeName()}
	a, ok := t.(activityLike)
	if !ok {
		// Intransitive activities or plain objects: nothing to act on, but
		// keep the actor when there is one.
		if ia, ok := t.(interface {
			GetActivityStreamsActor() vocab.ActivityStreamsActorProperty
		}); ok {
			act.Actor = firstActor(ia.GetActivityStreamsActor())
		}
		return act, nil
	}
	act.Actor = firstActor(a.GetActivityStreamsActor())
	act.Target = targetOf(t) // moves.go
	obj := a.GetActivityStreamsObject()
	if obj == nil || obj.Len() == 0 {
		return act, nil
	}
	if c, ok := t.(interface {
		GetActivityStreamsContent() vocab.ActivityStreamsContentProperty
	}); ok {
		act.Content, _ = contentOf(c.GetActivityStreamsContent())
	}
	if obj.Len() > 1 {
		if act.Type != "Flag" {
			return Activity{}, decodeErr("%s with %d objects", act.Type, obj.Len())
		}
		for i := range min(obj.Len(), maxFlagObjects) {
			if it := obj.At(i); it.IsIRI() {
				act.Objects = append(act.Objects, it.GetIRI().String())
			} else if it.GetType() != nil {
				act.Objects = append(act.Objects, idOf(it.GetType()))
			}
		}
		act.Object.ID = act.Objects[0]
		return act, nil
	}
	it := obj.At(0)
	if it.IsIRI() {
		act.Object.ID = it.GetIRI().String()
		act.Objects = []string{act.Object.ID}
		return act, nil
	}
	inner := it.GetType()
	if inner == nil {
		return act, nil
	}
	act.Object.ID = idOf(inner)
	act.Object.Type = inner.GetTypeName()
	act.Objects = []string{act.Object.ID}
	if n, ok := inner.(noteLike); ok && isPostType(act.Object.Type) {
		act.Note = noteFrom(n)
	}
	if ia, ok := inner.(activityLike); ok {
		act.Object.Actor = firstActor(ia.GetActivityStreamsActor())
		if o := ia.GetActivityStreamsObject(); o != nil && o.Len() > 0 {
			if o.At(0).IsIRI() {
				act.Object.Object = o.At(0).GetIRI().String()
			} else if ot := o.At(0).GetType(); ot != nil {
				act.Object.Object = idOf(ot)
			}
		}
	}
	return act, nil
}

func idOf(t vocab.Type) string {
	if id := t.GetJSONLDId(); id != nil && id.Get() != nil {
		return id.Get().String()
	}
	return ""
}

func firstActor(p vocab.ActivityStreamsActorProperty) string {
	if p == nil {
		return ""
	}
	for it := p.Begin(); it != p.End(); it = it.Next() {
		if it.IsIRI() {
			return it.GetIRI().String()
		}
		if t := it.GetType(); t != nil {
			if id := idOf(t); id != "" {
				return id
			}
		}
	}
	return ""
}

// activityFromMap reads id, type, actor, object and instrument of a
// document whose type go-fed does not know (a QuoteRequest's instrument
// may embed the quoting post, which go-fed then decodes).
func activityFromMap(ctx context.Context, m map[string]any) Activity {
	act := Activity{ID: stringOrID(m["id"]), Actor: stringOrID(m["actor"])}
	switch t := m["type"].(type) {
	case string:
		act.Type = t
	case []any:
		if len(t) > 0 {
			act.Type, _ = t[0].(string)
		}
	}
	switch o := m["object"].(type) {
	case string:
		act.Object.ID = o
	case map[string]any:
		act.Object.ID = stringOrID(o)
		act.Object.Type, _ = o["type"].(string)
	}
	if act.Object.ID != "" {
		act.Objects = []string{act.Object.ID}
	}
	act.Instrument = stringOrID(m["instrument"])
	act.Target = stringOrID(m["target"])
	if in, ok := m["instrument"].(map[string]any); ok {
		if _, ok := in["@context"]; !ok {
			in["@context"] = m["@context"]
		}
		if t, err := streams.ToType(ctx, in); err == nil {
			if n, ok := t.(noteLike); ok && isPostType(t.GetTypeName()) {
				act.Note = noteFrom(n)
			}
		}
	}
	return act
}

// maxFlagObjects bounds the objects read from a Flag.
const maxFlagObjects = 100

// isPostType reports the object types that are posts.
func isPostType(t string) bool {
	switch t {
	case "Note", "Article", "Page", "Question":
		return true
	}
	return false
}

// noteLike is implemented by go-fed's post types.
type noteLike interface {
	vocab.Type
	GetActivityStreamsAttributedTo() vocab.ActivityStreamsAttributedToProperty
	GetActivityStreamsContent() vocab.ActivityStreamsContentProperty
	GetActivityStreamsSummary() vocab.ActivityStreamsSummaryProperty
	GetActivityStreamsInReplyTo() vocab.ActivityStreamsInReplyToProperty
	GetActivityStreamsTag() vocab.ActivityStreamsTagProperty
	GetActivityStreamsUrl() vocab.ActivityStreamsUrlProperty
	GetActivityStreamsPublished() vocab.ActivityStreamsPublishedProperty
	GetActivityStreamsTo() vocab.ActivityStreamsToProperty
	GetActivityStreamsCc() vocab.ActivityStreamsCcProperty
	GetUnknownProperties() map[string]interface{}
}

// maxMentions bounds the mentions read from a post.
const maxMentions = 100

// noteFrom reduces a go-fed post; the extensions go-fed v1 does not model
// (sensitive, the quote properties) are read from its unknown properties.
func noteFrom(n noteLike) *InboundNote {
	in := &InboundNote{ID: idOf(n), Type: n.GetTypeName()}
	if p := n.GetActivityStreamsAttributedTo(); p != nil {
		for it := p.Begin(); it != p.End(); it = it.Next() {
			if it.IsIRI() {
				in.AttributedTo = it.GetIRI().String()
			} else if it.GetType() != nil {
				in.AttributedTo = idOf(it.GetType())
			}
			if in.AttributedTo != "" {
				break
			}
		}
	}
	in.ContentHTML, in.Language = contentOf(n.GetActivityStreamsContent())
	if p := n.GetActivityStreamsSummary(); p != nil {
		for it := p.Begin(); it != p.End(); it = it.Next() {
			if it.IsXMLSchemaString() {
				in.Summary = it.GetXMLSchemaString()
				break
			}
		}
	}
	if p := n.GetActivityStreamsInReplyTo(); p != nil && p.Len() > 0 {
		if it := p.At(0); it.IsIRI() {
			in.InReplyTo = it.GetIRI().String()
		} else if it.GetType() != nil {
			in.InReplyTo = idOf(it.GetType())
		}
	}
	if p := n.GetActivityStreamsTag(); p != nil {
		for it := p.Begin(); it != p.End() && len(in.Mentions) < maxMentions; it = it.Next() {
			if !it.IsActivityStreamsMention() {
				continue
			}
			if h := it.GetActivityStreamsMention().GetActivityStreamsHref(); h != nil && h.Get() != nil {
				in.Mentions = append(in.Mentions, h.Get().String())
			}
		}
	}
	if p := n.GetActivityStreamsUrl(); p != nil {
		// The first http(s) URL: Threads lists a threads:// link first.
		for it := p.Begin(); it != p.End() && in.URL == ""; it = it.Next() {
			var u string
			if it.IsIRI() {
				u = it.GetIRI().String()
			} else if it.IsActivityStreamsLink() {
				if h := it.GetActivityStreamsLink().GetActivityStreamsHref(); h != nil && h.Get() != nil {
					u = h.Get().String()
				}
			}
			if checkIRI(u) == nil {
				in.URL = u
			}
		}
	}
	if p := n.GetActivityStreamsPublished(); p != nil {
		if p.IsXMLSchemaDateTime() {
			in.Published = p.Get()
		} else if raw, err := p.Serialize(); err == nil {
			in.Published = parseLooseTime(raw)
		}
	}
	in.To = iris(n.GetActivityStreamsTo())
	in.Cc = iris(n.GetActivityStreamsCc())
	unknown := n.GetUnknownProperties()
	in.Sensitive, _ = unknown["sensitive"].(bool)
	for _, k := range []string{"quote", "quoteUrl", "quoteUri", "_misskey_quote"} {
		if q := stringOrID(unknown[k]); q != "" {
			in.Quote = q
			break
		}
	}
	return in
}

// noteExtras reads from the post's own map what go-fed v1 loses: the
// language of contentMap when content is also given (go-fed keeps only
// one of the two; Mastodon sends both), Lemmy's language object, and a
// quote given only as a FEP-e232 Link tag (rel _misskey_quote), as the
// FEP-044f drafts, Sharkey and Mastodon write it.
func noteExtras(in *InboundNote, raw map[string]any) {
	if name, ok := raw["name"].(string); ok && len(name) <= maxVoteName {
		in.Name = name
	}
	if in.Language == "" {
		if cm, ok := raw["contentMap"].(map[string]any); ok && len(cm) == 1 {
			for l := range cm {
				in.Language = l
			}
		} else if lang, ok := raw["language"].(map[string]any); ok {
			in.Language, _ = lang["identifier"].(string)
		}
		if len(in.Language) > maxLanguageTag {
			in.Language = ""
		}
	}
	if in.Quote == "" {
		in.Quote = quoteLink(raw["tag"])
	}
}

// maxLanguageTag bounds a language tag read from a post.
const maxLanguageTag = 35

// misskeyQuoteRel is the link relation of a quote (FEP-e232, FEP-044f).
const misskeyQuoteRel = "https://misskey-hub.net/ns#_misskey_quote"

// quoteLink returns the href of the first Link tag whose rel is the
// quote relation.
func quoteLink(tags any) string {
	list, ok := tags.([]any)
	if !ok {
		list = []any{tags}
	}
	for _, t := range list[:min(len(list), maxMentions)] {
		tag, ok := t.(map[string]any)
		if !ok || tag["type"] != "Link" {
			continue
		}
		rels, ok := tag["rel"].([]any)
		if !ok {
			rels = []any{tag["rel"]}
		}
		for _, r := range rels {
			if r == misskeyQuoteRel {
				if href, _ := tag["href"].(string); checkIRI(href) == nil {
					return href
				}
			}
		}
	}
	return ""
}

// parseLooseTime reads the ISO 8601 date-times xsd:dateTime parsing
// refuses but servers send: an offset without a colon ("+0000", as
// Threads writes it). Zero when it is neither.
func parseLooseTime(v any) time.Time {
	s, ok := v.(string)
	if !ok || len(s) > 64 {
		return time.Time{}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// contentOf returns the first plain content, else the first (or only)
// language-tagged one, with its language when it is the only one.
func contentOf(p vocab.ActivityStreamsContentProperty) (content, lang string) {
	if p == nil {
		return "", ""
	}
	var mapped map[string]string
	for it := p.Begin(); it != p.End(); it = it.Next() {
		switch {
		case it.IsXMLSchemaString() && content == "":
			content = it.GetXMLSchemaString()
		case it.IsRDFLangString() && mapped == nil:
			mapped = it.GetRDFLangString()
		}
	}
	if len(mapped) == 1 {
		for l, c := range mapped {
			lang = l
			if content == "" {
				content = c
			}
		}
	} else if content == "" {
		for _, l := range slices.Sorted(maps.Keys(mapped)) {
			content, lang = mapped[l], l
			break
		}
	}
	return content, lang
}

// iterIRIs is a to or cc property.
type iterIRIs[I interface {
	IsIRI() bool
	GetIRI() *url.URL
	GetType() vocab.Type
}] interface {
	Len() int
	At(int) I
}

func iris[I interface {
	IsIRI() bool
	GetIRI() *url.URL
	GetType() vocab.Type
}](p iterIRIs[I]) []string {
	if p == nil {
		return nil
	}
	var out []string
	for i := range min(p.Len(), maxMentions) {
		it := p.At(i)
		if it.IsIRI() {
			out = append(out, it.GetIRI().String())
		} else if it.GetType() != nil {
			out = append(out, idOf(it.GetType()))
		}
	}
	return out
}

func stringOrID(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		s, _ := x["id"].(string)
		return s
	case []any:
		if len(x) > 0 {
			return stringOrID(x[0])
		}
	}
	return ""
}

// RemoteActorDoc is a remote actor (or key) document reduced to what
// federation needs.
type RemoteActorDoc struct {
	ID                string
	Type              string
	PreferredUsername string
	// Inbox is empty for a stub of the actor (GoToSocial serves one at
	// its key ids, and the full actor only to signed GETs): the document
	// then names a key and its owner, and the owner must be fetched
	// before anything is sent to it.
	Inbox       string
	SharedInbox string
	// Keys maps key ids to the PEM public keys found in the document
	// (publicKey entries, and standalone key documents).
	Keys map[string]string
	// KeyRefs lists every key id the document names as its own, with or
	// without the key itself (an actor may give its publicKey as an IRI).
	KeyRefs []string
	// KeyOwner is set when the document is a standalone key object
	// (CryptographicKey, Key or an untyped {id, owner, publicKeyPem};
	// "controller" for owner is accepted) rather than an actor.
	KeyOwner string
	// Name, Summary, IconURL and ProfileURL are the actor's display name,
	// bio (HTML), avatar and profile page, as received (sanitise the name
	// and the bio before use).
	Name       string
	Summary    string
	IconURL    string
	ProfileURL string
	// AlsoKnownAs and MovedTo are the actor's account moves (moves.go).
	AlsoKnownAs []string
	MovedTo     string
}

// Complete reports whether the document is a whole actor (one that can
// be sent to), not a key or a stub.
func (d RemoteActorDoc) Complete() bool { return d.KeyOwner == "" && d.Inbox != "" }

// ListsKey reports whether the document names keyID as one of its keys.
func (d RemoteActorDoc) ListsKey(keyID string) bool {
	_, ok := d.Keys[keyID]
	return ok || slices.Contains(d.KeyRefs, keyID)
}

// actorLike is implemented by go-fed's five actor types.
type actorLike interface {
	vocab.Type
	GetActivityStreamsInbox() vocab.ActivityStreamsInboxProperty
	GetActivityStreamsPreferredUsername() vocab.ActivityStreamsPreferredUsernameProperty
	GetActivityStreamsName() vocab.ActivityStreamsNameProperty
	GetActivityStreamsIcon() vocab.ActivityStreamsIconProperty
	GetActivityStreamsUrl() vocab.ActivityStreamsUrlProperty
}

// maxKeys bounds the keys read from one document.
const maxKeys = 16

// DecodeActorDoc parses a remote actor document, or what a server serves
// at a key id: the actor itself (Mastodon, Misskey, Pleroma...), a stub
// of it without inbox (GoToSocial), or a standalone key document.
func DecodeActorDoc(ctx context.Context, body []byte) (RemoteActorDoc, error) {
	m, err := parseJSONObject(body)
	if err != nil {
		return RemoteActorDoc{}, err
	}
	if _, ok := m["@context"]; !ok {
		m["@context"] = "https://www.w3.org/ns/activitystreams"
	}
	doc := RemoteActorDoc{Keys: map[string]string{}}
	t, err := streams.ToType(ctx, m)
	a, isActor := t.(actorLike)
	if err != nil || !isActor {
		return decodeKeyDoc(m)
	}
	doc.ID = idOf(a)
	doc.Type = a.GetTypeName()
	if err := checkIRI(doc.ID); err != nil {
		return RemoteActorDoc{}, decodeErr("actor document without a valid id")
	}
	if p := a.GetActivityStreamsPreferredUsername(); p != nil {
		doc.PreferredUsername = p.GetXMLSchemaString()
	}
	if err := checkRemoteUsername(doc.PreferredUsername); err != nil { // names.go
		return RemoteActorDoc{}, err
	}
	if p := a.GetActivityStreamsInbox(); p != nil {
		if p.IsIRI() {
			doc.Inbox = p.GetIRI().String()
		} else if p.GetType() != nil {
			doc.Inbox = idOf(p.GetType())
		}
		if checkIRI(doc.Inbox) != nil {
			return RemoteActorDoc{}, decodeErr("actor document with an invalid inbox")
		}
	}
	if p := a.GetActivityStreamsName(); p != nil {
		for it := p.Begin(); it != p.End(); it = it.Next() {
			if it.IsXMLSchemaString() {
				doc.Name = it.GetXMLSchemaString()
				break
			}
		}
	}
	if sp, ok := t.(interface {
		GetActivityStreamsSummary() vocab.ActivityStreamsSummaryProperty
	}); ok && sp.GetActivityStreamsSummary() != nil {
		p := sp.GetActivityStreamsSummary()
		for it := p.Begin(); it != p.End(); it = it.Next() {
			if it.IsXMLSchemaString() {
				doc.Summary = it.GetXMLSchemaString()
				break
			}
			if m := it.GetRDFLangString(); it.IsRDFLangString() && doc.Summary == "" && len(m) > 0 {
				doc.Summary = m[slices.Sorted(maps.Keys(m))[0]]
			}
		}
	}
	if p := a.GetActivityStreamsIcon(); p != nil {
		for it := p.Begin(); it != p.End() && doc.IconURL == ""; it = it.Next() {
			switch {
			case it.IsIRI():
				doc.IconURL = it.GetIRI().String()
			case it.IsActivityStreamsImage():
				if u := it.GetActivityStreamsImage().GetActivityStreamsUrl(); u != nil && u.Len() > 0 && u.At(0).IsIRI() {
					doc.IconURL = u.At(0).GetIRI().String()
				}
			}
		}
		if checkIRI(doc.IconURL) != nil {
			doc.IconURL = ""
		}
	}
	if p := a.GetActivityStreamsUrl(); p != nil {
		for it := p.Begin(); it != p.End() && doc.ProfileURL == ""; it = it.Next() {
			switch {
			case it.IsIRI():
				doc.ProfileURL = it.GetIRI().String()
			case it.IsActivityStreamsLink():
				if h := it.GetActivityStreamsLink().GetActivityStreamsHref(); h != nil && h.Get() != nil {
					doc.ProfileURL = h.Get().String()
				}
			}
		}
		if checkIRI(doc.ProfileURL) != nil {
			doc.ProfileURL = ""
		}
	}
	// go-fed v1 has no "endpoints" property: read sharedInbox from the map.
	if ep, ok := m["endpoints"].(map[string]any); ok {
		doc.SharedInbox, _ = ep["sharedInbox"].(string)
	}
	if doc.SharedInbox != "" && checkIRI(doc.SharedInbox) != nil {
		doc.SharedInbox = ""
	}
	doc.AlsoKnownAs, doc.MovedTo = movesOf(m) // moves.go
	doc.readKeys(m["publicKey"])
	doc.readKeys(m["assertionMethod"]) // FEP-521a Multikeys
	doc.Name = capName(doc.Name)       // names.go
	return doc, nil
}

// readKeys reads an actor's publicKey property (one key or an array of
// them, each embedded, {id, owner, publicKeyPem}, or given by its IRI) or
// its FEP-521a assertionMethod (Multikeys: {id, type, controller,
// publicKeyMultibase}). A key naming another owner is not the actor's.
func (d *RemoteActorDoc) readKeys(v any) {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	for _, it := range items {
		if len(d.KeyRefs) >= maxKeys {
			return
		}
		switch k := it.(type) {
		case string:
			if checkIRI(k) == nil {
				d.KeyRefs = append(d.KeyRefs, k)
			}
		case map[string]any:
			id, _ := k["id"].(string)
			if checkIRI(id) != nil {
				continue
			}
			if owner := keyOwnerOf(k); owner != "" && owner != d.ID {
				continue
			}
			d.KeyRefs = append(d.KeyRefs, id)
			if pem, ok := keyPEMOf(k); ok {
				d.Keys[id] = pem
			}
		}
	}
}

// keyOwnerOf returns a key object's owner (security v1) or controller
// (Multikey, CryptographicKey in newer vocabularies).
func keyOwnerOf(k map[string]any) string {
	if o := stringOrID(k["owner"]); o != "" {
		return o
	}
	return stringOrID(k["controller"])
}

// decodeKeyDoc reads a standalone key document: {id, owner or controller,
// publicKeyPem}, whatever its type (CryptographicKey, Key or none).
func decodeKeyDoc(m map[string]any) (RemoteActorDoc, error) {
	id, _ := m["id"].(string)
	owner := keyOwnerOf(m)
	_, hasPEM := m["publicKeyPem"].(string)
	_, hasMultibase := m["publicKeyMultibase"].(string)
	if id == "" || owner == "" || !hasPEM && !hasMultibase {
		return RemoteActorDoc{}, decodeErr("neither an actor nor a key document")
	}
	for _, iri := range []string{id, owner} {
		if err := checkIRI(iri); err != nil {
			return RemoteActorDoc{}, err
		}
	}
	pem, ok := keyPEMOf(m)
	if !ok {
		return RemoteActorDoc{}, decodeErr("key document with an unreadable key")
	}
	return RemoteActorDoc{ID: id, KeyOwner: owner, Keys: map[string]string{id: pem}, KeyRefs: []string{id}}, nil
}

// keyPEMOf returns the public key of a key object as SPKI PEM, from its
// publicKeyPem (RSA in SPKI or PKCS#1 form) or its publicKeyMultibase
// (FEP-521a: Ed25519 or RSA); false when there is none we can verify
// with.
func keyPEMOf(k map[string]any) (string, bool) {
	var pub crypto.PublicKey
	var err error
	if v, ok := k["publicKeyPem"].(string); ok {
		pub, err = httpsig.ParsePublicKeyPEM(v)
	} else if v, ok := k["publicKeyMultibase"].(string); ok {
		pub, err = httpsig.ParseMultikey(v)
	} else {
		return "", false
	}
	if err != nil {
		return "", false
	}
	pem, err := httpsig.PublicKeyPEM(pub)
	return pem, err == nil
}

// IsDecodeError reports whether err is a client error in a document.
func IsDecodeError(err error) bool {
	var de *DecodeError
	return errors.As(err, &de)
}
