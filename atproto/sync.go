package atproto

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
	lexutil "github.com/bluesky-social/indigo/lex/util"
	cbg "github.com/whyrusleeping/cbor-gen"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/storage"
)

// How a status's records are written, so that nothing is lost or
// duplicated whatever fails:
//
//   - The record keys are TIDs chosen when the job is queued (in the job's
//     payload), so a retried creation targets the same record.
//   - Each record is first saved in the mapping as planned (key, no URI),
//     then created with applyWrites together with its threadgate and
//     postgate (one commit: all or nothing), then saved with its URI and
//     CID. A retry skips the records already saved; for the others it
//     first asks the PDS (getRecord) whether an earlier attempt created
//     them before it could record it.
//   - An edit (recreate) deletes the records whose keys are not the new
//     version's, then creates the new ones; a delete removes them all, the
//     planned ones included (deleting a missing record is a no-op).

var (
	errParentPending = errors.New("atproto: the post this one replies to is not on Bluesky yet")
	// errSuperseded: the status changed since the job was queued (it was
	// deleted); the job that followed does the work.
	errSuperseded = errors.New("atproto: superseded")
)

// run does a job; the state is the post's mirror state on success.
func (m *Mirror) run(ctx context.Context, a *account, p jobPayload, j storage.Job) (string, error) {
	if p.Action == actionDelete {
		return storage.BlueskyDeleted, m.deleteAll(ctx, a, p.StatusID)
	}
	if err := m.sync(ctx, a, p, j); err != nil {
		return "", err
	}
	if p.Action == actionCreate {
		m.expectReplies(ctx, a)
	}
	return storage.BlueskyMirrored, nil
}

// rkeyFor is the record key of the post at position i of a job's thread:
// the job's TIDs, then, should the thread have become longer than planned
// (the configuration changed in between), TIDs derived from the last one
// on another clock id, which no other post of ours can use.
func rkeyFor(tids []string, i int) (string, error) {
	if i < len(tids) {
		return tids[i], nil
	}
	if len(tids) == 0 {
		return "", permanent(errors.New("atproto: job has no record keys"))
	}
	last, err := syntax.ParseTID(tids[len(tids)-1])
	if err != nil {
		return "", permanent(fmt.Errorf("atproto: job has an invalid record key: %w", err))
	}
	extra := i - len(tids) + 1
	return syntax.NewTID(last.Time().UnixMicro()+int64(extra), (last.ClockID()+512)%1024).String(), nil
}

type recordKey struct {
	kind     string
	position int
}

// sync creates (or recreates) the status's records.
func (m *Mirror) sync(ctx context.Context, a *account, p jobPayload, j storage.Job) error {
	st, err := m.store.GetStatus(ctx, p.StatusID)
	if errors.Is(err, storage.ErrNotFound) {
		return permanent(fmt.Errorf("atproto: status %d does not exist", p.StatusID))
	}
	if err != nil {
		return err
	}
	if !st.DeletedAt.IsZero() {
		return errSuperseded // its delete job follows
	}
	ms, err := m.store.ListStatusMedia(ctx, st.ID)
	if err != nil {
		return err
	}
	if a.Bluesky.AltText == config.AltTextRequired {
		for i, md := range ms {
			if md.Description == "" {
				return permanent(fmt.Errorf("image %d has no description (alt text), which Bluesky needs to be accessible: add one and edit the post, or set bluesky.alt_text: optional", i+1))
			}
		}
	}
	handles, err := m.resolvableHandles(ctx, a, st)
	if err != nil {
		return err
	}
	pl := m.plan(a, st, ms, handles)
	keep := map[string]bool{}
	for i := range pl.records {
		rk, err := rkeyFor(p.TIDs, i)
		if err != nil {
			return err
		}
		keep[rk] = true
	}

	recs, err := m.store.ListBlueskyRecords(ctx, st.ID)
	if err != nil {
		return err
	}
	// Records of an earlier version go first (edits: recreate).
	var stale []storage.BlueskyRecord
	have := map[recordKey]storage.BlueskyRecord{}
	for _, r := range recs {
		if keep[r.RKey] {
			have[recordKey{r.Kind, r.Position}] = r
		} else {
			stale = append(stale, r)
		}
	}
	if err := m.deleteRecords(ctx, a, stale); err != nil {
		return err
	}

	var root, parent *comatproto.RepoStrongRef
	if st.Visibility == storage.VisibilityBluesky {
		root, parent, err = m.blueskyReplyRefs(ctx, a, st) // act.go
	} else {
		root, parent, err = m.replyRefs(ctx, st)
	}
	if err != nil {
		return err
	}
	isReply := parent != nil
	gr, err := m.gateRule(ctx, a, st.ID)
	if err != nil {
		return err
	}
	for i, rp := range pl.records {
		rkey, _ := rkeyFor(p.TIDs, i)
		if r, ok := have[recordKey{storage.BlueskyKindPost, i}]; ok && r.URI != "" {
			ref := strongRef(r.URI, r.CID)
			if root == nil {
				root = ref
			}
			parent = ref
			continue
		}
		if _, ok := have[recordKey{storage.BlueskyKindPost, i}]; !ok {
			if err := m.store.PutBlueskyRecord(ctx, storage.BlueskyRecord{
				StatusID: st.ID, Kind: storage.BlueskyKindPost, Position: i, Account: a.Username, RKey: rkey, CreatedAt: m.now(),
			}); err != nil {
				return err
			}
		}
		gates := gr.kinds(i == 0 && !isReply)
		var ref *comatproto.RepoStrongRef
		if j.Attempts > 1 {
			// An earlier attempt may have created it and died before
			// saving it.
			if ref, err = m.adopt(ctx, a, st.ID, i, rkey, gates); err != nil {
				return err
			}
		}
		if ref == nil {
			if ref, err = m.create(ctx, a, st, ms, rp, i, rkey, gates, gr, root, parent); err != nil {
				return err
			}
		}
		if root == nil {
			root = ref
		}
		parent = ref
	}
	return nil
}

