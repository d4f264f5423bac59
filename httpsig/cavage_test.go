package httpsig

// Tests of draft-cavage signing and verifying, and of key generation and
// parsing.

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
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

	gofed "github.com/go-fed/httpsig"
)

// cavageTestKeys returns two RSA-2048 keys, generated once for all tests (key
// generation is slow).
var cavageTestKeys = sync.OnceValues(func() ([2]*rsa.PrivateKey, error) {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		privPEM, _, err := GenerateKeyPair()
		if err != nil {
			return keys, err
		}
		key, err := ParsePrivateKeyPEM(privPEM)
		if err != nil {
			return keys, err
		}
		keys[i] = key.(*rsa.PrivateKey)
	}
	return keys, nil
})

func cavageKeys(tb testing.TB) (a, b *rsa.PrivateKey) {
	tb.Helper()
	keys, err := cavageTestKeys()
	if err != nil {
		tb.Fatal(err)
	}
	return keys[0], keys[1]
}

var cavageNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// cavageClientRequest builds and signs an outgoing request.
func cavageClientRequest(tb testing.TB, key *rsa.PrivateKey, method, rawURL string, body []byte, at time.Time) *http.Request {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if err := (Signer{KeyID: testKeyID, Key: key}).SignCavage(r, body, at); err != nil {
		tb.Fatal(err)
	}
	return r
}

// cavageCheckAll runs the inbox's sequence of checks.
func cavageCheckAll(r *http.Request, body []byte, now time.Time, pub crypto.PublicKey) error {
	if _, err := ParseCavage(r); err != nil {
		return err
	}
	if err := CheckDate(r, now, time.Hour); err != nil {
		return err
	}
	if err := CheckDigest(r, body); err != nil {
		return err
	}
	return VerifyCavage(r, pub)
}

// cavageCraft signs with go-fed/httpsig directly, with any header list: for
// signatures our Signer would never produce.
func cavageCraft(tb testing.TB, key *rsa.PrivateKey, method, rawURL string, body []byte, headers []string) *http.Request {
	tb.Helper()
	r := httptest.NewRequest(method, rawURL, bytes.NewReader(body))
	r.RequestURI = "" // make it a client request for go-fed/httpsig
	r.Header.Set("Date", cavageNow.Format(http.TimeFormat))
	r.Header.Set("Content-Type", "application/activity+json")
	r.Header.Set("Host", r.Host)
	s, _, err := gofed.NewSigner([]gofed.Algorithm{gofed.RSA_SHA256}, gofed.DigestSha256, headers, gofed.Signature, 0)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.SignRequest(key, testKeyID, r, body); err != nil {
		tb.Fatal(err)
	}
	r.Header.Del("Host")
	return r
}

