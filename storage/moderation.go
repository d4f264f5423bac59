package storage

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// This file keeps the moderation state: domain blocks added from the
// command line or an import, and those received from blocklist
// subscriptions (each row says where it came from, so that a refresh of
// one list never removes a block made by hand), the state of each
// subscription, the domain blocks each account made for itself (client
// API), and the removal of what a block implies (followers,
// pending deliveries). Domains are stored in the canonical form package
// moderation gives them: lower case, punycode, no port.

// Severities of a domain block.
const (
	SeveritySuspend = "suspend" // no federation at all
	SeveritySilence = "silence" // federation, but no notifications
)

// Sources of domain blocks (besides "subscription:<url>").
const (
	BlockSourceManual = "manual" // command line
	BlockSourceImport = "import" // bridge blocks import
	// BlockSourceSubscription prefixes the URL of a blocklist subscription.
	BlockSourceSubscription = "subscription:"
)

// DomainBlock is one domain refused (or silenced) by one source.
type DomainBlock struct {
	Domain    string
	Source    string // BlockSourceManual, BlockSourceImport or BlockSourceSubscription+url
	Severity  string // SeveritySuspend or SeveritySilence
	Reason    string // public comment; may be empty
	CreatedAt time.Time
}

// AccountDomainBlock is a domain one of our accounts blocked through the
// client API (Mastodon's user domain block): its followers there are
// removed, and what comes from there is not shown to it. It concerns that
// account only.
type AccountDomainBlock struct {
	Account   string
	Domain    string // canonical, as DomainBlock.Domain
	CreatedAt time.Time
}

// BlocklistState is what is known of one blocklist subscription.
type BlocklistState struct {
	URL string
	// ETag and LastModified are the validators of the last fetch applied.
	ETag         string
	LastModified string
	CheckedAt    time.Time // last fetch attempt; zero: never
	UpdatedAt    time.Time // last fetch applied; zero: never
	Domains      int64     // entries applied from the list
	LastError    string    // empty when the last attempt succeeded
}

// Moderation is the storage of domain blocks and blocklist
// subscriptions, and the clean-up a block implies.
type Moderation interface {
	// UpsertDomainBlock inserts the block of (Domain, Source), or updates
	// its severity and reason (CreatedAt is kept); created reports an
	// insertion. A zero CreatedAt means now. Every change bumps
	// DomainBlocksVersion.
	UpsertDomainBlock(ctx context.Context, b DomainBlock) (created bool, err error)
	// DeleteDomainBlock removes the block of (domain, source) and reports
	// whether there was one.
	DeleteDomainBlock(ctx context.Context, domain, source string) (bool, error)
	// ListDomainBlocks lists the blocks of source (every source when
	// empty), ordered by domain then source.
	ListDomainBlocks(ctx context.Context, source string) ([]DomainBlock, error)
	// DomainBlocksVersion changes whenever the stored blocks change: a
	// process compares it to reload its blocks only then.
	DomainBlocksVersion(ctx context.Context) (int64, error)

	// GetBlocklistState returns ErrNotFound for a list never fetched.
	GetBlocklistState(ctx context.Context, url string) (BlocklistState, error)
	// PutBlocklistState inserts or replaces the state of st.URL.
	PutBlocklistState(ctx context.Context, st BlocklistState) error

	// DeleteFollowersByDomain removes, from every account, the followers
	// whose actor, inbox or shared inbox is on domain or one of its
	// subdomains (whatever the port), and returns how many went.
	DeleteFollowersByDomain(ctx context.Context, domain string) (int64, error)
	// ListAllFollowers pages through the followers of every account in
	// (account, actor id) order, starting strictly after (afterAccount,
	// afterActor), at most limit rows.
	ListAllFollowers(ctx context.Context, afterAccount, afterActor string, limit int) ([]Follower, error)
	// PutAccountDomainBlock records a domain one of our accounts blocked
	// (client API); created is false when it was already there (its
	// CreatedAt is kept). A new block bumps DomainBlocksVersion.
	PutAccountDomainBlock(ctx context.Context, b AccountDomainBlock) (created bool, err error)
	// DeleteAccountDomainBlock removes an account's block of domain and
	// reports whether there was one; it never touches the instance's
	// blocks.
	DeleteAccountDomainBlock(ctx context.Context, account, domain string) (bool, error)
	// ListAccountDomainBlocks lists the account's blocks (every account's
	// when empty), ordered by account then domain.
	ListAccountDomainBlocks(ctx context.Context, account string) ([]AccountDomainBlock, error)
	// DeleteAccountFollowersByDomain is DeleteFollowersByDomain for the
	// followers of one account only.
	DeleteAccountFollowersByDomain(ctx context.Context, account, domain string) (int64, error)

	// CancelPendingJobsByDomain fails, with reason, the pending jobs of
	// kind whose host is domain or one of its subdomains (whatever the
	// port), and returns how many. Running jobs are left alone.
	CancelPendingJobsByDomain(ctx context.Context, kind, domain, reason string, now time.Time) (int64, error)
}

