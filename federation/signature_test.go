package federation_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fed/httpsig"
	"github.com/passerelle/passerelle/federation"
)

// sigTestKeys returns two RSA-2048 keys, generated once for all tests (key
// generation is slow).
var sigTestKeys = sync.OnceValues(func() ([2]*rsa.PrivateKey, error) {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		privPEM, _, err := federation.GenerateKeyPair()
		if err != nil {
			return keys, err
		}
		if keys[i], err = federation.ParsePrivateKeyPEM(privPEM); err != nil {
			return keys, err
		}
	}
	return keys, nil
})

func sigKeys(tb testing.TB) (a, b *rsa.PrivateKey) {
	tb.Helper()
	keys, err := sigTestKeys()
	if err != nil {
		tb.Fatal(err)
	}
	return keys[0], keys[1]
}

const sigKeyID = "https://bridge.example/users/news#main-key"

var sigNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// sigClientRequest builds and signs an outgoing request.
func sigClientRequest(tb testing.TB, key *rsa.PrivateKey, method, rawURL string, body []byte, at time.Time) *http.Request {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if err := (federation.Signer{KeyID: sigKeyID, Key: key}).Sign(r, body, at); err != nil {
		tb.Fatal(err)
	}
	return r
}

// sigServerRequest serializes a client request to the wire and reads it
// back the way net/http's server does, so RequestURI, URL, Host and headers
// are what an inbox handler sees.
func sigServerRequest(tb testing.TB, r *http.Request) (*http.Request, []byte) {
	tb.Helper()
	var wire bytes.Buffer
	if err := r.Write(&wire); err != nil {
		tb.Fatal(err)
	}
	return sigReadRequest(tb, wire.Bytes())
}

func sigReadRequest(tb testing.TB, wire []byte) (*http.Request, []byte) {
	tb.Helper()
	sr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire)))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return sr, body
}

// sigCheckAll runs the inbox's sequence of checks.
func sigCheckAll(r *http.Request, body []byte, now time.Time, pub crypto.PublicKey) error {
	if _, err := federation.ParseSignatureHeader(r); err != nil {
		return err
	}
	if err := federation.CheckDate(r, now, time.Hour); err != nil {
		return err
	}
	if err := federation.CheckDigest(r, body); err != nil {
		return err
	}
	return federation.VerifySignature(r, pub)
}

// sigCraft signs with go-fed/httpsig directly, with any header list: for
// signatures our Signer would never produce.
func sigCraft(tb testing.TB, key *rsa.PrivateKey, method, rawURL string, body []byte, headers []string) *http.Request {
	tb.Helper()
	r := httptest.NewRequest(method, rawURL, bytes.NewReader(body))
	r.RequestURI = "" // make it a client request for httpsig
	r.Header.Set("Date", sigNow.Format(http.TimeFormat))
	r.Header.Set("Content-Type", "application/activity+json")
	r.Header.Set("Host", r.Host)
	s, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.SignRequest(key, sigKeyID, r, body); err != nil {
		tb.Fatal(err)
	}
	r.Header.Del("Host")
	return r
}

func sigWantKind(t *testing.T, err, kind error) {
	t.Helper()
	if kind == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want kind %q", err, kind)
	}
	var se *federation.SignatureError
	if !errors.As(err, &se) || se.Reason == "" {
		t.Fatalf("error %v is not a *SignatureError with a reason", err)
	}
}

type sigFixture struct {
	SignerKeyDocument struct {
		PublicKey struct {
			ID           string `json:"id"`
			PublicKeyPem string `json:"publicKeyPem"`
		} `json:"publicKey"`
	} `json:"signer_key_document"`
	Requests []struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Body    *string           `json:"body"`
	} `json:"requests"`
}

// sigFixtureWire renders a captured request in HTTP/1.1 wire format.
func sigFixtureWire(tb testing.TB, method, rawURL string, headers map[string]string, body *string) []byte {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, u.RequestURI(), u.Host)
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\r\n", k, headers[k])
	}
	b.WriteString("\r\n")
	if body != nil {
		b.WriteString(*body)
	}
	return []byte(b.String())
}

