package httpsig

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/dunglas/httpsfv"
)

// Signature algorithms (RFC 9421 §3.3) this package verifies. SignRFC9421
// uses the first one with RSA keys and the last one with Ed25519 keys.
const (
	AlgRSAv15SHA256 = "rsa-v1_5-sha256"
	AlgRSAPSSSHA512 = "rsa-pss-sha512"
	AlgEd25519      = "ed25519"
)

// Label is the signature label SignRFC9421 uses, as Fedify does.
const Label = "sig1"

// derivedComponents are the derived components (RFC 9421 §2.2) a signature
// may cover. @query-param and @status are not supported: the first has no
// use in ActivityPub, the second is for responses.
var derivedComponents = []string{
	"@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query",
}

// Params are the parameters of one RFC 9421 signature, as read by
// ParseRFC9421 from the Signature-Input and Signature headers.
type Params struct {
	Label      string    // the dictionary key, e.g. "sig1"
	KeyID      string    // the keyid parameter; never empty
	Alg        string    // the alg parameter; empty when absent (see VerifyRFC9421)
	Created    time.Time // the created parameter; never zero
	Expires    time.Time // the expires parameter; zero when absent
	Components []string  // covered component identifiers, in order
	Signature  []byte    // the signature bytes

	// sigParams is the @signature-params value: the Signature-Input member
	// serialised again (RFC 9421 §2.3), which for any correctly serialised
	// header is the member exactly as received.
	sigParams string
}

// Covers reports whether component is among the covered components.
func (p Params) Covers(component string) bool {
	return slices.Contains(p.Components, component)
}

// IsRFC9421 reports whether r carries an RFC 9421 signature, i.e. a
// Signature-Input header (RFC 9421 Appendix A). Without one, a Signature
// header is a draft-cavage signature.
func IsRFC9421(r *http.Request) bool {
	return len(r.Header.Values("Signature-Input")) > 0
}

// ParseRFC9421 reads the Signature-Input and Signature headers of r and
// returns the signature to check. It is cheap and needs no key, so that an
// inbox can refuse a request before fetching anything.
//
// A signature is acceptable when it has a keyid, a created parameter, a
// known alg (or none), covered components this package can rebuild, and it
// covers:
//   - @method;
//   - the target: @target-uri (what Mastodon requires and Fedify sends), or
//     @authority with @request-target, or @authority with @path (and @query
//     when the request has a query);
//   - content-digest when the request has, or should have, a body (POST,
//     PUT, PATCH, or a Content-Length above zero).
//
// When Signature-Input has several labels, the first acceptable one (in
// header order) that has a value in Signature is chosen; if none is, the
// error is the one of the first label. (Mastodon refuses several labels
// outright; Fedify tries each.)
func ParseRFC9421(r *http.Request) (Params, error) {
	return parseRFC9421(r, func(p Params) error { return p.checkRequired(r) })
}

// parseRFC9421 returns the first signature of r that accept (when not nil)
// accepts.
func parseRFC9421(r *http.Request, accept func(Params) error) (Params, error) {
	inputs := r.Header.Values("Signature-Input")
	sigs := r.Header.Values("Signature")
	switch {
	case len(inputs) == 0:
		return Params{}, sigError(ErrMissingSignature, "missing Signature-Input", nil)
	case len(sigs) == 0:
		return Params{}, sigError(ErrMissingSignature, "missing Signature", nil)
	}
	inDict, err := httpsfv.UnmarshalDictionary(inputs)
	if err != nil {
		return Params{}, sigError(ErrMalformedSignature, "malformed Signature-Input", err)
	}
	sigDict, err := httpsfv.UnmarshalDictionary(sigs)
	if err != nil {
		return Params{}, sigError(ErrMalformedSignature, "malformed Signature", err)
	}
	if len(inDict.Names()) == 0 {
		return Params{}, sigError(ErrMissingSignature, "empty Signature-Input", nil)
	}
	var first error
	for _, label := range inDict.Names() {
		member, _ := inDict.Get(label)
		p, err := parseMember(label, member, sigDict)
		if err == nil && accept != nil {
			err = accept(p)
		}
		if err == nil {
			return p, nil
		}
		if first == nil {
			first = err
		}
	}
	return Params{}, first
}