const domainBlockColumns = `domain, source, severity, reason, created_at`

func scanDomainBlock(s scanner) (DomainBlock, error) {
	var (
		b       DomainBlock
		created int64
	)
	err := s.Scan(&b.Domain, &b.Source, &b.Severity, &b.Reason, &created)
	b.CreatedAt = time.UnixMicro(created).UTC()
	return b, err
}

func (q *queries) bumpModerationVersion(ctx context.Context) error {
	_, err := q.w.exec(ctx, `UPDATE moderation_version SET version = version + 1 WHERE id = 1`)
	return err
}

func (q *queries) UpsertDomainBlock(ctx context.Context, b DomainBlock) (bool, error) {
	action := fmt.Sprintf("upsert block of %q from %q", b.Domain, b.Source)
	if b.Domain == "" || b.Source == "" {
		return false, q.d.wrap(action, fmt.Errorf("empty domain or source"))
	}
	n, err := q.w.execN(ctx,
		`INSERT INTO domain_blocks (`+domainBlockColumns+`) VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT (domain, source) DO NOTHING`,
		b.Domain, b.Source, b.Severity, b.Reason, orNow(b.CreatedAt).UnixMicro())
	if err != nil {
		return false, q.d.wrap(action, err)
	}
	created := n == 1
	if !created {
		if _, err := q.w.exec(ctx,
			`UPDATE domain_blocks SET severity = ?, reason = ? WHERE domain = ? AND source = ?`,
			b.Severity, b.Reason, b.Domain, b.Source); err != nil {
			return false, q.d.wrap(action, err)
		}
	}
	if err := q.bumpModerationVersion(ctx); err != nil {
		return false, q.d.wrap(action, err)
	}
	return created, nil
}

func (q *queries) DeleteDomainBlock(ctx context.Context, domain, source string) (bool, error) {
	action := fmt.Sprintf("delete block of %q from %q", domain, source)
	n, err := q.w.execN(ctx, `DELETE FROM domain_blocks WHERE domain = ? AND source = ?`, domain, source)
	if err != nil {
		return false, q.d.wrap(action, err)
	}
	if n > 0 {
		if err := q.bumpModerationVersion(ctx); err != nil {
			return false, q.d.wrap(action, err)
		}
	}
	return n > 0, nil
}

func (q *queries) ListDomainBlocks(ctx context.Context, source string) ([]DomainBlock, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if source == "" {
		rows, err = q.r.query(ctx, `SELECT `+domainBlockColumns+` FROM domain_blocks ORDER BY domain, source`)
	} else {
		rows, err = q.r.query(ctx, `SELECT `+domainBlockColumns+` FROM domain_blocks WHERE source = ? ORDER BY domain`, source)
	}
	out, err := collect(scanDomainBlock)(rows, err)
	if err != nil {
		return nil, q.d.wrap("list domain blocks", err)
	}
	return out, nil
}

