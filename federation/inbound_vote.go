package federation

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/passerelle/passerelle/storage"
)

// Remote votes in our polls (issue 19): Mastodon's form, a Create of a
// Note whose name is the chosen option and whose inReplyTo is our
// Question, without content (one Create per option of a multiple-choice
// poll). A vote is counted once per actor (per actor and option in a
// multiple-choice poll), refused for an ended poll, an unknown option,
// or an actor the account blocked (the domains refused everywhere never
// get this far: guard.go). It is never a reply nor a mention: nothing is
// shown or notified. The counted vote queues the results' Update
// (polls.go).

// maxVoteName bounds a post's name kept by the decoder.
const maxVoteName = 1000

// looksLikeVote reports a Create of a Note with a name, no content, in
// reply to one of our posts: a vote when that post has a poll.
func (s *Service) looksLikeVote(act Activity) bool {
	n := act.Note
	if act.Type != "Create" || n == nil || n.Type != "Note" || n.Name == "" || n.InReplyTo == "" ||
		strings.TrimSpace(n.ContentHTML) != "" {
		return false
	}
	_, _, ours := s.ourStatusIRI(n.InReplyTo)
	return ours
}

// applyVote counts a vote; a post without a poll is taken as any other
// Create.
func (s *Service) applyVote(ctx context.Context, act Activity) (string, error) {
	if err := checkNote(act); err != nil {
		return "", err
	}
	n := act.Note
	la, st, reason, err := s.ourLiveStatus(ctx, s.store, n.InReplyTo)
	if err != nil {
		return "", err
	}
	if la == nil {
		return ignored("vote for a post we cannot find: " + reason), nil
	}
	poll, err := s.store.GetPoll(ctx, st.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return s.applyCreateNote(ctx, act) // a named reply to a post without a poll
	}
	if err != nil {
		return "", err
	}
	blocked, err := s.blocks(ctx, s.store, la, act.Actor)
	if err != nil {
		return "", err
	}
	if blocked {
		return "", refuse(http.StatusForbidden, "blocked", nil)
	}
	now := s.now()
	if !poll.ClosedAt.IsZero() || !now.Before(poll.ExpiresAt) {
		return "", refuse(http.StatusUnprocessableEntity, "the poll has ended", nil)
	}
	choice := slices.IndexFunc(poll.Options, func(o storage.PollOption) bool { return o.Title == n.Name })
	if choice < 0 {
		return "", refuse(http.StatusUnprocessableEntity, "no such option in the poll", nil)
	}
	if st.Visibility == storage.VisibilityPrivate || st.Visibility == storage.VisibilityDirect {
		facts, err := s.interactionFacts(ctx, s.store, la, st, act.Actor)
		if err != nil {
			return "", err
		}
		if !facts.Follower && !facts.Mentioned {
			return "", refuse(http.StatusForbidden, "the poll is not visible to the voter", nil)
		}
	}
	outcome := "vote counted"
	dup, err := s.applyOnce(ctx, act, now, func(q storage.Queries) error {
		counted, err := q.InsertPollVote(ctx, storage.PollVote{StatusID: st.ID, ActorID: act.Actor, Choice: choice,
			ActivityID: n.ID, CreatedAt: now})
		if err != nil {
			return err
		}
		if !counted {
			outcome = ignored("the actor already voted")
			return nil
		}
		if poll.HideTotals {
			return nil // the end sends them
		}
		return s.queuePollResults(ctx, q, st.ID, now) // polls.go
	})
	if err != nil || dup {
		return dupOutcome(dup), err
	}
	return outcome, nil
}
