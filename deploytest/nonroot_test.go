package deploytest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The unprivileged user of the image (distroless "nonroot").
const nonrootUID = 65532

// nonrootDirs makes the container-like layout: a configuration directory
// owned by root and only readable by others (like the read-only
// /etc/passerelle mount) and a data directory owned by the unprivileged user
// (like the /data volume).
func nonrootDirs(t *testing.T) (root, configDir, dataDir string) {
	t.Helper()
	root, err := os.MkdirTemp("", "passerelle-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	configDir, dataDir = filepath.Join(root, "etc"), filepath.Join(root, "data")
	for _, d := range []string{configDir, dataDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dataDir, nonrootUID, nonrootUID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	return root, configDir, dataDir
}

func writeConfig(t *testing.T, path, yaml string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
}

// asNonroot runs the binary as uid/gid 65532 with no supplementary group,
// from /, as the image's USER line does.
func asNonroot(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nonrootUID, Gid: nonrootUID, Groups: []uint32{}}}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	return cmd
}

// TestRunsAsNonrootWithOnlyDataWritable runs the binary the Dockerfile
// builds as the image's user: it serves /healthz with its database in the
// data directory, the healthcheck subcommand (the HEALTHCHECK) succeeds,
// and a database anywhere else fails for lack of permission.
func TestRunsAsNonrootWithOnlyDataWritable(t *testing.T) {
	bin := needBinary(t)
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot switch to uid 65532 to run the binary as the image's user")
	}
	root, configDir, dataDir := nonrootDirs(t)
	addr := freeAddr(t)
	cfgPath := filepath.Join(configDir, "config.yaml")
	writeConfig(t, cfgPath, fmt.Sprintf(`server:
  public_url: "https://social.city.example"
  listen: %q
  tls:
    mode: "off"
storage:
  driver: sqlite
  dsn: %q
accounts:
  - username: news
`, addr, filepath.Join(dataDir, "bridge.db")))

	p := startProcess(t, asNonroot(exec.Command(bin, "--config", cfgPath, "serve")))
	if err := waitHTTP("http://"+addr+"/healthz", 20*time.Second); err != nil {
		t.Fatalf("%v\nlog:\n%s", err, p.log())
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), fmt.Sprintf("\nUid:\t%d\t%d\t%d\t%d\n", nonrootUID, nonrootUID, nonrootUID, nonrootUID)) {
		t.Errorf("the bridge does not run as uid %d:\n%s", nonrootUID, status)
	}
	// The HEALTHCHECK command, as the same user.
	out, err := asNonroot(exec.Command(bin, "--config", cfgPath, "healthcheck")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "200 OK") {
		t.Errorf("healthcheck: %v\n%s", err, out)
	}
	// What it wrote is in the data directory, owned by the user.
	fi, err := os.Stat(filepath.Join(dataDir, "bridge.db"))
	if err != nil {
		t.Fatalf("no database in the data directory: %v", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != nonrootUID {
		t.Errorf("database owned by uid %d", st.Uid)
	}
	if code := p.stop(t, 15*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM\n%s", code, p.log())
	}

	// Anywhere else is read-only for this user: the bridge refuses to start
	// and says why.
	for _, dsn := range []string{filepath.Join(configDir, "bridge.db"), filepath.Join(root, "elsewhere", "bridge.db")} {
		bad := filepath.Join(configDir, "bad.yaml")
		writeConfig(t, bad, fmt.Sprintf(`server:
  public_url: "https://social.city.example"
  listen: %q
storage:
  dsn: %q
accounts:
  - username: news
`, addr, dsn))
		var stderr bytes.Buffer
		cmd := asNonroot(exec.Command(bin, "--config", bad, "serve"))
		cmd.Stderr = &stderr
		err := cmd.Run()
		if err == nil || !strings.Contains(stderr.String(), "permission denied") {
			t.Errorf("serve with its database at %s: %v, stderr:\n%s\nwant a permission error", dsn, err, stderr.String())
		}
		if _, err := os.Stat(dsn); err == nil {
			t.Errorf("%s was created outside the data directory", dsn)
		}
	}
}
