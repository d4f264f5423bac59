package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file keeps the contributors' drafts that wait for an editor's
// approval (package publish submits, approves and rejects them; the
// console lists them), and who of the team is told of them.

// Team draft states.
const (
	DraftPending  = "pending"
	DraftApproved = "approved"
	DraftRejected = "rejected"
)

// TeamDraft is a contributor's post waiting for approval, or approved or
// rejected.
type TeamDraft struct {
	ID       int64
	Account  string
	MemberID int64  // the contributor
	Email    string // the contributor's email, filled by reads ("" once removed)
	AppID    int64  // the app it came from (0: the console)
	TokenID  int64
	// Payload is what to publish (package publish's encoding, opaque
	// here); Text is the post's text, for lists.
	Payload     string
	Text        string
	ScheduledAt time.Time // zero: published at once when approved
	State       string    // Draft*
	Reason      string    // why it was rejected ("" when none given)
	DecidedBy   int64     // the member who approved or rejected it
	DecidedAt   time.Time
	StatusID    int64 // the status published on approval
	CreatedAt   time.Time
}

// TeamDraftQuery selects drafts, newest first.
type TeamDraftQuery struct {
	Accounts []string // drafts of these accounts (none: no draft)
	MemberID int64    // only this contributor's (0: anyone's)
	State    string   // only in this state ("": any)
	Limit    int      // at most (0 or over 500: 500)
}

// DraftDecision approves or rejects a pending draft.
type DraftDecision struct {
	DraftID  int64
	Account  string // the draft must be of this account
	State    string // DraftApproved or DraftRejected
	By       int64  // the deciding member
	Reason   string
	StatusID int64 // the published status (approval)
	At       time.Time
}

// TeamDrafts is the storage of contributors' drafts.
type TeamDrafts interface {
	// InsertTeamDraft stores a pending draft and returns its id.
	InsertTeamDraft(ctx context.Context, d TeamDraft) (int64, error)
	// GetTeamDraft returns a draft (ErrNotFound).
	GetTeamDraft(ctx context.Context, id int64) (TeamDraft, error)
	// ListTeamDrafts lists drafts, newest first.
	ListTeamDrafts(ctx context.Context, q TeamDraftQuery) ([]TeamDraft, error)
	// CountPendingTeamDrafts counts the pending drafts of the accounts.
	CountPendingTeamDrafts(ctx context.Context, accounts []string) (int, error)
	// DecideTeamDraft approves or rejects a draft of d.Account that is
	// still pending; ErrNotFound when there is no such pending draft (of
	// concurrent callers, one succeeds).
	DecideTeamDraft(ctx context.Context, d DraftDecision) error
	// ListEditorPushSubscriptions lists the account's Web Push
	// subscriptions whose tokens are live at now and belong to a team
	// member who is an editor or admin of the account, oldest first.
	ListEditorPushSubscriptions(ctx context.Context, account string, now time.Time) ([]PushSubscription, error)
}

const teamDraftColumns = `d.id, d.account, d.member_id, COALESCE(m.email, ''), COALESCE(d.app_id, 0), COALESCE(d.token_id, 0),
	d.payload, d.text, d.scheduled_at, d.state, d.reason, COALESCE(d.decided_by, 0), d.decided_at, COALESCE(d.status_id, 0), d.created_at`

const teamDraftFrom = ` FROM team_drafts d LEFT JOIN team_members m ON m.id = d.member_id`

func scanTeamDraft(s scanner) (TeamDraft, error) {
	var (
		d                  TeamDraft
		scheduled, decided sql.NullInt64
		created            int64
	)
	err := s.Scan(&d.ID, &d.Account, &d.MemberID, &d.Email, &d.AppID, &d.TokenID, &d.Payload, &d.Text, &scheduled,
		&d.State, &d.Reason, &d.DecidedBy, &decided, &d.StatusID, &created)
	d.ScheduledAt, d.DecidedAt = fromMicros(scheduled), fromMicros(decided)
	d.CreatedAt = time.UnixMicro(created).UTC()
	return d, err
}

