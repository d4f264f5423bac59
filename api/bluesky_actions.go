package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/atproto"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// Acting on Bluesky accounts from the app (docs/bluesky.md): a block
// writes an app.bsky.graph.block record, a mute calls
// app.bsky.graph.muteActor, and their undos, through the account's PDS,
// before the bridge records them (so that nothing is recorded that
// Bluesky did not take); a report (POST /api/v1/reports) of a Bluesky
// account is com.atproto.moderation.createReport, sent through the PDS
// to its moderation service. Replies, favourites and boosts of Bluesky
// posts go through package publish like every other.

// BlueskyActions is what the API asks of the Bluesky mirror
// (*atproto.Mirror; an interface, so that tests can stand in for it). Its errors with a BlueskyMessage (atproto.ActionError) are
// answered 502 with that message.
type BlueskyActions interface {
	Mirrors(account string) bool
	BlockActor(ctx context.Context, username, did string, on bool) error
	MuteActor(ctx context.Context, username, did string, on bool) error
	Report(ctx context.Context, username, did string, postURIs []string, reasonType, comment string) (int, error)
	// ShieldRaid shields the account on Bluesky against the raid of
	// [from, to) (raids.go).
	ShieldRaid(ctx context.Context, username string, from, to time.Time) (atproto.ShieldResult, error)
}

var errNoBluesky = unprocessable("Validation failed: this account is not mirrored to Bluesky, so it cannot act on Bluesky accounts")

// blueskyError is the answer to an action Bluesky refused or could not
// take: 502 with the reason.
func blueskyError(err error) error {
	var ae interface{ BlueskyMessage() string }
	if errors.As(err, &ae) {
		return &apiError{http.StatusBadGateway, ae.BlueskyMessage()}
	}
	return err
}

// blueskyAccountAction blocks, unblocks, mutes or unmutes a Bluesky
// account, on Bluesky first, then here (the notification reader drops
// what blocked or muted accounts do).
func (s *Server) blueskyAccountAction(ctx context.Context, c *caller, p storage.RemoteProfile, kind string, on bool) error {
	b := s.set.Bluesky
	if b == nil || !b.Mirrors(c.name) {
		return errNoBluesky
	}
	var err error
	if kind == storage.BlockKindBlock {
		err = b.BlockActor(ctx, c.name, p.ActorID, on)
	} else {
		err = b.MuteActor(ctx, c.name, p.ActorID, on)
	}
	if err != nil {
		return blueskyError(err)
	}
	if on {
		_, err = s.store.PutAccountBlock(ctx, storage.AccountBlock{Account: c.name, ActorID: p.ActorID, Kind: kind, CreatedAt: s.now()})
	} else if _, err = s.store.DeleteAccountBlock(ctx, c.name, p.ActorID, kind); errors.Is(err, storage.ErrNotFound) {
		err = nil
	}
	if err == nil && on && kind == storage.BlockKindBlock {
		err = s.shieldRaidOf(ctx, c, p.ActorID)
	}
	return err
}

// shieldRaidOf: blocking a Bluesky account that takes part in a raid
// going on (one of its mentions or quotes is the raid's) shields the
// account against the whole raid on Bluesky, as the raid's block does
// (raids.go): its threads tightened, its replies hidden, its quotes
// detached, its accounts blocked.
func (s *Server) shieldRaidOf(ctx context.Context, c *caller, actorID string) error {
	spans, err := s.raids(ctx, c.name, raidThreshold)
	if err != nil {
		return err
	}
	for _, sp := range spans {
		if !s.now().Before(sp.to.Add(raidWindow)) {
			continue // over
		}
		ns, err := s.store.ListNotificationsBetween(ctx, c.name, moderation.RaidTypes, sp.from, sp.to, raidShieldScan)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(ns, func(n storage.Notification) bool { return n.ActorID == actorID }) {
			continue
		}
		res, err := s.set.Bluesky.ShieldRaid(ctx, c.name, sp.from, sp.to)
		if err != nil {
			return err
		}
		reqlog.Logger(ctx, s.log).Warn().Str("account", c.name).Str("raid", sp.id()).Str("blocked", actorID).
			Int("threads", res.Threads).Int("hidden", res.HiddenReplies).Int("detached", res.DetachedQuotes).
			Int("accounts_blocked", res.Blocked).Msg("raid shielded on Bluesky: one of its accounts was blocked through the client API")
	}
	return nil
}

// raidShieldScan bounds the notifications read to find a raid's account.
const raidShieldScan = 20000

