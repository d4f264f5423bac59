package publish

import (
	"context"
	"strings"
	"time"

	"github.com/passerelle/passerelle/render"
	"github.com/passerelle/passerelle/storage"
)

// PollLimits bound the polls of statuses (config posts.polls); zero
// values take Mastodon's defaults.
type PollLimits struct {
	MaxOptions    int // 4
	MaxCharacters int // per option: 50
	MinExpiration time.Duration
	MaxExpiration time.Duration
}

// Mastodon's poll limits.
const (
	DefaultPollMaxOptions    = 4
	DefaultPollMaxCharacters = 50
	DefaultPollMinExpiration = 5 * time.Minute
	DefaultPollMaxExpiration = 2629746 * time.Second
)

func (l PollLimits) withDefaults() PollLimits {
	if l.MaxOptions <= 0 {
		l.MaxOptions = DefaultPollMaxOptions
	}
	if l.MaxCharacters <= 0 {
		l.MaxCharacters = DefaultPollMaxCharacters
	}
	if l.MinExpiration <= 0 {
		l.MinExpiration = DefaultPollMinExpiration
	}
	if l.MaxExpiration <= 0 {
		l.MaxExpiration = DefaultPollMaxExpiration
	}
	return l
}

// PollDraft is the poll of a draft (Mastodon's poll[...] parameters).
type PollDraft struct {
	Options    []string
	ExpiresIn  int // seconds
	Multiple   bool
	HideTotals bool
}

// validatePoll checks d's poll against the limits (Mastodon's messages).
func (s *Service) validatePoll(d *Draft) error {
	p := d.Poll
	if p == nil {
		return nil
	}
	if len(d.MediaIDs) > 0 {
		return invalid("Validation failed: Cannot attach both a poll and media")
	}
	l := s.set.Polls
	opts := make([]string, 0, len(p.Options))
	seen := map[string]bool{}
	for _, o := range p.Options {
		o = strings.TrimSpace(o)
		if o == "" {
			return invalid("Validation failed: Poll options must not be blank")
		}
		if n := render.CountCharacters(o); n > l.MaxCharacters {
			return invalid("Validation failed: Poll options must not be longer than %d characters", l.MaxCharacters)
		}
		if seen[o] {
			return invalid("Validation failed: Poll options contain duplicate items")
		}
		seen[o] = true
		opts = append(opts, o)
	}
	if len(opts) < 2 {
		return invalid("Validation failed: Poll must have at least 2 options")
	}
	if len(opts) > l.MaxOptions {
		return invalid("Validation failed: Poll can't have more than %d options", l.MaxOptions)
	}
	in := time.Duration(p.ExpiresIn) * time.Second
	if p.ExpiresIn <= 0 || in < l.MinExpiration {
		return invalid("Validation failed: Poll duration is too short (at least %d seconds)", int(l.MinExpiration.Seconds()))
	}
	if in > l.MaxExpiration {
		return invalid("Validation failed: Poll duration is too long (at most %d seconds)", int(l.MaxExpiration.Seconds()))
	}
	p.Options = opts
	return nil
}

// insertPoll stores the poll of the new status st and queues its end, in
// q (the status's transaction).
func (s *Service) insertPoll(ctx context.Context, q storage.Queries, st storage.Status, p *PollDraft) error {
	if p == nil {
		return nil
	}
	poll := storage.Poll{StatusID: st.ID, Account: st.Account, Multiple: p.Multiple, HideTotals: p.HideTotals,
		ExpiresAt: st.CreatedAt.Add(time.Duration(p.ExpiresIn) * time.Second), CreatedAt: st.CreatedAt}
	for _, o := range p.Options {
		poll.Options = append(poll.Options, storage.PollOption{Title: o})
	}
	if err := q.InsertPoll(ctx, poll); err != nil {
		return err
	}
	return s.fed.QueuePollClose(ctx, q, st.ID, poll.ExpiresAt)
}