func (q *queries) DomainBlocksVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := q.r.queryRow(ctx, `SELECT version FROM moderation_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, q.d.wrap("read moderation version", err)
	}
	return v, nil
}

const blocklistColumns = `url, etag, last_modified, checked_at, updated_at, domains, last_error`

func (q *queries) GetBlocklistState(ctx context.Context, u string) (BlocklistState, error) {
	var (
		st               BlocklistState
		checked, updated sql.NullInt64
	)
	err := q.r.queryRow(ctx, `SELECT `+blocklistColumns+` FROM blocklist_subscriptions WHERE url = ?`, u).
		Scan(&st.URL, &st.ETag, &st.LastModified, &checked, &updated, &st.Domains, &st.LastError)
	if err != nil {
		return BlocklistState{}, q.d.wrap(fmt.Sprintf("get blocklist %q", u), err)
	}
	st.CheckedAt, st.UpdatedAt = fromMicros(checked), fromMicros(updated)
	return st, nil
}

func (q *queries) PutBlocklistState(ctx context.Context, st BlocklistState) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO blocklist_subscriptions (`+blocklistColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
		   checked_at = excluded.checked_at, updated_at = excluded.updated_at,
		   domains = excluded.domains, last_error = excluded.last_error`,
		st.URL, st.ETag, st.LastModified, micros(st.CheckedAt), micros(st.UpdatedAt), st.Domains, st.LastError)
	if err != nil {
		return q.d.wrap(fmt.Sprintf("put blocklist %q", st.URL), err)
	}
	return nil
}

// likeContaining is a LIKE pattern (with ESCAPE '\') matching strings
// that contain s.
func likeContaining(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// likeEscape escapes s for a LIKE pattern with ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// onDomain reports whether the host of rawURL is domain or a subdomain.
func onDomain(rawURL, domain string) bool {
	if rawURL == "" {
		return false
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	return h == domain || strings.HasSuffix(h, "."+domain)
}

func (q *queries) DeleteFollowersByDomain(ctx context.Context, domain string) (int64, error) {
	return q.deleteFollowersByDomain(ctx, "", domain)
}

func (q *queries) DeleteAccountFollowersByDomain(ctx context.Context, account, domain string) (int64, error) {
	if account == "" {
		return 0, nil
	}
	return q.deleteFollowersByDomain(ctx, account, domain)
}

// deleteFollowersByDomain removes the followers on domain of account
// (every account when empty).
func (q *queries) deleteFollowersByDomain(ctx context.Context, account, domain string) (int64, error) {
	action := fmt.Sprintf("delete followers on %q", domain)
	domain = strings.ToLower(domain)
	if domain == "" {
		return 0, nil
	}
	// LIKE narrows the scan down to rows naming the domain somewhere; the
	// host itself is checked here, the same way on both backends.
	pat := likeContaining(domain)
	query := `SELECT account, actor_id, inbox, shared_inbox FROM followers
		 WHERE (LOWER(actor_id) LIKE ? ESCAPE '\' OR LOWER(inbox) LIKE ? ESCAPE '\' OR LOWER(shared_inbox) LIKE ? ESCAPE '\')`
	args := []any{pat, pat, pat}
	if account != "" {
		query += ` AND account = ?`
		args = append(args, account)
	}
	rows, err := q.r.query(ctx, query, args...)
	type key struct{ account, actor string }
	var doomed []key
	if err == nil {
		func() {
			defer rows.Close()
			for rows.Next() {
				var k key
				var inbox, shared string
				if err = rows.Scan(&k.account, &k.actor, &inbox, &shared); err != nil {
					return
				}
				if onDomain(k.actor, domain) || onDomain(inbox, domain) || onDomain(shared, domain) {
					doomed = append(doomed, k)
				}
			}
			err = rows.Err()
		}()
	}
	if err != nil {
		return 0, q.d.wrap(action, err)
	}
	var n int64
	for _, k := range doomed {
		m, err := q.w.execN(ctx, `DELETE FROM followers WHERE account = ? AND actor_id = ?`, k.account, k.actor)
		if err != nil {
			return n, q.d.wrap(action, err)
		}
		n += m
	}
	return n, nil
}

func (q *queries) ListAllFollowers(ctx context.Context, afterAccount, afterActor string, limit int) ([]Follower, error) {
	if limit <= 0 {
		return nil, nil
	}
	out, err := collect(scanFollower)(q.r.query(ctx,
		`SELECT `+followerColumns+` FROM followers
		 WHERE account > ? OR (account = ? AND actor_id > ?)
		 ORDER BY account, actor_id LIMIT ?`, afterAccount, afterAccount, afterActor, limit))
	if err != nil {
		return nil, q.d.wrap("list all followers", err)
	}
	return out, nil
}

func (q *queries) CancelPendingJobsByDomain(ctx context.Context, kind, domain, reason string, now time.Time) (int64, error) {
	domain = strings.ToLower(domain)
	if domain == "" {
		return 0, nil
	}
	d := likeEscape(domain)
	n, err := q.w.execN(ctx,
		`UPDATE jobs SET status = 'failed', last_error = ?, finished_at = ?
		 WHERE status = 'pending' AND kind = ? AND (LOWER(host) = ? OR LOWER(host) LIKE ? ESCAPE '\'
		   OR LOWER(host) LIKE ? ESCAPE '\' OR LOWER(host) LIKE ? ESCAPE '\')`,
		reason, orNow(now).UnixMicro(), kind, domain, d+":%", "%."+d, "%."+d+":%")
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("cancel %q jobs to %q", kind, domain), err)
	}
	return n, nil
}

