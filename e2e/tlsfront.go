package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// TLSFront is an HTTPS reverse proxy on loopback, as an operator puts
// nginx or Caddy in front of a bridge with tls.mode "off": it terminates
// TLS with a certificate for localhost from a throwaway CA made for it,
// and forwards to the bridge's plain-HTTP listener keeping the Host
// (X-Forwarded-For and -Proto added). Peers that insist on HTTPS (Fedify
// looks handles up over HTTPS only) reach the bridge through it; they must
// trust CAFile (Node: NODE_EXTRA_CA_CERTS).
type TLSFront struct {
	URL    string // https://localhost:PORT: the bridge's server.public_url
	CAFile string // PEM of the CA that signed the certificate

	ln     net.Listener
	srv    *http.Server
	pool   *x509.CertPool
	dir    string
	target *url.URL
}

// ListenTLSFront takes a loopback port and makes the CA and certificate;
// the bridge's address is given later to Serve, once its configuration
// (which needs URL) is written. dir receives the CA file.
func ListenTLSFront(dir string) (*TLSFront, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("e2e: tls front: listen: %w", err)
	}
	f := &TLSFront{ln: ln, dir: dir}
	port := ln.Addr().(*net.TCPAddr).Port
	f.URL = "https://localhost:" + strconv.Itoa(port)
	cert, caPEM, err := throwawayCert()
	if err != nil {
		ln.Close()
		return nil, err
	}
	f.CAFile = filepath.Join(dir, "tls-front-ca.pem")
	if err := os.WriteFile(f.CAFile, caPEM, 0o644); err != nil {
		ln.Close()
		return nil, fmt.Errorf("e2e: tls front: %w", err)
	}
	f.pool = x509.NewCertPool()
	f.pool.AppendCertsFromPEM(caPEM)
	f.srv = &http.Server{
		Handler:           &httputil.ReverseProxy{Rewrite: f.rewrite, ErrorLog: log.New(io.Discard, "", 0)},
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	return f, nil
}

// Serve starts forwarding to the bridge at target (http://127.0.0.1:PORT).
func (f *TLSFront) Serve(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("e2e: tls front: target: %w", err)
	}
	f.target = u
	go func() {
		if err := f.srv.ServeTLS(f.ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("e2e: tls front: %v", err)
		}
	}()
	return nil
}

func (f *TLSFront) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(f.target)
	pr.Out.Host = pr.In.Host // the public host: signatures cover it
	pr.SetXForwarded()
}

// Client is an HTTP client that trusts the front's CA.
func (f *TLSFront) Client() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:           nil,
			TLSClientConfig: &tls.Config{RootCAs: f.pool, MinVersion: tls.VersionTLS12},
		},
	}
}

// Close stops the proxy.
func (f *TLSFront) Close() error { return f.srv.Close() }

// throwawayCert makes a CA and a certificate for localhost, 127.0.0.1 and
// ::1 signed by it, valid for a day; it returns the certificate (with its
// key) and the CA in PEM.
func throwawayCert() (tls.Certificate, []byte, error) {
	fail := func(err error) (tls.Certificate, []byte, error) {
		return tls.Certificate{}, nil, fmt.Errorf("e2e: tls front: certificate: %w", err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fail(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Passerelle e2e throwaway CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return fail(err)
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		return fail(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fail(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return fail(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}
