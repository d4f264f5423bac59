package federation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// The corpus (testdata/corpus/<implementation>/<kind>.json, provenance in
// testdata/corpus/README.md) holds payloads as real servers serve them. Each
// file has a <kind>.want.json next to it saying what we must keep when
// decoding it: the want files are written from the payloads, not from what
// our decoder returns.

const corpusDir = "testdata/corpus"

// corpusWant is a <kind>.want.json.
type corpusWant struct {
	// Decoder is "activity" (DecodeActivity) or "actor" (DecodeActorDoc).
	Decoder string `json:"decoder"`
	// Error, when set, is a substring of the decode error we must return.
	Error string `json:"error,omitempty"`
	// Pending names work that is known to be missing: the case fails
	// until it lands, and says so.
	Pending  string        `json:"pending,omitempty"`
	Activity *wantActivity `json:"activity,omitempty"`
	Actor    *wantActor    `json:"actor,omitempty"`
}

type wantActivity struct {
	ID         string     `json:"id,omitempty"`
	Type       string     `json:"type,omitempty"`
	Actor      string     `json:"actor,omitempty"`
	Object     wantObject `json:"object,omitzero"`
	Objects    []string   `json:"objects,omitempty"`
	Instrument string     `json:"instrument,omitempty"`
	Target     string     `json:"target,omitempty"`
	Content    string     `json:"content,omitempty"`
	Note       *wantNote  `json:"note,omitempty"`
}

type wantObject struct {
	ID     string `json:"id,omitempty"`
	Type   string `json:"type,omitempty"`
	Actor  string `json:"actor,omitempty"`
	Object string `json:"object,omitempty"`
}

type wantNote struct {
	ID           string   `json:"id,omitempty"`
	Type         string   `json:"type,omitempty"`
	AttributedTo string   `json:"attributedTo,omitempty"`
	URL          string   `json:"url,omitempty"`
	Content      string   `json:"content,omitempty"`
	Summary      string   `json:"summary,omitempty"`
	Sensitive    bool     `json:"sensitive,omitempty"`
	Language     string   `json:"language,omitempty"`
	InReplyTo    string   `json:"inReplyTo,omitempty"`
	Mentions     []string `json:"mentions,omitempty"`
	Quote        string   `json:"quote,omitempty"`
	// Published is RFC 3339, compared as an instant.
	Published string   `json:"published,omitempty"`
	To        []string `json:"to,omitempty"`
	Cc        []string `json:"cc,omitempty"`
}

type wantActor struct {
	ID                string `json:"id,omitempty"`
	Type              string `json:"type,omitempty"`
	PreferredUsername string `json:"preferredUsername,omitempty"`
	Inbox             string `json:"inbox,omitempty"`
	SharedInbox       string `json:"sharedInbox,omitempty"`
	// KeyIDs are the ids of the keys found (sorted).
	KeyIDs      []string `json:"keyIds,omitempty"`
	KeyOwner    string   `json:"keyOwner,omitempty"`
	Name        string   `json:"name,omitempty"`
	Summary     string   `json:"summary,omitempty"` // the bio, HTML as received
	IconURL     string   `json:"iconURL,omitempty"`
	ProfileURL  string   `json:"profileURL,omitempty"`
	AlsoKnownAs []string `json:"alsoKnownAs,omitempty"`
	MovedTo     string   `json:"movedTo,omitempty"`
}

