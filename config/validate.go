package config

import (
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits checked by Validate.
const (
	MaxUsernameLength    = 30
	MaxDisplayNameLength = 100  // characters
	MaxSummaryLength     = 500  // characters
	MaxFields            = 4    // Mastodon's default limit
	MaxFieldNameLength   = 255  // characters
	MaxFieldValueLength  = 2047 // characters
	MaxFollowersPageSize = 1000
	MinSignatureWindow   = Duration(time.Minute)
	MaxSignatureWindow   = Duration(12 * time.Hour)
	MinHomeRetention     = Duration(time.Hour)
	MaxHomeRetention     = Duration(366 * 24 * time.Hour)
	MinDeliveryWorkers   = 1
	MaxDeliveryWorkers   = 1024
)

// Allowed values of the enumerated settings.
var (
	tlsModes     = []string{TLSOff, TLSManual, TLSAuto}
	drivers      = []string{DriverSQLite, DriverPostgres}
	logLevels    = []string{"debug", "info", "warn", "error"}
	logFormats   = []string{"json", "console"}
	accountTypes = []string{"Organization", "Person", "Service", "Group", "Application"}
)

// reservedUsernames cannot be used as account usernames: they name the
// bridge's own routes and would be confusing or clash with them.
var reservedUsernames = []string{
	"actor", "api", "inbox", "instance", "media", "nodeinfo", "oauth",
	"static", "tags", "users", "well-known", "x",
}

// Validate checks every setting and returns all the problems found, joined
// with errors.Join; each is a *Problem naming its key path, such as
// "accounts[1].username". It expects defaults to be applied (see Default and
// ApplyDefaults). It reads the TLS and image files to check that they exist.
func (c *Config) Validate() error {
	var v validator
	v.server(c.Server)
	v.storage(c.Storage)
	v.federation(c.Federation)
	v.log(c.Log)
	v.posts(c.Posts)
	v.accounts(c.Accounts)
	v.notices(c.Accounts)
	v.pagesAccounts(c.Accounts)
	v.blueskyAccounts(c)
	v.policyAccounts(c.Accounts)
	v.feedAccounts(c.Accounts)
	v.moderation(c)
	v.movesAccounts(c) // also_known_as (moves.go)
	return joinProblems(v.problems)
}

// validator collects problems.
type validator struct {
	problems []*Problem
}

func (v *validator) addf(key, format string, args ...any) {
	v.problems = append(v.problems, &Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) addErr(key, msg string, err error) {
	v.problems = append(v.problems, &Problem{Key: key, Msg: msg, Err: err})
}

func (v *validator) required(key, value string) bool {
	if strings.TrimSpace(value) == "" {
		v.addf(key, "required")
		return false
	}
	return true
}

func (v *validator) oneOf(key, value string, allowed []string) bool {
	for _, a := range allowed {
		if value == a {
			return true
		}
	}
	v.addf(key, "must be one of %s; got %s%s", quoteAll(allowed), quote(value), didYouMean(value, allowed))
	return false
}

func (v *validator) maxLength(key, value string, limit int) {
	if n := utf8.RuneCountInString(value); n > limit {
		v.addf(key, "is %d characters long; at most %d are allowed", n, limit)
	}
}

func (v *validator) intRange(key string, value, lo, hi int) {
	if value < lo || value > hi {
		v.addf(key, "must be between %d and %d; got %d", lo, hi, value)
	}
}

// server

func (v *validator) server(s Server) {
	v.publicURL("server.public_url", s.PublicURL)
	v.listen("server.listen", s.Listen)
	v.tls("server.tls", s.TLS)
	v.serverTLS(s)
	if s.MetricsListen != "" && v.listen("server.metrics_listen", s.MetricsListen) {
		for _, other := range []struct{ key, addr string }{{"server.listen", s.Listen}, {"server.http_listen", s.HTTPListen}} {
			if sameAddr(s.MetricsListen, other.addr) {
				v.addf("server.metrics_listen", "must differ from %s (%s): metrics are served on their own address, kept private", other.key, quote(other.addr))
			}
		}
	}
	for i, p := range s.TrustedProxies {
		if _, err := ParseTrustedProxy(p); err != nil {
			v.addf(fmt.Sprintf("server.trusted_proxies[%d]", i), "must be an IP address (\"127.0.0.1\") or a CIDR range (\"10.0.0.0/8\"); got %s", quote(p))
		}
	}
	if s.MaxConnections != 0 && (s.MaxConnections < MinMaxConnections || s.MaxConnections > MaxMaxConnections) {
		v.addf("server.max_connections", "must be between %d and %d (0: the default, %d); got %d",
			MinMaxConnections, MaxMaxConnections, DefaultMaxConnections, s.MaxConnections)
	}
}

// serverTLS checks the settings that depend on tls.mode: plain HTTP
// (http_listen) and, for "auto", what ACME needs.
func (v *validator) serverTLS(s Server) {
	switch s.TLS.Mode {
	case TLSOff:
		if s.HTTPListen != "" {
			v.addf("server.http_listen", "is only used when server.tls.mode is %s or %s (to redirect to HTTPS); with %s, remove it: the reverse proxy serves plain HTTP", quote(TLSAuto), quote(TLSManual), quote(TLSOff))
		}
		return
	case TLSManual:
		if s.HTTPListen != "" && v.listen("server.http_listen", s.HTTPListen) && sameAddr(s.HTTPListen, s.Listen) {
			v.addf("server.http_listen", "must differ from server.listen (%s)", quote(s.Listen))
		}
		return
	case TLSAuto:
	default:
		return
	}
	// ACME can only certify a public DNS name reached over https.
	if u, err := url.Parse(s.PublicURL); err == nil && u.Host != "" {
		if u.Scheme != "https" {
			v.addf("server.public_url", "must start with https:// when server.tls.mode is %s; got %s", quote(TLSAuto), quote(s.PublicURL))
		}
		if host := u.Hostname(); net.ParseIP(host) != nil {
			v.addf("server.public_url", "must use a DNS name, not an IP address, when server.tls.mode is %s: certificate authorities do not certify IP addresses; got %s", quote(TLSAuto), quote(host))
		} else if !strings.Contains(host, ".") {
			v.addf("server.public_url", "must use a public DNS name such as \"social.city.example\" when server.tls.mode is %s; got %s", quote(TLSAuto), quote(host))
		}
	}
	if s.HTTPListen == "" {
		v.addf("server.http_listen", "required when server.tls.mode is %s, e.g. \":80\": the certificate authority checks the domain over plain HTTP (HTTP-01), and visitors are redirected to HTTPS", quote(TLSAuto))
	} else if v.listen("server.http_listen", s.HTTPListen) && sameAddr(s.HTTPListen, s.Listen) {
		v.addf("server.http_listen", "must differ from server.listen (%s)", quote(s.Listen))
	}
	if e := s.TLS.Email; e != "" {
		local, domain, ok := strings.Cut(e, "@")
		if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(e, " <>") {
			v.addf("server.tls.email", "must be an email address such as \"it@city.example\"; got %s", quote(e))
		}
	}
	if d := s.TLS.ACMEDirectory; d != "" {
		u, err := url.Parse(d)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			v.addf("server.tls.acme_directory", "must be the https:// URL of an ACME directory, such as %s; got %s", quote(DefaultACMEDirectory), quote(d))
		}
	}
	if f := s.TLS.ACMECARoot; f != "" {
		if err := readablePEM(f, "CERTIFICATE"); err != nil {
			v.addErr("server.tls.acme_ca_root", "cannot use the file", err)
		}
	}
}

// sameAddr reports whether two listen addresses are the same host:port.
func sameAddr(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb {
		return false
	}
	return ha == hb || ha == "" || hb == "" || ha == "0.0.0.0" || hb == "0.0.0.0" || ha == "::" || hb == "::"
}

// ParseTrustedProxy parses one server.trusted_proxies entry: an IP address
// (a single-address prefix) or a CIDR range.
func ParseTrustedProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("config: trusted proxy %q: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("config: trusted proxy %q: %w", s, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// readablePEM checks that path is a readable file holding at least one PEM
// block of the given type.
func readablePEM(path, blockType string) error {
	if err := readableFile(path); err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return fmt.Errorf("%s holds no PEM %s block", path, blockType)
		}
		if b.Type == blockType {
			return nil
		}
	}
}

