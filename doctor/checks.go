package doctor

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/storage"
)

// DNS checks that host resolves, preferably to an address of this machine.
func DNS(ctx context.Context, env Env, host string) Result {
	if net.ParseIP(host) != nil {
		return ok("%s is an IP address: nothing to resolve", host)
	}
	addrs, err := env.Resolver.LookupHost(ctx, host)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return fail(fmt.Sprintf("create an A record (and an AAAA record for IPv6) for %s pointing to this server's public address, then wait for it to propagate", host),
				"%s does not resolve (no such host)", host)
		}
		return fail("check the machine's DNS servers (/etc/resolv.conf) and the domain's records",
			"cannot resolve %s: %v", host, err)
	}
	local, err := env.localAddrs()
	if err != nil {
		return warn("", "%s resolves to %s; this machine's addresses are unknown: %v", host, strings.Join(addrs, ", "), err)
	}
	for _, a := range addrs {
		ip := net.ParseIP(a)
		for _, l := range local {
			if ip != nil && ip.Equal(l) {
				return ok("%s resolves to %s (this host)", host, strings.Join(addrs, ", "))
			}
		}
	}
	return warn(fmt.Sprintf("fine behind NAT, a load balancer or a reverse proxy on another machine; otherwise point %s's A/AAAA records at this host", host),
		"%s resolves to %s, not an address of this machine", host, strings.Join(addrs, ", "))
}

// WebFingerSpec is the round trip to check: acct:Username@HandleDomain
// must resolve, over Scheme, to ActorID.
type WebFingerSpec struct {
	Scheme       string // "https" (or "http" for a local test setup)
	HandleDomain string // the account domain, or the public host
	PublicBase   string // the bridge's public URL, for the hint
	Username     string
	ActorID      string
}

type jrd struct {
	Subject string `json:"subject"`
	Links   []struct {
		Rel  string `json:"rel"`
		Type string `json:"type"`
		Href string `json:"href"`
	} `json:"links"`
}

// WebFinger resolves the handle on its domain, as a remote server would,
// and fetches the actor it names. On a split domain (handles on
// city.example, bridge on social.city.example) the account domain must
// redirect its /.well-known/webfinger to the bridge: forgetting that, or
// pointing it at another server, is the mistake this check catches.
func WebFinger(ctx context.Context, env Env, s WebFingerSpec) Result {
	resource := "acct:" + s.Username + "@" + s.HandleDomain
	wfURL := s.Scheme + "://" + s.HandleDomain + "/.well-known/webfinger?resource=" + url.QueryEscape(resource)
	split := !strings.EqualFold(hostport.Host(hostport.FromURL(s.PublicBase)), s.HandleDomain)
	fixSplit := fmt.Sprintf("make %s://%s/.well-known/webfinger answer with a redirect (301) to %s/.well-known/webfinger, keeping the query (nginx: location /.well-known/webfinger { return 301 %s$request_uri; })",
		s.Scheme, s.HandleDomain, s.PublicBase, s.PublicBase)
	if !split {
		fixSplit = fmt.Sprintf("check that `bridge serve` runs and is reachable at %s", s.PublicBase)
	}

	body, final, status, err := get(ctx, env, wfURL, "application/jrd+json, application/json")
	if err != nil {
		return fail(fixSplit, "GET %s: %v", wfURL, err)
	}
	if status != http.StatusOK {
		return fail(fixSplit, "GET %s answered status %d", wfURL, status)
	}
	var doc jrd
	if err := json.Unmarshal(body, &doc); err != nil {
		return fail(fixSplit, "GET %s (answered by %s) is not a WebFinger (JSON) document: %v", wfURL, final, err)
	}
	if !strings.EqualFold(doc.Subject, resource) {
		return fail(fixSplit+"; the answer must come from the bridge, not from another server",
			"%s (answered by %s) gave subject %q, want %q", wfURL, final, doc.Subject, resource)
	}
	self := ""
	for _, l := range doc.Links {
		if l.Rel == "self" && (strings.Contains(l.Type, "activity+json") || strings.Contains(l.Type, "ld+json")) {
			self = l.Href
		}
	}
	if self != s.ActorID {
		return fail("server.public_url must be the URL the bridge is reached at, and the account domain must redirect to this bridge",
			"%s names actor %q, want %q", wfURL, self, s.ActorID)
	}
	// The round trip: the actor must be there too.
	body, _, status, err = get(ctx, env, self, "application/activity+json")
	if err != nil || status != http.StatusOK {
		return fail(fmt.Sprintf("the actor must be served at %s: check the reverse proxy forwards /users/ to the bridge", self),
			"GET %s: status %d, %v", self, status, err)
	}
	var actor struct {
		ID                string `json:"id"`
		PreferredUsername string `json:"preferredUsername"`
	}
	if err := json.Unmarshal(body, &actor); err != nil || actor.ID != s.ActorID {
		return fail("the reverse proxy must pass requests for the actor to the bridge unchanged",
			"GET %s did not return the actor document (id %q)", self, actor.ID)
	}
	via := ""
	if final != wfURL {
		via = " (redirected to " + final + ")"
	}
	return ok("%s resolves%s to %s", resource, via, s.ActorID)
}

