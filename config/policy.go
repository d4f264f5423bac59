package config

import "fmt"

// The interaction policy of an account's posts, on the fediverse and on
// Bluesky alike (package policy turns it into both networks' controls):
// replies (who may reply; declared with the Bluesky settings, see
// bluesky.go) and quotes (who may quote).

// QuotesFollowers lets only the account's followers quote its posts
// (quotes: followers). Bluesky cannot express it: there, quoting is
// forbidden.
const QuotesFollowers = "followers"

// DefaultQuotes is the quotes setting of an account that has none.
const DefaultQuotes = QuotesAllow

var accountQuotesValues = []string{QuotesAllow, QuotesFollowers, QuotesDisallow}

// applyPolicyDefaults fills in each account's quotes, and the Bluesky
// mirror's bluesky.quotes from it when that is not set (so that one
// setting governs both networks). It runs before the Bluesky defaults.
func (c *Config) applyPolicyDefaults() {
	for i := range c.Accounts {
		a := &c.Accounts[i]
		setDefault(&a.Quotes, DefaultQuotes)
		if a.Bluesky.Enabled() && a.Bluesky.Quotes == "" {
			// A postgate can only allow or forbid: "followers" forbids.
			a.Bluesky.Quotes = QuotesDisallow
			if a.Quotes == QuotesAllow {
				a.Bluesky.Quotes = QuotesAllow
			}
		}
	}
}

// policyAccounts checks every account's quotes setting.
func (v *validator) policyAccounts(accounts []Account) {
	for i, a := range accounts {
		if a.Quotes != "" {
			v.oneOf(fmt.Sprintf("accounts[%d].quotes", i), a.Quotes, accountQuotesValues)
		}
	}
}