func (v *validator) publicURL(key, raw string) {
	if !v.required(key, raw) {
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		v.addErr(key, "is not a valid URL", unwrapURLError(err))
		return
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Opaque != "" {
		v.addf(key, "must look like \"https://social.city.example\" (scheme https, or http for local use); got %s", quote(raw))
		return
	}
	if u.User != nil {
		v.addf(key, "must not contain a user name or password")
	}
	if u.Hostname() == "" {
		v.addf(key, "must contain a host name")
	}
	if p := u.Port(); p != "" && !validPort(p) {
		v.addf(key, "port %s must be between 1 and 65535", quote(p))
	}
	if u.Path != "" && u.Path != "/" {
		v.addf(key, "must not have a path (got %s): the bridge is served at the root of its host", quote(u.Path))
	}
	if u.RawQuery != "" || u.ForceQuery {
		v.addf(key, "must not have a query (\"?...\")")
	}
	if u.Fragment != "" {
		v.addf(key, "must not have a fragment (\"#...\")")
	}
}

// listen checks a host:port listen address and reports whether it is
// valid.
func (v *validator) listen(key, addr string) bool {
	if !v.required(key, addr) {
		return false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.addErr(key, fmt.Sprintf("%s is not a valid host:port such as \"127.0.0.1:8080\" or \":8080\"", quote(addr)), unwrapAddrError(err))
		return false
	}
	ok := true
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		v.addf(key, "host %s is neither an IP address nor a host name", quote(host))
		ok = false
	}
	if !validPort(port) {
		v.addf(key, "port %s must be a number between 1 and 65535", quote(port))
		ok = false
	}
	return ok
}

