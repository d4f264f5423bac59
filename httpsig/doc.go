// Package httpsig owns HTTP signatures as ActivityPub servers use them, in
// both specs, and the key formats their actors publish:
//
//   - draft-cavage-http-signatures-12 (Signature with keyId; what every
//     server verifies): ParseCavage, CheckDate, CheckDigest (RFC 3230
//     Digest), VerifyCavage, Signer.SignCavage;
//   - RFC 9421 HTTP Message Signatures (Signature-Input and Signature):
//     ParseRFC9421, CheckContentDigest (RFC 9530), Verifier.VerifyRFC9421,
//     Signer.SignRFC9421;
//   - either, chosen by the headers a request carries or by the caller:
//     IsSigned, ParseSignature, Verifier.Check (every check that needs no
//     key, so an inbox refuses a request before fetching one),
//     Verifier.Verify, Signer.Sign;
//   - keys: ParsePublicKeyPEM (SPKI and PKCS#1 PEM, RSA or Ed25519, as in
//     publicKeyPem), ParseMultikey (FEP-521a, as in assertionMethod's
//     publicKeyMultibase) and Multikey (its inverse), PublicKeyPEM,
//     ParsePrivateKeyPEM, GenerateKeyPair (RSA-2048) and
//     GenerateEd25519KeyPair (PKCS#8 and SPKI PEM).
//
// Every refusal is a *SignatureError of one of the Err* kinds, the same
// for both specs, with a client-safe Reason and the HTTP status to answer.
//
// Interoperability: what SignCavage emits ("(request-target) host date"
// and "digest" with a body, algorithm rsa-sha256) is what Mastodon,
// GoToSocial, Misskey, Pleroma and Fedify verify; what VerifyCavage
// accepts includes hs2019 and signatures of the path alone when the
// request has a query (GoToSocial, Mastodon). What SignRFC9421 emits is
// what Mastodon 4.5 (which requires @method, @target-uri, created and a
// signed sha-256 Content-Digest on POST, and reads only one signature) and
// Fedify verify; what ParseRFC9421 accepts includes what Fedify sends
// ("sig1" covering "@method" "@target-uri" "@authority" "host" "date" and,
// with a body, "content-digest"; alg, keyid and created, no expires).
//
// This package is a leaf: it must not import storage, federation or any
// other package of this project, and knows nothing of actors, key fetching,
// which spec a host speaks or persistence. Keys are passed in; nothing here
// keeps state, so every function is safe for concurrent use.
package httpsig
