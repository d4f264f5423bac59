package deploytest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Values substituted for the Dockerfile's build arguments.
const (
	testVersion = "9.9.9-deploytest"
	testCommit  = "0123abc"
	testDate    = "2026-01-02T03:04:05Z"
)

// bridgeBin is the bridge built once, as the Dockerfile builds it, in a
// directory any user may read (the non-root test runs it as uid 65532).
var (
	bridgeBin string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "passerelle-deploytest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploytest:", err)
		os.Exit(1)
	}
	_ = os.Chmod(dir, 0o755)
	bridgeBin = filepath.Join(dir, "bridge")
	buildErr = buildLikeDockerfile(bridgeBin)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// moduleRoot is the repository root (this package's parent).
func moduleRoot() string {
	wd, _ := os.Getwd()
	return filepath.Dir(wd)
}

// buildLikeDockerfile runs the Dockerfile's `go build` command line, with
// its environment (CGO_ENABLED=0) and its flags, the build arguments
// replaced by test values.
func buildLikeDockerfile(out string) error {
	df, err := parseDockerfile(filepath.Join(moduleRoot(), "Dockerfile"))
	if err != nil {
		return err
	}
	env, args, err := df.goBuild()
	if err != nil {
		return err
	}
	repl := strings.NewReplacer("${VERSION}", testVersion, "${COMMIT}", testCommit, "${DATE}", testDate)
	for i, a := range args {
		args[i] = repl.Replace(a)
		if i > 0 && args[i-1] == "-o" {
			args[i] = out
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleRoot()
	cmd.Env = append(os.Environ(), env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, buf.String())
	}
	return nil
}

func needBinary(t *testing.T) string {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("building the bridge as the Dockerfile does: %v", buildErr)
	}
	return bridgeBin
}
