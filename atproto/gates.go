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
// from the policy the status has now (gateRecords): each gate it needs is
// put (created or replaced), each it no longer needs deleted. Both are
// idempotent, so a retry after a partial run finishes the work.
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
	gates := map[recordKey]storage.BlueskyRecord{}
	for _, r := range recs {
		if r.Kind != storage.BlueskyKindPost {
			gates[recordKey{r.Kind, r.Position}] = r
			if r.Kind == storage.BlueskyKindThreadgate && r.Position == 0 {
				topLevel = true
			}
		}
	}
	for _, post := range recs {
		if post.Kind != storage.BlueskyKindPost || post.URI == "" {
			continue // not written yet: its job writes it with the policy it then has
		}
		created := st.CreatedAt.Add(time.Duration(post.Position) * time.Millisecond)
		want := map[string]bool{}
		for _, g := range gateRecords(pol, post.Position == 0 && topLevel, post.URI, created) {
			want[g.kind] = true
			if err := m.putGate(ctx, a, st.ID, post, g); err != nil {
				return err
			}
		}
		for _, kind := range []string{storage.BlueskyKindThreadgate, storage.BlueskyKindPostgate} {
			r, ok := gates[recordKey{kind, post.Position}]
			if want[kind] || !ok {
				continue
			}
			if err := m.deleteRecords(ctx, a, []storage.BlueskyRecord{r}); err != nil {
				return err
			}
		}
	}
	return nil
}

// putGate creates or replaces one gate record of a post (its record key
// is the post's) and saves it.
func (m *Mirror) putGate(ctx context.Context, a *account, statusID int64, post storage.BlueskyRecord, g gateRecord) error {
	var uri, cid string
	err := m.call(ctx, a, func(c *atclient.APIClient) error {
		out, err := comatproto.RepoPutRecord(ctx, c, &comatproto.RepoPutRecord_Input{
			Repo: c.AccountDID.String(), Collection: collectionOf(g.kind), Rkey: post.RKey,
			Record: &lexutil.LexiconTypeDecoder{Val: g.record},
		})
		if err != nil {
			return err
		}
		uri, cid = out.Uri, out.Cid
		return nil
	})
	if err != nil {
		return fmt.Errorf("atproto: put %s %s: %w", g.kind, post.RKey, err)
	}
	return m.store.PutBlueskyRecord(ctx, storage.BlueskyRecord{
		StatusID: statusID, Kind: g.kind, Position: post.Position, Account: a.Username, RKey: post.RKey, URI: uri, CID: cid, CreatedAt: m.now(),
	})
}
