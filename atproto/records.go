package atproto

import (
	"errors"
	"io"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/passerelle/passerelle/policy"
)

// Collections written by the mirror.
const (
	collPost       = "app.bsky.feed.post"
	collThreadgate = "app.bsky.feed.threadgate"
	collPostgate   = "app.bsky.feed.postgate"
)

// datetime formats t as the AT Protocol datetime format with
// milliseconds, "2006-01-02T15:04:05.000Z".
func datetime(t time.Time) string { return t.UTC().Format(syntax.AtprotoDatetimeLayout) }

// langs returns the post's language as app.bsky.feed.post langs, or nil
// when it has none or it is not a valid BCP 47 tag.
func langs(lang string) []string {
	if lang == "" {
		return nil
	}
	if _, err := syntax.ParseLanguage(lang); err != nil {
		return nil
	}
	return []string{lang}
}

// richtextFacets turns facets into app.bsky.richtext.facet; dids holds the
// DIDs of the mentioned handles (a mention whose handle did not resolve
// is left as plain text).
func richtextFacets(fs []Facet, dids map[string]syntax.DID) []*bsky.RichtextFacet {
	var out []*bsky.RichtextFacet
	for _, f := range fs {
		feat := &bsky.RichtextFacet_Features_Elem{}
		switch f.Kind {
		case FacetLink:
			feat.RichtextFacet_Link = &bsky.RichtextFacet_Link{Uri: f.Value}
		case FacetTag:
			feat.RichtextFacet_Tag = &bsky.RichtextFacet_Tag{Tag: f.Value}
		case FacetMention:
			did, ok := dids[f.Value]
			if !ok {
				continue
			}
			feat.RichtextFacet_Mention = &bsky.RichtextFacet_Mention{Did: did.String()}
		}
		out = append(out, &bsky.RichtextFacet{
			Index:    &bsky.RichtextFacet_ByteSlice{ByteStart: int64(f.Start), ByteEnd: int64(f.End)},
			Features: []*bsky.RichtextFacet_Features_Elem{feat},
		})
	}
	return out
}

// threadgateRecord is app.bsky.feed.threadgate. bsky.FeedThreadgate omits
// an empty allow list, which would turn "nobody can reply" into "anyone
// can reply": here a nil Allow is omitted (anyone) and an empty one is
// written as [] (nobody).
type threadgateRecord struct {
	LexiconTypeID string                            `json:"$type" cborgen:"$type,const=app.bsky.feed.threadgate"`
	Allow         []*bsky.FeedThreadgate_Allow_Elem `json:"allow,omitzero"`
	CreatedAt     string                            `json:"createdAt"`
	HiddenReplies []string                          `json:"hiddenReplies,omitempty"`
	Post          string                            `json:"post"`
}

// MarshalCBOR makes threadgateRecord a lexutil.LexiconTypeDecoder value;
// records are only ever sent as JSON.
func (*threadgateRecord) MarshalCBOR(io.Writer) error {
	return errors.New("atproto: threadgate records are sent as JSON only")
}

// threadgate returns the threadgate of the post at uri for a replies
// rule (package policy's, the same the fediverse side applies): everyone
// (no allow list), followers, following or both (each with the accounts
// the post mentions), mentioned, or nobody (an empty allow list). The
// author may always reply. Bluesky's rules add up (anyone one of them
// lets in may reply) and none says "follows us and is followed by us":
// mutuals get the mention rule alone, the narrowest gate that is not
// wider than the policy (followingRule would let in every account we
// follow). Only buildGates (gates.go) calls it.
func threadgate(r policy.Rule, uri string, created time.Time) *threadgateRecord {
	tg := &threadgateRecord{LexiconTypeID: collThreadgate, Post: uri, CreatedAt: datetime(created)}
	if r.Public {
		return tg // allow omitted: anyone can reply
	}
	tg.Allow = []*bsky.FeedThreadgate_Allow_Elem{} // empty: nobody
	if r.Mentioned {
		tg.Allow = append(tg.Allow, &bsky.FeedThreadgate_Allow_Elem{FeedThreadgate_MentionRule: &bsky.FeedThreadgate_MentionRule{}})
	}
	if r.Followers {
		tg.Allow = append(tg.Allow, &bsky.FeedThreadgate_Allow_Elem{FeedThreadgate_FollowerRule: &bsky.FeedThreadgate_FollowerRule{}})
	}
	if r.Following {
		tg.Allow = append(tg.Allow, &bsky.FeedThreadgate_Allow_Elem{FeedThreadgate_FollowingRule: &bsky.FeedThreadgate_FollowingRule{}})
	}
	return tg
}

// strongRef is a record's URI and CID.
func strongRef(uri, cid string) *comatproto.RepoStrongRef {
	return &comatproto.RepoStrongRef{Uri: uri, Cid: cid}
}

// recordURI is the AT-URI of a record of repo.
func recordURI(did syntax.DID, collection, rkey string) string {
	return "at://" + did.String() + "/" + collection + "/" + rkey
}
