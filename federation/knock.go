package federation

// Outgoing signatures and "double knocking": requests are signed with
// draft-cavage, which every server verifies, except to hosts known to
// accept RFC 9421 (they sent us RFC 9421 signatures, or took one after
// refusing draft-cavage). A request refused with 401 or 400 is sent once
// more with the other spec, and the spec that worked is remembered for
// the host. Fedify does the same, the other way round.

import (
	"crypto/ed25519"
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
	if _, ok := signer.Key.(ed25519.PrivateKey); ok {
		alg = "ed25519"
	}
	s.observe().Signed(string(spec), alg)
	return nil
}
