package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"
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
		act = activityFromMap(m)
	default:
		return Activity{}, decodeErr("not an ActivityStreams activity: %v", err)
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
	obj := a.GetActivityStreamsObject()
	if obj == nil || obj.Len() == 0 {
		return act, nil
	}
	if obj.Len() > 1 {
		return Activity{}, decodeErr("%s with %d objects", act.Type, obj.Len())
	}
	it := obj.At(0)
	if it.IsIRI() {
		act.Object.ID = it.GetIRI().String()
		return act, nil
	}
	inner := it.GetType()
	if inner == nil {
		return act, nil
	}
	act.Object.ID = idOf(inner)
	act.Object.Type = inner.GetTypeName()
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

// activityFromMap reads id, type and actor of a document whose type go-fed
// does not know.
func activityFromMap(m map[string]any) Activity {
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
	return act
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
	Inbox             string
	SharedInbox       string
	// Keys maps key ids to SPKI PEM public keys found in the document.
	Keys map[string]string
	// KeyOwner is set when the document is a standalone key object
	// (id, owner, publicKeyPem) rather than an actor.
	KeyOwner string
}

// actorLike is implemented by go-fed's five actor types.
type actorLike interface {
	vocab.Type
	GetActivityStreamsInbox() vocab.ActivityStreamsInboxProperty
	GetActivityStreamsPreferredUsername() vocab.ActivityStreamsPreferredUsernameProperty
	GetW3IDSecurityV1PublicKey() vocab.W3IDSecurityV1PublicKeyProperty
}

// DecodeActorDoc parses a remote actor document, or a standalone key
// document, fetched from a key id or actor IRI.
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
		// A standalone key document: {id, owner, publicKeyPem}.
		pem, _ := m["publicKeyPem"].(string)
		owner, _ := m["owner"].(string)
		id, _ := m["id"].(string)
		if pem == "" || owner == "" || id == "" {
			return RemoteActorDoc{}, decodeErr("neither an actor nor a key document")
		}
		doc.ID, doc.KeyOwner = id, owner
		doc.Keys[id] = pem
		return doc, nil
	}
	doc.ID = idOf(a)
	doc.Type = a.GetTypeName()
	if p := a.GetActivityStreamsPreferredUsername(); p != nil {
		doc.PreferredUsername = p.GetXMLSchemaString()
	}
	if p := a.GetActivityStreamsInbox(); p != nil {
		if p.IsIRI() {
			doc.Inbox = p.GetIRI().String()
		} else if p.GetType() != nil {
			doc.Inbox = idOf(p.GetType())
		}
	}
	// go-fed v1 has no "endpoints" property: read sharedInbox from the map.
	if ep, ok := m["endpoints"].(map[string]any); ok {
		doc.SharedInbox, _ = ep["sharedInbox"].(string)
	}
	if pk := a.GetW3IDSecurityV1PublicKey(); pk != nil {
		for it := pk.Begin(); it != pk.End(); it = it.Next() {
			k := it.Get()
			if k == nil {
				continue
			}
			pemProp := k.GetW3IDSecurityV1PublicKeyPem()
			if pemProp == nil || !pemProp.IsXMLSchemaString() {
				continue
			}
			doc.Keys[idOf(k)] = pemProp.Get()
		}
	}
	if doc.ID == "" || doc.Inbox == "" {
		return RemoteActorDoc{}, decodeErr("actor document without id or inbox")
	}
	for _, iri := range []string{doc.ID, doc.Inbox} {
		if err := checkIRI(iri); err != nil {
			return RemoteActorDoc{}, err
		}
	}
	if doc.SharedInbox != "" && checkIRI(doc.SharedInbox) != nil {
		doc.SharedInbox = ""
	}
	return doc, nil
}

// IsDecodeError reports whether err is a client error in a document.
func IsDecodeError(err error) bool {
	var de *DecodeError
	return errors.As(err, &de)
}
