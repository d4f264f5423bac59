package atproto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Session tokens are stored sealed with AES-256-GCM. The key is derived
// with HKDF-SHA256 from bluesky.session_key when set, else from the app
// password (the one secret the configuration already holds), with the
// account's name as context, so that a database dump alone does not give
// the tokens away. Changing the app password (or the session key) makes the
// stored tokens unreadable: the next run logs in again, which a new app
// password requires anyway.

// sealer seals and opens an account's tokens.
type sealer struct{ aead cipher.AEAD }

const sealSalt = "passerelle bluesky session v1"

func newSealer(secret, account string) (sealer, error) {
	if secret == "" {
		return sealer{}, errors.New("atproto: no secret to seal the session with")
	}
	key, err := hkdf.Key(sha256.New, []byte(secret), []byte(sealSalt), "account:"+account, 32)
	if err != nil {
		return sealer{}, fmt.Errorf("atproto: derive session key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return sealer{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealer{}, err
	}
	return sealer{aead: aead}, nil
}

// seal returns nonce || ciphertext; an empty token stays empty.
func (s sealer) seal(token string) []byte {
	if token == "" {
		return nil
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(token)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(token), nil)
}

var errUnsealable = errors.New("atproto: stored session cannot be decrypted (app password or session key changed)")

func (s sealer) open(sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return "", errUnsealable
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", errUnsealable
	}
	return string(plain), nil
}
