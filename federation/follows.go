package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/storage"
)

// Our accounts follow others: a Follow sent durably (the fan-out, as any
// activity), requested until the remote Accept (Mastodon's semantics for
// every remote follow), ended by our Undo or by their Reject (also after
// acceptance: Mastodon's "remove follower"). The followed actors' posts
// and boosts fill the accounts' home timelines (storage home_entries).

// ErrFollowBlocked is a follow of an actor whose domain is refused for the
// account (by the instance or by the account itself).
var ErrFollowBlocked = errors.New("federation: follow of a blocked domain")

// FollowActivityID is the id of the Follow of account numbered id.
func (s *Service) FollowActivityID(account string, id int64) string {
	return s.links.Actor(account) + "#follows/" + strconv.FormatInt(id, 10)
}

// followDoc is the Follow f, as sent and as embedded in its Undo.
func (s *Service) followDoc(f storage.Follow) activityJSON {
	return activityJSON{ID: f.ActivityID, Type: "Follow", Actor: s.links.Actor(f.Account), To: f.ActorID, Object: f.ActorID}
}

// FollowActor makes account follow actorID: the follow is recorded as
// requested and its Follow queued to the actor's inbox, in one
// transaction. Following again returns the follow already there and
// sends nothing.
func (s *Service) FollowActor(ctx context.Context, account, actorID string) (storage.Follow, error) {
	la := s.accounts[strings.ToLower(account)]
	if la == nil {
		return storage.Follow{}, ErrNotOurAccount
	}
	if s.hostBlockedFor(la.name, hostport.FromURL(actorID)) {
		return storage.Follow{}, ErrFollowBlocked
	}
	if f, err := s.store.GetFollow(ctx, la.name, actorID); err == nil {
		return f, nil
	}
	inbox, err := s.remoteInbox(ctx, actorID)
	if err != nil {
		return storage.Follow{}, fmt.Errorf("federation: follow %s: %w", actorID, err)
	}
	now := s.now()
	id := remoteID(now)
	f := storage.Follow{ID: id, Account: la.name, ActorID: actorID, ActivityID: s.FollowActivityID(la.name, id),
		State: storage.FollowRequested, CreatedAt: now}
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		stored, created, err := q.PutFollow(ctx, f)
		if err != nil || !created {
			f = stored
			return err
		}
		body, err := marshalJSON(withContext(s.followDoc(f)))
		if err != nil {
			return err
		}
		return s.Enqueue(ctx, q, Outgoing{Account: la.name, Activity: body, Inboxes: []string{inbox}, Ref: "follow:" + strconv.FormatInt(id, 10)})
	})
	if err != nil {
		return storage.Follow{}, fmt.Errorf("federation: follow %s: %w", actorID, err)
	}
	s.Nudge()
	return f, nil
}

func withContext(a activityJSON) activityJSON {
	a.Context = asContext
	return a
}

// UnfollowActor ends account's follow of actorID (requested or
// accepted) and queues the Undo of its Follow; without a follow it does
// nothing.
func (s *Service) UnfollowActor(ctx context.Context, account, actorID string) error {
	la := s.accounts[strings.ToLower(account)]
	if la == nil {
		return ErrNotOurAccount
	}
	var sent bool
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		f, err := q.DeleteFollow(ctx, la.name, actorID)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		inbox, err := s.remoteInbox(ctx, actorID)
		if err != nil {
			return err
		}
		body, err := marshalJSON(activityJSON{Context: asContext, ID: f.ActivityID + "/undo", Type: "Undo",
			Actor: la.id, To: actorID, Object: s.followDoc(f)})
		if err != nil {
			return err
		}
		sent = true
		return s.Enqueue(ctx, q, Outgoing{Account: la.name, Activity: body, Inboxes: []string{inbox}, Ref: "follow:" + strconv.FormatInt(f.ID, 10) + ":undo"})
	})
	if err != nil {
		return fmt.Errorf("federation: unfollow %s: %w", actorID, err)
	}
	if sent {
		s.Nudge()
	}
	return nil
}

