package federation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"
)

// This file is the outbound half of the ActivityStreams conversion layer.
// go-fed's streams types build the standard vocabulary; the handful of
// Mastodon extensions go-fed v1 does not know (endpoints,
// manuallyApprovesFollowers, indexable, PropertyValue...) are added to the
// serialised map here and nowhere else, together with the @context that
// declares them.

const (
	asPublic       = "https://www.w3.org/ns/activitystreams#Public"
	contentTypeAS2 = "application/activity+json"
)

// actorContext is the @context Mastodon-family servers expect on actors.
var actorContext = []any{
	"https://www.w3.org/ns/activitystreams",
	"https://w3id.org/security/v1",
	map[string]any{
		"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
		"sensitive":                 "as:sensitive",
		"Hashtag":                   "as:Hashtag",
		"movedTo":                   map[string]any{"@id": "as:movedTo", "@type": "@id"},
		"alsoKnownAs":               map[string]any{"@id": "as:alsoKnownAs", "@type": "@id"},
		"toot":                      "http://joinmastodon.org/ns#",
		"discoverable":              "toot:discoverable",
		"indexable":                 "toot:indexable",
		"featured":                  map[string]any{"@id": "toot:featured", "@type": "@id"},
		"featuredTags":              map[string]any{"@id": "toot:featuredTags", "@type": "@id"},
		"blurhash":                  "toot:blurhash",
		"focalPoint":                map[string]any{"@container": "@list", "@id": "toot:focalPoint"},
		"attributionDomains":        map[string]any{"@id": "toot:attributionDomains", "@type": "@id"},
		"schema":                    "http://schema.org#",
		"PropertyValue":             "schema:PropertyValue",
		"value":                     "schema:value",
	},
}

// ActorDoc is one of our actors, in plain Go.
type ActorDoc struct {
	ID                         string
	Type                       string // Organization, Person, Service, Group, Application
	PreferredUsername          string
	Name                       string
	SummaryHTML                string
	ProfileURL                 string // HTML profile page
	Inbox, Outbox, SharedInbox string
	Followers, Following       string
	Featured                   string
	IconURL, IconMediaType     string
	ImageURL, ImageMediaType   string
	KeyID, PublicKeyPEM        string
	Published                  time.Time
	ManuallyApprovesFollowers  bool
	Discoverable               bool
	Fields                     []FieldHTML
	AttributionDomains         []string
	// AlsoKnownAs lists the actor's former accounts; MovedTo is the
	// account it moved to (moves.go).
	AlsoKnownAs []string
	MovedTo     string
}

// FieldHTML is a profile field whose value is already HTML.
type FieldHTML struct{ Name, ValueHTML string }

type actorBuilder interface {
	vocab.Type
	SetJSONLDId(vocab.JSONLDIdProperty)
	SetActivityStreamsPreferredUsername(vocab.ActivityStreamsPreferredUsernameProperty)
	SetActivityStreamsName(vocab.ActivityStreamsNameProperty)
	SetActivityStreamsSummary(vocab.ActivityStreamsSummaryProperty)
	SetActivityStreamsUrl(vocab.ActivityStreamsUrlProperty)
	SetActivityStreamsInbox(vocab.ActivityStreamsInboxProperty)
	SetActivityStreamsOutbox(vocab.ActivityStreamsOutboxProperty)
	SetActivityStreamsFollowers(vocab.ActivityStreamsFollowersProperty)
	SetActivityStreamsFollowing(vocab.ActivityStreamsFollowingProperty)
	SetActivityStreamsIcon(vocab.ActivityStreamsIconProperty)
	SetActivityStreamsImage(vocab.ActivityStreamsImageProperty)
	SetActivityStreamsPublished(vocab.ActivityStreamsPublishedProperty)
	SetTootDiscoverable(vocab.TootDiscoverableProperty)
	SetTootFeatured(vocab.TootFeaturedProperty)
	SetW3IDSecurityV1PublicKey(vocab.W3IDSecurityV1PublicKeyProperty)
}

func newActorType(typ string) (actorBuilder, error) {
	switch typ {
	case "Organization", "":
		return streams.NewActivityStreamsOrganization(), nil
	case "Person":
		return streams.NewActivityStreamsPerson(), nil
	case "Service":
		return streams.NewActivityStreamsService(), nil
	case "Group":
		return streams.NewActivityStreamsGroup(), nil
	case "Application":
		return streams.NewActivityStreamsApplication(), nil
	}
	return nil, fmt.Errorf("federation: unknown actor type %q", typ)
}

