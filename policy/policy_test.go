package policy

import (
	"slices"
	"testing"

	"github.com/passerelle/passerelle/config"
)

func TestReplies(t *testing.T) {
	stranger := Facts{}
	follower := Facts{Follower: true}
	followed := Facts{Followed: true}
	mentioned := Facts{Mentioned: true}
	mutual := Facts{Follower: true, Followed: true}
	tests := []struct {
		name  string
		value string
		want  Rule
		allow []Facts
		deny  []Facts
	}{
		{"everyone", config.RepliesEveryone, Rule{Public: true}, []Facts{stranger, follower, mentioned}, nil},
		{"empty is everyone", "", Rule{Public: true}, []Facts{stranger}, nil},
		{"followers, and mentioned", config.RepliesFollowers, Rule{Followers: true, Mentioned: true}, []Facts{follower, mentioned}, []Facts{stranger, followed}},
		{"following, and mentioned", config.RepliesFollowing, Rule{Following: true, Mentioned: true}, []Facts{followed, mentioned}, []Facts{stranger, follower}},
		{"mentioned", config.RepliesMentioned, Rule{Mentioned: true}, []Facts{mentioned}, []Facts{stranger, follower, followed}},
		{"nobody, not even mentioned", config.RepliesNobody, Rule{}, nil, []Facts{stranger, follower, followed, mentioned}},
		{"mutuals, and mentioned", RepliesMutuals, Rule{Mutuals: true, Mentioned: true}, []Facts{mutual, mentioned},
			[]Facts{stranger, follower, followed}},
		{"followers or following, and mentioned", RepliesFollowersOrFollowing, Rule{Followers: true, Following: true, Mentioned: true},
			[]Facts{follower, followed, mutual, mentioned}, []Facts{stranger}},
		{"an unknown value allows nobody", "friends", Rule{}, nil, []Facts{stranger, follower, followed, mutual, mentioned}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Replies(tt.value)
			if r != tt.want {
				t.Fatalf("Replies(%q) = %+v, want %+v", tt.value, r, tt.want)
			}
			for _, f := range tt.allow {
				if !r.Allows(f) {
					t.Errorf("%+v refused", f)
				}
			}
			for _, f := range tt.deny {
				if r.Allows(f) {
					t.Errorf("%+v allowed", f)
				}
			}
		})
	}
}

func TestQuotes(t *testing.T) {
	tests := []struct {
		name     string
		value    string
		want     Rule
		bluesky  bool
		mastodon string
	}{
		{"allow", QuotesAllow, Rule{Public: true}, true, "public"},
		{"empty allows", "", Rule{Public: true}, true, "public"},
		{"followers: forbidden on Bluesky, which cannot say it", QuotesFollowers, Rule{Followers: true}, false, "followers"},
		{"disallow", QuotesDisallow, Rule{}, false, "nobody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quotes(tt.value); got != tt.want {
				t.Errorf("Quotes(%q) = %+v, want %+v", tt.value, got, tt.want)
			}
			if got := BlueskyQuotable(tt.value); got != tt.bluesky {
				t.Errorf("BlueskyQuotable(%q) = %v", tt.value, got)
			}
			if got := MastodonQuoteApproval(tt.value); got != tt.mastodon {
				t.Errorf("MastodonQuoteApproval(%q) = %q", tt.value, got)
			}
			if tt.value != "" {
				back, err := QuotesFromMastodon(tt.mastodon)
				if err != nil || back != tt.value {
					t.Errorf("QuotesFromMastodon(%q) = %q, %v", tt.mastodon, back, err)
				}
			}
		})
	}
	if _, err := QuotesFromMastodon("everyone"); err == nil {
		t.Error("QuotesFromMastodon accepted an unknown value")
	}
}

func TestRepliesFromGoToSocial(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		want    string
		wantErr bool
	}{
		{"public", []string{"author", "public"}, config.RepliesEveryone, false},
		{"followers", []string{"author", "followers"}, config.RepliesFollowers, false},
		{"followers and mentioned", []string{"followers", "mentioned"}, config.RepliesFollowers, false},
		{"following", []string{"following"}, config.RepliesFollowing, false},
		{"mutuals are mutuals, not everyone", []string{"mutuals"}, RepliesMutuals, false},
		{"mutuals and mentioned", []string{"author", "mutuals", "mentioned"}, RepliesMutuals, false},
		{"followers plus following are either, not everyone", []string{"followers", "following"}, RepliesFollowersOrFollowing, false},
		{"mutuals within followers", []string{"followers", "mutuals"}, config.RepliesFollowers, false},
		{"mutuals within following", []string{"following", "mutuals"}, config.RepliesFollowing, false},
		{"mentioned", []string{"mentioned"}, config.RepliesMentioned, false},
		{"author only", []string{"author"}, config.RepliesNobody, false},
		{"me only", []string{"me"}, config.RepliesNobody, false},
		{"empty", nil, config.RepliesNobody, false},
		{"unknown", []string{"https://evil.example/users/x"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RepliesFromGoToSocial(tt.values)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("RepliesFromGoToSocial(%v) = %q, %v; want %q", tt.values, got, err, tt.want)
			}
			if err == nil && !ValidReplies(got) {
				t.Errorf("%q is not a valid replies value", got)
			}
		})
	}
}

