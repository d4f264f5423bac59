package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/hostport"
)

// Moderation is the protection against unwanted servers: domain blocks
// written here, an allow-list mode, and blocklist subscriptions. Blocks
// added from the command line, imported or received from subscriptions
// are kept in the database; package moderation merges them with these.
type Moderation struct {
	// DomainBlocks are domains the bridge refuses to federate with, and
	// their subdomains: their requests are refused, their followers
	// removed, nothing is delivered or served to them.
	DomainBlocks []string `yaml:"domain_blocks"`
	// DomainAllows, when not empty, switches to allow-list mode: only
	// these domains (and their subdomains) may federate; domain blocks
	// still apply within them.
	DomainAllows []string `yaml:"domain_allows"`
	// Subscriptions are blocklists fetched periodically.
	Subscriptions []BlocklistSubscription `yaml:"subscriptions"`
}

// BlocklistSubscription is a blocklist URL: a Mastodon domain-block CSV
// export ("#domain,#severity,...") or a plain list, one domain per line.
type BlocklistSubscription struct {
	URL string `yaml:"url"`
	// Refresh is the time between two fetches. 0: DefaultBlocklistRefresh.
	Refresh Duration `yaml:"refresh"`
}

// InboxLimits bound what remote servers may make the inboxes do. Rates
// are written "N/unit" (unit: s, min or h; "300/min"), or "off". Keys
// left empty (or 0) mean the defaults (DefaultInboxPerDomain...), applied
// by package federation.
type InboxLimits struct {
	// PerDomain is the rate of inbound activities accepted from one remote
	// domain; over it the inbox answers 429 with Retry-After.
	PerDomain Rate `yaml:"per_domain"`
	// PerActor is the rate accepted from one remote actor (key).
	PerActor Rate `yaml:"per_actor"`
	// KeyFetches is the rate of fetches of unknown signing keys from one
	// domain (new actors, key rotations); over it, 429.
	KeyFetches Rate `yaml:"key_fetches"`
	// KeyFetchConcurrency bounds the key fetches in flight to one domain.
	// 0 (or absent): DefaultKeyFetchConcurrency.
	KeyFetchConcurrency int `yaml:"key_fetch_concurrency"`
}

// Moderation defaults and limits.
const (
	DefaultBlocklistRefresh    = Duration(24 * time.Hour)
	MinBlocklistRefresh        = Duration(5 * time.Minute)
	MaxBlocklistSubscriptions  = 20
	DefaultInboxPerDomain      = Rate("600/min")
	DefaultInboxPerActor       = Rate("60/min")
	DefaultKeyFetches          = Rate("60/min")
	DefaultKeyFetchConcurrency = 4
	MaxKeyFetchConcurrency     = 64
	// RateOff disables a rate limit.
	RateOff = Rate("off")
)

// Rate is a number of events per period, written "N/unit": "300/min",
// "5/s", "1000/h"; or "off" (no limit).
type Rate string

// Parse returns the number of events and the period; n == 0 means off.
func (r Rate) Parse() (n int, per time.Duration, err error) {
	s := strings.TrimSpace(string(r))
	if s == string(RateOff) {
		return 0, 0, nil
	}
	num, unit, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("rate %s: want N/unit such as \"300/min\", or \"off\"", quote(s))
	}
	n, err = strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 1 || n > 1_000_000_000 {
		return 0, 0, fmt.Errorf("rate %s: the number must be a whole number from 1", quote(s))
	}
	switch strings.TrimSpace(unit) {
	case "s", "sec", "second":
		per = time.Second
	case "m", "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	default:
		return 0, 0, fmt.Errorf("rate %s: the unit must be s, min or h", quote(s))
	}
	return n, per, nil
}

// RefreshOrDefault returns Refresh, or DefaultBlocklistRefresh when zero.
func (s BlocklistSubscription) RefreshOrDefault() time.Duration {
	if s.Refresh == 0 {
		return DefaultBlocklistRefresh.Duration()
	}
	return s.Refresh.Duration()
}

