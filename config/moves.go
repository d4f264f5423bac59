package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Account moves (docs/history.md#moving-accounts): accounts[].also_known_as
// lists the fediverse accounts the institution used before, so that their
// followers can be moved here. Each entry is an actor URL
// ("https://mastodon.social/users/city") or a handle
// ("@city@mastodon.social"), which the bridge resolves through WebFinger
// when it needs the URL (the actor document's alsoKnownAs carries URLs:
// Mastodon compares them exactly).

// MaxAlsoKnownAs bounds accounts[].also_known_as.
const MaxAlsoKnownAs = 10

// Alias is one accounts[].also_known_as entry: an actor URL, or a handle.
type Alias struct {
	URL    string // set for a URL entry
	User   string // set for a handle entry, without "@"
	Domain string // the handle's domain (host[:port]), lower case
}

// IsHandle reports whether the entry was given as a handle.
func (a Alias) IsHandle() bool { return a.URL == "" }

// String returns the entry as written in canonical form: the URL, or
// "@user@domain".
func (a Alias) String() string {
	if a.URL != "" {
		return a.URL
	}
	return "@" + a.User + "@" + a.Domain
}

var (
	handleUserRE   = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)
	handleDomainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9\-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9\-]*[a-z0-9])?)*(:[0-9]{1,5})?$`)
)

// ParseAlias parses an actor URL (http or https, with a host, no fragment)
// or a handle "@user@domain" (the leading "@" may be left out).
func ParseAlias(s string) (Alias, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.User != nil {
			return Alias{}, fmt.Errorf("%s is not a valid actor URL", quote(s))
		}
		if u.Fragment != "" || u.RawQuery != "" {
			return Alias{}, fmt.Errorf("%s: an actor URL has no query or fragment", quote(s))
		}
		return Alias{URL: s}, nil
	}
	user, domain, ok := strings.Cut(strings.TrimPrefix(s, "@"), "@")
	domain = strings.ToLower(domain)
	if !ok || !handleUserRE.MatchString(user) || !handleDomainRE.MatchString(domain) || !strings.ContainsAny(domain, ".:") {
		return Alias{}, fmt.Errorf("%s is neither an actor URL (https://server/users/name) nor a handle (@name@server)", quote(s))
	}
	return Alias{User: user, Domain: domain}, nil
}

// Aliases returns the account's parsed also_known_as entries, skipping
// invalid ones (Validate reports them).
func (a Account) Aliases() []Alias {
	var out []Alias
	for _, s := range a.AlsoKnownAs {
		if al, err := ParseAlias(s); err == nil {
			out = append(out, al)
		}
	}
	return out
}

// movesAccounts checks every account's also_known_as: well-formed URLs or
// handles, no duplicates, not the account itself, at most MaxAlsoKnownAs.
func (v *validator) movesAccounts(c *Config) {
	for i, a := range c.Accounts {
		key := fmt.Sprintf("accounts[%d].also_known_as", i)
		if len(a.AlsoKnownAs) > MaxAlsoKnownAs {
			v.addf(key, "has %d entries; at most %d are allowed", len(a.AlsoKnownAs), MaxAlsoKnownAs)
		}
		self := strings.ToLower(c.Links().Actor(a.Username))
		selfHandle := strings.ToLower("@" + c.Handle(a.Username))
		seen := map[string]int{}
		for j, s := range a.AlsoKnownAs {
			ek := fmt.Sprintf("%s[%d]", key, j)
			al, err := ParseAlias(s)
			if err != nil {
				v.addf(ek, "%v", err)
				continue
			}
			canon := strings.ToLower(al.String())
			if canon == self || canon == selfHandle {
				v.addf(ek, "is this account itself; list the accounts it was known as before")
				continue
			}
			if first, dup := seen[canon]; dup {
				v.addf(ek, "%s is already listed as %s[%d]", quote(s), key, first)
				continue
			}
			seen[canon] = j
		}
	}
}
