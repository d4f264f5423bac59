package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// validConfig returns a configuration that passes Validate.
func validConfig() *Config {
	c := Default()
	c.Server.PublicURL = "https://social.city.example"
	c.Accounts = []Account{{Username: "news", DisplayName: "Ville de Test"}}
	c.ApplyDefaults()
	return c
}

func fields(n int) []Field {
	fs := make([]Field, n)
	for i := range fs {
		fs[i] = Field{Name: fmt.Sprintf("Field %d", i), Value: "value"}
	}
	return fs
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // the expected problems ("key: message"); none when valid
	}{
		// valid variations
		{name: "valid base", mutate: func(c *Config) {}},
		{name: "http public_url with port and trailing slash", mutate: func(c *Config) { c.Server.PublicURL = "http://127.0.0.1:8080/" }},
		{name: "listen on all interfaces", mutate: func(c *Config) { c.Server.Listen = ":8080" }},
		{name: "listen on a host name", mutate: func(c *Config) { c.Server.Listen = "localhost:8080" }},
		{name: "listen on IPv6", mutate: func(c *Config) { c.Server.Listen = "[::1]:8080" }},
		{name: "manual TLS with readable files", mutate: func(c *Config) {
			c.Server.TLS = TLS{Mode: "manual", CertFile: "testdata/secret.txt", KeyFile: "testdata/secret.txt"}
		}},
		{name: "auto TLS", mutate: func(c *Config) {
			c.Server.Listen, c.Server.HTTPListen, c.Server.MetricsListen = ":443", ":80", "127.0.0.1:9090"
			c.Server.TLS = TLS{Mode: "auto", Email: "it@city.example", ACMEDirectory: "https://127.0.0.1:14000/dir", ACMECARoot: "testdata/ca.pem"}
		}},
		{name: "manual TLS with redirect", mutate: func(c *Config) {
			c.Server.Listen, c.Server.HTTPListen = ":443", ":80"
			c.Server.TLS = TLS{Mode: "manual", CertFile: "testdata/secret.txt", KeyFile: "testdata/secret.txt"}
		}},
		{name: "trusted proxies", mutate: func(c *Config) { c.Server.TrustedProxies = []string{"127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8"} }},
		{name: "postgres URL", mutate: func(c *Config) { c.Storage = Storage{Driver: "postgres", DSN: "postgresql://u:p@db/passerelle"} }},
		{name: "account_domain host name", mutate: func(c *Config) { c.Federation.AccountDomain = "city.example" }},
		{name: "followers page size 0 and 1000", mutate: func(c *Config) { c.Federation.FollowersPageSize = 0 }},
		{name: "signature window bounds", mutate: func(c *Config) { c.Federation.SignatureWindow = Duration(12 * time.Hour) }},
		{name: "all account settings", mutate: func(c *Config) {
			c.Accounts = append(c.Accounts, Account{
				Username: "city_hall_2", Type: "Service",
				DisplayName: strings.Repeat("é", 100), Summary: strings.Repeat("é", 500),
				Avatar: "testdata/avatar.png", Header: "https://cdn.city.example/h.jpg",
				Fields: fields(4),
			})
		}},

		// server
		{name: "public_url missing", mutate: func(c *Config) { c.Server.PublicURL = "" },
			want: []string{"server.public_url: required"}},
		{name: "public_url without scheme", mutate: func(c *Config) { c.Server.PublicURL = "social.city.example" },
			want: []string{`server.public_url: must look like "https://social.city.example" (scheme https, or http for local use); got "social.city.example"`}},
		{name: "public_url ftp", mutate: func(c *Config) { c.Server.PublicURL = "ftp://social.city.example" },
			want: []string{`server.public_url: must look like "https://social.city.example" (scheme https, or http for local use); got "ftp://social.city.example"`}},
		{name: "public_url with path", mutate: func(c *Config) { c.Server.PublicURL = "https://city.example/social" },
			want: []string{`server.public_url: must not have a path (got "/social"): the bridge is served at the root of its host`}},
		{name: "public_url with query", mutate: func(c *Config) { c.Server.PublicURL = "https://city.example?a=1" },
			want: []string{`server.public_url: must not have a query ("?...")`}},
		{name: "public_url with empty query", mutate: func(c *Config) { c.Server.PublicURL = "https://city.example/?" },
			want: []string{`server.public_url: must not have a query ("?...")`}},
		{name: "public_url with fragment", mutate: func(c *Config) { c.Server.PublicURL = "https://city.example#top" },
			want: []string{`server.public_url: must not have a fragment ("#...")`}},
		{name: "public_url with userinfo", mutate: func(c *Config) { c.Server.PublicURL = "https://admin:pw@city.example" },
			want: []string{"server.public_url: must not contain a user name or password"}},
		{name: "public_url without host", mutate: func(c *Config) { c.Server.PublicURL = "https://:8443" },
			want: []string{"server.public_url: must contain a host name"}},
		{name: "public_url bad port", mutate: func(c *Config) { c.Server.PublicURL = "https://city.example:99999" },
			want: []string{`server.public_url: port "99999" must be between 1 and 65535`}},
		{name: "public_url unparsable", mutate: func(c *Config) { c.Server.PublicURL = "https://city example" },
			want: []string{`server.public_url: is not a valid URL: invalid character " " in host name`}},
		{name: "listen without port", mutate: func(c *Config) { c.Server.Listen = "8080" },
			want: []string{`server.listen: "8080" is not a valid host:port such as "127.0.0.1:8080" or ":8080": missing port in address`}},
		{name: "listen named port", mutate: func(c *Config) { c.Server.Listen = "127.0.0.1:http" },
			want: []string{`server.listen: port "http" must be a number between 1 and 65535`}},
		{name: "listen port 0", mutate: func(c *Config) { c.Server.Listen = ":0" },
			want: []string{`server.listen: port "0" must be a number between 1 and 65535`}},
		{name: "listen bad host", mutate: func(c *Config) { c.Server.Listen = "bad_host!:80" },
			want: []string{`server.listen: host "bad_host!" is neither an IP address nor a host name`}},
		{name: "tls auto without http_listen", mutate: func(c *Config) { c.Server.TLS.Mode = "auto" },
			want: []string{`server.http_listen: required when server.tls.mode is "auto", e.g. ":80": the certificate authority checks the domain over plain HTTP (HTTP-01), and visitors are redirected to HTTPS`}},
		{name: "tls auto over http", mutate: func(c *Config) {
			c.Server.PublicURL = "http://social.city.example"
			c.Server.HTTPListen, c.Server.TLS.Mode = ":80", "auto"
		}, want: []string{`server.public_url: must start with https:// when server.tls.mode is "auto"; got "http://social.city.example"`}},
		{name: "tls auto on an IP address", mutate: func(c *Config) {
			c.Server.PublicURL = "https://192.0.2.10"
			c.Server.HTTPListen, c.Server.TLS.Mode = ":80", "auto"
		}, want: []string{`server.public_url: must use a DNS name, not an IP address, when server.tls.mode is "auto": certificate authorities do not certify IP addresses; got "192.0.2.10"`}},
		{name: "tls auto on a single-label name", mutate: func(c *Config) {
			c.Server.PublicURL = "https://localhost:8443"
			c.Server.HTTPListen, c.Server.TLS.Mode = ":80", "auto"
		}, want: []string{`server.public_url: must use a public DNS name such as "social.city.example" when server.tls.mode is "auto"; got "localhost"`}},
		{name: "tls auto bad ACME settings", mutate: func(c *Config) {
			c.Server.Listen, c.Server.HTTPListen = ":443", "0.0.0.0:443"
			c.Server.TLS = TLS{Mode: "auto", Email: "it at city", ACMEDirectory: "http://acme.example/dir", ACMECARoot: "testdata/secret.txt"}
		}, want: []string{
			`server.http_listen: must differ from server.listen (":443")`,
			`server.tls.email: must be an email address such as "it@city.example"; got "it at city"`,
			`server.tls.acme_directory: must be the https:// URL of an ACME directory, such as "https://acme-v02.api.letsencrypt.org/directory"; got "http://acme.example/dir"`,
			`server.tls.acme_ca_root: cannot use the file: testdata/secret.txt holds no PEM CERTIFICATE block`,
		}},
		{name: "http_listen with tls off", mutate: func(c *Config) { c.Server.HTTPListen = ":80" },
			want: []string{`server.http_listen: is only used when server.tls.mode is "auto" or "manual" (to redirect to HTTPS); with "off", remove it: the reverse proxy serves plain HTTP`}},
		{name: "metrics_listen clashes", mutate: func(c *Config) { c.Server.MetricsListen = ":8080" },
			want: []string{`server.metrics_listen: must differ from server.listen ("127.0.0.1:8080"): metrics are served on their own address, kept private`}},
		{name: "metrics_listen invalid", mutate: func(c *Config) { c.Server.MetricsListen = "9090" },
			want: []string{`server.metrics_listen: "9090" is not a valid host:port such as "127.0.0.1:8080" or ":8080": missing port in address`}},
		{name: "max_connections set", mutate: func(c *Config) { c.Server.MaxConnections = 10000 }},
		{name: "max_connections too low", mutate: func(c *Config) { c.Server.MaxConnections = 5 },
			want: []string{"server.max_connections: must be between 16 and 1000000 (0: the default, 4096); got 5"}},
		{name: "max_connections negative", mutate: func(c *Config) { c.Server.MaxConnections = -1 },
			want: []string{"server.max_connections: must be between 16 and 1000000 (0: the default, 4096); got -1"}},
		{name: "trusted_proxies invalid", mutate: func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "proxy.local", "10.0.0.0/33"} },
			want: []string{
				`server.trusted_proxies[1]: must be an IP address ("127.0.0.1") or a CIDR range ("10.0.0.0/8"); got "proxy.local"`,
				`server.trusted_proxies[2]: must be an IP address ("127.0.0.1") or a CIDR range ("10.0.0.0/8"); got "10.0.0.0/33"`,
			}},
		{name: "tls mode unknown", mutate: func(c *Config) { c.Server.TLS.Mode = "manuel" },
			want: []string{`server.tls.mode: must be one of "off", "manual", "auto"; got "manuel" (did you mean "manual"?)`}},
		{name: "tls manual without files", mutate: func(c *Config) { c.Server.TLS.Mode = "manual" },
			want: []string{"server.tls.cert_file: required", "server.tls.key_file: required"}},
		{name: "tls manual unreadable files", mutate: func(c *Config) {
			c.Server.TLS = TLS{Mode: "manual", CertFile: "testdata/missing.pem", KeyFile: "testdata"}
		}, want: []string{
			`server.tls.cert_file: cannot read the file (required by tls.mode "manual"): open testdata/missing.pem: no such file or directory`,
			`server.tls.key_file: cannot read the file (required by tls.mode "manual"): testdata is not a regular file`,
		}},

		// storage
		{name: "unknown driver", mutate: func(c *Config) { c.Storage.Driver = "mysql" },
			want: []string{`storage.driver: must be one of "sqlite", "postgres"; got "mysql"`}},
		{name: "empty dsn", mutate: func(c *Config) { c.Storage.DSN = "" },
			want: []string{"storage.dsn: required"}},
		{name: "postgres key=value dsn", mutate: func(c *Config) { c.Storage = Storage{Driver: "postgres", DSN: "host=db password=hunter2"} },
			want: []string{`storage.dsn: must be a URL such as "postgres://user:password@host:5432/dbname" (postgres:// or postgresql://) when storage.driver is "postgres"`}},
		{name: "postgres driver with mysql URL", mutate: func(c *Config) { c.Storage = Storage{Driver: "postgres", DSN: "mysql://u:hunter2@db/x"} },
			want: []string{`storage.dsn: must be a URL such as "postgres://user:password@host:5432/dbname" (postgres:// or postgresql://) when storage.driver is "postgres"`}},

		// federation
		{name: "account_domain URL", mutate: func(c *Config) { c.Federation.AccountDomain = "https://city.example" },
			want: []string{`federation.account_domain: must be a bare host name such as "city.example", without scheme; got "https://city.example"`}},
		{name: "account_domain path", mutate: func(c *Config) { c.Federation.AccountDomain = "city.example/news" },
			want: []string{`federation.account_domain: must be a bare host name such as "city.example", without path; got "city.example/news"`}},
		{name: "account_domain port", mutate: func(c *Config) { c.Federation.AccountDomain = "city.example:443" },
			want: []string{`federation.account_domain: must be a bare host name such as "city.example", without port; got "city.example:443"`}},
		{name: "account_domain handle", mutate: func(c *Config) { c.Federation.AccountDomain = "news@city.example" },
			want: []string{`federation.account_domain: must be a host name such as "city.example", not a handle; got "news@city.example"`}},
		{name: "account_domain invalid", mutate: func(c *Config) { c.Federation.AccountDomain = "-city.example" },
			want: []string{`federation.account_domain: "-city.example" is not a valid host name`}},
		{name: "followers page size negative", mutate: func(c *Config) { c.Federation.FollowersPageSize = -1 },
			want: []string{"federation.followers_page_size: must be between 0 and 1000; got -1"}},
		{name: "followers page size too big", mutate: func(c *Config) { c.Federation.FollowersPageSize = 1001 },
			want: []string{"federation.followers_page_size: must be between 0 and 1000; got 1001"}},
		{name: "home retention too short", mutate: func(c *Config) { c.Federation.HomeRetention = Duration(time.Minute) },
			want: []string{"federation.home_retention: must be 0 (kept) or between 1h and 8784h; got 1m"}},
		{name: "signature window too short", mutate: func(c *Config) { c.Federation.SignatureWindow = Duration(30 * time.Second) },
			want: []string{"federation.signature_window: must be between 1m and 12h; got 30s"}},
		{name: "signature window too long", mutate: func(c *Config) { c.Federation.SignatureWindow = Duration(13 * time.Hour) },
			want: []string{"federation.signature_window: must be between 1m and 12h; got 13h"}},
		{name: "delivery workers 0", mutate: func(c *Config) { c.Federation.DeliveryWorkers = 0 },
			want: []string{"federation.delivery_workers: must be between 1 and 1024; got 0"}},
		{name: "delivery workers too many", mutate: func(c *Config) { c.Federation.DeliveryWorkers = 1025 },
			want: []string{"federation.delivery_workers: must be between 1 and 1024; got 1025"}},

		// log
		{name: "log level", mutate: func(c *Config) { c.Log.Level = "verbose" },
			want: []string{`log.level: must be one of "debug", "info", "warn", "error"; got "verbose"`}},
		{name: "log level typo", mutate: func(c *Config) { c.Log.Level = "warning" },
			want: []string{`log.level: must be one of "debug", "info", "warn", "error"; got "warning" (did you mean "warn"?)`}},
		{name: "log format", mutate: func(c *Config) { c.Log.Format = "text" },
			want: []string{`log.format: must be one of "json", "console"; got "text"`}},

		// accounts
		{name: "no account", mutate: func(c *Config) { c.Accounts = nil },
			want: []string{"accounts: at least one account is required"}},
		{name: "username missing", mutate: func(c *Config) { c.Accounts[0].Username = "" },
			want: []string{"accounts[0].username: required"}},
		{name: "username upper-case", mutate: func(c *Config) { c.Accounts[0].Username = "News" },
			want: []string{`accounts[0].username: must be 1 to 30 characters among lower-case letters a-z, digits 0-9 and underscore; got "News"`}},
		{name: "username with dot", mutate: func(c *Config) { c.Accounts[0].Username = "city.news" },
			want: []string{`accounts[0].username: must be 1 to 30 characters among lower-case letters a-z, digits 0-9 and underscore; got "city.news"`}},
		{name: "username too long", mutate: func(c *Config) { c.Accounts[0].Username = strings.Repeat("a", 31) },
			want: []string{`accounts[0].username: must be 1 to 30 characters among lower-case letters a-z, digits 0-9 and underscore; got "` + strings.Repeat("a", 31) + `"`}},
		{name: "username reserved", mutate: func(c *Config) { c.Accounts[0].Username = "inbox" },
			want: []string{`accounts[0].username: "inbox" is reserved (it names one of the bridge's own routes); choose another`}},
		{name: "username duplicate", mutate: func(c *Config) {
			c.Accounts = append(c.Accounts, Account{Username: "alerts", Type: "Service"}, Account{Username: "news", Type: "Service"})
		}, want: []string{`accounts[2].username: "news" is already used by accounts[0]`}},
		{name: "type unknown", mutate: func(c *Config) { c.Accounts[0].Type = "Bot" },
			want: []string{`accounts[0].type: must be one of "Organization", "Person", "Service", "Group", "Application"; got "Bot"`}},
		{name: "display_name too long", mutate: func(c *Config) { c.Accounts[0].DisplayName = strings.Repeat("é", 101) },
			want: []string{"accounts[0].display_name: is 101 characters long; at most 100 are allowed"}},
		{name: "summary too long", mutate: func(c *Config) { c.Accounts[0].Summary = strings.Repeat("a", 501) },
			want: []string{"accounts[0].summary: is 501 characters long; at most 500 are allowed"}},
		{name: "avatar ftp URL", mutate: func(c *Config) { c.Accounts[0].Avatar = "ftp://city.example/a.png" },
			want: []string{`accounts[0].avatar: must be an http(s) URL or the path of an image file; got "ftp://city.example/a.png"`}},
		{name: "avatar missing file", mutate: func(c *Config) { c.Accounts[0].Avatar = "testdata/missing.png" },
			want: []string{"accounts[0].avatar: cannot read the image file: open testdata/missing.png: no such file or directory"}},
		{name: "header is a directory", mutate: func(c *Config) { c.Accounts[0].Header = "testdata" },
			want: []string{"accounts[0].header: cannot read the image file: testdata is not a regular file"}},
		{name: "too many fields", mutate: func(c *Config) { c.Accounts[0].Fields = fields(5) },
			want: []string{"accounts[0].fields: has 5 entries; at most 4 are allowed"}},
		{name: "field without name or value", mutate: func(c *Config) { c.Accounts[0].Fields = []Field{{Name: " "}} },
			want: []string{"accounts[0].fields[0].name: required", "accounts[0].fields[0].value: required"}},
		{name: "field name too long", mutate: func(c *Config) { c.Accounts[0].Fields = []Field{{Name: strings.Repeat("n", 256), Value: "v"}} },
			want: []string{"accounts[0].fields[0].name: is 256 characters long; at most 255 are allowed"}},
		{name: "field value too long", mutate: func(c *Config) { c.Accounts[0].Fields = []Field{{Name: "n", Value: strings.Repeat("v", 2048)}} },
			want: []string{"accounts[0].fields[0].value: is 2048 characters long; at most 2047 are allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			var got []string
			for _, p := range Problems(err) {
				got = append(got, p.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Validate:\n got  %q\n want %q", got, tt.want)
			}
			if err != nil && err.Error() != strings.Join(tt.want, "\n") {
				t.Errorf("Error() = %q, want one problem per line", err.Error())
			}
		})
	}
}

func TestValidateNeverPrintsTheDSN(t *testing.T) {
	c := validConfig()
	c.Storage = Storage{Driver: "postgres", DSN: "postgres://u:hunter2@db/x%zz"}
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Validate = %v, want an error without the password", err)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	c := &Config{Accounts: []Account{{}, {Username: "x"}}}
	got := Problems(c.Validate())
	// public_url, tls.mode, driver, listen, signature_window, delivery_workers,
	// log level and format, accounts[0].username and .type, accounts[1].username
	// (reserved) and .type.
	if len(got) != 12 {
		t.Errorf("got %d problems, want 12:\n%v", len(got), c.Validate())
	}
}
