package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/storage"
)

// Polls of our statuses (issue 19): a status with a poll is a Question
// (Mastodon's form: oneOf or anyOf options, each a Note with its name and
// a replies collection whose totalItems is its votes; endTime,
// votersCount, closed once closed). Remote votes (inbound_vote.go) are
// told to the followers' servers by one Update of the Question per
// federation.poll_results_delay (a job keyed by the poll and the time
// window, so all the votes of a window share it), and the poll ends with
// a job due at its endTime: the final Update and the account's "poll"
// notification. Both jobs are durable: a restart loses neither.

// Job kinds of the polls' pool.
const (
	JobPollResults = "poll.results"
	JobPollClose   = "poll.close"
)

// DefaultPollResultsDelay gathers the votes of a minute into one Update.
const DefaultPollResultsDelay = time.Minute

// NotePoll is the poll of a Note (which then is a Question).
type NotePoll struct {
	Options  []storage.PollOption // Votes are zero while totals are hidden
	Multiple bool
	EndTime  time.Time
	Closed   time.Time // zero while open
	// VotersCount is nil while the totals are hidden.
	VotersCount *int64
}

// pollOf is the NotePoll of a stored poll at now: totals hidden while a
// hide_totals poll is open, closed once ended.
func pollOf(p storage.Poll, now time.Time) *NotePoll {
	np := &NotePoll{Multiple: p.Multiple, EndTime: p.ExpiresAt, Closed: p.ClosedAt}
	if np.Closed.IsZero() && !now.Before(p.ExpiresAt) {
		np.Closed = p.ExpiresAt
	}
	hidden := p.HideTotals && np.Closed.IsZero()
	for _, o := range p.Options {
		if hidden {
			o.Votes = 0
		}
		np.Options = append(np.Options, o)
	}
	if !hidden {
		v := p.VotersCount
		np.VotersCount = &v
	}
	return np
}

// applyPoll makes n a Question when status id has a poll.
func (s *Service) applyPoll(ctx context.Context, q storage.Queries, n *Note, id int64) error {
	p, err := q.GetPoll(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	n.Poll = pollOf(p, s.now())
	return nil
}

// questionContext is the @context of a Question and what carries it:
// the Note's, and votersCount.
var questionContext = append(append([]any{}, noteContext...), map[string]any{"votersCount": "toot:votersCount"})

func contextOf(n Note) []any {
	if n.Poll != nil {
		return questionContext
	}
	return noteContext
}

// pollOptionJSON is one option of a Question.
type pollOptionJSON struct {
	Type    string          `json:"type"`
	Name    string          `json:"name"`
	Replies pollRepliesJSON `json:"replies"`
}

type pollRepliesJSON struct {
	Type       string `json:"type"`
	TotalItems int64  `json:"totalItems"`
}

// pollFields sets the Question's properties of d.
func pollFields(d *noteJSON, p *NotePoll) {
	d.Type = "Question"
	opts := make([]pollOptionJSON, 0, len(p.Options))
	for _, o := range p.Options {
		opts = append(opts, pollOptionJSON{Type: "Note", Name: o.Title, Replies: pollRepliesJSON{Type: "Collection", TotalItems: o.Votes}})
	}
	if p.Multiple {
		d.AnyOf = opts
	} else {
		d.OneOf = opts
	}
	d.EndTime = timeJSON(p.EndTime)
	if !p.Closed.IsZero() {
		d.Closed = timeJSON(p.Closed)
	}
	d.VotersCount = p.VotersCount
}

// EncodePollUpdate builds the Update of a Question that tells its new
// results (or, closed, its final ones) at `at`. It is not an edit: the
// Question has no new updated time.
func EncodePollUpdate(n Note, at time.Time) ([]byte, error) {
	a := activityJSON{Context: contextOf(n), ID: n.ID + "#updates/poll/" + strconv.FormatInt(at.UnixMicro(), 10),
		Type: "Update", Actor: n.AttributedTo, Published: timeJSON(at),
		To: orEmptyStrings(n.To), Cc: orEmptyStrings(n.Cc), Object: noteDoc(n)}
	return marshalJSON(a)
}

type pollJobPayload struct {
	Status int64 `json:"status"`
}

func (s *Service) pollResultsDelay() time.Duration {
	if d := s.set.Federation.PollResultsDelay.Duration(); d > 0 {
		return d
	}
	return DefaultPollResultsDelay
}

// QueuePollClose queues, in q, the end of the poll of status id at `at`.
func (s *Service) QueuePollClose(ctx context.Context, q storage.Queries, id int64, at time.Time) error {
	payload, _ := json.Marshal(pollJobPayload{Status: id})
	_, err := q.EnqueueJob(ctx, storage.NewJob{Kind: JobPollClose, Payload: payload, RunAt: at,
		Key: "poll.close:" + strconv.FormatInt(id, 10), Ref: pollRef(id)})
	return err
}

// queuePollResults queues, in q, the Update telling the results of the
// poll of status id after a vote at `at`: one job per poll and time
// window, due at the window's end, shared by all the window's votes.
func (s *Service) queuePollResults(ctx context.Context, q storage.Queries, id int64, at time.Time) error {
	delay := s.pollResultsDelay()
	window := at.UnixNano() / int64(delay)
	payload, _ := json.Marshal(pollJobPayload{Status: id})
	_, err := q.EnqueueJob(ctx, storage.NewJob{Kind: JobPollResults, Payload: payload,
		RunAt: time.Unix(0, (window+1)*int64(delay)),
		Key:   "poll.results:" + strconv.FormatInt(id, 10) + ":" + strconv.FormatInt(window, 10),
		Ref:   pollRef(id)})
	return err
}

// pollRef groups the poll jobs of status id (not "status:ID", which
// counts the status's deliveries: DeliveryStats).
func pollRef(id int64) string { return "poll:" + strconv.FormatInt(id, 10) }

// RegisterPolls adds the polls' pool to r: the results Updates and the
// ends of polls, one at a time.
func (s *Service) RegisterPolls(r *jobs.Runner) error {
	err := r.Register(jobs.Pool{
		Kinds:     []string{JobPollResults, JobPollClose},
		Handle:    s.handlePollJob,
		Workers:   1,
		Lease:     time.Minute,
		Backoff:   jobs.Backoff{Base: 10 * time.Second, Max: 10 * time.Minute, MaxAttempts: 20},
		PollEvery: time.Second,
		Now:       func() time.Time { return s.now() },
	})
	if err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	return nil
}

func (s *Service) handlePollJob(ctx context.Context, j *jobs.Job) error {
	var p pollJobPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Status == 0 {
		return jobs.Permanent(fmt.Errorf("undecodable payload: %q", j.Payload))
	}
	var err error
	var outcome string
	if j.Kind == JobPollClose {
		outcome, err = s.closePoll(ctx, p.Status)
	} else {
		outcome, err = s.sendPollResults(ctx, p.Status)
	}
	if err != nil {
		return fmt.Errorf("poll of status %d: %w", p.Status, err)
	}
	s.log.Info().Int64("job", j.ID).Str("kind", j.Kind).Int64("status", p.Status).Str("outcome", outcome).Msg("poll job")
	return nil
}

// pollAudience is the status and its Question, and the inboxes of its
// voters we know (they hear of the results even when they do not
// follow).
func (s *Service) pollAudience(ctx context.Context, id int64) (storage.Status, []string, error) {
	st, err := s.store.GetStatus(ctx, id)
	if err != nil {
		return storage.Status{}, nil, err
	}
	voters, err := s.store.ListPollVoters(ctx, id)
	if err != nil {
		return storage.Status{}, nil, err
	}
	var inboxes []string
	for _, v := range voters {
		ra, err := s.store.GetRemoteActor(ctx, v)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return storage.Status{}, nil, err
		}
		if ra.SharedInbox != "" {
			inboxes = append(inboxes, ra.SharedInbox)
		} else if ra.Inbox != "" {
			inboxes = append(inboxes, ra.Inbox)
		}
	}
	return st, inboxes, nil
}

