package push

import (
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
)

// Alerts are Mastodon's alert names, in the order its entity lists them.
// "quote" and "quoted_update" are Mastodon 4.5's.
var Alerts = []string{"mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
	"admin.sign_up", "admin.report", "quote", "quoted_update"}

// Policies are Mastodon's push policies.
var Policies = []string{storage.PushPolicyAll, storage.PushPolicyFollowed, storage.PushPolicyFollower, storage.PushPolicyNone}

// InvalidError is what a client subscribed with that cannot be used
// (the client API answers 422 with its message).
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalid(format string, a ...any) error { return &InvalidError{fmt.Sprintf(format, a...)} }

// CheckSubscription validates what a client subscribes with: the
// endpoint must be an https URL whose host is not a private, loopback or
// otherwise non-public address (with AllowPrivateNetworks, loopback is
// accepted, with http too, for tests; private networks never are), p256dh an uncompressed P-256
// public key and auth a 16-byte secret (both base64url, as browsers give
// them). Host names are checked again when the push is sent, on the
// address connected to (safehttp).
func (s *Service) CheckSubscription(endpoint, p256dh, auth string) error {
	if endpoint == "" {
		return invalid("Validation failed: Endpoint can't be blank")
	}
	if len(endpoint) > 2048 {
		return invalid("Validation failed: Endpoint is too long")
	}
	u, err := safehttp.CheckURL(endpoint, true) // the form; the address below
	if err != nil {
		return invalid("Validation failed: Endpoint is not a valid URL")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	local := host == "localhost" || strings.HasSuffix(host, ".localhost")
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		local = true
	}
	_, err = safehttp.CheckURL(endpoint, false)
	forbidden := errors.Is(err, safehttp.ErrForbiddenAddress) || local
	// Loopback only, and only for tests: never the private networks.
	if forbidden && !(local && s.set.AllowPrivateNetworks) {
		return invalid("Validation failed: Endpoint is on a private or non-public address")
	}
	if u.Scheme != "https" && !(local && s.set.AllowPrivateNetworks) {
		return invalid("Validation failed: Endpoint must use https")
	}
	key, err := decodeKey(p256dh)
	if err != nil || len(key) != 65 {
		return invalid("Validation failed: Keys p256dh must be an uncompressed P-256 public key (base64url)")
	}
	if _, err := ecdh.P256().NewPublicKey(key); err != nil {
		return invalid("Validation failed: Keys p256dh is not a point of P-256")
	}
	secret, err := decodeKey(auth)
	if err != nil || len(secret) != 16 {
		return invalid("Validation failed: Keys auth must be 16 bytes (base64url)")
	}
	return nil
}

// CheckData validates alerts (known names only) and a policy (empty:
// all); it returns the policy to store.
func CheckData(alerts []string, policy string) (string, error) {
	for _, a := range alerts {
		if !slices.Contains(Alerts, a) {
			return "", invalid("Validation failed: unknown alert %q", a)
		}
	}
	if policy == "" {
		return storage.PushPolicyAll, nil
	}
	if !slices.Contains(Policies, policy) {
		return "", invalid("Validation failed: policy must be one of %s", strings.Join(Policies, ", "))
	}
	return policy, nil
}

// decodeKey reads base64url (or standard base64), padded or not.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}
