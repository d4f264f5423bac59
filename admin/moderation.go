package admin

// Moderation (issue "The comms team's console", item 5), for the admins
// of each account: the crisis switch (package publish, crisis.go: the
// strictest reply and quote policy on new posts and the last N, on both
// networks, reverted exactly when turned off), the account's own domain
// blocks, and the reports remote servers sent about it; for the admins of
// every account (the instance's), what a refresh of the blocklist
// subscriptions would change, as `bridge blocks preview` shows it.

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// Crisis turns an account's crisis mode on and off: package publish.
type Crisis interface {
	CrisisOn(ctx context.Context, account string, n int) (publish.CrisisResult, error)
	CrisisOff(ctx context.Context, account string) (publish.CrisisResult, error)
	CrisisStatus(ctx context.Context, account string) (publish.CrisisResult, error)
}

// Moderator keeps the accounts' domain blocks and the instance's
// blocklist subscriptions: package moderation.
type Moderator interface {
	DomainBlocksOf(account string) []string
	BlockDomainsFor(ctx context.Context, account string, domains []string) (moderation.AccountBlockResult, error)
	UnblockDomainFor(ctx context.Context, account, domain string) (bool, error)
	// Preview fetches every subscription and tells what a refresh would
	// change (nil: there is none).
	Preview(ctx context.Context) ([]moderation.Change, error)
}

// RaidBlocker blocks a raid of an account in one call (package api's
// BlockRaid: the servers it came from become the account's domain
// blocks, and on Bluesky the account is shielded), and says what it did.
type RaidBlocker func(ctx context.Context, account string, from, to time.Time) (string, error)

// moderationReports is how many recent reports the page reads.
const moderationReports = 100

type moderationAccount struct {
	Account string
	Crisis  publish.CrisisResult
	Blocks  []string
	Reports []storage.Report
	Raids   []moderation.Raid
}

type moderationBody struct {
	Accounts     []moderationAccount
	DefaultPosts int
	MaxPosts     int
	Done         string
	Instance     bool                // the member administers every account
	Changes      []moderation.Change // a subscriptions preview, when asked
	Previewed    bool
}

func (c *Console) moderation(w http.ResponseWriter, r *http.Request, s *session) {
	c.moderationPage(w, r, s, http.StatusOK, moderationBody{}, "")
}

// instanceAdmin reports whether the member administers every account.
func (c *Console) instanceAdmin(s *session) bool {
	admins := s.accountsWith(storage.RoleAdmin)
	for _, a := range c.set.Accounts {
		if !slices.Contains(admins, strings.ToLower(a)) {
			return false
		}
	}
	return len(admins) > 0
}

func (c *Console) moderationPage(w http.ResponseWriter, r *http.Request, s *session, code int, b moderationBody, msg string) {
	admins := s.accountsWith(storage.RoleAdmin)
	if len(admins) == 0 || c.set.Crisis == nil || c.set.Moderation == nil {
		c.fail(w, r, http.StatusForbidden, "err.forbidden", nil)
		return
	}
	ctx := r.Context()
	b.DefaultPosts, b.MaxPosts, b.Instance = publish.CrisisDefaultPosts, publish.CrisisMaxPosts, c.instanceAdmin(s)
	reports, err := c.store.ListReports(ctx, 0, moderationReports)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	for _, a := range admins {
		st, err := c.set.Crisis.CrisisStatus(ctx, a)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		ma := moderationAccount{Account: a, Crisis: st, Blocks: c.set.Moderation.DomainBlocksOf(a)}
		if c.set.RaidBlock != nil {
			if ma.Raids, err = moderation.RecentRaids(ctx, c.store, a, c.now(), moderation.RaidThreshold); err != nil {
				c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
				return
			}
		}
		for _, rep := range reports {
			if strings.EqualFold(rep.Account, a) {
				ma.Reports = append(ma.Reports, rep)
			}
		}
		b.Accounts = append(b.Accounts, ma)
	}
	c.render(w, r, code, "moderation.html", pageData{Title: "moderation", Session: s, Error: msg, Body: b})
}

// adminOf reads the form's account, which the member must administer;
// otherwise the refusal is audited as action.refused and answered 403.
func (c *Console) adminOf(w http.ResponseWriter, r *http.Request, s *session, action string) (string, bool) {
	account := strings.ToLower(r.PostFormValue("account"))
	if !slices.Contains(s.accountsWith(storage.RoleAdmin), account) {
		c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: action + ".refused",
			Detail: "not an admin of the account"})
		c.fail(w, r, http.StatusForbidden, "err.forbidden", nil)
		return "", false
	}
	return account, true
}

