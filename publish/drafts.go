package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// Contributors' drafts (issue 17): a contributor's post is validated and
// stored as a team draft; an editor or admin of the account approves it
// (published through Create, the draft marked approved in the status's
// own transaction) or rejects it. Who may decide is the callers' check
// (package admin, package api): here, a draft is only ever decided
// through its own account.

// ErrDraftDecided: the draft was already rejected (approving it) or
// approved (rejecting it).
var ErrDraftDecided = errors.New("publish: the draft was already decided")

// draftPayload is a team draft's storage.TeamDraft.Payload.
type draftPayload struct {
	Draft Draft `json:"draft"`
}

// SubmitDraft validates a contributor's draft (d.By names them) and
// stores it to wait for approval; nothing is published. at, when not
// zero, is when it is to be published once approved.
func (s *Service) SubmitDraft(ctx context.Context, account string, d Draft, at time.Time) (storage.TeamDraft, error) {
	if d.By == nil || d.By.MemberID == 0 {
		return storage.TeamDraft{}, fmt.Errorf("publish: submit draft: no contributor")
	}
	if !at.IsZero() && at.Before(s.now().Add(MinScheduleDelay)) {
		return storage.TeamDraft{}, invalid("Validation failed: Scheduled at must be at least 5 minutes in the future")
	}
	if err := s.validate(ctx, s.store, account, &d, 0); err != nil {
		return storage.TeamDraft{}, err
	}
	d.IdempotencyKey = "" // an approval publishes it once (the draft's state)
	payload, err := json.Marshal(draftPayload{Draft: d})
	if err != nil {
		return storage.TeamDraft{}, err
	}
	td := storage.TeamDraft{Account: account, MemberID: d.By.MemberID, AppID: d.By.AppID, TokenID: d.By.TokenID,
		Payload: string(payload), Text: d.Text, ScheduledAt: at.UTC(), State: storage.DraftPending, CreatedAt: s.now().UTC()}
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		var err error
		if td.ID, err = q.InsertTeamDraft(ctx, td); err != nil {
			return err
		}
		if s.set.Drafts != nil {
			return s.set.Drafts.DraftSubmitted(ctx, q, td) // the editors' pushes, with the draft or not at all
		}
		return nil
	})
	if err != nil {
		return storage.TeamDraft{}, fmt.Errorf("publish: submit draft: %w", err)
	}
	reqlog.Logger(ctx, s.log).Info().Str("account", account).Int64("draft", td.ID).Int64("member", td.MemberID).Msg("draft waits for approval")
	return td, nil
}

// DraftOf decodes what a team draft would publish.
func DraftOf(td storage.TeamDraft) (Draft, error) {
	var p draftPayload
	if err := json.Unmarshal([]byte(td.Payload), &p); err != nil {
		return Draft{}, fmt.Errorf("publish: draft %d: undecodable payload: %w", td.ID, err)
	}
	return p.Draft, nil
}

// teamDraft loads a draft of account.
func (s *Service) teamDraft(ctx context.Context, account string, id int64) (storage.TeamDraft, error) {
	td, err := s.store.GetTeamDraft(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && td.Account != account) {
		return storage.TeamDraft{}, ErrNotFound
	}
	return td, err
}

// Approval is what approving a draft did: published Status, or, for a
// draft whose time is still ahead, scheduled it for ScheduledAt (Scheduled
// is the scheduled status's id, as GET /api/v1/scheduled_statuses lists
// it; 0 when approving an approved draft again).
type Approval struct {
	Status      storage.Status
	Scheduled   int64
	ScheduledAt time.Time
}

// ApproveDraft publishes a pending draft of account, approved by the
// member approver: the status, its attribution (the contributor and
// their app) and the draft's approval are one transaction. A draft whose
// time (scheduled_at) is at least MinScheduleDelay ahead is scheduled
// instead, the approval and the scheduled status in one transaction, and
// is published at its time by the scheduler, attributed to the
// contributor; one whose time has come or is too close is published at
// once. Approving an approved draft returns what its approval did and
// changes nothing; approving a rejected one is ErrDraftDecided.
func (s *Service) ApproveDraft(ctx context.Context, account string, id, approver int64) (Approval, error) {
	td, err := s.teamDraft(ctx, account, id)
	if err != nil {
		return Approval{}, err
	}
	switch td.State {
	case storage.DraftApproved:
		return s.approval(ctx, td)
	case storage.DraftRejected:
		return Approval{}, ErrDraftDecided
	}
	d, err := DraftOf(td)
	if err != nil {
		return Approval{}, err
	}
	d.IdempotencyKey = ""
	dec := storage.DraftDecision{DraftID: td.ID, Account: account, State: storage.DraftApproved, By: approver, At: s.now().UTC()}
	if !td.ScheduledAt.IsZero() && !td.ScheduledAt.Before(s.now().Add(MinScheduleDelay)) {
		var sc Scheduled
		err := s.store.InTx(ctx, func(q storage.Queries) error {
			if err := q.DecideTeamDraft(ctx, dec); err != nil {
				return err
			}
			var err error
			sc, err = s.schedule(ctx, q, account, d, td.ScheduledAt, draftJobKey(td))
			return err
		})
		if errors.Is(err, storage.ErrNotFound) {
			return s.decidedMeanwhile(ctx, account, id)
		}
		if err != nil {
			return Approval{}, err
		}
		return Approval{Scheduled: sc.ID, ScheduledAt: sc.ScheduledAt}, nil
	}
	d.approves = &dec
	st, err := s.Create(ctx, account, d)
	if errors.Is(err, storage.ErrNotFound) {
		return s.decidedMeanwhile(ctx, account, id)
	}
	return Approval{Status: st}, err
}

// decidedMeanwhile is the answer to approving a draft someone else
// decided meanwhile: nothing was published here.
func (s *Service) decidedMeanwhile(ctx context.Context, account string, id int64) (Approval, error) {
	if td, err := s.teamDraft(ctx, account, id); err == nil && td.State == storage.DraftApproved {
		return s.approval(ctx, td)
	}
	return Approval{}, ErrDraftDecided
}

// approval is what the approval of an approved draft did.
func (s *Service) approval(ctx context.Context, td storage.TeamDraft) (Approval, error) {
	if td.StatusID != 0 {
		st, err := s.store.GetStatus(ctx, td.StatusID)
		return Approval{Status: st}, err
	}
	return Approval{ScheduledAt: td.ScheduledAt}, nil
}

// draftJobKey is the key of an approved draft's scheduled status.
func draftJobKey(td storage.TeamDraft) string {
	return "draft:" + td.Account + ":" + strconv.FormatInt(td.ID, 10)
}

// RejectDraft rejects a pending draft of account, with an optional reason
// shown to the contributor. Rejecting a rejected draft changes nothing;
// rejecting an approved one is ErrDraftDecided.
func (s *Service) RejectDraft(ctx context.Context, account string, id, by int64, reason string) error {
	if _, err := s.teamDraft(ctx, account, id); err != nil {
		return err
	}
	err := s.store.DecideTeamDraft(ctx, storage.DraftDecision{DraftID: id, Account: account, State: storage.DraftRejected,
		By: by, Reason: reason, At: s.now().UTC()})
	if errors.Is(err, storage.ErrNotFound) {
		if td, err2 := s.teamDraft(ctx, account, id); err2 == nil && td.State == storage.DraftRejected {
			return nil
		}
		return ErrDraftDecided
	}
	if err != nil {
		return fmt.Errorf("publish: reject draft: %w", err)
	}
	return nil
}
