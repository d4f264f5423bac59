package federation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-fed/activity/streams/vocab"
	"golang.org/x/sync/singleflight"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/storage"
)

// Account moves (docs/history.md#moving-accounts).
//
// Moving in: an account lists its former accounts in also_known_as, which
// the actor document publishes as alsoKnownAs. The old server checks it,
// then sends Move{object: old, target: us} to the old account's followers,
// whose servers follow us with ordinary Follows. Mastodon delivers that
// Move to the followers' inboxes (and relays) only, not to the target
// (ActivityPub::MoveDistributionWorker): nothing in those Follows tells
// them apart from others. So the bridge opens a move-in window, during
// which Follows are accepted even with manual approval and marked as moved
// in from the old account: when a Move whose target is us arrives anyway
// (Passerelle sends it to the target too, and so may other servers or
// relays), or when an admin expects one (bridge move-in expect).
//
// Moving out: bridge move-out checks that the new account lists ours in
// alsoKnownAs, records the move and queues Move{object: us, target: new}
// for every follower's server (and the new account's) through the durable
// fan-out, in one transaction. The running server reads the move back
// within moveCacheTTL: the actor document gains movedTo and the profile
// page redirects.

const (
	// moveCacheTTL is how long the served actor document and moved state
	// are reused before the database is read again: the bound on how late
	// the running server notices a move made by the command line.
	moveCacheTTL = 5 * time.Second
	// aliasRetry spaces the background WebFinger lookups of alias handles
	// that failed.
	aliasRetry = time.Minute
	// DefaultMoveInWindow is how long a move-in window stays open:
	// Mastodon processes a Move once a week at most (its cool-down), and
	// followers' servers act within minutes to hours.
	DefaultMoveInWindow = 7 * 24 * time.Hour
	// maxRemoteAliases bounds the alsoKnownAs read from a remote actor.
	maxRemoteAliases = 20
)

// moveCache is the per-account state of moves on the read paths.
type moveCache struct {
	mu      sync.Mutex
	entries map[string]*moveEntry
	refresh singleflight.Group
}

type moveEntry struct {
	checked   time.Time         // last read of the move from the store; zero: never
	out       storage.MoveOut   // Target empty: not moved
	resolved  map[string]string // alias handle ("@u@d") -> actor IRI
	resolving bool
	tried     time.Time // last background resolution
	doc       []byte
}

// entry returns la's entry, created with the prebuilt document; c.mu held.
func (c *moveCache) entry(la *localActor) *moveEntry {
	if c.entries == nil {
		c.entries = map[string]*moveEntry{}
	}
	e := c.entries[la.name]
	if e == nil {
		e = &moveEntry{doc: la.doc, resolved: map[string]string{}}
		c.entries[la.name] = e
	}
	return e
}

// aliasURLs returns the URL entries of acc's also_known_as.
func aliasURLs(acc config.Account) []string {
	var out []string
	for _, al := range acc.Aliases() {
		if !al.IsHandle() {
			out = append(out, al.URL)
		}
	}
	return out
}

// aliasIRIs lists la's former accounts' IRIs in configuration order:
// the URLs, and the handles resolved so far; e.mu held.
func aliasIRIs(la *localActor, e *moveEntry) []string {
	var out []string
	for _, al := range la.cfg.Aliases() {
		switch {
		case !al.IsHandle():
			out = append(out, al.URL)
		case e.resolved[al.String()] != "":
			out = append(out, e.resolved[al.String()])
		}
	}
	return out
}

// rebuild encodes la's document with its current aliases and move; c.mu
// held. On failure the previous document stays.
func (s *Service) rebuild(la *localActor, e *moveEntry) {
	d := la.actorDoc
	d.AlsoKnownAs = aliasIRIs(la, e)
	d.MovedTo = e.out.Target
	doc, err := EncodeActor(d)
	if err != nil {
		s.log.Error().Err(err).Str("account", la.name).Msg("moves: encode actor document")
		return
	}
	e.doc = doc
}

// MovedTo is where one of our accounts moved.
type MovedTo struct {
	Actor      string // the new actor IRI
	Handle     string // user@domain
	ProfileURL string
	At         time.Time
}

// Moved reports whether our account username moved out, and where. The
// answer is at most moveCacheTTL old.
func (s *Service) Moved(ctx context.Context, username string) (MovedTo, bool) {
	la := s.accounts[strings.ToLower(username)]
	if la == nil {
		return MovedTo{}, false
	}
	out, _ := s.moveState(ctx, la)
	if out.Target == "" {
		return MovedTo{}, false
	}
	return MovedTo{Actor: out.Target, Handle: out.TargetHandle, ProfileURL: out.TargetURL, At: out.MovedAt}, true
}

