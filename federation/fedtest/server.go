// Package fedtest simulates remote fediverse servers (Mastodon-like) for
// end-to-end tests and benchmarks of Passerelle's federation.
//
// A Server listens on a loopback address and hosts actors u0, u1, ... with
// RSA keys, personal inboxes and a shared inbox. Its inboxes verify HTTP
// Signatures with a small draft-cavage verifier written here on crypto/rsa
// alone, independent of package federation and of go-fed/httpsig, so that a
// bug shared by our signer and our verifier cannot go unnoticed. The remote
// actors also sign their own requests (Follow, Undo, signed GETs) with a
// signer written here.
//
// fedtest does not import package federation, so federation's own tests
// may use it.
package fedtest

import (
	"cmp"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Defaults of Options.
const (
	DefaultStatus     = http.StatusAccepted
	DefaultFailStatus = http.StatusInternalServerError
	DefaultDateWindow = 5 * time.Minute
	// DefaultKeys is the number of keys generated when Options.Keys is nil;
	// actors share them round-robin.
	DefaultKeys = 2
)

// ContentTypeAS2 is the media type of actor documents and activities.
const ContentTypeAS2 = "application/activity+json"

const maxInboxBody = 1 << 20

// Options shape how a Server behaves. The zero value is a healthy,
// Mastodon-like server.
type Options struct {
	// Status answers inbox POSTs whose signature verifies (0: 202).
	// Use 410 for a gone inbox, 500 for a broken one.
	Status int
	// Latency delays every inbox answer, after the body is read.
	Latency time.Duration
	// FailFirst makes the first FailFirst inbox requests answer FailStatus
	// (0: 500), whatever their signature, e.g. to test retries.
	FailFirst  int
	FailStatus int
	// RequireSignedFetch makes actor documents answer 401 to GETs without a
	// valid signature, like Mastodon's secure mode and GoToSocial.
	RequireSignedFetch bool
	// Now is the clock for Date checks (nil: time.Now); DateWindow the
	// accepted skew either way (0: 5 minutes).
	Now        func() time.Time
	DateWindow time.Duration

	// Keys is the pool of private keys; actor i uses Keys[i%len(Keys)].
	// Sharing keys is invisible to verifiers (each actor has its own keyId)
	// and RSA-2048 generation is slow, so pass one pool (GenerateKeys) to
	// all the servers of a test. Nil: DefaultKeys keys are generated.
	// Read at start only.
	Keys []*rsa.PrivateKey
	// KeyClient fetches signers' key documents (nil: a plain client, no
	// proxy, 5 s timeout). Read at start only.
	KeyClient *http.Client
	// KeyShape is how the actors' keys are published (KeyShapeMastodon
	// when empty). Read at start only.
	KeyShape KeyShape
}

// KeyShape is one of the ways real servers publish their actors' keys.
type KeyShape string

const (
	// KeyShapeMastodon: the key id is <actor>#main-key, a fragment of
	// the actor document.
	KeyShapeMastodon KeyShape = ""
	// KeyShapeGoToSocial: the key id is <actor>/main-key; fetched, it
	// answers a stub of the actor (@context, id, type,
	// preferredUsername, publicKey: no inbox), and the actor document
	// itself answers only signed GETs.
	KeyShapeGoToSocial KeyShape = "gotosocial"
	// KeyShapeKeyDocument: the key id is <base>/keys/<name>, a
	// standalone CryptographicKey document naming its owner, and the
	// actor's publicKey is that IRI alone.
	KeyShapeKeyDocument KeyShape = "keydoc"
)

// Delivery is one request received by an inbox.
type Delivery struct {
	Path     string         // /users/u0/inbox or /inbox
	KeyID    string         // keyId of the Signature header, if any
	Signer   string         // owner of the key, once fetched
	Verified bool           // the signature, Date, Digest and actor all check out
	Err      error          // why it did not verify; nil when Verified
	Activity map[string]any // the parsed JSON body; nil if it is not JSON
	Body     []byte
	Header   http.Header
	Status   int // status answered
	At       time.Time
}

// Fetch is one GET of an actor document.
type Fetch struct {
	Path     string
	KeyID    string // empty for an unsigned GET
	Verified bool
	Err      error // nil when Verified; set for unsigned GETs too
	Status   int
}

// Server is a simulated remote server. Its methods are safe for concurrent
// use.
type Server struct {
	srv    *httptest.Server
	base   string // http://host:port
	host   string // host:port
	actors []actor
	keys   *keyCache

	seq    atomic.Int64 // activity ids
	mu     sync.Mutex
	opts   Options
	failed int // FailFirst answers given so far
	recv   []Delivery
	gets   []Fetch
	change chan struct{} // closed and replaced on each new Delivery
	// objects are the documents served under /objects/ (SetObject).
	objects map[string][]byte
}

// actor is one simulated account.
type actor struct {
	name   string
	id     string
	key    *rsa.PrivateKey
	pubPEM string
	doc    []byte
	keyDoc []byte // served at the key id, for key shapes other than Mastodon's
}

// Start starts a healthy Server with nActors actors on addr, a loopback
// address such as "127.0.0.2:0". It is closed at the end of the test.
func Start(tb testing.TB, addr string, nActors int) *Server {
	tb.Helper()
	return StartWith(tb, addr, nActors, Options{})
}

// StartWith is Start with Options.
func StartWith(tb testing.TB, addr string, nActors int, opts Options) *Server {
	tb.Helper()
	s, err := New(addr, nActors, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// New starts a Server outside of a test (benchmark programs, tools): it is
// StartWith without testing.TB, and the caller must Close it.
func New(addr string, nActors int, opts Options) (*Server, error) {
	if nActors < 1 {
		return nil, fmt.Errorf("fedtest: need at least one actor, got %d", nActors)
	}
	keys := opts.Keys
	if len(keys) == 0 {
		var err error
		if keys, err = NewKeys(min(nActors, DefaultKeys)); err != nil {
			return nil, err
		}
	}
	ln, err := listenLoopback(addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		host:   ln.Addr().String(),
		keys:   newKeyCache(opts.KeyClient),
		opts:   opts,
		change: make(chan struct{}),
	}
	s.base = "http://" + s.host
	for i := range nActors {
		a, err := s.newActor(i, keys[i%len(keys)])
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.actors = append(s.actors, a)
	}
	s.srv = httptest.NewUnstartedServer(s.routes())
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	return s, nil
}

// listenLoopback listens on addr, which must be a loopback IP and port:
// simulated servers never listen elsewhere.
func listenLoopback(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("fedtest: address %q: %v", addr, err)
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("fedtest: address %q is not a loopback IP", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fedtest: listen on %s: %v", addr, err)
	}
	return ln, nil
}

// Close stops the server. Safe to call more than once.
func (s *Server) Close() { s.srv.Close() }

// URL is the server's base URL, http://host:port.
func (s *Server) URL() string { return s.base }

// Host is the server's host:port.
func (s *Server) Host() string { return s.host }

// NumActors is the number of actors.
func (s *Server) NumActors() int { return len(s.actors) }

// ActorID is the id of actor i: http://host:port/users/u<i>.
func (s *Server) ActorID(i int) string { return s.actors[i].id }

// KeyID is the id of actor i's key: <actor>#main-key.
func (s *Server) KeyID(i int) string { return s.keyID(s.actors[i].id, s.actors[i].name) }

// Handle is actor i's handle: u<i>@host:port.
func (s *Server) Handle(i int) string { return s.actors[i].name + "@" + s.host }

// InboxURL is actor i's personal inbox.
func (s *Server) InboxURL(i int) string { return s.actors[i].id + "/inbox" }

// SharedInboxURL is the server's shared inbox.
func (s *Server) SharedInboxURL() string { return s.base + "/inbox" }

// Key is actor i's private key.
func (s *Server) Key(i int) *rsa.PrivateKey { return s.actors[i].key }

// PublicKeyPEM is actor i's public key as published (SPKI PEM).
func (s *Server) PublicKeyPEM(i int) string { return s.actors[i].pubPEM }

// SetOptions changes the behaviour of a running server (Keys and KeyClient
// are ignored) and restarts the FailFirst count.
func (s *Server) SetOptions(o Options) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts = o
	s.failed = 0
}

// Received returns a copy of the inbox requests received so far.
func (s *Server) Received() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.recv...)
}

