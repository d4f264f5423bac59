package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// This file keeps what the fediverse says to our accounts and what the
// comms team does about it: remote actors' profiles and posts (already
// sanitised by the caller: storage stores what it is handed), the
// notifications built from them, account blocks and mutes, reports
// received, keyword filters, per-post interaction policies and the
// interaction authorizations granted (quotes, replies, likes, boosts).

// Notification kinds, as Mastodon names them.
const (
	NotificationMention   = "mention"   // a remote post mentions us or replies to one of our posts
	NotificationFavourite = "favourite" // a Like of one of our posts
	NotificationReblog    = "reblog"    // an Announce of one of our posts
	NotificationQuote     = "quote"     // a remote post quotes one of ours
	NotificationFollow    = "follow"    // a new follower
	// NotificationFollowRequest is a follower waiting for approval.
	NotificationFollowRequest = "follow_request"
)

// Account block kinds.
const (
	BlockKindBlock = "block"
	BlockKindMute  = "mute"
)

// RemoteProfile is how a remote actor is shown to the comms team.
type RemoteProfile struct {
	ActorID     string
	Acct        string // user@domain, lower case
	Domain      string
	DisplayName string // sanitised; may be empty
	URL         string // profile page
	AvatarURL   string // may be empty
	UpdatedAt   time.Time
	// Summary is the actor's bio (its document's summary), sanitised
	// HTML; may be empty.
	Summary string
}

// RemoteStatus is a remote post that mentions, replies to or quotes one of
// ours.
type RemoteStatus struct {
	ID          int64 // time-ordered, chosen by the caller (never 0)
	NoteID      string
	ActorID     string
	URL         string
	ContentHTML string // sanitised
	SpoilerText string // sanitised
	Sensitive   bool
	Language    string
	Visibility  string // public, unlisted, private or direct
	InReplyToID int64  // our status it replies to, 0: none
	// InReplyToURI is the IRI of the post it replies to, whoever's ("":
	// none).
	InReplyToURI string
	QuoteOfID    int64 // our status it quotes, 0: none
	CreatedAt    time.Time
	EditedAt     time.Time // zero unless edited
	DeletedAt    time.Time // zero unless deleted
}

// Notification is something said to or done to one of our accounts.
type Notification struct {
	ID             int64
	Account        string
	Type           string // Notification*
	ActivityID     string // the Like or Announce, or the remote post's id
	ActorID        string
	ActorDomain    string
	StatusID       int64 // ours, 0: none
	RemoteStatusID int64 // theirs, 0: none
	GroupKey       string
	CreatedAt      time.Time
	DismissedAt    time.Time
}

// NotificationPage selects notifications newest first, with Mastodon's
// paging (see StatusPage). Dismissed notifications and those of actors
// the account blocked or muted are never returned.
type NotificationPage struct {
	Account               string
	MaxID, SinceID, MinID int64
	Limit                 int
	Types                 []string // only these (empty: all)
	ExcludeTypes          []string
}

// NotificationBucket counts the notifications of one time bucket.
type NotificationBucket struct {
	Start         time.Time
	Notifications int64
	Actors        int64
	Domains       int64
}

// DomainCount counts the notifications coming from one domain, or, with
// Bluesky set, from every Bluesky account (actors whose id is a DID): one
// origin, with an empty Domain (their handles' domains say nothing of
// where they are, and no server of theirs can be blocked).
type DomainCount struct {
	Domain        string
	Notifications int64
	Actors        int64
	Bluesky       bool
}

// StatusCounts are what one of our statuses received: its live replies
// (remote ones and ours), and the actors who boosted or favourited it.
type StatusCounts struct {
	Replies    int64
	Reblogs    int64
	Favourites int64
	// Bluesky is the part of them that came from Bluesky (actors with a
	// did: identifier, as the mirror's notification reader stores them).
	Bluesky InteractionCounts
}

// InteractionCounts are replies, boosts and favourites.
type InteractionCounts struct {
	Replies    int64
	Reblogs    int64
	Favourites int64
}

// AccountBlock is a remote actor one of our accounts blocked or muted.
type AccountBlock struct {
	Account   string
	ActorID   string
	Kind      string // BlockKindBlock or BlockKindMute
	CreatedAt time.Time
}

// Report is a Flag received.
type Report struct {
	ID         int64
	ActivityID string
	Account    string   // ours reported, "" when none of ours is named
	ReporterID string   // the Flag's actor
	Targets    []string // IRIs of the reported actors and posts
	Comment    string   // sanitised
	CreatedAt  time.Time
}

// Filter is a keyword filter of one of our accounts (Mastodon's v2
// filters).
type Filter struct {
	ID        int64
	Account   string
	Title     string
	Context   []string // home, notifications, public, thread, account
	Action    string   // warn or hide
	ExpiresAt time.Time
	CreatedAt time.Time
	Keywords  []FilterKeyword
}

// FilterKeyword is one keyword of a filter.
type FilterKeyword struct {
	ID        int64
	Keyword   string
	WholeWord bool
}

// StatusPolicy is a post's own interaction policy; an empty field keeps
// the account's setting.
type StatusPolicy struct {
	StatusID int64
	Replies  string
	Quotes   string
}

// Kinds of interaction authorization.
const (
	AuthorizationQuote    = "quote"    // FEP-044f QuoteAuthorization
	AuthorizationReply    = "reply"    // GoToSocial's ReplyAuthorization
	AuthorizationLike     = "like"     // LikeAuthorization
	AuthorizationAnnounce = "announce" // AnnounceAuthorization
)

