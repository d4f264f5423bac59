package federation

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// MaxInboxBody is the largest activity the inboxes accept.
const MaxInboxBody = 1 << 20

// inboxError is an inbound activity refused with a status and a short,
// client-safe reason.
type inboxError struct {
	code   int
	reason string
	err    error // internal cause, for the log
}

func (e *inboxError) Error() string {
	if e.err != nil {
		return e.reason + ": " + e.err.Error()
	}
	return e.reason
}

func refuse(code int, reason string, err error) *inboxError {
	return &inboxError{code: code, reason: reason, err: err}
}

// inbox is the per-actor and shared inbox: size, signature (date, digest,
// key, signature, signer = actor), then the activity is applied in one
// transaction and answered 202.
func (s *Service) inbox(w http.ResponseWriter, r *http.Request) {
	adm, ok := s.admitInbox(w, r) // guard.go: refused domains, rate limits, memory
	if !ok {
		return
	}
	defer adm.release()
	start := s.now()
	act, outcome, err := s.receive(r)
	adm.settle(err)
	log := reqlog.Logger(r.Context(), s.log) // the request's req_id on the line
	ev := log.Info()
	code := http.StatusAccepted
	if err != nil {
		var ie *inboxError
		if errors.As(err, &ie) {
			code = ie.code
			ev = s.refusalEvent(r, err).Str("reason", ie.reason) // warn; debug for repeated 429s (guard.go)
			if ie.err != nil {
				ev = ev.AnErr("cause", ie.err)
			}
			outcome = "rejected"
		} else {
			code = http.StatusInternalServerError
			ev = log.Error().Err(err)
			outcome = "error"
		}
	}
	logActivity(ev, r, act).Str("outcome", outcome).Int("status", code).
		Dur("took", s.now().Sub(start)).Msg("inbound activity")
	if err != nil {
		reason := "internal error"
		var ie *inboxError
		if errors.As(err, &ie) {
			reason = ie.reason
		}
		s.observeInbound(act.Type, outcome, code, reason)
		setRetryAfter(w, err)
		writeError(w, code, reason)
		return
	}
	s.observeInbound(act.Type, outcome, code, "")
	w.WriteHeader(http.StatusAccepted)
}

func logActivity(ev *zerolog.Event, r *http.Request, act Activity) *zerolog.Event {
	ev = ev.Str("inbox", r.URL.Path)
	if act.Type != "" {
		ev = ev.Str("type", act.Type).Str("id", act.ID).Str("actor", act.Actor)
		if act.Object.Type != "" {
			ev = ev.Str("object_type", act.Object.Type)
		}
	}
	return ev
}

// receive checks and applies one inbound activity; it returns the outcome
// for the log ("accepted", "duplicate", "ignored"...).
func (s *Service) receive(r *http.Request) (Activity, string, error) {
	ctx := r.Context()
	var target *localActor // nil for the shared inbox
	if name := r.PathValue("name"); name != "" {
		target = s.accounts[strings.ToLower(name)]
		if target == nil {
			return Activity{}, "", refuse(http.StatusNotFound, "no such account", nil)
		}
	}
	if r.ContentLength > MaxInboxBody {
		return Activity{}, "", refuse(http.StatusRequestEntityTooLarge, "body larger than 1 MiB", nil)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxInboxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Activity{}, "", refuse(http.StatusRequestEntityTooLarge, "body larger than 1 MiB", nil)
		}
		return Activity{}, "", refuse(http.StatusBadRequest, "cannot read body", err)
	}

	// Cheap checks first (sigin.go): nothing is fetched for a request
	// that is unsigned, stale, signed for another host or whose body does
	// not match its digest.
	sig, err := s.parseSignature(r, body)
	if err != nil {
		return Activity{}, "", err
	}
	act, err := DecodeActivity(ctx, body)
	if err != nil {
		if IsDecodeError(err) {
			var de *DecodeError
			errors.As(err, &de)
			return Activity{}, "", refuse(http.StatusBadRequest, de.Reason, nil)
		}
		return Activity{}, "", err
	}
	if err := s.gateActivity(sig.KeyID, act); err != nil { // guard.go: before any key fetch
		return act, "", err
	}

	key, err := s.verifiedSigner(ctx, sig, act)
	if err != nil {
		return act, "", err
	}
	if key.Owner == "" {
		// The signer is gone (Delete of an actor we never knew).
		return act, "ignored", nil
	}
	if key.Owner != act.Actor {
		return act, "", refuse(http.StatusUnauthorized, "signer is not the activity's actor", nil)
	}
	outcome, err := s.apply(ctx, target, act)
	if errors.Is(err, storage.ErrUnavailable) {
		err = unavailable(err)
	}
	return act, outcome, err
}

// verifiedSigner fetches (or reads from cache) the key of keyID, verifies
// the request, and returns the key with its owner (a zero value when the
// owner is gone and there is nothing to verify). A cached key that fails
// is refetched once, in case the remote actor rotated it.
func (s *Service) verifiedSigner(ctx context.Context, sig inboundSignature, act Activity) (storage.RemoteKey, error) {
	keyID := sig.KeyID
	key, cached, err := s.remoteKey(ctx, keyID, false)
	if err != nil {
		if act.Type == "Delete" && act.Object.ID == act.Actor && isGone(err) {
			// Mastodon sends Delete of a removed account signed with a key
			// that no longer resolves: nothing to verify, nothing to keep.
			return storage.RemoteKey{}, nil
		}
		return storage.RemoteKey{}, keyError(err) // 401, 429 over the key-fetch budget, 503 (guard.go)
	}
	err = s.verifyWith(sig, key)
	if err != nil && cached {
		if key, _, err = s.remoteKey(ctx, keyID, true); err != nil {
			return storage.RemoteKey{}, keyError(err)
		}
		err = s.verifyWith(sig, key)
	}
	if err != nil {
		return storage.RemoteKey{}, refuse(http.StatusUnauthorized, signatureReason(err), err)
	}
	if sig.Spec == httpsig.SpecRFC9421 {
		s.rememberSpec(hostport.FromURL(keyID), httpsig.SpecRFC9421) // knock.go: it speaks RFC 9421
	}
	return key, nil
}

func (s *Service) verifyWith(sig inboundSignature, key storage.RemoteKey) error {
	pub, err := parseKey(key.PublicKeyPEM)
	if err != nil {
		return err
	}
	return s.verify(sig, pub)
}
