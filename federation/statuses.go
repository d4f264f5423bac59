package federation

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// What tells the fediverse about our statuses: publish calls one of these
// in the transaction that changes a status, and the durable fan-out
// (fanout.go) does the rest.

// Status changes QueueStatus sends.
const (
	StatusCreated = "Create"
	StatusEdited  = "Update"
	StatusDeleted = "Delete"
)

// QueueStatus queues, in q (the caller's transaction), the activity that
// tells every follower's server and the mentioned actors about change
// (StatusCreated, StatusEdited or StatusDeleted) of our status st: the
// Create or Update of its Note, with its media and interaction policy, or
// its Delete. Its deliveries are counted under "status:ID" (DeliveryStats).
// Call Nudge after the transaction commits.
func (s *Service) QueueStatus(ctx context.Context, q storage.Queries, change string, st storage.Status) error {
	ref := "status:" + strconv.FormatInt(st.ID, 10)
	var n Note
	var err error
	switch change {
	case StatusCreated, StatusEdited:
		media, err := q.ListStatusMedia(ctx, st.ID)
		if err != nil {
			return err
		}
		if n, err = s.NoteFromStatus(st, media); err != nil {
			return err
		}
		if err := s.ApplyStatusPolicy(ctx, q, &n, st.ID); err != nil {
			return err
		}
		if err := s.applyPoll(ctx, q, &n, st.ID); err != nil { // polls.go
			return err
		}
		if change == StatusEdited {
			ref += ":update:" + strconv.FormatInt(st.EditedAt.UnixMicro(), 10)
		}
	case StatusDeleted:
		if n, err = s.NoteFromStatus(st, nil); err != nil {
			return err
		}
		ref += ":delete"
	default:
		return fmt.Errorf("federation: queue status %d: unknown change %q", st.ID, change)
	}
	var body []byte
	if change == StatusDeleted {
		body, err = EncodeDelete(n)
	} else {
		body, err = EncodeNoteActivity(change, n)
	}
	if err != nil {
		return err
	}
	var inboxes []string
	for _, m := range st.Mentions {
		if m.Inbox != "" {
			inboxes = append(inboxes, m.Inbox)
		}
	}
	// A direct status goes to the mentioned alone.
	followers := st.Visibility != storage.VisibilityDirect
	return s.Enqueue(ctx, q, Outgoing{Account: st.Account, Activity: body, Followers: followers, Inboxes: inboxes, Ref: ref})
}

// QueuePolicyUpdate queues, in q, an Update of our status st's Note that
// carries its interaction policy as it now is (crisis mode changed it):
// the Note is as before (its "updated" stays the last edit's, it was not
// edited); the activity's id is new at each change (at), so that servers
// do not take it for one they already processed. Its deliveries are
// counted under "status:ID:policy:…".
func (s *Service) QueuePolicyUpdate(ctx context.Context, q storage.Queries, st storage.Status, at time.Time) error {
	media, err := q.ListStatusMedia(ctx, st.ID)
	if err != nil {
		return err
	}
	n, err := s.NoteFromStatus(st, media)
	if err != nil {
		return err
	}
	if err := s.ApplyStatusPolicy(ctx, q, &n, st.ID); err != nil {
		return err
	}
	if err := s.applyPoll(ctx, q, &n, st.ID); err != nil { // polls.go
		return err
	}
	body, err := EncodePolicyUpdate(n, at)
	if err != nil {
		return err
	}
	var inboxes []string
	for _, m := range st.Mentions {
		if m.Inbox != "" {
			inboxes = append(inboxes, m.Inbox)
		}
	}
	ref := fmt.Sprintf("status:%d:policy:%d", st.ID, at.UnixMicro())
	return s.Enqueue(ctx, q, Outgoing{Account: st.Account, Activity: body, Followers: st.Visibility != storage.VisibilityDirect, Inboxes: inboxes, Ref: ref})
}

// QueuePin queues, in q, the Add (pinned) or Remove of our status st to
// or from its account's featured collection, which Mastodon reads, and an
// Update of the actor: GoToSocial ignores Add and Remove and reads
// featured when it fetches the actor, which it does on an Update.
func (s *Service) QueuePin(ctx context.Context, q storage.Queries, st storage.Status, pinned bool) error {
	typ := "Add"
	if !pinned {
		typ = "Remove"
	}
	body, err := EncodeFeaturedChange(typ, s.links.Actor(st.Account), s.links.Featured(st.Account), s.links.Note(st.Account, st.ID))
	if err != nil {
		return err
	}
	err = s.Enqueue(ctx, q, Outgoing{Account: st.Account, Activity: body, Followers: true,
		Ref: fmt.Sprintf("status:%d:%s", st.ID, strings.ToLower(typ))})
	if err != nil {
		return err
	}
	return s.EnqueueActorUpdate(ctx, q, st.Account)
}