// currentActorDoc is la's actor document as served: with movedTo once
// moved, and the alias handles once resolved.
func (s *Service) currentActorDoc(ctx context.Context, la *localActor) []byte {
	_, doc := s.moveState(ctx, la)
	return doc
}

// moveState returns la's move and current document, reading the move from
// the store when the cached one is older than moveCacheTTL, and starting
// the background resolution of alias handles when due.
func (s *Service) moveState(ctx context.Context, la *localActor) (storage.MoveOut, []byte) {
	c := &s.moves
	now := s.now()
	c.mu.Lock()
	e := c.entry(la)
	out, doc := e.out, e.doc
	fresh := !e.checked.IsZero() && now.Sub(e.checked) < moveCacheTTL
	resolve := len(la.cfg.AlsoKnownAs) > 0 && !e.resolving && now.Sub(e.tried) >= aliasRetry &&
		len(aliasIRIs(la, e)) < len(la.cfg.Aliases())
	if resolve {
		e.resolving = true
	}
	c.mu.Unlock()
	if resolve {
		go s.resolveAliasesInBackground(la)
	}
	if fresh {
		return out, doc
	}
	_, err, _ := c.refresh.Do(la.name, func() (any, error) {
		m, err := s.store.GetMoveOut(ctx, la.name)
		if errors.Is(err, storage.ErrNotFound) {
			m, err = storage.MoveOut{}, nil
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		e := c.entry(la)
		e.checked = s.now() // after a failure too: read again after moveCacheTTL
		if err != nil {
			return nil, err
		}
		changed := m.Target != e.out.Target
		e.out = m
		if changed {
			s.rebuild(la, e)
		}
		return nil, nil
	})
	if err != nil {
		// Serve what we have.
		s.log.Warn().Err(err).Str("account", la.name).Msg("moves: read the account's move")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e = c.entry(la)
	return e.out, e.doc
}

// forgetMove makes the next read of la's move go to the store.
func (s *Service) forgetMove(la *localActor) {
	s.moves.mu.Lock()
	s.moves.entry(la).checked = time.Time{}
	s.moves.mu.Unlock()
}

// resolveAliasesInBackground resolves la's alias handles for its actor
// document, away from any request.
func (s *Service) resolveAliasesInBackground(la *localActor) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.resolveAliases(ctx, la)
	s.moves.mu.Lock()
	e := s.moves.entry(la)
	e.resolving, e.tried = false, s.now()
	s.moves.mu.Unlock()
}

// resolveAliases looks up la's unresolved alias handles through WebFinger
// and returns its aliases' IRIs. Failures are logged: the handle is left
// out until a later lookup succeeds.
func (s *Service) resolveAliases(ctx context.Context, la *localActor) []string {
	s.moves.mu.Lock()
	e := s.moves.entry(la)
	var todo []config.Alias
	for _, al := range la.cfg.Aliases() {
		if al.IsHandle() && e.resolved[al.String()] == "" {
			todo = append(todo, al)
		}
	}
	s.moves.mu.Unlock()
	found := map[string]string{}
	for _, al := range todo {
		id, _, err := s.webfingerActor(ctx, al.User, al.Domain)
		if err != nil {
			s.log.Warn().Err(err).Str("account", la.name).Str("alias", al.String()).Msg("moves: resolve also_known_as handle")
			continue
		}
		found[al.String()] = id
	}
	s.moves.mu.Lock()
	defer s.moves.mu.Unlock()
	e = s.moves.entry(la)
	if len(found) > 0 {
		for k, v := range found {
			e.resolved[k] = v
		}
		s.rebuild(la, e)
	}
	return aliasIRIs(la, e)
}

// webfingerActor finds the actor of user@domain through WebFinger (https,
// or http on test networks), without fetching it.
func (s *Service) webfingerActor(ctx context.Context, user, domain string) (actorID, profileURL string, err error) {
	body, err := s.lookupWebFinger(ctx, "https", user, domain)
	if err != nil && s.set.Federation.AllowPrivateNetworks {
		body, err = s.lookupWebFinger(ctx, "http", user, domain)
	}
	if err != nil {
		return "", "", err
	}
	if actorID, profileURL, err = parseJRD(body); err != nil {
		return "", "", fmt.Errorf("%w: webfinger %s@%s: %w", ErrUnknownAccount, user, domain, err)
	}
	return actorID, profileURL, nil
}

// resolveRef turns an actor URL or a handle into an actor IRI.
func (s *Service) resolveRef(ctx context.Context, ref string) (actorID, handle string, err error) {
	al, err := config.ParseAlias(ref)
	if err != nil {
		return "", "", err
	}
	if !al.IsHandle() {
		return al.URL, "", nil
	}
	if la := s.ourHandle(al.User, al.Domain); la != nil {
		return la.id, s.links.Handle(la.name), nil
	}
	id, _, err := s.webfingerActor(ctx, al.User, al.Domain)
	if err != nil {
		return "", "", err
	}
	return id, al.User + "@" + al.Domain, nil
}

// ourHandle returns our account user@domain, if it is one.
func (s *Service) ourHandle(user, domain string) *localActor {
	if !strings.EqualFold(domain, s.handleDomain) && !strings.EqualFold(domain, s.publicHost) {
		return nil
	}
	return s.accounts[strings.ToLower(user)]
}

// targetOf returns the id of an activity's target, "" when it has none.
func targetOf(t vocab.Type) string {
	tt, ok := t.(interface {
		GetActivityStreamsTarget() vocab.ActivityStreamsTargetProperty
	})
	if !ok || tt.GetActivityStreamsTarget() == nil {
		return ""
	}
	p := tt.GetActivityStreamsTarget()
	for it := p.Begin(); it != p.End(); it = it.Next() {
		if it.IsIRI() {
			return it.GetIRI().String()
		}
		if x := it.GetType(); x != nil {
			if id := idOf(x); id != "" {
				return id
			}
		}
	}
	return ""
}

// movesOf reads alsoKnownAs (an IRI, an object or an array of them) and
// movedTo from a remote actor document; go-fed v1 does not model them.
func movesOf(m map[string]any) (alsoKnownAs []string, movedTo string) {
	add := func(v any) {
		if id := stringOrID(v); checkIRI(id) == nil && len(alsoKnownAs) < maxRemoteAliases {
			alsoKnownAs = append(alsoKnownAs, id)
		}
	}
	switch v := m["alsoKnownAs"].(type) {
	case []any:
		for _, x := range v {
			add(x)
		}
	case nil:
	default:
		add(v)
	}
	if movedTo = stringOrID(m["movedTo"]); checkIRI(movedTo) != nil {
		movedTo = ""
	}
	return alsoKnownAs, movedTo
}

// movingIn returns the old account of la's open move-in window, or "".
// Accounts without also_known_as never read the store.
func (s *Service) movingIn(ctx context.Context, la *localActor) (string, error) {
	if len(la.cfg.AlsoKnownAs) == 0 {
		return "", nil
	}
	m, err := s.store.OpenMoveIn(ctx, la.name, s.now())
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("federation: move-in window of %s: %w", la.name, err)
	}
	return m.Origin, nil
}

