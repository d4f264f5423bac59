package federation

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// The author's side of GoToSocial's interaction controls
// (docs.gotosocial.org, federation/interaction_controls).
//
// Our Notes publish who may reply, like and boost (interactionPolicy,
// encode_interactions.go). When the permission comes from a collection
// (the author's followers) or an explicit approval, a GoToSocial replier
// does not show its reply until our server approves it, in one of two
// ways:
//
//   - politely (GoToSocial 0.21 on): a ReplyRequest, LikeRequest or
//     AnnounceRequest whose object is our post and instrument the
//     interaction, answered with an Accept embedding the request, whose
//     result is a ReplyAuthorization (LikeAuthorization,
//     AnnounceAuthorization), or with a Reject;
//   - impolitely (older versions, and servers that know nothing of it):
//     the reply itself, sent to us alone, answered with an Accept whose
//     object is the reply and target our post (cc our followers, so that
//     their servers learn of it), with the authorization as result too;
//     before GoToSocial 0.20 the Accept's own id was the proof (the
//     reply's approvedBy), which is why the Accept is served at its id as
//     well.
//
// Authorizations are stored with the quote authorizations (one table,
// storage.InteractionAuthorization) and served at
// …/statuses/ID/authorizations/N (the Accept at …/N/accept); the post's
// deletion turns them into 410 Gone. Answers are queued in the
// transaction that records the interaction, through the durable fan-out.

// interactionKind names one kind of interaction in GoToSocial's terms.
type interactionKind struct {
	kind          string // storage.Authorization*
	request       string // the polite request's type
	authorization string // the authorization's type
	object        string // the interaction's type
	// broadcast: the Accept of an impolite one is sent to our followers
	// too (GoToSocial does so for replies and boosts, not likes).
	broadcast bool
}

var (
	replyInteraction    = interactionKind{storage.AuthorizationReply, "ReplyRequest", "ReplyAuthorization", "Note", true}
	likeInteraction     = interactionKind{storage.AuthorizationLike, "LikeRequest", "LikeAuthorization", "Like", false}
	announceInteraction = interactionKind{storage.AuthorizationAnnounce, "AnnounceRequest", "AnnounceAuthorization", "Announce", true}
)

// interactionKindOf returns the kind of a stored authorization (quotes
// excepted: their stamps are FEP-044f's, interactions.go).
func interactionKindOf(kind string) (interactionKind, bool) {
	for _, k := range []interactionKind{replyInteraction, likeInteraction, announceInteraction} {
		if k.kind == kind {
			return k, true
		}
	}
	return interactionKind{}, false
}

// approval is an interaction to authorize, and where to say so.
type approval struct {
	kind        interactionKind
	la          *localActor
	st          storage.Status // ours, interacted with
	interaction string         // the reply's, Like's or Announce's id
	// request is the polite request answered; nil for an interaction
	// that came without one.
	request *Activity
	inbox   string // the interacting actor's
}

// approve stores the authorization of ap and queues the Accept carrying
// it, in q (the caller's transaction, which marked act processed). An
// impolite interaction already authorized (it came again, as GoToSocial
// sends an approved reply once more to the post's author) is not
// answered twice.
func (s *Service) approve(ctx context.Context, q storage.Queries, act Activity, ap *approval, now time.Time) error {
	reqID := ""
	if ap.request != nil {
		reqID = ap.request.ID
	}
	a, created, err := q.PutInteractionAuthorization(ctx, storage.InteractionAuthorization{Kind: ap.kind.kind,
		StatusID: ap.st.ID, Account: ap.la.name, InteractionID: ap.interaction, ActorID: act.Actor, RequestID: reqID, CreatedAt: now})
	if err != nil {
		return err
	}
	if !created && (a.ActorID != act.Actor || a.Kind != ap.kind.kind) {
		return refuse(http.StatusForbidden, "the interaction is another actor's", nil)
	}
	if !created && ap.request == nil {
		return nil
	}
	if !created {
		// Answer this request, with the authorization already given.
		a.RequestID = reqID
	}
	body, err := EncodeInteractionAnswer(s.acceptOf(ap.la, ap.st, ap.kind, a))
	if err != nil {
		return err
	}
	out := Outgoing{Account: ap.la.name, Activity: body, Inboxes: []string{ap.inbox},
		Ref: "approve:" + shortHash(ap.interaction)}
	if ap.request == nil && ap.kind.broadcast {
		out.Followers = true
	}
	return s.Enqueue(ctx, q, out)
}

// AuthorizationID is the IRI of an authorization of a reply, like or
// boost of one of our posts.
func (s *Service) AuthorizationID(account string, statusID, id int64) string {
	return s.links.Note(account, statusID) + "/authorizations/" + strconv.FormatInt(id, 10)
}

