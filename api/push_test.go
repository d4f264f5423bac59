package api_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/push"
	"github.com/passerelle/passerelle/storage"
)

// withPush gives the env's API a push service.
func withPush(t *testing.T) envOptions {
	return envOptions{push: func(store storage.Store, base string) *push.Service {
		p, err := push.New(context.Background(), push.Settings{BaseURL: base, AllowPrivateNetworks: true}, store, http.DefaultClient, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}}
}

func browserKeys(t *testing.T) (string, string) {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(secret)
}

// TestPushSubscriptionLifecycle: Mastodon's subscribe, read, change and
// unsubscribe, in JSON (masto.js) and in forms (Rails-style keys), one
// subscription per token.
func TestPushSubscriptionLifecycle(t *testing.T) {
	e := newEnv(t, withPush(t))
	p := e.push
	tok := e.token(t, "news", "read write push")
	other := e.token(t, "news", "push")
	p256dh, auth := browserKeys(t)

	if r := e.get(t, "/api/v1/push/subscription", tok); r.code != http.StatusNotFound {
		t.Fatalf("GET before subscribing: %d %s", r.code, r.body)
	}
	r := e.jsonBody(t, http.MethodPost, "/api/v1/push/subscription", tok, map[string]any{
		"subscription": map[string]any{"endpoint": "https://push.example/send/abc", "keys": map[string]any{"p256dh": p256dh, "auth": auth}},
		"data":         map[string]any{"alerts": map[string]any{"mention": true, "favourite": "true", "reblog": false, "admin.sign_up": true}, "policy": "follower"},
	})
	if r.code != http.StatusOK {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}
	sub := r.json(t)
	alerts, _ := sub["alerts"].(map[string]any)
	if sub["endpoint"] != "https://push.example/send/abc" || sub["policy"] != "follower" || sub["server_key"] != p.ServerKey() ||
		sub["standard"] != true || alerts["mention"] != true || alerts["favourite"] != true || alerts["reblog"] != false ||
		alerts["admin.sign_up"] != true || alerts["follow"] != false || alerts["quote"] != false {
		t.Fatalf("POST answered %s", r.body)
	}
	id := sub["id"]

	// The other token has none of its own.
	if r := e.get(t, "/api/v1/push/subscription", other); r.code != http.StatusNotFound {
		t.Fatalf("GET with another token: %d %s", r.code, r.body)
	}
	// PUT replaces the alerts (those not given are off) and the policy.
	r = e.form(t, http.MethodPut, "/api/v1/push/subscription", tok, url.Values{"data[alerts][follow]": {"1"}, "data[policy]": {"all"}})
	if r.code != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.code, r.body)
	}
	got := r.json(t)
	alerts, _ = got["alerts"].(map[string]any)
	if got["id"] != id || got["policy"] != "all" || alerts["follow"] != true || alerts["mention"] != false {
		t.Fatalf("PUT answered %s", r.body)
	}
	if r := e.get(t, "/api/v1/push/subscription", tok); r.code != http.StatusOK || r.json(t)["endpoint"] != "https://push.example/send/abc" {
		t.Fatalf("GET: %d %s", r.code, r.body)
	}
	// A second POST replaces it (form keys this time).
	r = e.form(t, http.MethodPost, "/api/v1/push/subscription", tok, url.Values{
		"subscription[endpoint]": {"https://push.example/send/def"}, "subscription[keys][p256dh]": {p256dh},
		"subscription[keys][auth]": {auth}, "data[alerts][mention]": {"true"}})
	if r.code != http.StatusOK || r.json(t)["endpoint"] != "https://push.example/send/def" || r.json(t)["policy"] != "all" {
		t.Fatalf("second POST: %d %s", r.code, r.body)
	}
	subs, err := e.store.ListPushSubscriptions(context.Background(), "news", time.Now())
	if err != nil || len(subs) != 1 {
		t.Fatalf("%d subscriptions stored (%v), want one per token", len(subs), err)
	}
	if r := e.do(t, request{method: http.MethodDelete, path: "/api/v1/push/subscription", token: tok}); r.code != http.StatusOK {
		t.Fatalf("DELETE: %d %s", r.code, r.body)
	}
	if r := e.get(t, "/api/v1/push/subscription", tok); r.code != http.StatusNotFound {
		t.Fatalf("GET after DELETE: %d %s", r.code, r.body)
	}
}

// TestPushSubscriptionRefused: bad input answers Mastodon-style errors
// and stores nothing.
func TestPushSubscriptionRefused(t *testing.T) {
	e := newEnv(t, withPush(t))
	tok := e.token(t, "news", "read write push")
	noPush := e.token(t, "news", "read write")
	p256dh, auth := browserKeys(t)
	body := func(endpoint, p, a string, data map[string]any) map[string]any {
		return map[string]any{"subscription": map[string]any{"endpoint": endpoint, "keys": map[string]any{"p256dh": p, "auth": a}}, "data": data}
	}
	tests := []struct {
		name  string
		token string
		body  map[string]any
		code  int
	}{
		{"without the push scope", noPush, body("https://push.example/a", p256dh, auth, nil), http.StatusForbidden},
		{"not https", tok, body("http://push.example/a", p256dh, auth, nil), http.StatusUnprocessableEntity},
		{"a private address", tok, body("https://192.168.1.10/a", p256dh, auth, nil), http.StatusUnprocessableEntity},
		{"an IPv6 private address", tok, body("https://[fd00::1]/a", p256dh, auth, nil), http.StatusUnprocessableEntity},
		{"bad keys", tok, body("https://push.example/a", "abc", auth, nil), http.StatusUnprocessableEntity},
		{"no secret", tok, body("https://push.example/a", p256dh, "", nil), http.StatusUnprocessableEntity},
		{"an unknown policy", tok, body("https://push.example/a", p256dh, auth, map[string]any{"policy": "friends"}), http.StatusUnprocessableEntity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.jsonBody(t, http.MethodPost, "/api/v1/push/subscription", tc.token, tc.body)
			if r.code != tc.code || r.errorText(t) == "" {
				t.Fatalf("%d %s, want %d with an error", r.code, r.body, tc.code)
			}
			subs, err := e.store.ListPushSubscriptions(context.Background(), "news", time.Now())
			if err != nil || len(subs) != 0 {
				t.Fatalf("%d subscriptions stored after a refusal", len(subs))
			}
		})
	}
	if r := e.form(t, http.MethodPut, "/api/v1/push/subscription", tok, url.Values{"data[policy]": {"all"}}); r.code != http.StatusNotFound {
		t.Errorf("PUT without a subscription: %d %s", r.code, r.body)
	}
}