func (v *validator) tls(key string, t TLS) {
	if !v.oneOf(key+".mode", t.Mode, tlsModes) || t.Mode != TLSManual {
		return
	}
	for _, f := range []struct{ key, path string }{{key + ".cert_file", t.CertFile}, {key + ".key_file", t.KeyFile}} {
		if !v.required(f.key, f.path) {
			continue
		}
		if err := readableFile(f.path); err != nil {
			v.addErr(f.key, "cannot read the file (required by tls.mode \"manual\")", err)
		}
	}
}

// storage

func (v *validator) storage(s Storage) {
	if !v.oneOf("storage.driver", s.Driver, drivers) {
		return // the DSN cannot be checked without knowing the driver
	}
	if !v.required("storage.dsn", s.DSN) || s.Driver != DriverPostgres {
		return
	}
	// The DSN holds a password: never print it.
	u, err := url.Parse(s.DSN)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		v.addf("storage.dsn", "must be a URL such as \"postgres://user:password@host:5432/dbname\" (postgres:// or postgresql://) when storage.driver is \"postgres\"")
	}
}

// federation

func (v *validator) federation(f Federation) {
	v.accountDomain("federation.account_domain", f.AccountDomain)
	v.intRange("federation.followers_page_size", f.FollowersPageSize, 0, MaxFollowersPageSize)
	if d := f.PollResultsDelay; d < 0 || d > Duration(time.Hour) {
		v.addf("federation.poll_results_delay", "must be between 1s and 1h (0: 1m); got %s", d)
	}
	if h := f.HomeRetention; h != 0 && (h < MinHomeRetention || h > MaxHomeRetention) {
		v.addf("federation.home_retention", "must be 0 (kept) or between %s and %s; got %s", MinHomeRetention, MaxHomeRetention, h)
	}
	if w := f.SignatureWindow; w < MinSignatureWindow || w > MaxSignatureWindow {
		v.addf("federation.signature_window", "must be between %s and %s; got %s", MinSignatureWindow, MaxSignatureWindow, w)
	}
	v.intRange("federation.delivery_workers", f.DeliveryWorkers, MinDeliveryWorkers, MaxDeliveryWorkers)
}

