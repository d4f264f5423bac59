package atproto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/storage"
)

// JobKind is the job kind of the mirror's work.
const JobKind = "bluesky"

// Account is one of our accounts that is mirrored.
type Account struct {
	Username    string
	DisplayName string
	Replies     string // config.Replies*
	Bluesky     config.Bluesky
	// Handle is the handle the account should have on Bluesky (its domain
	// serves /.well-known/atproto-did); see config.Config.BlueskyHandle.
	Handle string
}

// Settings configure the mirror.
type Settings struct {
	Accounts []Account
	// HandleDomain is the domain of our fediverse handles (local
	// mentions).
	HandleDomain string
	// HTTPClient is the SSRF-safe client (safehttp.NewClient) every
	// request to the PDS goes through; CardClient fetches link card pages
	// and their images (smaller bodies, shorter timeout). nil: HTTPClient.
	HTTPClient *http.Client
	CardClient *http.Client
	// NoteURL is the HTML permalink of one of our statuses (the link card
	// of a truncated post).
	NoteURL func(account string, id int64) string
	// Notifier, when set, is told of the notifications read from Bluesky
	// (inbox.go).
	Notifier Notifier
}

// Mirror mirrors published posts to Bluesky. Its Mirror* methods
// (publish.Mirror) only write to the publishing transaction; its pool of
// the job runner (Register) does the network work from the durable queue.
type Mirror struct {
	set      Settings
	store    storage.Store
	log      zerolog.Logger
	now      func() time.Time
	accounts map[string]*account
	handles  map[string]string // fediverse handle -> Bluesky handle
	tids     *syntax.TIDClock
	wake     *jobs.Wake
	// inboxWake wakes the notifications' pool (inbox.go).
	inboxWake *jobs.Wake

	// resolveHandle checks a handle's resolution (bridge bluesky handle);
	// tests replace it.
	resolveHandle func(ctx context.Context, handle string) (syntax.DID, error)

	didMu   sync.Mutex
	didSeen map[string]cachedDID // Bluesky handle -> DID (mention facets)

	fits      fitCache
	prefitSem chan struct{} // one background fit at a time

	profMu      sync.Mutex
	profFetched map[string]time.Time // DID -> last getProfiles (act.go)
}

type cachedDID struct {
	did syntax.DID
	at  time.Time
}

// account is one mirrored account's live state.
type account struct {
	Account
	seal sealer
	lim  *limiter
	http *http.Client

	mu     sync.Mutex // guards client; held while logging in
	client *atclient.APIClient

	probedAt time.Time // last reachability probe (worker only)

	// posted is when this process last mirrored a new post of the
	// account (Unix µs; 0: not yet): replies come after a post, so the
	// notifications are read at the active pace for a while (inbox.go).
	posted atomic.Int64
	// learnedLimit is the image size limit the PDS's lexicon enforces when
	// it is below the configured one (0: none learnt).
	learnedLimit atomic.Int64
}

// imageLimit is the size images are fitted to.
func (a *account) imageLimit() int64 {
	limit := int64(a.Bluesky.ImageMaxBytes)
	if l := a.learnedLimit.Load(); l > 0 && l < limit {
		limit = l
	}
	return limit
}

// New builds the mirror of the accounts with a Bluesky configuration.
func New(set Settings, store storage.Store, logger zerolog.Logger) (*Mirror, error) {
	if set.HTTPClient == nil {
		return nil, errors.New("atproto: no HTTP client")
	}
	if set.CardClient == nil {
		set.CardClient = set.HTTPClient
	}
	m := &Mirror{
		set:       set,
		store:     store,
		log:       logger,
		now:       time.Now,
		accounts:  map[string]*account{},
		handles:   map[string]string{},
		tids:      syntax.NewTIDClock(uint(rand.IntN(1024))),
		wake:      jobs.NewWake(),
		inboxWake: jobs.NewWake(),
		didSeen:   map[string]cachedDID{},
		prefitSem: make(chan struct{}, 1),

		profFetched: map[string]time.Time{},
	}
	m.resolveHandle = m.resolveHandleLive
	for _, a := range set.Accounts {
		if !a.Bluesky.Enabled() {
			continue
		}
		secret := a.Bluesky.SessionKey
		if secret == "" {
			secret = a.Bluesky.AppPassword
		}
		s, err := newSealer(secret, a.Username)
		if err != nil {
			return nil, fmt.Errorf("atproto: account %s: %w", a.Username, err)
		}
		lim := &limiter{now: func() time.Time { return m.now() }}
		acc := &account{Account: a, seal: s, lim: lim, http: accountClient(set.HTTPClient, lim)}
		m.accounts[strings.ToLower(a.Username)] = acc
		for fedi, bsky := range a.Bluesky.Handles {
			m.handles[fedi] = bsky
		}
	}
	// Our own mirrored accounts are known to have a Bluesky handle.
	for name, a := range m.accounts {
		if !strings.HasPrefix(a.Bluesky.Identifier, "did:") && set.HandleDomain != "" {
			key := name + "@" + strings.ToLower(set.HandleDomain)
			if _, set := m.handles[key]; !set {
				m.handles[key] = a.Bluesky.Identifier
			}
		}
	}
	return m, nil
}

