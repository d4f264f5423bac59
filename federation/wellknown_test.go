package federation_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/storage"
)

// splitService serves @news@city.example from social.city.example.
func splitService(t *testing.T) (http.Handler, storage.Store) {
	t.Helper()
	b := bridgetest.New(t, bridgetest.Options{
		BaseURL:    "https://social.city.example",
		Federation: config.Federation{AccountDomain: "city.example", FollowersPageSize: 2},
		Accounts: []config.Account{{Username: "news", DisplayName: "Ville de Test", Type: "Organization",
			Summary: "Line one\nline <two> #Mairie", Fields: []config.Field{{Name: "Site", Value: "https://www.city.example"}}}},
	})
	return b.Mux, b.Store
}

func get(t *testing.T, h http.Handler, host, target, accept string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Host = host
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestWebFinger(t *testing.T) {
	h, _ := splitService(t)
	tests := []struct {
		name     string
		host     string
		resource string
		code     int
		subject  string
	}{
		{"account domain handle", "social.city.example", "acct:news@city.example", 200, "acct:news@city.example"},
		{"case-insensitive user", "social.city.example", "acct:NeWs@City.Example", 200, "acct:news@city.example"},
		{"server host handle answers the account-domain subject", "social.city.example", "acct:news@social.city.example", 200, "acct:news@city.example"},
		{"actor URL", "social.city.example", "https://social.city.example/users/news", 200, "acct:news@city.example"},
		{"profile URL", "social.city.example", "https://social.city.example/@news", 200, "acct:news@city.example"},
		{"instance actor", "social.city.example", "acct:city.example@city.example", 200, "acct:city.example@city.example"},
		{"unknown user", "social.city.example", "acct:mayor@city.example", 404, ""},
		{"other domain", "social.city.example", "acct:news@elsewhere.example", 404, ""},
		{"missing resource", "social.city.example", "", 400, ""},
		{"account domain redirects", "city.example", "acct:news@city.example", 301, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := "/.well-known/webfinger"
			if tc.resource != "" {
				target += "?resource=" + tc.resource
			}
			w := get(t, h, tc.host, target, "")
			if w.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.code, w.Body)
			}
			if tc.code == 301 {
				if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, "https://social.city.example/.well-known/webfinger?resource=") {
					t.Errorf("redirect to %q", loc)
				}
				return
			}
			if tc.subject == "" {
				return
			}
			var jrd struct {
				Subject string
				Links   []struct{ Rel, Type, Href string }
			}
			if err := json.Unmarshal(w.Body.Bytes(), &jrd); err != nil {
				t.Fatal(err)
			}
			if jrd.Subject != tc.subject {
				t.Errorf("subject %q, want %q", jrd.Subject, tc.subject)
			}
			self := ""
			for _, l := range jrd.Links {
				if l.Rel == "self" && l.Type == "application/activity+json" {
					self = l.Href
				}
			}
			if !strings.HasPrefix(self, "https://social.city.example/") {
				t.Errorf("self link %q", self)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/jrd+json") {
				t.Errorf("content type %q", ct)
			}
		})
	}
}

