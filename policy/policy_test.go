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
		{"mutuals widen to everyone this server can express", []string{"mutuals"}, config.RepliesEveryone, false},
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

func TestGoToSocialValuesRoundTrip(t *testing.T) {
	for _, v := range []string{config.RepliesEveryone, config.RepliesFollowers, config.RepliesFollowing, config.RepliesMentioned, config.RepliesNobody} {
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
