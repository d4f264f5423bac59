package config

import (
	"strings"
	"testing"
	"time"
)

func TestNormalizeDomain(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{"plain", "spam.example", "spam.example", ""},
		{"case and spaces", "  Spam.EXAMPLE ", "spam.example", ""},
		{"port", "spam.example:8443", "spam.example", ""},
		{"trailing dot", "spam.example.", "spam.example", ""},
		{"wildcard", "*.spam.example", "spam.example", ""},
		{"URL", "https://Spam.example/@user", "spam.example", ""},
		{"IDN", "Bücher.example", "xn--bcher-kva.example", ""},
		{"punycode kept", "xn--bcher-kva.example", "xn--bcher-kva.example", ""},
		{"underscore", "my_server.example", "my_server.example", ""},
		{"IPv4", "127.0.0.2", "127.0.0.2", ""},
		{"IPv4 with port", "127.0.0.2:9000", "127.0.0.2", ""},
		{"IPv6 with port", "[::1]:443", "::1", ""},
		{"IPv6 without port", "[::1]", "::1", ""},
		{"IPv6 made canonical", "[2001:DB8:0::1]", "2001:db8::1", ""},
		{"IPv4-mapped IPv6", "[::ffff:127.0.0.2]:443", "127.0.0.2", ""},
		{"only a dot", ".", "", "empty"},
		{"empty label", "spam..example", "", "not a valid host name"},
		{"IPv6 garbage", "[::1", "", "not a valid host name"},
		{"empty", " ", "", "empty"},
		{"obfuscated", "ex*mple.com", "", "obfuscated"},
		{"spaces inside", "two words", "", "not a valid host name"},
		{"bad label", "-bad.example", "", "not a valid host name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeDomain(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("NormalizeDomain(%q) = %q, %v; want an error about %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestRateParse(t *testing.T) {
	tests := []struct {
		in    Rate
		n     int
		per   time.Duration
		valid bool
	}{
		{"300/min", 300, time.Minute, true},
		{"5/s", 5, time.Second, true},
		{" 1000 / h ", 1000, time.Hour, true},
		{"off", 0, 0, true},
		{"300", 0, 0, false},
		{"0/min", 0, 0, false},
		{"-1/min", 0, 0, false},
		{"10/day", 0, 0, false},
		{"x/min", 0, 0, false},
	}
	for _, tc := range tests {
		n, per, err := tc.in.Parse()
		if (err == nil) != tc.valid || n != tc.n || per != tc.per {
			t.Errorf("Rate(%q).Parse() = %d, %v, %v; want %d, %v, valid %v", tc.in, n, per, err, tc.n, tc.per, tc.valid)
		}
	}
}

func TestValidateModeration(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{"defaults applied", func(c *Config) {}, nil},
		{"lists, subscriptions and limits", func(c *Config) {
			c.Moderation = Moderation{
				DomainBlocks:  []string{"spam.example", "*.raid.example"},
				DomainAllows:  []string{"partner.example"},
				Subscriptions: []BlocklistSubscription{{URL: "https://lists.example/blocks.csv", Refresh: Duration(6 * time.Hour)}, {URL: "https://other.example/list.txt"}},
			}
			c.Federation.AuthorizedFetch = true
			c.Federation.InboxLimits = InboxLimits{PerDomain: "100/s", PerActor: "off", KeyFetches: "10/min", KeyFetchConcurrency: 8}
		}, nil},
		{"bad entries", func(c *Config) {
			c.Moderation = Moderation{
				DomainBlocks:  []string{"ok.example", "not a domain"},
				DomainAllows:  []string{"ex*mple.com"},
				Subscriptions: []BlocklistSubscription{{URL: "ftp://lists.example/x"}, {URL: ""}, {URL: "https://l.example/a", Refresh: Duration(time.Minute)}, {URL: "https://l.example/a"}},
			}
			c.Federation.InboxLimits = InboxLimits{PerDomain: "300", PerActor: "5/week", KeyFetches: "0/s", KeyFetchConcurrency: 100}
		}, []string{
			`moderation.domain_blocks[1]: must be a domain such as "spam.example": domain "not a domain" is not a valid host name`,
			`moderation.domain_allows[0]: must be a domain such as "spam.example": domain "ex*mple.com" is obfuscated (a public blocklist hides part of the name)`,
			`moderation.subscriptions[0].url: must be an http(s) URL of a blocklist (Mastodon CSV or one domain per line); got "ftp://lists.example/x"`,
			`moderation.subscriptions[1].url: required`,
			`moderation.subscriptions[2].refresh: must be at least 5m (or 0 for 24h); got 1m`,
			`moderation.subscriptions[3].url: is already moderation.subscriptions[2]`,
			`federation.inbox_limits.per_domain: rate "300": want N/unit such as "300/min", or "off"`,
			`federation.inbox_limits.per_actor: rate "5/week": the unit must be s, min or h`,
			`federation.inbox_limits.key_fetches: rate "0/s": the number must be a whole number from 1`,
			`federation.inbox_limits.key_fetch_concurrency: must be between 0 and 64; got 100`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(c)
			var got []string
			for _, p := range Problems(c.Validate()) {
				got = append(got, p.Key+": "+p.Msg)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
