package moderation

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// Domain blocks of one account: what the comms team blocks from its
// Mastodon app (POST /api/v1/domain_blocks, a raid's servers) concerns the
// account whose token made the call, as a user's domain block does on
// Mastodon: that account's followers on the domain are removed, and
// nothing from there is shown to it or delivered from it. The instance's
// blocks (configuration, `bridge blocks`, subscriptions) are the
// operator's: an account can neither lift nor list them as its own.

// ErrNotBlockable is a domain an account may not block: a top-level
// domain, a public suffix (co.uk, github.io) or a single label. Blocking
// one would cut the account off from a whole registry of unrelated
// servers; the operator can still do it with `bridge blocks add`.
var ErrNotBlockable = errors.New("moderation: not a server's domain")

// CheckAccountBlockable refuses what an account may not block (see
// ErrNotBlockable). domain must be canonical (config.NormalizeDomain).
func CheckAccountBlockable(domain string) error {
	if _, err := netip.ParseAddr(domain); err == nil {
		return nil // a server's IP address
	}
	if !strings.Contains(domain, ".") {
		return fmt.Errorf("%w: %q is a single label, not a server's domain", ErrNotBlockable, domain)
	}
	if suffix, _ := publicsuffix.PublicSuffix(domain); suffix == domain {
		return fmt.Errorf("%w: %q is a public suffix (a top-level domain or a registry shared by many sites), not a server's domain", ErrNotBlockable, domain)
	}
	return nil
}

// AccountBlockResult is what an account's block did.
type AccountBlockResult struct {
	Domains          []string // canonical forms, as stored
	FollowersRemoved int64    // the account's followers on those domains
}

// BlockDomainsFor blocks domains (and their subdomains) for one account:
// the blocks are stored, that account's followers on those domains are
// removed, and the matcher is reloaded. Nothing is stored unless every
// domain is valid and blockable (CheckAccountBlockable).
func (s *Service) BlockDomainsFor(ctx context.Context, account string, domains []string) (AccountBlockResult, error) {
	var res AccountBlockResult
	account = strings.ToLower(account)
	if account == "" {
		return res, errors.New("moderation: block: no account")
	}
	for _, d := range domains {
		n, err := config.NormalizeDomain(d)
		if err != nil {
			return AccountBlockResult{}, fmt.Errorf("moderation: block: %w", err)
		}
		if err := CheckAccountBlockable(n); err != nil {
			return AccountBlockResult{}, err
		}
		if !slices.Contains(res.Domains, n) {
			res.Domains = append(res.Domains, n)
		}
	}
	if len(res.Domains) == 0 {
		return AccountBlockResult{}, errors.New("moderation: block: no domain given")
	}
	now := s.now()
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		for _, d := range res.Domains {
			if _, err := q.PutAccountDomainBlock(ctx, storage.AccountDomainBlock{Account: account, Domain: d, CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return AccountBlockResult{}, fmt.Errorf("moderation: block: %w", err)
	}
	if _, err := s.Reload(ctx); err != nil {
		return res, err
	}
	for _, d := range res.Domains {
		n, err := s.store.DeleteAccountFollowersByDomain(ctx, account, d)
		if err != nil {
			return res, fmt.Errorf("moderation: remove followers of %s on %s: %w", account, d, err)
		}
		res.FollowersRemoved += n
	}
	reqlog.Logger(ctx, s.log).Warn().Str("account", account).Strs("domains", res.Domains).Int64("followers_removed", res.FollowersRemoved).
		Msg("domains blocked by an account")
	return res, nil
}

// UnblockDomainFor lifts an account's own block of domain, and reports
// whether there was one. The instance's blocks are never touched.
func (s *Service) UnblockDomainFor(ctx context.Context, account, domain string) (bool, error) {
	d, err := config.NormalizeDomain(domain)
	if err != nil {
		return false, fmt.Errorf("moderation: unblock: %w", err)
	}
	account = strings.ToLower(account)
	removed, err := s.store.DeleteAccountDomainBlock(ctx, account, d)
	if err != nil {
		return false, fmt.Errorf("moderation: unblock: %w", err)
	}
	if !removed {
		return false, nil
	}
	if _, err := s.Reload(ctx); err != nil {
		return true, err
	}
	reqlog.Logger(ctx, s.log).Warn().Str("account", account).Str("domain", d).Msg("domain unblocked by an account")
	return true, nil
}

// DomainBlocksOf lists the domains the account blocked for itself,
// sorted (not the instance's).
func (s *Service) DomainBlocksOf(account string) []string {
	set := s.cur.Load().accounts[strings.ToLower(account)]
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// AccountPolicy is the domain policy with the accounts' own blocks: what
// federation asks where an activity concerns one of our accounts (its
// inbox, its followers, its deliveries). federation.DomainPolicy is meant
// to gain BlockedFor.
type AccountPolicy interface {
	// Blocked reports whether host is refused for the instance.
	Blocked(host string) bool
	// BlockedFor reports whether host is refused for account (by the
	// instance, or by the account itself).
	BlockedFor(account, host string) bool
}

var _ AccountPolicy = (*Service)(nil)

// BlockedFor reports whether host is refused for account: refused for
// the instance, or blocked by that account (Matcher.BlockedFor). It is
// lock-free, for the hot paths that concern one account (its inbox, its
// deliveries).
func (s *Service) BlockedFor(account, host string) bool {
	return s.cur.Load().BlockedFor(account, host)
}
