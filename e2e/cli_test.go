package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runBridge runs the binary with args and returns stdout, stderr and the
// exit status.
func runBridge(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bridgeBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run bridge %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func TestCheckConfigExample(t *testing.T) {
	stdout, stderr, code := runBridge(t, "--config", "../config.example.yaml", "check-config")
	if code != 0 {
		t.Fatalf("check-config on config.example.yaml: exit %d, want 0\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "OK") || !strings.Contains(stdout, "@news@social.city.example") {
		t.Errorf("check-config stdout = %q, want OK and the handle", stdout)
	}
}

func TestCheckConfigReportsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	const bad = `server:
  public_url: "http://127.0.0.1:8080"
  listne: "127.0.0.1:8080"
storage:
  driver: "mysql"
  dsn: "./data/bridge.db"
federaton:
  allow_private_networks: true
accounts:
  - username: news
`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runBridge(t, "--config", path, "check-config")
	if code == 0 {
		t.Fatalf("check-config on a bad file: exit 0\nstdout: %s", stdout)
	}
	// One problem per line, each naming the file, line and key.
	want := []struct{ line, key string }{
		{path + ":3:", `"listne"`},
		{path + ":5:", "storage.driver"},
		{path + ":7:", `"federaton"`},
	}
	var problems []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), path+":") {
			problems = append(problems, strings.TrimSpace(l))
		}
	}
	if len(problems) != len(want) {
		t.Errorf("got %d problem lines, want %d:\n%s", len(problems), len(want), stderr)
	}
	for _, w := range want {
		found := false
		for _, p := range problems {
			if strings.HasPrefix(p, w.line) && strings.Contains(p, w.key) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem line starting %q naming %s in:\n%s", w.line, w.key, stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	stdout, stderr, code := runBridge(t, "version")
	if code != 0 || !strings.Contains(stdout, "passerelle") {
		t.Fatalf("version: exit %d, stdout %q, stderr %q; want 0 and \"passerelle\"", code, stdout, stderr)
	}
}
