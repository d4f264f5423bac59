package reqlog

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/rs/xid"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"
)

const (
	// Header carries the request id, in requests from trusted proxies and
	// in every answer.
	Header = "X-Request-Id"
	// Field is the log field of the request id.
	Field = "req_id"
	// maxIDLength bounds an incoming id (a UUID is 36 characters, a trace
	// id with its prefixes some 60).
	maxIDLength = 128
)

// Handler returns the middleware that gives each request an id and puts
// log, with the id as req_id, in the request's context; with access, it
// also writes one access-log line per request through that logger. See
// the package documentation for where it must be mounted.
func Handler(log zerolog.Logger, access bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if access {
			next = hlog.AccessHandler(accessLine)(next)
		}
		return hlog.NewHandler(log)(requestID(next))
	}
}

type idKey struct{}

// requestID keeps a well-formed incoming X-Request-Id or makes one,
// stores it in the context and in the context's logger, and answers it.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(Header)
		if !wellFormed(id) {
			id = xid.New().String()
		}
		ctx := context.WithValue(r.Context(), idKey{}, id)
		zerolog.Ctx(ctx).UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str(Field, id) })
		w.Header().Set(Header, id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// wellFormed accepts the ids proxies make (hex, UUIDs, base64, trace ids
// such as "Root=1-67891233-abcdef"), nothing that could forge a log line
// or a header.
func wellFormed(id string) bool {
	if id == "" || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '+', c == '=', c == '/', c == '@':
		default:
			return false
		}
	}
	return true
}

// ID is the id of the request ctx belongs to, "" outside a request.
func ID(ctx context.Context) string {
	id, _ := ctx.Value(idKey{}).(string)
	return id
}

// Logger is l for the lines logged on behalf of the request ctx belongs
// to: l with the request's req_id, or l itself outside a request.
func Logger(ctx context.Context, l zerolog.Logger) *zerolog.Logger {
	if id := ID(ctx); id != "" {
		l = l.With().Str(Field, id).Logger()
	}
	return &l
}

// accessLine logs one request. The query string is never logged.
func accessLine(r *http.Request, status, size int, took time.Duration) {
	if status == 0 { // nothing written: net/http answered 200
		status = http.StatusOK
	}
	remote := r.RemoteAddr
	if h, _, err := net.SplitHostPort(remote); err == nil {
		remote = h
	}
	hlog.FromRequest(r).Info().Str("method", r.Method).Str("path", r.URL.EscapedPath()).Int("status", status).
		Int("bytes", size).Dur("took", took).Str("remote", remote).Str("user_agent", r.UserAgent()).Msg("request")
}
