// Package deploytest holds the production-readiness tests that run the
// real bridge binary, built exactly as the Dockerfile builds it: automatic
// TLS against a real ACME server (Pebble, on loopback, with real HTTP-01 or
// TLS-ALPN-01 validation), the behaviour when the ACME server is
// unreachable, and the container checks (the Dockerfile's structure, a
// static binary running as the unprivileged user with only its data
// directory writable).
//
// Pebble is found through BRIDGE_TEST_PEBBLE (the path of its binary; .ci/run
// installs it). Without it the ACME tests skip, except under CI=true where
// they fail. Every server involved listens on 127.0.0.1 only.
package deploytest
