package httpsig

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/mr-tron/base58"
	"github.com/multiformats/go-varint"
)

// Multicodec codes of the public keys FEP-521a Multikeys carry.
const (
	multicodecEd25519Pub = 0xed   // raw 32-byte key
	multicodecRSAPub     = 0x1205 // PKCS#1 RSAPublicKey, DER
)

// maxMultikeyLen bounds the input of ParseMultikey: base58 decoding is
// quadratic, and an RSA-8192 key is under 1,500 characters.
const maxMultikeyLen = 2048

// ParseMultikey decodes the publicKeyMultibase of a FEP-521a Multikey:
// base58btc multibase (a 'z' prefix) of a multicodec-prefixed key, either
// Ed25519 (0xed01, 32 bytes; returns an ed25519.PublicKey) or RSA (0x1205,
// PKCS#1 DER; returns an *rsa.PublicKey).
func ParseMultikey(publicKeyMultibase string) (crypto.PublicKey, error) {
	s := publicKeyMultibase
	switch {
	case s == "":
		return nil, errors.New("httpsig: parse multikey: empty value")
	case len(s) > maxMultikeyLen:
		return nil, fmt.Errorf("httpsig: parse multikey: %d characters is too long", len(s))
	case s[0] != 'z':
		return nil, fmt.Errorf("httpsig: parse multikey: multibase prefix %q is not base58btc (z)", s[:1])
	}
	data, err := base58.Decode(s[1:])
	if err != nil {
		return nil, fmt.Errorf("httpsig: parse multikey: %w", err)
	}
	code, n, err := varint.FromUvarint(data)
	if err != nil {
		return nil, fmt.Errorf("httpsig: parse multikey: multicodec prefix: %w", err)
	}
	key := data[n:]
	switch code {
	case multicodecEd25519Pub:
		if len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("httpsig: parse multikey: Ed25519 key of %d bytes", len(key))
		}
		return ed25519.PublicKey(bytes.Clone(key)), nil
	case multicodecRSAPub:
		k, err := x509.ParsePKCS1PublicKey(key)
		if err != nil {
			return nil, fmt.Errorf("httpsig: parse multikey: RSA key: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("httpsig: parse multikey: unsupported multicodec 0x%x", code)
	}
}

// Multikey encodes a public key as the publicKeyMultibase of a FEP-521a
// Multikey, the inverse of ParseMultikey: base58btc multibase ('z') of
// the multicodec-prefixed key, an ed25519.PublicKey (0xed01, raw 32
// bytes) or an *rsa.PublicKey (0x1205, PKCS#1 DER).
func Multikey(pub crypto.PublicKey) (string, error) {
	var (
		code uint64
		key  []byte
	)
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("httpsig: encode multikey: Ed25519 key of %d bytes", len(k))
		}
		code, key = multicodecEd25519Pub, k
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "", errors.New("httpsig: encode multikey: nil RSA key")
		}
		code, key = multicodecRSAPub, x509.MarshalPKCS1PublicKey(k)
	default:
		return "", fmt.Errorf("httpsig: encode multikey: unsupported key type %T", pub)
	}
	return "z" + base58.Encode(append(varint.ToUvarint(code), key...)), nil
}

// PublicKeyPEM encodes an *rsa.PublicKey or an ed25519.PublicKey as SPKI
// ("PUBLIC KEY") PEM, the form actors' publicKeyPem uses and the one to
// store keys in, whatever form they were read from.
func PublicKeyPEM(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "", errors.New("httpsig: encode public key: nil RSA key")
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("httpsig: encode public key: Ed25519 key of %d bytes", len(k))
		}
	default:
		return "", fmt.Errorf("httpsig: encode public key: unsupported key type %T", pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("httpsig: encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParsePublicKeyPEM parses a public key in SPKI ("PUBLIC KEY") PEM, RSA or
// Ed25519, or in PKCS#1 ("RSA PUBLIC KEY") PEM. It returns an
// *rsa.PublicKey or an ed25519.PublicKey; other key types are refused.
func ParsePublicKeyPEM(s string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("httpsig: parse public key: no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("httpsig: parse public key: %w", err)
		}
		switch k := k.(type) {
		case *rsa.PublicKey, ed25519.PublicKey:
			return k, nil
		default:
			return nil, fmt.Errorf("httpsig: parse public key: unsupported key type %T", k)
		}
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("httpsig: parse public key: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("httpsig: parse public key: unexpected PEM type %q", block.Type)
	}
}

// ParsePrivateKeyPEM parses an unencrypted private key in PKCS#8 ("PRIVATE
// KEY") PEM, RSA or Ed25519, or in PKCS#1 ("RSA PRIVATE KEY") PEM. It
// returns an *rsa.PrivateKey or an ed25519.PrivateKey; other key types are
// refused. A caller that signs draft-cavage needs an RSA key: it checks the
// type.
func ParsePrivateKeyPEM(s string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("httpsig: parse private key: no PEM block")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("httpsig: parse private key: %w", err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey, ed25519.PrivateKey:
			return k.(crypto.Signer), nil
		default:
			return nil, fmt.Errorf("httpsig: parse private key: unsupported key type %T", k)
		}
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("httpsig: parse private key: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("httpsig: parse private key: unexpected PEM type %q", block.Type)
	}
}

// GenerateEd25519KeyPair creates an Ed25519 key pair: the private key as
// PKCS#8 PEM, the public key as SPKI PEM (the forms ParsePrivateKeyPEM and
// ParsePublicKeyPEM read). Ed25519 signs RFC 9421 only; its signatures
// cost a small fraction of an RSA-2048 one.
func GenerateEd25519KeyPair() (privPEM, pubPEM string, err error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("httpsig: generate key: %w", err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("httpsig: generate key: %w", err)
	}
	pubPEM, err = PublicKeyPEM(pub)
	if err != nil {
		return "", "", fmt.Errorf("httpsig: generate key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})), pubPEM, nil
}

// GenerateKeyPair creates an RSA-2048 key pair, the kind every server can
// verify in both specs: the private key as PKCS#8 PEM, the public key as
// SPKI PEM (the form Mastodon publishes).
func GenerateKeyPair() (privPEM, pubPEM string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", fmt.Errorf("httpsig: generate key: %w", err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("httpsig: generate key: %w", err)
	}
	pub, err := PublicKeyPEM(&key.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("httpsig: generate key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})), pub, nil
}
