package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// Polls (issue 19): poll[options][], poll[expires_in], poll[multiple] and
// poll[hide_totals] on POST /api/v1/statuses (form or JSON), the Poll
// entity in statuses and at GET /api/v1/polls/:id. Our accounts cannot
// vote in their own polls (as on Mastodon): POST /api/v1/polls/:id/votes
// answers 422.

// Poll is Mastodon's Poll entity.
type Poll struct {
	ID          string       `json:"id"`
	ExpiresAt   *string      `json:"expires_at"`
	Expired     bool         `json:"expired"`
	Multiple    bool         `json:"multiple"`
	VotesCount  *int64       `json:"votes_count"`
	VotersCount *int64       `json:"voters_count"`
	Options     []PollOption `json:"options"`
	Emojis      []any        `json:"emojis"`
	Voted       bool         `json:"voted"`
	OwnVotes    []int        `json:"own_votes"`
}

// PollOption is one option of a Poll; votes_count is null while the
// totals are hidden.
type PollOption struct {
	Title      string `json:"title"`
	VotesCount *int64 `json:"votes_count"`
}

// pollEntity renders p at now: the totals are null while a hide_totals
// poll runs.
func pollEntity(p storage.Poll, now time.Time) *Poll {
	expired := !p.ClosedAt.IsZero() || !now.Before(p.ExpiresAt)
	at := timeString(p.ExpiresAt)
	out := &Poll{ID: idString(p.StatusID), ExpiresAt: &at, Expired: expired, Multiple: p.Multiple,
		Options: []PollOption{}, Emojis: []any{}, OwnVotes: []int{}}
	hidden := p.HideTotals && !expired
	voters := p.VotersCount
	votes := p.VotesCount()
	if !hidden {
		out.VotesCount = &votes
	}
	if !hidden {
		out.VotersCount = &voters
	}
	for _, o := range p.Options {
		e := PollOption{Title: o.Title}
		if !hidden {
			v := o.Votes
			e.VotesCount = &v
		}
		out.Options = append(out.Options, e)
	}
	return out
}

// statusPoll is the Poll entity of status id, nil when it has none.
func (s *Server) statusPoll(ctx context.Context, id int64) (*Poll, error) {
	p, err := s.store.GetPoll(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return pollEntity(p, time.Now()), nil
}

// pollDraft reads the poll parameters; nil when none were given.
func pollDraft(p *params) (*publish.PollDraft, error) {
	if !p.has("poll") {
		return nil, nil
	}
	d := &publish.PollDraft{}
	var expires, multiple, hide string
	if raw, ok := p.json["poll"]; ok {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil, unprocessable("Validation failed: poll must be an object")
		}
		var opts []json.RawMessage
		if json.Unmarshal(m["options"], &opts) != nil {
			return nil, unprocessable("Validation failed: poll options must be a list")
		}
		for _, o := range opts {
			v, ok := jsonScalar(o)
			if !ok {
				return nil, unprocessable("Validation failed: poll options must be strings")
			}
			d.Options = append(d.Options, v)
		}
		expires, _ = jsonScalar(m["expires_in"])
		multiple, _ = jsonScalar(m["multiple"])
		hide, _ = jsonScalar(m["hide_totals"])
	} else {
		d.Options, _ = p.list("poll[options]")
		expires, multiple, hide = p.str("poll[expires_in]"), p.str("poll[multiple]"), p.str("poll[hide_totals]")
	}
	n, err := strconv.Atoi(expires)
	if err != nil {
		return nil, unprocessable("Validation failed: poll expires_in must be a number of seconds")
	}
	d.ExpiresIn, d.Multiple, d.HideTotals = n, boolParam(multiple), boolParam(hide)
	return d, nil
}

// pollLimits are the instance's configuration.polls.
func (s *Server) pollLimits() map[string]any {
	l := s.pub.Limits().Polls
	return map[string]any{
		"max_options": l.MaxOptions, "max_characters_per_option": l.MaxCharacters,
		"min_expiration": int(l.MinExpiration.Seconds()), "max_expiration": int(l.MaxExpiration.Seconds()),
	}
}

// getPoll serves GET /api/v1/polls/:id: the poll of one of the caller's
// statuses (its id is the status's).
func (s *Server) getPoll(w http.ResponseWriter, r *http.Request, c *caller) {
	id, ok := parseID(r.PathValue("id"))
	if ok {
		st, err := s.store.GetStatus(r.Context(), id)
		ok = err == nil && st.Account == c.name && st.DeletedAt.IsZero()
	}
	var p *Poll
	if ok {
		var err error
		if p, err = s.statusPoll(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if p == nil {
		s.fail(w, r, errNotFound)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// votePoll answers POST /api/v1/polls/:id/votes: an account cannot vote
// in its own poll, and our accounts only have their own.
func (s *Server) votePoll(w http.ResponseWriter, r *http.Request, _ *caller) {
	s.fail(w, r, unprocessable("Validation failed: You cannot vote in your own poll"))
}