// parseMember reads one Signature-Input member and its Signature value.
func parseMember(label string, member httpsfv.Member, sigDict *httpsfv.Dictionary) (Params, error) {
	p := Params{Label: label}
	list, ok := member.(httpsfv.InnerList)
	if !ok {
		return p, sigError(ErrMalformedSignature, "Signature-Input member is not an inner list", nil)
	}
	for _, item := range list.Items {
		name, err := componentName(item)
		if err != nil {
			return p, err
		}
		if p.Covers(name) {
			return p, sigError(ErrMalformedSignature, fmt.Sprintf("duplicate component %.40q", name), nil)
		}
		p.Components = append(p.Components, name)
	}
	if err := p.readParams(list.Params); err != nil {
		return p, err
	}
	sigParams, err := httpsfv.Marshal(list)
	if err != nil {
		return p, sigError(ErrMalformedSignature, "malformed Signature-Input", err)
	}
	p.sigParams = sigParams

	sig, ok := sigDict.Get(label)
	if !ok {
		return p, sigError(ErrMalformedSignature, fmt.Sprintf("no Signature for label %.40q", label), nil)
	}
	sigItem, ok := sig.(httpsfv.Item)
	if !ok {
		return p, sigError(ErrMalformedSignature, "Signature member is not a byte sequence", nil)
	}
	bytes, ok := sigItem.Value.([]byte)
	if !ok || len(bytes) == 0 {
		return p, sigError(ErrMalformedSignature, "Signature member is not a byte sequence", nil)
	}
	p.Signature = bytes
	return p, nil
}

// componentName validates a covered component identifier: a lower-case
// field name or a supported derived component, without parameters (sf,
// key, bs, req, tr and name are not supported).
func componentName(item httpsfv.Item) (string, error) {
	name, ok := item.Value.(string)
	if !ok {
		return "", sigError(ErrMalformedSignature, "component identifier is not a string", nil)
	}
	if item.Params != nil && len(item.Params.Names()) > 0 {
		return "", sigError(ErrMalformedSignature, fmt.Sprintf("unsupported component parameters on %.40q", name), nil)
	}
	if strings.HasPrefix(name, "@") {
		if !slices.Contains(derivedComponents, name) {
			return "", sigError(ErrMalformedSignature, fmt.Sprintf("unsupported component %.40q", name), nil)
		}
		return name, nil
	}
	if !isFieldName(name) {
		return "", sigError(ErrMalformedSignature, fmt.Sprintf("invalid component %.40q", name), nil)
	}
	return name, nil
}

// isFieldName reports whether s is a lower-case HTTP field name (a token).
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// readParams reads the signature parameters (RFC 9421 §2.3). Unknown
// parameters are kept in the signature base but otherwise ignored.
func (p *Params) readParams(params *httpsfv.Params) error {
	if params == nil {
		params = httpsfv.NewParams()
	}
	for _, name := range params.Names() {
		v, _ := params.Get(name)
		var ok bool
		switch name {
		case "created", "expires":
			var n int64
			if n, ok = v.(int64); ok {
				if name == "created" {
					p.Created = time.Unix(n, 0)
				} else {
					p.Expires = time.Unix(n, 0)
				}
			}
		case "keyid":
			p.KeyID, ok = v.(string)
		case "alg":
			p.Alg, ok = v.(string)
		case "nonce", "tag":
			_, ok = v.(string)
		default:
			ok = true
		}
		if !ok {
			return sigError(ErrMalformedSignature, fmt.Sprintf("malformed %s parameter", name), nil)
		}
	}
	switch {
	case p.KeyID == "":
		return sigError(ErrMalformedSignature, "missing keyid", nil)
	case p.Created.IsZero():
		return sigError(ErrMissingDate, "missing created parameter", nil)
	case !p.Expires.IsZero() && !p.Expires.After(p.Created):
		return sigError(ErrMalformedSignature, "expires is not after created", nil)
	}
	switch p.Alg {
	case "", AlgRSAv15SHA256, AlgRSAPSSSHA512, AlgEd25519:
	default:
		return sigError(ErrUnsupportedAlgorithm, fmt.Sprintf("unsupported alg %.40q", p.Alg), nil)
	}
	return nil
}

// checkRequired applies the coverage rules documented on ParseRFC9421.
func (p Params) checkRequired(r *http.Request) error {
	missing := func(c string) error {
		return sigError(ErrMissingComponent, "missing covered component: "+c, nil)
	}
	if !p.Covers("@method") {
		return missing("@method")
	}
	if !p.Covers("@target-uri") {
		if !p.Covers("@authority") {
			return missing("@target-uri")
		}
		if !p.Covers("@request-target") {
			if !p.Covers("@path") {
				return missing("@target-uri")
			}
			if _, _, hasQuery := targetOf(r).pathQuery(); hasQuery && !p.Covers("@query") {
				return missing("@query")
			}
		}
	}
	if requestHasBody(r) && !p.Covers("content-digest") {
		return missing("content-digest")
	}
	return nil
}

