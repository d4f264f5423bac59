package moderation

import (
	"strings"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/storage"
)

// Entry is one domain of the merged block list, with every source that
// blocks (or silences) it.
type Entry struct {
	Domain   string
	Severity string   // storage.SeveritySuspend or storage.SeveritySilence
	Reason   string   // the first non-empty reason among the sources
	Sources  []string // "config", storage.BlockSourceManual, ...
}

// SourceConfig names the blocks written in the configuration file.
const SourceConfig = "config"

// Matcher is an immutable snapshot of the domain policy: blocked and
// silenced domains, and the allowed ones in allow-list mode. A domain
// covers its subdomains. Its methods are safe for concurrent use and
// allocate nothing for the usual lower-case ASCII host names.
type Matcher struct {
	blocked  map[string]*Entry
	silenced map[string]*Entry
	allowed  map[string]struct{} // nil unless in allow-list mode
	// accounts are the domains each of our accounts blocked for itself
	// (client API), by lower-case username.
	accounts map[string]map[string]struct{}
}

// newMatcher builds a matcher; allows switches to allow-list mode when
// not empty.
func newMatcher(entries []*Entry, allows []string, accountBlocks []storage.AccountDomainBlock) *Matcher {
	m := &Matcher{blocked: map[string]*Entry{}, silenced: map[string]*Entry{}, accounts: map[string]map[string]struct{}{}}
	for _, b := range accountBlocks {
		acc := strings.ToLower(b.Account)
		if m.accounts[acc] == nil {
			m.accounts[acc] = map[string]struct{}{}
		}
		m.accounts[acc][b.Domain] = struct{}{}
	}
	for _, e := range entries {
		if e.Severity == storage.SeveritySilence {
			m.silenced[e.Domain] = e
		} else {
			m.blocked[e.Domain] = e
		}
	}
	if len(allows) > 0 {
		m.allowed = make(map[string]struct{}, len(allows))
		for _, d := range allows {
			m.allowed[d] = struct{}{}
		}
	}
	return m
}

// Blocked reports whether host (a host name or IP address, with or
// without port, in any case, Unicode or punycode) is refused: it is a
// blocked domain or a subdomain of one, or, in allow-list mode, it is not
// within an allowed domain. An empty or malformed host is refused only in
// allow-list mode.
func (m *Matcher) Blocked(host string) bool {
	if m == nil || (len(m.blocked) == 0 && m.allowed == nil) {
		return false
	}
	h := hostport.Key(host)
	if h == "" {
		return m.allowed != nil
	}
	if m.allowed != nil && !within(m.allowed, h) {
		return true
	}
	return within(m.blocked, h)
}

// BlockedFor reports whether host is refused for one of our accounts:
// refused for the instance (Blocked), or within a domain the account
// blocked for itself.
func (m *Matcher) BlockedFor(account, host string) bool {
	if m.Blocked(host) {
		return true
	}
	if m == nil || len(m.accounts) == 0 {
		return false
	}
	set := m.accounts[account]
	if set == nil {
		set = m.accounts[strings.ToLower(account)]
	}
	if len(set) == 0 {
		return false
	}
	h := hostport.Key(host)
	return h != "" && within(set, h)
}

// accountBlocksLen is the number of account domain blocks.
func (m *Matcher) accountBlocksLen() int {
	n := 0
	for _, set := range m.accounts {
		n += len(set)
	}
	return n
}

// Silenced reports whether host is within a silenced domain (and not
// blocked): its activities are accepted but must not notify anyone.
func (m *Matcher) Silenced(host string) bool {
	if m == nil || len(m.silenced) == 0 {
		return false
	}
	h := hostport.Key(host)
	return h != "" && within(m.silenced, h) && !m.Blocked(host)
}

// Lookup returns the entry that blocks or silences host, if any.
func (m *Matcher) Lookup(host string) (*Entry, bool) {
	if m == nil {
		return nil, false
	}
	h := hostport.Key(host)
	if h == "" {
		return nil, false
	}
	for _, set := range []map[string]*Entry{m.blocked, m.silenced} {
		for d := h; ; {
			if e, ok := set[d]; ok {
				return e, true
			}
			i := strings.IndexByte(d, '.')
			if i < 0 {
				break
			}
			d = d[i+1:]
		}
	}
	return nil, false
}

// AllowListMode reports whether only allowed domains may federate.
func (m *Matcher) AllowListMode() bool { return m != nil && m.allowed != nil }

// Len is the number of blocked and silenced domains.
func (m *Matcher) Len() int {
	if m == nil {
		return 0
	}
	return len(m.blocked) + len(m.silenced)
}

// within reports whether h or one of its parent domains is in set.
func within[V any](set map[string]V, h string) bool {
	for {
		if _, ok := set[h]; ok {
			return true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return false
		}
		h = h[i+1:]
	}
}
