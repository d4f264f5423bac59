package main

// The remote side of the fan-out benchmark: thousands of simulated servers
// in this one process, each a TCP listener of its own on a loopback address
// (127.1.x.y), answering on a hand-written HTTP/1.1 loop with one goroutine
// per connection and no actors. Every inbox request is checked with
// fedtest's independent verifier (signed headers, Date, Digest, RSA
// signature) against the bridge's public key fetched beforehand, and the
// activity must be a Create by @news of the expected Note.

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passerelle/passerelle/federation/fedtest"
)

// Kinds of simulated servers.
const (
	kindLive     = iota // answers 202 after the latency
	kindFailOnce        // answers 500 to its first request, then as live
	kindDark            // accepts the connection, reads the request, never answers
)

type server struct {
	kind int
	host string // ip:port
	ln   net.Listener

	requests atomic.Int32 // inbox requests received
	creates  atomic.Int32 // verified Creates received (duplicates counted)
	failed   atomic.Bool  // kindFailOnce: the failure was given
	at       atomic.Int64 // UnixNano of the first verified Create
	object   atomic.Value // string: object id of the first verified Create
}

func (s *server) actorID() string { return "http://" + s.host + "/users/u0" }
func (s *server) inbox() string   { return "http://" + s.host + "/users/u0/inbox" }
func (s *server) shared() string  { return "http://" + s.host + "/inbox" }

type farm struct {
	servers []*server
	latency time.Duration

	pub     *rsa.PublicKey // the bridge's key, set before the fan-out
	actorID string         // @news
	keyID   string
	edPub   ed25519.PublicKey // the bridge's Ed25519 key (-ed25519), at edKeyID
	edKeyID string

	live      int           // servers that must receive the Create
	remaining atomic.Int64  // live servers still waiting
	done      chan struct{} // closed when remaining reaches 0
	bad       atomic.Int64  // requests that did not verify
	mu        sync.Mutex
	firstBad  error
}

// newFarm listens on n loopback addresses, dark and failing ones spread
// at random (seeded: the same layout every run).
func newFarm(n int, dark, failing float64, latency time.Duration, seed uint64) (*farm, error) {
	f := &farm{latency: latency, done: make(chan struct{})}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	perm := r.Perm(n)
	nDark, nFail := int(float64(n)*dark+0.5), int(float64(n)*failing+0.5)
	for i := range n {
		// 127.1.0.1 ... 127.1.0.250, 127.1.1.1 ...: 250 per /24.
		addr := fmt.Sprintf("127.%d.%d.%d:0", 1+i/(250*256), (i/250)%256, i%250+1)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			f.close()
			return nil, fmt.Errorf("farm: listen on %s: %w (ulimit -n?)", addr, err)
		}
		s := &server{kind: kindLive, host: ln.Addr().String(), ln: ln}
		switch k := perm[i]; {
		case k < nDark:
			s.kind = kindDark
		case k < nDark+nFail:
			s.kind = kindFailOnce
		}
		if s.kind != kindDark {
			f.live++
		}
		f.servers = append(f.servers, s)
	}
	f.remaining.Store(int64(f.live))
	for _, s := range f.servers {
		go f.accept(s)
	}
	return f, nil
}

func (f *farm) close() {
	for _, s := range f.servers {
		s.ln.Close()
	}
}

// expect sets what the inboxes check: the signer's key and actor.
func (f *farm) expect(pub *rsa.PublicKey, actorID string) {
	f.pub, f.actorID, f.keyID = pub, actorID, actorID+"#main-key"
}

func (f *farm) accept(s *server) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go f.serveConn(s, c)
	}
}

// serveConn answers HTTP/1.1 requests on one keep-alive connection.
func (f *farm) serveConn(s *server, c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 4096)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			return
		}
		s.requests.Add(1)
		if s.kind == kindDark {
			// Never answer: hold the connection until the bridge gives up.
			io.Copy(io.Discard, c)
			return
		}
		status := f.inbox(s, req, body)
		time.Sleep(f.latency)
		if _, err := io.WriteString(c, "HTTP/1.1 "+strconv.Itoa(status)+" "+http.StatusText(status)+"\r\nContent-Length: 0\r\n\r\n"); err != nil {
			return
		}
	}
}

