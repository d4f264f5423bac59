package federation

// The guard stands between remote servers and the rest of federation: it
// applies the domain policy (blocks, allow-list; package moderation
// decides) and the inbound limits, on everything that comes in or goes
// out.
//
//   - Inboxes: before the body is read or any key is fetched, requests
//     whose keyId is on a refused domain get 403; the per-domain and
//     per-actor token buckets answer 429 with Retry-After; the bytes of
//     bodies held in memory are bounded (503 over it); at most 2 × CPUs
//     requests are decoded, verified and applied at once, the others wait
//     parked (so that a flood does not queue the GETs and deliveries
//     behind it). After the body is
//     decoded, an activity whose actor is on a refused domain, or on
//     another host than its keyId (forged), is refused, still before any
//     key is fetched. Unknown keys are fetched within a budget per
//     registrable domain (rate and concurrency; subdomains share their
//     domain's) and 128 fetches in all (503 "busy" past them, not blamed
//     on the sender); failures are remembered for a while.
//   - GETs: a signed request from a refused domain gets 403, whatever the
//     settings. With authorized fetch, AS2 documents require a valid
//     signature (the actor document is served unsigned in a minimal form
//     holding its key, as Mastodon does), and answers are private.
//   - Out: fan-outs skip inboxes on refused domains, delivery workers fail
//     jobs to them ("domain blocked"), fetches of their documents fail.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/net/publicsuffix"
	"golang.org/x/sync/semaphore"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/ratelimit"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// DomainPolicy decides which remote hosts federation talks to; package
// moderation implements it. Blocked is called on every inbound request
// and outgoing delivery: it must be fast and safe for concurrent use.
type DomainPolicy interface {
	// Blocked reports whether host (a host name or IP, with or without
	// port) is refused.
	Blocked(host string) bool
	// BlockedFor reports whether host is refused for one of our accounts:
	// by the instance, or by that account's own domain blocks.
	BlockedFor(account, host string) bool
}

// RefusalObserver is implemented by Observers that count the requests
// refused by the guard. Reasons are among RefusalReasons.
type RefusalObserver interface {
	Refused(reason string)
}

// Reasons of refusals, as reported to a RefusalObserver.
const (
	RefusedDomainBlocked   = "domain_blocked"   // inbox request signed by a refused domain
	RefusedActorBlocked    = "actor_blocked"    // activity whose actor is on a refused domain
	RefusedForgedActor     = "forged_actor"     // actor on another host than the key
	RefusedRateDomain      = "rate_domain"      // per-domain rate limit
	RefusedRateActor       = "rate_actor"       // per-actor rate limit
	RefusedOverloaded      = "overloaded"       // inbox bodies over the memory bound
	RefusedKeyBudget       = "key_budget"       // unknown keys fetched too fast from one domain
	RefusedFetchBlocked    = "fetch_blocked"    // GET signed by a refused domain
	RefusedFetchUnsigned   = "fetch_unsigned"   // authorized fetch: GET without signature
	RefusedFetchUnverified = "fetch_unverified" // authorized fetch: signature does not verify
	RefusedDelivery        = "delivery_blocked" // delivery to a refused domain not sent
)

// RefusalReasons lists every refusal reason.
var RefusalReasons = []string{
	RefusedDomainBlocked, RefusedActorBlocked, RefusedForgedActor, RefusedRateDomain, RefusedRateActor,
	RefusedOverloaded, RefusedKeyBudget, RefusedFetchBlocked, RefusedFetchUnsigned, RefusedFetchUnverified,
	RefusedDelivery,
}

// ErrDomainBlocked is wrapped in the errors of fetches refused because
// their host is on a refused domain.
var ErrDomainBlocked = errors.New("domain blocked")

