package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// bridgeBin is the bridge binary built once by TestMain for every test.
var bridgeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "passerelle-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	bridgeBin = filepath.Join(dir, "bridge")
	if err := Build(bridgeBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
