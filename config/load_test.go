package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeConfig writes content to a config.yaml in a temporary directory and
// returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// errorLines returns the lines of err's message.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestLoadMinimalGetsDefaults(t *testing.T) {
	got, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &Config{
		Server: Server{
			PublicURL: "http://127.0.0.1:8080",
			Listen:    "127.0.0.1:8080",
			TLS:       TLS{Mode: "off"},
		},
		Storage: Storage{Driver: "sqlite", DSN: "./data/bridge.db"},
		Federation: Federation{
			FollowersPageSize: 50,
			SignatureWindow:   Duration(time.Hour),
			HomeRetention:     Duration(30 * 24 * time.Hour),
			DeliveryWorkers:   64,
		},
		Log:      Log{Level: "info", Format: "json"},
		Accounts: []Account{{Username: "news", Type: "Organization", Replies: DefaultReplies, Quotes: DefaultQuotes}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load:\n got  %+v\n want %+v", got, want)
	}
	if h := got.Handle("news"); h != "news@127.0.0.1:8080" {
		t.Errorf("Handle(news) = %q, want %q", h, "news@127.0.0.1:8080")
	}
}

func TestLoadReportsProblemsWithLines(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // the lines of the error, in order
	}{
		{
			name: "unknown keys at top level, in a section and in accounts[0]",
			file: "testdata/unknown_keys.yaml",
			want: []string{
				`testdata/unknown_keys.yaml:3: unknown key "listne" in server (did you mean "listen"?)`,
				`testdata/unknown_keys.yaml:4: unknown key "logs" at top level (did you mean "log"?)`,
				`testdata/unknown_keys.yaml:8: unknown key "display_nmae" in accounts[0] (did you mean "display_name"?)`,
				`testdata/unknown_keys.yaml:9: unknown key "colour" in accounts[0]`,
			},
		},
		{
			name: "several kinds of problems at once",
			file: "testdata/many_problems.yaml",
			want: []string{
				`testdata/many_problems.yaml:1: server.http_listen: required when server.tls.mode is "auto", e.g. ":80": the certificate authority checks the domain over plain HTTP (HTTP-01), and visitors are redirected to HTTPS`,
				`testdata/many_problems.yaml:2: server.public_url: must not have a path (got "/bridge"): the bridge is served at the root of its host`,
				`testdata/many_problems.yaml:3: server.listen: "8080" is not a valid host:port such as "127.0.0.1:8080" or ":8080": missing port in address`,
				`testdata/many_problems.yaml:7: storage.driver: must be one of "sqlite", "postgres"; got "mysql"`,
				`testdata/many_problems.yaml:9: federation.delivery_workers: expected a whole number, got "lots"`,
				`testdata/many_problems.yaml:10: federation.signature_window: must be between 1m and 12h; got 10s`,
				`testdata/many_problems.yaml:12: unknown key "levle" in log (did you mean "level"?)`,
				`testdata/many_problems.yaml:14: accounts[0].username: must be 1 to 30 characters among lower-case letters a-z, digits 0-9 and underscore; got "News"`,
				`testdata/many_problems.yaml:15: accounts[0].type: must be one of "Organization", "Person", "Service", "Group", "Application"; got "organization" (did you mean "Organization"?)`,
				`testdata/many_problems.yaml:16: accounts[1].username: required`,
			},
		},
		{
			name: "type errors",
			file: "testdata/type_error.yaml",
			want: []string{
				`testdata/type_error.yaml:3: server.tls: expected a mapping (key: value lines), got "off"`,
				`testdata/type_error.yaml:5: federation.followers_page_size: expected a single value, got a list`,
				`testdata/type_error.yaml:6: federation.allow_private_networks: expected true or false, got "maybe"`,
				`testdata/type_error.yaml:7: accounts: expected a list, got "news"`,
			},
		},
		{
			name: "unset variable and unreadable file",
			file: "testdata/unset_var.yaml",
			want: []string{
				`testdata/unset_var.yaml:5: storage.dsn: environment variable PASSERELLE_TEST_UNSET_PASSWORD is not set (write ${PASSERELLE_TEST_UNSET_PASSWORD:-default} to give a default)`,
				`testdata/unset_var.yaml:8: accounts[0].summary: cannot read ${file:...}: open testdata/does-not-exist.txt: no such file or directory`,
			},
		},
		{
			name: "duplicate key",
			file: "testdata/duplicate_key.yaml",
			want: []string{
				`testdata/duplicate_key.yaml:4: duplicate key "listen" in server (first set on line 3)`,
			},
		},
		{
			name: "YAML syntax error",
			file: "testdata/syntax_error.yaml",
			want: []string{
				// yaml.v3 reports the line where the enclosing mapping starts.
				`testdata/syntax_error.yaml:2: invalid YAML: did not find expected key`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(tt.file)
			if cfg != nil {
				t.Errorf("Load returned a config along with errors")
			}
			got := errorLines(err)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load errors:\n got  %q\n want %q", got, tt.want)
			}
			if n := len(Problems(err)); n != len(tt.want) {
				t.Errorf("len(Problems(err)) = %d, want %d", n, len(tt.want))
			}
		})
	}
}