// Sizes of the guard's bounded structures.
const (
	maxDomainBuckets = 10_000
	maxActorBuckets  = 50_000
	// inboxBodyBytes bounds the inbox bodies held in memory at once.
	inboxBodyBytes = 32 << 20
	// unknownLengthWeight is what a body of unknown length counts for.
	unknownLengthWeight = MaxInboxBody
	// Key fetches: all domains together, failures remembered, and how
	// soon a key fetched with success may be fetched again (a cached key
	// that fails to verify is refetched at most that often: forged
	// requests cannot make us hammer its server).
	maxKeyFetches      = 128
	keyFailureTTL      = 2 * time.Minute
	maxKeyFailures     = 4096
	keyRefetchCooldown = time.Minute
	maxKeyFetched      = 16_384
	// inboxWorkWait is how long an admitted inbox request may wait for a
	// work slot (503 after). The slots bound the inbox requests being
	// decoded, verified and applied at once: the others wait parked,
	// using no CPU, so that the GETs and the deliveries are not queued
	// behind a flood. A slot is given up while a key is fetched.
	inboxWorkWait = 3 * time.Second
	// Refusals of one domain are logged at warn level at most once per
	// refusalLogEvery, the others at debug level.
	refusalLogEvery = time.Minute
	maxRefusalLogs  = 1024
)

// guard is the guard's state; its zero value is ready (built on first
// use from the settings).
type guard struct {
	once      sync.Once
	policy    DomainPolicy // nil: no domain refused
	perDomain *ratelimit.Buckets
	perActor  *ratelimit.Buckets
	keyRate   *ratelimit.Buckets
	keySlots  *slots
	keyFailed *ratelimit.Cache[keyFailure]
	keyDone   *ratelimit.Cache[time.Time] // successful key fetches
	bodies    *semaphore.Weighted
	work      chan struct{}               // inbox work slots
	tickets   sync.Map                    // request context -> *workTicket holding a slot
	logged    *ratelimit.Cache[time.Time] // last warn-level refusal log, per reason and domain
	minimal   sync.Map                    // account name -> minimal actor document
}

type keyFailure struct {
	err   error
	until time.Time
}

// limits returns the guard, built from the settings on first use.
func (s *Service) limits() *guard {
	g := &s.guard
	g.once.Do(func() {
		l := s.set.Federation.InboxLimits
		rate := func(r, def config.Rate) (int, time.Duration) {
			if r == "" {
				r = def
			}
			n, per, err := r.Parse()
			if err != nil { // validated at start-up; keep the default
				n, per, _ = def.Parse()
			}
			return n, per
		}
		n, per := rate(l.PerDomain, config.DefaultInboxPerDomain)
		g.perDomain = ratelimit.NewBuckets(n, per, maxDomainBuckets)
		n, per = rate(l.PerActor, config.DefaultInboxPerActor)
		g.perActor = ratelimit.NewBuckets(n, per, maxActorBuckets)
		n, per = rate(l.KeyFetches, config.DefaultKeyFetches)
		g.keyRate = ratelimit.NewBuckets(n, per, maxDomainBuckets)
		conc := l.KeyFetchConcurrency
		if conc <= 0 {
			conc = config.DefaultKeyFetchConcurrency
		}
		g.keySlots = newSlots(conc, maxKeyFetches)
		g.keyFailed = ratelimit.NewCache[keyFailure](maxKeyFailures)
		g.keyDone = ratelimit.NewCache[time.Time](maxKeyFetched)
		g.bodies = semaphore.NewWeighted(inboxBodyBytes)
		g.work = make(chan struct{}, max(4, 2*runtime.GOMAXPROCS(0)))
		g.logged = ratelimit.NewCache[time.Time](maxRefusalLogs)
	})
	return g
}

// hostBlocked reports whether host is on a refused domain.
func (s *Service) hostBlocked(host string) bool {
	p := s.guard.policy
	return p != nil && p.Blocked(host)
}

// hostBlockedFor reports whether host is refused for account (by the
// instance or by the account).
func (s *Service) hostBlockedFor(account, host string) bool {
	p := s.guard.policy
	return p != nil && p.BlockedFor(account, host)
}