// InteractionAuthorization is the permission given to a remote post or
// activity (a quote, a reply, a Like, an Announce) to interact with one
// of ours; its id makes the authorization's IRI.
type InteractionAuthorization struct {
	ID            int64
	Kind          string // Authorization*
	StatusID      int64  // ours
	Account       string
	InteractionID string // the quoting or replying post, the Like or the Announce
	ActorID       string
	// RequestID is the request answered (QuoteRequest, ReplyRequest...);
	// empty when the interaction came without one.
	RequestID string
	CreatedAt time.Time
}

// Interactions is the storage of what is said to our accounts.
type Interactions interface {
	UpsertRemoteProfile(ctx context.Context, p RemoteProfile) error
	GetRemoteProfile(ctx context.Context, actorID string) (RemoteProfile, error)
	// GetRemoteProfileByAcct finds a profile by user@domain (any case).
	GetRemoteProfileByAcct(ctx context.Context, acct string) (RemoteProfile, error)

	// InsertRemoteStatus stores a remote post; with its NoteID already
	// stored, nothing changes and the stored one is returned with
	// created false.
	InsertRemoteStatus(ctx context.Context, rs RemoteStatus) (stored RemoteStatus, created bool, err error)
	// UpdateRemoteStatus replaces the content, spoiler, sensitive flag,
	// language and EditedAt of the live post rs.NoteID (ErrNotFound
	// otherwise).
	UpdateRemoteStatus(ctx context.Context, rs RemoteStatus) error
	GetRemoteStatus(ctx context.Context, id int64) (RemoteStatus, error)
	GetRemoteStatusByNoteID(ctx context.Context, noteID string) (RemoteStatus, error)
	// DeleteRemoteStatus marks the post deleted and dismisses its
	// notifications; it reports whether a live post was found.
	DeleteRemoteStatus(ctx context.Context, noteID string, at time.Time) (bool, error)
	// ListReplies lists the live remote replies to one of our statuses,
	// oldest first, at most limit.
	ListReplies(ctx context.Context, statusID int64, limit int) ([]RemoteStatus, error)

	// InsertNotification stores n (ID assigned); a second one with the
	// same account, type and activity id is not created: the first one's
	// id is returned with created false.
	InsertNotification(ctx context.Context, n Notification) (id int64, created bool, err error)
	// GetNotification returns a live (not dismissed) notification.
	GetNotification(ctx context.Context, account string, id int64) (Notification, error)
	ListNotifications(ctx context.Context, p NotificationPage) ([]Notification, error)
	// CountNotifications counts the notifications ListNotifications
	// would return above sinceID, of the types (all when empty), up to
	// limit (0: no limit).
	CountNotifications(ctx context.Context, account string, sinceID int64, types []string, limit int) (int64, error)
	// DismissNotification: ErrNotFound when there is no such live one.
	DismissNotification(ctx context.Context, account string, id int64, at time.Time) error
	// ClearNotifications dismisses every notification of the account.
	ClearNotifications(ctx context.Context, account string, at time.Time) (int64, error)
	// DismissNotificationsFromDomains dismisses the account's
	// notifications from actors of these domains.
	DismissNotificationsFromDomains(ctx context.Context, account string, domains []string, at time.Time) (int64, error)
	// DeleteNotificationsByActivity removes the notifications made by an
	// activity of actorID (its Undo arrived).
	DeleteNotificationsByActivity(ctx context.Context, actorID, activityID string) (int64, error)
	// NotificationBuckets counts the account's notifications of the types
	// (all when empty) since `since` by buckets of width, dismissed ones
	// included, oldest first; empty buckets are left out.
	NotificationBuckets(ctx context.Context, account string, types []string, since time.Time, width time.Duration) ([]NotificationBucket, error)
	// NotificationDomains counts those of [from, to) by actor domain, most
	// first; those of Bluesky accounts are one DomainCount (Bluesky set).
	NotificationDomains(ctx context.Context, account string, types []string, from, to time.Time) ([]DomainCount, error)

	// StatusCounts counts the live replies, boosts and favourites of our
	// statuses ids (favourites and boosts by distinct actors, whether
	// their notifications were dismissed or not; an Undo removes them;
	// our accounts' own boosts and favourites count too).
	// Statuses with none are left out of the map.
	StatusCounts(ctx context.Context, ids []int64) (map[int64]StatusCounts, error)

	// PutAccountBlock records a block or mute; created is false when it
	// was already there.
	PutAccountBlock(ctx context.Context, b AccountBlock) (created bool, err error)
	DeleteAccountBlock(ctx context.Context, account, actorID, kind string) (bool, error)
	// ListAccountBlocks lists the account's blocks or mutes, newest first.
	ListAccountBlocks(ctx context.Context, account, kind string) ([]AccountBlock, error)
	// AccountBlockKinds returns the kinds of the account's blocks of
	// actorID (none, "block", "mute" or both).
	AccountBlockKinds(ctx context.Context, account, actorID string) ([]string, error)

	// InsertReport stores a report; a second one with the same activity
	// id is not created (created false, the first one's id).
	InsertReport(ctx context.Context, r Report) (id int64, created bool, err error)
	// ListReports lists reports newest first, with ids below beforeID
	// (0: from the newest), at most limit.
	ListReports(ctx context.Context, beforeID int64, limit int) ([]Report, error)

	// InsertFilter stores a filter and its keywords; returns its id.
	InsertFilter(ctx context.Context, f Filter) (int64, error)
	// UpdateFilter replaces the filter's fields and keywords.
	UpdateFilter(ctx context.Context, f Filter) error
	GetFilter(ctx context.Context, account string, id int64) (Filter, error)
	// ListFilters lists the account's filters, oldest first.
	ListFilters(ctx context.Context, account string) ([]Filter, error)
	DeleteFilter(ctx context.Context, account string, id int64) error

	// PutStatusPolicy sets (or replaces) a post's own policy.
	PutStatusPolicy(ctx context.Context, p StatusPolicy) error
	// GetStatusPolicy returns ErrNotFound for a post that has none.
	GetStatusPolicy(ctx context.Context, statusID int64) (StatusPolicy, error)

	// PutInteractionAuthorization stores an authorization, or returns
	// the one already given to the same interaction with the same post
	// (created false).
	PutInteractionAuthorization(ctx context.Context, a InteractionAuthorization) (stored InteractionAuthorization, created bool, err error)
	GetInteractionAuthorization(ctx context.Context, id int64) (InteractionAuthorization, error)
}

