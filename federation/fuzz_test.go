package federation

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// FuzzParseJRD: a WebFinger answer from anywhere never panics the parser,
// and the actor it yields is an http(s) IRI.
func FuzzParseJRD(f *testing.F) {
	for _, s := range []string{
		`{"subject":"acct:a@b.example","links":[{"rel":"self","type":"application/activity+json","href":"https://b.example/users/a"},{"rel":"http://webfinger.net/rel/profile-page","href":"https://b.example/@a"}]}`,
		`{"links":[{"rel":"self","type":"application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"","href":"javascript:x"}]}`,
		`{"links":{"rel":"self"}}`, `[]`, `{"links":[null,{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		actor, profile, err := parseJRD(body)
		if err != nil {
			return
		}
		if checkIRI(actor) != nil || profile != "" && checkIRI(profile) != nil {
			t.Fatalf("parseJRD(%q) = %q, %q", body, actor, profile)
		}
	})
}

// FuzzWebFingerResource: whatever resource is asked for, WebFinger
// answers 200 (one of ours), 400 or 404, never an error or a panic.
func FuzzWebFingerResource(f *testing.F) {
	store := storagetest.OpenSQLite(f)
	svc, err := New(context.Background(), Settings{
		BaseURL:    "https://social.city.example",
		Federation: config.Federation{AccountDomain: "city.example"},
		Accounts:   []config.Account{{Username: "news", Type: "Organization"}},
		Version:    "test",
	}, store, http.DefaultClient, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Routes(mux)
	for _, s := range []string{
		"acct:news@city.example", "acct:NEWS@social.city.example", "@news@city.example", "https://social.city.example/users/news",
		"https://social.city.example/@news", "https://social.city.example/actor", "acct:@", "acct:news@", "http://[::1", "acct:news@city.example@evil",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, resource string) {
		r := httptest.NewRequest(http.MethodGet, "/.well-known/webfinger?resource="+url.QueryEscape(resource), nil)
		r.Host = "social.city.example"
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("resource %q: status %d %s", resource, w.Code, w.Body)
		}
	})
}
