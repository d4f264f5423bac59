package federation

// Outgoing signatures and "double knocking": requests are signed with
// draft-cavage, which every server verifies, except to hosts known to
// accept RFC 9421 (they sent us RFC 9421 signatures, or took one after
// refusing draft-cavage). A request refused with 401 or 400 is sent once
// more with the other spec, and the spec that worked is remembered for
// the host. Fedify does the same, the other way round.
//
// Deliveries are signed with the actor's Ed25519 key (RFC 9421, alg
// ed25519; a small fraction of an RSA signature's cost) to hosts known to
// verify it, and to hosts that speak RFC 9421 and have not refused it
// yet (a probe: Fedify verifies Ed25519, Mastodon 4.5 verifies RFC 9421
// with RSA only). A host's answer to an Ed25519 signature is remembered
// in storage (hosts.ed25519: accepted, or refused with 401, 400 or 403),
// so each host is probed once; a refused one is sent the same request at
// once signed RSA draft-cavage, and RSA from then on.

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/ratelimit"
)

// maxSpecHosts bounds the hosts whose signature spec is remembered.
const maxSpecHosts = 16_384

// specFor is the spec to sign with for host (host[:port]).
func (s *Service) specFor(host string) httpsig.Spec {
	if spec, ok := s.specs().Get(strings.ToLower(host)); ok {
		return spec
	}
	return httpsig.SpecCavage
}

// rememberSpec records that host accepts spec. Only RFC 9421 is worth
// remembering (draft-cavage is the default), so a host that took
// draft-cavage after refusing RFC 9421 is forgotten.
func (s *Service) rememberSpec(host string, spec httpsig.Spec) {
	if host == "" {
		return
	}
	if spec == httpsig.SpecCavage {
		s.specs().Delete(strings.ToLower(host))
		return
	}
	s.specs().Put(strings.ToLower(host), spec)
}

func (s *Service) specs() *ratelimit.Cache[httpsig.Spec] {
	s.specOnce.Do(func() { s.specHosts = ratelimit.NewCache[httpsig.Spec](maxSpecHosts) })
	return s.specHosts
}

// otherSpec is the spec a refused request is sent again with.
func otherSpec(spec httpsig.Spec) httpsig.Spec {
	if spec == httpsig.SpecRFC9421 {
		return httpsig.SpecCavage
	}
	return httpsig.SpecRFC9421
}

// knockAgain reports whether an answer to a signed request may be a
// refusal of its signature's spec: then it is sent once more, signed with
// the other one.
func knockAgain(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusBadRequest
}

// sign signs an outgoing request with signer in spec and counts the
// signature (Observer.Signed). Every outgoing signature goes through here.
func (s *Service) sign(signer httpsig.Signer, spec httpsig.Spec, r *http.Request, body []byte, now time.Time) error {
	if err := signer.Sign(spec, r, body, now); err != nil {
		return err
	}
	alg := "rsa"
	if isEd25519(signer) {
		alg = "ed25519"
	}
	s.observe().Signed(string(spec), alg)
	return nil
}

// loadEd25519Hosts reads what hosts answered to our Ed25519 signatures.
func (s *Service) loadEd25519Hosts(ctx context.Context) error {
	hosts, err := s.store.ListHostsEd25519(ctx)
	if err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	for h, ok := range hosts {
		s.edHosts.Store(h, ok)
	}
	return nil
}

// deliverySignature picks how a delivery by la to host is signed:
// Ed25519 RFC 9421 to a host known to verify it, or that speaks RFC 9421
// and has not refused it (a probe); otherwise RSA in the spec the host
// takes.
func (s *Service) deliverySignature(la *localActor, host string) (httpsig.Signer, httpsig.Spec) {
	spec := s.specFor(host)
	if la.edSigner.Key == nil {
		return la.signer, spec
	}
	if ok, known := s.edHosts.Load(strings.ToLower(host)); known {
		if ok.(bool) {
			return la.edSigner, httpsig.SpecRFC9421
		}
		return la.signer, spec
	}
	if spec == httpsig.SpecRFC9421 {
		return la.edSigner, httpsig.SpecRFC9421
	}
	return la.signer, spec
}

// isEd25519 reports whether signer signs with an Ed25519 key.
func isEd25519(signer httpsig.Signer) bool {
	_, ok := signer.Key.(ed25519.PrivateKey)
	return ok
}

// edRefused reports whether an answer to an Ed25519-signed request is a
// refusal of the signature.
func edRefused(status int) bool {
	return knockAgain(status) || status == http.StatusForbidden
}

// rememberEd25519 records whether host verifies our Ed25519 signatures,
// in memory and (when it changed) in storage.
func (s *Service) rememberEd25519(ctx context.Context, host string, verifies bool) {
	host = strings.ToLower(host)
	if host == "" {
		return
	}
	if old, known := s.edHosts.Swap(host, verifies); known && old.(bool) == verifies {
		return
	}
	if err := s.store.SetHostEd25519(ctx, host, verifies); err != nil {
		s.log.Error().Err(err).Str("host", host).Msg("record the host's answer to Ed25519 signatures")
		return
	}
	s.log.Info().Str("host", host).Bool("verifies", verifies).Msg("host answered an Ed25519 signature")
}
