package atproto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
	lexutil "github.com/bluesky-social/indigo/lex/util"
	cbg "github.com/whyrusleeping/cbor-gen"

	"github.com/passerelle/passerelle/storage"
)

// Acting on Bluesky from the comms team's app (docs/bluesky.md, "Answering
// on Bluesky"):
//
//   - A reply to a Bluesky post is a status of visibility
//     storage.VisibilityBluesky: publish stores it and queues a mirror job
//     (never a fediverse delivery); the job writes it as an
//     app.bsky.feed.post whose reply refs are read from the AppView when
//     it runs (replyRefs: the parent's CID, and its root).
//   - Likes and reposts (of Bluesky posts, and reposts of our own mirrored
//     posts when the team boosts them) are jobs of the mirror's pool too,
//     queued with the account's reaction row (MirrorReaction): their
//     record key is derived from the reaction's id (reactionRKey), so a
//     retried job writes the same record (putRecord) and an undo deletes
//     it without having to remember anything.
//   - Blocks, mutes and reports are made at once, through the PDS
//     (BlockActor, MuteActor, Report): the app is told whether Bluesky
//     took them, and the bridge records a block only once the PDS has.

// Reaction job actions.
const (
	actionLike     = "like"
	actionRepost   = "repost"
	collLike       = "app.bsky.feed.like"
	collRepost     = "app.bsky.feed.repost"
	collBlock      = "app.bsky.graph.block"
	maxProfilesReq = 25 // app.bsky.actor.getProfiles takes at most 25 actors
	// profileTTL is how long a profile read with getProfiles is kept
	// before it is read again (when its account shows up again).
	profileTTL = 6 * time.Hour
)

// IsBlueskyActor reports whether an actor id is a Bluesky account's (a
// DID), as the notification reader stores them.
func IsBlueskyActor(actorID string) bool { return strings.HasPrefix(actorID, "did:") }

// Mirrors reports whether the account is mirrored to Bluesky: it can
// answer, like and repost there.
func (m *Mirror) Mirrors(account string) bool { return m.accounts[lower(account)] != nil }

// reactionRKey is the record key of the like or repost made for the
// reaction with that id: a TID derived from the id (time-ordered
// milliseconds and 16 low bits, package publish) one to one.
func reactionRKey(id int64) string {
	ms, low := id>>16, id&0xffff
	return syntax.NewTID(ms*1000+low%1000, uint(low/1000)).String()
}

