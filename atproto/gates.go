package atproto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/atclient"
	lexutil "github.com/bluesky-social/indigo/lex/util"
	cbg "github.com/whyrusleeping/cbor-gen"

	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/storage"
)

// The gate records of our posts (app.bsky.feed.threadgate on a thread's
// root, app.bsky.feed.postgate on a post) are built by one function,
// buildGates, from the post's rule (gateRule: who may reply, who may
// quote) and its shield (storage.BlueskyShield: the replies setting a
// raid tightened the thread to, the replies hidden, the quotes
// detached). Whoever writes gates (the post's creation, a raid block,
// crisis mode) goes through it, so that no rewrite drops what the
// shield keeps. A rewrite of a status's gates is a job of the mirror's
// pool (MirrorGates): retried like every write, never lost to a PDS
// outage.

// Bounds of the gate records' lists: what the lexicons take (the pinned
// @atproto/pds and @atproto/bsky: app.bsky.feed.threadgate hiddenReplies
// at most 300, app.bsky.feed.postgate detachedEmbeddingUris at most 50).
// The newest are kept.
const (
	MaxHiddenReplies  = 300
	MaxDetachedQuotes = 50
)

// Job actions of the gates and the raid blocks.
const (
	actionGates  = "gates"
	actionBlocks = "blocks"
)

// gateRule is what one post's gate records are built from.
type gateRule struct {
	replies policy.Rule // who may reply to the post's thread (its root's)
	quotes  policy.Rule // who may quote it: Bluesky can only allow all, or none
	shield  storage.BlueskyShield
}

// gateRule is the rule of one of our statuses: its own interaction
// policy over the account's (postPolicy), and its shield. Crisis mode
// narrows the rule here.
func (m *Mirror) gateRule(ctx context.Context, a *account, statusID int64) (gateRule, error) {
	pol, err := m.postPolicy(ctx, a, statusID)
	if err != nil {
		return gateRule{}, err
	}
	sh, err := m.store.GetBlueskyShield(ctx, statusID)
	if err != nil {
		return gateRule{}, err
	}
	return gateRule{replies: policy.Replies(pol.replies), quotes: policy.Quotes(pol.quotes), shield: sh}, nil
}

