package e2e

// A real Fedify peer (e2e/fedify/index.mjs: an ActivityPub server written
// with @fedify/fedify, pinned in e2e/fedify/package-lock.json) run on
// loopback by Node 24 from e2e/fedify/.node (e2e/fedify/install.sh puts
// both there). The tests steer it and read back what it saw through its
// JSON control API under /_test/.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FedifyDirEnv overrides where the peer's folder (e2e/fedify) is.
const FedifyDirEnv = "PASSERELLE_FEDIFY_DIR"

// ErrFedifyNotInstalled is returned by FedifyDir when the peer's Node or
// packages are missing.
var ErrFedifyNotInstalled = errors.New("e2e: the Fedify peer is not installed: run e2e/fedify/install.sh")

// First knocks: the HTTP signature spec Fedify tries first with a server it
// does not know yet (then the other one on 401/400).
const (
	FirstKnockRFC9421     = "rfc9421"
	FirstKnockDraftCavage = "draft-cavage-http-signatures-12"
)

// FedifyDir returns the peer's folder, with its Node and node_modules.
func FedifyDir() (string, error) {
	dir := os.Getenv(FedifyDirEnv)
	if dir == "" {
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "e2e", "fedify")
	}
	for _, p := range []string{filepath.Join(".node", "bin", "node"), filepath.Join("node_modules", "@fedify", "fedify", "package.json")} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			return "", ErrFedifyNotInstalled
		}
	}
	return dir, nil
}

// FedifyOptions configure StartFedify.
type FedifyOptions struct {
	// FirstKnock is Fedify's firstKnock option; empty: its default, RFC 9421.
	FirstKnock string
	// CAFile is a PEM file of CAs Node trusts besides its own
	// (NODE_EXTRA_CA_CERTS): the bridge's TLSFront.
	CAFile string
	// Log receives the peer's output; nil: discarded.
	Log io.Writer
}

// FedifyPeer is a running Fedify peer, with one user, alice.
type FedifyPeer struct {
	URL string // origin, http://127.0.0.1:PORT

	cmd    *exec.Cmd
	done   chan struct{}
	client *http.Client
}

// StartFedify starts the peer on a free loopback port and waits until it
// is ready.
func StartFedify(opts FedifyOptions) (*FedifyPeer, error) {
	dir, err := FedifyDir()
	if err != nil {
		return nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(filepath.Join(dir, ".node", "bin", "node"), "index.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FEDIFY_HOST="+host, "FEDIFY_PORT="+port, "FEDIFY_FIRST_KNOCK="+opts.FirstKnock)
	if opts.CAFile != "" {
		cmd.Env = append(cmd.Env, "NODE_EXTRA_CA_CERTS="+opts.CAFile)
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	cmd.Stderr = logw
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("e2e: start the Fedify peer: %w", err)
	}
	p := &FedifyPeer{
		URL:  "http://" + addr,
		cmd:  cmd,
		done: make(chan struct{}),
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		}},
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logw, "fedify: "+line)
			if !signalled && strings.HasPrefix(line, "ready ") {
				signalled = true
				close(ready)
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case <-ready:
		return p, nil
	case <-p.done:
		return nil, errors.New("e2e: the Fedify peer exited before it was ready")
	case <-time.After(30 * time.Second):
		p.Close()
		return nil, errors.New("e2e: the Fedify peer was not ready after 30 s")
	}
}

// Close stops the peer (SIGTERM, then SIGKILL after 5 s).
func (p *FedifyPeer) Close() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// ActorID is the actor IRI of one of the peer's users (alice).
func (p *FedifyPeer) ActorID(user string) string { return p.URL + "/users/" + user }

// Handle is user's fediverse handle, user@127.0.0.1:PORT.
func (p *FedifyPeer) Handle(user string) string {
	return user + "@" + strings.TrimPrefix(p.URL, "http://")
}

// FedifyError is an error answer of the peer's control API: Fedify failed
// to do what was asked (a lookup found nothing, a delivery was refused...).
type FedifyError struct {
	Status  int
	Message string `json:"error"`
}

func (e *FedifyError) Error() string {
	return fmt.Sprintf("e2e: Fedify peer: status %d: %s", e.Status, e.Message)
}

