package httpsig

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readWire reads a request in wire form the way net/http's server does,
// so RequestURI, Host and headers are what an inbox handler sees.
func readWire(tb testing.TB, wire []byte) (*http.Request, []byte) {
	tb.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire)))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return r, body
}

// readWireFile reads a request fixture from testdata.
func readWireFile(tb testing.TB, name string) (*http.Request, []byte) {
	tb.Helper()
	wire, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return readWire(tb, wire)
}

// toServer serialises a client request to the wire and reads it back as a
// server would.
func toServer(tb testing.TB, r *http.Request) (*http.Request, []byte) {
	tb.Helper()
	var wire bytes.Buffer
	if err := r.Write(&wire); err != nil {
		tb.Fatal(err)
	}
	return readWire(tb, wire.Bytes())
}

// editWire applies string replacements to the wire form of a request.
func editWire(tb testing.TB, r *http.Request, body []byte, oldnew ...string) (*http.Request, []byte) {
	tb.Helper()
	var wire bytes.Buffer
	// Write a server request back as a client one would send it.
	c := r.Clone(r.Context())
	c.RequestURI = ""
	c.Body = io.NopCloser(bytes.NewReader(body))
	c.ContentLength = int64(len(body))
	if err := c.Write(&wire); err != nil {
		tb.Fatal(err)
	}
	s := wire.String()
	for i := 0; i+1 < len(oldnew); i += 2 {
		if !strings.Contains(s, oldnew[i]) {
			tb.Fatalf("wire form has no %q:\n%s", oldnew[i], s)
		}
		s = strings.Replace(s, oldnew[i], oldnew[i+1], 1)
	}
	return readWire(tb, []byte(s))
}

func publicKeyFile(tb testing.TB, name string) crypto.PublicKey {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	k, err := ParsePublicKeyPEM(string(b))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func privateKeyFile(tb testing.TB, name string) crypto.Signer {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		tb.Fatalf("%s: no PEM block", name)
	}
	var k any
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return k.(crypto.Signer)
}

// testKeys are the RFC 9421 example keys (never to be used for anything
// but tests), and an Ed25519 key of our own as a wrong key.
type testKeys struct {
	rsa, ed25519 crypto.Signer
	otherRSA     crypto.PublicKey // test-key-rsa-pss: another RSA key
	otherEd25519 ed25519.PublicKey
}

func loadTestKeys(tb testing.TB) testKeys {
	tb.Helper()
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	return testKeys{
		rsa:          privateKeyFile(tb, "rfc9421/test-key-rsa.priv.pem"),
		ed25519:      privateKeyFile(tb, "rfc9421/test-key-ed25519.priv.pem"),
		otherRSA:     publicKeyFile(tb, "rfc9421/test-key-rsa-pss.pub.pem"),
		otherEd25519: other.Public().(ed25519.PublicKey),
	}
}

// wantKind fails unless err is a *SignatureError of the given kind (nil
// kind: no error).
func wantKind(t *testing.T, err, kind error) {
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
	var se *SignatureError
	if !errors.As(err, &se) || se.Reason == "" {
		t.Fatalf("error %v is not a *SignatureError with a reason", err)
	}
}

// ecdsaSigner is a key of a type this package does not support.
func ecdsaSigner(tb testing.TB) crypto.Signer {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