func TestDiscoveryDocuments(t *testing.T) {
	h, _ := splitService(t)
	tests := []struct {
		name, host, path, accept, want string
		code                           int
	}{
		{"host-meta XRD", "social.city.example", "/.well-known/host-meta", "", `template="https://social.city.example/.well-known/webfinger?resource={uri}"`, 200},
		{"host-meta JSON", "social.city.example", "/.well-known/host-meta.json", "", `"template":"https://social.city.example/.well-known/webfinger?resource={uri}"`, 200},
		{"host-meta on the account domain", "city.example", "/.well-known/host-meta", "", "", 301},
		{"nodeinfo discovery", "social.city.example", "/.well-known/nodeinfo", "", `"href":"https://social.city.example/nodeinfo/2.1"`, 200},
		{"nodeinfo on the account domain", "city.example", "/.well-known/nodeinfo", "", "", 301},
		{"nodeinfo 2.1", "social.city.example", "/nodeinfo/2.1", "", `"protocols":["activitypub"]`, 200},
		{"actor as AS2", "social.city.example", "/users/news", "application/activity+json", `"preferredUsername":"news"`, 200},
		{"actor as JSON-LD", "social.city.example", "/users/news", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`, `"type":"Organization"`, 200},
		{"actor for a browser", "social.city.example", "/users/news", "text/html", "", 302},
		{"unknown actor", "social.city.example", "/users/mayor", "application/activity+json", "", 404},
		{"outbox", "social.city.example", "/users/news/outbox", "application/activity+json", `"totalItems":0`, 200},
		{"featured", "social.city.example", "/users/news/collections/featured", "application/activity+json", `"type":"OrderedCollection"`, 200},
		{"instance actor", "social.city.example", "/actor", "application/activity+json", `"type":"Application"`, 200},
		// The instance actor's document advertises its outbox: it answers.
		{"instance outbox", "social.city.example", "/actor/outbox", "application/activity+json", `"totalItems":0`, 200},
		{"instance outbox page", "social.city.example", "/actor/outbox?page=true", "application/activity+json", `"orderedItems":[]`, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(t, h, tc.host, tc.path, tc.accept)
			if w.Code != tc.code {
				t.Fatalf("status %d, want %d", w.Code, tc.code)
			}
			if !strings.Contains(w.Body.String(), tc.want) {
				t.Errorf("body %s does not contain %s", w.Body, tc.want)
			}
		})
	}
}

// TestNodeInfoCountsPosts: NodeInfo's localPosts counts the public and
// unlisted posts of every account (it was always 0).
func TestNodeInfoCountsPosts(t *testing.T) {
	h, store := splitService(t)
	ctx := context.Background()
	for _, v := range []string{storage.VisibilityPublic, storage.VisibilityUnlisted, storage.VisibilityPrivate} {
		if _, err := store.InsertStatus(ctx, storage.Status{Account: "news", Text: "hello", Visibility: v}); err != nil {
			t.Fatal(err)
		}
	}
	var ni struct {
		Usage struct {
			LocalPosts int64 `json:"localPosts"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(get(t, h, "social.city.example", "/nodeinfo/2.1", "").Body.Bytes(), &ni); err != nil {
		t.Fatal(err)
	}
	if ni.Usage.LocalPosts != 2 {
		t.Errorf("localPosts = %d, want 2", ni.Usage.LocalPosts)
	}
}

func TestActorDocument(t *testing.T) {
	h, _ := splitService(t)
	w := get(t, h, "social.city.example", "/users/news", "application/activity+json")
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id":                        "https://social.city.example/users/news",
		"inbox":                     "https://social.city.example/users/news/inbox",
		"outbox":                    "https://social.city.example/users/news/outbox",
		"followers":                 "https://social.city.example/users/news/followers",
		"following":                 "https://social.city.example/users/news/following",
		"featured":                  "https://social.city.example/users/news/collections/featured",
		"url":                       "https://social.city.example/@news",
		"discoverable":              true,
		"indexable":                 true,
		"manuallyApprovesFollowers": false,
		// Hashtags in the bio are linked, as Mastodon links them.
		"summary": `<p>Line one<br>line &lt;two&gt; <a href="https://social.city.example/tags/mairie" class="mention hashtag" rel="tag">#<span>Mairie</span></a></p>`,
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %v", k, doc[k], v)
		}
	}
	if ep, _ := doc["endpoints"].(map[string]any); ep["sharedInbox"] != "https://social.city.example/inbox" {
		t.Errorf("endpoints %v", doc["endpoints"])
	}
	pk, _ := doc["publicKey"].(map[string]any)
	if pk["id"] != "https://social.city.example/users/news#main-key" || pk["owner"] != doc["id"] ||
		!strings.HasPrefix(pk["publicKeyPem"].(string), "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("publicKey %v", pk)
	}
	att, _ := doc["attachment"].([]any)
	if len(att) != 1 || !strings.Contains(att[0].(map[string]any)["value"].(string), `rel="nofollow noopener me"`) {
		t.Errorf("attachment %v", att)
	}
	ctx, _ := doc["@context"].([]any)
	if len(ctx) != 5 || ctx[0] != "https://www.w3.org/ns/activitystreams" || ctx[1] != "https://w3id.org/security/v1" ||
		ctx[2] != "https://www.w3.org/ns/did/v1" || ctx[3] != "https://w3id.org/security/multikey/v1" {
		t.Errorf("@context %v", ctx)
	}
}

func TestFollowersPaging(t *testing.T) {
	h, store := splitService(t)
	ctx := context.Background()
	for _, id := range []string{"https://a.example/u/1", "https://a.example/u/2", "https://b.example/u/3"} {
		if _, err := store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: id, Inbox: id + "/inbox", State: storage.FollowerAccepted}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	next := "/users/news/followers?page=true"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		w := get(t, h, "social.city.example", next, "application/activity+json")
		var page struct {
			TotalItems   int      `json:"totalItems"`
			OrderedItems []string `json:"orderedItems"`
			Next         string   `json:"next"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
			t.Fatal(err, w.Body)
		}
		if page.TotalItems != 3 {
			t.Errorf("totalItems %d", page.TotalItems)
		}
		seen = append(seen, page.OrderedItems...)
		next = strings.TrimPrefix(page.Next, "https://social.city.example")
	}
	if strings.Join(seen, " ") != "https://a.example/u/1 https://a.example/u/2 https://b.example/u/3" {
		t.Errorf("followers %v", seen)
	}
	w := get(t, h, "social.city.example", "/users/news/followers", "application/activity+json")
	body, _ := io.ReadAll(w.Body)
	if !strings.Contains(string(body), `"totalItems":3`) {
		t.Errorf("collection %s", body)
	}
}

// TestAttributionDomainsOfAnIPv6Host: the account domain's host goes in
// attributionDomains without its port, IPv6 literals included (the port
// used to be cut at the first colon, giving "[").
func TestAttributionDomainsOfAnIPv6Host(t *testing.T) {
	tests := []struct{ name, base, want string }{
		{"name and port", "http://city.example:8080", "city.example"},
		{"IPv6 literal and port", "http://[::1]:8080", "::1"},
		{"IPv6 literal", "http://[::1]", "::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := bridgetest.New(t, bridgetest.Options{BaseURL: tc.base, Accounts: []config.Account{{Username: "news", Type: "Organization"}}})
			w := get(t, b.Mux, strings.TrimPrefix(tc.base, "http://"), "/users/news", "application/activity+json")
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var actor struct{ AttributionDomains []string }
			if err := json.Unmarshal(w.Body.Bytes(), &actor); err != nil {
				t.Fatal(err)
			}
			if len(actor.AttributionDomains) != 1 || actor.AttributionDomains[0] != tc.want {
				t.Errorf("attributionDomains = %q, want [%q]", actor.AttributionDomains, tc.want)
			}
		})
	}
}
