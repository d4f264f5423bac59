package federation

import (
	"errors"
	"net/http"
	"time"

	"github.com/passerelle/passerelle/jobs"
)

// Observer is told what federation does, for metrics (package metrics
// implements it). Its methods are called on hot paths: they must be fast
// and safe for concurrent use.
type Observer interface {
	// Inbound is called once per inbound activity with its type ("" when
	// the body could not be decoded) and its outcome as logged: what it
	// did ("followed", "unfollowed", "pending approval", "duplicate",
	// "ignored"...), "rejected" (4xx) or "error" (5xx).
	Inbound(typ, outcome string)
	// SignatureFailure is called when an inbound request is refused for its
	// signature (missing, stale, bad digest, unverifiable, signer not the
	// actor), with the client-safe reason.
	SignatureFailure(reason string)
	// Delivery is called after each delivery attempt with its outcome
	// ("delivered", "gone", "failed", "retry") and how long it took.
	Delivery(outcome string, took time.Duration)
	// Signed is called for every signature this process makes on an
	// outgoing request (deliveries and signed GETs), with its spec
	// ("draft-cavage", "rfc9421") and algorithm ("rsa", "ed25519"): the
	// costliest step of a delivery, counted so that its share can be
	// measured (bench/fanout reads it as signatures per server).
	Signed(spec, alg string)
}

type nopObserver struct{}

func (nopObserver) Inbound(string, string)         {}
func (nopObserver) SignatureFailure(string)        {}
func (nopObserver) Delivery(string, time.Duration) {}
func (nopObserver) Signed(string, string)          {}

func (s *Service) observe() Observer {
	if s.observer == nil {
		return nopObserver{}
	}
	return s.observer
}

// observeInbound reports one inbound activity: its outcome and, for a 401,
// the signature failure.
func (s *Service) observeInbound(typ, outcome string, code int, reason string) {
	o := s.observe()
	o.Inbound(typ, outcome)
	if code == http.StatusUnauthorized {
		o.SignatureFailure(reason)
	}
}

// deliveryOutcome names the result of one delivery attempt for Observer.
func deliveryOutcome(err error) string {
	switch {
	case err == nil:
		return "delivered"
	case errors.As(err, new(*goneError)):
		return "gone"
	case jobs.IsPermanent(err):
		return "failed"
	}
	return "retry"
}