const remoteProfileColumns = `actor_id, acct, domain, display_name, url, avatar_url, updated_at, summary`

func scanRemoteProfile(s scanner) (RemoteProfile, error) {
	var (
		p       RemoteProfile
		updated int64
	)
	err := s.Scan(&p.ActorID, &p.Acct, &p.Domain, &p.DisplayName, &p.URL, &p.AvatarURL, &updated, &p.Summary)
	p.UpdatedAt = time.UnixMicro(updated).UTC()
	return p, err
}

func (q *queries) UpsertRemoteProfile(ctx context.Context, p RemoteProfile) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO remote_profiles (`+remoteProfileColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (actor_id) DO UPDATE SET acct = excluded.acct, domain = excluded.domain,
		   display_name = excluded.display_name, url = excluded.url, avatar_url = excluded.avatar_url,
		   updated_at = excluded.updated_at, summary = excluded.summary`,
		p.ActorID, strings.ToLower(p.Acct), strings.ToLower(p.Domain), p.DisplayName, p.URL, p.AvatarURL, orNow(p.UpdatedAt).UnixMicro(),
		p.Summary)
	if err != nil {
		return q.d.wrap(fmt.Sprintf("upsert remote profile %q", p.ActorID), err)
	}
	return nil
}

func (q *queries) GetRemoteProfile(ctx context.Context, actorID string) (RemoteProfile, error) {
	p, err := scanRemoteProfile(q.r.queryRow(ctx,
		`SELECT `+remoteProfileColumns+` FROM remote_profiles WHERE actor_id = ?`, actorID))
	if err != nil {
		return RemoteProfile{}, q.d.wrap(fmt.Sprintf("get remote profile %q", actorID), err)
	}
	return p, nil
}

func (q *queries) GetRemoteProfileByAcct(ctx context.Context, acct string) (RemoteProfile, error) {
	p, err := scanRemoteProfile(q.r.queryRow(ctx,
		`SELECT `+remoteProfileColumns+` FROM remote_profiles WHERE acct = ? ORDER BY updated_at DESC LIMIT 1`,
		strings.ToLower(strings.TrimPrefix(acct, "@"))))
	if err != nil {
		return RemoteProfile{}, q.d.wrap(fmt.Sprintf("get remote profile %q", acct), err)
	}
	return p, nil
}

const remoteStatusColumns = `id, note_id, actor_id, url, content_html, spoiler_text, sensitive, language, visibility,
	COALESCE(in_reply_to_id, 0), COALESCE(quote_of_id, 0), created_at, edited_at, deleted_at, in_reply_to_uri`

func scanRemoteStatus(s scanner) (RemoteStatus, error) {
	var (
		rs                RemoteStatus
		created           int64
		edited, deletedAt sql.NullInt64
	)
	err := s.Scan(&rs.ID, &rs.NoteID, &rs.ActorID, &rs.URL, &rs.ContentHTML, &rs.SpoilerText, &rs.Sensitive,
		&rs.Language, &rs.Visibility, &rs.InReplyToID, &rs.QuoteOfID, &created, &edited, &deletedAt, &rs.InReplyToURI)
	rs.CreatedAt = time.UnixMicro(created).UTC()
	rs.EditedAt = fromMicros(edited)
	rs.DeletedAt = fromMicros(deletedAt)
	return rs, err
}

func (q *queries) InsertRemoteStatus(ctx context.Context, rs RemoteStatus) (RemoteStatus, bool, error) {
	action := fmt.Sprintf("insert remote status %q", rs.NoteID)
	if rs.ID <= 0 {
		return RemoteStatus{}, false, q.d.wrap(action, errors.New("no id"))
	}
	n, err := q.w.execN(ctx,
		`INSERT INTO remote_statuses (id, note_id, actor_id, url, content_html, spoiler_text, sensitive, language,
		   visibility, in_reply_to_id, quote_of_id, created_at, edited_at, deleted_at, in_reply_to_uri)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (note_id) DO NOTHING`,
		rs.ID, rs.NoteID, rs.ActorID, rs.URL, rs.ContentHTML, rs.SpoilerText, rs.Sensitive, rs.Language, rs.Visibility,
		nullID(rs.InReplyToID), nullID(rs.QuoteOfID), orNow(rs.CreatedAt).UnixMicro(), micros(rs.EditedAt), micros(rs.DeletedAt),
		rs.InReplyToURI)
	if err != nil {
		return RemoteStatus{}, false, q.d.wrap(action, err)
	}
	stored, err := scanRemoteStatus(q.w.queryRow(ctx,
		`SELECT `+remoteStatusColumns+` FROM remote_statuses WHERE note_id = ?`, rs.NoteID))
	if err != nil {
		return RemoteStatus{}, false, q.d.wrap(action, err)
	}
	return stored, n == 1, nil
}

