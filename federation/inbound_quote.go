package federation

import (
	"context"
	"net/http"
	"strconv"

	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/storage"
)

// applyQuoteRequest answers a FEP-044f QuoteRequest for one of our posts:
// an Accept with a QuoteAuthorization stamp when the post's quotes
// setting allows the requester, a Reject otherwise.
func (s *Service) applyQuoteRequest(ctx context.Context, act Activity) (string, error) {
	if act.Instrument == "" || checkIRI(act.Instrument) != nil || !sameHost(act.Instrument, act.Actor) {
		return "", refuse(http.StatusBadRequest, "quote request without a quoting post of the requester's server", nil)
	}
	if act.Note != nil && (act.Note.ID != act.Instrument || act.Note.AttributedTo != act.Actor) {
		return "", refuse(http.StatusForbidden, "the quoting post is not the requester's", nil)
	}
	la, st, reason, err := s.ourLiveStatus(ctx, s.store, act.Object.ID)
	if err != nil {
		return "", err
	}
	if la == nil {
		return ignored("quote request for " + reason), nil
	}
	blocked, err := s.blocks(ctx, s.store, la, act.Actor)
	if err != nil {
		return "", err
	}
	facts, err := s.interactionFacts(ctx, s.store, la, st, act.Actor)
	if err != nil {
		return "", err
	}
	_, quotes, err := s.statusPolicy(ctx, s.store, la, st.ID)
	if err != nil {
		return "", err
	}
	allowed := !blocked && st.Visibility != storage.VisibilityPrivate && st.Visibility != "direct" &&
		policy.Quotes(quotes).Allows(facts)
	inbox, err := s.answerInbox(ctx, act.Actor)
	if err != nil {
		return "", err
	}
	var (
		prof storage.RemoteProfile
		rs   storage.RemoteStatus
	)
	now := s.now()
	if allowed && act.Note != nil {
		if prof, err = s.senderProfile(ctx, act.Actor); err != nil {
			return "", err
		}
		rs = s.sanitizedStatus(ctx, act, act.Note, now)
		rs.QuoteOfID = st.ID
	}
	quoted := s.links.Note(la.name, st.ID)
	answer := InteractionAnswer{Actor: la.id, To: act.Actor, Request: &InteractionRequest{ID: act.ID, Type: act.Type, Actor: act.Actor},
		Interaction: act.Instrument, Target: quoted}
	outcome := "quote rejected"
	if allowed {
		outcome = "quote accepted"
	}
	dup, err := s.applyOnce(ctx, act, now, func(q storage.Queries) error {
		if allowed {
			qa, _, err := q.PutInteractionAuthorization(ctx, storage.InteractionAuthorization{Kind: storage.AuthorizationQuote,
				StatusID: st.ID, Account: la.name, InteractionID: act.Instrument, ActorID: act.Actor, RequestID: act.ID, CreatedAt: now})
			if err != nil {
				return err
			}
			answer.ID = la.id + "#accepts/quote_requests/" + strconv.FormatInt(qa.ID, 10)
			answer.Authorization = s.QuoteAuthorizationID(la.name, st.ID, qa.ID)
			if act.Note != nil {
				if err := q.UpsertRemoteProfile(ctx, prof); err != nil {
					return err
				}
				stored, _, err := q.InsertRemoteStatus(ctx, rs)
				if err != nil {
					return err
				}
				if err := s.notify(ctx, q, la, storage.NotificationQuote, act.Instrument, act.Actor, st.ID, stored.ID, now); err != nil {
					return err
				}
			}
		} else {
			answer.ID = la.id + "#rejects/quote_requests/" + shortHash(act.ID)
		}
		body, err := EncodeInteractionAnswer(answer)
		if err != nil {
			return err
		}
		return s.Enqueue(ctx, q, Outgoing{Account: la.name, Activity: body, Inboxes: []string{inbox},
			Ref: "quote:" + shortHash(act.ID)})
	})
	if err != nil || dup {
		return dupOutcome(dup), err
	}
	s.Nudge()
	return outcome, nil
}

// QuoteAuthorizationID is the IRI of the stamp authorizing a quote of one
// of our posts.
func (s *Service) QuoteAuthorizationID(account string, statusID, id int64) string {
	return s.links.Note(account, statusID) + "/quotes/" + strconv.FormatInt(id, 10)
}

// quoteAuthorization serves a QuoteAuthorization stamp (approvals.go
// serves the other kinds).
func (s *Service) quoteAuthorization(w http.ResponseWriter, r *http.Request) {
	la, st, a, ok := s.servedAuthorization(w, r, "qid", func(kind string) bool { return kind == storage.AuthorizationQuote })
	if !ok {
		return
	}
	body, err := EncodeQuoteAuthorization(s.QuoteAuthorizationID(la.name, st.ID, a.ID), la.id, a.InteractionID, s.links.Note(la.name, st.ID))
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeAS2(w, body)
}