// MirrorReaction queues, in the reaction's transaction, the like or
// repost (or their deletion, undo) on Bluesky of what the account
// reacted to: a Bluesky post (its at:// URI as ObjectURI), or, for a
// boost, one of our statuses mirrored there. Anything else does nothing
// on Bluesky (a favourite of our own status, a status not mirrored).
func (m *Mirror) MirrorReaction(ctx context.Context, q storage.Queries, r storage.OwnReaction, undo bool) error {
	a := m.accounts[lower(r.Account)]
	if a == nil {
		return nil
	}
	action := actionLike
	if r.Kind == storage.NotificationReblog {
		action = actionRepost
	}
	p := jobPayload{Action: action, Account: a.Username, Undo: undo, ReactionID: r.ID, RKey: reactionRKey(r.ID)}
	switch {
	case strings.HasPrefix(r.ObjectURI, "at://"):
		p.Subject = r.ObjectURI
	case r.StatusID != 0 && action == actionRepost:
		if _, err := q.GetBlueskyPost(ctx, r.StatusID); errors.Is(err, storage.ErrNotFound) {
			return nil // never mirrored: nothing on Bluesky
		} else if err != nil {
			return err
		}
		p.StatusID = r.StatusID
	default:
		return nil
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	verb := "create"
	if undo {
		verb = "delete"
	}
	_, err = q.EnqueueJob(ctx, storage.NewJob{
		Kind: JobKind, Payload: body, Host: jobHost(a.Username), Ref: "reaction:" + p.RKey + ":bluesky",
		Key: fmt.Sprintf("bluesky:%s:%s:%s", action, p.RKey, verb),
	})
	return err
}

// runReaction writes or deletes a like or a repost.
func (m *Mirror) runReaction(ctx context.Context, a *account, p jobPayload) error {
	coll := collLike
	if p.Action == actionRepost {
		coll = collRepost
	}
	if p.Undo {
		return m.call(ctx, a, func(c *atclient.APIClient) error {
			_, err := comatproto.RepoDeleteRecord(ctx, c, &comatproto.RepoDeleteRecord_Input{
				Repo: c.AccountDID.String(), Collection: coll, Rkey: p.RKey,
			})
			return err
		})
	}
	// Undone since (the undo's job, queued later, may even have run
	// first): nothing to write.
	if _, err := m.store.GetOwnReaction(ctx, p.ReactionID); errors.Is(err, storage.ErrNotFound) {
		return errSuperseded
	} else if err != nil {
		return err
	}
	subject, err := m.subjectRef(ctx, a, p)
	if err != nil {
		return err
	}
	if subject == nil {
		return errSuperseded // our status is not on Bluesky (skipped, failed or deleted)
	}
	now := datetime(m.now())
	var rec cbg.CBORMarshaler = &bsky.FeedLike{LexiconTypeID: collLike, Subject: subject, CreatedAt: now}
	if coll == collRepost {
		rec = &bsky.FeedRepost{LexiconTypeID: collRepost, Subject: subject, CreatedAt: now}
	}
	return m.putRecord(ctx, a, coll, p.RKey, rec)
}

// putRecord writes a record of the account's repository at rkey (the same
// record again on a retry).
func (m *Mirror) putRecord(ctx context.Context, a *account, coll, rkey string, rec cbg.CBORMarshaler) error {
	return m.call(ctx, a, func(c *atclient.APIClient) error {
		_, err := comatproto.RepoPutRecord(ctx, c, &comatproto.RepoPutRecord_Input{
			Repo: c.AccountDID.String(), Collection: coll, Rkey: rkey, Record: &lexutil.LexiconTypeDecoder{Val: rec},
		})
		return err
	})
}

// subjectRef is the strong ref a like or a repost names: our status's
// first record, or the Bluesky post as the AppView has it. nil when our
// status is not on Bluesky.
func (m *Mirror) subjectRef(ctx context.Context, a *account, p jobPayload) (*comatproto.RepoStrongRef, error) {
	if p.Subject != "" {
		post, err := m.getPost(ctx, a, p.Subject)
		if err != nil {
			return nil, err
		}
		return strongRef(post.URI, post.CID), nil
	}
	mp, err := m.store.GetBlueskyPost(ctx, p.StatusID)
	if err != nil {
		return nil, err
	}
	recs, err := m.store.ListBlueskyRecords(ctx, p.StatusID)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Kind == storage.BlueskyKindPost && r.URI != "" && r.Position == 0 {
			return strongRef(r.URI, r.CID), nil
		}
	}
	if mp.State == storage.BlueskyPending {
		return nil, errParentPending
	}
	return nil, nil
}

// postView is the part of app.bsky.feed.defs#postView we read.
type postView struct {
	URI    string   `json:"uri"`
	CID    string   `json:"cid"`
	Record feedPost `json:"record"`
}

// getPost reads a Bluesky post through the account's PDS (which asks its
// AppView): app.bsky.feed.getPosts. A post the AppView does not have (or
// no longer has) is a permanent failure.
func (m *Mirror) getPost(ctx context.Context, a *account, uri string) (postView, error) {
	var out struct {
		Posts []postView `json:"posts"`
	}
	err := m.call(ctx, a, func(c *atclient.APIClient) error {
		return getJSON(ctx, c, "app.bsky.feed.getPosts", map[string]any{"uris": []string{uri}}, &out)
	})
	if err != nil {
		return postView{}, fmt.Errorf("atproto: getPosts %s: %w", uri, err)
	}
	for _, p := range out.Posts {
		if p.URI == uri && p.CID != "" {
			return p, nil
		}
	}
	return postView{}, permanent(fmt.Errorf("atproto: the Bluesky post %s no longer exists (or is not visible to this account)", uri))
}

// blueskyReplyRefs are the reply refs of a status that answers a Bluesky
// post: the parent as the AppView has it now, and its root (the parent's
// own root when the parent is itself a reply).
func (m *Mirror) blueskyReplyRefs(ctx context.Context, a *account, st storage.Status) (root, parent *comatproto.RepoStrongRef, err error) {
	post, err := m.getPost(ctx, a, st.InReplyToURI)
	if err != nil {
		return nil, nil, err
	}
	parent = strongRef(post.URI, post.CID)
	root = parent
	if r := post.Record.Reply; r != nil && strings.HasPrefix(r.Root.URI, "at://") && r.Root.CID != "" {
		root = strongRef(r.Root.URI, r.Root.CID)
	}
	return root, parent, nil
}