func TestSignatureGoToSocialFixtures(t *testing.T) {
	raw, err := os.ReadFile("testdata/gotosocial-signed-requests.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx sigFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	pub, err := federation.ParsePublicKeyPEM(fx.SignerKeyDocument.PublicKey.PublicKeyPem)
	if err != nil {
		t.Fatal(err)
	}
	if len(fx.Requests) == 0 {
		t.Fatal("no requests in fixture")
	}
	for _, fr := range fx.Requests {
		t.Run(fr.Method+" "+fr.URL, func(t *testing.T) {
			r, body := sigReadRequest(t, sigFixtureWire(t, fr.Method, fr.URL, fr.Headers, fr.Body))
			p, err := federation.ParseSignatureHeader(r)
			if err != nil {
				t.Fatal(err)
			}
			if p.KeyID != fx.SignerKeyDocument.PublicKey.ID || p.Algorithm != federation.AlgorithmHS2019 {
				t.Errorf("params = %q %q, want %q hs2019", p.KeyID, p.Algorithm, fx.SignerKeyDocument.PublicKey.ID)
			}
			date, err := http.ParseTime(fr.Headers["Date"])
			if err != nil {
				t.Fatal(err)
			}
			if err := federation.CheckDate(r, date, time.Minute); err != nil {
				t.Error(err)
			}
			if fr.Body != nil {
				if err := federation.CheckDigest(r, body); err != nil {
					t.Error(err)
				}
			}
			if err := federation.VerifySignature(r, pub); err != nil {
				t.Error(err)
			}
		})
	}

	// The query is signed as sent (percent-encoded): a verifier that
	// rebuilt it decoded would fail.
	t.Run("decoded query does not verify", func(t *testing.T) {
		fr := fx.Requests[0]
		decoded, err := url.QueryUnescape(fr.URL)
		if err != nil || decoded == fr.URL {
			t.Fatalf("first fixture request has no encoded query: %q", fr.URL)
		}
		r, _ := sigReadRequest(t, sigFixtureWire(t, fr.Method, decoded, fr.Headers, fr.Body))
		sigWantKind(t, federation.VerifySignature(r, pub), federation.ErrSignatureInvalid)
	})
}

func TestSignatureSignHeaders(t *testing.T) {
	key, _ := sigKeys(t)
	body := []byte(`{"type":"Follow"}`)
	tests := []struct {
		name        string
		method      string
		body        []byte
		wantHeaders string
		wantDigest  bool
	}{
		{"POST", http.MethodPost, body, "(request-target) host date digest", true},
		{"POST without body", http.MethodPost, nil, "(request-target) host date digest", true},
		{"GET", http.MethodGet, nil, "(request-target) host date", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sigClientRequest(t, key, tt.method, "https://remote.example:8443/inbox", tt.body, sigNow)
			if r.Host != "remote.example:8443" {
				t.Errorf("Host = %q", r.Host)
			}
			if got := r.Header.Get("Date"); got != "Sat, 21 Nov 2026 12:00:00 GMT" {
				t.Errorf("Date = %q", got)
			}
			sig := r.Header.Get("Signature")
			for _, want := range []string{`keyId="` + sigKeyID + `"`, `algorithm="rsa-sha256"`, `headers="` + tt.wantHeaders + `"`} {
				if !strings.Contains(sig, want) {
					t.Errorf("Signature %q lacks %s", sig, want)
				}
			}
			sum := sha256.Sum256(tt.body)
			wantDigest := ""
			if tt.wantDigest {
				wantDigest = "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
			}
			if got := r.Header.Get("Digest"); got != wantDigest {
				t.Errorf("Digest = %q, want %q", got, wantDigest)
			}
			if _, ok := r.Header["Host"]; ok {
				t.Error("Sign left a Host entry in the header map")
			}
		})
	}

	t.Run("signing again replaces", func(t *testing.T) {
		r := sigClientRequest(t, key, http.MethodPost, "https://remote.example/inbox", body, sigNow.Add(-time.Hour))
		if err := (federation.Signer{KeyID: sigKeyID, Key: key}).Sign(r, body, sigNow); err != nil {
			t.Fatal(err)
		}
		if n, m := len(r.Header.Values("Signature")), len(r.Header.Values("Digest")); n != 1 || m != 1 {
			t.Fatalf("%d Signature and %d Digest headers, want 1 each", n, m)
		}
		sr, sb := sigServerRequest(t, r)
		sigWantKind(t, sigCheckAll(sr, sb, sigNow, &key.PublicKey), nil)
	})

	t.Run("invalid signer", func(t *testing.T) {
		for _, s := range []federation.Signer{{KeyID: sigKeyID}, {KeyID: `a",b`, Key: key}, {Key: key}} {
			r := httptest.NewRequest(http.MethodGet, "https://remote.example/", nil)
			if err := s.Sign(r, nil, sigNow); err == nil {
				t.Errorf("Sign with %q accepted", s.KeyID)
			}
		}
	})
}