// Do calls the control API: GET (in nil) or POST of in as JSON, with the
// JSON answer decoded into out (if not nil).
func (p *FedifyPeer) Do(ctx context.Context, path string, in, out any) error {
	method := http.MethodGet
	var body io.Reader
	if in != nil {
		method = http.MethodPost
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("e2e: Fedify peer %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		fe := &FedifyError{Status: resp.StatusCode}
		if json.Unmarshal(data, fe) != nil || fe.Message == "" {
			fe.Message = string(data)
		}
		return fe
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// FedifyActor is what the peer's lookup found (GET /_test/lookup).
type FedifyActor struct {
	ID                string `json:"id"`
	Type              string `json:"type"`
	PreferredUsername string `json:"preferredUsername"`
	Name              string `json:"name"`
	Inbox             string `json:"inbox"`
	SharedInbox       string `json:"sharedInbox"`
	Followers         string `json:"followers"`
	PublicKey         string `json:"publicKey"`
}

// Lookup has the peer resolve a handle (@user@host) or an IRI with
// Fedify's lookupObject (WebFinger, then the actor document).
func (p *FedifyPeer) Lookup(ctx context.Context, handle string) (FedifyActor, error) {
	var a FedifyActor
	err := p.Do(ctx, "/_test/lookup?handle="+url.QueryEscape(handle), nil, &a)
	return a, err
}

// Act has the peer send an activity (verb: follow, unfollow, reply, like,
// announce, quote; see index.mjs for the fields of in) and returns the
// ids it answers with (id, and note for the ones that make a post).
func (p *FedifyPeer) Act(ctx context.Context, verb string, in map[string]any) (map[string]string, error) {
	var out map[string]string
	err := p.Do(ctx, "/_test/"+verb, in, &out)
	return out, err
}

// FedifyActivity is an activity the peer's inbox listeners received: so one
// Fedify verified (signature, and the signer owning the actor).
type FedifyActivity struct {
	Seq       int            `json:"seq"`
	Recipient string         `json:"recipient"` // "" for the shared inbox
	Verified  bool           `json:"verified"`
	Signature string         `json:"signature"` // spec of the request's signature
	KeyID     string         `json:"keyId"`
	Type      string         `json:"type"`
	ID        string         `json:"id"`
	Actor     string         `json:"actor"`
	ObjectID  string         `json:"objectId"`
	Object    map[string]any `json:"object"` // the embedded object, compacted; nil for an IRI
	JSON      map[string]any `json:"json"`
}

// String is a one-line summary for failure messages.
func (a FedifyActivity) String() string {
	return fmt.Sprintf("#%d %s %s by %s of %s (sig %s)", a.Seq, a.Type, a.ID, a.Actor, a.ObjectID, a.Signature)
}

// Inbox lists what the peer received, in order.
func (p *FedifyPeer) Inbox(ctx context.Context) ([]FedifyActivity, error) {
	var as []FedifyActivity
	err := p.Do(ctx, "/_test/inbox", nil, &as)
	return as, err
}

// WaitActivity polls the peer's inbox until an activity matches, or ctx
// ends (then the error lists what was received).
func (p *FedifyPeer) WaitActivity(ctx context.Context, what string, match func(FedifyActivity) bool) (FedifyActivity, error) {
	for {
		as, err := p.Inbox(ctx)
		if err != nil {
			return FedifyActivity{}, err
		}
		for _, a := range as {
			if match(a) {
				return a, nil
			}
		}
		select {
		case <-ctx.Done():
			var b strings.Builder
			for _, a := range as {
				b.WriteString("\n  " + a.String())
			}
			return FedifyActivity{}, fmt.Errorf("e2e: the Fedify peer received no %s (%w); it received:%s", what, ctx.Err(), b.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// FedifyKnock is one HTTP request Fedify sent, as its global fetch saw it.
type FedifyKnock struct {
	Seq    int    `json:"seq"`
	Method string `json:"method"`
	URL    string `json:"url"`
	Spec   string `json:"spec"` // rfc9421, draft-cavage-http-signatures-12 or none
	KeyID  string `json:"keyId"`
	Status int    `json:"status"`
	Body   string `json:"body"` // the start of an error answer
	Error  string `json:"error"`
}

func (k FedifyKnock) String() string {
	s := fmt.Sprintf("#%d %s %s signed %s → %d", k.Seq, k.Method, k.URL, k.Spec, k.Status)
	if k.Body != "" {
		s += " " + strconv.Quote(k.Body)
	}
	if k.Error != "" {
		s += " error " + k.Error
	}
	return s
}

// Knocks lists every request Fedify sent, in order.
func (p *FedifyPeer) Knocks(ctx context.Context) ([]FedifyKnock, error) {
	var ks []FedifyKnock
	err := p.Do(ctx, "/_test/knocks", nil, &ks)
	return ks, err
}

// FedifyDelivery is one POST the peer's inboxes received, with the spec of
// its signature and Fedify's answer (202 when verified).
type FedifyDelivery struct {
	Seq    int    `json:"seq"`
	Path   string `json:"path"`
	Spec   string `json:"spec"`
	KeyID  string `json:"keyId"`
	Type   string `json:"type"`
	ID     string `json:"id"`
	Actor  string `json:"actor"`
	Status int    `json:"status"`
}

// Incoming lists the POSTs the peer's inboxes received, in order.
func (p *FedifyPeer) Incoming(ctx context.Context) ([]FedifyDelivery, error) {
	var ds []FedifyDelivery
	err := p.Do(ctx, "/_test/incoming", nil, &ds)
	return ds, err
}

// SettledIncoming is Incoming once no delivery is still being answered
// (status 0: the bridge's workers may still be sending when a test looks),
// or as they stand when ctx ends.
func (p *FedifyPeer) SettledIncoming(ctx context.Context) ([]FedifyDelivery, error) {
	for {
		ds, err := p.Incoming(ctx)
		if err != nil {
			return nil, err
		}
		inFlight := slices.ContainsFunc(ds, func(d FedifyDelivery) bool { return d.Status == 0 })
		if !inFlight {
			return ds, nil
		}
		select {
		case <-ctx.Done():
			return ds, nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Specs is the signature spec Fedify remembers per origin (what the
// double-knock settled on).
func (p *FedifyPeer) Specs(ctx context.Context) (map[string]string, error) {
	var m map[string]string
	err := p.Do(ctx, "/_test/specs", nil, &m)
	return m, err
}