// buildGates builds the gate records of our post at postURI: the
// threadgate when the post is a thread's root (nil otherwise), the
// postgate when it is needed (nil when anyone may quote it and no quote
// is detached). The threadgate lets in whom the rule and the shield's
// replies setting both let in (never more than either), and hides the
// shield's newest MaxHiddenReplies replies; the postgate forbids quoting
// when the rule does not let everyone quote, and detaches the shield's
// newest MaxDetachedQuotes quotes.
func buildGates(g gateRule, postURI string, root bool, created time.Time) (*threadgateRecord, *bsky.FeedPostgate) {
	var tg *threadgateRecord
	if root {
		r := g.replies
		if g.shield.Replies != "" {
			r = r.And(policy.Replies(g.shield.Replies))
		}
		tg = threadgate(r, postURI, created)
		tg.HiddenReplies = first(g.shield.HiddenReplies, MaxHiddenReplies)
	}
	quotable := g.quotes.Public
	detached := first(g.shield.DetachedQuotes, MaxDetachedQuotes)
	if quotable && len(detached) == 0 {
		return tg, nil
	}
	pg := &bsky.FeedPostgate{LexiconTypeID: collPostgate, Post: postURI, CreatedAt: datetime(created), DetachedEmbeddingUris: detached}
	if !quotable {
		pg.EmbeddingRules = []*bsky.FeedPostgate_EmbeddingRules_Elem{{FeedPostgate_DisableRule: &bsky.FeedPostgate_DisableRule{}}}
	}
	return tg, pg
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// kinds lists the gate records a post gets (storage.BlueskyKind*).
func (g gateRule) kinds(root bool) []string {
	tg, pg := buildGates(g, "", root, time.Time{})
	var out []string
	if tg != nil {
		out = append(out, storage.BlueskyKindThreadgate)
	}
	if pg != nil {
		out = append(out, storage.BlueskyKindPostgate)
	}
	return out
}

// MirrorGates queues, in q's transaction, the rewrite of the gate
// records of one of our statuses from its rule and shield (a raid block,
// crisis mode). It does nothing for an account that is not mirrored or
// a status that never was.
func (m *Mirror) MirrorGates(ctx context.Context, q storage.Queries, st storage.Status) error {
	return m.mirrorGates(ctx, q, st.Account, st.ID)
}

// mirrorGates is MirrorGates of a status known by its account and id.
func (m *Mirror) mirrorGates(ctx context.Context, q storage.Queries, account string, statusID int64) error {
	a := m.accounts[lower(account)]
	if a == nil {
		return nil
	}
	if _, err := q.GetBlueskyPost(ctx, statusID); errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	body, err := json.Marshal(jobPayload{Action: actionGates, Account: a.Username, StatusID: statusID})
	if err != nil {
		return err
	}
	_, err = q.EnqueueJob(ctx, storage.NewJob{Kind: JobKind, Payload: body, Host: jobHost(a.Username),
		Ref: "gates:" + strconv.FormatInt(statusID, 10) + ":bluesky"})
	return err
}

// mirrorBlocks queues, in q's transaction, block records of the
// accounts (DIDs), written by the mirror's pool.
func (m *Mirror) mirrorBlocks(ctx context.Context, q storage.Queries, a *account, dids []string) error {
	for start := 0; start < len(dids); start += maxBlocksJob {
		body, err := json.Marshal(jobPayload{Action: actionBlocks, Account: a.Username, Subjects: dids[start:min(start+maxBlocksJob, len(dids))]})
		if err != nil {
			return err
		}
		if _, err := q.EnqueueJob(ctx, storage.NewJob{Kind: JobKind, Payload: body, Host: jobHost(a.Username),
			Ref: "blocks:" + a.Username + ":bluesky"}); err != nil {
			return err
		}
	}
	return nil
}

// Bounds of the raid blocks' jobs.
const (
	maxBlocksJob   = 500 // accounts a job blocks
	maxApplyWrites = 100 // writes of one applyWrites (the PDS takes 200)
)

// runGates writes a status's gate records again (MirrorGates): for each
// of its posts on Bluesky, what buildGates makes of its rule and shield,
// with putRecord (the same records again on a retry); a postgate no
// longer needed is deleted.
func (m *Mirror) runGates(ctx context.Context, a *account, p jobPayload) error {
	st, err := m.store.GetStatus(ctx, p.StatusID)
	if errors.Is(err, storage.ErrNotFound) {
		return errSuperseded
	}
	if err != nil {
		return err
	}
	if !st.DeletedAt.IsZero() {
		return errSuperseded
	}
	mp, err := m.store.GetBlueskyPost(ctx, st.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return errSuperseded
	}
	if err != nil {
		return err
	}
	recs, err := m.store.ListBlueskyRecords(ctx, st.ID)
	if err != nil {
		return err
	}
	posts, root, postgates := []storage.BlueskyRecord{}, false, map[int]storage.BlueskyRecord{}
	for _, r := range recs {
		switch {
		case r.Kind == storage.BlueskyKindPost && r.URI != "":
			posts = append(posts, r)
		case r.Kind == storage.BlueskyKindThreadgate && r.Position == 0:
			root = true
		case r.Kind == storage.BlueskyKindPostgate:
			postgates[r.Position] = r
		}
	}
	if len(posts) == 0 || mp.State == storage.BlueskyPending {
		if mp.State == storage.BlueskyPending {
			return errParentPending // its creation writes the gates; wait for it, then write them again
		}
		return errSuperseded // not on Bluesky (skipped, failed, deleted)
	}
	g, err := m.gateRule(ctx, a, st.ID)
	if err != nil {
		return err
	}
	for _, r := range posts {
		created := st.CreatedAt.Add(time.Duration(r.Position) * time.Millisecond)
		tg, pg := buildGates(g, r.URI, root && r.Position == 0, created)
		if tg != nil {
			if err := m.putGate(ctx, a, st.ID, r, storage.BlueskyKindThreadgate, collThreadgate, tg); err != nil {
				return err
			}
		}
		if pg != nil {
			if err := m.putGate(ctx, a, st.ID, r, storage.BlueskyKindPostgate, collPostgate, pg); err != nil {
				return err
			}
			continue
		}
		if old, ok := postgates[r.Position]; ok {
			if err := m.deleteRecords(ctx, a, []storage.BlueskyRecord{old}); err != nil {
				return err
			}
		}
	}
	return nil
}

// putGate writes one gate record of a post at the post's record key and
// saves it.
func (m *Mirror) putGate(ctx context.Context, a *account, statusID int64, post storage.BlueskyRecord, kind, coll string, rec cbg.CBORMarshaler) error {
	// Not comatproto.RepoPutRecord: its input sends "swapRecord": null,
	// which the PDS reads as "only if the record does not exist yet"
	// (InvalidSwap for a gate being rewritten).
	var out comatproto.RepoPutRecord_Output
	err := m.call(ctx, a, func(c *atclient.APIClient) error {
		body := map[string]any{"repo": c.AccountDID.String(), "collection": coll, "rkey": post.RKey,
			"record": &lexutil.LexiconTypeDecoder{Val: rec}}
		return c.Post(ctx, "com.atproto.repo.putRecord", body, &out)
	})
	if err != nil {
		return fmt.Errorf("atproto: write the %s of status %d: %w", kind, statusID, err)
	}
	return m.store.PutBlueskyRecord(ctx, storage.BlueskyRecord{
		StatusID: statusID, Kind: kind, Position: post.Position, Account: a.Username, RKey: post.RKey,
		URI: out.Uri, CID: out.Cid, CreatedAt: m.now(),
	})
}

// runBlocks writes the block records of the accounts a job names that
// the account does not block yet (its own block records, read once,
// decide: a retry or a second raid block writes nothing twice), by
// applyWrites of up to maxApplyWrites.
func (m *Mirror) runBlocks(ctx context.Context, a *account, p jobPayload) error {
	have, err := m.listBlocks(ctx, a)
	if err != nil {
		return err
	}
	var writes []*comatproto.RepoApplyWrites_Input_Writes_Elem
	seen := map[string]bool{}
	for _, did := range p.Subjects {
		if !IsBlueskyActor(did) || len(have[did]) > 0 || seen[did] {
			continue
		}
		seen[did] = true
		block := &bsky.GraphBlock{LexiconTypeID: collBlock, Subject: did, CreatedAt: datetime(m.now())}
		writes = append(writes, createOp(collBlock, m.tids.Next().String(), block))
	}
	for start := 0; start < len(writes); start += maxApplyWrites {
		chunk := writes[start:min(start+maxApplyWrites, len(writes))]
		err := m.call(ctx, a, func(c *atclient.APIClient) error {
			_, err := comatproto.RepoApplyWrites(ctx, c, &comatproto.RepoApplyWrites_Input{Repo: c.AccountDID.String(), Writes: chunk})
			return err
		})
		if err != nil {
			return fmt.Errorf("atproto: write %d block records: %w", len(chunk), err)
		}
	}
	return nil
}