// MoveError is a move refused for a reason the admin can fix; Hint says
// how.
type MoveError struct {
	Reason string
	Hint   string
}

func (e *MoveError) Error() string { return "move: " + e.Reason }

func (s *Service) localAccount(username string) (*localActor, error) {
	la := s.accounts[strings.ToLower(username)]
	if la == nil {
		return nil, fmt.Errorf("federation: no account %q", username)
	}
	return la, nil
}

// MoveTarget is the account an account moves to, as fetched.
type MoveTarget struct {
	Actor       string
	Handle      string // user@domain
	ProfileURL  string
	Inbox       string // its shared inbox when it has one
	AlsoKnownAs []string
}

// CheckMoveTarget resolves `to` (a handle or an actor URL), fetches its
// actor document and checks that it lists our account in alsoKnownAs, as
// Mastodon's followers' servers will before following it.
func (s *Service) CheckMoveTarget(ctx context.Context, username, to string) (MoveTarget, error) {
	la, err := s.localAccount(username)
	if err != nil {
		return MoveTarget{}, err
	}
	id, handle, err := s.resolveRef(ctx, to)
	if err != nil {
		return MoveTarget{}, fmt.Errorf("move: find %s: %w", to, err)
	}
	if id == la.id {
		return MoveTarget{}, &MoveError{Reason: "an account cannot move to itself"}
	}
	doc, err := s.FetchActor(ctx, id)
	if err != nil {
		return MoveTarget{}, fmt.Errorf("move: fetch %s: %w", id, err)
	}
	if doc.ID != id || doc.KeyOwner != "" {
		return MoveTarget{}, fmt.Errorf("move: %s is not an actor document (its id is %s)", id, doc.ID)
	}
	if handle == "" {
		handle = doc.PreferredUsername + "@" + hostport.FromURL(doc.ID)
	}
	t := MoveTarget{Actor: doc.ID, Handle: handle, ProfileURL: doc.ProfileURL, Inbox: doc.SharedInbox, AlsoKnownAs: doc.AlsoKnownAs}
	if t.ProfileURL == "" {
		t.ProfileURL = doc.ID
	}
	if t.Inbox == "" {
		t.Inbox = doc.Inbox
	}
	if !slices.Contains(doc.AlsoKnownAs, la.id) {
		return t, &MoveError{
			Reason: fmt.Sprintf("@%s does not list %s in alsoKnownAs", handle, la.id),
			Hint: fmt.Sprintf("The new account must first declare this one as its former account. "+
				"On Mastodon: log in as @%s, Preferences > Account > Moving from a different account > "+
				"Create an account alias, and enter @%s. On Passerelle: add %q to the account's "+
				"also_known_as and restart it. Then run this command again.", handle, s.links.Handle(la.name), la.id),
		}
	}
	return t, nil
}