// get fetches u and returns the body (at most 1 MiB), the final URL after
// redirects and the status.
func get(ctx context.Context, env Env, u, accept string) ([]byte, string, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, u, 0, err
	}
	req.Header.Set("Accept", accept)
	resp, err := env.HTTP.Do(req)
	if err != nil {
		return nil, u, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return body, resp.Request.URL.String(), resp.StatusCode, err
}

// Certificate thresholds.
const (
	certWarnWithin = 14 * 24 * time.Hour // renewal is overdue past this
	certFailWithin = 3 * 24 * time.Hour
)

// TLS connects to addr (host:port) with SNI serverName, checks the
// certificate chain, the name and the expiry.
func TLS(ctx context.Context, env Env, addr, serverName string) Result {
	conn, err := env.dial(ctx, "tcp", addr)
	if err != nil {
		return fail(fmt.Sprintf("is the bridge (tls.mode auto or manual) or the reverse proxy listening on %s, and does the firewall let it through?", addr),
			"cannot connect to %s: %v", addr, err)
	}
	defer conn.Close()
	cfg := env.tlsConfig(serverName)
	cfg.InsecureSkipVerify = true // verified below, against env's clock and roots
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fail("with tls.mode auto, read the bridge's log for 'could not obtain a certificate' and its cause; with manual, check cert_file and key_file",
			"TLS handshake with %s (%s) failed: %v", addr, serverName, err)
	}
	certs := tc.ConnectionState().PeerCertificates
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	now := env.now()
	_, verr := leaf.Verify(x509.VerifyOptions{DNSName: serverName, Roots: env.Roots, Intermediates: inter, CurrentTime: now})
	left := leaf.NotAfter.Sub(now)
	expiry := leaf.NotAfter.UTC().Format("2006-01-02")
	var ce x509.CertificateInvalidError
	var he x509.HostnameError
	var ua x509.UnknownAuthorityError
	switch {
	case errors.As(verr, &ce) && ce.Reason == x509.Expired && left <= 0:
		return fail("with tls.mode auto, the bridge renews by itself: read its log for ACME errors (DNS, ports 80/443, rate limits); with manual, renew the certificate and replace cert_file",
			"the certificate of %s expired on %s", serverName, expiry)
	case errors.As(verr, &ce) && ce.Reason == x509.Expired:
		return fail("check this machine's clock (see the clock check)", "the certificate of %s is not valid yet at this machine's time", serverName)
	case errors.As(verr, &he):
		return fail(fmt.Sprintf("the certificate must cover %s: list it in the certificate (manual) or check server.public_url and federation.account_domain (auto)", serverName),
			"the certificate served on %s is for %s, not %s", addr, strings.Join(leaf.DNSNames, ", "), serverName)
	case errors.As(verr, &ua):
		return fail("serve the full chain (fullchain.pem, not cert.pem); a self-signed or staging certificate is not trusted by other servers",
			"the certificate of %s (issued by %q) is not trusted", serverName, leaf.Issuer.CommonName)
	case verr != nil:
		return fail("serve a certificate from a public certificate authority, with its full chain", "the certificate of %s does not verify: %v", serverName, verr)
	case left < certFailWithin:
		return fail("renewal is failing: read the bridge's log (auto) or renew cert_file (manual)",
			"the certificate of %s expires in %s, on %s", serverName, days(left), expiry)
	case left < certWarnWithin:
		return warn("certificates are renewed a month before expiry: read the bridge's log (auto) or renew cert_file (manual)",
			"the certificate of %s expires in %s, on %s", serverName, days(left), expiry)
	}
	return ok("certificate for %s, issued by %q, valid until %s (%s left)", serverName, leaf.Issuer.CommonName, expiry, days(left))
}