func (q *queries) UpdateRemoteStatus(ctx context.Context, rs RemoteStatus) error {
	n, err := q.w.execN(ctx,
		`UPDATE remote_statuses SET content_html = ?, spoiler_text = ?, sensitive = ?, language = ?, edited_at = ?
		 WHERE note_id = ? AND deleted_at IS NULL`,
		rs.ContentHTML, rs.SpoilerText, rs.Sensitive, rs.Language, micros(orNow(rs.EditedAt)), rs.NoteID)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(fmt.Sprintf("update remote status %q", rs.NoteID), err)
	}
	return nil
}

func (q *queries) GetRemoteStatus(ctx context.Context, id int64) (RemoteStatus, error) {
	rs, err := scanRemoteStatus(q.r.queryRow(ctx,
		`SELECT `+remoteStatusColumns+` FROM remote_statuses WHERE id = ?`, id))
	if err != nil {
		return RemoteStatus{}, q.d.wrap(fmt.Sprintf("get remote status %d", id), err)
	}
	return rs, nil
}

func (q *queries) GetRemoteStatusByNoteID(ctx context.Context, noteID string) (RemoteStatus, error) {
	rs, err := scanRemoteStatus(q.r.queryRow(ctx,
		`SELECT `+remoteStatusColumns+` FROM remote_statuses WHERE note_id = ?`, noteID))
	if err != nil {
		return RemoteStatus{}, q.d.wrap(fmt.Sprintf("get remote status %q", noteID), err)
	}
	return rs, nil
}

func (q *queries) DeleteRemoteStatus(ctx context.Context, noteID string, at time.Time) (bool, error) {
	action := fmt.Sprintf("delete remote status %q", noteID)
	var found bool
	err := q.atomic(ctx, func(tq *queries) error {
		var id int64
		err := tq.w.queryRow(ctx, `SELECT id FROM remote_statuses WHERE note_id = ? AND deleted_at IS NULL`, noteID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		if _, err := tq.w.exec(ctx, `UPDATE remote_statuses SET deleted_at = ? WHERE id = ?`, at.UnixMicro(), id); err != nil {
			return err
		}
		_, err = tq.w.exec(ctx,
			`UPDATE notifications SET dismissed_at = ? WHERE remote_status_id = ? AND dismissed_at IS NULL`, at.UnixMicro(), id)
		return err
	})
	if err != nil {
		return false, q.d.wrap(action, err)
	}
	return found, nil
}

func (q *queries) ListReplies(ctx context.Context, statusID int64, limit int) ([]RemoteStatus, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := q.r.query(ctx,
		`SELECT `+remoteStatusColumns+` FROM remote_statuses
		 WHERE in_reply_to_id = ? AND deleted_at IS NULL ORDER BY id LIMIT ?`, statusID, limit)
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list replies to %d", statusID), err)
	}
	defer rows.Close()
	var out []RemoteStatus
	for rows.Next() {
		rs, err := scanRemoteStatus(rows)
		if err != nil {
			return nil, q.d.wrap(fmt.Sprintf("list replies to %d", statusID), err)
		}
		out = append(out, rs)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list replies to %d", statusID), err)
	}
	return out, nil
}

const notificationColumns = `id, account, kind, activity_id, actor_id, actor_domain, COALESCE(status_id, 0),
	COALESCE(remote_status_id, 0), group_key, created_at, dismissed_at`

func scanNotification(s scanner) (Notification, error) {
	var (
		n         Notification
		created   int64
		dismissed sql.NullInt64
	)
	err := s.Scan(&n.ID, &n.Account, &n.Type, &n.ActivityID, &n.ActorID, &n.ActorDomain, &n.StatusID,
		&n.RemoteStatusID, &n.GroupKey, &created, &dismissed)
	n.CreatedAt = time.UnixMicro(created).UTC()
	n.DismissedAt = fromMicros(dismissed)
	return n, err
}

func (q *queries) InsertNotification(ctx context.Context, n Notification) (int64, bool, error) {
	action := fmt.Sprintf("insert %s notification of %q", n.Type, n.Account)
	var id int64
	err := q.w.queryRow(ctx,
		`INSERT INTO notifications (account, kind, activity_id, actor_id, actor_domain, status_id, remote_status_id,
		   group_key, created_at, dismissed_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, kind, activity_id) DO NOTHING RETURNING id`,
		n.Account, n.Type, n.ActivityID, n.ActorID, strings.ToLower(n.ActorDomain), nullID(n.StatusID), nullID(n.RemoteStatusID),
		n.GroupKey, orNow(n.CreatedAt).UnixMicro(), micros(n.DismissedAt)).Scan(&id)
	if err == nil {
		return id, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, q.d.wrap(action, err)
	}
	err = q.w.queryRow(ctx, `SELECT id FROM notifications WHERE account = ? AND kind = ? AND activity_id = ?`,
		n.Account, n.Type, n.ActivityID).Scan(&id)
	if err != nil {
		return 0, false, q.d.wrap(action, err)
	}
	return id, false, nil
}