// applyFollowAnswer applies the Accept or Reject of one of our Follows:
// its object is the Follow embedded (Mastodon, GoToSocial) or its id
// alone. A Reject after the Accept ends the follow too.
func (s *Service) applyFollowAnswer(ctx context.Context, act Activity) (string, error) {
	if act.Object.Type != "" && act.Object.Type != "Follow" {
		return ignored(strings.ToLower(act.Type) + " of a " + act.Object.Type), nil
	}
	f, err := s.store.GetFollowByActivity(ctx, act.Object.ID)
	if errors.Is(err, storage.ErrNotFound) && act.Object.Actor != "" && (act.Object.Object == "" || act.Object.Object == act.Actor) {
		// Some servers answer with a Follow of their own making: known by
		// who followed whom.
		if la := s.ourAccount(act.Object.Actor); la != nil {
			f, err = s.store.GetFollow(ctx, la.name, act.Actor)
		}
	}
	if errors.Is(err, storage.ErrNotFound) {
		return ignored(strings.ToLower(act.Type) + " of a Follow we did not send"), nil
	}
	if err != nil {
		return "", err
	}
	if f.ActorID != act.Actor {
		return "", refuse(http.StatusForbidden, "answer to a Follow of another actor", nil)
	}
	outcome := "follow accepted"
	dup, err := s.applyOnce(ctx, act, s.now(), func(q storage.Queries) error {
		if act.Type == "Reject" {
			outcome = "follow rejected"
			_, err := q.DeleteFollow(ctx, f.Account, f.ActorID)
			if errors.Is(err, storage.ErrNotFound) {
				return nil
			}
			return err
		}
		if f.State == storage.FollowAccepted {
			outcome = "follow already accepted"
			return nil
		}
		return q.SetFollowState(ctx, f.Account, f.ActorID, storage.FollowAccepted, s.now())
	})
	if err != nil || dup {
		return dupOutcome(dup), err
	}
	return outcome, nil
}

// applyHomeCreate records, for the home timelines of the accounts that
// follow its author, a post that is not about our accounts. ok is false
// when nobody follows the author.
func (s *Service) applyHomeCreate(ctx context.Context, act Activity) (outcome string, ok bool, err error) {
	accounts, err := s.store.FollowingAccounts(ctx, act.Actor)
	if err != nil || len(accounts) == 0 {
		return "", false, err
	}
	if err := checkNote(act); err != nil {
		return "", true, err
	}
	prof, err := s.senderProfile(ctx, act.Actor)
	if err != nil {
		return "", true, fmt.Errorf("federation: profile of %s: %w", act.Actor, err)
	}
	now := s.now()
	rs := s.sanitizedStatus(ctx, act, act.Note, now)
	if rs.Visibility == storage.VisibilityDirect {
		return ignored("a direct post to others"), true, nil
	}
	dup, err := s.applyOnce(ctx, act, now, func(q storage.Queries) error {
		if err := q.UpsertRemoteProfile(ctx, prof); err != nil {
			return err
		}
		stored, _, err := q.InsertRemoteStatus(ctx, rs)
		if err != nil {
			return err
		}
		es := make([]storage.HomeEntry, 0, len(accounts))
		for _, a := range accounts {
			es = append(es, storage.HomeEntry{ID: stored.ID, Account: a, RemoteStatusID: stored.ID, ActorID: act.Actor,
				ActivityID: stored.NoteID, CreatedAt: now})
		}
		_, err = q.InsertHomeEntries(ctx, es)
		return err
	})
	if err != nil || dup {
		return dupOutcome(dup), true, err
	}
	return "recorded for the home timeline", true, nil
}

