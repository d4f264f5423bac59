package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The rooms of the code (docs/architecture.md): what each package may
// import of the others and of the large dependencies. The rules are read
// from the module's own imports (go list), so that a change that breaks
// one fails here rather than in a review.

const module = "github.com/passerelle/passerelle/"

// leaves import no package of this module.
var leaves = []string{"execpages", "hostport", "httpsig", "links", "media", "ratelimit", "render", "reqlog", "safehttp", "sanitize", "storage"}

// forbidden lists, per package, the packages of this module (or
// dependencies, given whole) it must not import.
var forbidden = map[string][]string{
	"storage":    {"net/http", "github.com/go-fed/activity/streams"},
	"jobs":       {"federation", "atproto", "publish", "feeds", "net/http"},
	"config":     {"storage", "federation", "safehttp"},
	"federation": {"publish", "api", "web", "atproto", "notice", "archive", "feeds", "xarchive", "push"},
	"atproto":    {"federation", "publish", "api", "web"},
	"moderation": {"federation", "publish", "api", "web"},
	"publish":    {"api", "web", "feeds", "xarchive"},
	"policy":     {"storage", "federation"},
	"bridgetest": {"atproto"},
	"push":       {"api", "web", "federation", "publish", "atproto"},
	"reach":      {"api", "web", "federation", "publish", "atproto", "admin"},
}

// surfaces are what only the command (and the tests' harnesses) wire:
// no package of the program imports them.
var surfaces = []string{"admin", "api", "archive", "doctor", "feeds", "frontend", "metrics", "tlsauto", "xarchive", "web"}

// harnesses may import anything: they drive the program from outside.
var harnesses = []string{"cmd/bridge", "e2e", "bench/fanout", "bench/follows", "bench/raid", "bench/bluesky"}

// owners: only these packages may import a dependency (prefix).
var owners = map[string][]string{
	"github.com/go-fed/activity":            {"federation"},
	"github.com/bluesky-social/indigo":      {"atproto"},
	"github.com/go-fed/httpsig":             {"httpsig"},
	"github.com/SherClockHolmes/webpush-go": {"push"},
	"github.com/jackc/pgx":                  {"storage", "storage/storagetest", "e2e"}, // e2e makes its test schemas
	"modernc.org/sqlite":                    {"storage"},
	"github.com/go-webauthn/webauthn":       {"admin"},
	"github.com/pquerna/otp":                {"admin", "e2e"}, // e2e computes the codes a person would type
}

func TestLayout(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}:{{join .Imports \" \"}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ":")
		imports[strings.TrimPrefix(pkg, module)] = strings.Fields(deps)
	}
	if len(imports) < 20 {
		t.Fatalf("go list found %d packages", len(imports))
	}
	ours := func(dep string) (string, bool) { return strings.CutPrefix(dep, module) }
	for pkg, deps := range imports {
		for _, dep := range deps {
			name, isOurs := ours(dep)
			if slices.Contains(leaves, pkg) && isOurs {
				t.Errorf("%s is a leaf but imports %s", pkg, name)
			}
			for _, f := range forbidden[pkg] {
				if name == f || dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s must not import %s", pkg, dep)
				}
			}
			if isOurs && name == "cmd/bridge" {
				t.Errorf("%s imports the command", pkg)
			}
			if isOurs && slices.Contains(surfaces, name) && !slices.Contains(harnesses, pkg) {
				t.Errorf("%s imports %s, which only the command wires", pkg, name)
			}
			for prefix, allowed := range owners {
				if strings.HasPrefix(dep, prefix) && !slices.Contains(allowed, pkg) {
					t.Errorf("%s imports %s, which only %v may use", pkg, dep, allowed)
				}
			}
		}
	}
	for _, leaf := range leaves {
		if _, ok := imports[leaf]; !ok {
			t.Errorf("leaf %s is not a package of the module", leaf)
		}
	}
}