// TestRepliesFromGoToSocialNeverWidens: for every list a client may send,
// whoever the setting chosen lets reply was asked for (or is mentioned,
// whom GoToSocial always lets reply unless the list is the author's
// alone).
func TestRepliesFromGoToSocialNeverWidens(t *testing.T) {
	names := []string{"public", "followers", "following", "mutuals", "mentioned"}
	var facts []Facts
	for i := range 8 {
		facts = append(facts, Facts{Follower: i&1 != 0, Followed: i&2 != 0, Mentioned: i&4 != 0})
	}
	for mask := range 1 << len(names) {
		values := []string{"author"}
		var asked Rule
		for i, n := range names {
			if mask&(1<<i) == 0 {
				continue
			}
			values = append(values, n)
			switch n {
			case "public":
				asked.Public = true
			case "followers":
				asked.Followers = true
			case "following":
				asked.Following = true
			case "mutuals":
				asked.Mutuals = true
			case "mentioned":
				asked.Mentioned = true
			}
		}
		setting, err := RepliesFromGoToSocial(values)
		if err != nil {
			t.Fatalf("%v: %v", values, err)
		}
		got := Replies(setting)
		for _, f := range facts {
			implicit := f.Mentioned && !asked.Nobody()
			if got.Allows(f) && !asked.Allows(f) && !implicit {
				t.Errorf("%v -> %q lets in %+v, who was not asked for", values, setting, f)
			}
			if asked.Allows(f) && !got.Allows(f) {
				t.Errorf("%v -> %q shuts out %+v, who was asked for", values, setting, f)
			}
		}
	}
}

func TestGoToSocialValuesRoundTrip(t *testing.T) {
	for _, v := range RepliesValues {
		vals := GoToSocialValues(Replies(v))
		if !slices.Contains(vals, "author") {
			t.Errorf("%s: %v lacks author", v, vals)
		}
		if back, err := RepliesFromGoToSocial(vals); err != nil || back != v {
			t.Errorf("%s: %v -> %q, %v", v, vals, back, err)
		}
	}
}

func TestEffective(t *testing.T) {
	if Effective("everyone", "") != "everyone" || Effective("everyone", "nobody") != "nobody" {
		t.Error("Effective does not prefer the override")
	}
}

// TestRuleAnd: the rule of two is what both allow (exactly, where it can
// be said), and never lets in anyone either would refuse.
func TestRuleAnd(t *testing.T) {
	tests := []struct {
		name string
		a, b Rule
		want Rule
	}{
		{"everyone and following", Rule{Public: true}, Replies(config.RepliesFollowing), Replies(config.RepliesFollowing)},
		{"following and everyone", Replies(config.RepliesFollowing), Rule{Public: true}, Replies(config.RepliesFollowing)},
		{"followers and following: mutuals", Replies(config.RepliesFollowers), Replies(config.RepliesFollowing), Replies(RepliesMutuals)},
		{"mentioned and following", Replies(config.RepliesMentioned), Replies(config.RepliesFollowing), Replies(config.RepliesMentioned)},
		{"nobody and following", Replies(config.RepliesNobody), Replies(config.RepliesFollowing), Rule{}},
		{"followers or following and following", Replies(RepliesFollowersOrFollowing), Replies(config.RepliesFollowing),
			Rule{Following: true, Mutuals: true, Mentioned: true}},
		{"mutuals and followers", Replies(RepliesMutuals), Replies(config.RepliesFollowers), Replies(RepliesMutuals)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.And(tc.b); got != tc.want {
				t.Errorf("%+v.And(%+v) = %+v, want %+v", tc.a, tc.b, got, tc.want)
			}
		})
	}
	rule := func(bits int) Rule {
		return Rule{Public: bits&1 != 0, Followers: bits&2 != 0, Following: bits&4 != 0, Mutuals: bits&8 != 0, Mentioned: bits&16 != 0}
	}
	for i := range 32 {
		for j := range 32 {
			a, b := rule(i), rule(j)
			and := a.And(b)
			for f := range 8 {
				facts := Facts{Follower: f&1 != 0, Followed: f&2 != 0, Mentioned: f&4 != 0}
				if and.Allows(facts) && !(a.Allows(facts) && b.Allows(facts)) {
					t.Fatalf("%+v.And(%+v) = %+v lets in %+v, whom one of them refuses", a, b, and, facts)
				}
				// Exact where it can be: all but a mentioned actor let in
				// by the mention rule on one side only.
				if a.Allows(facts) && b.Allows(facts) && !and.Allows(facts) && !facts.Mentioned {
					t.Fatalf("%+v.And(%+v) = %+v refuses %+v, whom both allow", a, b, and, facts)
				}
			}
		}
	}
}
