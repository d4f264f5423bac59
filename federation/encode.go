package federation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// This file is the outbound half of the ActivityStreams conversion layer:
// the documents we send and serve are plain Go structs with explicit JSON
// (go-fed's streams stays on the inbound side, decode.go, where it copes
// with the many shapes remote servers send), with the @context that
// declares the extensions they use. testdata/encode holds their golden
// form, and codec_test.go what each receiving implementation requires.

const (
	asPublic       = "https://www.w3.org/ns/activitystreams#Public"
	contentTypeAS2 = "application/activity+json"
)

// actorContext is the @context Mastodon-family servers expect on actors.
var actorContext = []any{
	"https://www.w3.org/ns/activitystreams",
	"https://w3id.org/security/v1",
	// FEP-521a: assertionMethod (DID v1) and Multikey, as Fedify writes them.
	"https://www.w3.org/ns/did/v1",
	"https://w3id.org/security/multikey/v1",
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
	// Multikeys are the actor's other keys (FEP-521a assertionMethod):
	// its Ed25519 key.
	Multikeys                 []Multikey
	Published                 time.Time
	ManuallyApprovesFollowers bool
	Discoverable              bool
	Fields                    []FieldHTML
	AttributionDomains        []string
	// AlsoKnownAs lists the actor's former accounts; MovedTo is the
	// account it moved to (moves.go).
	AlsoKnownAs []string
	MovedTo     string
}

// Multikey is a FEP-521a key: its id and publicKeyMultibase (its
// controller is the actor).
type Multikey struct{ ID, PublicKeyMultibase string }

// FieldHTML is a profile field whose value is already HTML.
type FieldHTML struct{ Name, ValueHTML string }

// actorTypes are the actor types we publish.
var actorTypes = []string{"Organization", "Person", "Service", "Group", "Application"}

// actorJSON is the document of one of our actors.
type actorJSON struct {
	Context                   any            `json:"@context"`
	ID                        string         `json:"id"`
	Type                      string         `json:"type"`
	PreferredUsername         string         `json:"preferredUsername"`
	Name                      string         `json:"name,omitempty"`
	Summary                   string         `json:"summary,omitempty"`
	URL                       string         `json:"url,omitempty"`
	Inbox                     string         `json:"inbox"`
	Outbox                    string         `json:"outbox,omitempty"`
	Followers                 string         `json:"followers,omitempty"`
	Following                 string         `json:"following,omitempty"`
	Featured                  string         `json:"featured,omitempty"`
	Icon                      *imageJSON     `json:"icon,omitempty"`
	Image                     *imageJSON     `json:"image,omitempty"`
	Published                 string         `json:"published,omitempty"`
	Discoverable              bool           `json:"discoverable"`
	Indexable                 bool           `json:"indexable"`
	ManuallyApprovesFollowers bool           `json:"manuallyApprovesFollowers"`
	PublicKey                 publicKeyJSON  `json:"publicKey"`
	AssertionMethod           []multikeyJSON `json:"assertionMethod,omitempty"`
	Endpoints                 *endpointsJSON `json:"endpoints,omitempty"`
	Attachment                []propertyJSON `json:"attachment,omitempty"`
	AttributionDomains        []string       `json:"attributionDomains,omitempty"`
	AlsoKnownAs               []string       `json:"alsoKnownAs,omitempty"` // always an array, as Mastodon sends it
	MovedTo                   string         `json:"movedTo,omitempty"`
}

type imageJSON struct {
	Type      string `json:"type"`
	URL       string `json:"url"`
	MediaType string `json:"mediaType,omitempty"`
}

type publicKeyJSON struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

type multikeyJSON struct {
	ID                 string `json:"id"`
	Type               string `json:"type"`
	Controller         string `json:"controller"`
	PublicKeyMultibase string `json:"publicKeyMultibase"`
}

type endpointsJSON struct {
	SharedInbox string `json:"sharedInbox"`
}