func TestLoadErrorIsOneProblemPerLine(t *testing.T) {
	_, err := Load("testdata/many_problems.yaml")
	problems := Problems(err)
	lines := errorLines(err)
	if len(problems) != 10 || len(lines) != 10 {
		t.Fatalf("got %d problems and %d lines, want 10 of each:\n%v", len(problems), len(lines), err)
	}
	for i, p := range problems {
		if p.Error() != lines[i] {
			t.Errorf("line %d = %q, want problem %q", i, lines[i], p.Error())
		}
		if p.File != "testdata/many_problems.yaml" || p.Line == 0 {
			t.Errorf("problem %d: File %q Line %d, want the file and a line", i, p.File, p.Line)
		}
	}
}

func TestLoadExpansion(t *testing.T) {
	t.Setenv("PASSERELLE_TEST_URL", "https://social.city.example")
	t.Setenv("PASSERELLE_TEST_SUMMARY", "a: b\n- c")
	cfg, err := Load("testdata/expand.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"${VAR}", cfg.Server.PublicURL, "https://social.city.example"},
		{"${VAR:-default} with VAR unset", cfg.Server.Listen, "127.0.0.1:9999"},
		{"${file:...} relative to the config, newline trimmed", cfg.Storage.DSN, "postgres://bridge:s3cr3t@db.example/passerelle"},
		{"expansion in an integer value", cfg.Federation.DeliveryWorkers, 8},
		{"$$ and a lone $", cfg.Accounts[0].DisplayName, "Price: $5 and $HOME stays"},
		{"expanded YAML is a plain string", cfg.Accounts[0].Summary, "a: b\n- c"},
		{"no account injected", len(cfg.Accounts), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadExpandedValueCannotInjectYAML(t *testing.T) {
	t.Setenv("PASSERELLE_TEST_INJECT", "x\"\naccounts:\n  - username: evil\nserver: {")
	path := writeConfig(t, `server:
  public_url: "https://social.city.example"
accounts:
  - username: news
    display_name: "${PASSERELLE_TEST_INJECT}"
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(cfg.Accounts) != 1 || cfg.Accounts[0].DisplayName != os.Getenv("PASSERELLE_TEST_INJECT") {
		t.Errorf("accounts = %+v, want one account whose display name is the variable verbatim", cfg.Accounts)
	}
}

func TestLoadUnreadableSecretWrapsError(t *testing.T) {
	_, err := Load("testdata/unset_var.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) = false for %v", err)
	}
}

func TestLoadResolvesRelativeImagePath(t *testing.T) {
	cfg, err := Load("testdata/relative_paths.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want, err := filepath.Abs("testdata/avatar.png")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Accounts[0].Avatar; got != want {
		t.Errorf("avatar = %q, want %q", got, want)
	}
	if got := cfg.Accounts[0].Header; got != "https://cdn.city.example/header.jpg" {
		t.Errorf("header = %q, want the URL unchanged", got)
	}
}

func TestLoadMergeKeys(t *testing.T) {
	cfg, err := Load("testdata/anchors.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []Account{
		{Username: "news", Type: "Service", Summary: "Automated account.", Replies: DefaultReplies, Quotes: DefaultQuotes},
		{Username: "alerts", Type: "Organization", Summary: "Automated account.", Replies: DefaultReplies, Quotes: DefaultQuotes},
	}
	if !reflect.DeepEqual(cfg.Accounts, want) {
		t.Errorf("accounts = %+v, want %+v", cfg.Accounts, want)
	}
}

func TestLoadSmallFiles(t *testing.T) {
	tests := []struct {
		name    string
		content string
		check   func(t *testing.T, cfg *Config, lines []string)
	}{
		{
			name:    "empty file reports the required keys without a line",
			content: "",
			check: func(t *testing.T, _ *Config, lines []string) {
				wantSuffixes := []string{
					"config.yaml: server.public_url: required",
					"config.yaml: accounts: at least one account is required",
				}
				if len(lines) != len(wantSuffixes) {
					t.Fatalf("errors = %q, want %d", lines, len(wantSuffixes))
				}
				for i, s := range wantSuffixes {
					if !strings.HasSuffix(lines[i], s) {
						t.Errorf("error %d = %q, want suffix %q", i, lines[i], s)
					}
				}
			},
		},
		{
			name:    "top level is not a mapping",
			content: "- a\n- b\n",
			check: func(t *testing.T, _ *Config, lines []string) {
				if len(lines) != 1 || !strings.HasSuffix(lines[0], "config.yaml:1: expected a mapping (key: value lines), got a list") {
					t.Errorf("errors = %q", lines)
				}
			},
		},
		{
			name:    "several documents",
			content: "server: {}\n---\nlog: {}\n",
			check: func(t *testing.T, _ *Config, lines []string) {
				if len(lines) != 1 || !strings.Contains(lines[0], "config.yaml:2: only one YAML document is allowed") {
					t.Errorf("errors = %q", lines)
				}
			},
		},
		{
			name: "explicit zero keeps its value, empty sections keep defaults",
			content: `server:
  public_url: https://social.city.example
log:
federation:
  followers_page_size: 0
  signature_window: 120
accounts:
  - username: news
`,
			check: func(t *testing.T, cfg *Config, lines []string) {
				if lines != nil {
					t.Fatalf("errors = %q", lines)
				}
				if cfg.Federation.FollowersPageSize != 0 {
					t.Errorf("followers_page_size = %d, want 0", cfg.Federation.FollowersPageSize)
				}
				if cfg.Federation.SignatureWindow.Duration() != 2*time.Minute {
					t.Errorf("signature_window = %v, want 2m", cfg.Federation.SignatureWindow)
				}
				if cfg.Log.Level != "info" || cfg.Log.Format != "json" {
					t.Errorf("log = %+v, want the defaults", cfg.Log)
				}
			},
		},
		{
			name: "account_domain is lower-cased",
			content: `server: {public_url: "https://social.city.example"}
federation: {account_domain: City.Example}
accounts: [{username: news}]
`,
			check: func(t *testing.T, cfg *Config, lines []string) {
				if lines != nil {
					t.Fatalf("errors = %q", lines)
				}
				if got := cfg.Handle("news"); got != "news@city.example" {
					t.Errorf("Handle = %q, want news@city.example", got)
				}
			},
		},
		{
			name: "missing postgres dsn is required, not defaulted",
			content: `server: {public_url: "https://social.city.example"}
storage:
  driver: postgres
accounts: [{username: news}]
`,
			check: func(t *testing.T, _ *Config, lines []string) {
				if len(lines) != 1 || !strings.HasSuffix(lines[0], "config.yaml:2: storage.dsn: required") {
					t.Errorf("errors = %q", lines)
				}
			},
		},
		{
			name: "a problem inside a failed value is not reported twice",
			content: `server: {public_url: "${PASSERELLE_TEST_UNSET_URL}"}
accounts: [{username: news}]
`,
			check: func(t *testing.T, _ *Config, lines []string) {
				if len(lines) != 1 || !strings.Contains(lines[0], "config.yaml:1: server.public_url: environment variable PASSERELLE_TEST_UNSET_URL is not set") {
					t.Errorf("errors = %q", lines)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(writeConfig(t, tt.content))
			tt.check(t, cfg, errorLines(err))
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-config.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func TestExampleConfig(t *testing.T) {
	// config.example.yaml references no environment variable outside comments.
	cfg, err := Load("../config.example.yaml")
	if err != nil {
		t.Fatalf("Load(config.example.yaml):\n%v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if got := cfg.Handle("news"); got != "news@social.city.example" {
		t.Errorf("Handle(news) = %q", got)
	}
	a, ok := cfg.Account("news")
	if !ok || a.DisplayName != "Ville de Test" || len(a.Fields) == 0 {
		t.Errorf("Account(news) = %+v, %v", a, ok)
	}
}
