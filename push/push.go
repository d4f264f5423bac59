package push

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/storage"
)

// Job kinds.
const (
	JobPush = "push"      // one notification: decide who is told, queue the sends
	JobSend = "push.send" // one payload to one subscription
)

// DefaultTTL is how long a push service keeps a push for a device that is
// offline (Mastodon's 48 hours), and how long we try to deliver it.
const DefaultTTL = 48 * time.Hour

// RaidGather is how long a mention or a quote waits, after it was
// recorded, before its push is prepared: a burst of them is then seen as
// the raid it is (one push) rather than pushed one by one until the raid
// shows.
const RaidGather = 2 * time.Second

// vapidOwner names the VAPID key pair among storage's key pairs (no
// username has a colon).
const vapidOwner = "push:vapid"

// Settings configure the service.
type Settings struct {
	// BaseURL is the server's public URL: the VAPID contact when it is
	// https (RFC 8292 "sub"), and the base of the default icon.
	BaseURL string
	// AllowPrivateNetworks accepts endpoints on loopback, with http (the
	// tests' push services); federation.allow_private_networks.
	AllowPrivateNetworks bool
	// Languages is each account's language (preferred_locale); "en" when
	// absent.
	Languages map[string]string
	// Follows reports whether account follows actorID (the "followed"
	// policy); nil: the accounts follow nobody.
	Follows func(ctx context.Context, account, actorID string) (bool, error)
	// TTL of the pushes (default DefaultTTL).
	TTL time.Duration
	// Workers sending pushes at once (default 8).
	Workers int
}

// Service sends the pushes.
type Service struct {
	set    Settings
	store  storage.Store
	client *http.Client
	log    zerolog.Logger
	now    func() time.Time
	wake   *jobs.Wake

	publicKey, privateKey string // VAPID, base64url (uncompressed point; scalar)
}

// New makes the service on store, sending through client (the SSRF-safe
// one). The VAPID key pair is read from storage, or made and stored the
// first time (a replica starting at the same time reads the one stored).
func New(ctx context.Context, set Settings, store storage.Store, client *http.Client, log zerolog.Logger) (*Service, error) {
	if set.TTL <= 0 {
		set.TTL = DefaultTTL
	}
	if set.Workers <= 0 {
		set.Workers = 8
	}
	s := &Service{set: set, store: store, client: client, log: log, now: time.Now, wake: jobs.NewWake()}
	priv, err := vapidKey(ctx, store)
	if err != nil {
		return nil, fmt.Errorf("push: VAPID key: %w", err)
	}
	ecdhPriv, err := priv.ECDH()
	if err != nil {
		return nil, fmt.Errorf("push: VAPID key: %w", err)
	}
	s.privateKey = base64.RawURLEncoding.EncodeToString(ecdhPriv.Bytes())
	s.publicKey = base64.RawURLEncoding.EncodeToString(ecdhPriv.PublicKey().Bytes())
	return s, nil
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// ServerKey is the VAPID public key, base64url (Mastodon's server_key,
// the applicationServerKey browsers subscribe with).
func (s *Service) ServerKey() string { return s.publicKey }

// vapidKey loads the VAPID private key, making it the first time.
func vapidKey(ctx context.Context, store storage.Store) (*ecdsa.PrivateKey, error) {
	kp, err := store.GetKeyPair(ctx, vapidOwner)
	if errors.Is(err, storage.ErrNotFound) {
		kp, err = makeVAPIDKey(ctx, store)
	}
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(kp.PrivateKey))
	if block == nil {
		return nil, errors.New("stored key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, errors.New("stored key is not a P-256 key")
	}
	return key, nil
}

// makeVAPIDKey makes and stores the key pair; when another replica stored
// one first, that one is returned.
func makeVAPIDKey(ctx context.Context, store storage.Store) (storage.KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return storage.KeyPair{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return storage.KeyPair{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return storage.KeyPair{}, err
	}
	kp := storage.KeyPair{Owner: vapidOwner,
		PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		PublicKey:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		CreatedAt:  time.Now().UTC()}
	err = store.InsertKeyPair(ctx, kp)
	if errors.Is(err, storage.ErrAlreadyExists) {
		return store.GetKeyPair(ctx, vapidOwner)
	}
	return kp, err
}

// jobPayload is a "push" job's: the notification to push.
type jobPayload struct {
	Account      string `json:"account"`
	Notification int64  `json:"notification"`
}

// Notified queues the push of a notification just created, in its
// transaction q (federation.Notifier). Accounts without subscriptions
// cost one indexed read; so do the mentions of a raid every subscription
// was already told of (no job for each of them).
func (s *Service) Notified(ctx context.Context, q storage.Queries, n storage.Notification) error {
	var raidAt, runAt time.Time
	if slices.Contains(moderation.RaidTypes, n.Type) {
		// From now, not from when it was made: a notification read late
		// (a Bluesky poll's backlog, a raid read all at once) waits for
		// the rest of what came with it too.
		raidAt, runAt = n.CreatedAt, later(n.CreatedAt, s.now()).Add(RaidGather)
	}
	has, err := q.HasPushSubscriptions(ctx, n.Account, raidAt)
	if err != nil || !has {
		return err
	}
	body, err := json.Marshal(jobPayload{Account: n.Account, Notification: n.ID})
	if err != nil {
		return err
	}
	if _, err := q.EnqueueJob(ctx, storage.NewJob{Kind: JobPush, Payload: body, RunAt: runAt,
		Key: "push:" + strconv.FormatInt(n.ID, 10), Ref: "push:" + n.Account}); err != nil {
		return fmt.Errorf("push: queue notification %d: %w", n.ID, err)
	}
	s.wake.Nudge()
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Register adds the push pool to r.
func (s *Service) Register(r *jobs.Runner) error {
	err := r.Register(jobs.Pool{
		Kinds:     []string{JobPush, JobSend},
		Handle:    s.handle,
		Workers:   s.set.Workers,
		Prefetch:  4 * s.set.Workers,
		BatchDone: true,
		Lease:     time.Minute,
		Backoff:   jobs.Backoff{Base: 15 * time.Second, Max: time.Hour, MaxAge: s.set.TTL},
		PollEvery: time.Second,
		Wake:      s.wake,
		Now:       func() time.Time { return s.now() },
	})
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	return nil
}

func (s *Service) handle(ctx context.Context, j *jobs.Job) error {
	switch j.Kind {
	case JobPush:
		return s.fanOut(ctx, j)
	case JobSend:
		return s.send(ctx, j)
	}
	return jobs.Permanent(fmt.Errorf("push: unknown job kind %q", j.Kind))
}

// subject is the VAPID contact (RFC 8292 "sub"): the server's https URL,
// else an address at its host (webpush-go makes it a mailto: URI).
func (s *Service) subject() string {
	if strings.HasPrefix(s.set.BaseURL, "https://") {
		return s.set.BaseURL
	}
	host := "localhost"
	if u, err := url.Parse(s.set.BaseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return "push@" + host
}