// MoveOutResult is what MoveOut did.
type MoveOutResult struct {
	Target     MoveTarget
	ActivityID string
	Ref        string // groups the Move's deliveries (DeliveryStats)
	Followers  int64  // accepted followers the Move goes to
	// Already is set when the account had already moved to Target and
	// nothing was sent again.
	Already bool
}

// MoveRef is the delivery Ref of a Move activity.
func MoveRef(activityID string) string { return "move:" + activityID }

// MoveOut moves our account username to `to` (a handle or an actor URL):
// it checks the target (CheckMoveTarget), then in one transaction records
// the move (the actor document gains movedTo, the profile page redirects)
// and queues the Move for every follower's server and for the target's
// inbox. Moving again to the same target does nothing unless resend.
func (s *Service) MoveOut(ctx context.Context, username, to string, resend bool) (MoveOutResult, error) {
	la, err := s.localAccount(username)
	if err != nil {
		return MoveOutResult{}, err
	}
	t, err := s.CheckMoveTarget(ctx, la.name, to)
	if err != nil {
		return MoveOutResult{Target: t}, err
	}
	res := MoveOutResult{Target: t}
	if res.Followers, err = s.store.CountFollowers(ctx, la.name, storage.FollowerAccepted); err != nil {
		return res, err
	}
	prev, err := s.store.GetMoveOut(ctx, la.name)
	switch {
	case err == nil && prev.Target == t.Actor && !resend:
		res.Already, res.ActivityID, res.Ref = true, prev.ActivityID, MoveRef(prev.ActivityID)
		return res, nil
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return res, err
	}
	now := s.now()
	res.ActivityID = la.id + "#moves/" + strconv.FormatInt(now.UnixMilli(), 10)
	res.Ref = MoveRef(res.ActivityID)
	body, err := EncodeMove(res.ActivityID, la.id, t.Actor, la.id+"/followers")
	if err != nil {
		return res, err
	}
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		if err := q.PutMoveOut(ctx, storage.MoveOut{
			Account: la.name, Target: t.Actor, TargetHandle: t.Handle, TargetURL: t.ProfileURL,
			ActivityID: res.ActivityID, MovedAt: now,
		}); err != nil {
			return err
		}
		return s.Enqueue(ctx, q, Outgoing{Account: la.name, Activity: body, Followers: true, Inboxes: []string{t.Inbox}, Ref: res.Ref})
	})
	if err != nil {
		return res, fmt.Errorf("federation: move %s to %s: %w", la.name, t.Actor, err)
	}
	s.forgetMove(la)
	s.Nudge()
	s.log.Info().Str("account", la.name).Str("to", t.Actor).Int64("followers", res.Followers).Msg("moves: account moved; Move queued for the followers")
	return res, nil
}

// EncodeMove builds the Move of actor to target, as Mastodon sends it
// (object = actor), addressed to the followers.
func EncodeMove(id, actor, target, followers string) ([]byte, error) {
	if err := checkIRI(target); err != nil {
		return nil, fmt.Errorf("federation: move target: %w", err)
	}
	return encodeMove(id, actor, target, followers) // encode_move.go
}

// MoveInCheck is what bridge move-in check finds for one former account.
type MoveInCheck struct {
	Account   string // our handle, user@domain
	Actor     string // our actor IRI
	Old       string // the former account as given (URL or handle)
	OldActor  string // its IRI; empty when it could not be found
	OldErr    error  // why it could not be found or fetched
	Listed    bool   // accounts[].also_known_as lists it
	Served    bool   // our public actor document lists it in alsoKnownAs
	ServedErr error  // why our actor document could not be checked
	// WebFingerErr is set when our handle does not resolve to our actor
	// on the public URL (the old server looks it up).
	WebFingerErr error
	OldMovedTo   string          // the former account's movedTo: "" before the move
	Window       *storage.MoveIn // the open move-in window, if any
	MovedIn      int64           // followers moved in so far
}