// corpusFiles lists the payloads (relative to corpusDir) and the want files.
func corpusFiles(t testing.TB) (payloads, wants []string) {
	t.Helper()
	err := filepath.WalkDir(corpusDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		rel, _ := filepath.Rel(corpusDir, path)
		if strings.HasSuffix(path, ".want.json") {
			wants = append(wants, rel)
		} else {
			payloads = append(payloads, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(payloads) == 0 {
		t.Fatal("empty corpus")
	}
	return payloads, wants
}

func readWant(t *testing.T, rel string) corpusWant {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, strings.TrimSuffix(rel, ".json")+".want.json"))
	if err != nil {
		t.Fatalf("no expectations for %s: write %s.want.json next to it (%v)", rel, strings.TrimSuffix(filepath.Base(rel), ".json"), err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w corpusWant
	if err := dec.Decode(&w); err != nil {
		t.Fatalf("want file of %s: %v", rel, err)
	}
	switch {
	case w.Decoder != "activity" && w.Decoder != "actor":
		t.Fatalf("want file of %s: decoder %q", rel, w.Decoder)
	case w.Error == "" && w.Activity == nil && w.Actor == nil:
		t.Fatalf("want file of %s says nothing", rel)
	}
	return w
}

// TestCorpusHasProvenance: every payload has expectations and a line in the
// README's provenance table, and no want file is orphaned.
func TestCorpusHasProvenance(t *testing.T) {
	payloads, wants := corpusFiles(t)
	readme, err := os.ReadFile(filepath.Join(corpusDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range payloads {
		if !bytes.Contains(readme, []byte("| "+filepath.ToSlash(p)+" |")) {
			t.Errorf("%s has no row in %s/README.md", p, corpusDir)
		}
		if !slices.Contains(wants, strings.TrimSuffix(p, ".json")+".want.json") {
			t.Errorf("%s has no .want.json", p)
		}
	}
	for _, w := range wants {
		if !slices.Contains(payloads, strings.TrimSuffix(w, ".want.json")+".json") {
			t.Errorf("%s has no payload", w)
		}
	}
}

// TestCorpusDecode decodes every payload and compares what we keep with its
// want file.
func TestCorpusDecode(t *testing.T) {
	payloads, _ := corpusFiles(t)
	for _, rel := range payloads {
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			w := readWant(t, rel)
			body, err := os.ReadFile(filepath.Join(corpusDir, rel))
			if err != nil {
				t.Fatal(err)
			}
			pending := ""
			if w.Pending != "" {
				pending = fmt.Sprintf(" [known gap, expected to fail until %s]", w.Pending)
			}
			ctx := context.Background()
			var got any
			switch w.Decoder {
			case "activity":
				act, err := DecodeActivity(ctx, body)
				if !checkDecodeErr(t, err, w.Error, pending) {
					return
				}
				got = projectActivity(act)
				if diff := diffJSON(w.Activity, got); diff != "" {
					t.Errorf("DecodeActivity keeps%s:\n%s", pending, diff)
				}
			case "actor":
				doc, err := DecodeActorDoc(ctx, body)
				if !checkDecodeErr(t, err, w.Error, pending) {
					return
				}
				got = projectActor(doc)
				if diff := diffJSON(w.Actor, got); diff != "" {
					t.Errorf("DecodeActorDoc keeps%s:\n%s", pending, diff)
				}
			}
		})
	}
}

// checkDecodeErr reports whether decoding went as the want file says and
// there is a result to compare.
func checkDecodeErr(t *testing.T, err error, want, pending string) bool {
	t.Helper()
	switch {
	case want != "" && err == nil:
		t.Errorf("decoded; want an error containing %q", want)
		return false
	case want != "":
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q; want one containing %q", err, want)
		}
		if !IsDecodeError(err) {
			t.Errorf("error %v is not a DecodeError", err)
		}
		return false
	case err != nil:
		t.Errorf("decode error%s: %v", pending, err)
		return false
	}
	return true
}

func projectActivity(a Activity) *wantActivity {
	w := &wantActivity{
		ID: a.ID, Type: a.Type, Actor: a.Actor,
		Object:     wantObject{ID: a.Object.ID, Type: a.Object.Type, Actor: a.Object.Actor, Object: a.Object.Object},
		Objects:    a.Objects,
		Instrument: a.Instrument, Target: a.Target, Content: a.Content,
	}
	if n := a.Note; n != nil {
		w.Note = &wantNote{
			ID: n.ID, Type: n.Type, AttributedTo: n.AttributedTo, URL: n.URL, Content: n.ContentHTML,
			Summary: n.Summary, Sensitive: n.Sensitive, Language: n.Language, InReplyTo: n.InReplyTo,
			Mentions: n.Mentions, Quote: n.Quote, To: n.To, Cc: n.Cc,
		}
		if !n.Published.IsZero() {
			w.Note.Published = n.Published.UTC().Format(time.RFC3339Nano)
		}
	}
	return w
}

func projectActor(d RemoteActorDoc) *wantActor {
	w := &wantActor{
		ID: d.ID, Type: d.Type, PreferredUsername: d.PreferredUsername, Inbox: d.Inbox,
		SharedInbox: d.SharedInbox, KeyOwner: d.KeyOwner, Name: d.Name, Summary: d.Summary, IconURL: d.IconURL,
		ProfileURL: d.ProfileURL, AlsoKnownAs: d.AlsoKnownAs, MovedTo: d.MovedTo,
	}
	for id := range d.Keys {
		w.KeyIDs = append(w.KeyIDs, id)
	}
	sort.Strings(w.KeyIDs)
	return w
}

// diffJSON compares want and got through their JSON form (so that nil and
// empty lists agree), publication times as instants, and lists the fields
// that differ.
func diffJSON(want, got any) string {
	flat := func(v any) map[string]string {
		b, _ := json.Marshal(v)
		var m map[string]any
		json.Unmarshal(b, &m)
		out := map[string]string{}
		var walk func(prefix string, v any)
		walk = func(prefix string, v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					walk(prefix+"."+k, e)
				}
			default:
				if prefix == ".note.published" {
					if ts, err := time.Parse(time.RFC3339Nano, x.(string)); err == nil {
						x = ts.UTC().Format(time.RFC3339Nano)
					}
				}
				e, _ := json.Marshal(x)
				out[prefix] = string(e)
			}
		}
		walk("", m)
		return out
	}
	w, g := flat(want), flat(got)
	var keys []string
	for k := range w {
		keys = append(keys, k)
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if w[k] != g[k] {
			fmt.Fprintf(&b, "  %s: got %s, want %s\n", k, orNone(g[k]), orNone(w[k]))
		}
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// FuzzDecodeActivity: no panic on anything, and a decoded activity always
// has a type and http(s) id and actor.
func FuzzDecodeActivity(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		act, err := DecodeActivity(context.Background(), body)
		if err != nil {
			if !IsDecodeError(err) {
				t.Fatalf("not a DecodeError: %v", err)
			}
			return
		}
		if act.Type == "" || checkIRI(act.ID) != nil || checkIRI(act.Actor) != nil {
			t.Fatalf("decoded %+v", act)
		}
	})
}

// FuzzDecodeActorDoc: no panic on anything, and a decoded document always
// has an id.
func FuzzDecodeActorDoc(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := DecodeActorDoc(context.Background(), body)
		if err != nil {
			if !IsDecodeError(err) {
				t.Fatalf("not a DecodeError: %v", err)
			}
			return
		}
		if doc.ID == "" {
			t.Fatalf("decoded a document without id: %+v", doc)
		}
	})
}