// ActionError is a block, mute or report that Bluesky refused or that
// could not reach it; Msg says why, for the app.
type ActionError struct {
	Msg string
	Err error
}

func (e *ActionError) Error() string { return e.Msg + ": " + e.Err.Error() }
func (e *ActionError) Unwrap() error { return e.Err }

// BlueskyMessage is what the app is told (package api).
func (e *ActionError) BlueskyMessage() string { return e.Msg }

func actionError(what string, err error) error {
	if err == nil {
		return nil
	}
	msg := "Bluesky could not be reached"
	var api *atclient.APIError
	if errors.As(err, &api) && api.StatusCode != 0 {
		msg = "Bluesky refused the " + what
		if api.Message != "" {
			msg += ": " + api.Message
		} else if api.Name != "" {
			msg += ": " + api.Name
		}
	}
	return &ActionError{Msg: msg, Err: err}
}

// profileViewer is the account's relationship with a Bluesky account as
// getProfiles says it.
type profileViewer struct {
	Muted    bool
	Blocking string // the URI of our block record
}

// fetchProfiles reads profiles with app.bsky.actor.getProfiles (25 at a
// time), stores them and returns what they say of the account's
// relationship with each.
func (m *Mirror) fetchProfiles(ctx context.Context, a *account, dids []string) (map[string]profileViewer, error) {
	out := map[string]profileViewer{}
	for start := 0; start < len(dids); start += maxProfilesReq {
		batch := dids[start:min(start+maxProfilesReq, len(dids))]
		var res struct {
			Profiles []author `json:"profiles"`
		}
		err := m.call(ctx, a, func(c *atclient.APIClient) error {
			return getJSON(ctx, c, "app.bsky.actor.getProfiles", map[string]any{"actors": batch}, &res)
		})
		if err != nil {
			return out, fmt.Errorf("atproto: getProfiles: %w", err)
		}
		now := m.now()
		for _, p := range res.Profiles {
			if !IsBlueskyActor(p.DID) {
				continue
			}
			if err := m.store.UpsertRemoteProfile(ctx, blueskyProfile(p, now)); err != nil {
				return out, err
			}
			m.profMu.Lock()
			m.profFetched[p.DID] = now
			m.profMu.Unlock()
			out[p.DID] = profileViewer{Muted: p.Viewer.Muted, Blocking: p.Viewer.Blocking}
		}
	}
	return out, nil
}

// RefreshProfiles reads again, with getProfiles, the profiles (avatar,
// name, bio) of the Bluesky accounts among dids not read within
// profileTTL. The notification reader calls it for the authors it read.
func (m *Mirror) RefreshProfiles(ctx context.Context, username string, dids []string) error {
	a := m.accounts[lower(username)]
	if a == nil {
		return fmt.Errorf("atproto: account %s is not mirrored to Bluesky", username)
	}
	var stale []string
	seen := map[string]bool{}
	now := m.now()
	m.profMu.Lock()
	for _, d := range dids {
		if at, ok := m.profFetched[d]; !seen[d] && IsBlueskyActor(d) && (!ok || now.Sub(at) >= profileTTL) {
			stale = append(stale, d)
		}
		seen[d] = true
	}
	m.profMu.Unlock()
	_, err := m.fetchProfiles(ctx, a, stale)
	return err
}

// BlockActor blocks (on) or unblocks a Bluesky account for one of our
// accounts: an app.bsky.graph.block record is written, or the account's
// block records of it deleted. The records are read from the account's
// own repository (com.atproto.repo.listRecords), not from the AppView,
// which indexes them late. Doing it twice changes nothing.
func (m *Mirror) BlockActor(ctx context.Context, username, did string, on bool) error {
	a := m.accounts[lower(username)]
	if a == nil {
		return &ActionError{Msg: "this account is not mirrored to Bluesky", Err: errors.New("not mirrored")}
	}
	rkeys, err := m.blockRecords(ctx, a, did)
	if err != nil {
		return actionError("block", err)
	}
	if on {
		if len(rkeys) > 0 {
			return nil
		}
		block := &bsky.GraphBlock{LexiconTypeID: collBlock, Subject: did, CreatedAt: datetime(m.now())}
		return actionError("block", m.putRecord(ctx, a, collBlock, m.tids.Next().String(), block))
	}
	for _, rkey := range rkeys {
		err := m.call(ctx, a, func(c *atclient.APIClient) error {
			_, err := comatproto.RepoDeleteRecord(ctx, c, &comatproto.RepoDeleteRecord_Input{
				Repo: c.AccountDID.String(), Collection: collBlock, Rkey: rkey,
			})
			return err
		})
		if err != nil {
			return actionError("unblock", err)
		}
	}
	return nil
}