// postPolicy is who may reply to and quote one post: the post's own
// policy (set through the client API's interaction_policy) over the
// account's.
type postPolicy struct{ replies, quotes string }

func (m *Mirror) postPolicy(ctx context.Context, a *account, statusID int64) (postPolicy, error) {
	p := postPolicy{replies: a.Replies, quotes: a.Bluesky.Quotes}
	sp, err := m.store.GetStatusPolicy(ctx, statusID)
	if errors.Is(err, storage.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	p.replies = policy.Effective(p.replies, sp.Replies)
	p.quotes = policy.Effective(p.quotes, sp.Quotes)
	return p, nil
}

func collectionOf(kind string) string {
	switch kind {
	case storage.BlueskyKindThreadgate:
		return collThreadgate
	case storage.BlueskyKindPostgate:
		return collPostgate
	}
	return collPost
}

// adopt looks for a post (and its gates) an earlier attempt created, and
// saves it; nil when the post does not exist.
func (m *Mirror) adopt(ctx context.Context, a *account, statusID int64, pos int, rkey string, gates []string) (*comatproto.RepoStrongRef, error) {
	var ref *comatproto.RepoStrongRef
	for _, kind := range append([]string{storage.BlueskyKindPost}, gates...) {
		uri, cid, err := m.getRecord(ctx, a, collectionOf(kind), rkey)
		if err != nil {
			return nil, err
		}
		if uri == "" {
			if kind == storage.BlueskyKindPost {
				return nil, nil
			}
			continue
		}
		if err := m.store.PutBlueskyRecord(ctx, storage.BlueskyRecord{
			StatusID: statusID, Kind: kind, Position: pos, Account: a.Username, RKey: rkey, URI: uri, CID: cid, CreatedAt: m.now(),
		}); err != nil {
			return nil, err
		}
		if kind == storage.BlueskyKindPost {
			ref = strongRef(uri, cid)
			m.log.Info().Int64("status", statusID).Str("uri", uri).Msg("bluesky: found the post an earlier attempt created")
		}
	}
	return ref, nil
}

// getRecord returns a record's URI and CID, or "" when it does not exist.
func (m *Mirror) getRecord(ctx context.Context, a *account, collection, rkey string) (uri, cid string, err error) {
	err = m.call(ctx, a, func(c *atclient.APIClient) error {
		out, err := comatproto.RepoGetRecord(ctx, c, "", collection, c.AccountDID.String(), rkey)
		if err != nil {
			return err
		}
		uri = out.Uri
		if out.Cid != nil {
			cid = *out.Cid
		}
		return nil
	})
	var api *atclient.APIError
	if errors.As(err, &api) && (api.Name == "RecordNotFound" || api.StatusCode == 404) {
		return "", "", nil
	}
	return uri, cid, err
}

// create builds the post at position i and writes it with its gates in
// one applyWrites, then saves them.
func (m *Mirror) create(ctx context.Context, a *account, st storage.Status, ms []storage.Media, rp recordPlan,
	i int, rkey string, gates []string, gr gateRule, root, parent *comatproto.RepoStrongRef) (*comatproto.RepoStrongRef, error) {
	post, err := m.buildPost(ctx, a, st, ms, rp, i, root, parent)
	if err != nil {
		return nil, err
	}
	c, err := m.client(ctx, a)
	if err != nil {
		return nil, err
	}
	postURI := recordURI(*c.AccountDID, collPost, rkey)
	created := st.CreatedAt.Add(time.Duration(i) * time.Millisecond)
	writes := []*comatproto.RepoApplyWrites_Input_Writes_Elem{createOp(collPost, rkey, post)}
	kinds := []string{storage.BlueskyKindPost} // of each write, in order
	tg, pg := buildGates(gr, postURI, slices.Contains(gates, storage.BlueskyKindThreadgate), created)
	for _, g := range gates {
		switch {
		case g == storage.BlueskyKindThreadgate && tg != nil:
			writes = append(writes, createOp(collThreadgate, rkey, tg))
			kinds = append(kinds, g)
		case g == storage.BlueskyKindPostgate && pg != nil:
			writes = append(writes, createOp(collPostgate, rkey, pg))
			kinds = append(kinds, g)
		}
	}
	var out *comatproto.RepoApplyWrites_Output
	err = m.call(ctx, a, func(c *atclient.APIClient) error {
		var err error
		out, err = comatproto.RepoApplyWrites(ctx, c, &comatproto.RepoApplyWrites_Input{Repo: c.AccountDID.String(), Writes: writes})
		return err
	})
	if limit := blobLimit(err); limit > 0 && len(rp.images) > 0 && limit < a.imageLimit() {
		// The PDS's lexicon allows smaller images than configured (older
		// versions: 1,000,000 bytes): fit them to its limit and try again.
		m.log.Warn().Str("account", a.Username).Int64("pds_limit", limit).Int("configured", a.Bluesky.ImageMaxBytes).
			Msg("bluesky: the PDS takes smaller images than bluesky.image_max_bytes; using its limit (set image_max_bytes to it to skip this retry)")
		a.learnedLimit.Store(limit)
		return m.create(ctx, a, st, ms, rp, i, rkey, gates, gr, root, parent)
	}
	if err != nil {
		return nil, fmt.Errorf("atproto: create post %d of status %d: %w", i, st.ID, err)
	}
	var ref *comatproto.RepoStrongRef
	for k, res := range out.Results {
		if k >= len(kinds) || res.RepoApplyWrites_CreateResult == nil {
			continue
		}
		cr := res.RepoApplyWrites_CreateResult
		if err := m.store.PutBlueskyRecord(ctx, storage.BlueskyRecord{
			StatusID: st.ID, Kind: kinds[k], Position: i, Account: a.Username, RKey: rkey, URI: cr.Uri, CID: cr.Cid, CreatedAt: m.now(),
		}); err != nil {
			return nil, err
		}
		if k == 0 {
			ref = strongRef(cr.Uri, cr.Cid)
		}
	}
	if ref == nil {
		return nil, fmt.Errorf("atproto: create post %d of status %d: applyWrites answered no result", i, st.ID)
	}
	return ref, nil
}

// createOp is an applyWrites create.
func createOp(collection, rkey string, rec cbg.CBORMarshaler) *comatproto.RepoApplyWrites_Input_Writes_Elem {
	return &comatproto.RepoApplyWrites_Input_Writes_Elem{RepoApplyWrites_Create: &comatproto.RepoApplyWrites_Create{
		Collection: collection, Rkey: &rkey, Value: &lexutil.LexiconTypeDecoder{Val: rec},
	}}
}

// buildPost makes the app.bsky.feed.post of one record of the thread:
// text and facets, images or link card, language, date, reply refs.
func (m *Mirror) buildPost(ctx context.Context, a *account, st storage.Status, ms []storage.Media, rp recordPlan,
	i int, root, parent *comatproto.RepoStrongRef) (*bsky.FeedPost, error) {
	dids, err := m.mentionDIDs(ctx, a, rp.text.Facets)
	if err != nil {
		return nil, err
	}
	post := &bsky.FeedPost{
		Text:      rp.text.Text,
		Facets:    richtextFacets(rp.text.Facets, dids),
		Langs:     langs(st.Language),
		CreatedAt: datetime(st.CreatedAt.Add(time.Duration(i) * time.Millisecond)),
	}
	if parent != nil {
		post.Reply = &bsky.FeedPost_ReplyRef{Root: root, Parent: parent}
	}
	switch {
	case rp.video:
		embed, err := m.videoEmbed(ctx, a, ms[rp.videoAt]) // video.go
		switch {
		case errors.Is(err, errVideoRefused) && m.set.NoteURL != nil:
			m.log.Warn().Str("account", a.Username).Int64("media", ms[rp.videoAt].ID).
				Msg("bluesky: the PDS refused the video as too large; the post links to its page instead")
			post.Embed = &bsky.FeedPost_Embed{EmbedExternal: m.noteCard(a, st, m.set.NoteURL(st.Account, st.ID))}
		case err != nil:
			return nil, err
		default:
			post.Embed = &bsky.FeedPost_Embed{EmbedVideo: embed}
		}
	case len(rp.images) > 0:
		var sel []storage.Media
		for _, k := range rp.images {
			sel = append(sel, ms[k])
		}
		embed, err := m.imageEmbed(ctx, a, sel)
		if err != nil {
			return nil, err
		}
		post.Embed = &bsky.FeedPost_Embed{EmbedImages: embed}
	case rp.noteCard:
		post.Embed = &bsky.FeedPost_Embed{EmbedExternal: m.noteCard(a, st, rp.card)}
	case rp.card != "":
		post.Embed = &bsky.FeedPost_Embed{EmbedExternal: m.linkCard(ctx, a, rp.card)}
	}
	post.Labels = sensitiveLabels(st, post.Embed, a.Bluesky.SensitiveLabel)
	return post, nil
}

// replyRefs returns the root and parent of a status that replies to one
// of our statuses mirrored to Bluesky (nil, nil for a status that starts a
// thread, or whose parent is not on Bluesky and will not be).
func (m *Mirror) replyRefs(ctx context.Context, st storage.Status) (root, parent *comatproto.RepoStrongRef, err error) {
	if st.InReplyToID == 0 {
		return nil, nil, nil
	}
	id := st.InReplyToID
	for depth := 0; id != 0 && depth < 1000; depth++ {
		mp, err := m.store.GetBlueskyPost(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		recs, err := m.store.ListBlueskyRecords(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		var first, last *storage.BlueskyRecord
		for k := range recs {
			if r := &recs[k]; r.Kind == storage.BlueskyKindPost && r.URI != "" {
				if first == nil {
					first = r
				}
				last = r
			}
		}
		if first == nil || mp.State != storage.BlueskyMirrored {
			if mp.State == storage.BlueskyPending && parent == nil {
				return nil, nil, errParentPending
			}
			break // not on Bluesky: the thread starts at the ancestor below
		}
		if parent == nil {
			parent = strongRef(last.URI, last.CID)
		}
		root = strongRef(first.URI, first.CID)
		pst, err := m.store.GetStatus(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		id = pst.InReplyToID
	}
	if parent == nil {
		return nil, nil, nil
	}
	return root, parent, nil
}

// sensitiveLabels is the self-label of a record of a status marked
// sensitive whose record shows media (images, or a link card's thumbnail):
// Bluesky blurs them as it does for its own users' labels. The content
// warning itself stays the text's first line (Compose).
func sensitiveLabels(st storage.Status, embed *bsky.FeedPost_Embed, value string) *bsky.FeedPost_Labels {
	if !st.Sensitive || embed == nil || value == "" {
		return nil
	}
	if embed.EmbedImages == nil && embed.EmbedVideo == nil && (embed.EmbedExternal == nil || embed.EmbedExternal.External == nil || embed.EmbedExternal.External.Thumb == nil) {
		return nil
	}
	return &bsky.FeedPost_Labels{LabelDefs_SelfLabels: &comatproto.LabelDefs_SelfLabels{
		Values: []*comatproto.LabelDefs_SelfLabel{{Val: value}},
	}}
}

// resolvableHandles is m.handles without the Bluesky handles the status
// mentions that do not resolve: a mention of those is written as on the
// fediverse (@user@server), not as a Bluesky handle that leads nowhere.
func (m *Mirror) resolvableHandles(ctx context.Context, a *account, st storage.Status) (map[string]string, error) {
	full := Compose(st.Text, st.SpoilerText, ComposeOptions{Handles: m.handles, LocalDomain: m.set.HandleDomain})
	dids, err := m.mentionDIDs(ctx, a, full.Facets)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m.handles))
	for fedi, h := range m.handles {
		if _, resolved := dids[h]; !resolved && mentions(full.Facets, h) {
			continue
		}
		out[fedi] = h
	}
	return out, nil
}

// mentions reports whether fs has a mention of handle.
func mentions(fs []Facet, handle string) bool {
	for _, f := range fs {
		if f.Kind == FacetMention && f.Value == handle {
			return true
		}
	}
	return false
}

// mentionDIDs resolves the handles of mention facets (unknown handles are
// left out: their mention stays text).
func (m *Mirror) mentionDIDs(ctx context.Context, a *account, fs []Facet) (map[string]syntax.DID, error) {
	out := map[string]syntax.DID{}
	for _, f := range fs {
		if f.Kind != FacetMention {
			continue
		}
		if _, done := out[f.Value]; done {
			continue
		}
		did, err := m.handleDID(ctx, a, f.Value)
		if err != nil {
			return nil, err
		}
		if did != "" {
			out[f.Value] = did
		}
	}
	return out, nil
}

const didCacheTTL = time.Hour

// handleDID resolves a Bluesky handle with the PDS
// (com.atproto.identity.resolveHandle); "" when it does not resolve.
func (m *Mirror) handleDID(ctx context.Context, a *account, handle string) (syntax.DID, error) {
	m.didMu.Lock()
	c, ok := m.didSeen[handle]
	m.didMu.Unlock()
	if ok && m.now().Sub(c.at) < didCacheTTL {
		return c.did, nil
	}
	var did syntax.DID
	err := m.call(ctx, a, func(cl *atclient.APIClient) error {
		out, err := comatproto.IdentityResolveHandle(ctx, cl, handle)
		if err != nil {
			return err
		}
		did, err = syntax.ParseDID(out.Did)
		return err
	})
	if err != nil && classify(err) == kindPermanent {
		m.log.Info().Err(err).Str("handle", handle).Msg("bluesky: mention left as text: handle does not resolve")
		did, err = "", nil
	}
	if err != nil {
		return "", err
	}
	m.didMu.Lock()
	m.didSeen[handle] = cachedDID{did: did, at: m.now()}
	m.didMu.Unlock()
	return did, nil
}

// deleteAll deletes every record of a status.
func (m *Mirror) deleteAll(ctx context.Context, a *account, statusID int64) error {
	recs, err := m.store.ListBlueskyRecords(ctx, statusID)
	if err != nil {
		return err
	}
	return m.deleteRecords(ctx, a, recs)
}

// deleteRecords deletes records on the PDS and forgets them: gates first,
// then posts from the end of the thread, so that a thread is never left
// without its start while its end remains.
func (m *Mirror) deleteRecords(ctx context.Context, a *account, recs []storage.BlueskyRecord) error {
	recs = slices.Clone(recs)
	slices.SortStableFunc(recs, func(x, y storage.BlueskyRecord) int {
		xp, yp := x.Kind == storage.BlueskyKindPost, y.Kind == storage.BlueskyKindPost
		if xp != yp {
			if xp {
				return 1
			}
			return -1
		}
		return y.Position - x.Position
	})
	for _, r := range recs {
		err := m.call(ctx, a, func(c *atclient.APIClient) error {
			_, err := comatproto.RepoDeleteRecord(ctx, c, &comatproto.RepoDeleteRecord_Input{
				Repo: c.AccountDID.String(), Collection: collectionOf(r.Kind), Rkey: r.RKey,
			})
			return err
		})
		if err != nil {
			return fmt.Errorf("atproto: delete %s %s: %w", r.Kind, r.RKey, err)
		}
		if err := m.store.DeleteBlueskyRecord(ctx, r.StatusID, r.Kind, r.Position); err != nil {
			return err
		}
	}
	return nil
}

// blobTooBig matches the PDS's lexicon validation error for an image over
// its limit: "blob too big (maximum 1000000, got 1657798)".
var blobTooBig = regexp.MustCompile(`blob too big \(maximum (\d+), got \d+\)`)

// blobLimit returns the maximum an image blob error names, or 0.
func blobLimit(err error) int64 {
	var api *atclient.APIError
	if !errors.As(err, &api) || api.StatusCode != http.StatusBadRequest || !strings.Contains(api.Message, "embed.images") {
		return 0
	}
	sm := blobTooBig.FindStringSubmatch(api.Message)
	if sm == nil {
		return 0
	}
	n, err := strconv.ParseInt(sm[1], 10, 64)
	if err != nil || n < config.MinBlueskyImageMaxBytes {
		return 0
	}
	return n
}
