package federation

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/singleflight"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/ratelimit"
	"github.com/passerelle/passerelle/render"
	"github.com/passerelle/passerelle/storage"
)

// Settings is what the federation side needs from the configuration.
type Settings struct {
	// BaseURL is the public URL without a trailing slash.
	BaseURL    string
	Federation config.Federation
	Accounts   []config.Account
	// ConfigDir resolves relative avatar and header paths.
	ConfigDir string
	// Version names the software in NodeInfo and the User-Agent.
	Version string
	// Moderation decides which remote domains are refused; nil refuses
	// none.
	Moderation DomainPolicy
	// Observer observes inbound activities, signature failures and
	// deliveries (metrics); nil observes nothing.
	Observer Observer
	// Notifier is told of each notification inbound activities create
	// (Web Push); nil tells nobody.
	Notifier Notifier
}

// Service serves and sends ActivityPub.
type Service struct {
	set          Settings
	store        storage.Store
	client       *http.Client
	log          zerolog.Logger
	now          func() time.Time
	publicHost   string // host[:port] of BaseURL
	publicScheme string // scheme of BaseURL, as signed by RFC 9421 signers
	handleDomain string // domain of the handles
	accounts     map[string]*localActor
	instance     *localActor
	keyFetch     singleflight.Group
	// Hosts that refused unsigned fetches (remote.go).
	signedFetchHosts sync.Map
	signedHostCount  atomic.Int64
	wake             *jobs.Wake // nudges the delivery pool
	observer         Observer   // metrics (observer.go); nil: none
	notifier         Notifier   // told of new notifications (notifier.go); nil: none
	guard            guard      // domain policy and inbound limits (guard.go)
	moves            moveCache  // moved accounts, resolved aliases, current actor documents (moves.go)
	links            links.Site // our own URLs
	specOnce         sync.Once
	specHosts        *ratelimit.Cache[httpsig.Spec] // host -> signature spec it accepts, when not draft-cavage (knock.go)
	edHosts          sync.Map                       // host -> bool: verifies our Ed25519 signatures, when known (knock.go)
}

// localActor is one of our actors with its prebuilt documents.
type localActor struct {
	cfg       config.Account // zero for the instance actor
	name      string         // username (instance: the handle domain's host)
	id        string         // actor IRI
	signer    httpsig.Signer // RSA: draft-cavage, and RFC 9421 to hosts that refuse Ed25519
	edSigner  httpsig.Signer // Ed25519 (FEP-521a assertionMethod): RFC 9421 to hosts known to verify it (knock.go)
	multikey  string         // edSigner's public key as publicKeyMultibase
	edKeyDoc  []byte         // edSigner's key as a CryptographicKey document, served at its id
	publicPEM string
	doc       []byte // AS2 actor document
	jrd       []byte // WebFinger answer
	assets    map[string]asset
	actorDoc  ActorDoc // what doc encodes, rebuilt after a move (moves.go)
}

type asset struct {
	path      string // local file, empty for remote URLs
	url       string
	mediaType string
}

// New builds the service: it loads or creates every actor's key pair and
// prebuilds the documents served on the hot read paths.
func New(ctx context.Context, set Settings, store storage.Store, client *http.Client, logger zerolog.Logger) (*Service, error) {
	u, err := url.Parse(set.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("federation: invalid base URL %q", set.BaseURL)
	}
	s := &Service{
		set:          set,
		store:        store,
		client:       client,
		log:          logger,
		now:          time.Now,
		publicHost:   u.Host,
		publicScheme: u.Scheme,
		handleDomain: u.Host,
		accounts:     map[string]*localActor{},
		wake:         jobs.NewWake(),
	}
	if d := set.Federation.AccountDomain; d != "" {
		s.handleDomain = strings.ToLower(d)
	}
	s.links = links.New(set.BaseURL, s.handleDomain)
	inst, err := s.buildInstanceActor(ctx)
	if err != nil {
		return nil, err
	}
	s.instance = inst
	s.guard.policy = set.Moderation
	s.observer = set.Observer
	s.notifier = set.Notifier
	if err := s.loadEd25519Hosts(ctx); err != nil { // knock.go
		return nil, err
	}
	for _, acc := range set.Accounts {
		la, err := s.buildAccountActor(ctx, acc)
		if err != nil {
			return nil, err
		}
		s.accounts[strings.ToLower(acc.Username)] = la
	}
	return s, nil
}

