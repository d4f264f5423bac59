package atproto

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/storage"
)

// The raid shield on Bluesky (docs/safety.md, "Raids"): against a raid's
// replies, mentions and quotes that came from Bluesky, one call
// (ShieldRaid: the client API's raid block, and its block of an account
// taking part in a raid going on) records, in one transaction,
//
//   - for each of our threads the raid replied in: its replies setting
//     tightened to mentioned and following (never wider than it was:
//     buildGates), and the raid's replies to hide (hiddenReplies);
//   - for each of our posts the raid quoted: the quotes to detach
//     (detachedEmbeddingUris);
//   - the raid's Bluesky accounts as blocked by the account,
//
// and queues the mirror's jobs that write them on Bluesky: the statuses'
// gate records rewritten (MirrorGates, from the rule and the shield
// kept in storage, so that any later rewrite keeps them) and the block
// records (app.bsky.graph.block, those not there yet). Nothing touches
// the network during the call; a PDS outage delays the writes, never
// loses them. Doing it again adds nothing and queues nothing.

// shieldReplies is the replies setting a raided thread is tightened to.
const shieldReplies = config.RepliesFollowing

// maxShieldNotifications bounds the notifications a shield reads.
const maxShieldNotifications = 20000

// ShieldResult is what shielding a raid on Bluesky did.
type ShieldResult struct {
	// Threads is how many of our statuses get their gates written
	// again (0 when the shield had it all already).
	Threads int `json:"threads"`
	// HiddenReplies and DetachedQuotes count what those statuses' gates
	// now hide and detach (within the lexicons' bounds).
	HiddenReplies  int `json:"replies_hidden"`
	DetachedQuotes int `json:"quotes_detached"`
	// Accounts is how many Bluesky accounts took part; Blocked how many
	// of them were not blocked yet.
	Accounts int `json:"accounts"`
	Blocked  int `json:"accounts_blocked"`
}

// ShieldRaid shields one of our accounts on Bluesky against the raid of
// [from, to): see above.
func (m *Mirror) ShieldRaid(ctx context.Context, username string, from, to time.Time) (ShieldResult, error) {
	var res ShieldResult
	a := m.accounts[lower(username)]
	if a == nil {
		return res, fmt.Errorf("atproto: account %s is not mirrored to Bluesky", username)
	}
	ns, err := m.store.ListNotificationsBetween(ctx, a.Username,
		[]string{storage.NotificationMention, storage.NotificationQuote}, from, to, maxShieldNotifications)
	if err != nil {
		return res, err
	}
	type change struct {
		hidden, detached []storage.ShieldURI
		tighten          bool
	}
	changes := map[int64]*change{}
	var order []int64
	get := func(id int64) *change {
		c := changes[id]
		if c == nil {
			c = &change{}
			changes[id] = c
			order = append(order, id)
		}
		return c
	}
	roots := map[int64]int64{}
	var raiders []string
	seen := map[string]bool{}
	for _, n := range ns {
		if !IsBlueskyActor(n.ActorID) {
			continue
		}
		if !seen[n.ActorID] {
			seen[n.ActorID] = true
			raiders = append(raiders, n.ActorID)
		}
		if n.StatusID == 0 {
			continue // a mention outside our threads: its author is blocked
		}
		u := storage.ShieldURI{URI: n.ActivityID, At: n.CreatedAt}
		if n.Type == storage.NotificationQuote {
			c := get(n.StatusID)
			c.detached = append(c.detached, u)
			continue
		}
		root, ok := roots[n.StatusID]
		if !ok {
			if root, err = m.threadRoot(ctx, n.StatusID); err != nil {
				return res, err
			}
			roots[n.StatusID] = root
		}
		if root == 0 {
			continue // not a thread of ours on Bluesky
		}
		c := get(root)
		c.hidden = append(c.hidden, u)
		c.tighten = true
	}
	res.Accounts = len(raiders)
	var rewrite []int64
	err = m.store.InTx(ctx, func(q storage.Queries) error {
		res.Threads, res.HiddenReplies, res.DetachedQuotes, res.Blocked, rewrite = 0, 0, 0, 0, nil
		now := m.now()
		for _, id := range order {
			c := changes[id]
			ch := storage.BlueskyShieldChange{StatusID: id, Account: a.Username, Hidden: c.hidden, Detached: c.detached,
				MaxHidden: MaxHiddenReplies, MaxDetached: MaxDetachedQuotes, At: now}
			if c.tighten {
				ch.Replies = shieldReplies
			}
			changed, err := q.AddToBlueskyShield(ctx, ch)
			if err != nil {
				return err
			}
			sh, err := q.GetBlueskyShield(ctx, id)
			if err != nil {
				return err
			}
			res.HiddenReplies += len(sh.HiddenReplies)
			res.DetachedQuotes += len(sh.DetachedQuotes)
			if !changed {
				continue
			}
			if err := m.mirrorGates(ctx, q, a.Username, id); err != nil {
				return err
			}
			rewrite = append(rewrite, id)
		}
		res.Threads = len(rewrite)
		var block []string
		for _, did := range raiders {
			created, err := q.PutAccountBlock(ctx, storage.AccountBlock{Account: a.Username, ActorID: did, Kind: storage.BlockKindBlock, CreatedAt: now})
			if err != nil {
				return err
			}
			if created {
				block = append(block, did)
			}
		}
		res.Blocked = len(block)
		return m.mirrorBlocks(ctx, q, a, block)
	})
	if err != nil {
		return ShieldResult{}, fmt.Errorf("atproto: shield %s against the raid: %w", a.Username, err)
	}
	if len(rewrite) > 0 || res.Blocked > 0 {
		m.wake.Nudge()
	}
	m.log.Warn().Str("account", a.Username).Time("from", from).Time("to", to).Ints64("statuses", rewrite).
		Int("hidden", res.HiddenReplies).Int("detached", res.DetachedQuotes).Int("accounts", res.Accounts).
		Int("blocked", res.Blocked).Msg("bluesky: raid shielded")
	return res, nil
}

// threadRoot is the status of ours whose post roots the Bluesky thread
// statusID is in (the one with the threadgate), 0 when none is: a
// Bluesky-only answer to someone else's post, a status not mirrored.
func (m *Mirror) threadRoot(ctx context.Context, statusID int64) (int64, error) {
	id := statusID
	for depth := 0; id != 0 && depth < 100; depth++ {
		recs, err := m.store.ListBlueskyRecords(ctx, id)
		if err != nil {
			return 0, err
		}
		for _, r := range recs {
			if r.Kind == storage.BlueskyKindThreadgate && r.Position == 0 {
				return id, nil
			}
		}
		st, err := m.store.GetStatus(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		id = st.InReplyToID
	}
	return 0, nil
}