type gtsFixture struct {
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

// gtsFixtureWire renders a captured request in HTTP/1.1 wire format.
func gtsFixtureWire(tb testing.TB, method, rawURL string, headers map[string]string, body *string) []byte {
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

func TestCavageGoToSocialFixtures(t *testing.T) {
	raw, err := os.ReadFile("testdata/gotosocial/signed-requests.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx gtsFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(fx.SignerKeyDocument.PublicKey.PublicKeyPem)
	if err != nil {
		t.Fatal(err)
	}
	if len(fx.Requests) == 0 {
		t.Fatal("no requests in fixture")
	}
	for _, fr := range fx.Requests {
		t.Run(fr.Method+" "+fr.URL, func(t *testing.T) {
			r, body := readWire(t, gtsFixtureWire(t, fr.Method, fr.URL, fr.Headers, fr.Body))
			p, err := ParseCavage(r)
			if err != nil {
				t.Fatal(err)
			}
			if p.KeyID != fx.SignerKeyDocument.PublicKey.ID || p.Algorithm != AlgHS2019 {
				t.Errorf("params = %q %q, want %q hs2019", p.KeyID, p.Algorithm, fx.SignerKeyDocument.PublicKey.ID)
			}
			date, err := http.ParseTime(fr.Headers["Date"])
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckDate(r, date, time.Minute); err != nil {
				t.Error(err)
			}
			if fr.Body != nil {
				if err := CheckDigest(r, body); err != nil {
					t.Error(err)
				}
			}
			if err := VerifyCavage(r, pub); err != nil {
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
		r, _ := readWire(t, gtsFixtureWire(t, fr.Method, decoded, fr.Headers, fr.Body))
		wantKind(t, VerifyCavage(r, pub), ErrSignatureInvalid)
	})
}

func TestSignCavageHeaders(t *testing.T) {
	key, _ := cavageKeys(t)
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
			r := cavageClientRequest(t, key, tt.method, "https://remote.example:8443/inbox", tt.body, cavageNow)
			if r.Host != "remote.example:8443" {
				t.Errorf("Host = %q", r.Host)
			}
			if got := r.Header.Get("Date"); got != "Sat, 21 Nov 2026 12:00:00 GMT" {
				t.Errorf("Date = %q", got)
			}
			sig := r.Header.Get("Signature")
			for _, want := range []string{`keyId="` + testKeyID + `"`, `algorithm="rsa-sha256"`, `headers="` + tt.wantHeaders + `"`} {
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
		r := cavageClientRequest(t, key, http.MethodPost, "https://remote.example/inbox", body, cavageNow.Add(-time.Hour))
		if err := (Signer{KeyID: testKeyID, Key: key}).SignCavage(r, body, cavageNow); err != nil {
			t.Fatal(err)
		}
		if n, m := len(r.Header.Values("Signature")), len(r.Header.Values("Digest")); n != 1 || m != 1 {
			t.Fatalf("%d Signature and %d Digest headers, want 1 each", n, m)
		}
		sr, sb := toServer(t, r)
		wantKind(t, cavageCheckAll(sr, sb, cavageNow, &key.PublicKey), nil)
	})

	t.Run("invalid signer", func(t *testing.T) {
		for _, s := range []Signer{{KeyID: testKeyID}, {KeyID: `a",b`, Key: key}, {Key: key}} {
			r := httptest.NewRequest(http.MethodGet, "https://remote.example/", nil)
			if err := s.SignCavage(r, nil, cavageNow); err == nil {
				t.Errorf("Sign with %q accepted", s.KeyID)
			}
		}
	})
}

func TestCavageRoundTrip(t *testing.T) {
	key, other := cavageKeys(t)
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
		{name: "within window", method: "POST", url: inbox, body: body, signAt: cavageNow.Add(-59 * time.Minute)},
		{name: "Authorization header", method: "POST", url: inbox, body: body, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", "Signature "+r.Header.Get("Signature"))
			r.Header.Del("Signature")
		}},
		{name: "tampered body", method: "POST", url: inbox, body: body, want: ErrDigestMismatch, mutate: func(_ *http.Request, b *[]byte) {
			*b = bytes.Replace(*b, []byte("Follow"), []byte("Unfollow"), 1)
		}},
		{name: "tampered body and digest", method: "POST", url: inbox, body: body, want: ErrSignatureInvalid, mutate: func(r *http.Request, b *[]byte) {
			*b = bytes.Replace(*b, []byte("Follow"), []byte("Unfollow"), 1)
			sum := sha256.Sum256(*b)
			r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
		}},
		{name: "tampered date", method: "POST", url: inbox, body: body, want: ErrSignatureInvalid, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Date", cavageNow.Add(time.Second).Format(http.TimeFormat))
		}},
		{name: "tampered host", method: "GET", url: inbox, want: ErrSignatureInvalid, mutate: func(r *http.Request, _ *[]byte) {
			r.Host = "evil.example"
		}},
		{name: "tampered path", method: "POST", url: inbox, body: body, want: ErrSignatureInvalid, mutate: func(r *http.Request, _ *[]byte) {
			r.RequestURI = "/users/other/inbox"
		}},
		{name: "tampered method", method: "PUT", url: inbox, body: body, want: ErrSignatureInvalid, mutate: func(r *http.Request, _ *[]byte) {
			r.Method = "POST"
		}},
		{name: "wrong key", method: "POST", url: inbox, body: body, pub: &other.PublicKey, want: ErrSignatureInvalid},
		{name: "old date", method: "POST", url: inbox, body: body, signAt: cavageNow.Add(-2 * time.Hour), want: ErrOutsideWindow},
		{name: "future date", method: "POST", url: inbox, body: body, signAt: cavageNow.Add(61 * time.Minute), want: ErrOutsideWindow},
		{name: "missing signature", method: "POST", url: inbox, body: body, want: ErrMissingSignature, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Del("Signature")
		}},
		{name: "missing date", method: "POST", url: inbox, body: body, want: ErrMissingDate, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Del("Date")
		}},
		{name: "malformed date", method: "POST", url: inbox, body: body, want: ErrMalformedDate, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Date", "yesterday")
		}},
		{name: "missing digest", method: "POST", url: inbox, body: body, want: ErrMissingDigest, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Del("Digest")
		}},
		{name: "unsupported algorithm", method: "POST", url: inbox, body: body, want: ErrUnsupportedAlgorithm, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "rsa-sha256", "hmac-sha256", 1))
		}},
		{name: "hs2019 algorithm", method: "POST", url: inbox, body: body, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "rsa-sha256", "hs2019", 1))
		}},
		{name: "no algorithm parameter", method: "POST", url: inbox, body: body, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="rsa-sha256",`, "", 1))
		}},
		{name: "two signatures", method: "POST", url: inbox, body: body, want: ErrMalformedSignature, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", "Signature "+r.Header.Get("Signature"))
		}},
		{name: "malformed signature header", method: "POST", url: inbox, body: body, want: ErrMalformedSignature, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Signature", `keyId="`+testKeyID)
		}},
		{name: "query added after signing (Mastodon quirk)", method: "GET", url: "https://bridge.example/users/news/outbox", mutate: func(r *http.Request, _ *[]byte) {
			r.RequestURI += "?page=true"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.signAt
			if at.IsZero() {
				at = cavageNow
			}
			pub := tt.pub
			if pub == nil {
				pub = &key.PublicKey
			}
			r, body := toServer(t, cavageClientRequest(t, key, tt.method, tt.url, tt.body, at))
			if tt.mutate != nil {
				tt.mutate(r, &body)
			}
			wantKind(t, cavageCheckAll(r, body, cavageNow, pub), tt.want)
		})
	}
}

