package atproto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/atclient"
	lexutil "github.com/bluesky-social/indigo/lex/util"

	"github.com/passerelle/passerelle/storage"
)

// When a post's interaction policy changes after it was mirrored (crisis
// mode, package publish), its gates are written again from the policy it
// now has: a job of the mirror's pool (durable, retried like the others),
// queued in the transaction that changed the policy.

// actionGates rewrites a status's gate records.
const actionGates = "gates"

// MirrorGates queues, in q (the transaction that changed the policy of
// our status st), the rewriting of its threadgate and postgate on
// Bluesky. A status that was never mirrored gets nothing; one whose
// records are not written yet gets them with the policy it has when they
// are (its own job reads it then).
func (m *Mirror) MirrorGates(ctx context.Context, q storage.Queries, st storage.Status) error {
	a := m.accounts[strings.ToLower(st.Account)]
	if a == nil {
		return nil
	}
	if _, err := q.GetBlueskyPost(ctx, st.ID); errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	body, err := json.Marshal(jobPayload{Action: actionGates, StatusID: st.ID, Account: a.Username})
	if err != nil {
		return err
	}
	_, err = q.EnqueueJob(ctx, storage.NewJob{
		Kind: JobKind, Payload: body, Host: jobHost(a.Username), Ref: jobRef(st.ID),
		Key: fmt.Sprintf("bluesky:%d:gates:%d", st.ID, m.now().UnixNano()),
	})
	return err
}

// syncGates writes the gates of a status's posts that are on Bluesky
// from the policy the status has now (gateRecords): for each post, in one
// applyWrites (all or nothing), each gate it needs is created or
// updated, each it no longer needs deleted. What exists is asked of the
// PDS first, so that a retry after a partial run finishes the work.
func (m *Mirror) syncGates(ctx context.Context, a *account, p jobPayload) error {
	st, err := m.store.GetStatus(ctx, p.StatusID)
	if errors.Is(err, storage.ErrNotFound) {
		return permanent(fmt.Errorf("atproto: status %d does not exist", p.StatusID))
	}
	if err != nil {
		return err
	}
	if !st.DeletedAt.IsZero() {
		return errSuperseded // its records are deleted
	}
	recs, err := m.store.ListBlueskyRecords(ctx, st.ID)
	if err != nil {
		return err
	}
	pol, err := m.postPolicy(ctx, a, st.ID)
	if err != nil {
		return err
	}
	// The thread's root carries the threadgate: the first post of a
	// status that replies to nothing (it always got one).
	topLevel := st.InReplyToID == 0 && st.Visibility != storage.VisibilityBluesky
	for _, r := range recs {
		if r.Kind == storage.BlueskyKindThreadgate && r.Position == 0 {
			topLevel = true
		}
	}
	for _, post := range recs {
		if post.Kind != storage.BlueskyKindPost || post.URI == "" {
			continue // not written yet: its job writes it with the policy it then has
		}
		created := st.CreatedAt.Add(time.Duration(post.Position) * time.Millisecond)
		if err := m.writeGates(ctx, a, st.ID, post, gateRecords(pol, post.Position == 0 && topLevel, post.URI, created)); err != nil {
			return err
		}
	}
	return nil
}

// writeGates makes a post's gates on the PDS exactly want, in one
// applyWrites, and saves them.
func (m *Mirror) writeGates(ctx context.Context, a *account, statusID int64, post storage.BlueskyRecord, want []gateRecord) error {
	var (
		writes  []*comatproto.RepoApplyWrites_Input_Writes_Elem
		kinds   []string
		deleted []string
	)
	wanted := map[string]gateRecord{}
	for _, g := range want {
		wanted[g.kind] = g
	}
	for _, kind := range []string{storage.BlueskyKindThreadgate, storage.BlueskyKindPostgate} {
		coll := collectionOf(kind)
		uri, _, err := m.getRecord(ctx, a, coll, post.RKey)
		if err != nil {
			return err
		}
		g, ok := wanted[kind]
		switch {
		case ok && uri != "":
			writes = append(writes, &comatproto.RepoApplyWrites_Input_Writes_Elem{RepoApplyWrites_Update: &comatproto.RepoApplyWrites_Update{
				Collection: coll, Rkey: post.RKey, Value: &lexutil.LexiconTypeDecoder{Val: g.record},
			}})
			kinds = append(kinds, kind)
		case ok:
			writes = append(writes, createOp(coll, post.RKey, g.record))
			kinds = append(kinds, kind)
		case uri != "":
			writes = append(writes, &comatproto.RepoApplyWrites_Input_Writes_Elem{RepoApplyWrites_Delete: &comatproto.RepoApplyWrites_Delete{
				Collection: coll, Rkey: post.RKey,
			}})
			kinds = append(kinds, kind)
			deleted = append(deleted, kind)
		default:
			deleted = append(deleted, kind) // gone already: forget it
		}
	}
	if len(writes) > 0 {
		var out *comatproto.RepoApplyWrites_Output
		err := m.call(ctx, a, func(c *atclient.APIClient) error {
			var err error
			out, err = comatproto.RepoApplyWrites(ctx, c, &comatproto.RepoApplyWrites_Input{Repo: c.AccountDID.String(), Writes: writes})
			return err
		})
		if err != nil {
			return fmt.Errorf("atproto: write the gates of post %d of status %d: %w", post.Position, statusID, err)
		}
		for k, res := range out.Results {
			if k >= len(kinds) {
				break
			}
			var uri, cid string
			switch {
			case res.RepoApplyWrites_CreateResult != nil:
				uri, cid = res.RepoApplyWrites_CreateResult.Uri, res.RepoApplyWrites_CreateResult.Cid
			case res.RepoApplyWrites_UpdateResult != nil:
				uri, cid = res.RepoApplyWrites_UpdateResult.Uri, res.RepoApplyWrites_UpdateResult.Cid
			default:
				continue
			}
			if err := m.store.PutBlueskyRecord(ctx, storage.BlueskyRecord{
				StatusID: statusID, Kind: kinds[k], Position: post.Position, Account: a.Username, RKey: post.RKey, URI: uri, CID: cid, CreatedAt: m.now(),
			}); err != nil {
				return err
			}
		}
	}
	for _, kind := range deleted {
		if err := m.store.DeleteBlueskyRecord(ctx, statusID, kind, post.Position); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return nil
}