type propertyJSON struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// timeJSON is how times are written: UTC, to the second.
func timeJSON(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// EncodeActor serialises an actor document to JSON.
func EncodeActor(d ActorDoc) ([]byte, error) {
	typ := d.Type
	if typ == "" {
		typ = "Organization"
	}
	if !slices.Contains(actorTypes, typ) {
		return nil, fmt.Errorf("federation: unknown actor type %q", d.Type)
	}
	a := actorJSON{
		Context: actorContext, ID: d.ID, Type: typ, PreferredUsername: d.PreferredUsername,
		Name: d.Name, Summary: d.SummaryHTML, URL: d.ProfileURL,
		Inbox: d.Inbox, Outbox: d.Outbox, Followers: d.Followers, Following: d.Following, Featured: d.Featured,
		Discoverable: d.Discoverable, Indexable: d.Discoverable, ManuallyApprovesFollowers: d.ManuallyApprovesFollowers,
		PublicKey:          publicKeyJSON{ID: d.KeyID, Owner: d.ID, PublicKeyPem: d.PublicKeyPEM},
		AttributionDomains: d.AttributionDomains, AlsoKnownAs: d.AlsoKnownAs, MovedTo: d.MovedTo,
	}
	if d.IconURL != "" {
		a.Icon = &imageJSON{Type: "Image", URL: d.IconURL, MediaType: d.IconMediaType}
	}
	if d.ImageURL != "" {
		a.Image = &imageJSON{Type: "Image", URL: d.ImageURL, MediaType: d.ImageMediaType}
	}
	if !d.Published.IsZero() {
		a.Published = timeJSON(d.Published)
	}
	if d.SharedInbox != "" {
		a.Endpoints = &endpointsJSON{SharedInbox: d.SharedInbox}
	}
	for _, f := range d.Fields {
		a.Attachment = append(a.Attachment, propertyJSON{Type: "PropertyValue", Name: f.Name, Value: f.ValueHTML})
	}
	for _, k := range d.Multikeys {
		a.AssertionMethod = append(a.AssertionMethod, multikeyJSON{ID: k.ID, Type: "Multikey", Controller: d.ID, PublicKeyMultibase: k.PublicKeyMultibase})
	}
	return marshalJSON(a)
}

// keyJSON is a key served at its own id (our Ed25519 keys: federation.go).
type keyJSON struct {
	Context      any    `json:"@context"`
	ID           string `json:"id"`
	Type         string `json:"type"`
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

// EncodeKey serialises a public key document: a CryptographicKey
// (security/v1) with its owner and SPKI PEM, what verifiers that fetch a
// key id find at it.
func EncodeKey(id, owner, publicKeyPEM string) ([]byte, error) {
	return marshalJSON(keyJSON{Context: "https://w3id.org/security/v1", ID: id, Type: "CryptographicKey", Owner: owner, PublicKeyPem: publicKeyPEM})
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

// activityJSON is an activity we send, its object an IRI or an embedded
// document. Audiences of one are written as a single value, as go-fed
// wrote them before these documents became plain structs, except where
// Mastodon expects arrays (notes and what carries them).
type activityJSON struct {
	Context   any    `json:"@context,omitempty"`
	ID        string `json:"id"`
	Type      string `json:"type"`
	Actor     string `json:"actor"`
	Published string `json:"published,omitempty"`
	To        any    `json:"to,omitempty"`
	Cc        any    `json:"cc,omitempty"`
	Object    any    `json:"object"`
	Target    string `json:"target,omitempty"`
	Result    string `json:"result,omitempty"`
}

// asContext is the plain ActivityStreams @context.
const asContext = "https://www.w3.org/ns/activitystreams"

// EncodeAccept builds the Accept of a Follow. The Follow is embedded, as
// Mastodon does, so the receiver can match it without a lookup.
func EncodeAccept(acceptID, actor string, follow Activity) ([]byte, error) {
	return marshalJSON(activityJSON{
		Context: asContext, ID: acceptID, Type: "Accept", Actor: actor, To: follow.Actor,
		Object: activityJSON{ID: follow.ID, Type: "Follow", Actor: follow.Actor, Object: follow.Object.ID},
	})
}

// collectionJSON is an OrderedCollection or one of its pages.
type collectionJSON struct {
	Context      any    `json:"@context,omitempty"`
	ID           string `json:"id"`
	Type         string `json:"type"`
	PartOf       string `json:"partOf,omitempty"`
	TotalItems   int64  `json:"totalItems"`
	First        string `json:"first,omitempty"`
	Next         string `json:"next,omitempty"`
	OrderedItems []any  `json:"orderedItems,omitempty"`
}

// EncodeOrderedCollection builds an OrderedCollection summary: its size and,
// when first is not empty, a link to its first page.
func EncodeOrderedCollection(id string, total int64, first string) ([]byte, error) {
	return marshalJSON(collectionJSON{Context: asContext, ID: id, Type: "OrderedCollection", TotalItems: total, First: first})
}

// EncodeOrderedCollectionPage builds one page of IRIs. next may be empty.
// orderedItems is always an array, even empty.
func EncodeOrderedCollectionPage(id, partOf, next string, total int64, items []string) ([]byte, error) {
	page := struct {
		collectionJSON
		OrderedItems []string `json:"orderedItems"`
	}{collectionJSON{Context: asContext, ID: id, Type: "OrderedCollectionPage", PartOf: partOf, TotalItems: total, Next: next}, items}
	if page.OrderedItems == nil {
		page.OrderedItems = []string{}
	}
	return marshalJSON(page)
}