func mustIRI(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		// Our own IRIs are built from a validated public URL.
		panic(fmt.Sprintf("federation: invalid own IRI %q: %v", s, err))
	}
	return u
}

func idProp(s string) vocab.JSONLDIdProperty {
	p := streams.NewJSONLDIdProperty()
	p.Set(mustIRI(s))
	return p
}

// EncodeActor serialises an actor document to JSON.
func EncodeActor(d ActorDoc) ([]byte, error) {
	a, err := newActorType(d.Type)
	if err != nil {
		return nil, err
	}
	a.SetJSONLDId(idProp(d.ID))
	pu := streams.NewActivityStreamsPreferredUsernameProperty()
	pu.SetXMLSchemaString(d.PreferredUsername)
	a.SetActivityStreamsPreferredUsername(pu)
	if d.Name != "" {
		n := streams.NewActivityStreamsNameProperty()
		n.AppendXMLSchemaString(d.Name)
		a.SetActivityStreamsName(n)
	}
	if d.SummaryHTML != "" {
		s := streams.NewActivityStreamsSummaryProperty()
		s.AppendXMLSchemaString(d.SummaryHTML)
		a.SetActivityStreamsSummary(s)
	}
	if d.ProfileURL != "" {
		u := streams.NewActivityStreamsUrlProperty()
		u.AppendIRI(mustIRI(d.ProfileURL))
		a.SetActivityStreamsUrl(u)
	}
	in := streams.NewActivityStreamsInboxProperty()
	in.SetIRI(mustIRI(d.Inbox))
	a.SetActivityStreamsInbox(in)
	if d.Outbox != "" {
		out := streams.NewActivityStreamsOutboxProperty()
		out.SetIRI(mustIRI(d.Outbox))
		a.SetActivityStreamsOutbox(out)
	}
	if d.Followers != "" {
		f := streams.NewActivityStreamsFollowersProperty()
		f.SetIRI(mustIRI(d.Followers))
		a.SetActivityStreamsFollowers(f)
	}
	if d.Following != "" {
		f := streams.NewActivityStreamsFollowingProperty()
		f.SetIRI(mustIRI(d.Following))
		a.SetActivityStreamsFollowing(f)
	}
	if d.Featured != "" {
		f := streams.NewTootFeaturedProperty()
		f.SetIRI(mustIRI(d.Featured))
		a.SetTootFeatured(f)
	}
	if d.IconURL != "" {
		p := streams.NewActivityStreamsIconProperty()
		p.AppendActivityStreamsImage(imageObject(d.IconURL, d.IconMediaType))
		a.SetActivityStreamsIcon(p)
	}
	if d.ImageURL != "" {
		p := streams.NewActivityStreamsImageProperty()
		p.AppendActivityStreamsImage(imageObject(d.ImageURL, d.ImageMediaType))
		a.SetActivityStreamsImage(p)
	}
	if !d.Published.IsZero() {
		p := streams.NewActivityStreamsPublishedProperty()
		p.Set(d.Published.UTC().Truncate(time.Second))
		a.SetActivityStreamsPublished(p)
	}
	disc := streams.NewTootDiscoverableProperty()
	disc.Set(d.Discoverable)
	a.SetTootDiscoverable(disc)

	key := streams.NewW3IDSecurityV1PublicKey()
	key.SetJSONLDId(idProp(d.KeyID))
	owner := streams.NewW3IDSecurityV1OwnerProperty()
	owner.SetIRI(mustIRI(d.ID))
	key.SetW3IDSecurityV1Owner(owner)
	pem := streams.NewW3IDSecurityV1PublicKeyPemProperty()
	pem.Set(d.PublicKeyPEM)
	key.SetW3IDSecurityV1PublicKeyPem(pem)
	kp := streams.NewW3IDSecurityV1PublicKeyProperty()
	kp.AppendW3IDSecurityV1PublicKey(key)
	a.SetW3IDSecurityV1PublicKey(kp)

	m, err := streams.Serialize(a)
	if err != nil {
		return nil, fmt.Errorf("federation: serialise actor: %w", err)
	}
	// Extensions go-fed v1 does not model.
	m["@context"] = actorContext
	m["manuallyApprovesFollowers"] = d.ManuallyApprovesFollowers
	m["indexable"] = d.Discoverable
	if d.SharedInbox != "" {
		m["endpoints"] = map[string]any{"sharedInbox": d.SharedInbox}
	}
	if len(d.Fields) > 0 {
		att := make([]any, 0, len(d.Fields))
		for _, f := range d.Fields {
			att = append(att, map[string]any{"type": "PropertyValue", "name": f.Name, "value": f.ValueHTML})
		}
		m["attachment"] = att
	}
	if len(d.AttributionDomains) > 0 {
		m["attributionDomains"] = d.AttributionDomains
	}
	if len(d.AlsoKnownAs) > 0 {
		m["alsoKnownAs"] = d.AlsoKnownAs // always an array, as Mastodon sends it
	}
	if d.MovedTo != "" {
		m["movedTo"] = d.MovedTo
	}
	return marshalJSON(m)
}