// maxBlockPages bounds the reading of an account's blocks (100 a page).
const maxBlockPages = 100

// blockRecords returns the record keys of the account's blocks of did.
func (m *Mirror) blockRecords(ctx context.Context, a *account, did string) ([]string, error) {
	all, err := m.listBlocks(ctx, a)
	return all[did], err
}

// listBlocks returns the record keys of the account's block records, by
// the account (DID) they block, read from its repository.
func (m *Mirror) listBlocks(ctx context.Context, a *account) (map[string][]string, error) {
	out := map[string][]string{}
	cursor := ""
	for range maxBlockPages {
		var page struct {
			Cursor  string `json:"cursor"`
			Records []struct {
				URI   string `json:"uri"`
				Value struct {
					Subject string `json:"subject"`
				} `json:"value"`
			} `json:"records"`
		}
		err := m.call(ctx, a, func(c *atclient.APIClient) error {
			params := map[string]any{"repo": c.AccountDID.String(), "collection": collBlock, "limit": 100}
			if cursor != "" {
				params["cursor"] = cursor
			}
			return getJSON(ctx, c, "com.atproto.repo.listRecords", params, &page)
		})
		if err != nil {
			return nil, fmt.Errorf("atproto: listRecords %s: %w", collBlock, err)
		}
		for _, r := range page.Records {
			if uri, err := syntax.ParseATURI(r.URI); err == nil {
				out[r.Value.Subject] = append(out[r.Value.Subject], uri.RecordKey().String())
			}
		}
		if page.Cursor == "" || len(page.Records) == 0 {
			break
		}
		cursor = page.Cursor
	}
	return out, nil
}

// MuteActor mutes (on) or unmutes a Bluesky account for one of our
// accounts (app.bsky.graph.muteActor, unmuteActor: kept privately by the
// AppView, no record).
func (m *Mirror) MuteActor(ctx context.Context, username, did string, on bool) error {
	a := m.accounts[lower(username)]
	if a == nil {
		return &ActionError{Msg: "this account is not mirrored to Bluesky", Err: errors.New("not mirrored")}
	}
	nsid := "app.bsky.graph.muteActor"
	if !on {
		nsid = "app.bsky.graph.unmuteActor"
	}
	return actionError("mute", m.call(ctx, a, func(c *atclient.APIClient) error {
		return c.Post(ctx, syntax.NSID(nsid), map[string]string{"actor": did}, nil)
	}))
}

// Report sends com.atproto.moderation.createReport through the account's
// PDS (which forwards it to its moderation service): one report of the
// account when postURIs is empty, else one per post (a report names one
// subject). It stops at the first report refused.
func (m *Mirror) Report(ctx context.Context, username, did string, postURIs []string, reasonType, comment string) (int, error) {
	a := m.accounts[lower(username)]
	if a == nil {
		return 0, &ActionError{Msg: "this account is not mirrored to Bluesky", Err: errors.New("not mirrored")}
	}
	var subjects []map[string]string
	if len(postURIs) == 0 {
		subjects = append(subjects, map[string]string{"$type": "com.atproto.admin.defs#repoRef", "did": did})
	}
	for _, uri := range postURIs {
		post, err := m.getPost(ctx, a, uri)
		if err != nil {
			return 0, actionError("report", err)
		}
		subjects = append(subjects, map[string]string{"$type": "com.atproto.repo.strongRef", "uri": post.URI, "cid": post.CID})
	}
	for i, subj := range subjects {
		body := map[string]any{"reasonType": reasonType, "subject": subj}
		if comment != "" {
			body["reason"] = comment
		}
		var out struct {
			ID int64 `json:"id"`
		}
		err := m.call(ctx, a, func(c *atclient.APIClient) error {
			return c.Post(ctx, "com.atproto.moderation.createReport", body, &out)
		})
		if err != nil {
			return i, actionError("report", err)
		}
	}
	return len(subjects), nil
}
