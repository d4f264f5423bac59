package federation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// MaxDocumentBody bounds remote actor and key documents.
const MaxDocumentBody = 1 << 20

// acceptAS2 is the Accept header of every ActivityPub GET.
const acceptAS2 = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

// HTTPStatusError is a remote answer that was not a success.
type HTTPStatusError struct {
	URL  string
	Code int
}

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("GET %s: status %d", e.URL, e.Code)
}

func isGone(err error) bool {
	var se *HTTPStatusError
	return errors.As(err, &se) && (se.Code == http.StatusGone || se.Code == http.StatusNotFound)
}

// remoteKey returns the cached actor owning keyID, or fetches it (one
// request per key at a time, whatever the number of concurrent inbound
// requests). cached reports whether the answer came from the cache.
func (s *Service) remoteKey(ctx context.Context, keyID string, refresh bool) (storage.RemoteActor, bool, error) {
	if !refresh {
		ra, err := s.store.GetRemoteActorByKeyID(ctx, keyID)
		if err == nil {
			return ra, true, nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return storage.RemoteActor{}, false, err
		}
	}
	resume := s.pauseWork(ctx) // guard.go: no inbox work slot held while waiting on the network
	v, err, _ := s.keyFetch.Do(keyID, func() (any, error) {
		return s.fetchKeyGuarded(ctx, keyID) // within the domain's budget (guard.go)
	})
	resume()
	if err != nil {
		return storage.RemoteActor{}, false, err
	}
	return v.(storage.RemoteActor), false, nil
}

// fetchKey dereferences a key id. Mastodon's key ids are fragments of the
// actor document; others serve a key document naming its owner, whose actor
// document must list the same key.
func (s *Service) fetchKey(ctx context.Context, keyID string) (storage.RemoteActor, error) {
	doc, err := s.FetchActor(ctx, keyID)
	if err != nil {
		return storage.RemoteActor{}, err
	}
	if doc.KeyOwner != "" || !sameHost(doc.ID, keyID) {
		owner := doc.KeyOwner
		if owner == "" {
			owner = doc.ID
		}
		if doc, err = s.FetchActor(ctx, owner); err != nil {
			return storage.RemoteActor{}, err
		}
		if doc.KeyOwner != "" || !sameHost(doc.ID, owner) {
			return storage.RemoteActor{}, fmt.Errorf("federation: key %s: owner %s is not an actor of its host", keyID, owner)
		}
	}
	pem, ok := doc.Keys[keyID]
	if !ok {
		return storage.RemoteActor{}, fmt.Errorf("federation: key %s not listed by actor %s", keyID, doc.ID)
	}
	ra := remoteRow(doc, keyID, pem, s.now())
	profile, keep := s.profileToRemember(doc) // interactions.go
	// The key and the profile in one transaction: one commit.
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		if err := q.UpsertRemoteActor(ctx, ra); err != nil {
			return err
		}
		if keep {
			return q.UpsertRemoteProfile(ctx, profile)
		}
		return nil
	})
	if err != nil {
		return storage.RemoteActor{}, fmt.Errorf("federation: cache actor %s: %w", doc.ID, err)
	}
	return ra, nil
}

func remoteRow(doc RemoteActorDoc, keyID, pem string, now time.Time) storage.RemoteActor {
	return storage.RemoteActor{
		ID: doc.ID, KeyID: keyID, PublicKeyPEM: pem,
		Inbox: doc.Inbox, SharedInbox: doc.SharedInbox,
		PreferredUsername: doc.PreferredUsername, FetchedAt: now,
	}
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && strings.EqualFold(ua.Host, ub.Host)
}

// FetchActor GETs an actor or key document, signed by the instance actor
// (servers in secure mode refuse unsigned fetches), through the SSRF-safe
// client.
func (s *Service) FetchActor(ctx context.Context, iri string) (RemoteActorDoc, error) {
	u, err := CheckURL(iri, s.set.Federation.AllowPrivateNetworks)
	if err != nil {
		return RemoteActorDoc{}, err
	}
	if s.hostBlocked(u.Host) { // guard.go
		return RemoteActorDoc{}, fmt.Errorf("federation: fetch %s: %w", iri, ErrDomainBlocked)
	}
	u.Fragment = ""
	// Sign only for servers that require it (GoToSocial, Mastodon in
	// secure mode answer 401/403 to unsigned fetches): a signature is an
	// RSA operation, the most expensive step of accepting a new follower.
	signed := s.requiresSignedFetch(u.Host)
	resp, err := s.get(ctx, u.String(), signed)
	if err == nil && !signed && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		resp.Body.Close()
		s.rememberSignedFetch(u.Host)
		resp, err = s.get(ctx, u.String(), true)
	}
	if err != nil {
		return RemoteActorDoc{}, fmt.Errorf("federation: fetch %s: %w", iri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return RemoteActorDoc{}, fmt.Errorf("federation: fetch actor: %w", &HTTPStatusError{URL: u.String(), Code: resp.StatusCode})
	}
	body, err := LimitedBody(resp, MaxDocumentBody)
	if err != nil {
		return RemoteActorDoc{}, fmt.Errorf("federation: fetch %s: %w", iri, err)
	}
	doc, err := DecodeActorDoc(ctx, body)
	if err != nil {
		return RemoteActorDoc{}, fmt.Errorf("federation: fetch %s: %w", iri, err)
	}
	return doc, nil
}

// requiresSignedFetch reports whether host refused an unsigned fetch
// before. The remembered set is bounded: it starts over past maxSignedHosts.
func (s *Service) requiresSignedFetch(host string) bool {
	_, ok := s.signedFetchHosts.Load(host)
	return ok
}

const maxSignedHosts = 10000

func (s *Service) rememberSignedFetch(host string) {
	if _, known := s.signedFetchHosts.LoadOrStore(host, true); known {
		return
	}
	if s.signedHostCount.Add(1) > maxSignedHosts {
		s.signedFetchHosts.Clear()
		s.signedHostCount.Store(0)
		s.signedFetchHosts.Store(host, true)
	}
}

// get GETs an ActivityPub document, signed by the instance actor when
// signed (and signed again after a redirect, for its new target).
func (s *Service) get(ctx context.Context, target string, signed bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", acceptAS2)
	if !signed {
		return s.client.Do(req)
	}
	if err := s.instance.signer.Sign(req, nil, s.now()); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	client := *s.client
	client.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if check := s.client.CheckRedirect; check != nil {
			if err := check(next, via); err != nil {
				return err
			}
		}
		return s.instance.signer.Sign(next, nil, s.now())
	}
	return client.Do(req)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
