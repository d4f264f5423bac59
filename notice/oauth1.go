package notice

// OAuth 1.0a request signing (RFC 5849) with HMAC-SHA1, the "user
// context" the X API v2 accepts for POST /2/tweets.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OAuth1 holds the four keys of a user-context OAuth 1.0a signature.
type OAuth1 struct {
	ConsumerKey       string
	ConsumerSecret    string
	AccessToken       string
	AccessTokenSecret string

	// Nonce and Now, when set, replace the random nonce and the clock
	// (tests).
	Nonce func() string
	Now   func() time.Time
}

// Authorization returns the Authorization header value for a request:
// method, the full URL (its query is signed) and, for an
// application/x-www-form-urlencoded body, its parameters (signed too; nil
// for a JSON body, which is not).
func (o OAuth1) Authorization(method, rawURL string, form url.Values) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	nonce := newNonce()
	if o.Nonce != nil {
		nonce = o.Nonce()
	}
	now := time.Now()
	if o.Now != nil {
		now = o.Now()
	}
	params := map[string]string{
		"oauth_consumer_key":     o.ConsumerKey,
		"oauth_nonce":            nonce,
		"oauth_signature_method": "HMAC-SHA1",
		"oauth_timestamp":        strconv.FormatInt(now.Unix(), 10),
		"oauth_token":            o.AccessToken,
		"oauth_version":          "1.0",
	}
	base := SignatureBase(method, u, form, params)
	params["oauth_signature"] = HMACSHA1(base, o.ConsumerSecret, o.AccessTokenSecret)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = PercentEncode(k) + `="` + PercentEncode(params[k]) + `"`
	}
	return "OAuth " + strings.Join(parts, ", "), nil
}

// SignatureBase is RFC 5849's signature base string (section 3.4.1): the
// method, the base string URI and the normalised parameters (query, form
// body and oauth_* protocol parameters but oauth_signature), each
// percent-encoded and joined with "&".
func SignatureBase(method string, u *url.URL, form url.Values, oauthParams map[string]string) string {
	type pair struct{ k, v string }
	var pairs []pair
	add := func(k, v string) { pairs = append(pairs, pair{PercentEncode(k), PercentEncode(v)}) }
	for k, vs := range u.Query() {
		for _, v := range vs {
			add(k, v)
		}
	}
	for k, vs := range form {
		for _, v := range vs {
			add(k, v)
		}
	}
	for k, v := range oauthParams {
		if k != "oauth_signature" && k != "realm" {
			add(k, v)
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	norm := make([]string, len(pairs))
	for i, p := range pairs {
		norm[i] = p.k + "=" + p.v
	}
	return strings.ToUpper(method) + "&" + PercentEncode(baseStringURI(u)) + "&" + PercentEncode(strings.Join(norm, "&"))
}

// baseStringURI is scheme://host[:port]/path, lower-case scheme and host,
// without the default port (section 3.4.1.2).
func baseStringURI(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && !(scheme == "http" && p == "80") && !(scheme == "https" && p == "443") {
		host += ":" + p
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// HMACSHA1 signs a base string with the key "consumer_secret&token_secret"
// (each percent-encoded) and returns the base64 signature (section 3.4.2).
func HMACSHA1(base, consumerSecret, tokenSecret string) string {
	mac := hmac.New(sha1.New, []byte(PercentEncode(consumerSecret)+"&"+PercentEncode(tokenSecret)))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// PercentEncode is RFC 5849's encoding (section 3.6): every byte but the
// unreserved characters A-Z a-z 0-9 - . _ ~ becomes %XX, upper-case.
func PercentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteString(strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

func newNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
