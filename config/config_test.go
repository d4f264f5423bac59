package config

import "testing"

func TestAccountAndHandle(t *testing.T) {
	c := &Config{
		Server:   Server{PublicURL: "http://127.0.0.1:8080"},
		Accounts: []Account{{Username: "news"}, {Username: "alerts"}},
	}
	tests := []struct {
		name     string
		domain   string
		username string
		wantOK   bool
		handle   string
	}{
		{name: "public host with port", username: "news", wantOK: true, handle: "news@127.0.0.1:8080"},
		{name: "case-insensitive lookup", username: "ALERTS", wantOK: true, handle: "ALERTS@127.0.0.1:8080"},
		{name: "unknown account", username: "sports", wantOK: false, handle: "sports@127.0.0.1:8080"},
		{name: "account domain", domain: "city.example", username: "news", wantOK: true, handle: "news@city.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Federation.AccountDomain = tt.domain
			a, ok := c.Account(tt.username)
			if ok != tt.wantOK {
				t.Errorf("Account(%q) ok = %v, want %v", tt.username, ok, tt.wantOK)
			}
			if ok && a.Username == "" {
				t.Errorf("Account(%q) returned an empty account", tt.username)
			}
			if got := c.Handle(tt.username); got != tt.handle {
				t.Errorf("Handle(%q) = %q, want %q", tt.username, got, tt.handle)
			}
		})
	}
}
