package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/passerelle/passerelle/safehttp"
)

// ErrUnknownAccount is a mention that does not resolve to an actor.
var ErrUnknownAccount = errors.New("federation: unknown account")

// ResolveMention finds the actor behind @username@domain: one of ours, or a
// remote one through WebFinger (SSRF-safe client), whose actor document is
// then fetched and cached so deliveries know its inbox.
func (s *Service) ResolveMention(ctx context.Context, username, domain string) (actorID, profileURL string, err error) {
	domain = strings.ToLower(domain)
	if domain == "" || strings.EqualFold(domain, s.handleDomain) || strings.EqualFold(domain, s.publicHost) {
		la := s.accounts[strings.ToLower(username)]
		if la == nil {
			return "", "", ErrUnknownAccount
		}
		return la.id, s.links.Profile(la.name), nil
	}
	if actorID, profileURL, err = s.webfingerActor(ctx, username, domain); err != nil { // moves.go
		return "", "", err
	}
	if _, _, err := s.remoteActor(ctx, actorID); err != nil {
		return "", "", err
	}
	if profileURL == "" {
		profileURL = actorID
	}
	return actorID, profileURL, nil
}

type jrdDoc struct {
	Subject string    `json:"subject"`
	Links   []jrdLink `json:"links"`
}

// parseJRD reads a WebFinger answer: the actor of its ActivityPub self
// link (an http(s) IRI) and its profile page, if any.
func parseJRD(body []byte) (actorID, profileURL string, err error) {
	var doc jrdDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", "", fmt.Errorf("malformed JRD: %w", err)
	}
	for _, l := range doc.Links {
		if l.Rel == "self" && (l.Type == contentTypeAS2 || strings.HasPrefix(l.Type, "application/ld+json")) && checkIRI(l.Href) == nil {
			actorID = l.Href
		}
		if l.Rel == "http://webfinger.net/rel/profile-page" && checkIRI(l.Href) == nil {
			profileURL = l.Href
		}
	}
	if actorID == "" {
		return "", "", errors.New("no ActivityPub actor")
	}
	return actorID, profileURL, nil
}

// lookupWebFinger GETs the WebFinger answer for username@domain.
func (s *Service) lookupWebFinger(ctx context.Context, scheme, username, domain string) ([]byte, error) {
	u := scheme + "://" + domain + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+username+"@"+domain)
	if _, err := safehttp.CheckURL(u, s.set.Federation.AllowPrivateNetworks); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jrd+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("federation: webfinger %s@%s: %w", username, domain, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: webfinger %s@%s: status %d", ErrUnknownAccount, username, domain, resp.StatusCode)
	}
	return safehttp.LimitedBody(resp, 256<<10)
}
