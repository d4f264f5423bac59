package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-fed/activity/streams"

	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
)

// What our accounts do to others' posts: boost and favourite them (and
// take it back), and find them first: a post or an actor searched by URL
// is fetched, signed by the instance actor, through the SSRF-safe
// client, and kept (sanitised) so that it can be shown, answered,
// boosted or favourited.

// Reaction is a boost or a favourite by one of our accounts, to send.
type Reaction struct {
	storage.OwnReaction
	// Author is the post's author; AuthorInbox where it receives ("" when
	// the author is one of ours: nothing is sent to it).
	Author, AuthorInbox string
}

// ReactionActivityID is the id of the Announce or Like id of account: a
// fragment of its actor, as Mastodon names its Likes.
func (s *Service) ReactionActivityID(account, kind string, id int64) string {
	frag := "#likes/"
	if kind == storage.NotificationReblog {
		frag = "#announces/"
	}
	return s.links.Actor(account) + frag + strconv.FormatInt(id, 10)
}

// reactionDoc is the document of r.
func (s *Service) reactionDoc(r Reaction) ReactionDoc {
	typ := "Like"
	if r.Kind == storage.NotificationReblog {
		typ = "Announce"
	}
	return ReactionDoc{ID: r.ActivityID, Type: typ, Actor: s.links.Actor(r.Account), Object: r.ObjectURI,
		Author: r.Author, Followers: s.links.Followers(r.Account), Published: r.CreatedAt}
}

// QueueReaction queues, in q (the caller's transaction), the Announce or
// Like of r, or with undo its Undo: to the author's inbox, and for a
// boost to every follower's server too. Call Nudge after the
// transaction commits.
func (s *Service) QueueReaction(ctx context.Context, q storage.Queries, r Reaction, undo bool) error {
	doc := s.reactionDoc(r)
	var body []byte
	var err error
	ref := r.Kind + ":" + strconv.FormatInt(r.ID, 10)
	if undo {
		body, err = EncodeUndoReaction(r.ActivityID+"/undo", doc)
		ref += ":undo"
	} else {
		body, err = EncodeReaction(doc)
	}
	if err != nil {
		return err
	}
	var inboxes []string
	if r.AuthorInbox != "" {
		inboxes = append(inboxes, r.AuthorInbox)
	}
	return s.Enqueue(ctx, q, Outgoing{Account: r.Account, Activity: body, Followers: r.Kind == storage.NotificationReblog,
		Inboxes: inboxes, Ref: ref})
}

// DeliveryInbox is where to send what one remote actor must receive: its
// server's shared inbox when it has one (deduplicated with the
// followers' deliveries), else its own; fetched when not cached.
func (s *Service) DeliveryInbox(ctx context.Context, actorID string) (string, error) {
	doc, _, err := s.remoteActor(ctx, actorID)
	if err != nil {
		return "", fmt.Errorf("federation: inbox of %s: %w", actorID, err)
	}
	if doc.SharedInbox != "" {
		return doc.SharedInbox, nil
	}
	return doc.Inbox, nil
}

// ErrRefusedTarget is a search for what must not be fetched: an IP
// address, a local or private name. Nothing was requested.
var ErrRefusedTarget = errors.New("federation: refused address")

// CheckRemoteTarget refuses, without any request, a URL whose host is an
// IP literal, a local name (localhost, .local, .internal, .localhost, a
// single label) or otherwise refused by the SSRF-safe client; tests that
// allow private networks may name loopback hosts.
func (s *Service) CheckRemoteTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: %q is not an http(s) URL", ErrRefusedTarget, raw)
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if !s.set.Federation.AllowPrivateNetworks {
		if _, err := netip.ParseAddr(host); err == nil {
			return nil, fmt.Errorf("%w: %s is an IP address", ErrRefusedTarget, host)
		}
		if !strings.Contains(host, ".") || host == "localhost" {
			return nil, fmt.Errorf("%w: %s is a local name", ErrRefusedTarget, host)
		}
		for _, suffix := range []string{".localhost", ".local", ".internal", ".home.arpa", ".lan"} {
			if strings.HasSuffix(host, suffix) {
				return nil, fmt.Errorf("%w: %s is a local name", ErrRefusedTarget, host)
			}
		}
	}
	checked, err := safehttp.CheckURL(raw, s.set.Federation.AllowPrivateNetworks)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefusedTarget, err)
	}
	if s.hostBlocked(checked.Host) {
		return nil, fmt.Errorf("%w: %w", ErrRefusedTarget, ErrDomainBlocked)
	}
	return checked, nil
}

// Resolved is what a URL stands for: a remote actor (its profile) or a
// remote post (and its author's profile).
type Resolved struct {
	Profile *storage.RemoteProfile
	Status  *storage.RemoteStatus
}

// ErrNotResolvable is a URL that is not a public post or an actor.
var ErrNotResolvable = errors.New("federation: not a public post or an actor")

