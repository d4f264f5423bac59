package metrics

import (
	"net/http"
	"strconv"
	"time"
)

// Middleware counts the requests next serves by route and status code, and
// times them by route. The route is the ServeMux pattern that matched
// (r.Pattern, such as "GET /users/{name}"), read after next returns: next
// must be a *http.ServeMux, or pass the request to one unchanged. Requests
// no pattern matched are counted under the route "unmatched".
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			if v := recover(); v != nil {
				// Counted as the 500 the server's recovery will produce.
				m.httpRequests.WithLabelValues(route, "500").Inc()
				m.httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
				panic(v)
			}
			m.httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
			m.httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the status code written.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer
// (flushing, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
