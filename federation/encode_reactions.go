package federation

import "time"

// ReactionDoc is a boost (Announce) or a favourite (Like) of a post by one
// of our actors, in plain Go.
type ReactionDoc struct {
	ID        string // the activity's id
	Type      string // "Announce" or "Like"
	Actor     string
	Object    string // the post's IRI
	Author    string // the post's author (addressed)
	Followers string // the actor's followers collection (an Announce's cc)
	Published time.Time
}

// reactionJSON is the activity of r, without @context. An Announce is
// public and copies the author and the actor's followers, as Mastodon
// sends it; a Like is addressed to the author alone.
func reactionJSON(r ReactionDoc) activityJSON {
	a := activityJSON{ID: r.ID, Type: r.Type, Actor: r.Actor, Object: r.Object}
	if !r.Published.IsZero() {
		a.Published = timeJSON(r.Published)
	}
	if r.Type == "Announce" {
		a.To = []string{asPublic}
		cc := []string{}
		if r.Author != "" && r.Author != r.Actor {
			cc = append(cc, r.Author)
		}
		a.Cc = append(cc, r.Followers)
	} else if r.Author != "" {
		a.To = r.Author
	}
	return a
}

// EncodeReaction builds the Announce or Like of r.
func EncodeReaction(r ReactionDoc) ([]byte, error) {
	a := reactionJSON(r)
	a.Context = asContext
	return marshalJSON(a)
}

// EncodeUndoReaction builds the Undo of r, which it embeds (the receiver
// can match it without a lookup), with r's audience.
func EncodeUndoReaction(undoID string, r ReactionDoc) ([]byte, error) {
	inner := reactionJSON(r)
	return marshalJSON(activityJSON{Context: asContext, ID: undoID, Type: "Undo", Actor: r.Actor,
		To: inner.To, Cc: inner.Cc, Object: inner})
}
