package atproto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/sanitize"
	"github.com/passerelle/passerelle/storage"
)

// Reading Bluesky: each mirrored account's notifications
// (app.bsky.notification.listNotifications, asked of its PDS, which
// proxies app.bsky.* to its AppView as for every Bluesky client) become
// notifications of the client API, next to the fediverse's: replies and
// mentions (Mastodon's "mention"), quotes, likes ("favourite"), reposts
// ("reblog") and follows. The authors are kept as remote profiles whose
// actor id is their DID and whose acct is their handle; replies, mentions
// and quotes as remote posts whose id is their at:// URI, in reply to
// (or quoting) our status when they answer one of our mirrored posts, so
// that they show in that status's context and counts.
//
// Each account has one job of the job runner's "bluesky-inbox" pool that
// never ends: each run reads what is new and puts the job back, due at
// the account's next poll (adaptive: pollDelay). What was read is kept in
// storage (the newest indexedAt, and the seenAt sent with
// app.bsky.notification.updateSeen); notifications are keyed by their
// record's URI, so a poll repeated after a crash or an outage adds
// nothing twice. Requests go through the account's session and rate
// limiter (session.go, ratelimit.go), shared with the mirror.

// JobInbox is the job kind of an account's notification polls.
const JobInbox = "bluesky-inbox"

// Bounds of one poll.
const (
	inboxPageSize = 50
	// inboxMaxPages bounds a poll: beyond 1,000 new notifications (a
	// raid), the oldest are left unread and counted in the log.
	inboxMaxPages = 20
	// inboxOverlap is how far before the newest notification read a poll
	// reads again (the AppView's late or backdated records).
	inboxOverlap = 15 * time.Minute
	// inboxLease bounds a poll (the runner's lease).
	inboxLease = 2 * time.Minute
	// inboxMaxBackoff is the longest wait after failed polls.
	inboxMaxBackoff = 10 * time.Minute
	// inboxMaxBody bounds one answer of the PDS.
	inboxMaxBody = 8 << 20
	// inboxDormant is how often the job of an account no longer mirrored
	// is looked at.
	inboxDormant = 24 * time.Hour
)

type inboxPayload struct {
	Account string `json:"account"`
}

// inboxKey is the key of an account's poll job.
func inboxKey(account string) string { return "bluesky-inbox:" + lower(account) }

// Notifier is told of each notification the reader creates, in the
// transaction that creates it (package push, for Web Push). It must be
// quick.
type Notifier interface {
	Notified(ctx context.Context, q storage.Queries, n storage.Notification) error
}

// RegisterInbox adds the notification reader's pool to r: every mirrored
// account's notifications are polled, each account at its own pace.
func (m *Mirror) RegisterInbox(r *jobs.Runner) error {
	err := r.Register(jobs.Pool{
		Kinds:     []string{JobInbox},
		Handle:    m.handleInbox,
		Workers:   2,
		Lease:     inboxLease,
		PollEvery: time.Minute, // the runner wakes for the polls it put back
		Wake:      m.inboxWake,
		Start:     m.scheduleInbox,
		Now:       func() time.Time { return m.now() },
	})
	if err != nil {
		return fmt.Errorf("atproto: %w", err)
	}
	return nil
}

// pollDelay is the wait before an account's next poll: a third of the
// interval for five minutes after something new, four times the interval
// after an hour without anything, the interval otherwise.
func pollDelay(interval time.Duration, activeAt, now time.Time) time.Duration {
	switch idle := now.Sub(activeAt); {
	case !activeAt.IsZero() && idle < 5*time.Minute:
		return interval / 3
	case activeAt.IsZero() || idle >= time.Hour:
		return 4 * interval
	default:
		return interval
	}
}