// Count is the number of inbox requests received so far.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recv)
}

// Fetches returns a copy of the actor document GETs received so far.
func (s *Server) Fetches() []Fetch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fetch(nil), s.gets...)
}

// KeyFetches is the number of key documents fetched (not from the cache).
func (s *Server) KeyFetches() int { return s.keys.fetchCount() }

// Reset forgets received requests and cached keys.
func (s *Server) Reset() {
	s.mu.Lock()
	s.recv, s.gets = nil, nil
	s.mu.Unlock()
	s.keys.clear()
}

// WaitFor waits until at least n inbox requests have been received, or
// timeout; it reports whether they were.
func (s *Server) WaitFor(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, change := len(s.recv), s.change
		s.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-change:
		case <-deadline.C:
			return false
		}
	}
}

func (s *Server) options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

func (s *Server) record(d Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recv = append(s.recv, d)
	close(s.change)
	s.change = make(chan struct{})
}

func (s *Server) recordFetch(f Fetch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets = append(s.gets, f)
}

// takeFailure reports whether this inbox request must fail (FailFirst).
func (s *Server) takeFailure() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed < s.opts.FailFirst {
		s.failed++
		return true
	}
	return false
}

// actorDoc is the Mastodon-like shape of an actor document.
type actorDoc struct {
	Context           []string       `json:"@context"`
	ID                string         `json:"id"`
	Type              string         `json:"type"`
	PreferredUsername string         `json:"preferredUsername"`
	Name              string         `json:"name"`
	Summary           string         `json:"summary"`
	Inbox             string         `json:"inbox"`
	Outbox            string         `json:"outbox"`
	Followers         string         `json:"followers"`
	Following         string         `json:"following"`
	URL               string         `json:"url"`
	Manual            bool           `json:"manuallyApprovesFollowers"`
	Endpoints         map[string]any `json:"endpoints"`
	PublicKey         any            `json:"publicKey"` // publicKeyDoc, or its id
}

