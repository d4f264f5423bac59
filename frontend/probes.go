package frontend

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/reqlog"
)

// Health answers /healthz: the process is alive and serving.
func Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte("ok\n"))
	})
}

// Check is one readiness condition: nil when it holds.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Ready answers /readyz: 200 when every check passes within timeout, 503
// otherwise. The body lists each check as "name: ok" or "name: failing";
// the causes, which may name internal hosts, are logged (when a check
// starts or stops failing), not served.
func Ready(timeout time.Duration, log zerolog.Logger, checks ...Check) http.Handler {
	var (
		mu      sync.Mutex
		failing = map[string]bool{}
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		var b strings.Builder
		ok := true
		for _, c := range checks {
			err := c.Check(ctx)
			mu.Lock()
			changed := failing[c.Name] != (err != nil)
			failing[c.Name] = err != nil
			mu.Unlock()
			if err != nil {
				ok = false
				fmt.Fprintf(&b, "%s: failing\n", c.Name)
				if changed {
					reqlog.Logger(r.Context(), log).Warn().Err(err).Str("check", c.Name).Msg("not ready")
				}
				continue
			}
			if changed {
				reqlog.Logger(r.Context(), log).Info().Str("check", c.Name).Msg("ready again")
			}
			fmt.Fprintf(&b, "%s: ok\n", c.Name)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write([]byte(b.String()))
	})
}