// registrableDomain is the domain a host's owner registered (its public
// suffix plus one label: a.b.example.co.uk -> example.co.uk), or the host
// itself for IP addresses and names under no known suffix.
func registrableDomain(host string) string {
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// domainOf is the key of host in the per-domain structures
// (hostport.Key). A host that is not one (its keyId cannot verify) is its
// own key, as written, so that it does not share anyone's bucket.
func domainOf(host string) string {
	if k := hostport.Key(host); k != "" {
		return k
	}
	return host
}

func (s *Service) observeRefusal(reason string) {
	if ro, ok := s.observe().(RefusalObserver); ok {
		ro.Refused(reason)
	}
}

// logRefusal logs a refusal: at warn level the first of a minute for the
// reason and domain, at debug level the others (a flood must not flood
// the log).
func (s *Service) logRefusal(r *http.Request, reason, domain, keyID string, code int) {
	log := reqlog.Logger(r.Context(), s.log)
	ev := log.Debug()
	if s.firstRefusal(reason, domain) {
		ev = log.Warn()
	}
	ev.Str("path", r.URL.Path).Str("reason", reason).Str("domain", domain).Str("key_id", keyID).Int("status", code).
		Msg("request refused (further refusals of this domain for this reason are logged at debug level for a minute)")
}

// refusalEvent is the log event of an inbox refusal: warn, except for
// "retry later" answers (429, 503) after the first of a minute for the
// same domain, which are logged at debug level.
func (s *Service) refusalEvent(r *http.Request, err error) *zerolog.Event {
	log := reqlog.Logger(r.Context(), s.log)
	var rl *retryLater
	if !errors.As(err, &rl) {
		return log.Warn()
	}
	domain := domainOf(hostport.FromURL(signatureKeyID(r)))
	if s.firstRefusal(rl.reason, domain) {
		return log.Warn()
	}
	return log.Debug()
}

// firstRefusal reports whether this is the first refusal for reason and
// domain in refusalLogEvery.
func (s *Service) firstRefusal(reason, domain string) bool {
	now := s.now()
	first := false
	s.limits().logged.Update(reason+" "+domain, func(last time.Time, found bool) time.Time {
		if !found || now.Sub(last) >= refusalLogEvery {
			first = true
			return now
		}
		return last
	})
	return first
}

// retryLater is a refusal that the client should retry after a while
// (429 and 503 answers carry Retry-After).
type retryLater struct {
	*inboxError
	after time.Duration
}

func (e *retryLater) Unwrap() error { return e.inboxError }

// setRetryAfter sets Retry-After (whole seconds, at least 1) when err asks
// to retry later.
func setRetryAfter(w http.ResponseWriter, err error) {
	var rl *retryLater
	if errors.As(err, &rl) {
		secs := int((rl.after + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
}

// refuseNow answers a refused request itself.
func (s *Service) refuseNow(w http.ResponseWriter, r *http.Request, err *inboxError, after time.Duration, reason, domain, keyID string) {
	s.observeRefusal(reason)
	s.logRefusal(r, reason, domain, keyID, err.code)
	if after > 0 || err.code == http.StatusTooManyRequests || err.code == http.StatusServiceUnavailable {
		setRetryAfter(w, &retryLater{inboxError: err, after: after})
	}
	writeError(w, err.code, err.reason)
}

// admission is an inbox request let in by admitInbox, with what it
// holds.
type admission struct {
	s      *Service
	domain string // per-domain bucket key; "" when nothing was taken
	actor  string // per-actor bucket key
	weight int64  // bytes reserved for the body
	ctx    context.Context
	ticket *workTicket
}

// workTicket is a request's hold on an inbox work slot.
type workTicket struct {
	mu   sync.Mutex
	held bool
}

// admitInbox runs the checks that need no body and no key: the keyId's
// domain is not refused, the domain and the actor are within their rates,
// and there is memory for the body. When it refuses, it answers itself
// and returns false. Requests without a usable signature header go
// through: receive refuses them.
func (s *Service) admitInbox(w http.ResponseWriter, r *http.Request) (*admission, bool) {
	g := s.limits()
	a := &admission{s: s}
	keyID := signatureKeyID(r)
	if host := hostport.FromURL(keyID); host != "" {
		domain := domainOf(host)
		if s.hostBlocked(host) {
			s.refuseNow(w, r, refuse(http.StatusForbidden, "domain blocked", nil), 0, RefusedDomainBlocked, domain, keyID)
			return nil, false
		}
		now := s.now()
		ok, wait := g.perDomain.Take(domain, now)
		if !ok {
			s.refuseNow(w, r, refuse(http.StatusTooManyRequests, "too many requests from this domain, retry later", nil), wait, RefusedRateDomain, domain, keyID)
			return nil, false
		}
		actor, _, _ := strings.Cut(keyID, "#")
		if ok, wait = g.perActor.Take(actor, now); !ok {
			g.perDomain.Refund(domain)
			s.refuseNow(w, r, refuse(http.StatusTooManyRequests, "too many requests from this actor, retry later", nil), wait, RefusedRateActor, domain, keyID)
			return nil, false
		}
		a.domain, a.actor = domain, actor
	}
	a.weight = unknownLengthWeight
	if n := r.ContentLength; n >= 0 && n <= MaxInboxBody {
		a.weight = n
	} else if n > MaxInboxBody {
		a.weight = 0 // refused by receive before reading
	}
	if !g.bodies.TryAcquire(a.weight) {
		a.refund()
		s.refuseNow(w, r, refuse(http.StatusServiceUnavailable, "busy, retry later", nil), time.Second, RefusedOverloaded, a.domain, keyID)
		return nil, false
	}
	// The body is read before waiting for a work slot, so that slow
	// clients never hold one; receive then reads it from memory.
	a.readBody(r)
	timer := time.NewTimer(inboxWorkWait)
	defer timer.Stop()
	select {
	case g.work <- struct{}{}:
	case <-timer.C:
		a.refund()
		g.bodies.Release(a.weight)
		s.refuseNow(w, r, refuse(http.StatusServiceUnavailable, "busy, retry later", nil), time.Second, RefusedOverloaded, a.domain, keyID)
		return nil, false
	case <-r.Context().Done():
		a.refund()
		g.bodies.Release(a.weight)
		return nil, false
	}
	a.ctx, a.ticket = r.Context(), &workTicket{held: true}
	g.tickets.Store(a.ctx, a.ticket)
	return a, true
}

// readBody reads the body into memory (at most one byte over
// MaxInboxBody: receive refuses what is longer) and gives back the
// memory reserved beyond its size.
func (a *admission) readBody(r *http.Request) {
	orig := r.Body
	if orig == nil || orig == http.NoBody {
		return
	}
	body, err := io.ReadAll(io.LimitReader(orig, MaxInboxBody+1))
	var rest io.Reader = orig // a body over the limit: receive reads on and refuses it
	if err != nil {
		rest = errReader{err}
	}
	r.Body = readCloser{io.MultiReader(bytes.NewReader(body), rest), orig}
	if n := int64(len(body)); n < a.weight {
		a.s.limits().bodies.Release(a.weight - n)
		a.weight = n
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// pauseWork gives up the work slot held by the request of ctx, if any,
// while it waits on the network (a key fetch); resume takes one again.
func (s *Service) pauseWork(ctx context.Context) (resume func()) {
	v, ok := s.guard.tickets.Load(ctx)
	if !ok {
		return func() {}
	}
	t := v.(*workTicket)
	g := s.limits()
	t.mu.Lock()
	if !t.held {
		t.mu.Unlock()
		return func() {}
	}
	<-g.work
	t.held = false
	t.mu.Unlock()
	return func() {
		select {
		case g.work <- struct{}{}:
			t.mu.Lock()
			t.held = true
			t.mu.Unlock()
		case <-ctx.Done():
		}
	}
}

// refund gives back the rate tokens taken.
func (a *admission) refund() {
	if a.domain == "" {
		return
	}
	g := a.s.limits()
	g.perDomain.Refund(a.domain)
	g.perActor.Refund(a.actor)
	a.domain = ""
}

// settle gives back the rate tokens of a request that did not count: its
// signature failed (a forger must not use up a real actor's quota) or its
// key could not be fetched yet (it will come back).
func (a *admission) settle(err error) {
	var ie *inboxError
	if err == nil || !errors.As(err, &ie) {
		return
	}
	if ie.code == http.StatusUnauthorized || ie.code == http.StatusTooManyRequests {
		a.refund()
	}
}

// release frees the work slot and the memory reserved for the body.
func (a *admission) release() {
	g := a.s.limits()
	if a.ticket != nil {
		g.tickets.Delete(a.ctx)
		a.ticket.mu.Lock()
		if a.ticket.held {
			<-g.work
			a.ticket.held = false
		}
		a.ticket.mu.Unlock()
	}
	g.bodies.Release(a.weight)
}

// gateActivity checks a decoded activity before its signer's key is
// fetched: its actor is not on a refused domain, and is on the host of the
// key that signed it (Mastodon's rule: the signer must be the actor).
func (s *Service) gateActivity(keyID string, act Activity) error {
	host := hostport.FromURL(act.Actor)
	if s.hostBlocked(host) {
		s.observeRefusal(RefusedActorBlocked)
		return refuse(http.StatusForbidden, "domain blocked", nil)
	}
	if keyID != "" && !strings.EqualFold(host, hostport.FromURL(keyID)) {
		s.observeRefusal(RefusedForgedActor)
		return refuse(http.StatusUnauthorized, "signer is not the activity's actor", nil)
	}
	// An activity's id is on its actor's host: no one can claim the id of
	// another server's next activity (its Undo, Delete or Follow would
	// then be dropped as a duplicate).
	if !strings.EqualFold(hostport.FromURL(act.ID), host) {
		s.observeRefusal(RefusedForgedActor)
		return refuse(http.StatusBadRequest, "activity id is not on its actor's host", nil)
	}
	return nil
}

// ourHost reports whether host (as received in a request: host[:port])
// names this server: its public host or the account domain. A signature
// covers the host it was made for: one made for another server must not
// be replayed to us.
func (s *Service) ourHost(host string) bool {
	return strings.EqualFold(host, s.publicHost) || strings.EqualFold(host, s.handleDomain) ||
		strings.EqualFold(host, hostport.Host(s.publicHost)) && defaultPort(s.set.BaseURL)
}

// defaultPort reports whether base has no explicit port.
func defaultPort(base string) bool {
	u, err := url.Parse(base)
	return err == nil && u.Port() == ""
}

// keyError turns a failure to get a signer's key into the inbox's
// answer: 429 when the fetch budget refused it, 503 when our database
// failed (the sender retries; its key is not at fault), else 401.
func keyError(err error) error {
	var rl *retryLater
	if errors.As(err, &rl) {
		return rl
	}
	if errors.Is(err, storage.ErrUnavailable) {
		return unavailable(err)
	}
	return refuse(http.StatusUnauthorized, "cannot fetch the signer's key", err)
}

// unavailable is the answer to a request we could not handle because our
// database failed: 503, retry later.
func unavailable(err error) *retryLater {
	return &retryLater{refuse(http.StatusServiceUnavailable, "temporarily unavailable, retry later", err), 30 * time.Second}
}

// fetchKeyGuarded is fetchKey within the budget of the key's domain: a
// recent failure is returned again, a key fetched less than
// keyRefetchCooldown ago is read from the store, and otherwise the
// domain's rate and concurrency must allow a fetch (429 if not). A
// failure of our own database is never remembered as the key's.
func (s *Service) fetchKeyGuarded(ctx context.Context, keyID string) (storage.RemoteKey, error) {
	g := s.limits()
	now := s.now()
	if f, ok := g.keyFailed.Get(keyID); ok && now.Before(f.until) {
		return storage.RemoteKey{}, f.err
	}
	if at, ok := g.keyDone.Get(keyID); ok && now.Sub(at) < keyRefetchCooldown {
		if k, err := s.store.GetRemoteKey(ctx, keyID); err == nil {
			return k, nil
		}
	}
	host := hostport.FromURL(keyID)
	if s.hostBlocked(host) {
		return storage.RemoteKey{}, ErrDomainBlocked
	}
	// The budget is per registrable domain: subdomains of one domain
	// share it, so that a sender cannot multiply it with names.
	domain := registrableDomain(domainOf(host))
	ok, wait := g.keyRate.Take(domain, now)
	if !ok {
		s.observeRefusal(RefusedKeyBudget)
		return storage.RemoteKey{}, &retryLater{refuse(http.StatusTooManyRequests, "too many new keys from this domain, retry later", nil), wait}
	}
	if ok, full := g.keySlots.tryAcquire(domain); !ok {
		g.keyRate.Refund(domain)
		s.observeRefusal(RefusedKeyBudget)
		if full {
			// Not this domain's doing: every fetch slot waits on some
			// server.
			return storage.RemoteKey{}, &retryLater{refuse(http.StatusServiceUnavailable, "busy fetching keys, retry later", nil), 5 * time.Second}
		}
		return storage.RemoteKey{}, &retryLater{refuse(http.StatusTooManyRequests, "too many key fetches in progress for this domain, retry later", nil), time.Second}
	}
	defer g.keySlots.release(domain)
	k, err := s.fetchKey(ctx, keyID)
	switch {
	case err == nil:
		g.keyDone.Put(keyID, s.now())
		g.keyFailed.Delete(keyID)
	case ctx.Err() == nil && !errors.Is(err, storage.ErrUnavailable):
		g.keyFailed.Put(keyID, keyFailure{err: err, until: s.now().Add(keyFailureTTL)})
	}
	return k, err
}

// The routes whose answer depends on Accept (HTML for browsers), and the
// profile images, which are not ActivityStreams.
const (
	routeActor  = "GET /users/{name}"
	routeNote   = "GET /users/{name}/statuses/{id}"
	routeAssets = "GET /users/{name}/{asset}"
)

// servesAS2 reports whether r gets an ActivityStreams document.
func servesAS2(r *http.Request) bool {
	switch r.Pattern {
	case routeActor, routeNote:
		return wantsAS2(r)
	case routeAssets:
		return false
	}
	return true
}

// allowFetch guards the GETs of an account's documents (called by
// account): signed requests from refused domains get 403; with
// federation.authorized_fetch, AS2 documents require a valid signature.
// When it refuses (or answers with the minimal actor document) it has
// answered and returns false.
func (s *Service) allowFetch(w http.ResponseWriter, r *http.Request, la *localActor) bool {
	signed := httpsig.IsSigned(r)
	authorized := s.set.Federation.AuthorizedFetch
	if !signed && !authorized {
		return true
	}
	as2 := servesAS2(r)
	if !signed {
		if !as2 {
			return true
		}
		if r.Pattern == routeActor {
			s.minimalActor(w, la)
			return false
		}
		s.refuseNow(w, r, refuse(http.StatusUnauthorized, "request not signed", nil), 0, RefusedFetchUnsigned, "", "")
		return false
	}
	keyID := signatureKeyID(r)
	if keyID == "" {
		if !authorized || !as2 {
			return true
		}
		_, err := s.parseSignature(r, nil)
		s.refuseNow(w, r, refuse(http.StatusUnauthorized, signatureReason(err), nil), 0, RefusedFetchUnverified, "", "")
		return false
	}
	host := hostport.FromURL(keyID)
	if s.hostBlocked(host) {
		s.refuseNow(w, r, refuse(http.StatusForbidden, "domain blocked", nil), 0, RefusedFetchBlocked, domainOf(host), keyID)
		return false
	}
	if !authorized || !as2 {
		return true
	}
	signer, err := s.verifyFetch(r)
	if err == nil && s.hostBlocked(hostport.FromURL(signer)) {
		err = refuse(http.StatusForbidden, "domain blocked", nil)
	}
	if err != nil {
		var ie *inboxError
		if !errors.As(err, &ie) {
			s.internalError(w, r, err)
			return false
		}
		var rl *retryLater
		after := time.Duration(0)
		if errors.As(err, &rl) {
			after = rl.after
		}
		reason := RefusedFetchUnverified
		if ie.code == http.StatusForbidden {
			reason = RefusedFetchBlocked
		}
		s.refuseNow(w, r, ie, after, reason, domainOf(host), keyID)
		return false
	}
	// Signed answers must not be served from shared caches to others.
	w.Header().Set("Cache-Control", "max-age=180, private")
	return true
}

// verifyFetch checks the signature of a GET and returns the signer.
func (s *Service) verifyFetch(r *http.Request) (string, error) {
	sig, err := s.parseSignature(r, nil)
	if err != nil {
		return "", err
	}
	key, err := s.verifiedSigner(r.Context(), sig, Activity{})
	if err == nil && key.Owner == "" {
		err = refuse(http.StatusUnauthorized, "cannot fetch the signer's key", nil)
	}
	return key.Owner, err
}

// minimalActor serves the unsigned form of an actor document under
// authorized fetch: what servers need to verify our signatures (the key)
// and to reach us, nothing else (Mastodon does the same).
func (s *Service) minimalActor(w http.ResponseWriter, la *localActor) {
	if doc, ok := s.guard.minimal.Load(la.name); ok {
		w.Header().Set("Cache-Control", "max-age=180, private")
		writeAS2(w, doc.([]byte))
		return
	}
	typ := la.cfg.Type
	if typ == "" {
		typ = config.DefaultAccountType
	}
	doc, err := marshalJSON(map[string]any{
		"@context":          []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":                la.id,
		"type":              typ,
		"preferredUsername": la.name,
		"inbox":             la.id + "/inbox",
		"outbox":            la.id + "/outbox",
		"endpoints":         map[string]any{"sharedInbox": s.set.BaseURL + "/inbox"},
		"publicKey":         map[string]any{"id": la.signer.KeyID, "owner": la.id, "publicKeyPem": la.publicPEM},
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.guard.minimal.Store(la.name, doc)
	w.Header().Set("Cache-Control", "max-age=180, private")
	writeAS2(w, doc)
}

// deliverable returns the inboxes not on domains refused for account
// (inboxes itself when none is refused).
func (s *Service) deliverable(account string, inboxes []string) []string {
	if s.guard.policy == nil {
		return inboxes
	}
	var out []string
	filtered := false
	for i, in := range inboxes {
		if !s.hostBlockedFor(account, hostport.FromURL(in)) {
			if filtered {
				out = append(out, in)
			}
			continue
		}
		if !filtered {
			filtered = true
			out = append(make([]string, 0, len(inboxes)-1), inboxes[:i]...)
		}
		s.observeRefusal(RefusedDelivery)
	}
	if !filtered {
		return inboxes
	}
	return out
}

// deliveryBlocked reports whether a delivery job of account to host must
// not be sent.
func (s *Service) deliveryBlocked(account, host string) bool {
	if !s.hostBlockedFor(account, host) {
		return false
	}
	s.observeRefusal(RefusedDelivery)
	return true
}
