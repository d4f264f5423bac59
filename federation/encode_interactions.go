package federation

import (
	"fmt"
	"time"

	"github.com/passerelle/passerelle/policy"
)

// The outbound half of the conversion layer for interactions: the
// interaction policy written on our Notes (GoToSocial's interactionPolicy
// and Mastodon's canQuote, FEP-044f), the answers to replies, likes,
// boosts and their requests and to quote requests (Reject, Accept with
// an authorization), the authorizations themselves, and Block.

// interactionContext declares the interaction policy and quote terms, in
// the shape Mastodon 4.5 and GoToSocial write them.
var interactionContext = map[string]any{
	"gts":                "https://gotosocial.org/ns#",
	"interactionPolicy":  map[string]any{"@id": "gts:interactionPolicy", "@type": "@id"},
	"canLike":            map[string]any{"@id": "gts:canLike", "@type": "@id"},
	"canReply":           map[string]any{"@id": "gts:canReply", "@type": "@id"},
	"canAnnounce":        map[string]any{"@id": "gts:canAnnounce", "@type": "@id"},
	"canQuote":           map[string]any{"@id": "gts:canQuote", "@type": "@id"},
	"automaticApproval":  map[string]any{"@id": "gts:automaticApproval", "@type": "@id"},
	"manualApproval":     map[string]any{"@id": "gts:manualApproval", "@type": "@id"},
	"always":             map[string]any{"@id": "gts:always", "@type": "@id"},
	"approvalRequired":   map[string]any{"@id": "gts:approvalRequired", "@type": "@id"},
	"interactingObject":  map[string]any{"@id": "gts:interactingObject", "@type": "@id"},
	"interactionTarget":  map[string]any{"@id": "gts:interactionTarget", "@type": "@id"},
	"quote":              map[string]any{"@id": "https://w3id.org/fep/044f#quote", "@type": "@id"},
	"quoteAuthorization": map[string]any{"@id": "https://w3id.org/fep/044f#quoteAuthorization", "@type": "@id"},
	"QuoteRequest":       "https://w3id.org/fep/044f#QuoteRequest",
	"QuoteAuthorization": "https://w3id.org/fep/044f#QuoteAuthorization",
	// GoToSocial's interaction requests and authorizations (approvals.go).
	"ReplyRequest":          "gts:ReplyRequest",
	"LikeRequest":           "gts:LikeRequest",
	"AnnounceRequest":       "gts:AnnounceRequest",
	"ReplyAuthorization":    "gts:ReplyAuthorization",
	"LikeAuthorization":     "gts:LikeAuthorization",
	"AnnounceAuthorization": "gts:AnnounceAuthorization",
	"replyAuthorization":    map[string]any{"@id": "gts:replyAuthorization", "@type": "@id"},
	"likeAuthorization":     map[string]any{"@id": "gts:likeAuthorization", "@type": "@id"},
	"announceAuthorization": map[string]any{"@id": "gts:announceAuthorization", "@type": "@id"},
	"approvedBy":            map[string]any{"@id": "gts:approvedBy", "@type": "@id"},
}

// quoteContext is the @context of authorizations and of the answers to
// interaction requests (quotes, replies, likes, boosts). The gts prefix
// ends in "#", so that GoToSocial reads the terms unprefixed.
var quoteContext = []any{"https://www.w3.org/ns/activitystreams", interactionContext}

// ReplyAudience lists who the rule lets reply to a post of author, in
// the shape of GoToSocial's canReply: automatic (automaticApproval, and
// the older always) is the public collection alone, or the author then
// the followers and following collections and the mentioned actors the
// rule names; manual (manualApproval, the older approvalRequired) lists
// who may ask. Neither ever lets in more than the rule: mutuals (a
// follower the author follows too) cannot be said with collections, so
// the following collection is asked to request approval, and our inbox
// grants it to mutuals only (policy.Rule.Allows).
func ReplyAudience(r policy.Rule, author string, mentioned []string) (automatic, manual []any) {
	manual = []any{}
	if r.Public {
		return []any{asPublic}, manual
	}
	automatic = []any{author}
	if r.Followers {
		automatic = append(automatic, author+"/followers")
	}
	if r.Following {
		automatic = append(automatic, author+"/following")
	}
	if r.Mutuals && !r.Followers && !r.Following {
		manual = append(manual, author+"/following")
	}
	if r.Mentioned {
		for _, m := range mentioned {
			automatic = append(automatic, m)
		}
	}
	return automatic, manual
}

// quoteAudience is Mastodon's canQuote automaticApproval: public,
// followers, or the author alone.
func quoteAudience(r policy.Rule, author string) []any {
	switch {
	case r.Public:
		return []any{asPublic}
	case r.Followers:
		return []any{author + "/followers"}
	}
	return []any{author}
}