// acceptOf is the Accept that gave authorization a, as sent and as served
// at its id: embedding the request when there was one, else naming the
// interaction and our post, cc our followers (and the public for a
// public post) for the replies and boosts.
func (s *Service) acceptOf(la *localActor, st storage.Status, k interactionKind, a storage.InteractionAuthorization) InteractionAnswer {
	auth := s.AuthorizationID(la.name, st.ID, a.ID)
	ans := InteractionAnswer{ID: auth + "/accept", Actor: la.id, To: a.ActorID, Interaction: a.InteractionID,
		Target: s.links.Note(la.name, st.ID), Authorization: auth}
	if a.RequestID != "" {
		ans.Request = &InteractionRequest{ID: a.RequestID, Type: k.request, Actor: a.ActorID}
		return ans
	}
	if k.broadcast {
		if st.Visibility == storage.VisibilityPublic || st.Visibility == storage.VisibilityUnlisted {
			ans.Cc = append(ans.Cc, asPublic)
		}
		ans.Cc = append(ans.Cc, la.id+"/followers")
	}
	return ans
}

// answerInbox is the inbox an answer (Accept, Reject) to actorID goes to;
// while only a stub of the actor is known (GoToSocial serves one at its
// key ids), the whole actor is fetched. When it cannot be, the sender is
// asked to retry later.
func (s *Service) answerInbox(ctx context.Context, actorID string) (string, error) {
	doc, _, err := s.remoteActor(ctx, actorID)
	if err != nil {
		if errors.Is(err, storage.ErrUnavailable) {
			return "", err
		}
		return "", &retryLater{refuse(http.StatusServiceUnavailable, "cannot fetch the actor document, retry later", err), time.Minute}
	}
	return doc.Inbox, nil
}

// applyReplyRequest answers a ReplyRequest: the reply (embedded as
// instrument) is recorded and authorized when the post's policy allows
// it, as a Create of it would be, and rejected otherwise.
func (s *Service) applyReplyRequest(ctx context.Context, act Activity) (string, error) {
	n := act.Note
	if n == nil || n.ID != act.Instrument {
		return "", refuse(http.StatusBadRequest, "reply request without its reply embedded as instrument", nil)
	}
	if n.InReplyTo != act.Object.ID {
		return "", refuse(http.StatusBadRequest, "the reply does not answer the request's object", nil)
	}
	if _, _, ours := s.ourStatusIRI(act.Object.ID); !ours {
		return ignored("reply request for a post that is not ours"), nil
	}
	// The request's id stays the idempotency mark.
	p, outcome, err := s.planNote(ctx, act)
	if err != nil || p == nil {
		return outcome, err
	}
	inbox, err := s.answerInbox(ctx, act.Actor)
	if err != nil {
		return "", err
	}
	if p.replyRefused {
		return s.rejectRequest(ctx, act, replyInteraction, p.replyLA, inbox)
	}
	return s.recordNote(ctx, p, &approval{kind: replyInteraction, la: p.replyLA, st: p.replyTo,
		interaction: n.ID, request: &act, inbox: inbox})
}

// applyReactionRequest answers a LikeRequest or an AnnounceRequest: the
// Like or Announce (the instrument, embedded or by id) is recorded and
// authorized when whoever can see the post may like or boost it, and
// rejected otherwise.
// reactionRequestHandler handles the LikeRequests or AnnounceRequests
// (k).
func (s *Service) reactionRequestHandler(k interactionKind) handler {
	return func(ctx context.Context, act Activity) (string, error) { return s.applyReactionRequest(ctx, act, k) }
}

func (s *Service) applyReactionRequest(ctx context.Context, act Activity, k interactionKind) (string, error) {
	if act.Instrument == "" || checkIRI(act.Instrument) != nil || !sameHost(act.Instrument, act.Actor) {
		return "", refuse(http.StatusBadRequest, strings.ToLower(k.request)+" without a "+k.object+" of the requester's server", nil)
	}
	reaction := Activity{ID: act.Instrument, Type: k.object, Actor: act.Actor, Object: Object{ID: act.Object.ID}}
	p, ignoredReason, refusedReason, err := s.planReaction(ctx, reaction)
	if err != nil {
		return "", err
	}
	if p == nil && refusedReason == "" {
		return ignored(strings.ToLower(k.request) + ": " + ignoredReason), nil
	}
	inbox, err := s.answerInbox(ctx, act.Actor)
	if err != nil {
		return "", err
	}
	if p == nil {
		la, _, _ := s.ourStatusIRI(act.Object.ID)
		return s.rejectRequest(ctx, act, k, la, inbox)
	}
	return s.recordReaction(ctx, act, act.Instrument, p, &approval{kind: k, la: p.la, st: p.st,
		interaction: act.Instrument, request: &act, inbox: inbox})
}

