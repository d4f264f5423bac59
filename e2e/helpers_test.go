package e2e

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation/fedtest"
)

// remoteKeys is the key pool of every simulated remote server: RSA-2048
// generation is slow, and sharing keys is invisible to the bridge (each
// actor has its own key id).
var remoteKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) { return fedtest.NewKeys(4) })

func keyPool(t *testing.T) []*rsa.PrivateKey {
	t.Helper()
	keys, err := remoteKeys()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// harness runs one bridge configuration: started, stopped and restarted
// on the same database and port.
type harness struct {
	t       *testing.T
	cfg     Config
	cfgPath string
	logPath string
	proc    *Process
	client  *http.Client
}

// newHarness writes a configuration for driver and dsn (sqlite with an
// empty dsn: a file in a temporary directory). edit, if not nil, adjusts
// the configuration first. The bridge is killed if still running when the
// test ends, and its log is dumped if the test failed.
func newHarness(t *testing.T, driver, dsn string, edit func(*Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	if driver == "sqlite" && dsn == "" {
		dsn = filepath.Join(dir, "data", "bridge.db")
	}
	h := &harness{
		t:       t,
		cfg:     Config{Addr: addr, Driver: driver, DSN: dsn, LogLevel: "info"},
		cfgPath: filepath.Join(dir, "config.yaml"),
		logPath: filepath.Join(dir, "bridge.log"),
		client:  Client(32),
	}
	if edit != nil {
		edit(&h.cfg)
	}
	if err := WriteConfig(h.cfgPath, h.cfg); err != nil {
		t.Fatal(err)
	}
	// Registered after t.TempDir (and after any PostgreSQL schema the
	// caller created), so it runs before they are removed.
	t.Cleanup(func() {
		if h.proc != nil && !h.proc.Exited() {
			h.proc.Kill()
		}
		if t.Failed() {
			h.dumpLog()
		}
	})
	return h
}

func (h *harness) dumpLog() {
	b, err := os.ReadFile(h.logPath)
	if err != nil {
		h.t.Logf("bridge log: %v", err)
		return
	}
	const max = 64 << 10
	if len(b) > max {
		b = append([]byte("[... cut ...]\n"), b[len(b)-max:]...)
	}
	h.t.Logf("bridge log (%s):\n%s", h.logPath, b)
}

// start starts the bridge and waits until /healthz answers.
func (h *harness) start() {
	h.t.Helper()
	p, err := Start(bridgeBin, h.cfgPath, h.logPath, h.cfg.ListenURL())
	if err != nil {
		h.t.Fatal(err)
	}
	h.proc = p
	if err := p.WaitHealthy(15 * time.Second); err != nil {
		h.t.Fatal(err)
	}
}

// stop sends SIGTERM and requires a clean exit (0) within 20 s. (A stop
// can take about 5 s: net/http's Shutdown waits that long for connections
// accepted but never used by a client.)
func (h *harness) stop() {
	h.t.Helper()
	start := time.Now()
	code, err := h.proc.Stop(20 * time.Second)
	h.t.Logf("bridge stopped by SIGTERM in %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		h.t.Fatal(err)
	}
	if code != 0 {
		h.t.Fatalf("bridge exited with status %d after SIGTERM, want 0", code)
	}
}

func (h *harness) actorID() string { return h.cfg.ActorID("news") }

// inbox is the shared inbox for even i, news' own inbox for odd i.
func (h *harness) inbox(i int) string {
	if i%2 == 0 {
		return h.cfg.BaseURL() + "/inbox"
	}
	return h.actorID() + "/inbox"
}

// post sends a signed request and requires 202.
func (h *harness) post(req *http.Request) error {
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST %s: status %d, want 202: %s", req.URL, resp.StatusCode, body)
	}
	return nil
}

func (h *harness) getJSON(url string, v any) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := GetJSON(ctx, h.client, url, v); err != nil {
		h.t.Fatal(err)
	}
}

// followersTotal is totalItems of news' followers collection.
func (h *harness) followersTotal() int {
	h.t.Helper()
	var c struct {
		Type       string `json:"type"`
		TotalItems int    `json:"totalItems"`
		First      string `json:"first"`
	}
	h.getJSON(h.actorID()+"/followers", &c)
	if c.Type != "OrderedCollection" {
		h.t.Fatalf("followers collection has type %q", c.Type)
	}
	return c.TotalItems
}

// followerIDs pages through news' followers collection, from first to the
// last next, and returns the ids in the order served.
func (h *harness) followerIDs() []string {
	h.t.Helper()
	var c struct {
		First string `json:"first"`
	}
	h.getJSON(h.actorID()+"/followers", &c)
	if c.First == "" {
		h.t.Fatal("followers collection has no first page")
	}
	var ids []string
	for url, pages := c.First, 0; url != ""; pages++ {
		if pages > 100 {
			h.t.Fatal("followers collection: more than 100 pages, is next looping?")
		}
		var p struct {
			Type         string   `json:"type"`
			PartOf       string   `json:"partOf"`
			Next         string   `json:"next"`
			OrderedItems []string `json:"orderedItems"`
		}
		h.getJSON(url, &p)
		if p.Type != "OrderedCollectionPage" {
			h.t.Fatalf("page %s has type %q", url, p.Type)
		}
		if len(p.OrderedItems) > 50 {
			h.t.Fatalf("page %s has %d items, page size is 50", url, len(p.OrderedItems))
		}
		ids = append(ids, p.OrderedItems...)
		url = p.Next
	}
	return ids
}

// publicKeyPEM is the public key published in news' actor document.
func (h *harness) publicKeyPEM() string {
	h.t.Helper()
	var a struct {
		ID        string `json:"id"`
		PublicKey struct {
			ID           string `json:"id"`
			Owner        string `json:"owner"`
			PublicKeyPem string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	h.getJSON(h.actorID(), &a)
	if a.ID != h.actorID() || a.PublicKey.Owner != h.actorID() || a.PublicKey.PublicKeyPem == "" {
		h.t.Fatalf("actor document: id %q, key owner %q, key %d bytes", a.ID, a.PublicKey.Owner, len(a.PublicKey.PublicKeyPem))
	}
	return a.PublicKey.PublicKeyPem
}

// idOf returns v if it is a string, or v["id"] if it is an object.
func idOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		id, _ := t["id"].(string)
		return id
	}
	return ""
}