type publicKeyDoc struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

func (s *Server) newActor(i int, key *rsa.PrivateKey) (actor, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return actor{}, fmt.Errorf("fedtest: actor %d: %w", i, err)
	}
	a := actor{name: "u" + strconv.Itoa(i), key: key}
	a.id = s.base + "/users/" + a.name
	a.pubPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	ctx := []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"}
	pk := publicKeyDoc{ID: s.keyID(a.id, a.name), Owner: a.id, PublicKeyPem: a.pubPEM}
	doc := actorDoc{
		Context:           ctx,
		ID:                a.id,
		Type:              "Person",
		PreferredUsername: a.name,
		Name:              "Test user " + strconv.Itoa(i),
		// A bio with what sanitising must remove.
		Summary:   "<p>Bio of " + a.name + `<script>alert(1)</script></p>`,
		Inbox:     a.id + "/inbox",
		Outbox:    a.id + "/outbox",
		Followers: a.id + "/followers",
		Following: a.id + "/following",
		URL:       s.base + "/@" + a.name,
		Endpoints: map[string]any{"sharedInbox": s.base + "/inbox"},
		PublicKey: pk,
	}
	switch s.opts.KeyShape {
	case KeyShapeGoToSocial:
		a.keyDoc, err = json.Marshal(map[string]any{
			"@context": ctx, "id": a.id, "type": "Person", "preferredUsername": a.name, "publicKey": pk,
		})
	case KeyShapeKeyDocument:
		doc.PublicKey = pk.ID
		a.keyDoc, err = json.Marshal(map[string]any{
			"@context": ctx, "id": pk.ID, "type": "CryptographicKey", "owner": a.id, "publicKeyPem": a.pubPEM,
		})
	}
	if err == nil {
		a.doc, err = json.Marshal(doc)
	}
	if err != nil {
		return actor{}, fmt.Errorf("fedtest: actor %d: %w", i, err)
	}
	return a, nil
}

// keyID is the key id of the actor id called name, in the server's key
// shape.
func (s *Server) keyID(id, name string) string {
	switch s.opts.KeyShape {
	case KeyShapeGoToSocial:
		return id + "/main-key"
	case KeyShapeKeyDocument:
		return s.base + "/keys/" + name
	}
	return id + "#main-key"
}

// serveKey answers GETs of key documents (KeyShapeGoToSocial and
// KeyShapeKeyDocument), signed or not.
func (s *Server) serveKey(w http.ResponseWriter, r *http.Request) {
	a := s.actorByName(r.PathValue("name"))
	if a == nil || a.keyDoc == nil {
		http.NotFound(w, r)
		return
	}
	s.recordFetch(Fetch{Path: r.URL.Path, Status: http.StatusOK})
	w.Header().Set("Content-Type", ContentTypeAS2)
	w.Write(a.keyDoc)
}

// actorByName returns the actor called name (u<i>), or nil.
func (s *Server) actorByName(name string) *actor {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "u"))
	if err != nil || !strings.HasPrefix(name, "u") || i < 0 || i >= len(s.actors) || s.actors[i].name != name {
		return nil
	}
	return &s.actors[i]
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{name}", s.serveActor)
	mux.HandleFunc("GET /users/{name}/main-key", s.serveKey)
	mux.HandleFunc("GET /keys/{name}", s.serveKey)
	mux.HandleFunc("POST /users/{name}/inbox", s.serveInbox)
	mux.HandleFunc("POST /inbox", s.serveInbox)
	mux.HandleFunc("GET /.well-known/webfinger", s.serveWebfinger)
	mux.HandleFunc("GET /objects/{rest...}", s.serveObject)
	return mux
}

// ObjectURL is the URL SetObject serves name at.
func (s *Server) ObjectURL(name string) string { return s.base + "/objects/" + name }