func seedCorpus(f *testing.F) {
	payloads, _ := corpusFiles(f)
	for _, rel := range payloads {
		b, err := os.ReadFile(filepath.Join(corpusDir, rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// ---- Our documents, as each receiving implementation needs them ----

const codecBase = "https://bridge.example"

// codecService is a Service on an SQLite store for account news, with a
// field, an alias and a pinned public post (and a pinned private one).
func codecService(t *testing.T) (*Service, storage.Store) {
	t.Helper()
	store := storagetest.OpenSQLite(t)
	svc, err := New(context.Background(), Settings{
		BaseURL: codecBase,
		Accounts: []config.Account{{
			Username: "news", DisplayName: "Ville de Test", Type: "Organization",
			Summary: "Nouvelles de la ville", Avatar: "https://cdn.example/avatar.png",
			Fields:      []config.Field{{Name: "Site", Value: "https://ville.example"}},
			AlsoKnownAs: []string{"https://old.example/users/news"},
		}},
		Version: "test",
	}, store, http.DefaultClient, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return svc, store
}

// getAS2 serves path from svc as a remote server fetches it.
func getAS2(t *testing.T, svc *Service, path string) map[string]any {
	t.Helper()
	mux := http.NewServeMux()
	svc.Routes(mux)
	r := httptest.NewRequest(http.MethodGet, codecBase+path, nil)
	r.Header.Set("Accept", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/activity+json") {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	return asMap(t, w.Body.Bytes())
}

func asMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}

// str reads a string at a dotted path ("publicKey.owner").
func str(m map[string]any, path string) string {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[k]
	}
	s, _ := v.(string)
	return s
}

// strs reads a string or a list of strings.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// contextTerms maps every term the @context defines inline to its IRI (or
// its @id), and lists the context documents it imports.
func contextTerms(m map[string]any) (terms map[string]string, docs []string) {
	terms = map[string]string{}
	var add func(v any)
	add = func(v any) {
		switch x := v.(type) {
		case string:
			docs = append(docs, x)
		case []any:
			for _, e := range x {
				add(e)
			}
		case map[string]any:
			for k, e := range x {
				switch d := e.(type) {
				case string:
					terms[k] = d
				case map[string]any:
					terms[k], _ = d["@id"].(string)
				}
			}
		}
	}
	add(m["@context"])
	return terms, docs
}

type rule struct {
	name string
	// source is where the receiving implementation requires it.
	source string
	check  func(m map[string]any) error
}

func runRules(t *testing.T, m map[string]any, rules []rule) {
	t.Helper()
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			if err := r.check(m); err != nil {
				t.Errorf("%v\n(required by %s)", err, r.source)
			}
		})
	}
}

func equal(what, got, want string) error {
	if got != want {
		return fmt.Errorf("%s = %q, want %q", what, got, want)
	}
	return nil
}

func nonEmpty(m map[string]any, paths ...string) error {
	for _, p := range paths {
		if str(m, p) == "" {
			return fmt.Errorf("%s missing or not a string", p)
		}
	}
	return nil
}

func declares(m map[string]any, term, iri string) error {
	terms, _ := contextTerms(m)
	if got, ok := terms[term]; !ok || got != iri {
		return fmt.Errorf("@context defines %s as %q, want %q", term, got, iri)
	}
	return nil
}

func imports(m map[string]any, doc string) error {
	if _, docs := contextTerms(m); !slices.Contains(docs, doc) {
		return fmt.Errorf("@context does not import %s (it has %v)", doc, docs)
	}
	return nil
}

// misskeyUsername is the preferredUsername Misskey and its forks accept
// (ApPersonService validateActor).
var misskeyUsername = regexp.MustCompile(`^\w([\w-.]*\w)?$`)

func actorRules(id string) []rule {
	return []rule{
		{"mastodon/publicKey.owner", "docs.joinmastodon.org/spec/activitypub #publicKey; Mastodon's ActivityPub::ProcessAccountService takes the key only when publicKey.owner is the actor", func(m map[string]any) error {
			return equal("publicKey.owner", str(m, "publicKey.owner"), id)
		}},
		{"mastodon/publicKey.id-fragment", "docs.joinmastodon.org/spec/security (the keyId of our signatures must dereference to the actor)", func(m map[string]any) error {
			return equal("publicKey.id", str(m, "publicKey.id"), id+"#main-key")
		}},
		{"mastodon/publicKeyPem", "docs.joinmastodon.org/spec/activitypub #publicKey", func(m map[string]any) error {
			if !strings.HasPrefix(str(m, "publicKey.publicKeyPem"), "-----BEGIN PUBLIC KEY-----") {
				return fmt.Errorf("publicKey.publicKeyPem is not an SPKI PEM")
			}
			return nil
		}},
		{"mastodon/security-context", "docs.joinmastodon.org/spec/activitypub #sec (publicKey is a term of https://w3id.org/security/v1)", func(m map[string]any) error {
			return imports(m, "https://w3id.org/security/v1")
		}},
		{"mastodon/inbox-and-sharedInbox", "docs.joinmastodon.org/spec/activitypub (Mastodon delivers to endpoints.sharedInbox when present, else to inbox)", func(m map[string]any) error {
			return nonEmpty(m, "inbox", "endpoints.sharedInbox")
		}},
		{"mastodon/toot-terms", "docs.joinmastodon.org/spec/activitypub #toot (featured, discoverable, indexable are toot: terms)", func(m map[string]any) error {
			for term, iri := range map[string]string{"featured": "toot:featured", "discoverable": "toot:discoverable", "indexable": "toot:indexable"} {
				if err := declares(m, term, iri); err != nil {
					return err
				}
			}
			return declares(m, "toot", "http://joinmastodon.org/ns#")
		}},
		{"mastodon/profile-fields", "docs.joinmastodon.org/spec/activitypub #PropertyValue (schema: is http://schema.org#)", func(m map[string]any) error {
			if err := declares(m, "schema", "http://schema.org#"); err != nil {
				return err
			}
			if err := declares(m, "PropertyValue", "schema:PropertyValue"); err != nil {
				return err
			}
			att, _ := m["attachment"].([]any)
			if len(att) == 0 {
				return fmt.Errorf("no attachment")
			}
			for _, a := range att {
				f, _ := a.(map[string]any)
				if str(f, "type") != "PropertyValue" || str(f, "name") == "" || str(f, "value") == "" {
					return fmt.Errorf("attachment %v is not a PropertyValue with name and value", a)
				}
			}
			return nil
		}},
		{"mastodon/manuallyApprovesFollowers", "docs.joinmastodon.org/spec/activitypub #as (as:manuallyApprovesFollowers, a boolean)", func(m map[string]any) error {
			if _, ok := m["manuallyApprovesFollowers"].(bool); !ok {
				return fmt.Errorf("manuallyApprovesFollowers is not a boolean")
			}
			return declares(m, "manuallyApprovesFollowers", "as:manuallyApprovesFollowers")
		}},
		{"gotosocial/featured", "GoToSocial docs/federation/actors.md (pins are read from the actor's featured collection)", func(m map[string]any) error {
			return equal("featured", str(m, "featured"), id+"/collections/featured")
		}},
		{"gotosocial/alsoKnownAs-array", "GoToSocial docs/federation/actors.md (alsoKnownAs: an array of actor URIs)", func(m map[string]any) error {
			list, ok := m["alsoKnownAs"].([]any)
			if !ok || len(list) == 0 {
				return fmt.Errorf("alsoKnownAs = %v, want a non-empty array", m["alsoKnownAs"])
			}
			return declares(m, "alsoKnownAs", "as:alsoKnownAs")
		}},
		{"misskey/same-host", "misskey-dev/misskey ApPersonService validateActor: id, inbox, sharedInbox, outbox, followers, following and publicKey.id on the fetched host", func(m map[string]any) error {
			want := hostport.URLKey(id)
			for _, p := range []string{"id", "inbox", "endpoints.sharedInbox", "outbox", "followers", "following", "publicKey.id"} {
				if str(m, p) == "" && p != "id" && p != "inbox" && p != "publicKey.id" {
					continue // only checked when present
				}
				if h := hostport.URLKey(str(m, p)); h != want {
					return fmt.Errorf("%s on host %q, want %q", p, h, want)
				}
			}
			return nil
		}},
		{"misskey/preferredUsername", "misskey-dev/misskey ApPersonService validateActor (/^\\w([\\w-.]*\\w)?$/, at most 128)", func(m map[string]any) error {
			if u := str(m, "preferredUsername"); !misskeyUsername.MatchString(u) || len(u) > 128 {
				return fmt.Errorf("preferredUsername %q refused by Misskey", u)
			}
			return nil
		}},
		{"pleroma/endpoints", "Pleroma ActivityPub.user_data_from_user_object reads endpoints.sharedInbox and publicKey.publicKeyPem", func(m map[string]any) error {
			return nonEmpty(m, "endpoints.sharedInbox", "publicKey.publicKeyPem")
		}},
		{"fep-521a/assertionMethod", "FEP-521a (and Fedify's Multikey): assertionMethod lists Multikeys with id, controller (the actor) and an Ed25519 publicKeyMultibase; @context has security/multikey/v1 and did/v1 (assertionMethod)", func(m map[string]any) error {
			ks, _ := m["assertionMethod"].([]any)
			if len(ks) != 1 {
				return fmt.Errorf("assertionMethod %v, want one Multikey", m["assertionMethod"])
			}
			k, _ := ks[0].(map[string]any)
			if k["type"] != "Multikey" || k["controller"] != id || k["id"] != id+"/ed25519-key" {
				return fmt.Errorf("assertionMethod[0] = %v", k)
			}
			pub, err := httpsig.ParseMultikey(fmt.Sprint(k["publicKeyMultibase"]))
			if _, ok := pub.(ed25519.PublicKey); err != nil || !ok {
				return fmt.Errorf("publicKeyMultibase: %T, %v; want an Ed25519 key", pub, err)
			}
			c, _ := m["@context"].([]any)
			if !slices.Contains(c, any("https://w3id.org/security/multikey/v1")) || !slices.Contains(c, any("https://www.w3.org/ns/did/v1")) {
				return fmt.Errorf("@context %v lacks multikey/v1 or did/v1", c)
			}
			return nil
		}},
		{"lemmy/person-fields", "LemmyNet/lemmy crates/apub/assets/lemmy/objects/person.json (Lemmy's Person needs id, preferredUsername, inbox and publicKey{id, owner, publicKeyPem})", func(m map[string]any) error {
			return nonEmpty(m, "id", "preferredUsername", "inbox", "publicKey.id", "publicKey.owner", "publicKey.publicKeyPem")
		}},
	}
}

func TestEncodeActor(t *testing.T) {
	svc, _ := codecService(t)
	id := codecBase + "/users/news"
	m := getAS2(t, svc, "/users/news")
	runRules(t, m, actorRules(id))
	t.Run("round-trip", func(t *testing.T) {
		b, _ := json.Marshal(m)
		doc, err := DecodeActorDoc(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		got := projectActor(doc)
		want := &wantActor{
			ID: id, Type: "Organization", PreferredUsername: "news", Inbox: id + "/inbox",
			SharedInbox: codecBase + "/inbox", KeyIDs: []string{id + "#main-key", id + "/ed25519-key"}, Name: "Ville de Test",
			Summary: "<p>Nouvelles de la ville</p>", IconURL: "https://cdn.example/avatar.png", ProfileURL: str(m, "url"),
			AlsoKnownAs: []string{"https://old.example/users/news"},
		}
		if diff := diffJSON(want, got); diff != "" {
			t.Errorf("our actor decodes as:\n%s", diff)
		}
	})
}

func TestEncodeInstanceActor(t *testing.T) {
	svc, _ := codecService(t)
	id := codecBase + "/actor"
	m := getAS2(t, svc, "/actor")
	for _, r := range actorRules(id) {
		switch r.name {
		case "mastodon/profile-fields", "gotosocial/featured", "gotosocial/alsoKnownAs-array":
			continue // an application actor has no fields, pins or aliases
		}
		t.Run(r.name, func(t *testing.T) {
			if err := r.check(m); err != nil {
				t.Errorf("%v\n(required by %s)", err, r.source)
			}
		})
	}
	t.Run("mastodon/application-type", func(t *testing.T) {
		// docs.joinmastodon.org/spec/activitypub: Application or Service is shown as a bot.
		if err := equal("type", str(m, "type"), "Application"); err != nil {
			t.Error(err)
		}
	})
	t.Run("round-trip", func(t *testing.T) {
		b, _ := json.Marshal(m)
		doc, err := DecodeActorDoc(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		if doc.ID != id || doc.Inbox != id+"/inbox" || doc.Keys[id+"#main-key"] == "" {
			t.Errorf("instance actor decodes as %+v", doc)
		}
	})
}

// codecNote is a public reply with a mention, a hashtag, a content warning,
// an image and a language.
func codecNote() Note {
	actor := codecBase + "/users/news"
	return Note{
		ID: actor + "/statuses/7", URL: codecBase + "/@news/7", AttributedTo: actor,
		To: []string{asPublic}, Cc: []string{actor + "/followers", "https://mastodon.example/users/alice"},
		ContentHTML: `<p>Travaux <a href="https://bridge.example/tags/voirie">#voirie</a> <span class="h-card"><a href="https://mastodon.example/@alice">@alice</a></span></p>`,
		Language:    "fr", Summary: "travaux", Sensitive: true,
		Published: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC),
		InReplyTo: "https://mastodon.example/users/alice/statuses/1",
		Tags:      []storage.StatusTag{{Name: "voirie", URL: codecBase + "/tags/voirie"}},
		Mentions:  []storage.StatusMention{{Handle: "alice@mastodon.example", ActorID: "https://mastodon.example/users/alice"}},
		Attachments: []NoteAttachment{{URL: codecBase + "/media/1.jpg", MediaType: "image/jpeg", Name: "Une rue",
			Blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj", Width: 640, Height: 480}},
		Replies: "followers", Quotes: "allow",
	}
}

func noteRules(n Note, obj func(m map[string]any) map[string]any) []rule {
	return []rule{
		{"mastodon/content-and-language", "docs.joinmastodon.org/spec/activitypub (content is the status text; contentMap gives its language)", func(m map[string]any) error {
			o := obj(m)
			if err := equal("content", str(o, "content"), n.ContentHTML); err != nil {
				return err
			}
			cm, _ := o["contentMap"].(map[string]any)
			if len(cm) != 1 || cm[n.Language] != n.ContentHTML {
				return fmt.Errorf("contentMap = %v, want {%s: content}", o["contentMap"], n.Language)
			}
			return nil
		}},
		{"mastodon/addressing", "docs.joinmastodon.org/spec/activitypub #Mention (public: as:Public in to; mentioned actors must be in to or cc)", func(m map[string]any) error {
			o := obj(m)
			to, cc := strs(o["to"]), strs(o["cc"])
			if !slices.Contains(to, asPublic) {
				return fmt.Errorf("to = %v, want the public collection", to)
			}
			for _, mt := range n.Mentions {
				if !slices.Contains(cc, mt.ActorID) && !slices.Contains(to, mt.ActorID) {
					return fmt.Errorf("mentioned %s is not addressed", mt.ActorID)
				}
			}
			return nil
		}},
		{"mastodon/tags", "docs.joinmastodon.org/spec/activitypub #Hashtag and #Mention (tag[].type, name with # or @, href)", func(m map[string]any) error {
			tags, _ := obj(m)["tag"].([]any)
			var mention, hashtag bool
			for _, x := range tags {
				tg, _ := x.(map[string]any)
				switch str(tg, "type") {
				case "Mention":
					mention = str(tg, "href") == n.Mentions[0].ActorID && str(tg, "name") == "@"+n.Mentions[0].Handle
				case "Hashtag":
					hashtag = str(tg, "name") == "#"+n.Tags[0].Name && str(tg, "href") == n.Tags[0].URL
				}
			}
			if !mention || !hashtag {
				return fmt.Errorf("tag = %v, want the Mention and the Hashtag", tags)
			}
			return declares(m, "Hashtag", "as:Hashtag")
		}},
		{"mastodon/content-warning", "docs.joinmastodon.org/spec/activitypub #sensitive (summary is the CW, as:sensitive)", func(m map[string]any) error {
			o := obj(m)
			if s, _ := o["sensitive"].(bool); !s || str(o, "summary") != n.Summary {
				return fmt.Errorf("sensitive = %v, summary = %q", o["sensitive"], str(o, "summary"))
			}
			return declares(m, "sensitive", "as:sensitive")
		}},
		{"mastodon/attachment", "docs.joinmastodon.org/spec/activitypub (attachment[].url, mediaType, name; toot:blurhash)", func(m map[string]any) error {
			att, _ := obj(m)["attachment"].([]any)
			if len(att) != 1 {
				return fmt.Errorf("attachment = %v", att)
			}
			a, _ := att[0].(map[string]any)
			if str(a, "url") != n.Attachments[0].URL || str(a, "mediaType") != "image/jpeg" || str(a, "name") != n.Attachments[0].Name || str(a, "blurhash") == "" {
				return fmt.Errorf("attachment = %v", a)
			}
			return declares(m, "blurhash", "toot:blurhash")
		}},
		{"mastodon/reply-and-permalink", "docs.joinmastodon.org/spec/activitypub (inReplyTo threads it; url is the permalink; published is the date)", func(m map[string]any) error {
			o := obj(m)
			if err := equal("inReplyTo", str(o, "inReplyTo"), n.InReplyTo); err != nil {
				return err
			}
			if err := equal("url", str(o, "url"), n.URL); err != nil {
				return err
			}
			return equal("published", str(o, "published"), "2026-03-04T10:00:00Z")
		}},
		{"mastodon/canQuote", "FEP-044f / Mastodon 4.5: interactionPolicy.canQuote.automaticApproval", func(m map[string]any) error {
			if got := strs(mapAt(obj(m), "interactionPolicy", "canQuote")["automaticApproval"]); !slices.Equal(got, []string{asPublic}) {
				return fmt.Errorf("canQuote.automaticApproval = %v, want [Public]", got)
			}
			return declares(m, "canQuote", "gts:canQuote")
		}},
		{"gotosocial/interactionPolicy", "GoToSocial docs/federation/interaction_controls.md (automaticApproval, and the older always, for canLike, canReply, canAnnounce; a policy that allows followers must not contain Public)", func(m map[string]any) error {
			p := mapAt(obj(m), "interactionPolicy")
			for _, sub := range []string{"canLike", "canReply", "canAnnounce"} {
				s, _ := p[sub].(map[string]any)
				if s == nil || strs(s["automaticApproval"]) == nil || !slices.Equal(strs(s["automaticApproval"]), strs(s["always"])) {
					return fmt.Errorf("%s = %v, want automaticApproval and the same always", sub, p[sub])
				}
			}
			reply := strs(mapAt(p, "canReply")["automaticApproval"])
			if slices.Contains(reply, asPublic) || !slices.Contains(reply, n.AttributedTo+"/followers") {
				return fmt.Errorf("canReply.automaticApproval = %v, want the followers and not Public", reply)
			}
			if err := declares(m, "gts", "https://gotosocial.org/ns#"); err != nil {
				return err
			}
			return declares(m, "interactionPolicy", "gts:interactionPolicy")
		}},
		{"misskey/host-and-author", "misskey-dev/misskey ApNoteService.createNote (the note's id is on its author's host; attributedTo is the actor)", func(m map[string]any) error {
			o := obj(m)
			if hostport.URLKey(str(o, "id")) != hostport.URLKey(str(o, "attributedTo")) {
				return fmt.Errorf("note %s on another host than its author %s", str(o, "id"), str(o, "attributedTo"))
			}
			return equal("attributedTo", str(o, "attributedTo"), n.AttributedTo)
		}},
	}
}

func mapAt(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m, _ = m[k].(map[string]any)
	}
	return m
}

func TestEncodeNote(t *testing.T) {
	n := codecNote()
	b, err := EncodeNote(n)
	if err != nil {
		t.Fatal(err)
	}
	m := asMap(t, b)
	runRules(t, m, noteRules(n, func(m map[string]any) map[string]any { return m }))
	t.Run("mastodon/type-and-id", func(t *testing.T) {
		// docs.joinmastodon.org/spec/activitypub: Note is a first-class type.
		if str(m, "type") != "Note" || str(m, "id") != n.ID {
			t.Errorf("type %q id %q", str(m, "type"), str(m, "id"))
		}
	})
}

func TestEncodeCreateAndUpdate(t *testing.T) {
	n := codecNote()
	for _, typ := range []string{"Create", "Update"} {
		t.Run(typ, func(t *testing.T) {
			nn := n
			if typ == "Update" {
				nn.Updated = n.Published.Add(time.Hour)
			}
			b, err := EncodeNoteActivity(typ, nn)
			if err != nil {
				t.Fatal(err)
			}
			m := asMap(t, b)
			runRules(t, m, noteRules(nn, func(m map[string]any) map[string]any { return mapAt(m, "object") }))
			runRules(t, m, []rule{
				{"mastodon/actor-is-author", "Mastodon ActivityPub::Activity::Create (the object's attributedTo must be the activity's actor)", func(m map[string]any) error {
					return equal("actor", str(m, "actor"), str(mapAt(m, "object"), "attributedTo"))
				}},
				{"pleroma/same-origin", "Pleroma Containment.contain_origin (the activity id and its object's id on the actor's host)", func(m map[string]any) error {
					for _, p := range []string{"id", "object.id"} {
						if hostport.URLKey(str(m, p)) != hostport.URLKey(str(m, "actor")) {
							return fmt.Errorf("%s %s not on the actor's host", p, str(m, p))
						}
					}
					return nil
				}},
				{"mastodon/addressing-copied", "Mastodon delivers by the activity's to/cc: they must be the note's", func(m map[string]any) error {
					if !slices.Equal(strs(m["to"]), strs(mapAt(m, "object")["to"])) || !slices.Equal(strs(m["cc"]), strs(mapAt(m, "object")["cc"])) {
						return fmt.Errorf("activity to/cc %v %v differ from the note's", m["to"], m["cc"])
					}
					return nil
				}},
			})
			if typ == "Update" {
				t.Run("mastodon/updated", func(t *testing.T) {
					// docs.joinmastodon.org/spec/activitypub: Update edits a status only when updated is present (3.5+).
					if err := equal("object.updated", str(mapAt(m, "object"), "updated"), "2026-03-04T11:00:00Z"); err != nil {
						t.Error(err)
					}
				})
			}
			t.Run("round-trip", func(t *testing.T) {
				act, err := DecodeActivity(context.Background(), b)
				if err != nil {
					t.Fatal(err)
				}
				got := projectActivity(act)
				want := &wantActivity{ID: str(m, "id"), Type: typ, Actor: n.AttributedTo,
					Object: wantObject{ID: n.ID, Type: "Note"}, Objects: []string{n.ID},
					Note: &wantNote{ID: n.ID, Type: "Note", AttributedTo: n.AttributedTo, URL: n.URL, Content: n.ContentHTML,
						Summary: n.Summary, Sensitive: true, Language: "fr", InReplyTo: n.InReplyTo,
						Mentions: []string{"https://mastodon.example/users/alice"}, Published: "2026-03-04T10:00:00Z", To: n.To, Cc: n.Cc}}
				if diff := diffJSON(want, got); diff != "" {
					t.Errorf("our %s decodes as:\n%s", typ, diff)
				}
			})
		})
	}
}

func TestEncodeDeleteAndTombstone(t *testing.T) {
	n := codecNote()
	b, err := EncodeDelete(n)
	if err != nil {
		t.Fatal(err)
	}
	m := asMap(t, b)
	runRules(t, m, []rule{
		{"mastodon/tombstone", "docs.joinmastodon.org/spec/activitypub (Delete removes a status; Mastodon sends a Tombstone with the status id)", func(m map[string]any) error {
			if str(m, "object.type") != "Tombstone" {
				return fmt.Errorf("object.type = %q", str(m, "object.type"))
			}
			return equal("object.id", str(m, "object.id"), n.ID)
		}},
		{"misskey/actor-is-author", "misskey-dev/misskey ApInboxService.delete (only the note's author may delete it)", func(m map[string]any) error {
			return equal("actor", str(m, "actor"), n.AttributedTo)
		}},
		{"gotosocial/addressed", "GoToSocial delivers the Delete by its to/cc (docs/federation/posts.md)", func(m map[string]any) error {
			if !slices.Contains(strs(m["to"]), asPublic) {
				return fmt.Errorf("to = %v", m["to"])
			}
			return nil
		}},
	})
	t.Run("round-trip", func(t *testing.T) {
		act, err := DecodeActivity(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		want := &wantActivity{ID: n.ID + "#delete", Type: "Delete", Actor: n.AttributedTo,
			Object: wantObject{ID: n.ID, Type: "Tombstone"}, Objects: []string{n.ID}}
		if diff := diffJSON(want, projectActivity(act)); diff != "" {
			t.Errorf("our Delete decodes as:\n%s", diff)
		}
	})
	t.Run("tombstone-document", func(t *testing.T) {
		// What the deleted note's URL answers (with 410): ActivityStreams' Tombstone with deleted.
		b, err := EncodeTombstone(n.ID, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		ts := asMap(t, b)
		if str(ts, "type") != "Tombstone" || str(ts, "id") != n.ID || str(ts, "deleted") != "2026-03-05T00:00:00Z" {
			t.Errorf("tombstone %v", ts)
		}
	})
}

func TestEncodeAcceptFollow(t *testing.T) {
	actor := codecBase + "/users/news"
	// A Follow as Misskey sends it (corpus misskey/follow.json).
	follow := Activity{ID: "https://misskey.io/follows/83ssedkv53/9xq3fl2mxa", Type: "Follow",
		Actor: "https://misskey.io/users/83ssedkv53", Object: Object{ID: actor}}
	b, err := EncodeAccept(actor+"#accepts/1", actor, follow)
	if err != nil {
		t.Fatal(err)
	}
	m := asMap(t, b)
	runRules(t, m, []rule{
		{"mastodon/follow-id", "Mastodon ActivityPub::Activity::Accept#accept_follow (the follow request is found by the embedded or referenced Follow's id)", func(m map[string]any) error {
			return equal("object.id", str(m, "object.id"), follow.ID)
		}},
		{"gotosocial/accepted-by-followee", "GoToSocial federatingdb Accept (the Accept's actor must be the Follow's object)", func(m map[string]any) error {
			return equal("actor", str(m, "actor"), str(m, "object.object"))
		}},
		{"misskey/embedded-follow-actor", "misskey-dev/misskey ApInboxService.acceptFollow (reads the embedded Follow's actor)", func(m map[string]any) error {
			return equal("object.actor", str(m, "object.actor"), follow.Actor)
		}},
		{"lemmy/embedded-follow", "LemmyNet/lemmy crates/apub/assets/lemmy/activities/following/accept.json (Lemmy's AcceptFollow embeds the whole Follow: type, id, actor, object)", func(m map[string]any) error {
			if str(m, "object.type") != "Follow" {
				return fmt.Errorf("object.type = %q", str(m, "object.type"))
			}
			return nonEmpty(m, "object.id", "object.actor", "object.object")
		}},
		{"pleroma/addressed-to-follower", "Pleroma delivers and checks the Accept by its recipients: to the follower", func(m map[string]any) error {
			if !slices.Contains(strs(m["to"]), follow.Actor) {
				return fmt.Errorf("to = %v", m["to"])
			}
			return nil
		}},
	})
	t.Run("round-trip", func(t *testing.T) {
		act, err := DecodeActivity(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		want := &wantActivity{ID: actor + "#accepts/1", Type: "Accept", Actor: actor,
			Object: wantObject{ID: follow.ID, Type: "Follow", Actor: follow.Actor, Object: actor}, Objects: []string{follow.ID}}
		if diff := diffJSON(want, projectActivity(act)); diff != "" {
			t.Errorf("our Accept decodes as:\n%s", diff)
		}
	})
}

func TestEncodeBlockAndUndo(t *testing.T) {
	actor := codecBase + "/users/news"
	target := "https://example.com/~mallory"
	b, err := EncodeBlock(actor+"#blocks/1", actor, target)
	if err != nil {
		t.Fatal(err)
	}
	m := asMap(t, b)
	runRules(t, m, []rule{
		{"mastodon/block", "docs.joinmastodon.org/spec/activitypub #Block (actor blocks object, sent to the object)", func(m map[string]any) error {
			if err := equal("object", str(m, "object"), target); err != nil {
				return err
			}
			if !slices.Contains(strs(m["to"]), target) {
				return fmt.Errorf("to = %v", m["to"])
			}
			return equal("actor", str(m, "actor"), actor)
		}},
	})
	u, err := EncodeUndoBlock(actor+"#blocks/1/undo", actor, target, actor+"#blocks/1")
	if err != nil {
		t.Fatal(err)
	}
	um := asMap(t, u)
	runRules(t, um, []rule{
		{"mastodon/undo-block", "docs.joinmastodon.org/spec/activitypub (Undo of a Block; Mastodon matches the embedded Block's object)", func(m map[string]any) error {
			if str(m, "object.type") != "Block" || str(m, "object.id") != actor+"#blocks/1" || str(m, "object.object") != target {
				return fmt.Errorf("object = %v", m["object"])
			}
			return nil
		}},
	})
	t.Run("round-trip", func(t *testing.T) {
		act, err := DecodeActivity(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		want := &wantActivity{ID: actor + "#blocks/1/undo", Type: "Undo", Actor: actor,
			Object: wantObject{ID: actor + "#blocks/1", Type: "Block", Actor: actor, Object: target}, Objects: []string{actor + "#blocks/1"}}
		if diff := diffJSON(want, projectActivity(act)); diff != "" {
			t.Errorf("our Undo decodes as:\n%s", diff)
		}
	})
}

func TestEncodeMoveCodec(t *testing.T) {
	actor := codecBase + "/users/news"
	target := "https://new.example/users/news"
	b, err := EncodeMove(actor+"#moves/1", actor, target, actor+"/followers")
	if err != nil {
		t.Fatal(err)
	}
	m := asMap(t, b)
	runRules(t, m, []rule{
		{"mastodon/move", "docs.joinmastodon.org/spec/activitypub #Move (object is the actor, target the new account, to the followers)", func(m map[string]any) error {
			if str(m, "object") != actor || str(m, "target") != target || !slices.Contains(strs(m["to"]), actor+"/followers") {
				return fmt.Errorf("move %v", m)
			}
			return nil
		}},
		{"gotosocial/actor-is-object", "GoToSocial docs/federation/actors.md (Move: actor and object must be the same)", func(m map[string]any) error {
			return equal("object", str(m, "object"), str(m, "actor"))
		}},
	})
	t.Run("round-trip", func(t *testing.T) {
		act, err := DecodeActivity(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		want := &wantActivity{ID: actor + "#moves/1", Type: "Move", Actor: actor, Object: wantObject{ID: actor},
			Objects: []string{actor}, Target: target}
		if diff := diffJSON(want, projectActivity(act)); diff != "" {
			t.Errorf("our Move decodes as:\n%s", diff)
		}
	})
}

func TestEncodeQuoteAnswerAndAuthorization(t *testing.T) {
	actor := codecBase + "/users/news"
	quoted := actor + "/statuses/7"
	// The QuoteRequest of corpus fep/044f-quote-request.json, aimed at us.
	req := Activity{ID: "https://example.com/users/bob/statuses/1/quote", Type: "QuoteRequest",
		Actor: "https://example.com/users/bob", Object: Object{ID: quoted}, Instrument: "https://example.com/users/bob/statuses/1"}
	stamp := quoted + "/quotes/1"
	b, err := EncodeInteractionAnswer(InteractionAnswer{ID: actor + "#quote-accepts/1", Actor: actor, To: req.Actor,
		Request: &InteractionRequest{ID: req.ID, Type: req.Type, Actor: req.Actor}, Interaction: req.Instrument, Target: quoted, Authorization: stamp})
	if err != nil {
		t.Fatal(err)
	}
	m := asMap(t, b)
	runRules(t, m, []rule{
		{"mastodon/accept-quote-request", "FEP-044f \"Example Accept\" (object is the QuoteRequest, result the QuoteAuthorization)", func(m map[string]any) error {
			if str(m, "type") != "Accept" || str(m, "object.type") != "QuoteRequest" || str(m, "object.id") != req.ID ||
				str(m, "object.instrument") != req.Instrument || str(m, "object.object") != quoted || str(m, "result") != stamp {
				return fmt.Errorf("accept %v", m)
			}
			return declares(m, "QuoteRequest", "https://w3id.org/fep/044f#QuoteRequest")
		}},
		{"mastodon/addressed-to-quoter", "FEP-044f \"Example Accept\" (to the quote's author)", func(m map[string]any) error {
			if !slices.Equal(strs(m["to"]), []string{req.Actor}) {
				return fmt.Errorf("to = %v", m["to"])
			}
			return nil
		}},
	})
	qa, err := EncodeQuoteAuthorization(stamp, actor, req.Instrument, quoted)
	if err != nil {
		t.Fatal(err)
	}
	runRules(t, asMap(t, qa), []rule{
		{"mastodon/quote-authorization", "FEP-044f \"Verifying a QuoteAuthorization\" (interactingObject the quote, interactionTarget the quoted post, attributedTo its author)", func(m map[string]any) error {
			if str(m, "type") != "QuoteAuthorization" || str(m, "id") != stamp || str(m, "attributedTo") != actor ||
				str(m, "interactingObject") != req.Instrument || str(m, "interactionTarget") != quoted {
				return fmt.Errorf("authorization %v", m)
			}
			if err := declares(m, "interactingObject", "gts:interactingObject"); err != nil {
				return err
			}
			return declares(m, "QuoteAuthorization", "https://w3id.org/fep/044f#QuoteAuthorization")
		}},
	})
	t.Run("round-trip", func(t *testing.T) {
		act, err := DecodeActivity(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		want := &wantActivity{ID: actor + "#quote-accepts/1", Type: "Accept", Actor: actor,
			Object: wantObject{ID: req.ID, Type: "QuoteRequest", Actor: req.Actor, Object: quoted}, Objects: []string{req.ID}}
		if diff := diffJSON(want, projectActivity(act)); diff != "" {
			t.Errorf("our Accept of a QuoteRequest decodes as:\n%s", diff)
		}
	})
}

func TestEncodeRejectReply(t *testing.T) {
	actor := codecBase + "/users/news"
	reply := "https://boobs.example.com/users/boobslover6969/statuses/01KFGBRPFJJCP0FM4039H4VDVQ"
	replier := "https://boobs.example.com/users/boobslover6969"
	post := actor + "/statuses/7"
	b, err := EncodeRejectReply(actor+"#rejects/1", actor, replier, reply, post)
	if err != nil {
		t.Fatal(err)
	}
	m := asMap(t, b)
	runRules(t, m, []rule{
		{"gotosocial/reject-impolite-reply", "GoToSocial docs/federation/interaction_controls.md (Reject of an impolite interaction: object the reply, target the post, to the replier)", func(m map[string]any) error {
			if str(m, "type") != "Reject" || str(m, "object") != reply || str(m, "target") != post || !slices.Contains(strs(m["to"]), replier) {
				return fmt.Errorf("reject %v", m)
			}
			return equal("actor", str(m, "actor"), actor)
		}},
	})
	t.Run("round-trip", func(t *testing.T) {
		act, err := DecodeActivity(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		want := &wantActivity{ID: actor + "#rejects/1", Type: "Reject", Actor: actor, Object: wantObject{ID: reply},
			Objects: []string{reply}, Target: post}
		if diff := diffJSON(want, projectActivity(act)); diff != "" {
			t.Errorf("our Reject decodes as:\n%s", diff)
		}
	})
}

func TestEncodeFeaturedCollection(t *testing.T) {
	svc, store := codecService(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var ids []int64
	for _, vis := range []string{storage.VisibilityPublic, storage.VisibilityPrivate} {
		id, err := store.InsertStatus(ctx, storage.Status{Account: "news", Text: "pin", ContentHTML: "<p>pin</p>",
			Visibility: vis, CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetStatusPinned(ctx, "news", id, now); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	actor := codecBase + "/users/news"
	m := getAS2(t, svc, "/users/news/collections/featured")
	items, _ := m["orderedItems"].([]any)
	runRules(t, m, []rule{
		{"mastodon/featured", "docs.joinmastodon.org/spec/activitypub #featured (an OrderedCollection of the pinned statuses at the actor's featured IRI)", func(m map[string]any) error {
			if str(m, "type") != "OrderedCollection" || str(m, "id") != svc.Links().Featured("news") {
				return fmt.Errorf("collection %s %s", str(m, "type"), str(m, "id"))
			}
			if n, _ := m["totalItems"].(float64); int(n) != len(items) {
				return fmt.Errorf("totalItems %v, %d items", m["totalItems"], len(items))
			}
			return nil
		}},
		{"gotosocial/public-pins-only", "GoToSocial docs/federation/actors.md (remote servers must filter what they may not see; we list only what anyone may see)", func(m map[string]any) error {
			if len(items) != 1 {
				return fmt.Errorf("%d items, want the public pin only", len(items))
			}
			n, _ := items[0].(map[string]any)
			if str(n, "id") != svc.Links().Note("news", ids[0]) || str(n, "attributedTo") != actor || str(n, "type") != "Note" {
				return fmt.Errorf("item %v", n)
			}
			return nil
		}},
	})
}

// TestCorpusKindsCovered: every implementation named in issue 13 has an
// actor or key document and at least one activity in the corpus.
func TestCorpusKindsCovered(t *testing.T) {
	payloads, _ := corpusFiles(t)
	byImpl := map[string][]string{}
	for _, p := range payloads {
		dir := filepath.Dir(p)
		byImpl[dir] = append(byImpl[dir], strings.TrimSuffix(filepath.Base(p), ".json"))
	}
	for _, impl := range []string{"mastodon", "gotosocial", "misskey", "sharkey", "pleroma", "threads", "wordpress", "pixelfed", "lemmy", "fedify", "hollo"} {
		kinds := byImpl[impl]
		var actor, act bool
		for _, k := range kinds {
			w := readWant(t, filepath.Join(impl, k+".json"))
			actor = actor || w.Decoder == "actor"
			act = act || (w.Decoder == "activity" && w.Error == "")
		}
		if !actor || !act {
			t.Errorf("%s: kinds %v lack an actor/key document or an activity", impl, kinds)
		}
	}
}