// rejectRequest answers a polite request with a Reject embedding it,
// and records nothing else.
func (s *Service) rejectRequest(ctx context.Context, act Activity, k interactionKind, la *localActor, inbox string) (string, error) {
	body, err := EncodeInteractionAnswer(InteractionAnswer{
		ID: la.id + "#rejects/" + k.kind + "/" + shortHash(act.ID), Actor: la.id, To: act.Actor,
		Request:     &InteractionRequest{ID: act.ID, Type: k.request, Actor: act.Actor},
		Interaction: act.Instrument, Target: act.Object.ID,
	})
	if err != nil {
		return "", err
	}
	outcome := "rejected: " + strings.ToLower(k.object) + " not allowed by the post's interaction policy"
	dup, err := s.applyOnce(ctx, act, s.now(), func(q storage.Queries) error {
		return s.Enqueue(ctx, q, Outgoing{Account: la.name, Activity: body, Inboxes: []string{inbox},
			Ref: "reject:" + shortHash(act.ID)})
	})
	if err != nil || dup {
		return dupOutcome(dup), err
	}
	s.Nudge()
	return outcome, nil
}

// servedAuthorization loads the authorization named by the path (its id
// in path value param) of a post of the account named by the path, when
// kindOK accepts its kind. It answers itself otherwise: 404 for an
// unknown authorization, one of another post or of another kind, 410
// with a Tombstone once the post is deleted. Authorizations of
// followers-only posts are served too: they hold nothing but IRIs, and
// the repliers' other recipients verify them.
func (s *Service) servedAuthorization(w http.ResponseWriter, r *http.Request, param string, kindOK func(string) bool) (*localActor, storage.Status, storage.InteractionAuthorization, bool) {
	la := s.account(w, r)
	if la == nil {
		return nil, storage.Status{}, storage.InteractionAuthorization{}, false
	}
	statusID, err1 := strconv.ParseInt(r.PathValue("id"), 10, 64)
	id, err2 := strconv.ParseInt(r.PathValue(param), 10, 64)
	if err1 != nil || err2 != nil || statusID <= 0 || id <= 0 {
		writeError(w, http.StatusNotFound, "no such authorization")
		return nil, storage.Status{}, storage.InteractionAuthorization{}, false
	}
	ctx := r.Context()
	st, err := s.store.GetStatus(ctx, statusID)
	var a storage.InteractionAuthorization
	if err == nil {
		a, err = s.store.GetInteractionAuthorization(ctx, id)
	}
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (st.Account != la.name || a.StatusID != st.ID || !kindOK(a.Kind))) {
		writeError(w, http.StatusNotFound, "no such authorization")
		return nil, storage.Status{}, storage.InteractionAuthorization{}, false
	}
	if err != nil {
		s.internalError(w, r, err)
		return nil, storage.Status{}, storage.InteractionAuthorization{}, false
	}
	if !st.DeletedAt.IsZero() {
		body, err := EncodeTombstone(s.set.BaseURL+r.URL.Path, st.DeletedAt)
		if err != nil {
			s.internalError(w, r, err)
			return nil, storage.Status{}, storage.InteractionAuthorization{}, false
		}
		w.Header().Set("Content-Type", contentTypeAS2+"; charset=utf-8")
		w.WriteHeader(http.StatusGone)
		w.Write(body)
		return nil, storage.Status{}, storage.InteractionAuthorization{}, false
	}
	return la, st, a, true
}

func notQuote(kind string) bool {
	_, ok := interactionKindOf(kind)
	return ok
}

// authorization serves a ReplyAuthorization, LikeAuthorization or
// AnnounceAuthorization.
func (s *Service) authorization(w http.ResponseWriter, r *http.Request) {
	la, st, a, ok := s.servedAuthorization(w, r, "aid", notQuote)
	if !ok {
		return
	}
	k, _ := interactionKindOf(a.Kind)
	body, err := EncodeAuthorization(k.authorization, s.AuthorizationID(la.name, st.ID, a.ID), la.id, a.InteractionID, s.links.Note(la.name, st.ID))
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeAS2(w, body)
}

// authorizationAccept serves the Accept that gave an authorization (the
// proof older GoToSocial versions check: approvedBy names it).
func (s *Service) authorizationAccept(w http.ResponseWriter, r *http.Request) {
	la, st, a, ok := s.servedAuthorization(w, r, "aid", notQuote)
	if !ok {
		return
	}
	k, _ := interactionKindOf(a.Kind)
	body, err := EncodeInteractionAnswer(s.acceptOf(la, st, k, a))
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeAS2(w, body)
}