// SetObject serves doc (JSON) at ObjectURL(name), as actor documents are
// served (to signed GETs only with RequireSignedFetch); GETs are recorded
// as Fetches.
func (s *Server) SetObject(name string, doc any) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.objects == nil {
		s.objects = map[string][]byte{}
	}
	s.objects[name] = b
	return nil
}

func (s *Server) serveObject(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b, ok := s.objects[r.PathValue("rest")]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	opts := s.options()
	f := Fetch{Path: r.URL.Path, Status: http.StatusOK}
	f.KeyID, _, f.Err = s.verifyRequest(r, nil, opts)
	f.Verified = f.Err == nil
	if !f.Verified && opts.RequireSignedFetch {
		f.Status = http.StatusUnauthorized
	}
	s.recordFetch(f)
	if f.Status != http.StatusOK {
		http.Error(w, "signature required", f.Status)
		return
	}
	w.Header().Set("Content-Type", ContentTypeAS2)
	w.Write(b)
}

func (s *Server) serveActor(w http.ResponseWriter, r *http.Request) {
	a := s.actorByName(r.PathValue("name"))
	if a == nil {
		http.NotFound(w, r)
		return
	}
	opts := s.options()
	f := Fetch{Path: r.URL.Path, Status: http.StatusOK}
	f.KeyID, _, f.Err = s.verifyRequest(r, nil, opts)
	f.Verified = f.Err == nil
	if !f.Verified && (opts.RequireSignedFetch || s.opts.KeyShape == KeyShapeGoToSocial) {
		f.Status = http.StatusUnauthorized
	}
	s.recordFetch(f)
	if f.Status != http.StatusOK {
		http.Error(w, "signature required", f.Status)
		return
	}
	w.Header().Set("Content-Type", ContentTypeAS2)
	w.Write(a.doc)
}

func (s *Server) serveWebfinger(w http.ResponseWriter, r *http.Request) {
	res := r.URL.Query().Get("resource")
	name, ok := strings.CutPrefix(res, "acct:")
	if ok {
		name, ok = strings.CutSuffix(name, "@"+s.host)
	}
	a := s.actorByName(strings.ToLower(name))
	if !ok || a == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/jrd+json")
	json.NewEncoder(w).Encode(map[string]any{
		"subject": "acct:" + a.name + "@" + s.host,
		"links":   []map[string]string{{"rel": "self", "type": ContentTypeAS2, "href": a.id}},
	})
}

func (s *Server) serveInbox(w http.ResponseWriter, r *http.Request) {
	opts := s.options()
	d := Delivery{Path: r.URL.Path, Header: r.Header.Clone(), At: time.Now()}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInboxBody))
	d.Body = body
	if opts.Latency > 0 {
		select {
		case <-time.After(opts.Latency):
		case <-r.Context().Done():
		}
	}
	switch {
	case err != nil:
		d.Err, d.Status = fmt.Errorf("read body: %w", err), http.StatusRequestEntityTooLarge
	case r.PathValue("name") != "" && s.actorByName(r.PathValue("name")) == nil:
		d.Err, d.Status = errors.New("no such actor"), http.StatusNotFound
	default:
		d.KeyID, d.Signer, d.Activity, d.Err = s.verifyActivity(r, body, opts)
		d.Verified = d.Err == nil
		d.Status = s.inboxStatus(d.Verified, opts)
	}
	s.record(d)
	w.WriteHeader(d.Status)
}

// inboxStatus picks the answer to an inbox request.
func (s *Server) inboxStatus(verified bool, opts Options) int {
	switch {
	case s.takeFailure():
		return cmp.Or(opts.FailStatus, DefaultFailStatus)
	case !verified:
		return http.StatusUnauthorized
	default:
		return cmp.Or(opts.Status, DefaultStatus)
	}
}

// verifyActivity verifies an inbox request and checks that the signer is
// the activity's actor, as Mastodon does.
func (s *Server) verifyActivity(r *http.Request, body []byte, opts Options) (keyID, signer string, activity map[string]any, err error) {
	if jerr := json.Unmarshal(body, &activity); jerr != nil {
		activity = nil
	}
	keyID, signer, err = s.verifyRequest(r, body, opts)
	if err != nil {
		return keyID, signer, activity, err
	}
	if activity == nil {
		return keyID, signer, nil, errors.New("body is not a JSON object")
	}
	if actor := idOf(activity["actor"]); actor != signer {
		return keyID, signer, activity, fmt.Errorf("signer %s is not the activity's actor %q", signer, actor)
	}
	return keyID, signer, activity, nil
}

// idOf returns v if it is a string, or v["id"] if it is an object.
func idOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		id, _ := t["id"].(string)
		return id
	}
	return ""
}