func (q *queries) InsertTeamDraft(ctx context.Context, d TeamDraft) (int64, error) {
	action := fmt.Sprintf("insert draft of member %d on %q", d.MemberID, d.Account)
	if d.Account == "" || d.MemberID == 0 || d.Payload == "" {
		return 0, q.d.wrap(action, errors.New("a draft needs an account, a member and a payload"))
	}
	id, err := q.insertRow(ctx, "team_drafts",
		`account, member_id, app_id, token_id, payload, text, scheduled_at, state, reason, created_at`, d.ID,
		strings.ToLower(d.Account), d.MemberID, nullID(d.AppID), nullID(d.TokenID), d.Payload, d.Text,
		micros(d.ScheduledAt), DraftPending, "", orNow(d.CreatedAt).UnixMicro())
	if err != nil {
		return 0, q.d.wrap(action, err)
	}
	return id, nil
}

func (q *queries) GetTeamDraft(ctx context.Context, id int64) (TeamDraft, error) {
	d, err := scanTeamDraft(q.r.queryRow(ctx, `SELECT `+teamDraftColumns+teamDraftFrom+` WHERE d.id = ?`, id))
	if err != nil {
		return TeamDraft{}, q.d.wrap(fmt.Sprintf("get draft %d", id), err)
	}
	return d, nil
}

func (q *queries) ListTeamDrafts(ctx context.Context, dq TeamDraftQuery) ([]TeamDraft, error) {
	if len(dq.Accounts) == 0 {
		return nil, nil
	}
	where := []string{`d.account IN (` + placeholders(len(dq.Accounts)) + `)`}
	var args []any
	for _, a := range dq.Accounts {
		args = append(args, strings.ToLower(a))
	}
	if dq.MemberID != 0 {
		where = append(where, `d.member_id = ?`)
		args = append(args, dq.MemberID)
	}
	if dq.State != "" {
		where = append(where, `d.state = ?`)
		args = append(args, dq.State)
	}
	limit := dq.Limit
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	args = append(args, limit)
	out, err := collect(scanTeamDraft)(q.r.query(ctx, `SELECT `+teamDraftColumns+teamDraftFrom+
		` WHERE `+strings.Join(where, " AND ")+` ORDER BY d.id DESC LIMIT ?`, args...))
	if err != nil {
		return nil, q.d.wrap("list drafts", err)
	}
	return out, nil
}

func (q *queries) CountPendingTeamDrafts(ctx context.Context, accounts []string) (int, error) {
	if len(accounts) == 0 {
		return 0, nil
	}
	args := []any{DraftPending}
	for _, a := range accounts {
		args = append(args, strings.ToLower(a))
	}
	var n int
	err := q.r.queryRow(ctx, `SELECT COUNT(*) FROM team_drafts WHERE state = ? AND account IN (`+
		placeholders(len(accounts))+`)`, args...).Scan(&n)
	if err != nil {
		return 0, q.d.wrap("count pending drafts", err)
	}
	return n, nil
}

func (q *queries) DecideTeamDraft(ctx context.Context, d DraftDecision) error {
	action := fmt.Sprintf("decide draft %d (%s)", d.DraftID, d.State)
	if d.State != DraftApproved && d.State != DraftRejected {
		return q.d.wrap(action, fmt.Errorf("state %q: want approved or rejected", d.State))
	}
	n, err := q.w.execN(ctx, `UPDATE team_drafts SET state = ?, decided_by = ?, decided_at = ?, reason = ?, status_id = ?
		WHERE id = ? AND account = ? AND state = ?`,
		d.State, nullID(d.By), orNow(d.At).UnixMicro(), d.Reason, nullID(d.StatusID), d.DraftID, strings.ToLower(d.Account), DraftPending)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(action, err)
	}
	return nil
}

func (q *queries) ListEditorPushSubscriptions(ctx context.Context, account string, now time.Time) ([]PushSubscription, error) {
	out, err := collect(scanPushSubscription)(q.r.query(ctx,
		`SELECT `+prefixed("p.", pushColumns)+` FROM push_subscriptions p
		 JOIN tokens t ON t.id = p.token_id
		 JOIN team_roles r ON r.member_id = t.member_id AND r.account = p.account
		 WHERE p.account = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)
		   AND r.role IN (?, ?)
		 ORDER BY p.id`, strings.ToLower(account), now.UnixMicro(), RoleAdmin, RoleEditor))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list editors' push subscriptions of %q", account), err)
	}
	return out, nil
}
