package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/passerelle/passerelle/config"
)

// Rule says who, besides the author, may interact with a post. The zero
// Rule allows nobody. Each network gets the narrowest audience it can
// express that is not wider than the Rule (package federation for the
// fediverse, package atproto for Bluesky): a policy is never widened.
type Rule struct {
	Public    bool // anyone who can see the post
	Followers bool // the author's followers
	Following bool // the actors the author follows
	Mutuals   bool // the author's followers whom the author follows too
	Mentioned bool // the actors the post mentions
}

// Nobody reports whether only the author may interact.
func (r Rule) Nobody() bool { return r == Rule{} }

// And is the rule that allows only whom both r and o allow, or less when
// that cannot be said (mentioned followers: nobody): it is never wider
// than either. Followers and following together are the mutuals.
func (r Rule) And(o Rule) Rule {
	if r.Public {
		return o
	}
	if o.Public {
		return r
	}
	cross := func(a, b Rule) bool {
		return a.Mutuals && (b.Mutuals || b.Followers || b.Following) || a.Followers && b.Following
	}
	return Rule{
		Followers: r.Followers && o.Followers,
		Following: r.Following && o.Following,
		Mutuals:   cross(r, o) || cross(o, r),
		Mentioned: r.Mentioned && o.Mentioned,
	}
}

// Facts are what is known of an actor interacting with a post.
type Facts struct {
	Follower  bool // follows the author (accepted)
	Followed  bool // is followed by the author
	Mentioned bool // is mentioned in the post
}

// Allows reports whether an actor with these facts may interact.
func (r Rule) Allows(f Facts) bool {
	return r.Public || (r.Followers && f.Follower) || (r.Following && f.Followed) ||
		(r.Mutuals && f.Follower && f.Followed) || (r.Mentioned && f.Mentioned)
}

// Replies settings beyond the account settings (config.Replies*), which
// only a post's own policy takes (the client API's interaction_policy):
// mutuals, and followers or following (both collections).
const (
	RepliesMutuals              = "mutuals"
	RepliesFollowersOrFollowing = "followers_or_following"
)

// Replies is the rule of a replies setting (config.Replies*,
// RepliesMutuals, RepliesFollowersOrFollowing); empty is everyone's. An
// unknown value (one a newer version wrote) allows nobody: a policy is
// never widened.
func Replies(value string) Rule {
	switch value {
	case "", config.RepliesEveryone:
		return Rule{Public: true}
	case config.RepliesFollowers:
		return Rule{Followers: true, Mentioned: true}
	case config.RepliesFollowing:
		return Rule{Following: true, Mentioned: true}
	case RepliesFollowersOrFollowing:
		return Rule{Followers: true, Following: true, Mentioned: true}
	case RepliesMutuals:
		return Rule{Mutuals: true, Mentioned: true}
	case config.RepliesMentioned:
		return Rule{Mentioned: true}
	}
	return Rule{}
}

// Quote settings (accounts[].quotes and per-post overrides): allow,
// followers or disallow. QuotesAllow and QuotesDisallow are the values of
// bluesky.quotes too.
const (
	QuotesAllow     = config.QuotesAllow
	QuotesFollowers = config.QuotesFollowers
	QuotesDisallow  = config.QuotesDisallow
)

// QuotesValues are the valid quote settings.
var QuotesValues = []string{QuotesAllow, QuotesFollowers, QuotesDisallow}

// Quotes is the rule of a quotes setting; an empty or unknown value allows
// everyone, as Mastodon's default for public posts.
func Quotes(value string) Rule {
	switch value {
	case QuotesFollowers:
		return Rule{Followers: true}
	case QuotesDisallow:
		return Rule{}
	}
	return Rule{Public: true}
}

// BlueskyQuotable reports whether a post with this quotes setting may be
// quoted on Bluesky. A postgate can only allow or forbid quoting, so
// "followers" forbids it there: the stricter choice.
func BlueskyQuotable(quotes string) bool { return Quotes(quotes).Public }

