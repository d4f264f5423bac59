package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/passerelle/passerelle/config"
)

// cmdHealthcheck asks a running bridge for /healthz: the container
// HEALTHCHECK (the image has no curl). Without --url the address comes
// from the configuration: the metrics or plain-HTTP listener when there is
// one, else the main listener.
func cmdHealthcheck(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	fs := commandFlags("healthcheck", &path, stderr)
	target := fs.String("url", "", "URL to GET (default: /healthz on a listener from the configuration)")
	timeout := fs.Duration("timeout", 5*time.Second, "time limit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *target == "" {
		cfg, err := loadConfig(path, stderr)
		if err != nil {
			return err
		}
		*target = healthURL(cfg.Server)
	}
	client := &http.Client{
		Timeout: *timeout,
		Transport: &http.Transport{
			Proxy: nil,
			// A liveness probe on our own listener: the certificate's
			// validity is doctor's business.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // local probe
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return usageError{fmt.Sprintf("healthcheck: %v", err)}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", *target, resp.Status)
	}
	fmt.Fprintf(stdout, "%s: %s\n", *target, resp.Status)
	return nil
}

// healthURL picks the listener to probe: metrics, else plain HTTP (both
// always plain), else the main one (https unless tls.mode is off).
func healthURL(s config.Server) string {
	switch {
	case s.MetricsListen != "":
		return "http://" + dialable(s.MetricsListen) + "/healthz"
	case s.TLS.Mode == config.TLSOff:
		return "http://" + dialable(s.Listen) + "/healthz"
	case s.HTTPListen != "":
		return "http://" + dialable(s.HTTPListen) + "/healthz"
	}
	return "https://" + dialable(s.Listen) + "/healthz"
}

// dialable turns a listen address into one to connect to: an empty or
// unspecified host becomes loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