func TestSignatureRoundTrip(t *testing.T) {
	key, other := sigKeys(t)
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Follow"}`)
	const inbox = "https://bridge.example/users/news/inbox"
	tests := []struct {
		name   string
		method string
		url    string
		body   []byte
		signAt time.Time
		pub    *rsa.PublicKey
		mutate func(r *http.Request, body *[]byte) // on the server side
		want   error
	}{
		{name: "POST", method: "POST", url: inbox, body: body},
		{name: "GET", method: "GET", url: "https://bridge.example/users/news"},
		{name: "GET with encoded query", method: "GET", url: "https://bridge.example/.well-known/webfinger?resource=acct%3Anews%40bridge.example"},
		{name: "escaped path", method: "POST", url: "https://bridge.example/users/caf%C3%A9%2Fx/inbox?a=b%20c", body: body},
		{name: "within window", method: "POST", url: inbox, body: body, signAt: sigNow.Add(-59 * time.Minute)},
		{name: "Authorization header", method: "POST", url: inbox, body: body, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", "Signature "+r.Header.Get("Signature"))
			r.Header.Del("Signature")
		}},
		{name: "tampered body", method: "POST", url: inbox, body: body, want: federation.ErrDigestMismatch, mutate: func(_ *http.Request, b *[]byte) {
			*b = bytes.Replace(*b, []byte("Follow"), []byte("Unfollow"), 1)
		}},
		{name: "tampered body and digest", method: "POST", url: inbox, body: body, want: federation.ErrSignatureInvalid, mutate: func(r *http.Request, b *[]byte) {
			*b = bytes.Replace(*b, []byte("Follow"), []byte("Unfollow"), 1)
			sum := sha256.Sum256(*b)
			r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
		}},
		{name: "tampered date", method: "POST", url: inbox, body: body, want: federation.ErrSignatureInvalid, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Date", sigNow.Add(time.Second).Format(http.TimeFormat))
		}},
		{name: "tampered host", method: "GET", url: inbox, want: federation.ErrSignatureInvalid, mutate: func(r *http.Request, _ *[]byte) {
			r.Host = "evil.example"
		}},
		{name: "tampered path", method: "POST", url: inbox, body: body, want: federation.ErrSignatureInvalid, mutate: func(r *http.Request, _ *[]byte) {
			r.RequestURI = "/users/other/inbox"
		}},
		{name: "tampered method", method: "PUT", url: inbox, body: body, want: federation.ErrSignatureInvalid, mutate: func(r *http.Request, _ *[]byte) {
			r.Method = "POST"
		}},
		{name: "wrong key", method: "POST", url: inbox, body: body, pub: &other.PublicKey, want: federation.ErrSignatureInvalid},
		{name: "old date", method: "POST", url: inbox, body: body, signAt: sigNow.Add(-2 * time.Hour), want: federation.ErrDateOutsideWindow},
		{name: "future date", method: "POST", url: inbox, body: body, signAt: sigNow.Add(61 * time.Minute), want: federation.ErrDateOutsideWindow},
		{name: "missing signature", method: "POST", url: inbox, body: body, want: federation.ErrMissingSignature, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Del("Signature")
		}},
		{name: "missing date", method: "POST", url: inbox, body: body, want: federation.ErrMissingDate, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Del("Date")
		}},
		{name: "malformed date", method: "POST", url: inbox, body: body, want: federation.ErrMalformedDate, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Date", "yesterday")
		}},
		{name: "missing digest", method: "POST", url: inbox, body: body, want: federation.ErrMissingDigest, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Del("Digest")
		}},
		{name: "unsupported algorithm", method: "POST", url: inbox, body: body, want: federation.ErrUnsupportedAlgorithm, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "rsa-sha256", "hmac-sha256", 1))
		}},
		{name: "hs2019 algorithm", method: "POST", url: inbox, body: body, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "rsa-sha256", "hs2019", 1))
		}},
		{name: "no algorithm parameter", method: "POST", url: inbox, body: body, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="rsa-sha256",`, "", 1))
		}},
		{name: "two signatures", method: "POST", url: inbox, body: body, want: federation.ErrMalformedSignature, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", "Signature "+r.Header.Get("Signature"))
		}},
		{name: "malformed signature header", method: "POST", url: inbox, body: body, want: federation.ErrMalformedSignature, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Signature", `keyId="`+sigKeyID)
		}},
		{name: "query added after signing (Mastodon quirk)", method: "GET", url: "https://bridge.example/users/news/outbox", mutate: func(r *http.Request, _ *[]byte) {
			r.RequestURI += "?page=true"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.signAt
			if at.IsZero() {
				at = sigNow
			}
			pub := tt.pub
			if pub == nil {
				pub = &key.PublicKey
			}
			r, body := sigServerRequest(t, sigClientRequest(t, key, tt.method, tt.url, tt.body, at))
			if tt.mutate != nil {
				tt.mutate(r, &body)
			}
			sigWantKind(t, sigCheckAll(r, body, sigNow, pub), tt.want)
		})
	}
}