// visibleNotification is the condition of ListNotifications: live, and
// not from an actor the account blocked or muted, nor from a domain (or
// subdomain) it blocked.
const visibleNotification = `n.account = ? AND n.dismissed_at IS NULL AND NOT EXISTS (
	SELECT 1 FROM account_blocks b WHERE b.account = n.account AND b.actor_id = n.actor_id) AND NOT EXISTS (
	SELECT 1 FROM account_domain_blocks d WHERE d.account = n.account
	  AND (n.actor_domain = d.domain OR n.actor_domain LIKE ('%.' || d.domain)))`

func (q *queries) GetNotification(ctx context.Context, account string, id int64) (Notification, error) {
	n, err := scanNotification(q.r.queryRow(ctx,
		`SELECT `+notificationColumns+` FROM notifications n WHERE `+visibleNotification+` AND n.id = ?`, account, id))
	if err != nil {
		return Notification{}, q.d.wrap(fmt.Sprintf("get notification %d of %q", id, account), err)
	}
	return n, nil
}

// notIn returns " AND column NOT IN (?, ...)", or "" for n == 0.
func notIn(column string, n int) string {
	if n == 0 {
		return ""
	}
	return ` AND ` + column + ` NOT IN (` + placeholders(n) + `)`
}

func (q *queries) ListNotifications(ctx context.Context, p NotificationPage) ([]Notification, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	action := fmt.Sprintf("list notifications of %q", p.Account)
	lower := max(p.SinceID, p.MinID)
	upper := int64(math.MaxInt64)
	if p.MaxID != 0 {
		upper = p.MaxID
	}
	order := "DESC"
	asc := p.MinID != 0
	if asc {
		order = "ASC"
	}
	args := []any{p.Account, lower, upper}
	args = append(args, anys(p.Types)...)
	args = append(args, anys(p.ExcludeTypes)...)
	args = append(args, p.Limit)
	rows, err := q.r.query(ctx,
		`SELECT `+notificationColumns+` FROM notifications n WHERE `+visibleNotification+`
		 AND n.id > ? AND n.id < ?`+inList("n.kind", len(p.Types))+notIn("n.kind", len(p.ExcludeTypes))+`
		 ORDER BY n.id `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, q.d.wrap(action, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	if asc {
		slices.Reverse(out)
	}
	return out, nil
}

func (q *queries) CountNotifications(ctx context.Context, account string, sinceID int64, types []string, limit int) (int64, error) {
	args := []any{account, sinceID}
	args = append(args, anys(types)...)
	query := `SELECT COUNT(*) FROM notifications n WHERE ` + visibleNotification + ` AND n.id > ?` + inList("n.kind", len(types))
	if limit > 0 {
		query = `SELECT COUNT(*) FROM (SELECT 1 FROM notifications n WHERE ` + visibleNotification + ` AND n.id > ?` +
			inList("n.kind", len(types)) + ` LIMIT ?) AS page`
		args = append(args, limit)
	}
	var n int64
	if err := q.r.queryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, q.d.wrap(fmt.Sprintf("count notifications of %q", account), err)
	}
	return n, nil
}

func (q *queries) DismissNotification(ctx context.Context, account string, id int64, at time.Time) error {
	n, err := q.w.execN(ctx,
		`UPDATE notifications SET dismissed_at = ? WHERE account = ? AND id = ? AND dismissed_at IS NULL`,
		at.UnixMicro(), account, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(fmt.Sprintf("dismiss notification %d of %q", id, account), err)
	}
	return nil
}

func (q *queries) ClearNotifications(ctx context.Context, account string, at time.Time) (int64, error) {
	n, err := q.w.execN(ctx,
		`UPDATE notifications SET dismissed_at = ? WHERE account = ? AND dismissed_at IS NULL`, at.UnixMicro(), account)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("clear notifications of %q", account), err)
	}
	return n, nil
}

func (q *queries) DismissNotificationsFromDomains(ctx context.Context, account string, domains []string, at time.Time) (int64, error) {
	if len(domains) == 0 {
		return 0, nil
	}
	lower := make([]string, len(domains))
	for i, d := range domains {
		lower[i] = strings.ToLower(d)
	}
	args := append([]any{at.UnixMicro(), account}, anys(lower)...)
	n, err := q.w.execN(ctx,
		`UPDATE notifications SET dismissed_at = ? WHERE account = ? AND dismissed_at IS NULL`+inList("actor_domain", len(lower)),
		args...)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("dismiss notifications of %q from domains", account), err)
	}
	return n, nil
}

func (q *queries) DeleteNotificationsByActivity(ctx context.Context, actorID, activityID string) (int64, error) {
	n, err := q.w.execN(ctx, `DELETE FROM notifications WHERE activity_id = ? AND actor_id = ?`, activityID, actorID)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("delete notifications of %q", activityID), err)
	}
	return n, nil
}