// Enabled reports whether any account is mirrored.
func (m *Mirror) Enabled() bool { return len(m.accounts) > 0 }

// SetClock replaces the clock (tests).
func (m *Mirror) SetClock(now func() time.Time) { m.now = now }

// Nudge wakes the mirror's pool (publish.Mirror): a job was just queued,
// and the transaction that queued it committed.
func (m *Mirror) Nudge() { m.wake.Nudge() }

// Job actions.
const (
	actionCreate = "create"
	actionUpdate = "update"
	actionDelete = "delete"
)

// jobPayload is a mirror job. Record keys are chosen when the job is
// queued, so that a retried creation writes the same record again instead
// of a duplicate.
type jobPayload struct {
	Action   string   `json:"action"`
	StatusID int64    `json:"status_id"`
	Account  string   `json:"account"`
	Version  int64    `json:"version"`
	TIDs     []string `json:"tids,omitempty"`
	// Likes and reposts (act.go): the post's at:// URI (or StatusID, one
	// of ours), the record key, the reaction it is made for, and whether
	// it is undone.
	Subject    string `json:"subject,omitempty"`
	RKey       string `json:"rkey,omitempty"`
	ReactionID int64  `json:"reaction_id,omitempty"`
	Undo       bool   `json:"undo,omitempty"`
	// Subjects are the accounts (DIDs) a raid block blocks (gates.go).
	Subjects []string `json:"subjects,omitempty"`
}

// jobHost is the Host of an account's jobs: they can be found and resumed
// together (storage.Bluesky.RescheduleJobs).
func jobHost(account string) string { return "bluesky:" + account }

// jobRef groups a status's mirror jobs.
func jobRef(statusID int64) string { return "status:" + strconv.FormatInt(statusID, 10) + ":bluesky" }

// MirrorCreate queues the mirroring of a new status (publish.Mirror).
func (m *Mirror) MirrorCreate(ctx context.Context, q storage.Queries, st storage.Status) error {
	return m.enqueue(ctx, q, st, actionCreate)
}

// MirrorUpdate queues the mirroring of an edit: with edits: recreate the
// status's records are deleted and created again (with new record keys;
// the mapping follows), with edits: ignore nothing happens.
func (m *Mirror) MirrorUpdate(ctx context.Context, q storage.Queries, st storage.Status) error {
	a := m.accounts[strings.ToLower(st.Account)]
	if a == nil || a.Bluesky.Edits == config.EditsIgnore {
		return nil
	}
	return m.enqueue(ctx, q, st, actionUpdate)
}

// MirrorDelete queues the deletion of every record of the status.
func (m *Mirror) MirrorDelete(ctx context.Context, q storage.Queries, st storage.Status) error {
	return m.enqueue(ctx, q, st, actionDelete)
}

func (m *Mirror) enqueue(ctx context.Context, q storage.Queries, st storage.Status, action string) error {
	a := m.accounts[strings.ToLower(st.Account)]
	if a == nil {
		return nil
	}
	now := m.now()
	if action != actionCreate {
		// Edits and deletes of a status that was never mirrored (older
		// than the mirror) do not bring it to Bluesky.
		if _, err := q.GetBlueskyPost(ctx, st.ID); errors.Is(err, storage.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
	}
	if reason := notMirrored(st); action != actionDelete && reason != "" {
		if _, err := q.GetBlueskyPost(ctx, st.ID); errors.Is(err, storage.ErrNotFound) {
			v, err := q.BumpBlueskyPost(ctx, st.ID, a.Username, now)
			if err != nil {
				return err
			}
			_, err = q.SetBlueskyPostState(ctx, st.ID, v, storage.BlueskySkipped, reason, now)
			return err
		}
		return nil
	}
	v, err := q.BumpBlueskyPost(ctx, st.ID, a.Username, now)
	if err != nil {
		return err
	}
	p := jobPayload{Action: action, StatusID: st.ID, Account: a.Username, Version: v}
	if action != actionDelete {
		// The record keys are chosen now; should the plan grow when
		// the job runs (a mention whose handle no longer resolves is
		// written in full), rkeyFor makes the extra keys.
		n := len(m.plan(a, st, nil, m.handles).records)
		for range n {
			p.TIDs = append(p.TIDs, m.tids.Next().String())
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = q.EnqueueJob(ctx, storage.NewJob{
		Kind: JobKind, Payload: body, Host: jobHost(a.Username), Ref: jobRef(st.ID),
		Key: fmt.Sprintf("bluesky:%d:%d", st.ID, v),
	})
	return err
}

// notMirrored says why a status is never mirrored ("" when it is):
// Bluesky has no followers-only or direct posts, and a reply to a
// fediverse post would stand there without the post it answers. A
// Bluesky-only status (a reply to a Bluesky post) always is.
func notMirrored(st storage.Status) string {
	switch {
	case st.Visibility == storage.VisibilityBluesky:
		return ""
	case st.Visibility == storage.VisibilityPrivate:
		return "followers-only posts are not mirrored to Bluesky"
	case st.Visibility == storage.VisibilityDirect:
		return "direct posts are not mirrored to Bluesky"
	case st.InReplyToRemoteID != 0:
		return "replies to fediverse posts are not mirrored to Bluesky"
	}
	return ""
}