// Links is our own URLs, as federation writes them.
func (s *Service) Links() links.Site { return s.links }

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// InstanceKeyID is the key id of the instance actor, which signs GETs.
func (s *Service) InstanceKeyID() string { return s.instance.signer.KeyID }

// keyPair returns owner's key pair, creating it on first start. Keys are
// never replaced: a concurrent creator (another replica) wins and we read
// its key.
func (s *Service) keyPair(ctx context.Context, owner string) (*rsa.PrivateKey, string, error) {
	kp, err := s.store.GetKeyPair(ctx, owner)
	if errors.Is(err, storage.ErrNotFound) {
		priv, pub, gerr := httpsig.GenerateKeyPair()
		if gerr != nil {
			return nil, "", fmt.Errorf("federation: generate key for %s: %w", owner, gerr)
		}
		kp = storage.KeyPair{Owner: owner, PrivateKey: priv, PublicKey: pub, CreatedAt: s.now()}
		err = s.store.InsertKeyPair(ctx, kp)
		if errors.Is(err, storage.ErrAlreadyExists) {
			kp, err = s.store.GetKeyPair(ctx, owner)
		} else if err == nil {
			s.log.Info().Str("owner", owner).Msg("generated RSA-2048 key pair")
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("federation: key pair of %s: %w", owner, err)
	}
	key, err := httpsig.ParsePrivateKeyPEM(kp.PrivateKey)
	if err != nil {
		return nil, "", fmt.Errorf("federation: key pair of %s: %w", owner, err)
	}
	rk, ok := key.(*rsa.PrivateKey) // draft-cavage signs with RSA only
	if !ok {
		return nil, "", fmt.Errorf("federation: key pair of %s: %T is not an RSA key", owner, key)
	}
	return rk, kp.PublicKey, nil
}

// ed25519Key returns owner's Ed25519 key, creating it on first start (or
// on the first start of a version that has them), stored as a key pair of
// its own ("ed25519:" + owner); like RSA keys, never replaced. It returns
// the signer and the public key as a FEP-521a publicKeyMultibase and as a
// key document.
//
// The key id is a URL of its own, ACTOR/ed25519-key, not a fragment of
// the actor: verifiers of HTTP signatures look a key up among the actor's
// publicKey (Fedify's fetchKey does), and publicKey stays the one RSA key
// (Lemmy and others read it as a single object). At its id the key is
// served as a CryptographicKey with its owner and publicKeyPem, which
// they read; in the actor it is listed under the same id as a Multikey
// (assertionMethod, FEP-521a), as Fedify lists its own keys.
func (s *Service) ed25519Key(ctx context.Context, owner, actorID string) (httpsig.Signer, string, []byte, error) {
	name := "ed25519:" + owner
	kp, err := s.store.GetKeyPair(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		priv, pub, gerr := httpsig.GenerateEd25519KeyPair()
		if gerr != nil {
			return httpsig.Signer{}, "", nil, fmt.Errorf("federation: generate Ed25519 key for %s: %w", owner, gerr)
		}
		kp = storage.KeyPair{Owner: name, PrivateKey: priv, PublicKey: pub, CreatedAt: s.now()}
		err = s.store.InsertKeyPair(ctx, kp)
		if errors.Is(err, storage.ErrAlreadyExists) {
			kp, err = s.store.GetKeyPair(ctx, name)
		} else if err == nil {
			s.log.Info().Str("owner", owner).Msg("generated Ed25519 key pair")
		}
	}
	if err != nil {
		return httpsig.Signer{}, "", nil, fmt.Errorf("federation: Ed25519 key of %s: %w", owner, err)
	}
	key, err := httpsig.ParsePrivateKeyPEM(kp.PrivateKey)
	if err != nil {
		return httpsig.Signer{}, "", nil, fmt.Errorf("federation: Ed25519 key of %s: %w", owner, err)
	}
	ek, ok := key.(ed25519.PrivateKey)
	if !ok {
		return httpsig.Signer{}, "", nil, fmt.Errorf("federation: Ed25519 key of %s: %T is not an Ed25519 key", owner, key)
	}
	mk, err := httpsig.Multikey(ek.Public())
	if err != nil {
		return httpsig.Signer{}, "", nil, fmt.Errorf("federation: Ed25519 key of %s: %w", owner, err)
	}
	keyID := actorID + "/ed25519-key"
	doc, err := EncodeKey(keyID, actorID, kp.PublicKey)
	if err != nil {
		return httpsig.Signer{}, "", nil, fmt.Errorf("federation: Ed25519 key of %s: %w", owner, err)
	}
	return httpsig.Signer{KeyID: keyID, Key: ek}, mk, doc, nil
}

const instanceKeyOwner = "@instance"

func (s *Service) buildInstanceActor(ctx context.Context) (*localActor, error) {
	key, pub, err := s.keyPair(ctx, instanceKeyOwner)
	if err != nil {
		return nil, err
	}
	host := s.handleDomain
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	id := s.set.BaseURL + "/actor"
	la := &localActor{name: host, id: id, publicPEM: pub, signer: httpsig.Signer{KeyID: id + "#main-key", Key: key}}
	if la.edSigner, la.multikey, la.edKeyDoc, err = s.ed25519Key(ctx, instanceKeyOwner, id); err != nil {
		return nil, err
	}
	la.doc, err = EncodeActor(ActorDoc{
		ID:                        id,
		Type:                      "Application",
		PreferredUsername:         host,
		Name:                      "Passerelle",
		ProfileURL:                s.set.BaseURL + "/",
		Inbox:                     id + "/inbox",
		Outbox:                    id + "/outbox",
		SharedInbox:               s.set.BaseURL + "/inbox",
		KeyID:                     la.signer.KeyID,
		PublicKeyPEM:              pub,
		Multikeys:                 []Multikey{{ID: la.edSigner.KeyID, PublicKeyMultibase: la.multikey}},
		ManuallyApprovesFollowers: true,
	})
	if err != nil {
		return nil, err
	}
	la.jrd, err = s.encodeJRD(la, id, "")
	return la, err
}

func (s *Service) buildAccountActor(ctx context.Context, acc config.Account) (*localActor, error) {
	name := strings.ToLower(acc.Username)
	key, pub, err := s.keyPair(ctx, name)
	if err != nil {
		return nil, err
	}
	id := s.links.Actor(name)
	la := &localActor{cfg: acc, name: name, id: id, publicPEM: pub, signer: httpsig.Signer{KeyID: id + "#main-key", Key: key}, assets: map[string]asset{}}
	if la.edSigner, la.multikey, la.edKeyDoc, err = s.ed25519Key(ctx, name, id); err != nil {
		return nil, err
	}
	doc := ActorDoc{
		ID:                        id,
		Type:                      acc.Type,
		PreferredUsername:         name,
		Name:                      acc.DisplayName,
		SummaryHTML:               s.bioHTML(acc.Summary),
		ProfileURL:                s.links.Profile(name),
		Inbox:                     id + "/inbox",
		Outbox:                    id + "/outbox",
		SharedInbox:               s.set.BaseURL + "/inbox",
		Followers:                 id + "/followers",
		Following:                 id + "/following",
		Featured:                  id + "/collections/featured",
		KeyID:                     la.signer.KeyID,
		PublicKeyPEM:              pub,
		Multikeys:                 []Multikey{{ID: la.edSigner.KeyID, PublicKeyMultibase: la.multikey}},
		ManuallyApprovesFollowers: acc.ManuallyApprovesFollowers,
		Discoverable:              true,
		AttributionDomains:        []string{hostport.Host(s.handleDomain)},
	}
	for _, kind := range []string{"avatar", "header"} {
		src := acc.Avatar
		if kind == "header" {
			src = acc.Header
		}
		if src == "" {
			continue
		}
		a, err := s.profileAsset(name, kind, src)
		if err != nil {
			return nil, err
		}
		la.assets[kind] = a
	}
	if a, ok := la.assets["avatar"]; ok {
		doc.IconURL, doc.IconMediaType = a.url, a.mediaType
	}
	if a, ok := la.assets["header"]; ok {
		doc.ImageURL, doc.ImageMediaType = a.url, a.mediaType
	}
	for _, f := range acc.Fields {
		doc.Fields = append(doc.Fields, FieldHTML{Name: f.Name, ValueHTML: FieldValueHTML(f.Value)})
	}
	doc.Fields = WithHandleFields(acc, doc.Fields) // handles.go
	if kp, err := s.store.GetKeyPair(ctx, name); err == nil {
		doc.Published = kp.CreatedAt
	}
	doc.AlsoKnownAs = aliasURLs(acc) // moves.go: handles are added once resolved
	la.actorDoc = doc
	if la.doc, err = EncodeActor(doc); err != nil {
		return nil, err
	}
	la.jrd, err = s.encodeJRD(la, id, s.links.Profile(name))
	return la, err
}

// profileAsset resolves an avatar or header: a URL is used as is, a local
// file is served from /users/NAME/KIND with its sniffed media type. The
// local file's URL carries a digest of its content (?v=), so that a new
// image is a new URL: servers fetch an avatar again only when its URL
// changes (and the actor document changes with it, which is announced:
// actor_updates.go).
func (s *Service) profileAsset(name, kind, src string) (asset, error) {
	if strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://") {
		return asset{url: src, mediaType: mediaTypeFromExt(src)}, nil
	}
	f, err := os.Open(src)
	if err != nil {
		return asset{}, fmt.Errorf("federation: %s of %s: %w", kind, name, err)
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	mt := http.DetectContentType(head[:n])
	if !strings.HasPrefix(mt, "image/") {
		return asset{}, fmt.Errorf("federation: %s of %s: %s is not an image (%s)", kind, name, src, mt)
	}
	h := sha256.New()
	h.Write(head[:n])
	if _, err := io.Copy(h, f); err != nil {
		return asset{}, fmt.Errorf("federation: %s of %s: %w", kind, name, err)
	}
	v := hex.EncodeToString(h.Sum(nil))[:16]
	return asset{path: src, url: s.links.Actor(name) + "/" + kind + "?v=" + v, mediaType: mt}, nil
}

func mediaTypeFromExt(u string) string {
	switch {
	case strings.HasSuffix(u, ".png"):
		return "image/png"
	case strings.HasSuffix(u, ".jpg"), strings.HasSuffix(u, ".jpeg"):
		return "image/jpeg"
	case strings.HasSuffix(u, ".webp"):
		return "image/webp"
	case strings.HasSuffix(u, ".gif"):
		return "image/gif"
	}
	return ""
}

// bioHTML renders an account's summary as Mastodon renders a bio: links
// and hashtags linked (to our tag pages), the rest escaped. Mentions stay
// text: resolving them would take requests at start-up.
func (s *Service) bioHTML(summary string) string {
	return render.Text(context.Background(), summary, render.Options{TagURLPrefix: s.set.BaseURL + "/tags/"}).HTML
}

// SummaryHTML is the bio of one of our accounts as its actor document
// gives it, or "".
func (s *Service) SummaryHTML(username string) string {
	if la := s.accounts[strings.ToLower(username)]; la != nil {
		return la.actorDoc.SummaryHTML
	}
	return ""
}

// FieldValueHTML renders a profile field value: a URL becomes a rel="me"
// link (so Mastodon can verify it), anything else escaped text.
func FieldValueHTML(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return html.EscapeString(v)
	}
	display := strings.TrimPrefix(strings.TrimPrefix(v, "https://"), "http://")
	return fmt.Sprintf(`<a href="%s" target="_blank" rel="nofollow noopener me" translate="no">%s</a>`,
		html.EscapeString(v), html.EscapeString(display))
}

// Nudge wakes the delivery pool after work was enqueued.
func (s *Service) Nudge() { s.wake.Nudge() }

// AvatarURL returns the avatar URL of one of our accounts, or "".
func (s *Service) AvatarURL(username string) string {
	if la := s.accounts[strings.ToLower(username)]; la != nil {
		return la.assets["avatar"].url
	}
	return ""
}
