package httpsig

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mr-tron/base58"
)

// Test vectors of FEP-521a (fep-521a.feature): the raw Ed25519 key and the
// PKCS#1 DER RSA key, and their publicKeyMultibase.
const (
	fepEd25519Hex       = "2e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6"
	fepEd25519Multibase = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	fepRSAHex           = "3082010a0282010100b1b5fcd8d4d5e88ca5c4287b31f578865caf6a78826a3b8ff7b1b23aa4af4e6a0474139f945bd9d3a911ffd0fa72db78e4593a86c91f9da836186ebd3402d51f6a3844247ab5088b46929c311b43604fed84499f06f0f39bf55590e2187f1bbe229ba8f49fd2e570cd0e3733c76bfede80e1e7e0881e4538ea1bc5782be9512f8bf132526e05f4923564fe6e1e21bf7087adebb660fa533fca06d0a8e66991e1312d70b64a61da8ca77c028cdf939601e2cffe2855759b1d479f0847bcac59d7d62427a431d4e3dfd2697428b9dd6309a7b1167db99fe01af1ff1b739566fb949e47089d1dae84aef1214ef7f5773e86a0d3e9da246f9bec09d60c705891183d0203010001"
	fepRSAMultibase     = "z4MXj1wBzi9jUstyPMS4jQqB6KdJaiatPkAtVtGc6bQEQEEsKTic4G7Rou3iBf9vPmT5dbkm9qsZsuVNjq8HCuW1w24nhBFGkRE4cd2Uf2tfrB3N7h4mnyPp1BF3ZttHTYv3DLUPi1zMdkULiow3M1GfXkoC6DoxDUm1jmN6GBj22SjVsr6dxezRVQc7aj9TxE7JLbMH1wh5X3kA58H3DFW8rnYMakFGbca5CB2Jf6CnGQZmL7o5uJAdTwXfy2iiiyPxXEGerMhHwhjTA1mKYobyk2CpeEcmvynADfNZ5MBvcCS7m3XkFCMNUYBS9NQ3fze6vMSUPsNa6GVYmKx2x6JrdEjCk3qRMMmyjnjCMfR4pXbRMZa3i"
)

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestParseMultikey(t *testing.T) {
	fepRSA, err := x509.ParsePKCS1PublicKey(mustHex(t, fepRSAHex))
	if err != nil {
		t.Fatal(err)
	}
	// Fedify's own test pairs (packages/vocab-runtime/src/key.test.ts): a
	// multibase value and the same key as SPKI PEM.
	fedifyEd25519 := publicKeyFile(t, "keys/fedify-ed25519.pem")
	fedifyRSA := publicKeyFile(t, "keys/fedify-rsa.pem")
	fedifyRSAMultibase := strings.TrimSpace(readFile(t, "keys/fedify-rsa.multibase"))

	tests := []struct {
		name  string
		value string
		want  any // ed25519.PublicKey, *rsa.PublicKey, or nil for an error
	}{
		{"FEP-521a Ed25519", fepEd25519Multibase, ed25519.PublicKey(mustHex(t, fepEd25519Hex))},
		{"FEP-521a RSA", fepRSAMultibase, fepRSA},
		{"Fedify Ed25519", "z6MksHj1MJnidCtDiyYW9ugNFftoX9fLK4bornTxmMZ6X7vq", fedifyEd25519},
		{"Fedify RSA", fedifyRSAMultibase, fedifyRSA},
		{"empty", "", nil},
		{"no prefix", fepEd25519Multibase[1:], nil},
		{"base64url prefix", "u7QE", nil},
		{"base58 with a 0", "z6Mkha0gBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", nil},
		{"Ed25519 one byte short", "z" + base58.Encode(append([]byte{0xed, 0x01}, make([]byte, 31)...)), nil},
		{"Ed25519 one byte long", "z" + base58.Encode(append([]byte{0xed, 0x01}, make([]byte, 33)...)), nil},
		{"P-256 key", "z" + base58.Encode(append([]byte{0x80, 0x24}, make([]byte, 33)...)), nil},
		{"non-minimal varint", "z" + base58.Encode(append([]byte{0xed, 0x81, 0x00}, make([]byte, 32)...)), nil},
		{"prefix only", "z" + base58.Encode([]byte{0xed}), nil},
		{"RSA not DER", "z" + base58.Encode(append([]byte{0x85, 0x24}, []byte("not DER")...)), nil},
		{"too long", "z" + strings.Repeat("1", maxMultikeyLen), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMultikey(tt.value)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("no error; got %T", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch w := tt.want.(type) {
			case ed25519.PublicKey:
				if g, ok := got.(ed25519.PublicKey); !ok || !g.Equal(w) {
					t.Fatalf("got %T %x, want %x", got, got, w)
				}
			case *rsa.PublicKey:
				if g, ok := got.(*rsa.PublicKey); !ok || !g.Equal(w) {
					t.Fatalf("got %T, want the RSA key", got)
				}
			}
		})
	}
}