func (q *queries) NotificationBuckets(ctx context.Context, account string, types []string, since time.Time, width time.Duration) ([]NotificationBucket, error) {
	action := fmt.Sprintf("count notifications of %q by period", account)
	w := width.Microseconds()
	if w <= 0 {
		return nil, q.d.wrap(action, errors.New("bucket width must be positive"))
	}
	args := []any{w, account, since.UnixMicro()}
	args = append(args, anys(types)...)
	rows, err := q.r.query(ctx,
		`SELECT created_at / ? AS bucket, COUNT(*), COUNT(DISTINCT actor_id), COUNT(DISTINCT actor_domain)
		 FROM notifications WHERE account = ? AND created_at >= ?`+inList("kind", len(types))+`
		 GROUP BY bucket ORDER BY bucket`, args...)
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	var out []NotificationBucket
	for rows.Next() {
		var (
			b      NotificationBucket
			bucket int64
		)
		if err := rows.Scan(&bucket, &b.Notifications, &b.Actors, &b.Domains); err != nil {
			return nil, q.d.wrap(action, err)
		}
		b.Start = time.UnixMicro(bucket * w).UTC()
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	return out, nil
}

func (q *queries) NotificationDomains(ctx context.Context, account string, types []string, from, to time.Time) ([]DomainCount, error) {
	action := fmt.Sprintf("count notifications of %q by domain", account)
	args := []any{account, from.UnixMicro(), to.UnixMicro()}
	args = append(args, anys(types)...)
	rows, err := q.r.query(ctx,
		`SELECT origin, COUNT(*) AS c, COUNT(DISTINCT actor_id), MAX(bsky) FROM (
		   SELECT CASE WHEN actor_id LIKE 'did:%' THEN '' ELSE actor_domain END AS origin,
		          CASE WHEN actor_id LIKE 'did:%' THEN 1 ELSE 0 END AS bsky, actor_id
		   FROM notifications WHERE account = ? AND created_at >= ? AND created_at < ?`+inList("kind", len(types))+`
		 ) o GROUP BY origin, bsky ORDER BY c DESC, origin`, args...)
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	var out []DomainCount
	for rows.Next() {
		var (
			d    DomainCount
			bsky int64
		)
		if err := rows.Scan(&d.Domain, &d.Notifications, &d.Actors, &bsky); err != nil {
			return nil, q.d.wrap(action, err)
		}
		d.Bluesky = bsky == 1
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	return out, nil
}

func (q *queries) PutAccountBlock(ctx context.Context, b AccountBlock) (bool, error) {
	n, err := q.w.execN(ctx,
		`INSERT INTO account_blocks (account, actor_id, kind, created_at) VALUES (?, ?, ?, ?)
		 ON CONFLICT (account, actor_id, kind) DO NOTHING`,
		b.Account, b.ActorID, b.Kind, orNow(b.CreatedAt).UnixMicro())
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("%s %q for %q", b.Kind, b.ActorID, b.Account), err)
	}
	return n == 1, nil
}

func (q *queries) DeleteAccountBlock(ctx context.Context, account, actorID, kind string) (bool, error) {
	n, err := q.w.execN(ctx, `DELETE FROM account_blocks WHERE account = ? AND actor_id = ? AND kind = ?`, account, actorID, kind)
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("un%s %q for %q", kind, actorID, account), err)
	}
	return n > 0, nil
}

