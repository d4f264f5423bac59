package httpsig

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParseRFC9421 feeds arbitrary Signature-Input, Signature and
// Content-Digest values to ParseRFC9421 and, when they parse, to Verify:
// neither may panic, and every error must be a *SignatureError. Seeds:
// f.Add below and testdata/fuzz/FuzzParseRFC9421.
func FuzzParseRFC9421(f *testing.F) {
	for _, name := range []string{"b21-minimal-rsa-pss.http", "b23-full-coverage-rsa-pss.http", "b26-ed25519.http", "b4-transform-ed25519.http"} {
		r, _ := readWireFile(f, "rfc9421/"+name)
		f.Add(r.Header.Get("Signature-Input"), r.Header.Get("Signature"), r.Header.Get("Content-Digest"))
	}
	const all = `("@method" "@target-uri" "@authority" "content-digest");created=1618884473;keyid="k";alg="ed25519"`
	f.Add("sig1="+all, "sig1=:dGVzdA==:", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
	f.Add(`a=("@method";req), b=()`, `a=?1, b=:AA==:`, `sha-512=:AA==:, md5=("x")`)
	f.Add(`sig1=("host" "date" "@query" "@path" "@request-target" "@scheme");created=-1;expires=9999999999999;keyid="k"`, `sig1=:AAAA:`, ``)
	f.Add(`sig1=("@method" "@target-uri");created=1;keyid="k";x=@1659578233;y=%"d%c3%a9"`, `sig1=:AAAA:`, ``)
	f.Add("sig1=(", "sig1=:", "sha-256=:")
	f.Add("", "", "")
	f.Add("\x00\xff", "\t,", ";;")

	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)).Public()
	rsaPub := publicKeyFile(f, "rfc9421/test-key-rsa-pss.pub.pem").(*rsa.PublicKey)
	f.Fuzz(func(t *testing.T, input, sig, digest string) {
		r, err := http.NewRequest(http.MethodPost, "https://bridge.example/inbox?a=1", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		r.Header["Signature-Input"] = []string{input}
		r.Header["Signature"] = []string{sig}
		r.Header["Content-Digest"] = []string{digest}
		r.Header["Date"] = []string{"Tue, 20 Apr 2021 02:07:55 GMT"}
		p, err := ParseRFC9421(r)
		checkSigError(t, err)
		if err != nil {
			p, err = parseRFC9421(r, nil)
			checkSigError(t, err)
			if err != nil {
				return
			}
		}
		for _, key := range []any{pub, rsaPub} {
			checkSigError(t, Verifier{}.VerifyRFC9421(r, []byte("{}"), p, key, time.Unix(1618884473, 0)))
		}
	})
}

func checkSigError(t *testing.T, err error) {
	t.Helper()
	var se *SignatureError
	if err != nil && (!errors.As(err, &se) || se.Reason == "" || se.Kind == nil) {
		t.Fatalf("error %v is not a *SignatureError", err)
	}
	if err != nil && se.Status() != http.StatusBadRequest && se.Status() != http.StatusUnauthorized {
		t.Fatalf("status %d", se.Status())
	}
}

// FuzzParseMultikey feeds arbitrary values to ParseMultikey: it may not
// panic, and a key it returns is RSA or Ed25519 and survives PublicKeyPEM.
// Seeds: f.Add below and testdata/fuzz/FuzzParseMultikey.
func FuzzParseMultikey(f *testing.F) {
	f.Add(fepEd25519Multibase)
	f.Add(fepRSAMultibase)
	f.Add("z6MksHj1MJnidCtDiyYW9ugNFftoX9fLK4bornTxmMZ6X7vq")
	if b, err := os.ReadFile(filepath.Join("testdata", "keys", "fedify-rsa.multibase")); err == nil {
		f.Add(strings.TrimSpace(string(b)))
	}
	f.Add("")
	f.Add("z")
	f.Add("z1111")
	f.Add("u7QE")
	f.Add("zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169") // a P-256 did:key
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseMultikey(s)
		if err != nil {
			return
		}
		switch k := k.(type) {
		case ed25519.PublicKey:
			if len(k) != ed25519.PublicKeySize {
				t.Fatalf("Ed25519 key of %d bytes", len(k))
			}
		case *rsa.PublicKey:
		default:
			t.Fatalf("key of type %T", k)
		}
		pemText, err := PublicKeyPEM(k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParsePublicKeyPEM(pemText); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseCavage: a draft-cavage Signature header (or its
// Authorization form) never panics the parser, and what it accepts names
// a key and signs what an inbox requires.
func FuzzParseCavage(f *testing.F) {
	for _, s := range []string{
		`keyId="https://a.example/users/u#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="c2ln"`,
		`keyId="k",headers="(request-target) host date",signature="c2ln"`,
		`keyId="a\"b",signature="=="`,
		`keyId=k,algorithm=hs2019,headers="(request-target) host date digest",signature=c2ln,keyId=x`,
		`keyId="",signature=""`, `,,,=,"`, `keyId="unterminated`,
	} {
		f.Add(s, true, false)
	}
	f.Fuzz(func(t *testing.T, header string, post, auth bool) {
		r := httptest.NewRequest(http.MethodGet, "/inbox", nil)
		if post {
			r.Method = http.MethodPost
		}
		if auth {
			r.Header.Set("Authorization", "Signature "+header)
		} else {
			r.Header.Set("Signature", header)
		}
		p, err := ParseCavage(r)
		if err != nil {
			return
		}
		if p.KeyID == "" || len(p.Signature) == 0 {
			t.Fatalf("accepted %q without a key id or a signature", header)
		}
		for _, h := range []string{"(request-target)", "host", "date"} {
			if !slices.Contains(p.Headers, h) {
				t.Fatalf("accepted %q without %s signed", header, h)
			}
		}
		if post && !slices.Contains(p.Headers, "digest") {
			t.Fatalf("accepted a POST's %q without digest signed", header)
		}
	})
}
