package httpsig

import "crypto"

// Signer signs outgoing requests with one actor's key. It is a value with
// no mutable state: safe for concurrent use.
type Signer struct {
	KeyID string // e.g. https://example.org/users/news#main-key
	// Key is an *rsa.PrivateKey or an ed25519.PrivateKey.
	Key crypto.Signer
}
