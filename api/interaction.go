package api

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/publish"
)

// A post's own interaction policy, as clients send it:
//
//   - GoToSocial's interaction_policy: interaction_policy[can_reply]
//     [always][] (or [automatic_approval][]) lists who may reply: public,
//     followers, following, mutuals, mentioned, author/me. The same for
//     can_quote (public, followers, author). can_favourite and can_reblog
//     are accepted and ignored: likes and boosts stay open. Approval lists
//     (with_approval, manual_approval) grant nothing: this server does
//     not hold interactions for approval.
//   - Mastodon 4.5's quote_approval_policy: public, followers or nobody.
//
// The post keeps it on the fediverse (its Note's interactionPolicy, the
// replies and quote requests it accepts) and on Bluesky (its threadgate
// and postgate).

var policyKeyRE = regexp.MustCompile(`^interaction_policy\[([a-z_]+)\]\[([a-z_]+)\](\[\d*\])?$`)

// policyLists returns, per interaction (can_reply...), the values of its
// automatic approval lists, and whether interaction_policy was given.
func policyLists(p *params) (map[string][]string, bool) {
	out := map[string][]string{}
	automatic := func(cond string) bool { return cond == "always" || cond == "automatic_approval" }
	if raw, ok := p.json["interaction_policy"]; ok {
		var m map[string]map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return out, true
		}
		for interaction, conds := range m {
			out[interaction] = []string{} // given, possibly empty
			for cond, v := range conds {
				if !automatic(cond) {
					continue
				}
				var list []string
				if json.Unmarshal(v, &list) != nil {
					var one string
					if json.Unmarshal(v, &one) == nil {
						list = []string{one}
					}
				}
				out[interaction] = append(out[interaction], list...)
			}
		}
		return out, true
	}
	given := false
	for _, f := range p.kv {
		m := policyKeyRE.FindStringSubmatch(f.key)
		if m == nil {
			continue
		}
		given = true
		if _, ok := out[m[1]]; !ok {
			out[m[1]] = []string{}
		}
		if automatic(m[2]) && f.value != "" {
			out[m[1]] = append(out[m[1]], f.value)
		}
	}
	return out, given
}

// interactionPolicyParams reads a new post's own interaction policy.
func interactionPolicyParams(p *params, d *publish.Draft) error {
	lists, given := policyLists(p)
	if given {
		if vals, ok := lists["can_reply"]; ok {
			replies, err := policy.RepliesFromGoToSocial(vals)
			if err != nil {
				return unprocessable("Validation failed: interaction_policy[can_reply]: " + err.Error())
			}
			d.Replies = replies
		}
		if vals, ok := lists["can_quote"]; ok {
			d.Quotes = policy.QuotesDisallow
			for _, v := range vals {
				switch strings.ToLower(strings.TrimSpace(v)) {
				case "public":
					d.Quotes = policy.QuotesAllow
				case "followers":
					if d.Quotes != policy.QuotesAllow {
						d.Quotes = policy.QuotesFollowers
					}
				case "author", "me", "":
				default:
					return unprocessable("Validation failed: interaction_policy[can_quote] takes public, followers or author; got " + v)
				}
			}
		}
	}
	if v, ok := p.get("quote_approval_policy"); ok && v != "" {
		q, err := policy.QuotesFromMastodon(v)
		if err != nil {
			return unprocessable("Validation failed: " + err.Error())
		}
		d.Quotes = q
	}
	return nil
}
