package fedtest

// The remote actors' side: building and signing the requests a Mastodon
// user's server would send to Passerelle. The signer is written here (not
// package federation's) so that Passerelle's verifier is tested against an
// independent implementation.

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const activityStreams = "https://www.w3.org/ns/activitystreams"

// GenerateKeys generates n RSA-2048 keys on all CPUs, for Options.Keys.
func GenerateKeys(tb testing.TB, n int) []*rsa.PrivateKey {
	tb.Helper()
	keys, err := NewKeys(n)
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

// NewKeys is GenerateKeys without testing.TB (benchmark programs, tools).
func NewKeys(n int) ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			keys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("fedtest: generate key: %w", err)
		}
	}
	return keys, nil
}

// Sign signs r as actor i, the way Mastodon does: Date from now, and
// headers "(request-target) host date", plus "digest" (SHA-256 of body,
// which must be exactly what r sends) when body is not nil; algorithm
// rsa-sha256. The target is r.URL.RequestURI() and the host r.Host (or
// r.URL.Host), as net/http sends them.
func (s *Server) Sign(i int, r *http.Request, body []byte, now time.Time) error {
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	date := now.UTC().Format(http.TimeFormat)
	r.Header.Set("Date", date)
	names := []string{"(request-target)", "host", "date"}
	lines := []string{
		"(request-target): " + strings.ToLower(r.Method) + " " + r.URL.RequestURI(),
		"host: " + r.Host,
		"date: " + date,
	}
	if body != nil {
		sum := sha256.Sum256(body)
		digest := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
		r.Header.Set("Digest", digest)
		names = append(names, "digest")
		lines = append(lines, "digest: "+digest)
	}
	hash := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.actors[i].key, crypto.SHA256, hash[:])
	if err != nil {
		return fmt.Errorf("fedtest: sign: %w", err)
	}
	r.Header.Set("Signature", fmt.Sprintf(`keyId="%s",algorithm="rsa-sha256",headers="%s",signature="%s"`,
		s.KeyID(i), strings.Join(names, " "), base64.StdEncoding.EncodeToString(sig)))
	return nil
}

// nextID returns a fresh id under actor i: <actor>/<kind>/<n>.
func (s *Server) nextID(i int, kind string) string {
	return s.ActorID(i) + "/" + kind + "/" + strconv.FormatInt(s.seq.Add(1), 10)
}

// FollowActivity returns a Follow of target by actor i, with a fresh id
// <actor>/follows/<n>.
func (s *Server) FollowActivity(i int, target string) map[string]any {
	return map[string]any{
		"@context": activityStreams,
		"id":       s.nextID(i, "follows"),
		"type":     "Follow",
		"actor":    s.ActorID(i),
		"object":   target,
	}
}

// SignedFollow builds a signed POST to inboxURL of a Follow of target by
// actor i, and returns it with the Follow's id.
func (s *Server) SignedFollow(i int, inboxURL, target string, now time.Time) (*http.Request, string, error) {
	follow := s.FollowActivity(i, target)
	r, err := s.SignedActivity(i, inboxURL, follow, now)
	if err != nil {
		return nil, "", err
	}
	return r, follow["id"].(string), nil
}

// SignedActivity builds a signed POST of activity to inboxURL as actor i.
// Missing "@context", "actor" and "id" are filled in (the id as
// <actor>/activities/<n>); activity itself is not modified. For instance
// an Undo: map[string]any{"type": "Undo", "object": follow}.
func (s *Server) SignedActivity(i int, inboxURL string, activity map[string]any, now time.Time) (*http.Request, error) {
	a := make(map[string]any, len(activity)+3)
	for k, v := range activity {
		a[k] = v
	}
	setDefault(a, "@context", activityStreams)
	setDefault(a, "actor", s.ActorID(i))
	if _, ok := a["id"]; !ok {
		a["id"] = s.nextID(i, "activities")
	}
	body, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("fedtest: encode activity: %w", err)
	}
	r, err := http.NewRequest(http.MethodPost, inboxURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("fedtest: %w", err)
	}
	r.Header.Set("Content-Type", ContentTypeAS2)
	if err := s.Sign(i, r, body, now); err != nil {
		return nil, err
	}
	return r, nil
}

// SignedGet builds a GET of url signed by actor i, as a server in secure
// mode fetches documents.
func (s *Server) SignedGet(i int, url string, now time.Time) (*http.Request, error) {
	r, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fedtest: %w", err)
	}
	r.Header.Set("Accept", ContentTypeAS2)
	if err := s.Sign(i, r, nil, now); err != nil {
		return nil, err
	}
	return r, nil
}

func setDefault(m map[string]any, k string, v any) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}
