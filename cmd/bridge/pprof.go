//go:build pprof

package main

// Profiling build (go build -tags pprof): when BRIDGE_PPROF is set to a
// loopback host:port, net/http/pprof is served there, apart from the public
// listener, with /debug/freeosmemory (POST: runtime/debug.FreeOSMemory, to
// see how much of the resident memory is garbage not yet returned). Normal
// builds do not contain this file. See bench/README.md.

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
	"runtime/debug"
)

func init() {
	addr := os.Getenv("BRIDGE_PPROF")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bridge: pprof:", err)
		os.Exit(1)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		fmt.Fprintln(os.Stderr, "bridge: pprof: BRIDGE_PPROF must be a loopback address")
		os.Exit(1)
	}
	http.HandleFunc("POST /debug/freeosmemory", func(w http.ResponseWriter, r *http.Request) {
		debug.FreeOSMemory()
		w.WriteHeader(http.StatusNoContent)
	})
	go http.Serve(ln, nil)
}