// MovedHere reports whether the former account has moved to us.
func (c MoveInCheck) MovedHere() bool { return c.OldMovedTo != "" && c.OldMovedTo == c.Actor }

// CheckMoveIn checks, for our account username and each former account
// (the given one, or every also_known_as entry when from is empty), what
// the old server will check before moving the followers: that our actor,
// found from our handle on the public URL, lists it in alsoKnownAs. It
// also reports whether the former account has moved yet (its movedTo),
// the open move-in window and the followers moved in so far.
func (s *Service) CheckMoveIn(ctx context.Context, username, from string) ([]MoveInCheck, error) {
	la, err := s.localAccount(username)
	if err != nil {
		return nil, err
	}
	refs := []string{from}
	if from == "" {
		refs = la.cfg.AlsoKnownAs
	}
	if len(refs) == 0 {
		return nil, &MoveError{
			Reason: fmt.Sprintf("@%s lists no former account", s.links.Handle(la.name)),
			Hint:   "Add the old account's actor URL or handle to the account's also_known_as, restart the bridge, and check again.",
		}
	}
	aliases := s.resolveAliases(ctx, la)
	// What the old server sees: our handle, then our actor document.
	id, _, wfErr := s.webfingerActor(ctx, la.name, s.handleDomain)
	if wfErr == nil && id != la.id {
		wfErr = fmt.Errorf("WebFinger of @%s points to %s, not to %s", s.links.Handle(la.name), id, la.id)
	}
	served, servedErr := s.FetchActor(ctx, la.id)
	window, err := s.store.OpenMoveIn(ctx, la.name, s.now())
	var open *storage.MoveIn
	switch {
	case err == nil:
		open = &window
	case !errors.Is(err, storage.ErrNotFound):
		return nil, err
	}
	movedIn, err := s.store.CountFollowersMovedIn(ctx, la.name)
	if err != nil {
		return nil, err
	}
	var out []MoveInCheck
	for _, ref := range refs {
		c := MoveInCheck{Account: s.links.Handle(la.name), Actor: la.id, Old: ref, WebFingerErr: wfErr, ServedErr: servedErr, Window: open, MovedIn: movedIn}
		c.OldActor, _, c.OldErr = s.resolveRef(ctx, ref)
		if c.OldErr == nil {
			c.Listed = slices.Contains(aliases, c.OldActor)
			c.Served = servedErr == nil && slices.Contains(served.AlsoKnownAs, c.OldActor)
			var doc RemoteActorDoc
			if doc, c.OldErr = s.FetchActor(ctx, c.OldActor); c.OldErr == nil {
				c.OldMovedTo = doc.MovedTo
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// ExpectMoveIn opens a move-in window of `window` for our account username
// from a former account it lists in also_known_as (a handle or an actor
// URL): until then, Follows are accepted even with manual approval and
// counted as moved in from it. A window of zero or less closes it.
func (s *Service) ExpectMoveIn(ctx context.Context, username, from string, window time.Duration) (storage.MoveIn, error) {
	la, err := s.localAccount(username)
	if err != nil {
		return storage.MoveIn{}, err
	}
	id, _, err := s.resolveRef(ctx, from)
	if err != nil {
		return storage.MoveIn{}, fmt.Errorf("move-in: find %s: %w", from, err)
	}
	if !slices.Contains(s.resolveAliases(ctx, la), id) {
		return storage.MoveIn{}, &MoveError{
			Reason: fmt.Sprintf("@%s does not list %s in also_known_as", s.links.Handle(la.name), id),
			Hint:   fmt.Sprintf("Add %q to the account's also_known_as and restart the bridge first: the old server checks it before moving the followers.", id),
		}
	}
	now := s.now()
	m := storage.MoveIn{Account: la.name, Origin: id, Source: storage.MoveInExpected, OpenedAt: now, Until: now.Add(max(window, 0))}
	if err := s.store.PutMoveIn(ctx, m); err != nil {
		return storage.MoveIn{}, err
	}
	return m, nil
}

// ActorDocument returns our account username's actor document as served
// now (with movedTo and the resolved alsoKnownAs).
func (s *Service) ActorDocument(ctx context.Context, username string) ([]byte, error) {
	la, err := s.localAccount(username)
	if err != nil {
		return nil, err
	}
	return s.currentActorDoc(ctx, la), nil
}
