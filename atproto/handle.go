package atproto

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/passerelle/passerelle/hostport"
)

// The institution's domain as its Bluesky handle. A handle is verified by
// resolving it to the account's DID: a DNS TXT record _atproto.<handle>
// ("did=did:plc:..."), or GET https://<handle>/.well-known/atproto-did
// answering the DID as text/plain. The bridge serves the latter for each
// mirrored account's handle (bluesky.handle, by default the handle domain):
// the request's Host names the account. When the handle's domain is not
// the bridge's own host (federation.account_domain), that domain's server
// must pass /.well-known/atproto-did on to the bridge (a proxy, keeping the
// Host header), or carry the DNS record instead.

// WellKnownDID serves GET /.well-known/atproto-did: the DID of the
// mirrored account whose handle is the request's host, or 404.
func (m *Mirror) WellKnownDID(w http.ResponseWriter, r *http.Request) {
	host := hostport.Key(r.Host)
	for _, a := range m.accounts {
		if a.Handle != host {
			continue
		}
		did := m.DID(r.Context(), a.Username)
		if did == "" {
			break
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=300")
		fmt.Fprint(w, did.String())
		return
	}
	http.Error(w, "no Bluesky account has this domain as handle", http.StatusNotFound)
}

// resolveHandleLive resolves a handle as the AT Protocol network does
// (DNS TXT, then HTTPS well-known), through the SSRF-safe client.
func (m *Mirror) resolveHandleLive(ctx context.Context, handle string) (syntax.DID, error) {
	h, err := syntax.ParseHandle(handle)
	if err != nil {
		return "", err
	}
	dir := &identity.BaseDirectory{HTTPClient: *m.set.HTTPClient, TryAuthoritativeDNS: true}
	return dir.ResolveHandle(ctx, h)
}

// HandleResult is what SwitchHandle did.
type HandleResult struct {
	DID       syntax.DID
	Handle    string // the handle switched to
	Unchanged bool   // the account already had it
}

// SwitchHandle makes the account's handle on Bluesky its domain
// (com.atproto.identity.updateHandle), after checking that the domain
// resolves to the account's DID: without that the PDS would refuse it, and
// Bluesky would show the account as "invalid handle".
func (m *Mirror) SwitchHandle(ctx context.Context, username string) (HandleResult, error) {
	a := m.accounts[lower(username)]
	if a == nil {
		return HandleResult{}, fmt.Errorf("atproto: account %s is not mirrored to Bluesky", username)
	}
	handle := a.Handle
	if _, err := syntax.ParseHandle(handle); err != nil {
		return HandleResult{}, fmt.Errorf("atproto: %q is not a valid handle: %w", handle, err)
	}
	c, err := m.client(ctx, a)
	if err != nil {
		return HandleResult{}, err
	}
	did := *c.AccountDID
	res := HandleResult{DID: did, Handle: handle}
	got, err := m.resolveHandle(ctx, handle)
	switch {
	case err != nil:
		return res, fmt.Errorf("%s does not resolve yet (%w): serve https://%s/.well-known/atproto-did with the bridge "+
			"(text/plain %q; the bridge answers it for requests whose Host is %s), or add the DNS TXT record _atproto.%s with \"did=%s\", then try again",
			handle, err, handle, did.String(), handle, handle, did.String())
	case got != did:
		return res, fmt.Errorf("%s resolves to %s, not to this account's DID %s: fix /.well-known/atproto-did or the _atproto TXT record", handle, got, did)
	}
	if s, err := m.store.GetBlueskySession(ctx, a.Username); err == nil && strings.EqualFold(s.Handle, handle) {
		res.Unchanged = true
	}
	err = m.call(ctx, a, func(c *atclient.APIClient) error {
		return comatproto.IdentityUpdateHandle(ctx, c, &comatproto.IdentityUpdateHandle_Input{Handle: handle})
	})
	if err != nil {
		var api *atclient.APIError
		if errors.As(err, &api) {
			return res, fmt.Errorf("the PDS refused the handle %s: %s %s", handle, api.Name, api.Message)
		}
		return res, fmt.Errorf("updateHandle: %w", err)
	}
	if s, err := m.store.GetBlueskySession(ctx, a.Username); err == nil {
		s.Handle, s.UpdatedAt = handle, m.now()
		if err := m.store.PutBlueskySession(ctx, s); err != nil {
			return res, err
		}
	}
	m.log.Info().Str("account", a.Username).Str("handle", handle).Str("did", did.String()).Msg("bluesky: handle switched")
	return res, nil
}

// CheckLogin resumes the account's session (or logs in) and asks the PDS
// whose it is (com.atproto.server.getSession): the handle, for `bridge
// doctor`.
func (m *Mirror) CheckLogin(ctx context.Context, username string) (string, error) {
	a := m.accounts[lower(username)]
	if a == nil {
		return "", fmt.Errorf("atproto: account %s is not mirrored to Bluesky", username)
	}
	var handle string
	err := m.call(ctx, a, func(c *atclient.APIClient) error {
		out, err := comatproto.ServerGetSession(ctx, c)
		if err == nil {
			handle = out.Handle
		}
		return err
	})
	return handle, err
}