// Resolve finds a remote post or actor by URL: held already, or fetched
// (signed by the instance actor when its server wants it), checked (its
// id on the host it came from, a post's author on the post's host) and
// kept. Only public and unlisted posts are kept: a followers-only or
// direct post found this way is addressed to no account of ours.
func (s *Service) Resolve(ctx context.Context, raw string) (Resolved, error) {
	if rs, err := s.store.GetRemoteStatusByNoteID(ctx, raw); err == nil && rs.DeletedAt.IsZero() {
		return s.resolvedStatus(ctx, rs)
	}
	if p, err := s.store.GetRemoteProfile(ctx, raw); err == nil {
		return Resolved{Profile: &p}, nil
	}
	u, err := s.CheckRemoteTarget(raw)
	if err != nil {
		return Resolved{}, err
	}
	body, err := s.fetchObject(ctx, u.String())
	if err != nil {
		return Resolved{}, err
	}
	m, err := parseJSONObject(body)
	if err != nil {
		return Resolved{}, err
	}
	id := stringOrID(m["id"])
	if checkIRI(id) != nil || !sameHost(id, u.String()) {
		return Resolved{}, fmt.Errorf("%w: the document at %s has no id on its host", ErrNotResolvable, u)
	}
	typ, _ := m["type"].(string)
	switch {
	case isPostType(typ):
		if id != u.String() {
			// Found by another URL (a permalink): the post is what its id
			// serves.
			if body, err = s.fetchObject(ctx, id); err != nil {
				return Resolved{}, err
			}
		}
		return s.keepFetchedNote(ctx, id, body)
	case slices.Contains(actorTypes, typ):
		doc, _, err := s.remoteActor(ctx, id)
		if err != nil {
			return Resolved{}, err
		}
		p, err := s.profile(ctx, doc.ID)
		if err != nil {
			return Resolved{}, err
		}
		return Resolved{Profile: &p}, nil
	}
	return Resolved{}, fmt.Errorf("%w: %s is a %q", ErrNotResolvable, u, typ)
}

// resolvedStatus is a held post with its author's profile.
func (s *Service) resolvedStatus(ctx context.Context, rs storage.RemoteStatus) (Resolved, error) {
	p, err := s.profile(ctx, rs.ActorID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return Resolved{}, err
	}
	out := Resolved{Status: &rs}
	if err == nil {
		out.Profile = &p
	}
	return out, nil
}

// fetchObject GETs an ActivityPub document, signed by the instance actor
// (a search is rare and asked for by a person: the signature's cost does
// not matter, and servers in secure mode want it), within
// MaxDocumentBody.
func (s *Service) fetchObject(ctx context.Context, iri string) ([]byte, error) {
	u, err := s.CheckRemoteTarget(iri)
	if err != nil {
		return nil, err
	}
	u.Fragment = ""
	resp, err := s.get(ctx, u.String(), true)
	if err != nil {
		return nil, fmt.Errorf("federation: fetch %s: %w", iri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("federation: fetch: %w", &HTTPStatusError{URL: u.String(), Code: resp.StatusCode})
	}
	return safehttp.LimitedBody(resp, MaxDocumentBody)
}

// DecodeNote decodes a standalone post (Note, Article, Page, Question).
func DecodeNote(ctx context.Context, body []byte) (*InboundNote, error) {
	m, err := parseJSONObject(body)
	if err != nil {
		return nil, err
	}
	if _, ok := m["@context"]; !ok {
		m["@context"] = "https://www.w3.org/ns/activitystreams"
	}
	t, err := streams.ToType(ctx, m)
	if err != nil {
		return nil, decodeErr("not an ActivityStreams object: %v", err)
	}
	n, ok := t.(noteLike)
	if !ok || !isPostType(t.GetTypeName()) {
		return nil, decodeErr("not a post: %s", t.GetTypeName())
	}
	in := noteFrom(n)
	if id, ok := m["id"].(string); ok {
		in.ID = id
	}
	noteExtras(in, m)
	return in, nil
}

// keepFetchedNote checks and keeps a post fetched at its id, with its
// author (fetched when unknown).
func (s *Service) keepFetchedNote(ctx context.Context, id string, body []byte) (Resolved, error) {
	n, err := DecodeNote(ctx, body)
	if err != nil {
		return Resolved{}, err
	}
	if n.ID != id {
		return Resolved{}, fmt.Errorf("%w: %s serves %s", ErrNotResolvable, id, n.ID)
	}
	if checkIRI(n.AttributedTo) != nil || !sameHost(n.AttributedTo, n.ID) {
		return Resolved{}, fmt.Errorf("%w: %s has no author on its host", ErrNotResolvable, id)
	}
	if v := visibilityOf(n, n.AttributedTo); v != storage.VisibilityPublic && v != storage.VisibilityUnlisted {
		return Resolved{}, fmt.Errorf("%w: %s is not public", ErrNotResolvable, id)
	}
	if _, _, err := s.remoteActor(ctx, n.AttributedTo); err != nil {
		return Resolved{}, err
	}
	now := s.now()
	rs := s.sanitizedStatus(ctx, Activity{ID: id, Actor: n.AttributedTo}, n, now)
	if _, ourID, ours := s.ourStatusIRI(n.InReplyTo); ours {
		rs.InReplyToID = ourID
	}
	stored, _, err := s.store.InsertRemoteStatus(ctx, rs)
	if err != nil {
		return Resolved{}, fmt.Errorf("federation: keep %s: %w", id, err)
	}
	return s.resolvedStatus(ctx, stored)
}
