package config

import (
	"strings"
	"testing"
)

func TestParseAlias(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Alias
		wantErr bool
	}{
		{name: "actor URL", in: "https://mastodon.social/users/city", want: Alias{URL: "https://mastodon.social/users/city"}},
		{name: "http URL on a test network", in: "http://127.0.0.1:8081/users/news", want: Alias{URL: "http://127.0.0.1:8081/users/news"}},
		{name: "handle", in: "@city@mastodon.social", want: Alias{User: "city", Domain: "mastodon.social"}},
		{name: "handle without leading @, domain lower-cased", in: "City@Mastodon.Social", want: Alias{User: "City", Domain: "mastodon.social"}},
		{name: "handle with a port", in: "@news@127.0.0.1:8081", want: Alias{User: "news", Domain: "127.0.0.1:8081"}},
		{name: "URL with a fragment", in: "https://mastodon.social/users/city#main-key", wantErr: true},
		{name: "URL without host", in: "https:///users/city", wantErr: true},
		{name: "bare name", in: "city", wantErr: true},
		{name: "handle without a dotted domain", in: "@city@localhost", wantErr: true},
		{name: "profile page, not a scheme we know", in: "ftp://mastodon.social/@city", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAlias(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseAlias(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("ParseAlias(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAlsoKnownAsValidation(t *testing.T) {
	tests := []struct {
		name    string
		aliases []string
		wantErr string // a problem containing this; "" for none
	}{
		{name: "none"},
		{name: "a URL and a handle", aliases: []string{"https://mastodon.social/users/city", "@city@piaille.fr"}},
		{name: "malformed", aliases: []string{"mastodon.social/users/city"}, wantErr: "accounts[0].also_known_as[0]: \"mastodon.social/users/city\" is neither an actor URL"},
		{name: "duplicate, case-insensitively", aliases: []string{"@city@mastodon.social", "@City@Mastodon.social"}, wantErr: "accounts[0].also_known_as[1]: \"@City@Mastodon.social\" is already listed"},
		{name: "itself by URL", aliases: []string{"https://social.city.example/users/news"}, wantErr: "is this account itself"},
		{name: "itself by handle", aliases: []string{"@news@social.city.example"}, wantErr: "is this account itself"},
		{name: "too many", aliases: strings.Split("@a@x.example @b@x.example @c@x.example @d@x.example @e@x.example @f@x.example @g@x.example @h@x.example @i@x.example @j@x.example @k@x.example", " "),
			wantErr: "accounts[0].also_known_as: has 11 entries; at most 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Server.PublicURL = "https://social.city.example"
			c.Accounts = []Account{{Username: "news", AlsoKnownAs: tt.aliases}}
			c.ApplyDefaults()
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate = %v, want a problem with %q", err, tt.wantErr)
			}
		})
	}
	a := Account{AlsoKnownAs: []string{"@city@mastodon.social", "not valid", "https://old.example/u/city"}}
	if got := a.Aliases(); len(got) != 2 || got[0].String() != "@city@mastodon.social" || got[1].String() != "https://old.example/u/city" {
		t.Errorf("Aliases() = %v", got)
	}
}