// queuePollUpdate queues, in q, the Update of status st's Question.
func (s *Service) queuePollUpdate(ctx context.Context, q storage.Queries, st storage.Status, inboxes []string, ref string) error {
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
	if err := s.applyPoll(ctx, q, &n, st.ID); err != nil {
		return err
	}
	if n.Poll == nil {
		return nil
	}
	body, err := EncodePollUpdate(n, s.now())
	if err != nil {
		return err
	}
	followers := st.Visibility != storage.VisibilityDirect
	for _, m := range st.Mentions {
		if m.Inbox != "" {
			inboxes = append(inboxes, m.Inbox)
		}
	}
	return s.Enqueue(ctx, q, Outgoing{Account: st.Account, Activity: body, Followers: followers, Inboxes: inboxes, Ref: ref})
}

// sendPollResults sends the Update of a poll's results, unless the poll
// ended (its end sends the final ones) or hides its totals.
func (s *Service) sendPollResults(ctx context.Context, id int64) (string, error) {
	st, inboxes, err := s.pollAudience(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return "no such status", nil
	}
	if err != nil {
		return "", err
	}
	if !st.DeletedAt.IsZero() {
		return "status deleted", nil
	}
	outcome := "results sent"
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		p, err := q.GetPoll(ctx, id)
		if err != nil {
			return err
		}
		if !p.ClosedAt.IsZero() || !s.now().Before(p.ExpiresAt) {
			outcome = "poll ended: its end sends the results"
			return nil
		}
		if p.HideTotals {
			outcome = "totals hidden until the end"
			return nil
		}
		return s.queuePollUpdate(ctx, q, st, inboxes, "status:"+strconv.FormatInt(id, 10)+":poll:"+strconv.FormatInt(s.now().UnixMicro(), 10))
	})
	if errors.Is(err, storage.ErrNotFound) {
		return "no poll", nil
	}
	if err != nil {
		return "", err
	}
	s.Nudge()
	return outcome, nil
}

// closePoll ends a poll: closed, its final results sent, and its
// account notified ("poll", as Mastodon tells the author).
func (s *Service) closePoll(ctx context.Context, id int64) (string, error) {
	st, inboxes, err := s.pollAudience(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return "no such status", nil
	}
	if err != nil {
		return "", err
	}
	la := s.accounts[st.Account]
	now := s.now()
	outcome := "closed"
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		closed, err := q.ClosePoll(ctx, id, now)
		if err != nil || !closed {
			outcome = "already closed"
			return err
		}
		if !st.DeletedAt.IsZero() || la == nil {
			outcome = "closed (status deleted)"
			return nil
		}
		if err := s.queuePollUpdate(ctx, q, st, inboxes, "status:"+strconv.FormatInt(id, 10)+":poll:closed"); err != nil {
			return err
		}
		n := storage.Notification{Account: la.name, Type: storage.NotificationPoll,
			ActivityID: s.links.Note(la.name, id) + "#poll", ActorID: la.id, ActorDomain: hostport.URLKey(la.id),
			StatusID: id, GroupKey: "poll-" + strconv.FormatInt(id, 10), CreatedAt: now}
		nid, created, err := q.InsertNotification(ctx, n)
		if err != nil || !created {
			return err
		}
		n.ID = nid
		return s.notified(ctx, q, n)
	})
	if err != nil {
		return "", err
	}
	s.Nudge()
	return outcome, nil
}