// target is the request target of r as it was sent.
type target struct {
	requestTarget string // as on the request line (origin or absolute form)
	origin        string // path and query
}

// targetOf returns the request target of r: from RequestURI on a server
// (r.URL.Path is unescaped there), else from r.URL (a client request).
func targetOf(r *http.Request) target {
	raw := r.RequestURI
	if raw == "" && r.URL != nil {
		raw = r.URL.RequestURI()
	}
	t := target{requestTarget: raw, origin: raw}
	if raw != "" && !strings.HasPrefix(raw, "/") {
		if u, err := url.ParseRequestURI(raw); err == nil && u.IsAbs() {
			t.origin = u.RequestURI()
		}
	}
	return t
}

// pathQuery splits the origin form into @path and @query values.
func (t target) pathQuery() (path, query string, hasQuery bool) {
	path, query, hasQuery = strings.Cut(t.origin, "?")
	if path == "" {
		path = "/"
	}
	return path, "?" + query, hasQuery && query != ""
}

// normalizeAuthority lower-cases host and drops the scheme's default port
// (RFC 9421 §2.2.3, RFC 9110 §4.2.3).
func normalizeAuthority(host, scheme string) string {
	host = strings.ToLower(host)
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		return host
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return host
}

// message is the signature context of a request: what the signature base
// is built from.
type message struct {
	r         *http.Request
	scheme    string // lower-case
	authority string // normalised
	target    target
}

func newMessage(r *http.Request, scheme string) message {
	scheme = strings.ToLower(scheme)
	return message{r: r, scheme: scheme, authority: normalizeAuthority(requestHost(r), scheme), target: targetOf(r)}
}

// requestHost is the host r was sent to: r.Host, or r.URL.Host for a
// client request that leaves r.Host empty (net/http then sends that).
func requestHost(r *http.Request) string {
	if r.Host != "" || r.URL == nil {
		return r.Host
	}
	return r.URL.Host
}

// componentValue returns the value of one covered component (RFC 9421 §2.1
// and §2.2).
func (m message) componentValue(name string) (string, error) {
	path, query, _ := m.target.pathQuery()
	var v string
	switch name {
	case "@method":
		v = m.r.Method
	case "@target-uri":
		v = m.scheme + "://" + m.authority + m.target.origin
	case "@authority":
		v = m.authority
	case "@scheme":
		v = m.scheme
	case "@request-target":
		v = m.target.requestTarget
	case "@path":
		v = path
	case "@query":
		v = query
	case "host":
		// net/http moves the Host header out of r.Header.
		v = strings.TrimSpace(m.r.Host)
		if v == "" && m.r.URL != nil {
			v = m.r.URL.Host
		}
		if v == "" {
			return "", sigError(ErrMissingComponent, "covered field absent: host", nil)
		}
	default:
		values := m.r.Header.Values(name)
		if len(values) == 0 {
			if name == "content-digest" {
				return "", sigError(ErrMissingDigest, "missing Content-Digest", nil)
			}
			return "", sigError(ErrMissingComponent, fmt.Sprintf("covered field absent: %.40s", name), nil)
		}
		trimmed := make([]string, len(values))
		for i, s := range values {
			trimmed[i] = strings.Trim(s, " \t")
		}
		v = strings.Join(trimmed, ", ")
	}
	if strings.ContainsAny(v, "\r\n") || (strings.HasPrefix(name, "@") && v == "" && name != "@query") {
		return "", sigError(ErrMalformedSignature, fmt.Sprintf("invalid value for component %.40s", name), nil)
	}
	return v, nil
}

// signatureBase builds the signature base (RFC 9421 §2.5).
func (m message) signatureBase(components []string, sigParams string) (string, error) {
	var b strings.Builder
	for _, c := range components {
		v, err := m.componentValue(c)
		if err != nil {
			return "", err
		}
		// Component names are validated tokens or known derived names: no
		// character needs escaping in their sf-string form.
		b.WriteString(`"` + c + `": ` + v + "\n")
	}
	b.WriteString(`"@signature-params": ` + sigParams)
	return b.String(), nil
}
