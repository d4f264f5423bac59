package main

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/doctor"
)

func TestHealthURL(t *testing.T) {
	tests := []struct {
		name string
		srv  config.Server
		want string
	}{
		{name: "metrics listener first", srv: config.Server{Listen: ":443", HTTPListen: ":80", MetricsListen: "127.0.0.1:9090", TLS: config.TLS{Mode: "auto"}},
			want: "http://127.0.0.1:9090/healthz"},
		{name: "tls off: the main listener", srv: config.Server{Listen: "127.0.0.1:8080", TLS: config.TLS{Mode: "off"}},
			want: "http://127.0.0.1:8080/healthz"},
		{name: "auto: the plain-HTTP listener", srv: config.Server{Listen: ":443", HTTPListen: ":80", TLS: config.TLS{Mode: "auto"}},
			want: "http://127.0.0.1:80/healthz"},
		{name: "manual without plain HTTP: HTTPS", srv: config.Server{Listen: "[::]:8443", TLS: config.TLS{Mode: "manual"}},
			want: "https://[::1]:8443/healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := healthURL(tt.srv); got != tt.want {
				t.Errorf("healthURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDoctorChecksForSplitDomain(t *testing.T) {
	cfg := config.Default()
	cfg.Server.PublicURL = "https://social.city.example"
	cfg.Federation.AccountDomain = "city.example"
	cfg.Accounts = []config.Account{{Username: "news"}, {Username: "alerts"}}
	checks := doctorChecks(cfg, doctor.DefaultEnv(), nil, errors.New("no database"), "https://acme.example/dir", time.Second)
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
	}
	want := []string{
		"dns social.city.example", "dns city.example", "tls social.city.example", "tls city.example",
		"webfinger @news@city.example", "webfinger @alerts@city.example", "clock", "database", "bluesky",
		"signature @news", "signature @alerts",
	}
	if !slices.Equal(names, want) {
		t.Errorf("checks = %q\nwant %q", names, want)
	}
	// Without a database, its check fails and the signature checks skip.
	for _, c := range checks {
		switch c.Name {
		case "database":
			if r := c.Run(t.Context()); r.Status != doctor.Fail {
				t.Errorf("database = %s %q", r.Status, r.Detail)
			}
		case "signature @news":
			if r := c.Run(t.Context()); r.Status != doctor.Skip {
				t.Errorf("signature = %s %q", r.Status, r.Detail)
			}
		}
	}
}
