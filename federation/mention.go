package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
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
		return la.id, s.ProfileURL(la.name), nil
	}
	jrd, err := s.lookupWebFinger(ctx, "https", username, domain)
	if err != nil && s.set.Federation.AllowPrivateNetworks {
		// Local test networks serve plain HTTP.
		jrd, err = s.lookupWebFinger(ctx, "http", username, domain)
	}
	if err != nil {
		return "", "", err
	}
	for _, l := range jrd.Links {
		if l.Rel == "self" && (l.Type == contentTypeAS2 || strings.HasPrefix(l.Type, "application/ld+json")) {
			actorID = l.Href
		}
		if l.Rel == "http://webfinger.net/rel/profile-page" {
			profileURL = l.Href
		}
	}
	if actorID == "" {
		return "", "", fmt.Errorf("%w: %s@%s has no ActivityPub actor", ErrUnknownAccount, username, domain)
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

func (s *Service) lookupWebFinger(ctx context.Context, scheme, username, domain string) (jrdDoc, error) {
	u := scheme + "://" + domain + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+username+"@"+domain)
	if _, err := CheckURL(u, s.set.Federation.AllowPrivateNetworks); err != nil {
		return jrdDoc{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return jrdDoc{}, err
	}
	req.Header.Set("Accept", "application/jrd+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return jrdDoc{}, fmt.Errorf("federation: webfinger %s@%s: %w", username, domain, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jrdDoc{}, fmt.Errorf("%w: webfinger %s@%s: status %d", ErrUnknownAccount, username, domain, resp.StatusCode)
	}
	body, err := LimitedBody(resp, 256<<10)
	if err != nil {
		return jrdDoc{}, err
	}
	var doc jrdDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return jrdDoc{}, fmt.Errorf("federation: webfinger %s@%s: %w", username, domain, err)
	}
	return doc, nil
}