// marshalJSON encodes without escaping <, > and & (HTML content and URLs
// stay readable).
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func imageObject(href, mediaType string) vocab.ActivityStreamsImage {
	img := streams.NewActivityStreamsImage()
	u := streams.NewActivityStreamsUrlProperty()
	u.AppendIRI(mustIRI(href))
	img.SetActivityStreamsUrl(u)
	if mediaType != "" {
		mt := streams.NewActivityStreamsMediaTypeProperty()
		mt.Set(mediaType)
		img.SetActivityStreamsMediaType(mt)
	}
	return img
}

// EncodeAccept builds the Accept of a Follow. The Follow is embedded, as
// Mastodon does, so the receiver can match it without a lookup.
func EncodeAccept(acceptID, actor string, follow Activity) ([]byte, error) {
	f := streams.NewActivityStreamsFollow()
	f.SetJSONLDId(idProp(follow.ID))
	fa := streams.NewActivityStreamsActorProperty()
	fa.AppendIRI(mustIRI(follow.Actor))
	f.SetActivityStreamsActor(fa)
	fo := streams.NewActivityStreamsObjectProperty()
	fo.AppendIRI(mustIRI(follow.Object.ID))
	f.SetActivityStreamsObject(fo)

	acc := streams.NewActivityStreamsAccept()
	acc.SetJSONLDId(idProp(acceptID))
	aa := streams.NewActivityStreamsActorProperty()
	aa.AppendIRI(mustIRI(actor))
	acc.SetActivityStreamsActor(aa)
	ao := streams.NewActivityStreamsObjectProperty()
	ao.AppendActivityStreamsFollow(f)
	acc.SetActivityStreamsObject(ao)
	to := streams.NewActivityStreamsToProperty()
	to.AppendIRI(mustIRI(follow.Actor))
	acc.SetActivityStreamsTo(to)
	return serialize(acc)
}

func serialize(t vocab.Type) ([]byte, error) {
	m, err := streams.Serialize(t)
	if err != nil {
		return nil, fmt.Errorf("federation: serialise %s: %w", t.GetTypeName(), err)
	}
	return marshalJSON(m)
}

// EncodeOrderedCollection builds an OrderedCollection summary: its size and,
// when first is not empty, a link to its first page.
func EncodeOrderedCollection(id string, total int64, first string) ([]byte, error) {
	c := streams.NewActivityStreamsOrderedCollection()
	c.SetJSONLDId(idProp(id))
	ti := streams.NewActivityStreamsTotalItemsProperty()
	ti.Set(int(total))
	c.SetActivityStreamsTotalItems(ti)
	if first != "" {
		fp := streams.NewActivityStreamsFirstProperty()
		fp.SetIRI(mustIRI(first))
		c.SetActivityStreamsFirst(fp)
	}
	return serialize(c)
}

// EncodeOrderedCollectionPage builds one page of IRIs. next may be empty.
func EncodeOrderedCollectionPage(id, partOf, next string, total int64, items []string) ([]byte, error) {
	p := streams.NewActivityStreamsOrderedCollectionPage()
	p.SetJSONLDId(idProp(id))
	po := streams.NewActivityStreamsPartOfProperty()
	po.SetIRI(mustIRI(partOf))
	p.SetActivityStreamsPartOf(po)
	ti := streams.NewActivityStreamsTotalItemsProperty()
	ti.Set(int(total))
	p.SetActivityStreamsTotalItems(ti)
	if next != "" {
		np := streams.NewActivityStreamsNextProperty()
		np.SetIRI(mustIRI(next))
		p.SetActivityStreamsNext(np)
	}
	oi := streams.NewActivityStreamsOrderedItemsProperty()
	for _, it := range items {
		oi.AppendIRI(mustIRI(it))
	}
	p.SetActivityStreamsOrderedItems(oi)
	m, err := streams.Serialize(p)
	if err != nil {
		return nil, fmt.Errorf("federation: serialise page: %w", err)
	}
	// go-fed omits an empty property and compacts a one-item array to a
	// scalar; clients expect an array.
	list := make([]any, len(items))
	for i, it := range items {
		list[i] = it
	}
	m["orderedItems"] = list
	return marshalJSON(m)
}
