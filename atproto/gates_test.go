package atproto

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/storage"
)

// TestBuildGates: the one builder of gate records: the rule, narrowed by
// the shield's replies setting (never widened by it), the hidden replies
// and detached quotes within the lexicon's bounds, the newest kept.
func TestBuildGates(t *testing.T) {
	uris := func(prefix string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("at://did:plc:%s%d/app.bsky.feed.post/x", prefix, i))
		}
		return out
	}
	everyone, quotable := policy.Replies(config.RepliesEveryone), policy.Quotes(policy.QuotesAllow)
	tests := []struct {
		name         string
		g            gateRule
		root         bool
		wantAllow    string // "-": no threadgate; "*": anyone (no allow list)
		wantHidden   int
		wantPostgate string // "": none; "open" or "disabled"
		wantDetached int
	}{
		{"public post, no shield", gateRule{replies: everyone, quotes: quotable}, true, "*", 0, "", 0},
		{"not the root: no threadgate", gateRule{replies: everyone, quotes: quotable}, false, "-", 0, "", 0},
		{"tightened to following", gateRule{replies: everyone, quotes: quotable,
			shield: storage.BlueskyShield{Replies: config.RepliesFollowing}}, true, "mention,following", 0, "", 0},
		{"never wider than the post's mentioned", gateRule{replies: policy.Replies(config.RepliesMentioned), quotes: quotable,
			shield: storage.BlueskyShield{Replies: config.RepliesFollowing}}, true, "mention", 0, "", 0},
		{"nobody stays nobody", gateRule{replies: policy.Replies(config.RepliesNobody), quotes: quotable,
			shield: storage.BlueskyShield{Replies: config.RepliesFollowing}}, true, "", 0, "", 0},
		{"hidden replies, bounded", gateRule{replies: everyone, quotes: quotable,
			shield: storage.BlueskyShield{HiddenReplies: uris("r", 400)}}, true, "*", MaxHiddenReplies, "", 0},
		{"detached quotes on a quotable post, bounded", gateRule{replies: everyone, quotes: quotable,
			shield: storage.BlueskyShield{DetachedQuotes: uris("q", 70)}}, false, "-", 0, "open", MaxDetachedQuotes},
		{"quotes disallowed", gateRule{replies: everyone, quotes: policy.Quotes(policy.QuotesDisallow)}, true, "*", 0, "disabled", 0},
		{"quotes disallowed and detached", gateRule{replies: everyone, quotes: policy.Quotes(policy.QuotesFollowers),
			shield: storage.BlueskyShield{DetachedQuotes: uris("q", 2)}}, true, "*", 0, "disabled", 2},
	}
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg, pg := buildGates(tc.g, "at://did:plc:us/app.bsky.feed.post/p", tc.root, at)
			allow := "-"
			if tg != nil {
				allow = "*"
				if tg.Allow != nil {
					var rules []string
					for _, r := range tg.Allow {
						switch {
						case r.FeedThreadgate_MentionRule != nil:
							rules = append(rules, "mention")
						case r.FeedThreadgate_FollowerRule != nil:
							rules = append(rules, "follower")
						case r.FeedThreadgate_FollowingRule != nil:
							rules = append(rules, "following")
						}
					}
					allow = fmt.Sprint(rules)
					allow = allow[1 : len(allow)-1]
					allow = stringsReplaceSpaces(allow)
				}
				if len(tg.HiddenReplies) != tc.wantHidden {
					t.Errorf("%d hidden replies, want %d", len(tg.HiddenReplies), tc.wantHidden)
				}
				if tc.wantHidden > 0 && !slices.Equal(tg.HiddenReplies, tc.g.shield.HiddenReplies[:tc.wantHidden]) {
					t.Error("the hidden replies are not the shield's first (newest)")
				}
				if tg.Post != "at://did:plc:us/app.bsky.feed.post/p" || tg.CreatedAt != datetime(at) {
					t.Errorf("threadgate post %s, created %s", tg.Post, tg.CreatedAt)
				}
			}
			if allow != tc.wantAllow {
				t.Errorf("threadgate allow %q, want %q", allow, tc.wantAllow)
			}
			state := ""
			if pg != nil {
				state = "open"
				if len(pg.EmbeddingRules) == 1 && pg.EmbeddingRules[0].FeedPostgate_DisableRule != nil {
					state = "disabled"
				}
				if len(pg.DetachedEmbeddingUris) != tc.wantDetached {
					t.Errorf("%d detached quotes, want %d", len(pg.DetachedEmbeddingUris), tc.wantDetached)
				}
			}
			if state != tc.wantPostgate {
				t.Errorf("postgate %q, want %q", state, tc.wantPostgate)
			}
			if k := tc.g.kinds(tc.root); len(k) != btoi(tg != nil)+btoi(pg != nil) {
				t.Errorf("kinds %v for threadgate %v and postgate %v", k, tg != nil, pg != nil)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func stringsReplaceSpaces(s string) string {
	out := []rune(s)
	for i, r := range out {
		if r == ' ' {
			out[i] = ','
		}
	}
	return string(out)
}