// interactionPolicy is the interactionPolicy of n. Likes and boosts are
// open to whoever can see the post; each sub-policy GoToSocial reads is
// written in its current (automaticApproval, manualApproval) and older
// (always, approvalRequired) form: GoToSocial 0.20 reads both, older
// versions the older one only.
func (n Note) interactionPolicy() map[string]any {
	var mentioned []string
	for _, m := range n.Mentions {
		mentioned = append(mentioned, m.ActorID)
	}
	reply, replyManual := ReplyAudience(policy.Replies(n.Replies), n.AttributedTo, mentioned)
	open := []any{asPublic}
	sub := func(who, manual []any) map[string]any {
		return map[string]any{"automaticApproval": who, "always": who, "manualApproval": manual, "approvalRequired": manual}
	}
	return map[string]any{
		"canLike":     sub(open, []any{}),
		"canReply":    sub(reply, replyManual),
		"canAnnounce": sub(open, []any{}),
		"canQuote": map[string]any{
			"automaticApproval": quoteAudience(policy.Quotes(n.Quotes), n.AttributedTo),
			"manualApproval":    []any{},
		},
	}
}

// EncodeRejectReply builds actor's Reject of a reply to one of its posts
// (GoToSocial's interaction policy shape: the reply as object, the post
// replied to as target).
func EncodeRejectReply(id, actor, to, reply, target string) ([]byte, error) {
	return marshalJSON(activityJSON{Context: asContext, ID: id, Type: "Reject", Actor: actor, To: to, Object: reply, Target: target})
}

// EncodeAuthorization is the document at an authorization's IRI: actor
// authorizes the post or activity interacting to interact with its post
// target. typ is QuoteAuthorization (FEP-044f's stamp),
// ReplyAuthorization, LikeAuthorization or AnnounceAuthorization.
func EncodeAuthorization(typ, id, actor, interacting, target string) ([]byte, error) {
	return marshalJSON(map[string]any{
		"@context":          quoteContext,
		"id":                id,
		"type":              typ,
		"attributedTo":      actor,
		"interactingObject": interacting,
		"interactionTarget": target,
	})
}

// EncodeQuoteAuthorization is the document at a stamp's IRI: actor
// authorizes the post quoting to quote its post quoted.
func EncodeQuoteAuthorization(id, actor, quoting, quoted string) ([]byte, error) {
	return EncodeAuthorization("QuoteAuthorization", id, actor, quoting, quoted)
}

// InteractionRequest is a polite interaction request (ReplyRequest,
// LikeRequest, AnnounceRequest) as an answer embeds it.
type InteractionRequest struct{ ID, Type, Actor string }

// InteractionAnswer is the Accept or Reject of a reply, like or boost of
// one of our posts (GoToSocial's interaction controls).
type InteractionAnswer struct {
	ID    string // the Accept's or Reject's id
	Actor string // our actor
	To    string // the interacting actor
	Cc    []string
	// Request is the request answered, embedded as the object (its
	// object our post, its instrument the interaction); nil for an
	// interaction that came without one: the object is then the
	// interaction, and the target our post.
	Request     *InteractionRequest
	Interaction string // the reply's, Like's or Announce's id
	Target      string // our post
	// Authorization is the Accept's result; empty for a Reject.
	Authorization string
}

// EncodeInteractionAnswer builds the Accept (with the authorization as
// result) or the Reject of an interaction.
func EncodeInteractionAnswer(a InteractionAnswer) ([]byte, error) {
	typ := "Reject"
	if a.Authorization != "" {
		typ = "Accept"
	}
	m := map[string]any{
		"@context": quoteContext,
		"id":       a.ID,
		"type":     typ,
		"actor":    a.Actor,
		"to":       []any{a.To},
	}
	if len(a.Cc) > 0 {
		m["cc"] = a.Cc
	}
	if a.Request != nil {
		m["object"] = map[string]any{
			"id":         a.Request.ID,
			"type":       a.Request.Type,
			"actor":      a.Request.Actor,
			"object":     a.Target,
			"instrument": a.Interaction,
		}
	} else {
		m["object"] = a.Interaction
		m["target"] = a.Target
	}
	if a.Authorization != "" {
		m["result"] = a.Authorization
	}
	return marshalJSON(m)
}

// EncodeBlock builds actor's Block of object.
func EncodeBlock(id, actor, object string) ([]byte, error) {
	b := blockJSON(id, actor, object)
	b.Context = asContext
	return marshalJSON(b)
}

func blockJSON(id, actor, object string) activityJSON {
	return activityJSON{ID: id, Type: "Block", Actor: actor, To: object, Object: object}
}

// EncodeUndoBlock builds actor's Undo of its Block (blockID) of object.
func EncodeUndoBlock(id, actor, object, blockID string) ([]byte, error) {
	return marshalJSON(activityJSON{Context: asContext, ID: id, Type: "Undo", Actor: actor, To: object,
		Object: blockJSON(blockID, actor, object)})
}

// blockID is the id of account's Block of actorID made at t: derived, so
// that its Undo can name it again.
func blockID(accountIRI, actorID string, t time.Time) string {
	return fmt.Sprintf("%s#blocks/%s", accountIRI, shortHash(actorID+"|"+t.UTC().Format(time.RFC3339Nano)))
}