// applyHomeAnnounce records, for the home timelines of the accounts that
// follow the booster, a boost of a post we hold already; a boost of a
// post we do not hold is fetched by a job (home_boosts.go), never on the
// inbox's path. ok is false when nobody follows the booster.
func (s *Service) applyHomeAnnounce(ctx context.Context, act Activity) (outcome string, ok bool, err error) {
	accounts, err := s.store.FollowingAccounts(ctx, act.Actor)
	if err != nil || len(accounts) == 0 {
		return "", false, err
	}
	rs, err := s.store.GetRemoteStatusByNoteID(ctx, act.Object.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return s.queueHomeBoost(ctx, act)
	}
	if err == nil && (!rs.DeletedAt.IsZero() || (rs.Visibility != storage.VisibilityPublic && rs.Visibility != storage.VisibilityUnlisted)) {
		return ignored("boost of a post that is gone or not public"), true, nil
	}
	if err != nil {
		return "", true, err
	}
	prof, err := s.senderProfile(ctx, act.Actor)
	if err != nil {
		return "", true, fmt.Errorf("federation: profile of %s: %w", act.Actor, err)
	}
	now := s.now()
	id := remoteID(now)
	dup, err := s.applyOnce(ctx, act, now, func(q storage.Queries) error {
		if err := q.UpsertRemoteProfile(ctx, prof); err != nil {
			return err
		}
		es := make([]storage.HomeEntry, 0, len(accounts))
		for _, a := range accounts {
			es = append(es, storage.HomeEntry{ID: id, Account: a, RemoteStatusID: rs.ID, ActorID: act.Actor,
				ActivityID: act.ID, Reblog: true, CreatedAt: now})
		}
		_, err = q.InsertHomeEntries(ctx, es)
		return err
	})
	if err != nil || dup {
		return dupOutcome(dup), true, err
	}
	return "boost recorded for the home timeline", true, nil
}

// following serves the following collection as the followers one: its
// size always, pages of actor ids (newest first; cursor: the last
// follow's number) when followers_page_size is above zero.
func (s *Service) following(w http.ResponseWriter, r *http.Request) {
	la := s.account(w, r)
	if la == nil {
		return
	}
	ctx := r.Context()
	id := la.id + "/following"
	total, err := s.store.CountFollows(ctx, la.name, storage.FollowAccepted)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	size := s.set.Federation.FollowersPageSize
	if _, hasPage := r.URL.Query()["page"]; !hasPage || size <= 0 {
		first := ""
		if size > 0 {
			first = id + "?page=true"
		}
		body, err := EncodeOrderedCollection(id, total, first)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		writeAS2(w, body)
		return
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	rows, err := s.store.ListFollows(ctx, storage.StatusPage{Account: la.name, MaxID: before, Limit: size + 1}, storage.FollowAccepted)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		next = id + "?page=true&before=" + strconv.FormatInt(rows[len(rows)-1].ID, 10)
	}
	items := make([]string, len(rows))
	for i, f := range rows {
		items[i] = f.ActorID
	}
	pageID := id + "?page=true"
	if before > 0 {
		pageID += "&before=" + url.QueryEscape(strconv.FormatInt(before, 10))
	}
	body, err := EncodeOrderedCollectionPage(pageID, id, next, total, items)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeAS2(w, body)
}

// RejectFollower refuses a follower (a pending one: a follow request
// refused; an accepted one: removed) and queues the Reject of its
// Follow. Without such a follower it does nothing (answering twice is
// harmless).
func (s *Service) RejectFollower(ctx context.Context, username, actorID string) error {
	la := s.accounts[strings.ToLower(username)]
	if la == nil {
		return ErrNotOurAccount
	}
	var sent bool
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		f, err := q.GetFollower(ctx, la.name, actorID)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := q.DeleteFollower(ctx, la.name, actorID); err != nil {
			return err
		}
		body, err := marshalJSON(activityJSON{Context: asContext, ID: la.id + "#rejects/follows/" + shortHash(f.FollowActivityID),
			Type: "Reject", Actor: la.id, To: actorID,
			Object: activityJSON{ID: f.FollowActivityID, Type: "Follow", Actor: actorID, Object: la.id}})
		if err != nil {
			return err
		}
		sent = true
		return s.Enqueue(ctx, q, Outgoing{Account: la.name, Activity: body, Inboxes: []string{f.Inbox}, Ref: "reject:" + shortHash(f.FollowActivityID)})
	})
	if err != nil {
		return fmt.Errorf("federation: reject %s: %w", actorID, err)
	}
	if sent {
		s.Nudge()
	}
	return nil
}