// inbox verifies one request and records it; it returns the status.
func (f *farm) inbox(s *server, req *http.Request, body []byte) int {
	if req.Method != http.MethodPost || req.URL.Path != "/inbox" {
		f.reject(fmt.Errorf("%s: %s %s, want POST /inbox (shared inbox)", s.host, req.Method, req.URL.Path))
		return http.StatusNotFound
	}
	var err error
	if req.Header.Get("Signature-Input") != "" && f.edPub != nil {
		err = verifyEd25519(req, body, f.edPub, f.edKeyID, time.Now(), 5*time.Minute)
	} else {
		var keyID string
		keyID, err = fedtest.VerifyWithKey(req, body, f.pub, time.Now(), 5*time.Minute)
		if err == nil && keyID != f.keyID {
			err = fmt.Errorf("keyId %q, want %q", keyID, f.keyID)
		}
	}
	var act struct {
		Type   string `json:"type"`
		Actor  string `json:"actor"`
		Object struct {
			ID string `json:"id"`
		} `json:"object"`
	}
	if err == nil {
		if err = json.Unmarshal(body, &act); err == nil && (act.Type != "Create" || act.Actor != f.actorID) {
			err = fmt.Errorf("activity %s by %s, want a Create by %s", act.Type, act.Actor, f.actorID)
		}
	}
	if err != nil {
		f.reject(fmt.Errorf("%s: %w", s.host, err))
		return http.StatusUnauthorized
	}
	if s.kind == kindFailOnce && s.failed.CompareAndSwap(false, true) {
		return http.StatusInternalServerError
	}
	if s.creates.Add(1) == 1 {
		s.at.Store(time.Now().UnixNano())
		s.object.Store(act.Object.ID)
		if f.remaining.Add(-1) == 0 {
			close(f.done)
		}
	}
	return http.StatusAccepted
}

// verifyEd25519 checks an RFC 9421 signature made with the bridge's
// Ed25519 key, written here from RFC 9421 (not with package httpsig, so
// that a misreading of ours is not shared): Signature-Input's sig1 must
// cover "@method" "@target-uri" "@authority" "content-digest" with
// keyid and alg ed25519 and a created within window; the Content-Digest
// must be the body's SHA-256; the signature base is rebuilt from the
// request as received.
func verifyEd25519(req *http.Request, body []byte, pub ed25519.PublicKey, keyID string, now time.Time, window time.Duration) error {
	input, ok := strings.CutPrefix(req.Header.Get("Signature-Input"), "sig1=")
	if !ok {
		return errors.New("rfc9421: no sig1 in Signature-Input")
	}
	const covered = `("@method" "@target-uri" "@authority" "content-digest")`
	params, ok := strings.CutPrefix(input, covered+";")
	if !ok {
		return fmt.Errorf("rfc9421: covered components %q, want %s", input, covered)
	}
	var created int64 = -1
	var gotKey, alg string
	for _, p := range strings.Split(params, ";") {
		name, value, _ := strings.Cut(p, "=")
		switch name {
		case "created":
			created, _ = strconv.ParseInt(value, 10, 64)
		case "keyid":
			gotKey = strings.Trim(value, `"`)
		case "alg":
			alg = strings.Trim(value, `"`)
		}
	}
	if gotKey != keyID || alg != "ed25519" {
		return fmt.Errorf("rfc9421: keyid %q alg %q, want %q ed25519", gotKey, alg, keyID)
	}
	if d := now.Sub(time.Unix(created, 0)); created < 0 || d > window || d < -window {
		return fmt.Errorf("rfc9421: created %d out of the window", created)
	}
	sum := sha256.Sum256(body)
	digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	if req.Header.Get("Content-Digest") != digest {
		return fmt.Errorf("rfc9421: Content-Digest %q, want %q", req.Header.Get("Content-Digest"), digest)
	}
	sig, ok := strings.CutPrefix(req.Header.Get("Signature"), "sig1=:")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(sig, ":"))
	if !ok || err != nil {
		return fmt.Errorf("rfc9421: Signature %q", req.Header.Get("Signature"))
	}
	base := `"@method": ` + req.Method + "\n" +
		`"@target-uri": http://` + req.Host + req.URL.RequestURI() + "\n" +
		`"@authority": ` + strings.ToLower(req.Host) + "\n" +
		`"content-digest": ` + digest + "\n" +
		`"@signature-params": ` + input
	if !ed25519.Verify(pub, []byte(base), raw) {
		return errors.New("rfc9421: Ed25519 signature does not verify")
	}
	return nil
}

func (f *farm) reject(err error) {
	f.bad.Add(1)
	f.mu.Lock()
	if f.firstBad == nil {
		f.firstBad = err
	}
	f.mu.Unlock()
}
