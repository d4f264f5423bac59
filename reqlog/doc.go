// Package reqlog gives every HTTP request an id and a request-scoped
// logger, and writes the optional access log.
//
// Handler is mounted once, on the main listener, inside
// frontend.TrustProxies, which removes X-Request-Id from every peer that is
// not a trusted proxy: an id that reaches Handler therefore comes from a
// proxy we trust (nginx's $request_id, a load balancer's trace id) and is
// kept, so that one id follows a request through the proxy's log and ours;
// otherwise Handler makes one. Either way it is answered in the
// X-Request-Id response header.
//
// Components log the lines of a request with Logger(ctx, theirLogger):
// their own logger (its component field, level and output) with the
// request's req_id added. Outside a request (workers, commands) Logger
// returns their logger unchanged, so the same code serves both.
// zerolog.Ctx(ctx) and hlog.FromRequest(r) give the listener's logger with
// the req_id, for code that has no component logger of its own.
//
// The access log, when enabled, is one info line per request with the
// method, the path (never the query string: OAuth codes, tokens and state
// travel there), the status, the body bytes, the duration, the client
// address (as resolved through the trusted proxies) and the user agent.
//
// reqlog must not import any package of this module: everything that
// serves or logs a request may import it.
package reqlog
