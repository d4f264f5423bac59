package deploytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnit checks the example unit: it runs `bridge serve` as an
// unprivileged user with the hardening options, and systemd-analyze (when
// installed) accepts it.
func TestSystemdUnit(t *testing.T) {
	path := filepath.Join(moduleRoot(), "packaging", "systemd", "passerelle.service")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(data)
	for _, want := range []string{
		"User=passerelle", "ExecStart=/usr/local/bin/bridge --config /etc/passerelle/config.yaml serve",
		"KillSignal=SIGTERM", "StateDirectory=passerelle", "NoNewPrivileges=yes", "ProtectSystem=strict",
		"ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
		"AmbientCapabilities=CAP_NET_BIND_SERVICE", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes",
	} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("the unit lacks %q", want)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: structural checks only")
		return
	}
	bin := needBinary(t)
	tmp := filepath.Join(t.TempDir(), "passerelle.service")
	if err := os.WriteFile(tmp, []byte(strings.ReplaceAll(unit, "/usr/local/bin/bridge", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", tmp).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