func TestCavageRequiredHeaders(t *testing.T) {
	key, _ := cavageKeys(t)
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
		{"POST without digest signed", "POST", body, []string{"(request-target)", "host", "date"}, ErrMissingComponent, "missing signed header: digest"},
		{"GET without host signed", "GET", nil, []string{"(request-target)", "date"}, ErrMissingComponent, "missing signed header: host"},
		{"GET without request-target signed", "GET", nil, []string{"host", "date"}, ErrMissingComponent, "missing signed header: (request-target)"},
		{"GET without date signed", "GET", nil, []string{"(request-target)", "host"}, ErrMissingComponent, "missing signed header: date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, b := toServer(t, cavageCraft(t, key, tt.method, "https://bridge.example/inbox", tt.body, tt.headers))
			err := cavageCheckAll(r, b, cavageNow, &key.PublicKey)
			wantKind(t, err, tt.want)
			var se *SignatureError
			if tt.reason != "" && errors.As(err, &se) && se.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", se.Reason, tt.reason)
			}
		})
	}
}

func TestParseCavage(t *testing.T) {
	sig := base64.StdEncoding.EncodeToString([]byte("signature bytes"))
	tests := []struct {
		name   string
		header string
		want   CavageParams
		err    error
	}{
		{
			name:   "mastodon",
			header: `keyId="https://m.example/users/a#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="` + sig + `"`,
			want:   CavageParams{KeyID: "https://m.example/users/a#main-key", Algorithm: "rsa-sha256", Headers: []string{"(request-target)", "host", "date", "digest", "content-type"}},
		},
		{
			name:   "spaces, case, unknown and unquoted parameters, comma in quotes",
			header: ` KeyId = "https://m.example/k,1" , algorithm="HS2019", created=1700000000, headers="(request-target) Host Date Digest",foo="bar",signature="` + sig + `"`,
			want:   CavageParams{KeyID: "https://m.example/k,1", Algorithm: "hs2019", Headers: []string{"(request-target)", "host", "date", "digest"}},
		},
		{name: "empty", header: "", err: ErrMissingSignature},
		{name: "no keyId", header: `headers="(request-target) host date digest",signature="` + sig + `"`, err: ErrMalformedSignature},
		{name: "bad base64", header: `keyId="k",headers="(request-target) host date digest",signature="%%%"`, err: ErrMalformedSignature},
		{name: "duplicate parameter", header: `keyId="k",keyId="j",headers="(request-target) host date digest",signature="` + sig + `"`, err: ErrMalformedSignature},
		{name: "unterminated quote", header: `keyId="k,signature="` + sig, err: ErrMalformedSignature},
		{name: "rsa-sha512", header: `keyId="k",algorithm="rsa-sha512",headers="(request-target) host date digest",signature="` + sig + `"`, err: ErrUnsupportedAlgorithm},
		{name: "ed25519", header: `keyId="k",algorithm="ed25519",headers="(request-target) host date digest",signature="` + sig + `"`, err: ErrUnsupportedAlgorithm},
		{name: "default headers", header: `keyId="k",signature="` + sig + `"`, err: ErrMissingComponent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/inbox", strings.NewReader("{}"))
			if tt.header != "" {
				r.Header.Set("Signature", tt.header)
			}
			got, err := ParseCavage(r)
			wantKind(t, err, tt.err)
			if tt.err != nil {
				return
			}
			if got.KeyID != tt.want.KeyID || got.Algorithm != tt.want.Algorithm || !slices.Equal(got.Headers, tt.want.Headers) || string(got.Signature) != "signature bytes" {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckDate(t *testing.T) {
	tests := []struct {
		name   string
		date   string
		window time.Duration
		want   error
	}{
		{"now", cavageNow.Format(http.TimeFormat), time.Minute, nil},
		{"edge of window", cavageNow.Add(-time.Minute).Format(http.TimeFormat), time.Minute, nil},
		{"past window", cavageNow.Add(-time.Minute - time.Second).Format(http.TimeFormat), time.Minute, ErrOutsideWindow},
		{"future", cavageNow.Add(2 * time.Minute).Format(http.TimeFormat), time.Minute, ErrOutsideWindow},
		{"RFC 850 form", "Saturday, 21-Nov-26 12:00:00 GMT", time.Minute, nil},
		{"default window", cavageNow.Add(-59 * time.Minute).Format(http.TimeFormat), 0, nil},
		{"beyond default window", cavageNow.Add(-61 * time.Minute).Format(http.TimeFormat), 0, ErrOutsideWindow},
		{"missing", "", time.Minute, ErrMissingDate},
		{"malformed", "2026-11-21T12:00:00Z", time.Minute, ErrMalformedDate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.date != "" {
				r.Header.Set("Date", tt.date)
			}
			wantKind(t, CheckDate(r, cavageNow, tt.window), tt.want)
		})
	}
}

func TestCheckDigest(t *testing.T) {
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
		{"mismatch", "POST", body, []string{"SHA-256=" + base64.StdEncoding.EncodeToString(empty[:])}, ErrDigestMismatch},
		{"malformed base64", "POST", body, []string{"SHA-256=***"}, ErrDigestMismatch},
		{"no SHA-256", "POST", body, []string{"SHA-512=AAAA"}, ErrMissingDigest},
		{"missing", "POST", body, nil, ErrMissingDigest},
		{"POST with empty body and no digest", "POST", nil, nil, ErrMissingDigest},
		{"GET without digest", "GET", nil, nil, nil},
		{"GET with digest of empty body", "GET", nil, []string{"SHA-256=" + base64.StdEncoding.EncodeToString(empty[:])}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/inbox", bytes.NewReader(tt.body))
			for _, d := range tt.digest {
				r.Header.Add("Digest", d)
			}
			wantKind(t, CheckDigest(r, tt.body), tt.want)
		})
	}
}

func TestVerifyCavageUnsupportedKey(t *testing.T) {
	key, _ := cavageKeys(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := toServer(t, cavageClientRequest(t, key, "GET", "https://bridge.example/users/news", nil, cavageNow))
	wantKind(t, VerifyCavage(r, &ec.PublicKey), ErrUnsupportedAlgorithm)
}

// TestCavageOverNetwork checks host and target handling against a real
// net/http server.
func TestCavageOverNetwork(t *testing.T) {
	key, _ := cavageKeys(t)
	results := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		results <- cavageCheckAll(r, body, time.Now(), &key.PublicKey)
	}))
	defer srv.Close()
	for _, path := range []string{"/inbox", "/users/caf%C3%A9/inbox?x=a%2Bb&y=%E2%9C%93"} {
		r := cavageClientRequest(t, key, "POST", srv.URL+path, []byte(`{"a":1}`), time.Now())
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

func TestSignCavageConcurrent(t *testing.T) {
	key, _ := cavageKeys(t)
	s := Signer{KeyID: testKeyID, Key: key}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 4 {
		wg.Go(func() {
			for i := range 4 {
				body := fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i)
				r, _ := http.NewRequest("POST", "https://remote.example/inbox", bytes.NewReader(body))
				if err := s.SignCavage(r, body, cavageNow); err != nil {
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
				if err := cavageCheckAll(sr, sb, cavageNow, &key.PublicKey); err != nil {
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

// BenchmarkSignCavage measures a complete POST signature (Digest, signing string,
// RSA-2048 PKCS#1 v1.5). Compare with BenchmarkSignRSAOnly: the difference
// is our and go-fed/httpsig's overhead.
func BenchmarkSignCavage(b *testing.B) {
	key, _ := cavageKeys(b)
	s := Signer{KeyID: testKeyID, Key: key}
	body := bytes.Repeat([]byte("x"), 2048)
	b.ReportAllocs()
	for b.Loop() {
		r, _ := http.NewRequest("POST", "https://remote.example/inbox", nil)
		if err := s.SignCavage(r, body, cavageNow); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}

// BenchmarkSignCavageParallel measures the signing rate on all cores.
func BenchmarkSignCavageParallel(b *testing.B) {
	key, _ := cavageKeys(b)
	s := Signer{KeyID: testKeyID, Key: key}
	body := bytes.Repeat([]byte("x"), 2048)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := http.NewRequest("POST", "https://remote.example/inbox", nil)
			if err := s.SignCavage(r, body, cavageNow); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sigs/s")
}

// BenchmarkSignRSAOnly is the bare RSA-2048 operation, for comparison.
func BenchmarkSignRSAOnly(b *testing.B) {
	key, _ := cavageKeys(b)
	sum := sha256.Sum256([]byte("signing string"))
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}

// BenchmarkVerifyCavage measures VerifyCavage on a signed POST as received by
// a server (header parsing included, Digest and Date excluded).
func BenchmarkVerifyCavage(b *testing.B) {
	key, _ := cavageKeys(b)
	r, _ := toServer(b, cavageClientRequest(b, key, "POST", "https://bridge.example/inbox", []byte(`{"type":"Follow"}`), cavageNow))
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyCavage(r, &key.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}
