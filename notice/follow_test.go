package notice

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/safehttp"
)

func TestParseRemote(t *testing.T) {
	tests := []struct {
		name         string
		input        string
		allowPrivate bool
		want         Remote
		err          error
	}{
		// accepted forms
		{name: "server name", input: "mastodon.social", want: Remote{Host: "mastodon.social", Scheme: "https"}},
		{name: "server name with spaces around and upper case", input: "  Mastodon.Social \n", want: Remote{Host: "mastodon.social", Scheme: "https"}},
		{name: "https URL", input: "https://mastodon.social", want: Remote{Host: "mastodon.social", Scheme: "https"}},
		{name: "https URL with slash", input: "HTTPS://mastodon.social/", want: Remote{Host: "mastodon.social", Scheme: "https"}},
		{name: "http URL upgraded to https", input: "http://mastodon.social", want: Remote{Host: "mastodon.social", Scheme: "https"}},
		{name: "full address", input: "@me@server.example", want: Remote{User: "me", Host: "server.example", Scheme: "https"}},
		{name: "address without leading @", input: "me@server.example", want: Remote{User: "me", Host: "server.example", Scheme: "https"}},
		{name: "address keeps the user's case", input: "@Jo.Doe-2@Server.Example", want: Remote{User: "Jo.Doe-2", Host: "server.example", Scheme: "https"}},
		{name: "trailing dot", input: "mastodon.social.", want: Remote{Host: "mastodon.social", Scheme: "https"}},
		{name: "port", input: "social.example:8443", want: Remote{Host: "social.example:8443", Scheme: "https"}},
		{name: "IDN to punycode", input: "mastodon.bücher.example", want: Remote{Host: "mastodon.xn--bcher-kva.example", Scheme: "https"}},
		{name: "IDN address", input: "@moi@exemple.café", want: Remote{User: "moi", Host: "exemple.xn--caf-dma", Scheme: "https"}},
		{name: "loopback allowed for tests", input: "http://127.0.0.1:8080", allowPrivate: true, want: Remote{Host: "127.0.0.1:8080", Scheme: "http"}},
		{name: "IPv6 loopback allowed for tests", input: "@me@[::1]:8080", allowPrivate: true, want: Remote{User: "me", Host: "[::1]:8080", Scheme: "https"}},
		{name: "localhost allowed for tests", input: "localhost:3000", allowPrivate: true, want: Remote{Host: "localhost:3000", Scheme: "https"}},

		// refused
		{name: "empty", input: "   ", err: ErrInvalidRemote},
		{name: "javascript URL", input: "javascript:alert(1)", err: ErrInvalidRemote},
		{name: "javascript URL with slashes", input: "javascript://mastodon.social/%0aalert(1)", err: ErrInvalidRemote},
		{name: "data URL", input: "data:text/html,hi", err: ErrInvalidRemote},
		{name: "protocol-relative", input: "//evil.example", err: ErrInvalidRemote},
		{name: "path", input: "server.example/path", err: ErrInvalidRemote},
		{name: "URL with path", input: "https://server.example/@me", err: ErrInvalidRemote},
		{name: "query", input: "server.example?next=https://evil.example", err: ErrInvalidRemote},
		{name: "fragment", input: "server.example#x", err: ErrInvalidRemote},
		{name: "backslash", input: `server.example\evil.example`, err: ErrInvalidRemote},
		{name: "credentials", input: "user:pass@server.example", err: ErrInvalidRemote},
		{name: "credentials in URL", input: "https://user:pass@server.example", err: ErrInvalidRemote},
		{name: "two @ after the first", input: "@a@b@server.example", err: ErrInvalidRemote},
		{name: "space inside", input: "mastodon .social", err: ErrInvalidRemote},
		{name: "tab inside", input: "mastodon\t.social", err: ErrInvalidRemote},
		{name: "percent-encoding", input: "mastodon%2esocial", err: ErrInvalidRemote},
		{name: "invalid UTF-8 (found by FuzzParseRemote)", input: "0000\x91.example", err: ErrInvalidRemote},
		{name: "replacement character", input: "0000\ufffd.example", err: ErrInvalidRemote},
		{name: "underscore in host", input: "bad_host.example", err: ErrInvalidRemote},
		{name: "label starting with hyphen", input: "-bad.example", err: ErrInvalidRemote},
		{name: "empty label", input: "bad..example", err: ErrInvalidRemote},
		{name: "overlong", input: strings.Repeat("a", 60) + "." + strings.Repeat("b.", 140) + "example", err: ErrInvalidRemote},
		{name: "overlong label", input: strings.Repeat("a", 64) + ".example", err: ErrInvalidRemote},
		{name: "bad port", input: "server.example:99999", err: ErrInvalidRemote},
		{name: "port not a number", input: "server.example:http", err: ErrInvalidRemote},
		{name: "port with sign", input: "server.example:+443", err: ErrInvalidRemote},
		{name: "user with bad characters", input: "@m/e@server.example", err: ErrInvalidRemote},
		{name: "invalid IDN", input: "xn--a.example", err: ErrInvalidRemote},
		{name: "control character", input: "server.example\x00", err: ErrInvalidRemote},
		{name: "IPv4 literal", input: "127.0.0.1", err: ErrPrivateRemote},
		{name: "public IPv4 literal", input: "93.184.216.34", err: ErrPrivateRemote},
		{name: "IPv4 literal in a URL", input: "https://10.0.0.1/", err: ErrPrivateRemote},
		{name: "IPv6 literal", input: "[::1]", err: ErrPrivateRemote},
		{name: "IPv6 literal in an address", input: "@me@[fd00::1]:443", err: ErrPrivateRemote},
		{name: "decimal IPv4", input: "2130706433", err: ErrPrivateRemote},
		{name: "numeric last label", input: "0x7f.1", err: ErrPrivateRemote},
		{name: "single label", input: "localhost", err: ErrPrivateRemote},
		{name: "metadata address", input: "169.254.169.254", err: ErrPrivateRemote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRemote(tt.input, tt.allowPrivate)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParseRemote(%q) = %+v, %v; want error %v", tt.input, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRemote(%q) = %+v, %v; want %+v", tt.input, got, err, tt.want)
			}
		})
	}
}

