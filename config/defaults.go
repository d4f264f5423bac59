package config

import (
	"strings"
	"time"
)

// Default values, used for keys that are absent from the file.
const (
	DefaultListen            = "127.0.0.1:8080"
	DefaultTLSMode           = TLSOff
	DefaultStorageDriver     = DriverSQLite
	DefaultSQLiteDSN         = "./data/bridge.db"
	DefaultLogLevel          = "info"
	DefaultLogFormat         = "json"
	DefaultFollowersPageSize = 50
	DefaultSignatureWindow   = Duration(time.Hour) // Mastodon accepts an hour of clock skew
	DefaultHomeRetention     = Duration(30 * 24 * time.Hour)
	DefaultDeliveryWorkers   = 64
	DefaultAccountType       = "Organization"
	// DefaultACMEDirectory is Let's Encrypt's production directory, used by
	// tls.mode "auto" when acme_directory is empty.
	DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"
)

// Values of server.tls.mode and storage.driver.
const (
	TLSOff    = "off"
	TLSManual = "manual"
	TLSAuto   = "auto"

	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Default returns a Config holding the default values and no account.
// Load decodes the file on top of it, so a key that is absent keeps its
// default while a key written explicitly (even as 0) keeps its value.
// storage.dsn is left empty: its default depends on the driver and is set
// by ApplyDefaults.
func Default() *Config {
	return &Config{
		Server: Server{
			Listen: DefaultListen,
			TLS:    TLS{Mode: DefaultTLSMode},
		},
		Storage: Storage{Driver: DefaultStorageDriver},
		Federation: Federation{
			FollowersPageSize: DefaultFollowersPageSize,
			SignatureWindow:   DefaultSignatureWindow,
			HomeRetention:     DefaultHomeRetention,
			DeliveryWorkers:   DefaultDeliveryWorkers,
		},
		Log: Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
	}
}

// ApplyDefaults fills in empty string settings with their defaults (an
// empty string is never a meaningful value for them), gives accounts
// without a type the type Organization, and lower-cases
// federation.account_domain. Numbers are left alone: start from Default to
// get their defaults. The default storage.dsn applies only to sqlite.
func (c *Config) ApplyDefaults() {
	setDefault(&c.Server.Listen, DefaultListen)
	setDefault(&c.Server.TLS.Mode, DefaultTLSMode)
	if c.Server.TLS.Mode == TLSAuto {
		setDefault(&c.Server.TLS.ACMEDirectory, DefaultACMEDirectory)
	}
	setDefault(&c.Storage.Driver, DefaultStorageDriver)
	if c.Storage.Driver == DriverSQLite {
		setDefault(&c.Storage.DSN, DefaultSQLiteDSN)
	}
	setDefault(&c.Log.Level, DefaultLogLevel)
	setDefault(&c.Log.Format, DefaultLogFormat)
	c.Federation.AccountDomain = strings.ToLower(c.Federation.AccountDomain)
	for i := range c.Accounts {
		setDefault(&c.Accounts[i].Type, DefaultAccountType)
	}
	c.applyPolicyDefaults() // before the Bluesky defaults (policy.go)
	c.applyBlueskyDefaults()
}

func setDefault(s *string, def string) {
	if *s == "" {
		*s = def
	}
}
