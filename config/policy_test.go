package config

import (
	"strings"
	"testing"
)

func TestPolicySettings(t *testing.T) {
	tests := []struct {
		name        string
		account     Account
		wantQuotes  string
		wantBluesky string // bluesky.quotes after defaults ("" when not mirrored)
		wantErr     string
	}{
		{name: "defaults", account: Account{Username: "news"}, wantQuotes: QuotesAllow},
		{name: "followers", account: Account{Username: "news", Quotes: "followers"}, wantQuotes: QuotesFollowers},
		{name: "mirror follows quotes: allow", account: Account{Username: "news", Bluesky: Bluesky{Identifier: "news.bsky.social", AppPassword: "xxxx-xxxx-xxxx-xxxx"}},
			wantQuotes: QuotesAllow, wantBluesky: QuotesAllow},
		{name: "mirror forbids what quotes: followers cannot say", account: Account{Username: "news", Quotes: "followers", Bluesky: Bluesky{Identifier: "news.bsky.social", AppPassword: "xxxx-xxxx-xxxx-xxxx"}},
			wantQuotes: QuotesFollowers, wantBluesky: QuotesDisallow},
		{name: "bluesky.quotes set explicitly wins", account: Account{Username: "news", Quotes: "disallow", Bluesky: Bluesky{Identifier: "news.bsky.social", AppPassword: "xxxx-xxxx-xxxx-xxxx", Quotes: "allow"}},
			wantQuotes: QuotesDisallow, wantBluesky: QuotesAllow},
		{name: "unknown value", account: Account{Username: "news", Quotes: "mentioned"}, wantQuotes: "mentioned", wantErr: "accounts[0].quotes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Server.PublicURL = "https://social.city.example"
			c.Accounts = []Account{tt.account}
			c.ApplyDefaults()
			a := c.Accounts[0]
			if a.Quotes != tt.wantQuotes || a.Bluesky.Quotes != tt.wantBluesky {
				t.Errorf("quotes %q, bluesky.quotes %q; want %q, %q", a.Quotes, a.Bluesky.Quotes, tt.wantQuotes, tt.wantBluesky)
			}
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate = %v, want a problem with %s", err, tt.wantErr)
			}
		})
	}
}