func (q *queries) ListAccountBlocks(ctx context.Context, account, kind string) ([]AccountBlock, error) {
	action := fmt.Sprintf("list %ss of %q", kind, account)
	rows, err := q.r.query(ctx,
		`SELECT account, actor_id, kind, created_at FROM account_blocks WHERE account = ? AND kind = ?
		 ORDER BY created_at DESC, actor_id`, account, kind)
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	var out []AccountBlock
	for rows.Next() {
		var (
			b       AccountBlock
			created int64
		)
		if err := rows.Scan(&b.Account, &b.ActorID, &b.Kind, &created); err != nil {
			return nil, q.d.wrap(action, err)
		}
		b.CreatedAt = time.UnixMicro(created).UTC()
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	return out, nil
}

func (q *queries) AccountBlockKinds(ctx context.Context, account, actorID string) ([]string, error) {
	action := fmt.Sprintf("blocks of %q by %q", actorID, account)
	rows, err := q.r.query(ctx,
		`SELECT kind FROM account_blocks WHERE account = ? AND actor_id = ? ORDER BY kind`, account, actorID)
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, q.d.wrap(action, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	return out, nil
}

func (q *queries) InsertReport(ctx context.Context, r Report) (int64, bool, error) {
	action := fmt.Sprintf("insert report %q", r.ActivityID)
	targets, err := json.Marshal(orEmptyList(r.Targets))
	if err != nil {
		return 0, false, q.d.wrap(action, err)
	}
	var id int64
	err = q.w.queryRow(ctx,
		`INSERT INTO reports (activity_id, account, reporter_id, targets, comment, created_at)
		 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (activity_id) DO NOTHING RETURNING id`,
		r.ActivityID, r.Account, r.ReporterID, targets, r.Comment, orNow(r.CreatedAt).UnixMicro()).Scan(&id)
	if err == nil {
		return id, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, q.d.wrap(action, err)
	}
	if err := q.w.queryRow(ctx, `SELECT id FROM reports WHERE activity_id = ?`, r.ActivityID).Scan(&id); err != nil {
		return 0, false, q.d.wrap(action, err)
	}
	return id, false, nil
}

func orEmptyList(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func (q *queries) ListReports(ctx context.Context, beforeID int64, limit int) ([]Report, error) {
	if limit <= 0 {
		return nil, nil
	}
	if beforeID <= 0 {
		beforeID = math.MaxInt64
	}
	rows, err := q.r.query(ctx,
		`SELECT id, activity_id, account, reporter_id, targets, comment, created_at FROM reports
		 WHERE id < ? ORDER BY id DESC LIMIT ?`, beforeID, limit)
	if err != nil {
		return nil, q.d.wrap("list reports", err)
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		var (
			r       Report
			targets []byte
			created int64
		)
		if err := rows.Scan(&r.ID, &r.ActivityID, &r.Account, &r.ReporterID, &targets, &r.Comment, &created); err != nil {
			return nil, q.d.wrap("list reports", err)
		}
		if err := json.Unmarshal(targets, &r.Targets); err != nil {
			return nil, q.d.wrap("list reports", err)
		}
		r.CreatedAt = time.UnixMicro(created).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap("list reports", err)
	}
	return out, nil
}

func (q *queries) InsertFilter(ctx context.Context, f Filter) (int64, error) {
	var id int64
	err := q.atomic(ctx, func(tq *queries) error {
		var err error
		id, err = tq.insertRow(ctx, "filters", `account, title, contexts, action, expires_at, created_at`, 0,
			f.Account, f.Title, strings.Join(f.Context, " "), f.Action, micros(f.ExpiresAt), orNow(f.CreatedAt).UnixMicro())
		if err != nil {
			return err
		}
		return tq.insertKeywords(ctx, id, f.Keywords)
	})
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("insert filter of %q", f.Account), err)
	}
	return id, nil
}

func (q *queries) insertKeywords(ctx context.Context, filterID int64, kws []FilterKeyword) error {
	for _, k := range kws {
		if _, err := q.w.exec(ctx, `INSERT INTO filter_keywords (filter_id, keyword, whole_word) VALUES (?, ?, ?)`,
			filterID, k.Keyword, k.WholeWord); err != nil {
			return err
		}
	}
	return nil
}

func (q *queries) UpdateFilter(ctx context.Context, f Filter) error {
	err := q.atomic(ctx, func(tq *queries) error {
		n, err := tq.w.execN(ctx,
			`UPDATE filters SET title = ?, contexts = ?, action = ?, expires_at = ? WHERE account = ? AND id = ?`,
			f.Title, strings.Join(f.Context, " "), f.Action, micros(f.ExpiresAt), f.Account, f.ID)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if _, err := tq.w.exec(ctx, `DELETE FROM filter_keywords WHERE filter_id = ?`, f.ID); err != nil {
			return err
		}
		return tq.insertKeywords(ctx, f.ID, f.Keywords)
	})
	if err != nil {
		return q.d.wrap(fmt.Sprintf("update filter %d of %q", f.ID, f.Account), err)
	}
	return nil
}

func (q *queries) GetFilter(ctx context.Context, account string, id int64) (Filter, error) {
	fs, err := q.listFilters(ctx, account, id)
	if err == nil && len(fs) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return Filter{}, q.d.wrap(fmt.Sprintf("get filter %d of %q", id, account), err)
	}
	return fs[0], nil
}

func (q *queries) ListFilters(ctx context.Context, account string) ([]Filter, error) {
	fs, err := q.listFilters(ctx, account, 0)
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list filters of %q", account), err)
	}
	return fs, nil
}

// listFilters reads the account's filters (only id when not 0) with
// their keywords; errors are unwrapped.
func (q *queries) listFilters(ctx context.Context, account string, id int64) ([]Filter, error) {
	query := `SELECT f.id, f.title, f.contexts, f.action, f.expires_at, f.created_at,
		COALESCE(k.id, 0), COALESCE(k.keyword, ''), COALESCE(k.whole_word, FALSE)
		FROM filters f LEFT JOIN filter_keywords k ON k.filter_id = f.id
		WHERE f.account = ?`
	args := []any{account}
	if id != 0 {
		query += ` AND f.id = ?`
		args = append(args, id)
	}
	rows, err := q.r.query(ctx, query+` ORDER BY f.id, k.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Filter
	for rows.Next() {
		var (
			f        Filter
			contexts string
			expires  sql.NullInt64
			created  int64
			kw       FilterKeyword
		)
		if err := rows.Scan(&f.ID, &f.Title, &contexts, &f.Action, &expires, &created, &kw.ID, &kw.Keyword, &kw.WholeWord); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != f.ID {
			f.Account = account
			f.Context = strings.Fields(contexts)
			f.ExpiresAt = fromMicros(expires)
			f.CreatedAt = time.UnixMicro(created).UTC()
			out = append(out, f)
		}
		if kw.ID != 0 {
			last := &out[len(out)-1]
			last.Keywords = append(last.Keywords, kw)
		}
	}
	return out, rows.Err()
}

func (q *queries) DeleteFilter(ctx context.Context, account string, id int64) error {
	err := q.atomic(ctx, func(tq *queries) error {
		n, err := tq.w.execN(ctx, `DELETE FROM filters WHERE account = ? AND id = ?`, account, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err = tq.w.exec(ctx, `DELETE FROM filter_keywords WHERE filter_id = ?`, id)
		return err
	})
	if err != nil {
		return q.d.wrap(fmt.Sprintf("delete filter %d of %q", id, account), err)
	}
	return nil
}

func (q *queries) PutStatusPolicy(ctx context.Context, p StatusPolicy) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO status_policies (status_id, replies, quotes) VALUES (?, ?, ?)
		 ON CONFLICT (status_id) DO UPDATE SET replies = excluded.replies, quotes = excluded.quotes`,
		p.StatusID, p.Replies, p.Quotes)
	if err != nil {
		return q.d.wrap(fmt.Sprintf("put policy of status %d", p.StatusID), err)
	}
	return nil
}