// failureDelay is the wait after n polls failed in a row: the interval
// doubling, up to inboxMaxBackoff, ±20%.
func failureDelay(interval time.Duration, n int) time.Duration {
	d := interval << min(max(n-1, 0), 16)
	if d > inboxMaxBackoff || d <= 0 {
		d = inboxMaxBackoff
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// scheduleInbox makes sure every mirrored account has its poll job, due
// at its next poll (at once for a new account).
func (m *Mirror) scheduleInbox(ctx context.Context) error {
	for _, a := range m.accounts {
		due := m.now()
		in, err := m.store.GetBlueskyInbox(ctx, a.Username)
		switch {
		case err == nil && !in.PolledAt.IsZero():
			due = in.PolledAt.Add(pollDelay(a.Bluesky.PollIntervalOrDefault(), a.activeAt(in), in.PolledAt))
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return err
		}
		if err := m.inboxDue(ctx, a, due); err != nil {
			return err
		}
	}
	return nil
}

// inboxDue makes sure the account's poll job exists and is due by due.
func (m *Mirror) inboxDue(ctx context.Context, a *account, due time.Time) error {
	payload, err := json.Marshal(inboxPayload{Account: a.Username})
	if err != nil {
		return err
	}
	key := inboxKey(a.Username)
	id, err := m.store.EnqueueJob(ctx, storage.NewJob{Kind: JobInbox, Payload: payload, RunAt: due, Key: key, Host: jobHost(a.Username), Ref: key})
	if err != nil {
		return err
	}
	j, err := m.store.GetJob(ctx, id)
	if err != nil {
		return err
	}
	if j.Status == storage.JobPending && j.RunAt.After(due) {
		if err := m.store.RescheduleJob(ctx, id, JobInbox, due); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		m.inboxWake.Nudge()
	}
	return nil
}

// activeAt is when the account last had something new: its last poll
// that found something, or this process's last new post of it,
// whichever is later.
func (a *account) activeAt(in storage.BlueskyInbox) time.Time {
	if p := a.posted.Load(); p != 0 && time.UnixMicro(p).After(in.ActiveAt) {
		return time.UnixMicro(p)
	}
	return in.ActiveAt
}

// expectReplies, after a new post of a is on Bluesky, reads its
// notifications now and then at the active pace: replies come after a
// post, and the first one must not wait for the idle pace (four
// intervals).
func (m *Mirror) expectReplies(ctx context.Context, a *account) {
	now := m.now()
	a.posted.Store(now.UnixMicro())
	if err := m.inboxDue(ctx, a, now); err != nil {
		m.log.Info().Err(err).Str("account", a.Username).Msg("bluesky: the notifications' poll was not brought forward")
	}
}

// handleInbox polls one account and puts its job back for the next poll.
func (m *Mirror) handleInbox(ctx context.Context, j *jobs.Job) error {
	var p inboxPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("undecodable payload: %w", err))
	}
	a := m.accounts[lower(p.Account)]
	if a == nil {
		return jobs.Again(m.now().Add(inboxDormant))
	}
	interval := a.Bluesky.PollIntervalOrDefault()
	if s, err := m.store.GetBlueskySession(ctx, a.Username); err == nil && s.PausedUntil.After(m.now()) {
		return jobs.RetryAt(s.PausedUntil, errors.New("the account is paused: "+s.State))
	}
	res, err := m.PollInbox(ctx, a.Username)
	now := m.now()
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return jobs.ErrStopping
		}
		in, _ := m.store.GetBlueskyInbox(ctx, a.Username)
		at := now.Add(failureDelay(interval, in.Failures))
		var rl *RateLimitedError
		switch kind := classify(err); {
		case kind == kindRateLimited:
			until := a.lim.blocked()
			if errors.As(err, &rl) && rl.Until.After(until) {
				until = rl.Until
			}
			if until.After(at) {
				at = until
			}
		case kind == kindLogin:
			at = now.Add(loginPause)
		}
		return jobs.RetryAt(at, err)
	}
	if res.Created > 0 || res.Dropped > 0 || res.Unread > 0 {
		m.log.Info().Str("account", a.Username).Int("read", res.Read).Int("created", res.Created).
			Int("dropped", res.Dropped).Int("unread", res.Unread).Msg("bluesky: notifications read")
	}
	in, _ := m.store.GetBlueskyInbox(ctx, a.Username)
	return jobs.Again(now.Add(pollDelay(interval, a.activeAt(in), now)))
}

// InboxResult is what one poll of an account's notifications did.
type InboxResult struct {
	Read    int // notifications newer than the last poll's
	Created int // notifications (or posts) added
	Dropped int // from blocked or muted accounts, or about nothing of ours
	Invalid int // malformed, skipped
	Unread  int // left unread: more than a poll reads
}

