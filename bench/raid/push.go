package main

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/passerelle/passerelle/e2e"
	"github.com/passerelle/passerelle/storage"
)

// pushService is a Web Push service on loopback (127.0.3.1) that counts
// the pushes each subscription receives: urgent ones are the bridge's
// raid pushes, normal ones single mentions. It does not decrypt them
// (e2e/push_test.go does, with an independent implementation).
type pushService struct {
	srv     *http.Server
	mu      sync.Mutex
	raid    map[string]int // path → raid pushes
	mention map[string]int
}

// startPushService starts it and subscribes n tokens of @news to it, with
// the mention alert, straight in the store (as the client API would).
func startPushService(ctx context.Context, pub *e2e.Publisher, n int) (*pushService, error) {
	ps := &pushService{raid: map[string]int{}, mention: map[string]int{}}
	if n <= 0 {
		return ps, nil
	}
	ln, err := net.Listen("tcp", "127.0.3.1:0")
	if err != nil {
		return nil, err
	}
	ps.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		ps.mu.Lock()
		if r.Header.Get("Urgency") == "high" {
			ps.raid[r.URL.Path]++
		} else {
			ps.mention[r.URL.Path]++
		}
		ps.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}), ReadHeaderTimeout: 10 * time.Second}
	go ps.srv.Serve(ln)
	for i := range n {
		key, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		secret := make([]byte, 16)
		rand.Read(secret)
		tok, err := pub.Store.InsertToken(ctx, storage.Token{Hash: fmt.Sprintf("bench-push-%d-%d", time.Now().UnixNano(), i),
			Account: "news", Name: "bench push", Scopes: "push", CreatedAt: time.Now()})
		if err != nil {
			return nil, err
		}
		if _, err := pub.Store.PutPushSubscription(ctx, storage.PushSubscription{TokenID: tok, Account: "news",
			Endpoint: fmt.Sprintf("http://%s/push/%d", ln.Addr(), i),
			P256dh:   base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
			Auth:     base64.RawURLEncoding.EncodeToString(secret),
			Alerts:   []string{"mention"}, Policy: storage.PushPolicyAll}); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// Counts returns the raid pushes, the single mention pushes and the most
// raid pushes one subscription received.
func (ps *pushService) Counts() (raid, mention, maxRaid int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, c := range ps.raid {
		raid += c
		maxRaid = max(maxRaid, c)
	}
	for path, c := range ps.mention {
		if strings.HasPrefix(path, "/push/") {
			mention += c
		}
	}
	return raid, mention, maxRaid
}

func (ps *pushService) Close() {
	if ps.srv != nil {
		ps.srv.Close()
	}
}
