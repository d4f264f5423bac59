package tlsauto

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// FileCertificate serves a certificate and key from PEM files (tls.mode
// "manual"). The files are read again when they change (checked every
// CheckInterval), so that a certificate renewed by another tool is picked
// up without a restart. When they cannot be read, the previous certificate
// stays in use (or, at start, handshakes fail) and the cause is logged;
// loading is retried with backoff, never a crash.
type FileCertificate struct {
	certFile, keyFile string
	log               zerolog.Logger
	now               func() time.Time

	mu      sync.RWMutex
	cert    *tls.Certificate
	modTime time.Time // newest of the two files' modification times at load
	lastErr error
}

// CheckInterval is how often FileCertificate looks for changed files.
const CheckInterval = time.Minute

// NewFileCertificate loads the files once; the error, if any, is also kept
// for Err and logged, and loading is retried by Run.
func NewFileCertificate(certFile, keyFile string, log zerolog.Logger) *FileCertificate {
	f := &FileCertificate{certFile: certFile, keyFile: keyFile, log: log, now: time.Now}
	f.reload(true)
	return f
}

// Err is the last loading problem, nil when the files loaded.
func (f *FileCertificate) Err() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.lastErr
}

// Run reloads changed files, and retries failed loads with backoff (from
// 5 s up to CheckInterval), until ctx ends.
func (f *FileCertificate) Run(ctx context.Context) {
	wait := 5 * time.Second
	for {
		d := CheckInterval
		if f.Err() != nil {
			d, wait = wait, min(wait*2, CheckInterval)
		} else {
			wait = 5 * time.Second
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		f.reload(false)
	}
}

// reload loads the files if they changed since the last load (or always
// when force).
func (f *FileCertificate) reload(force bool) {
	mod, statErr := newestModTime(f.certFile, f.keyFile)
	f.mu.RLock()
	unchanged := statErr == nil && f.cert != nil && !mod.After(f.modTime)
	f.mu.RUnlock()
	if unchanged && !force {
		return
	}
	cert, err := LoadKeyPair(f.certFile, f.keyFile)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		if f.lastErr == nil || f.lastErr.Error() != err.Error() {
			ev := f.log.Error().Err(err)
			if f.cert != nil {
				ev.Msg("tls: cannot reload the certificate files; still serving the previous certificate")
			} else {
				ev.Msg("tls: cannot load the certificate files; HTTPS handshakes fail until they are fixed (retrying)")
			}
		}
		f.lastErr = err
		return
	}
	f.cert, f.modTime, f.lastErr = cert, mod, nil
	ev := f.log.Info()
	if left := cert.Leaf.NotAfter.Sub(f.now()); left <= 0 {
		ev = f.log.Error().Str("cause", "the certificate has expired: renew it and replace "+f.certFile)
	} else if left < 14*24*time.Hour {
		ev = f.log.Warn().Str("cause", "the certificate expires in less than 14 days: renew it")
	}
	ev.Strs("names", cert.Leaf.DNSNames).Time("not_after", cert.Leaf.NotAfter).Str("cert_file", f.certFile).
		Msg("tls: certificate loaded")
}

func newestModTime(paths ...string) (time.Time, error) {
	var newest time.Time
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return time.Time{}, err
		}
		if fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	return newest, nil
}

// GetCertificate is a tls.Config.GetCertificate serving the loaded
// certificate.
func (f *FileCertificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.cert == nil {
		return nil, fmt.Errorf("tlsauto: no certificate loaded: %w", f.lastErr)
	}
	return f.cert, nil
}

// Expiry returns the loaded certificate's expiry, whatever the name (one
// certificate serves them all).
func (f *FileCertificate) Expiry(string) (time.Time, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.cert == nil {
		return time.Time{}, false
	}
	return f.cert.Leaf.NotAfter, true
}

// TLSConfig serves the file certificate.
func (f *FileCertificate) TLSConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: f.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
		MinVersion:     tls.VersionTLS12,
	}
}

// LoadKeyPair reads a PEM certificate chain and its key, with errors that
// name the file at fault.
func LoadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("tlsauto: read cert_file: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("tlsauto: read key_file: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tlsauto: %s and %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tlsauto: parse %s: %w", certFile, err)
		}
	}
	return &cert, nil
}

// ErrExpired is wrapped by CheckValidity for a certificate past NotAfter.
var ErrExpired = errors.New("certificate expired")

// CheckValidity reports whether leaf is valid at now: not yet valid,
// expired, or expiring within soon are errors naming the date.
func CheckValidity(leaf *x509.Certificate, now time.Time, soon time.Duration) error {
	switch {
	case now.Before(leaf.NotBefore):
		return fmt.Errorf("certificate not valid before %s (is the clock right?)", leaf.NotBefore.UTC().Format(time.RFC3339))
	case !now.Before(leaf.NotAfter):
		return fmt.Errorf("%w on %s", ErrExpired, leaf.NotAfter.UTC().Format(time.RFC3339))
	case leaf.NotAfter.Sub(now) < soon:
		return fmt.Errorf("certificate expires soon, on %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}