// TestMultikey: encoding a key gives back the published vectors (FEP-521a,
// Fedify's), and what it encodes parses back to the same key.
func TestMultikey(t *testing.T) {
	fepRSA, err := x509.ParsePKCS1PublicKey(mustHex(t, fepRSAHex))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  crypto.PublicKey
		want string // "" for an error
	}{
		{"FEP-521a Ed25519", ed25519.PublicKey(mustHex(t, fepEd25519Hex)), fepEd25519Multibase},
		{"FEP-521a RSA", fepRSA, fepRSAMultibase},
		{"Fedify Ed25519", publicKeyFile(t, "keys/fedify-ed25519.pem"), "z6MksHj1MJnidCtDiyYW9ugNFftoX9fLK4bornTxmMZ6X7vq"},
		{"Fedify RSA", publicKeyFile(t, "keys/fedify-rsa.pem"), strings.TrimSpace(readFile(t, "keys/fedify-rsa.multibase"))},
		{"Ed25519 one byte short", ed25519.PublicKey(make([]byte, 31)), ""},
		{"nil RSA key", (*rsa.PublicKey)(nil), ""},
		{"a private key", ed25519.PrivateKey(make([]byte, 64)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Multikey(tt.key)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("no error; got %q", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Multikey = %q, %v; want %q", got, err, tt.want)
			}
			back, err := ParseMultikey(got)
			if err != nil {
				t.Fatal(err)
			}
			if eq, ok := back.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(tt.key) {
				t.Errorf("ParseMultikey(Multikey(k)) = %T, not k", back)
			}
		})
	}
}

func TestGenerateEd25519KeyPair(t *testing.T) {
	privPEM, pubPEM, err := GenerateEd25519KeyPair()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKeyPEM(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	ek, ok := priv.(ed25519.PrivateKey)
	if !ok {
		t.Fatalf("private key is a %T, want an Ed25519 key", priv)
	}
	if !ek.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatal("the public key does not match the private key")
	}
}

func readFile(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestPublicKeyPEM(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr bool
	}{
		{"RSA SPKI (Mastodon publicKeyPem)", "keys/fedify-rsa.pem", false},
		{"RSA PKCS#1", "keys/fedify-rsa-pkcs1.pem", false},
		{"RSA PKCS#1, RFC 9421 test-key-rsa", "rfc9421/test-key-rsa.pub.pem", false},
		{"Ed25519 SPKI", "keys/fedify-ed25519.pem", false},
		{"Ed25519 SPKI, RFC 9421 test-key-ed25519", "rfc9421/test-key-ed25519.pub.pem", false},
		{"ECDSA P-256 SPKI", "keys/ecdsa-p256.pem", true},
		{"private key", "rfc9421/test-key-ed25519.priv.pem", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParsePublicKeyPEM(readFile(t, tt.file))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error; got %T", k)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Stored uniformly as SPKI: encode, parse again, same key.
			s, err := PublicKeyPEM(k)
			if err != nil {
				t.Fatal(err)
			}
			if block, _ := pem.Decode([]byte(s)); block == nil || block.Type != "PUBLIC KEY" {
				t.Fatalf("PublicKeyPEM = %q", s)
			}
			k2, err := ParsePublicKeyPEM(s)
			if err != nil {
				t.Fatal(err)
			}
			if !k2.(interface{ Equal(x crypto.PublicKey) bool }).Equal(k) {
				t.Fatal("key changed through PublicKeyPEM")
			}
		})
	}

	// PKCS#1 and SPKI forms of Fedify's RSA key are the same key.
	a, _ := ParsePublicKeyPEM(readFile(t, "keys/fedify-rsa.pem"))
	b, _ := ParsePublicKeyPEM(readFile(t, "keys/fedify-rsa-pkcs1.pem"))
	if a == nil || !a.(*rsa.PublicKey).Equal(b) {
		t.Fatal("PKCS#1 and SPKI forms differ")
	}

	for _, bad := range []string{"", "not PEM", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"} {
		if _, err := ParsePublicKeyPEM(bad); err == nil {
			t.Errorf("ParsePublicKeyPEM(%q): no error", bad)
		}
	}
	for _, bad := range []any{nil, ed25519.PublicKey{1, 2}, (*rsa.PublicKey)(nil), "key"} {
		if _, err := PublicKeyPEM(bad); err == nil {
			t.Errorf("PublicKeyPEM(%#v): no error", bad)
		}
	}
}

func TestGenerateKeyPair(t *testing.T) {
	privPEM, pubPEM, err := GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(privPEM, "-----BEGIN PRIVATE KEY-----") || !strings.HasPrefix(pubPEM, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("unexpected PEM types:\n%s\n%s", privPEM, pubPEM)
	}
	priv, err := ParsePrivateKeyPEM(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	rk, ok := priv.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("private key is a %T, want an RSA key", priv)
	}
	if rk.N.BitLen() != 2048 || !rk.PublicKey.Equal(pub) {
		t.Fatalf("key size %d, public key matches: %v", rk.N.BitLen(), rk.PublicKey.Equal(pub))
	}
}

func TestParseKeyPEM(t *testing.T) {
	key, _ := cavageKeys(t)
	ed := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	edPKCS8, _ := x509.MarshalPKCS8PrivateKey(ed)
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
			got, err := ParsePublicKeyPEM(tt.pem)
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
		want      interface{ Equal(crypto.PrivateKey) bool } // nil: an error
	}{
		{"PKCS#8", enc("PRIVATE KEY", pkcs8), key},
		{"PKCS#1", enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), key},
		{"Ed25519 PKCS#8", enc("PRIVATE KEY", edPKCS8), ed},
		{"EC key", enc("PRIVATE KEY", ecPKCS8), nil},
		{"public key", enc("PUBLIC KEY", spki), nil},
		{"garbage", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", nil},
	}
	for _, tt := range privateTests {
		t.Run("private "+tt.name, func(t *testing.T) {
			got, err := ParsePrivateKeyPEM(tt.pem)
			if ok := tt.want != nil; ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, ok)
			}
			if tt.want != nil && !tt.want.Equal(got) {
				t.Fatal("parsed a different key")
			}
		})
	}
}