func TestSignatureRequiredHeaders(t *testing.T) {
	key, _ := sigKeys(t)
	body := []byte(`{"type":"Like"}`)
	tests := []struct {
		name    string
		method  string
		body    []byte
		headers []string
		want    error
		reason  string
	}{
		{"POST complete", "POST", body, []string{"(request-target)", "host", "date", "digest"}, nil, ""},
		{"POST signed in another order", "POST", body, []string{"digest", "date", "host", "(request-target)", "content-type"}, nil, ""},
		{"POST without digest signed", "POST", body, []string{"(request-target)", "host", "date"}, federation.ErrMissingSignedHeader, "missing signed header: digest"},
		{"GET without host signed", "GET", nil, []string{"(request-target)", "date"}, federation.ErrMissingSignedHeader, "missing signed header: host"},
		{"GET without request-target signed", "GET", nil, []string{"host", "date"}, federation.ErrMissingSignedHeader, "missing signed header: (request-target)"},
		{"GET without date signed", "GET", nil, []string{"(request-target)", "host"}, federation.ErrMissingSignedHeader, "missing signed header: date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, b := sigServerRequest(t, sigCraft(t, key, tt.method, "https://bridge.example/inbox", tt.body, tt.headers))
			err := sigCheckAll(r, b, sigNow, &key.PublicKey)
			sigWantKind(t, err, tt.want)
			var se *federation.SignatureError
			if tt.reason != "" && errors.As(err, &se) && se.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", se.Reason, tt.reason)
			}
		})
	}
}