// domainBlock blocks a domain for an account (its followers there are
// removed, their notifications dismissed), as POST /api/v1/domain_blocks.
func (c *Console) domainBlock(w http.ResponseWriter, r *http.Request, s *session) {
	account, ok := c.adminOf(w, r, s, "domain_block.add")
	if !ok {
		return
	}
	lang := language(r)
	domain := strings.TrimSpace(r.PostFormValue("domain"))
	res, err := c.set.Moderation.BlockDomainsFor(r.Context(), account, []string{domain})
	if err != nil {
		c.moderationPage(w, r, s, http.StatusUnprocessableEntity, moderationBody{}, tr(lang, "block.bad", domain)+" "+err.Error())
		return
	}
	if _, err := c.store.DismissNotificationsFromDomains(r.Context(), account, res.Domains, c.now()); err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: "domain_block.add",
		Target: strings.Join(res.Domains, " "), Detail: strconv.FormatInt(res.FollowersRemoved, 10) + " follower(s) removed"})
	c.moderationPage(w, r, s, http.StatusOK, moderationBody{Done: tr(lang, "block.added", strings.Join(res.Domains, " "), account, res.FollowersRemoved)}, "")
}

// domainUnblock lifts an account's own block of a domain.
func (c *Console) domainUnblock(w http.ResponseWriter, r *http.Request, s *session) {
	account, ok := c.adminOf(w, r, s, "domain_block.remove")
	if !ok {
		return
	}
	lang := language(r)
	domain := r.PostFormValue("domain")
	removed, err := c.set.Moderation.UnblockDomainFor(r.Context(), account, domain)
	if err != nil || !removed {
		c.moderationPage(w, r, s, http.StatusNotFound, moderationBody{}, tr(lang, "err.notfound"))
		return
	}
	c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: "domain_block.remove", Target: domain})
	c.moderationPage(w, r, s, http.StatusOK, moderationBody{Done: tr(lang, "block.removed", domain, account)}, "")
}

// raidBlock blocks one of an account's raids (its servers, and its
// Bluesky accounts with the shield) in one click.
func (c *Console) raidBlock(w http.ResponseWriter, r *http.Request, s *session) {
	account, ok := c.adminOf(w, r, s, "raid.block")
	if !ok {
		return
	}
	lang := language(r)
	from, err1 := strconv.ParseInt(r.PostFormValue("from"), 10, 64)
	to, err2 := strconv.ParseInt(r.PostFormValue("to"), 10, 64)
	if err1 != nil || err2 != nil || c.set.RaidBlock == nil {
		c.moderationPage(w, r, s, http.StatusUnprocessableEntity, moderationBody{}, tr(lang, "err.notfound"))
		return
	}
	did, err := c.set.RaidBlock(r.Context(), account, time.UnixMicro(from).UTC(), time.UnixMicro(to).UTC())
	if err != nil {
		c.moderationPage(w, r, s, http.StatusUnprocessableEntity, moderationBody{}, tr(lang, "raid.failed")+" "+err.Error())
		return
	}
	c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: "raid.block",
		Target: time.UnixMicro(from).UTC().Format(time.RFC3339), Detail: did})
	c.moderationPage(w, r, s, http.StatusOK, moderationBody{Done: tr(lang, "raid.blocked", account) + " " + did}, "")
}

// subscriptionsPreview shows what a refresh of the blocklist
// subscriptions would change (nothing is changed); the instance's admins
// only.
func (c *Console) subscriptionsPreview(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.instanceAdmin(s) || c.set.Moderation == nil {
		c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Action: "subscriptions.preview.refused",
			Detail: "not an admin of every account"})
		c.fail(w, r, http.StatusForbidden, "err.forbidden", nil)
		return
	}
	changes, err := c.set.Moderation.Preview(r.Context())
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	c.moderationPage(w, r, s, http.StatusOK, moderationBody{Changes: changes, Previewed: true}, "")
}

// crisisSet turns an account's crisis mode on (with how many recent
// posts) or off; admins only, audited (crisis.set, crisis.set.refused).
func (c *Console) crisisSet(w http.ResponseWriter, r *http.Request, s *session) {
	lang := language(r)
	account, ok := c.adminOf(w, r, s, "crisis.set")
	if !ok {
		return
	}
	mode := r.PostFormValue("mode")
	var (
		res  publish.CrisisResult
		err  error
		done string
	)
	switch mode {
	case "on":
		n, perr := strconv.Atoi(r.PostFormValue("posts"))
		if perr != nil {
			n = 0 // refused below, with the range
		}
		res, err = c.set.Crisis.CrisisOn(r.Context(), account, n)
		done = tr(lang, "crisis.turnedon", account, res.Changed)
	case "off":
		res, err = c.set.Crisis.CrisisOff(r.Context(), account)
		done = tr(lang, "crisis.turnedoff", account, res.Changed)
	default:
		c.moderationPage(w, r, s, http.StatusUnprocessableEntity, moderationBody{}, tr(lang, "crisis.badmode"))
		return
	}
	var ve *publish.ValidationError
	if errors.As(err, &ve) {
		c.moderationPage(w, r, s, http.StatusUnprocessableEntity, moderationBody{}, ve.Msg)
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: account, Action: "crisis.set",
		Target: mode, Detail: strconv.Itoa(res.Changed) + " post(s) changed"})
	c.moderationPage(w, r, s, http.StatusOK, moderationBody{Done: done}, "")
}