func (v *validator) accountDomain(key, d string) {
	if d == "" {
		return
	}
	switch {
	case strings.Contains(d, "://"):
		v.addf(key, "must be a bare host name such as \"city.example\", without scheme; got %s", quote(d))
	case strings.ContainsAny(d, "/?#"):
		v.addf(key, "must be a bare host name such as \"city.example\", without path; got %s", quote(d))
	case strings.Contains(d, "@"):
		v.addf(key, "must be a host name such as \"city.example\", not a handle; got %s", quote(d))
	case strings.Contains(d, ":"):
		v.addf(key, "must be a bare host name such as \"city.example\", without port; got %s", quote(d))
	case !validHostname(strings.ToLower(d)):
		v.addf(key, "%s is not a valid host name", quote(d))
	}
}

// log

func (v *validator) log(l Log) {
	v.oneOf("log.level", l.Level, logLevels)
	v.oneOf("log.format", l.Format, logFormats)
}

// accounts

func (v *validator) accounts(accounts []Account) {
	if len(accounts) == 0 {
		v.addf("accounts", "at least one account is required")
	}
	seen := map[string]int{} // lower-cased username -> index
	for i, a := range accounts {
		key := fmt.Sprintf("accounts[%d]", i)
		v.account(key, a)
		name := strings.ToLower(a.Username)
		if first, dup := seen[name]; dup && name != "" {
			v.addf(key+".username", "%s is already used by accounts[%d]", quote(a.Username), first)
			continue
		}
		seen[name] = i
	}
}

func (v *validator) account(key string, a Account) {
	v.username(key+".username", a.Username)
	v.oneOf(key+".type", a.Type, accountTypes)
	v.maxLength(key+".display_name", a.DisplayName, MaxDisplayNameLength)
	v.maxLength(key+".summary", a.Summary, MaxSummaryLength)
	if a.Language != "" {
		v.languageTag(key+".language", a.Language)
	}
	v.image(key+".avatar", a.Avatar)
	v.image(key+".header", a.Header)
	if len(a.Fields) > MaxFields {
		v.addf(key+".fields", "has %d entries; at most %d are allowed", len(a.Fields), MaxFields)
	}
	for i, f := range a.Fields {
		fk := fmt.Sprintf("%s.fields[%d]", key, i)
		if v.required(fk+".name", f.Name) {
			v.maxLength(fk+".name", f.Name, MaxFieldNameLength)
		}
		if v.required(fk+".value", f.Value) {
			v.maxLength(fk+".value", f.Value, MaxFieldValueLength)
		}
	}
}

func (v *validator) username(key, name string) {
	if !v.required(key, name) {
		return
	}
	if !validUsername(name) {
		v.addf(key, "must be 1 to %d characters among lower-case letters a-z, digits 0-9 and underscore; got %s", MaxUsernameLength, quote(name))
		return
	}
	for _, r := range reservedUsernames {
		if name == r {
			v.addf(key, "%s is reserved (it names one of the bridge's own routes); choose another", quote(name))
		}
	}
}

// image checks an avatar or header: empty, an http(s) URL, or a readable
// file.
func (v *validator) image(key, s string) {
	if s == "" {
		return
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.addf(key, "must be an http(s) URL or the path of an image file; got %s", quote(s))
		}
		return
	}
	if err := readableFile(s); err != nil {
		v.addErr(key, "cannot read the image file", err)
	}
}

// helpers

// validUsername reports whether s matches ^[a-z0-9_]{1,30}$.
func validUsername(s string) bool {
	if len(s) == 0 || len(s) > MaxUsernameLength {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// validHostname reports whether s is a DNS host name: dot-separated labels
// of 1 to 63 letters, digits and hyphens, not starting or ending with a
// hyphen, 253 characters at most.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// readableFile checks that path is a regular file that can be opened.
func readableFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}

// unwrapURLError drops url.Error's repetition of the whole URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// unwrapAddrError keeps only the reason of a net.AddrError.
func unwrapAddrError(err error) error {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return errors.New(ae.Err)
	}
	return err
}

func quoteAll(values []string) string {
	q := make([]string, len(values))
	for i, s := range values {
		q[i] = quote(s)
	}
	return strings.Join(q, ", ")
}