func days(d time.Duration) string {
	if d < 48*time.Hour {
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// Clock thresholds: signatures carry a Date that peers compare to their
// clock (Mastodon refuses dates more than an hour ahead, others less).
const (
	clockWarn = 30 * time.Second
	clockFail = 5 * time.Minute
)

// Clock compares this machine's clock with the Date header of an HTTP
// server (ref).
func Clock(ctx context.Context, env Env, ref string) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, ref, nil)
	if err != nil {
		return fail("pass a valid URL with --clock-url", "clock reference %q: %v", ref, err)
	}
	before := env.now()
	resp, err := env.HTTP.Do(req)
	after := env.now()
	if err != nil {
		return warn("pass another reference server with --clock-url", "cannot reach the clock reference %s: %v", ref, err)
	}
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return warn("pass another reference server with --clock-url", "%s sent no usable Date header", ref)
	}
	local := before.Add(after.Sub(before) / 2)
	// Date has a one-second resolution.
	skew := local.Sub(date.Add(500 * time.Millisecond))
	abs := max(skew, -skew)
	dir := "ahead of"
	if skew < 0 {
		dir = "behind"
	}
	fix := "enable time synchronisation (timedatectl set-ntp true, or chrony/ntpd): HTTP Signatures carry the time, and peers refuse those too far from theirs"
	refHost := hostport.Host(hostport.FromURL(ref))
	switch {
	case abs > clockFail:
		return fail(fix, "this machine's clock is %s %s %s", abs.Round(time.Second), dir, refHost)
	case abs > clockWarn+after.Sub(before):
		return warn(fix, "this machine's clock is %s %s %s", abs.Round(time.Second), dir, refHost)
	}
	return ok("within %s of %s", max(abs.Round(time.Second), time.Second), refHost)
}

// DatabaseOpenFailed is the database check's result when the store could
// not even be opened.
func DatabaseOpenFailed(driver string, err error) Result {
	hint := "check storage.dsn: that the directory exists and is writable by the bridge's user"
	if driver == "postgres" {
		hint = "check storage.dsn: host, port, database name, user and password, and that PostgreSQL accepts connections from this host"
	}
	return fail(hint, "cannot open the %s database: %v", driver, err)
}

// Database pings the store and checks that every migration this binary
// knows has been applied.
func Database(ctx context.Context, store storage.Store) Result {
	if err := store.Ping(ctx); err != nil {
		return DatabaseOpenFailed(store.Driver(), err)
	}
	v, err := store.SchemaVersion(ctx)
	if err != nil {
		return fail("the database may have been created by something else than the bridge", "cannot read the schema version: %v", err)
	}
	latest, err := storage.LatestSchemaVersion(store.Driver())
	if err != nil {
		return fail("", "%v", err)
	}
	if v < latest {
		return fail("start `bridge serve` once: it applies the migrations at start",
			"schema version %d, this binary needs %d", v, latest)
	}
	detail := fmt.Sprintf("%s reachable, schema version %d (up to date)", store.Driver(), v)
	if st, err := store.JobStats(ctx, time.Now()); err == nil {
		detail += fmt.Sprintf("; queue: %d pending, %d running, %d failed", st.Pending, st.Running, st.Failed)
		if st.OldestPending > 10*time.Minute {
			return warn("are the delivery workers running (`bridge serve`)? Check /readyz and the log",
				"%s; the oldest due job has waited %s", detail, st.OldestPending.Round(time.Second))
		}
	}
	return ok("%s", detail)
}