func (q *queries) GetStatusPolicy(ctx context.Context, statusID int64) (StatusPolicy, error) {
	p := StatusPolicy{StatusID: statusID}
	err := q.r.queryRow(ctx, `SELECT replies, quotes FROM status_policies WHERE status_id = ?`, statusID).Scan(&p.Replies, &p.Quotes)
	if err != nil {
		return StatusPolicy{}, q.d.wrap(fmt.Sprintf("get policy of status %d", statusID), err)
	}
	return p, nil
}

const authorizationColumns = `id, kind, status_id, account, interaction_id, actor_id, request_id, created_at`

func scanAuthorization(s scanner) (InteractionAuthorization, error) {
	var (
		a       InteractionAuthorization
		created int64
	)
	err := s.Scan(&a.ID, &a.Kind, &a.StatusID, &a.Account, &a.InteractionID, &a.ActorID, &a.RequestID, &created)
	a.CreatedAt = time.UnixMicro(created).UTC()
	return a, err
}

func (q *queries) PutInteractionAuthorization(ctx context.Context, a InteractionAuthorization) (InteractionAuthorization, bool, error) {
	action := fmt.Sprintf("authorize %s of status %d by %q", a.Kind, a.StatusID, a.InteractionID)
	if a.Kind == "" {
		return InteractionAuthorization{}, false, q.d.wrap(action, errors.New("no kind"))
	}
	n, err := q.w.execN(ctx,
		`INSERT INTO interaction_authorizations (kind, status_id, account, interaction_id, actor_id, request_id, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (status_id, interaction_id) DO NOTHING`,
		a.Kind, a.StatusID, a.Account, a.InteractionID, a.ActorID, a.RequestID, orNow(a.CreatedAt).UnixMicro())
	if err != nil {
		return InteractionAuthorization{}, false, q.d.wrap(action, err)
	}
	stored, err := scanAuthorization(q.w.queryRow(ctx,
		`SELECT `+authorizationColumns+` FROM interaction_authorizations WHERE status_id = ? AND interaction_id = ?`,
		a.StatusID, a.InteractionID))
	if err != nil {
		return InteractionAuthorization{}, false, q.d.wrap(action, err)
	}
	return stored, n == 1, nil
}

func (q *queries) GetInteractionAuthorization(ctx context.Context, id int64) (InteractionAuthorization, error) {
	a, err := scanAuthorization(q.r.queryRow(ctx,
		`SELECT `+authorizationColumns+` FROM interaction_authorizations WHERE id = ?`, id))
	if err != nil {
		return InteractionAuthorization{}, q.d.wrap(fmt.Sprintf("get interaction authorization %d", id), err)
	}
	return a, nil
}

// blueskyActor is 1 for a row whose actor_id is a Bluesky account (a DID).
const blueskyActor = `CASE WHEN actor_id LIKE 'did:%' THEN 1 ELSE 0 END`

func (q *queries) StatusCounts(ctx context.Context, ids []int64) (map[int64]StatusCounts, error) {
	out := map[int64]StatusCounts{}
	if len(ids) == 0 {
		return out, nil
	}
	idArgs := make([]any, len(ids))
	for i, id := range ids {
		idArgs[i] = id
	}
	in := `(` + placeholders(len(ids)) + `)`
	// Replies (remote and ours), then boosts and favourites: rows of
	// (status id, kind, count).
	queries := []struct {
		sql  string
		args []any
	}{
		{`SELECT in_reply_to_id, 'reply', bsky, COUNT(*) FROM (
		    SELECT in_reply_to_id, ` + blueskyActor + ` AS bsky FROM remote_statuses WHERE in_reply_to_id IN ` + in + ` AND deleted_at IS NULL
		    UNION ALL
		    SELECT in_reply_to_id, 0 FROM statuses WHERE in_reply_to_id IN ` + in + ` AND deleted_at IS NULL) AS r
		  GROUP BY in_reply_to_id, bsky`, append(slices.Clone(idArgs), idArgs...)},
		{`SELECT status_id, kind, bsky, COUNT(DISTINCT actor_id) FROM (
		    SELECT status_id, kind, actor_id, ` + blueskyActor + ` AS bsky FROM notifications WHERE status_id IN ` + in + ` AND kind IN (?, ?)
		    UNION ALL
		    SELECT status_id, kind, account, 0 FROM own_reactions WHERE status_id IN ` + in + `) AS r
		  GROUP BY status_id, kind, bsky`,
			append(append(slices.Clone(idArgs), NotificationReblog, NotificationFavourite), idArgs...)},
	}
	for _, qu := range queries {
		err := func() error {
			rows, err := q.r.query(ctx, qu.sql, qu.args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					id, bsky, n int64
					kind        string
				)
				if err := rows.Scan(&id, &kind, &bsky, &n); err != nil {
					return err
				}
				c := out[id]
				switch kind {
				case "reply":
					c.Replies += n
					if bsky == 1 {
						c.Bluesky.Replies = n
					}
				case NotificationReblog:
					c.Reblogs += n
					if bsky == 1 {
						c.Bluesky.Reblogs = n
					}
				case NotificationFavourite:
					c.Favourites += n
					if bsky == 1 {
						c.Bluesky.Favourites = n
					}
				}
				out[id] = c
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, q.d.wrap("count interactions of statuses", err)
		}
	}
	return out, nil
}