// notification is an item of app.bsky.notification.listNotifications.
type notification struct {
	URI           string          `json:"uri"`
	CID           string          `json:"cid"`
	Author        author          `json:"author"`
	Reason        string          `json:"reason"`
	ReasonSubject string          `json:"reasonSubject"`
	Record        json.RawMessage `json:"record"`
	IndexedAt     string          `json:"indexedAt"`
}

// author is app.bsky.actor.defs#profileView.
type author struct {
	DID         string `json:"did"`
	Handle      string `json:"handle"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	Avatar      string `json:"avatar"`
	Viewer      struct {
		Muted     bool   `json:"muted"`
		BlockedBy bool   `json:"blockedBy"`
		Blocking  string `json:"blocking"`
	} `json:"viewer"`
}

// PollInbox reads the account's new notifications and records them. It
// is the pool's work; tests call it directly.
func (m *Mirror) PollInbox(ctx context.Context, username string) (InboxResult, error) {
	a := m.accounts[lower(username)]
	if a == nil {
		return InboxResult{}, fmt.Errorf("atproto: account %s is not mirrored to Bluesky", username)
	}
	in, err := m.store.GetBlueskyInbox(ctx, a.Username)
	if errors.Is(err, storage.ErrNotFound) {
		in = storage.BlueskyInbox{Account: a.Username}
	} else if err != nil {
		return InboxResult{}, err
	}
	res, err := m.pollInbox(ctx, a, &in)
	in.PolledAt, in.UpdatedAt = m.now(), m.now()
	if err != nil {
		in.Failures++
		in.LastError = err.Error()
		m.log.Warn().Err(err).Str("account", a.Username).Int("failures", in.Failures).Msg("bluesky: reading notifications failed")
	} else {
		in.Failures, in.LastError = 0, ""
		if res.Created > 0 {
			in.ActiveAt = in.PolledAt
		}
	}
	if perr := m.store.PutBlueskyInbox(context.WithoutCancel(ctx), in); perr != nil && err == nil {
		err = perr
	}
	return res, err
}

func (m *Mirror) pollInbox(ctx context.Context, a *account, in *storage.BlueskyInbox) (InboxResult, error) {
	var res InboxResult
	newest, _ := time.Parse(time.RFC3339Nano, in.Newest)
	// The AppView indexes asynchronously and may date a record earlier
	// than one already read (its sort time is the earlier of createdAt
	// and indexedAt): what came within inboxOverlap before the newest
	// read is read again, and recording by URI keeps it from counting
	// twice.
	since := newest
	// Polled before without anything to read: everything since that
	// poll is new (not only the latest page, as on the very first poll).
	first := newest.IsZero() && in.PolledAt.IsZero()
	if since.IsZero() && !first {
		since = in.PolledAt
	}
	if !since.IsZero() {
		since = since.Add(-inboxOverlap)
	}
	var items []notification
	cursor := ""
	for page := 0; ; page++ {
		if page == inboxMaxPages {
			res.Unread = -1 // unknown: at least one more page
			break
		}
		// priority false: every notification, not only those of the
		// accounts we follow. The reference AppView's updateSeen sets
		// the account's priority flag when its row does not exist yet
		// (its two concurrent writes race: the "priority" one may
		// insert it), after which a listNotifications without the
		// parameter lists only followed accounts' notifications: a raid
		// would vanish.
		params := map[string]any{"limit": inboxPageSize, "priority": false}
		if cursor != "" {
			params["cursor"] = cursor
		}
		var out struct {
			Cursor        string         `json:"cursor"`
			Notifications []notification `json:"notifications"`
		}
		err := m.call(ctx, a, func(c *atclient.APIClient) error {
			return getJSON(ctx, c, "app.bsky.notification.listNotifications", params, &out)
		})
		if err != nil {
			return res, fmt.Errorf("atproto: listNotifications: %w", err)
		}
		reached := false
		for _, n := range out.Notifications {
			t, err := time.Parse(time.RFC3339Nano, n.IndexedAt)
			if err == nil && !since.IsZero() && t.Before(since) {
				reached = true
				continue
			}
			items = append(items, n)
		}
		// The first poll reads one page: what came before the bridge
		// read Bluesky is not brought in whole.
		if reached || first || out.Cursor == "" || len(out.Notifications) == 0 {
			break
		}
		cursor = out.Cursor
	}
	res.Read = len(items)
	// Oldest first: notifications get increasing ids in the order they came.
	slices.Reverse(items)
	high := newest
	for _, n := range items {
		created, err := m.record(ctx, a, n)
		switch {
		case errors.Is(err, errDropped):
			res.Dropped++
		case errors.Is(err, errInvalid):
			res.Invalid++
			m.log.Info().Err(err).Str("account", a.Username).Str("uri", n.URI).Msg("bluesky: notification skipped")
		case err != nil:
			return res, err // storage: the next poll reads it again
		case created:
			res.Created++
		}
		if t, err := time.Parse(time.RFC3339Nano, n.IndexedAt); err == nil && t.After(high) && !t.After(m.now().Add(time.Hour)) {
			high = t
		}
	}
	// The authors' profiles (avatar, name, bio) as getProfiles has them,
	// read again after profileTTL (act.go); a failure leaves those the
	// notifications carried.
	authors := make([]string, 0, len(items))
	for _, n := range items {
		authors = append(authors, n.Author.DID)
	}
	if err := m.RefreshProfiles(ctx, a.Username, authors); err != nil {
		m.log.Info().Err(err).Str("account", a.Username).Msg("bluesky: reading profiles failed; read again at the next poll")
	}
	if !high.IsZero() {
		in.Newest = high.UTC().Format(time.RFC3339Nano)
	}
	if in.Newest != "" && in.Newest != in.SeenAt {
		err := m.call(ctx, a, func(c *atclient.APIClient) error {
			return c.Post(ctx, "app.bsky.notification.updateSeen", map[string]string{"seenAt": in.Newest}, nil)
		})
		if err == nil {
			in.SeenAt = in.Newest
		} else {
			m.log.Info().Err(err).Str("account", a.Username).Msg("bluesky: updateSeen failed; sent again at the next poll")
		}
	}
	return res, nil
}

var (
	errDropped = errors.New("dropped")
	errInvalid = errors.New("invalid notification")
)

// getJSON is a query whose answer is read up to inboxMaxBody.
func getJSON(ctx context.Context, c *atclient.APIClient, nsid string, params map[string]any, out any) error {
	req := atclient.NewAPIRequest(http.MethodGet, syntax.NSID(nsid), nil)
	req.Headers.Set("Accept", "application/json")
	qp, err := atclient.ParseParams(params)
	if err != nil {
		return err
	}
	req.QueryParams = qp
	resp, err := c.Do(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, inboxMaxBody+1))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var eb atclient.ErrorBody
		if json.Unmarshal(body, &eb) != nil {
			return &atclient.APIError{StatusCode: resp.StatusCode}
		}
		return eb.APIError(resp.StatusCode)
	}
	if len(body) > inboxMaxBody {
		return fmt.Errorf("%s: answer over %d bytes", nsid, inboxMaxBody)
	}
	return json.Unmarshal(body, out)
}

// record stores one notification: the author's profile, the post for a
// reply, mention or quote, and the notification, in one transaction.
func (m *Mirror) record(ctx context.Context, a *account, n notification) (created bool, err error) {
	if !strings.HasPrefix(n.Author.DID, "did:") || !strings.HasPrefix(n.URI, "at://") {
		return false, fmt.Errorf("%w: no author or URI", errInvalid)
	}
	if n.Author.Viewer.Blocking != "" || n.Author.Viewer.BlockedBy || n.Author.Viewer.Muted {
		return false, errDropped // blocked or muted on Bluesky
	}
	if kinds, err := m.store.AccountBlockKinds(ctx, a.Username, n.Author.DID); err != nil {
		return false, err
	} else if len(kinds) > 0 {
		return false, errDropped // blocked or muted in the app
	}
	at, err := time.Parse(time.RFC3339Nano, n.IndexedAt)
	if err != nil || at.After(m.now()) {
		at = m.now()
	}
	prof := blueskyProfile(n.Author, m.now())
	note := storage.Notification{
		Account: a.Username, ActivityID: n.URI, ActorID: n.Author.DID, ActorDomain: prof.Domain, CreatedAt: at,
	}
	var rs *storage.RemoteStatus
	switch n.Reason {
	case "like", "repost":
		id, err := m.ourStatus(ctx, n.ReasonSubject)
		if err != nil || id == 0 {
			return false, orDropped(err)
		}
		note.Type, note.StatusID = storage.NotificationFavourite, id
		if n.Reason == "repost" {
			note.Type = storage.NotificationReblog
		}
		note.GroupKey = note.Type + "-" + strconv.FormatInt(id, 10) + "-" + strconv.FormatInt(at.Unix()/86400, 10)
	case "follow":
		note.Type, note.GroupKey = storage.NotificationFollow, "follow-"+n.URI
	case "reply", "mention", "quote":
		var rec feedPost
		if err := json.Unmarshal(n.Record, &rec); err != nil {
			return false, fmt.Errorf("%w: record: %v", errInvalid, err)
		}
		st := storage.RemoteStatus{
			ID: remoteID(at), NoteID: n.URI, ActorID: n.Author.DID, URL: postURL(n.URI),
			ContentHTML: renderPost(rec.Text, rec.Facets), Visibility: storage.VisibilityPublic, CreatedAt: at,
		}
		if len(rec.Langs) > 0 && len(rec.Langs[0]) <= 16 {
			st.Language = rec.Langs[0]
		}
		if rec.Reply != nil {
			if st.InReplyToID, err = m.ourStatus(ctx, rec.Reply.Parent.URI); err != nil {
				return false, err
			}
			if st.InReplyToID == 0 {
				if st.InReplyToID, err = m.ourStatus(ctx, rec.Reply.Root.URI); err != nil {
					return false, err
				}
			}
		}
		if st.QuoteOfID, err = m.ourStatus(ctx, rec.quotedURI()); err != nil {
			return false, err
		}
		note.Type, note.StatusID = storage.NotificationMention, st.InReplyToID
		if n.Reason == "quote" && st.QuoteOfID != 0 {
			note.Type, note.StatusID = storage.NotificationQuote, st.QuoteOfID
		}
		rs = &st
	default:
		return false, errDropped // starter packs, verifications, ... : nothing Mastodon shows
	}
	err = m.store.InTx(ctx, func(q storage.Queries) error {
		if err := q.UpsertRemoteProfile(ctx, prof); err != nil {
			return err
		}
		if rs != nil {
			stored, _, err := q.InsertRemoteStatus(ctx, *rs)
			if err != nil {
				return err
			}
			note.RemoteStatusID = stored.ID
			if note.GroupKey == "" {
				note.GroupKey = note.Type + "-" + strconv.FormatInt(stored.ID, 10)
			}
		}
		id, ok, err := q.InsertNotification(ctx, note)
		if err != nil || !ok {
			return err
		}
		created, note.ID = true, id
		if m.set.Notifier != nil {
			return m.set.Notifier.Notified(ctx, q, note)
		}
		return nil
	})
	return created, err
}

func orDropped(err error) error {
	if err != nil {
		return err
	}
	return errDropped
}

// ourStatus is the status one of our posts' URI belongs to (0: not ours).
func (m *Mirror) ourStatus(ctx context.Context, uri string) (int64, error) {
	if uri == "" {
		return 0, nil
	}
	r, err := m.store.GetBlueskyRecordByURI(ctx, uri)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && r.Kind != storage.BlueskyKindPost) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return r.StatusID, nil
}

// blueskyProfile is how a Bluesky account is kept: its DID as actor id,
// its handle as acct and domain, its bio as sanitised HTML.
func blueskyProfile(au author, now time.Time) storage.RemoteProfile {
	handle := strings.ToLower(au.Handle)
	if _, err := syntax.ParseHandle(handle); err != nil {
		handle = "handle.invalid"
	}
	p := storage.RemoteProfile{
		ActorID: au.DID, Acct: handle, Domain: handle, URL: profileURL(handle),
		DisplayName: sanitize.Name(au.DisplayName, sanitize.MaxNameGraphemes), UpdatedAt: now,
		Summary: renderPost(sanitize.Text(au.Description, 2560), nil),
	}
	if handle == "handle.invalid" {
		p.URL = profileURL(au.DID)
	}
	if strings.HasPrefix(au.Avatar, "https://") || strings.HasPrefix(au.Avatar, "http://") {
		p.AvatarURL = au.Avatar
	}
	if p.Summary == "<p></p>" {
		p.Summary = ""
	}
	return p
}

// remoteID makes a time-ordered id for a remote post (as federation's:
// Unix milliseconds, 16 random low bits).
func remoteID(t time.Time) int64 {
	return max(t.UnixMilli(), 0)<<16 | int64(rand.IntN(1<<16))
}