// Bluesky checks the Bluesky login and handle. The mirror is not part of
// this version: the check is skipped until it is configured.
func Bluesky(ctx context.Context, configured bool, login func(ctx context.Context) (handle string, err error)) Result {
	if !configured || login == nil {
		return skip("Bluesky mirror not configured")
	}
	handle, err := login(ctx)
	if err != nil {
		return fail("check the Bluesky handle and app password in the configuration", "Bluesky login failed: %v", err)
	}
	return ok("logged in as @%s", handle)
}

// KeyStore reads key pairs (storage.Store does).
type KeyStore interface {
	GetKeyPair(ctx context.Context, owner string) (storage.KeyPair, error)
}

// Signature signs a request with the account's stored private key and
// verifies it with the stored public key, then with the key the public
// actor document serves: what a remote server does with our deliveries.
func Signature(ctx context.Context, env Env, keys KeyStore, username, actorID string) Result {
	kp, err := keys.GetKeyPair(ctx, username)
	if errors.Is(err, storage.ErrNotFound) {
		return warn("start `bridge serve` once: keys are created at first start", "no key pair for %s yet", username)
	}
	if err != nil {
		return fail("see the database check", "cannot read the key pair of %s: %v", username, err)
	}
	priv, err := httpsig.ParsePrivateKeyPEM(kp.PrivateKey)
	if _, isRSA := priv.(*rsa.PrivateKey); err == nil && !isRSA {
		err = fmt.Errorf("%T is not an RSA key", priv) // draft-cavage signs with RSA only
	}
	if err != nil {
		return fail("the stored key is damaged: restore the database from a backup", "private key of %s: %v", username, err)
	}
	keyID := actorID + "#main-key"
	body := []byte(`{"type":"Doctor"}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, actorID+"/inbox", bytes.NewReader(body))
	if err != nil {
		return fail("", "build the test request: %v", err)
	}
	req.Header.Set("Content-Type", "application/activity+json")
	if err := (httpsig.Signer{KeyID: keyID, Key: priv}).SignCavage(req, body, env.now()); err != nil {
		return fail("", "sign a test request: %v", err)
	}
	stored, err := httpsig.ParsePublicKeyPEM(kp.PublicKey)
	if err == nil {
		err = httpsig.VerifyCavage(req, stored)
	}
	if err != nil {
		return fail("the stored key pair is inconsistent: restore the database from a backup", "signature does not verify with the stored public key: %v", err)
	}

	doc, _, status, err := get(ctx, env, actorID, "application/activity+json")
	if err != nil || status != http.StatusOK {
		return fail(fmt.Sprintf("the actor must be reachable at %s for peers to verify our signatures", actorID),
			"signed and verified locally, but GET %s: status %d, %v", actorID, status, err)
	}
	var actor struct {
		PublicKey struct {
			ID           string `json:"id"`
			PublicKeyPem string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(doc, &actor); err != nil {
		return fail("the reverse proxy must pass actor requests to the bridge unchanged", "GET %s: not an actor document: %v", actorID, err)
	}
	if actor.PublicKey.ID != keyID {
		return fail("server.public_url must match the URL the bridge is served at", "the actor serves key id %q, want %q", actor.PublicKey.ID, keyID)
	}
	served, err := httpsig.ParsePublicKeyPEM(actor.PublicKey.PublicKeyPem)
	if err == nil {
		err = httpsig.VerifyCavage(req, served)
	}
	if err != nil {
		return fail("every replica must use the same database, and no cache or CDN may serve an old actor document",
			"the key served at %s does not verify our signature: %v", actorID, err)
	}
	return ok("signed with %s and verified with the key the actor serves", keyID)
}