// NormalizeDomain returns the canonical form of a domain in moderation
// lists, the one package moderation matches hosts in (hostport.Key): lower
// case, punycode (IDNA) for internationalised names, without port,
// trailing dot or a leading "*." (subdomains are always included). A URL
// ("https://host/...") is reduced to its host; an IP address is kept in
// its canonical form. Obfuscated names from public blocklists
// ("ex*mple.com") and anything that is not a host name are refused.
func NormalizeDomain(s string) (string, error) {
	in := s
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("domain %s: not a host name or URL", quote(in))
		}
		s = u.Host
	}
	s = strings.TrimPrefix(s, "*.")
	if strings.TrimSuffix(hostport.Host(s), ".") == "" {
		return "", errors.New("empty domain")
	}
	if strings.Contains(s, "*") {
		return "", fmt.Errorf("domain %s is obfuscated (a public blocklist hides part of the name)", quote(in))
	}
	key := hostport.Key(s)
	if _, err := netip.ParseAddr(key); err == nil {
		return key, nil
	}
	if key == "" || !validDomainName(key) {
		return "", fmt.Errorf("domain %s is not a valid host name", quote(in))
	}
	return key, nil
}

// validDomainName is validHostname that also admits underscores, seen in
// some servers' names.
func validDomainName(s string) bool {
	return validHostname(strings.ReplaceAll(s, "_", "a"))
}

// moderation checks the moderation section and the inbox limits.
func (v *validator) moderation(c *Config) {
	for _, list := range []struct {
		key     string
		domains []string
	}{{"moderation.domain_blocks", c.Moderation.DomainBlocks}, {"moderation.domain_allows", c.Moderation.DomainAllows}} {
		for i, d := range list.domains {
			if _, err := NormalizeDomain(d); err != nil {
				v.addf(fmt.Sprintf("%s[%d]", list.key, i), "must be a domain such as \"spam.example\": %v", err)
			}
		}
	}
	subs := c.Moderation.Subscriptions
	if len(subs) > MaxBlocklistSubscriptions {
		v.addf("moderation.subscriptions", "has %d entries; at most %d are allowed", len(subs), MaxBlocklistSubscriptions)
	}
	seen := map[string]int{}
	for i, s := range subs {
		key := fmt.Sprintf("moderation.subscriptions[%d]", i)
		if v.required(key+".url", s.URL) {
			u, err := url.Parse(s.URL)
			switch {
			case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
				v.addf(key+".url", "must be an http(s) URL of a blocklist (Mastodon CSV or one domain per line); got %s", quote(s.URL))
			case u.User != nil:
				v.addf(key+".url", "must not contain a user name or password")
			}
			if first, dup := seen[s.URL]; dup {
				v.addf(key+".url", "is already moderation.subscriptions[%d]", first)
			}
			seen[s.URL] = i
		}
		if s.Refresh != 0 && s.Refresh < MinBlocklistRefresh {
			v.addf(key+".refresh", "must be at least %s (or 0 for %s); got %s", MinBlocklistRefresh, DefaultBlocklistRefresh, s.Refresh)
		}
	}
	l := c.Federation.InboxLimits
	for _, r := range []struct {
		key  string
		rate Rate
	}{
		{"federation.inbox_limits.per_domain", l.PerDomain},
		{"federation.inbox_limits.per_actor", l.PerActor},
		{"federation.inbox_limits.key_fetches", l.KeyFetches},
	} {
		if r.rate == "" {
			continue // absent: the default
		}
		if _, _, err := r.rate.Parse(); err != nil {
			v.addf(r.key, "%v", err)
		}
	}
	v.intRange("federation.inbox_limits.key_fetch_concurrency", l.KeyFetchConcurrency, 0, MaxKeyFetchConcurrency)
}