const accountDomainBlockColumns = `account, domain, created_at`

func (q *queries) PutAccountDomainBlock(ctx context.Context, b AccountDomainBlock) (bool, error) {
	action := fmt.Sprintf("block %q for %q", b.Domain, b.Account)
	if b.Account == "" || b.Domain == "" {
		return false, q.d.wrap(action, fmt.Errorf("empty account or domain"))
	}
	var created bool
	err := q.atomic(ctx, func(tq *queries) error {
		n, err := tq.w.execN(ctx,
			`INSERT INTO account_domain_blocks (`+accountDomainBlockColumns+`) VALUES (?, ?, ?)
			 ON CONFLICT (account, domain) DO NOTHING`,
			b.Account, strings.ToLower(b.Domain), orNow(b.CreatedAt).UnixMicro())
		if err != nil || n == 0 {
			return err
		}
		created = true
		return tq.bumpModerationVersion(ctx)
	})
	if err != nil {
		return false, q.d.wrap(action, err)
	}
	return created, nil
}

func (q *queries) DeleteAccountDomainBlock(ctx context.Context, account, domain string) (bool, error) {
	var removed bool
	err := q.atomic(ctx, func(tq *queries) error {
		n, err := tq.w.execN(ctx, `DELETE FROM account_domain_blocks WHERE account = ? AND domain = ?`,
			account, strings.ToLower(domain))
		if err != nil || n == 0 {
			return err
		}
		removed = true
		return tq.bumpModerationVersion(ctx)
	})
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("unblock %q for %q", domain, account), err)
	}
	return removed, nil
}

func (q *queries) ListAccountDomainBlocks(ctx context.Context, account string) ([]AccountDomainBlock, error) {
	scan := func(s scanner) (AccountDomainBlock, error) {
		var (
			b       AccountDomainBlock
			created int64
		)
		err := s.Scan(&b.Account, &b.Domain, &created)
		b.CreatedAt = time.UnixMicro(created).UTC()
		return b, err
	}
	var (
		rows *sql.Rows
		err  error
	)
	if account == "" {
		rows, err = q.r.query(ctx, `SELECT `+accountDomainBlockColumns+` FROM account_domain_blocks ORDER BY account, domain`)
	} else {
		rows, err = q.r.query(ctx, `SELECT `+accountDomainBlockColumns+` FROM account_domain_blocks WHERE account = ? ORDER BY domain`, account)
	}
	out, err := collect(scan)(rows, err)
	if err != nil {
		return nil, q.d.wrap("list account domain blocks", err)
	}
	return out, nil
}