func TestSignatureParseHeader(t *testing.T) {
	sig := base64.StdEncoding.EncodeToString([]byte("signature bytes"))
	tests := []struct {
		name   string
		header string
		want   federation.SignatureParams
		err    error
	}{
		{
			name:   "mastodon",
			header: `keyId="https://m.example/users/a#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="` + sig + `"`,
			want:   federation.SignatureParams{KeyID: "https://m.example/users/a#main-key", Algorithm: "rsa-sha256", Headers: []string{"(request-target)", "host", "date", "digest", "content-type"}},
		},
		{
			name:   "spaces, case, unknown and unquoted parameters, comma in quotes",
			header: ` KeyId = "https://m.example/k,1" , algorithm="HS2019", created=1700000000, headers="(request-target) Host Date Digest",foo="bar",signature="` + sig + `"`,
			want:   federation.SignatureParams{KeyID: "https://m.example/k,1", Algorithm: "hs2019", Headers: []string{"(request-target)", "host", "date", "digest"}},
		},
		{name: "empty", header: "", err: federation.ErrMissingSignature},
		{name: "no keyId", header: `headers="(request-target) host date digest",signature="` + sig + `"`, err: federation.ErrMalformedSignature},
		{name: "bad base64", header: `keyId="k",headers="(request-target) host date digest",signature="%%%"`, err: federation.ErrMalformedSignature},
		{name: "duplicate parameter", header: `keyId="k",keyId="j",headers="(request-target) host date digest",signature="` + sig + `"`, err: federation.ErrMalformedSignature},
		{name: "unterminated quote", header: `keyId="k,signature="` + sig, err: federation.ErrMalformedSignature},
		{name: "rsa-sha512", header: `keyId="k",algorithm="rsa-sha512",headers="(request-target) host date digest",signature="` + sig + `"`, err: federation.ErrUnsupportedAlgorithm},
		{name: "ed25519", header: `keyId="k",algorithm="ed25519",headers="(request-target) host date digest",signature="` + sig + `"`, err: federation.ErrUnsupportedAlgorithm},
		{name: "default headers", header: `keyId="k",signature="` + sig + `"`, err: federation.ErrMissingSignedHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/inbox", strings.NewReader("{}"))
			if tt.header != "" {
				r.Header.Set("Signature", tt.header)
			}
			got, err := federation.ParseSignatureHeader(r)
			sigWantKind(t, err, tt.err)
			if tt.err != nil {
				return
			}
			if got.KeyID != tt.want.KeyID || got.Algorithm != tt.want.Algorithm || !slices.Equal(got.Headers, tt.want.Headers) || string(got.Signature) != "signature bytes" {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSignatureCheckDate(t *testing.T) {
	tests := []struct {
		name   string
		date   string
		window time.Duration
		want   error
	}{
		{"now", sigNow.Format(http.TimeFormat), time.Minute, nil},
		{"edge of window", sigNow.Add(-time.Minute).Format(http.TimeFormat), time.Minute, nil},
		{"past window", sigNow.Add(-time.Minute - time.Second).Format(http.TimeFormat), time.Minute, federation.ErrDateOutsideWindow},
		{"future", sigNow.Add(2 * time.Minute).Format(http.TimeFormat), time.Minute, federation.ErrDateOutsideWindow},
		{"RFC 850 form", "Saturday, 21-Nov-26 12:00:00 GMT", time.Minute, nil},
		{"default window", sigNow.Add(-59 * time.Minute).Format(http.TimeFormat), 0, nil},
		{"beyond default window", sigNow.Add(-61 * time.Minute).Format(http.TimeFormat), 0, federation.ErrDateOutsideWindow},
		{"missing", "", time.Minute, federation.ErrMissingDate},
		{"malformed", "2026-11-21T12:00:00Z", time.Minute, federation.ErrMalformedDate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.date != "" {
				r.Header.Set("Date", tt.date)
			}
			sigWantKind(t, federation.CheckDate(r, sigNow, tt.window), tt.want)
		})
	}
}

func TestSignatureCheckDigest(t *testing.T) {
	body := []byte(`{"type":"Create"}`)
	s256 := sha256.Sum256(body)
	good := base64.StdEncoding.EncodeToString(s256[:])
	empty := sha256.Sum256(nil)
	tests := []struct {
		name   string
		method string
		body   []byte
		digest []string
		want   error
	}{
		{"SHA-256", "POST", body, []string{"SHA-256=" + good}, nil},
		{"lower-case algorithm", "POST", body, []string{"sha-256=" + good}, nil},
		{"among several", "POST", body, []string{"SHA-512=AAAA, SHA-256=" + good}, nil},
		{"in a second header line", "POST", body, []string{"SHA-512=AAAA", "SHA-256=" + good}, nil},
		{"mismatch", "POST", body, []string{"SHA-256=" + base64.StdEncoding.EncodeToString(empty[:])}, federation.ErrDigestMismatch},
		{"malformed base64", "POST", body, []string{"SHA-256=***"}, federation.ErrDigestMismatch},
		{"no SHA-256", "POST", body, []string{"SHA-512=AAAA"}, federation.ErrMissingDigest},
		{"missing", "POST", body, nil, federation.ErrMissingDigest},
		{"POST with empty body and no digest", "POST", nil, nil, federation.ErrMissingDigest},
		{"GET without digest", "GET", nil, nil, nil},
		{"GET with digest of empty body", "GET", nil, []string{"SHA-256=" + base64.StdEncoding.EncodeToString(empty[:])}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/inbox", bytes.NewReader(tt.body))
			for _, d := range tt.digest {
				r.Header.Add("Digest", d)
			}
			sigWantKind(t, federation.CheckDigest(r, tt.body), tt.want)
		})
	}
}

func TestSignatureErrorStatus(t *testing.T) {
	tests := []struct {
		name string
		kind error
		want int
	}{
		{"missing signature", federation.ErrMissingSignature, http.StatusUnauthorized},
		{"does not verify", federation.ErrSignatureInvalid, http.StatusUnauthorized},
		{"date outside window", federation.ErrDateOutsideWindow, http.StatusUnauthorized},
		{"digest mismatch", federation.ErrDigestMismatch, http.StatusBadRequest},
		{"malformed signature", federation.ErrMalformedSignature, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &federation.SignatureError{Kind: tt.kind, Reason: tt.kind.Error()}
			if got := e.Status(); got != tt.want {
				t.Errorf("Status() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSignatureUnsupportedKey(t *testing.T) {
	key, _ := sigKeys(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := sigServerRequest(t, sigClientRequest(t, key, "GET", "https://bridge.example/users/news", nil, sigNow))
	sigWantKind(t, federation.VerifySignature(r, &ec.PublicKey), federation.ErrUnsupportedAlgorithm)
}

// TestSignatureOverNetwork checks host and target handling against a real
// net/http server.
func TestSignatureOverNetwork(t *testing.T) {
	key, _ := sigKeys(t)
	results := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		results <- sigCheckAll(r, body, time.Now(), &key.PublicKey)
	}))
	defer srv.Close()
	for _, path := range []string{"/inbox", "/users/caf%C3%A9/inbox?x=a%2Bb&y=%E2%9C%93"} {
		r := sigClientRequest(t, key, "POST", srv.URL+path, []byte(`{"a":1}`), time.Now())
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if err := <-results; err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

func TestSignatureConcurrentSign(t *testing.T) {
	key, _ := sigKeys(t)
	s := federation.Signer{KeyID: sigKeyID, Key: key}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 4 {
		wg.Go(func() {
			for i := range 4 {
				body := fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i)
				r, _ := http.NewRequest("POST", "https://remote.example/inbox", bytes.NewReader(body))
				if err := s.Sign(r, body, sigNow); err != nil {
					errs <- err
					return
				}
				var wire bytes.Buffer
				if err := r.Write(&wire); err != nil {
					errs <- err
					return
				}
				sr, err := http.ReadRequest(bufio.NewReader(&wire))
				if err != nil {
					errs <- err
					return
				}
				sb, _ := io.ReadAll(sr.Body)
				if err := sigCheckAll(sr, sb, sigNow, &key.PublicKey); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestKeyGeneratePair(t *testing.T) {
	privPEM, pubPEM, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(privPEM, "-----BEGIN PRIVATE KEY-----") || !strings.HasPrefix(pubPEM, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("unexpected PEM types:\n%s\n%s", privPEM, pubPEM)
	}
	priv, err := federation.ParsePrivateKeyPEM(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := federation.ParsePublicKeyPEM(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if priv.N.BitLen() != 2048 || !priv.PublicKey.Equal(pub) {
		t.Fatalf("key size %d, public key matches: %v", priv.N.BitLen(), priv.PublicKey.Equal(pub))
	}
}

func TestKeyParsePEM(t *testing.T) {
	key, _ := sigKeys(t)
	spki, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecSPKI, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ec)
	enc := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	publicTests := []struct {
		name, pem string
		ok        bool
	}{
		{"SPKI", enc("PUBLIC KEY", spki), true},
		{"SPKI with surrounding whitespace", "\n  " + enc("PUBLIC KEY", spki) + "\n", true},
		{"PKCS#1", enc("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey)), true},
		{"EC key", enc("PUBLIC KEY", ecSPKI), false},
		{"wrong type", enc("CERTIFICATE", spki), false},
		{"garbage", "not a key", false},
		{"truncated", enc("PUBLIC KEY", spki[:40]), false},
	}
	for _, tt := range publicTests {
		t.Run("public "+tt.name, func(t *testing.T) {
			got, err := federation.ParsePublicKeyPEM(tt.pem)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && !key.PublicKey.Equal(got) {
				t.Fatal("parsed a different key")
			}
		})
	}
	privateTests := []struct {
		name, pem string
		ok        bool
	}{
		{"PKCS#8", enc("PRIVATE KEY", pkcs8), true},
		{"PKCS#1", enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), true},
		{"EC key", enc("PRIVATE KEY", ecPKCS8), false},
		{"public key", enc("PUBLIC KEY", spki), false},
		{"garbage", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", false},
	}
	for _, tt := range privateTests {
		t.Run("private "+tt.name, func(t *testing.T) {
			got, err := federation.ParsePrivateKeyPEM(tt.pem)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && !key.Equal(got) {
				t.Fatal("parsed a different key")
			}
		})
	}
}

// BenchmarkSign measures a complete POST signature (Digest, signing string,
// RSA-2048 PKCS#1 v1.5). Compare with BenchmarkSignRSAOnly: the difference
// is our and httpsig's overhead.
func BenchmarkSign(b *testing.B) {
	key, _ := sigKeys(b)
	s := federation.Signer{KeyID: sigKeyID, Key: key}
	body := bytes.Repeat([]byte("x"), 2048)
	b.ReportAllocs()
	for b.Loop() {
		r, _ := http.NewRequest("POST", "https://remote.example/inbox", nil)
		if err := s.Sign(r, body, sigNow); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}

// BenchmarkSignParallel measures the signing rate on all cores.
func BenchmarkSignParallel(b *testing.B) {
	key, _ := sigKeys(b)
	s := federation.Signer{KeyID: sigKeyID, Key: key}
	body := bytes.Repeat([]byte("x"), 2048)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := http.NewRequest("POST", "https://remote.example/inbox", nil)
			if err := s.Sign(r, body, sigNow); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sigs/s")
}

// BenchmarkSignRSAOnly is the bare RSA-2048 operation, for comparison.
func BenchmarkSignRSAOnly(b *testing.B) {
	key, _ := sigKeys(b)
	sum := sha256.Sum256([]byte("signing string"))
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}

// BenchmarkVerify measures VerifySignature on a signed POST as received by
// a server (header parsing included, Digest and Date excluded).
func BenchmarkVerify(b *testing.B) {
	key, _ := sigKeys(b)
	r, _ := sigServerRequest(b, sigClientRequest(b, key, "POST", "https://bridge.example/inbox", []byte(`{"type":"Follow"}`), sigNow))
	b.ReportAllocs()
	for b.Loop() {
		if err := federation.VerifySignature(r, &key.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}