// Report is Mastodon's Report entity.
type Report struct {
	ID            string   `json:"id"`
	ActionTaken   bool     `json:"action_taken"`
	ActionTakenAt *string  `json:"action_taken_at"`
	Category      string   `json:"category"`
	Comment       string   `json:"comment"`
	Forwarded     bool     `json:"forwarded"`
	CreatedAt     string   `json:"created_at"`
	StatusIDs     []string `json:"status_ids"`
	RuleIDs       []string `json:"rule_ids"`
	TargetAccount Account  `json:"target_account"`
}

// reasonFor maps a Mastodon report category to a Bluesky reason type
// (com.atproto.moderation.defs).
func reasonFor(category string) string {
	switch category {
	case "spam":
		return "com.atproto.moderation.defs#reasonSpam"
	case "violation", "legal":
		return "com.atproto.moderation.defs#reasonViolation"
	}
	return "com.atproto.moderation.defs#reasonOther"
}

// maxReportComment bounds a report's comment (Mastodon's limit).
const maxReportComment = 1000

func (s *Server) blueskyRoutes(handle func(string, http.HandlerFunc)) {
	handle("POST /api/v1/reports", s.user("write:reports", s.audited("account.report", s.report)))
}

// report sends a report of a Bluesky account (and some of its posts) to
// Bluesky's moderation, through the account's PDS. The fediverse's
// accounts cannot be reported here: this server has no moderators to
// report to, and sends no Flag.
func (s *Server) report(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	p, err := parseParams(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := p.str("account_id")
	if id == "" {
		s.fail(w, r, unprocessable("Validation failed: account_id is missing"))
		return
	}
	prof, err := s.remoteProfileByID(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !isBlueskyActor(prof.ActorID) {
		s.fail(w, r, unprocessable("Validation failed: only Bluesky accounts can be reported from this server (to Bluesky's moderation); block the account or its server instead"))
		return
	}
	category := p.str("category")
	switch category {
	case "":
		category = "other"
	case "spam", "legal", "violation", "other":
	default:
		s.fail(w, r, unprocessable("Validation failed: category must be spam, legal, violation or other"))
		return
	}
	comment := strings.TrimSpace(p.str("comment"))
	if len([]rune(comment)) > maxReportComment {
		s.fail(w, r, unprocessable("Validation failed: comment is too long (at most 1000 characters)"))
		return
	}
	ids, _ := p.list("status_ids")
	var uris []string
	for _, sid := range ids {
		n, err := strconv.ParseInt(sid, 10, 64)
		var rs storage.RemoteStatus
		if err == nil {
			rs, err = s.store.GetRemoteStatus(ctx, n)
		}
		if err != nil || rs.ActorID != prof.ActorID || !strings.HasPrefix(rs.NoteID, "at://") {
			s.fail(w, r, unprocessable("Validation failed: status "+sid+" is not a post of the reported account"))
			return
		}
		uris = append(uris, rs.NoteID)
	}
	b := s.set.Bluesky
	if b == nil || !b.Mirrors(c.name) {
		s.fail(w, r, errNoBluesky)
		return
	}
	if _, err := b.Report(ctx, c.name, prof.ActorID, uris, reasonFor(category), comment); err != nil {
		s.fail(w, r, blueskyError(err))
		return
	}
	now := s.now()
	if ids == nil {
		ids = []string{}
	}
	auditTarget(r, prof.Acct)
	writeJSON(w, http.StatusOK, Report{
		ID: idString(now.UnixMilli() << 16), Category: category, Comment: comment, Forwarded: true,
		CreatedAt: timeString(now), StatusIDs: ids, TargetAccount: s.blueskyAccount(prof),
	})
}

// blueskyOnly shows a Bluesky-only status (a reply to a Bluesky post) as
// the public post it is on Bluesky: visibility public, its uri and url
// those of its record once mirrored (its permalink here answers 404, and
// the fediverse never hears of it).
func (s *Server) blueskyOnly(ctx context.Context, st storage.Status, out *Status) error {
	out.Visibility = storage.VisibilityPublic
	recs, err := s.store.ListBlueskyRecords(ctx, st.ID)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Kind == storage.BlueskyKindPost && r.Position == 0 && r.URI != "" {
			out.URI = r.URI
			if did, rkey, ok := strings.Cut(strings.TrimPrefix(r.URI, "at://"), "/app.bsky.feed.post/"); ok {
				out.URL = "https://bsky.app/profile/" + did + "/post/" + rkey
			}
		}
	}
	return nil
}
