// Package httpsig owns HTTP Message Signatures (RFC 9421) as ActivityPub
// servers use them, and the public-key formats their actors publish.
//
// It parses and checks Signature-Input/Signature headers cheaply, before
// any key is fetched (ParseRFC9421), verifies them against a key the caller
// found (Verifier.VerifyRFC9421), checks Content-Digest (RFC 9530), signs
// outgoing requests (Signer.SignRFC9421), and reads keys in the forms
// actors publish them: SPKI and PKCS#1 PEM (publicKeyPem) and FEP-521a
// Multikeys (assertionMethod's publicKeyMultibase).
//
// Interoperability: what SignRFC9421 emits is what Mastodon 4.5 (which
// requires @method, @target-uri, created and a signed sha-256
// Content-Digest on POST, and reads only one signature) and Fedify verify;
// what ParseRFC9421 accepts includes what Fedify sends ("sig1" covering
// "@method" "@target-uri" "@authority" "host" "date" and, with a body,
// "content-digest"; alg, keyid and created, no expires).
//
// This package is a leaf: it must not import storage, federation or any
// other package of this project, and knows nothing of actors, key fetching
// or persistence. Keys are passed in; nothing here keeps state, so every
// function is safe for concurrent use.
package httpsig
