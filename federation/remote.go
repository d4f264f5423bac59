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

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/safehttp"
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

// remoteKey returns the cached key of keyID with its owner, or fetches it
// (one request per key at a time, whatever the number of concurrent
// inbound requests). cached reports whether the answer came from the
// cache.
func (s *Service) remoteKey(ctx context.Context, keyID string, refresh bool) (storage.RemoteKey, bool, error) {
	if !refresh {
		k, err := s.store.GetRemoteKey(ctx, keyID)
		if err == nil {
			return k, true, nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return storage.RemoteKey{}, false, err
		}
	}
	resume := s.pauseWork(ctx) // guard.go: no inbox work slot held while waiting on the network
	v, err, _ := s.keyFetch.Do(keyID, func() (any, error) {
		return s.fetchKeyGuarded(ctx, keyID) // within the domain's budget (guard.go)
	})
	resume()
	if err != nil {
		return storage.RemoteKey{}, false, err
	}
	return v.(storage.RemoteKey), false, nil
}

// fetchKey dereferences a key id. What servers serve there:
//   - the whole actor, the key id being a fragment of it (Mastodon,
//     Misskey, Pleroma, Pixelfed, Lemmy, WordPress, Threads);
//   - a stub of the actor without inbox (GoToSocial: the full actor
//     answers only signed GETs): a key and its owner, which is fetched
//     later, when something must be sent to it (reachable);
//   - a standalone key document naming its owner, whose actor document
//     must list the key.
//
// The key's host vouches for its owner: an actor document served at a key
// id must be on the key's host.
func (s *Service) fetchKey(ctx context.Context, keyID string) (storage.RemoteKey, error) {
	doc, err := s.FetchActor(ctx, keyID)
	if err != nil {
		return storage.RemoteKey{}, err
	}
	pem, ok := doc.Keys[keyID]
	if !ok {
		return storage.RemoteKey{}, fmt.Errorf("federation: key %s not found in the document at its id (%s)", keyID, doc.ID)
	}
	owner := doc.ID
	if doc.KeyOwner != "" {
		owner = doc.KeyOwner
	}
	if !sameHost(owner, keyID) {
		return storage.RemoteKey{}, fmt.Errorf("federation: key %s: owner %s is not on the key's host", keyID, owner)
	}
	if doc.KeyOwner != "" {
		// A key document: its owner must claim it.
		if doc, err = s.FetchActor(ctx, owner); err != nil {
			return storage.RemoteKey{}, err
		}
		if doc.ID != owner || doc.KeyOwner != "" || !doc.ListsKey(keyID) {
			return storage.RemoteKey{}, fmt.Errorf("federation: key %s: owner %s does not list it", keyID, owner)
		}
	}
	key := storage.RemoteKey{KeyID: keyID, Owner: owner, PublicKeyPEM: pem, FetchedAt: s.now()}
	if err := s.storeActor(ctx, doc, key); err != nil {
		return storage.RemoteKey{}, err
	}
	return key, nil
}

// storeActor keeps, in one transaction, the keys of an actor document
// (and extra, a key found elsewhere), and when the document is a whole
// actor, where to reach it and its profile.
func (s *Service) storeActor(ctx context.Context, doc RemoteActorDoc, extra storage.RemoteKey) error {
	now := s.now()
	profile, keep := s.profileToRemember(doc) // interactions.go
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		if extra.KeyID != "" {
			if err := q.UpsertRemoteKey(ctx, extra); err != nil {
				return err
			}
		}
		if doc.KeyOwner != "" {
			return nil
		}
		for id, pem := range doc.Keys {
			if id == extra.KeyID || !sameHost(id, doc.ID) {
				continue
			}
			if err := q.UpsertRemoteKey(ctx, storage.RemoteKey{KeyID: id, Owner: doc.ID, PublicKeyPEM: pem, FetchedAt: now}); err != nil {
				return err
			}
		}
		if !doc.Complete() {
			return nil
		}
		if err := q.UpsertRemoteActor(ctx, storage.RemoteActor{
			ID: doc.ID, Inbox: doc.Inbox, SharedInbox: doc.SharedInbox,
			PreferredUsername: doc.PreferredUsername, FetchedAt: now,
		}); err != nil {
			return err
		}
		if keep {
			return q.UpsertRemoteProfile(ctx, profile)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("federation: cache actor %s: %w", doc.ID, err)
	}
	return nil
}

// remoteActor returns a remote actor that can be sent to: from the cache,
// or fetched (signed when its server requires it, as GoToSocial does) and
// cached with its keys and profile. cached reports whether it came from
// the cache.
func (s *Service) remoteActor(ctx context.Context, id string) (RemoteActorDoc, bool, error) {
	ra, err := s.store.GetRemoteActor(ctx, id)
	if err == nil && ra.Inbox != "" {
		return RemoteActorDoc{ID: ra.ID, Inbox: ra.Inbox, SharedInbox: ra.SharedInbox, PreferredUsername: ra.PreferredUsername}, true, nil
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return RemoteActorDoc{}, false, err
	}
	resume := s.pauseWork(ctx) // guard.go: no inbox work slot held while waiting on the network
	doc, err := s.FetchActor(ctx, id)
	resume()
	if err != nil {
		return RemoteActorDoc{}, false, err
	}
	if doc.ID != id || !doc.Complete() {
		return RemoteActorDoc{}, false, fmt.Errorf("federation: %s is not an actor document", id)
	}
	if err := s.storeActor(ctx, doc, storage.RemoteKey{}); err != nil {
		return RemoteActorDoc{}, false, err
	}
	return doc, false, nil
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
	u, err := safehttp.CheckURL(iri, s.set.Federation.AllowPrivateNetworks)
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
	body, err := safehttp.LimitedBody(resp, MaxDocumentBody)
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
// signed (and signed again after a redirect, for its new target), in the
// spec the host is known to accept; a 401 or 400 to a signed GET is met
// by one more knock with the other spec (knock.go).
func (s *Service) get(ctx context.Context, target string, signed bool) (*http.Response, error) {
	if !signed {
		return s.getSigned(ctx, target, "")
	}
	host := hostport.FromURL(target)
	spec := s.specFor(host)
	resp, err := s.getSigned(ctx, target, spec)
	if err != nil || !knockAgain(resp.StatusCode) {
		return resp, err
	}
	resp.Body.Close()
	spec = otherSpec(spec)
	if resp, err = s.getSigned(ctx, target, spec); err == nil && resp.StatusCode == http.StatusOK {
		s.rememberSpec(host, spec)
	}
	return resp, err
}

// getSigned GETs target, signed in spec ("" for unsigned).
func (s *Service) getSigned(ctx context.Context, target string, spec httpsig.Spec) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", acceptAS2)
	if spec == "" {
		return s.client.Do(req)
	}
	if err := s.sign(s.instance.signer, spec, req, nil, s.now()); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	client := *s.client
	client.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if check := s.client.CheckRedirect; check != nil {
			if err := check(next, via); err != nil {
				return err
			}
		}
		return s.sign(s.instance.signer, spec, next, nil, s.now())
	}
	return client.Do(req)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
