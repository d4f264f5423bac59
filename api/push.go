package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/passerelle/passerelle/push"
	"github.com/passerelle/passerelle/storage"
)

// Web Push, as Mastodon: each access token (with the push scope) may have
// one subscription, to which package push sends the notifications its
// alerts and policy select.

var errNoPush = &apiError{http.StatusServiceUnavailable, "Web Push is not available on this server"}

func (s *Server) pushRoutes(handle func(string, http.HandlerFunc)) {
	handle("POST /api/v1/push/subscription", s.user("push", s.createPushSubscription))
	handle("GET /api/v1/push/subscription", s.user("push", s.getPushSubscription))
	handle("PUT /api/v1/push/subscription", s.user("push", s.updatePushSubscription))
	handle("DELETE /api/v1/push/subscription", s.user("push", s.deletePushSubscription))
}

// WebPushSubscription is Mastodon's entity.
type WebPushSubscription struct {
	ID        string          `json:"id"`
	Endpoint  string          `json:"endpoint"`
	Standard  bool            `json:"standard"`
	Alerts    map[string]bool `json:"alerts"`
	Policy    string          `json:"policy"`
	ServerKey string          `json:"server_key"`
}

func (s *Server) pushEntity(sub storage.PushSubscription) WebPushSubscription {
	out := WebPushSubscription{ID: strconv.FormatInt(sub.ID, 10), Endpoint: sub.Endpoint, Standard: true,
		Alerts: map[string]bool{}, Policy: sub.Policy, ServerKey: s.push.ServerKey()}
	for _, a := range push.Alerts {
		out.Alerts[a] = false
	}
	for _, a := range sub.Alerts {
		out.Alerts[a] = true
	}
	return out
}

// nested reads a nested parameter: a[b][c] in a form, {"a":{"b":{"c":…}}}
// in JSON.
func nested(p *params, path ...string) (string, bool) {
	if raw, ok := p.json[path[0]]; ok {
		for _, k := range path[1:] {
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) != nil {
				return "", false
			}
			if raw, ok = m[k]; !ok {
				return "", false
			}
		}
		return jsonScalar(raw)
	}
	key := path[0]
	for _, k := range path[1:] {
		key += "[" + k + "]"
	}
	return p.get(key)
}

// pushData reads data[alerts][...] and data[policy] (or policy).
func pushData(p *params) ([]string, string, error) {
	var alerts []string
	for _, a := range push.Alerts {
		if v, ok := nested(p, "data", "alerts", a); ok && boolParam(v) {
			alerts = append(alerts, a)
		}
	}
	policy, ok := nested(p, "data", "policy")
	if !ok {
		policy = p.str("policy") // where masto.js puts it
	}
	policy, err := push.CheckData(alerts, policy)
	return alerts, policy, pushError(err)
}

// pushError maps a refused subscription to 422.
func pushError(err error) error {
	var ie *push.InvalidError
	if errors.As(err, &ie) {
		return unprocessable(ie.Msg)
	}
	return err
}

func (s *Server) createPushSubscription(w http.ResponseWriter, r *http.Request, c *caller) {
	if s.push == nil {
		s.fail(w, r, errNoPush)
		return
	}
	p, err := parseParams(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	endpoint, _ := nested(p, "subscription", "endpoint")
	p256dh, _ := nested(p, "subscription", "keys", "p256dh")
	auth, _ := nested(p, "subscription", "keys", "auth")
	if err := s.push.CheckSubscription(endpoint, p256dh, auth); err != nil {
		s.fail(w, r, pushError(err))
		return
	}
	alerts, policy, err := pushData(p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sub, err := s.store.PutPushSubscription(r.Context(), storage.PushSubscription{TokenID: c.token.ID, Account: c.name,
		Endpoint: endpoint, P256dh: p256dh, Auth: auth, Alerts: alerts, Policy: policy, CreatedAt: s.now().UTC()})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.pushEntity(sub))
}

func (s *Server) getPushSubscription(w http.ResponseWriter, r *http.Request, c *caller) {
	if s.push == nil {
		s.fail(w, r, errNotFound)
		return
	}
	sub, err := s.store.GetPushSubscription(r.Context(), c.token.ID)
	if errors.Is(err, storage.ErrNotFound) {
		err = errNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.pushEntity(sub))
}

// updatePushSubscription replaces the alerts and the policy (alerts not
// given are off, as in Mastodon).
func (s *Server) updatePushSubscription(w http.ResponseWriter, r *http.Request, c *caller) {
	if s.push == nil {
		s.fail(w, r, errNotFound)
		return
	}
	p, err := parseParams(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	alerts, policy, err := pushData(p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sub, err := s.store.UpdatePushSubscriptionData(r.Context(), c.token.ID, alerts, policy)
	if errors.Is(err, storage.ErrNotFound) {
		err = errNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.pushEntity(sub))
}

func (s *Server) deletePushSubscription(w http.ResponseWriter, r *http.Request, c *caller) {
	if _, err := s.store.DeletePushSubscription(r.Context(), c.token.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