func TestFollowURL(t *testing.T) {
	const actor = "https://city.example/users/news"
	const esc = "https%3A%2F%2Fcity.example%2Fusers%2Fnews"
	// The visitor's server: WebFinger answers per account.
	jrd := map[string]any{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := jrd[r.URL.Query().Get("resource")]
		if r.URL.Path != "/.well-known/webfinger" || !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/jrd+json")
		json.NewEncoder(w).Encode(doc)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	link := func(tmpl string) map[string]any {
		return map[string]any{"links": []map[string]any{{"rel": "self", "href": "x"}, {"rel": SubscribeRel, "template": tmpl}}}
	}
	jrd["acct:alice@"+host] = link("http://" + host + "/authorize_interaction?uri={uri}")
	jrd["acct:misskey@"+host] = link("http://" + host + "/authorize-follow?acct={uri}")
	jrd["acct:evil@"+host] = link("https://evil.example/phish?u={uri}")
	jrd["acct:js@"+host] = link("javascript:alert('{uri}')")
	jrd["acct:notemplate@"+host] = map[string]any{"links": []any{}}
	jrd["acct:nouri@"+host] = link("http://" + host + "/follow")

	// A closed port: nothing answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	client := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 3 * time.Second})
	f := Follower{Client: client, AllowPrivate: true, Timeout: 3 * time.Second}
	tests := []struct {
		name  string
		input string
		want  string
		err   error
	}{
		{name: "server only: authorize_interaction", input: "http://" + host, want: "http://" + host + "/authorize_interaction?uri=" + esc},
		{name: "address: the server's template", input: "@alice@" + host, want: "http://" + host + "/authorize_interaction?uri=" + esc},
		{name: "another software's template", input: "misskey@" + host, want: "http://" + host + "/authorize-follow?acct=" + esc},
		{name: "template on another host refused", input: "@evil@" + host, want: "http://" + host + "/authorize_interaction?uri=" + esc},
		{name: "template with another scheme refused", input: "@js@" + host, want: "http://" + host + "/authorize_interaction?uri=" + esc},
		{name: "no template: authorize_interaction", input: "@notemplate@" + host, want: "http://" + host + "/authorize_interaction?uri=" + esc},
		{name: "template without {uri}", input: "@nouri@" + host, want: "http://" + host + "/authorize_interaction?uri=" + esc},
		{name: "unknown account: authorize_interaction", input: "@nobody@" + host, want: "http://" + host + "/authorize_interaction?uri=" + esc},
		{name: "nothing answers", input: "@alice@" + dead, err: ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rem, err := ParseRemote(tt.input, true)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.FollowURL(context.Background(), rem, actor)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("FollowURL = %q, %v; want error %v", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("FollowURL = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFollowURLRefusesPrivateAddresses(t *testing.T) {
	// Without allow_private_networks, a name is looked up through the
	// SSRF-safe client, which refuses loopback after DNS resolution.
	client := safehttp.NewClient(safehttp.Config{Timeout: 3 * time.Second})
	f := Follower{Client: client, Timeout: 3 * time.Second}
	_, err := f.FollowURL(context.Background(), Remote{User: "me", Host: "localhost", Scheme: "https"}, "https://city.example/users/news")
	if !errors.Is(err, ErrPrivateRemote) {
		t.Fatalf("FollowURL(localhost) error = %v, want ErrPrivateRemote", err)
	}
	// The server-only form makes no request and stays on the typed host.
	got, err := f.FollowURL(context.Background(), Remote{Host: "mastodon.social", Scheme: "https"}, "https://city.example/users/news")
	if err != nil || got != "https://mastodon.social/authorize_interaction?uri=https%3A%2F%2Fcity.example%2Fusers%2Fnews" {
		t.Fatalf("FollowURL(server) = %q, %v", got, err)
	}
}