// Effective returns override when set, else the account's value.
func Effective(account, override string) string {
	if override != "" {
		return override
	}
	return account
}

// RepliesValues are the valid replies settings of a post: the account
// settings, mutuals, and followers or following.
var RepliesValues = []string{config.RepliesEveryone, config.RepliesFollowers, config.RepliesFollowing,
	RepliesFollowersOrFollowing, RepliesMutuals, config.RepliesMentioned, config.RepliesNobody}

// ValidReplies reports whether v is a replies setting.
func ValidReplies(v string) bool { return slices.Contains(RepliesValues, v) }

// ValidQuotes reports whether v is a quotes setting.
func ValidQuotes(v string) bool { return slices.Contains(QuotesValues, v) }

// RepliesFromGoToSocial turns the values GoToSocial's client API takes in
// interaction_policy[can_reply][always] (or [automatic_approval]) into a
// replies setting: "public"; "followers", "following", "mutuals",
// "mentioned"; "author" or "me". The setting is the narrowest one that
// allows everything listed, and never more: followers and following
// together are either collection (followers_or_following), not everyone;
// mutuals are those in both (mutuals), and within followers or following
// when either is listed as well.
func RepliesFromGoToSocial(values []string) (string, error) {
	var r Rule
	for _, v := range values {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "public":
			r.Public = true
		case "followers":
			r.Followers = true
		case "following":
			r.Following = true
		case "mutuals":
			r.Mutuals = true
		case "mentioned":
			r.Mentioned = true
		case "author", "me", "":
		default:
			return "", fmt.Errorf("unknown interaction policy value %q (want public, followers, following, mutuals, mentioned or author)", v)
		}
	}
	switch {
	case r.Public:
		return config.RepliesEveryone, nil
	case r.Followers && r.Following:
		return RepliesFollowersOrFollowing, nil
	case r.Followers:
		return config.RepliesFollowers, nil
	case r.Following:
		return config.RepliesFollowing, nil
	case r.Mutuals:
		return RepliesMutuals, nil
	case r.Mentioned:
		return config.RepliesMentioned, nil
	}
	return config.RepliesNobody, nil
}

// GoToSocialValues is the client API form of a rule, for
// interaction_policy in Status entities: "author" first, then what the
// rule allows.
func GoToSocialValues(r Rule) []string {
	out := []string{"author"}
	if r.Public {
		return append(out, "public")
	}
	if r.Followers {
		out = append(out, "followers")
	}
	if r.Following {
		out = append(out, "following")
	}
	if r.Mutuals {
		out = append(out, "mutuals")
	}
	if r.Mentioned {
		out = append(out, "mentioned")
	}
	return out
}

// QuotesFromMastodon turns Mastodon's quote_approval_policy parameter
// (public, followers, nobody) into a quotes setting.
func QuotesFromMastodon(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "public":
		return QuotesAllow, nil
	case "followers":
		return QuotesFollowers, nil
	case "nobody":
		return QuotesDisallow, nil
	}
	return "", fmt.Errorf("unknown quote_approval_policy %q (want public, followers or nobody)", v)
}

// MastodonQuoteApproval is Mastodon's name of a quotes setting
// (quote_approval "automatic" list).
func MastodonQuoteApproval(quotes string) string {
	switch quotes {
	case QuotesFollowers:
		return "followers"
	case QuotesDisallow:
		return "nobody"
	}
	return "public"
}

// The strictest policy, crisis mode's (package publish): nobody but the
// author may reply (not even the mentioned) or quote.
const (
	StrictestReplies = config.RepliesNobody
	StrictestQuotes  = QuotesDisallow
)

// Strictest reports whether a post's own policy is the strictest one.
func Strictest(replies, quotes string) bool {
	return replies == StrictestReplies && quotes == StrictestQuotes
}
