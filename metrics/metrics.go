package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "passerelle"

// Metrics holds the collectors. It implements federation.Observer.
type Metrics struct {
	reg *prometheus.Registry

	inbound       *prometheus.CounterVec
	sigFailures   *prometheus.CounterVec
	deliveries    *prometheus.CounterVec
	deliveryTime  *prometheus.HistogramVec
	signatures    *prometheus.CounterVec
	blueskyMirror *prometheus.CounterVec
	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	refusals      *prometheus.CounterVec // moderation.go
}

// New registers the collectors, and the Go runtime and process ones, on a
// new registry. version and commit label passerelle_build_info.
func New(version, commit string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		inbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "inbound_activities_total",
			Help: "Inbound ActivityPub activities by type and outcome (followed, unfollowed, duplicate, ignored, rejected, error...).",
		}, []string{"type", "outcome"}),
		sigFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "signature_failures_total",
			Help: "Inbound requests refused for their HTTP Signature, by reason.",
		}, []string{"reason"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "deliveries_total",
			Help: "Outgoing delivery attempts by outcome (delivered, gone, failed, retry).",
		}, []string{"outcome"}),
		deliveryTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "delivery_duration_seconds",
			Help:    "Duration of outgoing delivery attempts (sign and POST), by outcome.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30},
		}, []string{"outcome"}),
		signatures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "signatures_total",
			Help: "HTTP signatures made on outgoing requests (deliveries and signed GETs), by spec (draft-cavage, rfc9421) and algorithm (rsa, ed25519).",
		}, []string{"spec", "alg"}),
		blueskyMirror: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "bluesky_mirror_total",
			Help: "Posts mirrored to Bluesky by outcome (mirrored, retry, failed, skipped).",
		}, []string{"outcome"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help: "Always 1; the labels name the running version.",
	}, []string{"version", "commit"})
	buildInfo.WithLabelValues(version, commit).Set(1)
	reg.MustRegister(
		m.inbound, m.sigFailures, m.deliveries, m.deliveryTime, m.signatures, m.blueskyMirror,
		m.httpRequests, m.httpDuration, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.registerModeration()
	// Outcomes known in advance start at 0, so that rate() and alerts see
	// them before the first event.
	for _, o := range []string{"delivered", "gone", "failed", "retry"} {
		m.deliveries.WithLabelValues(o)
	}
	for _, sa := range [][2]string{{"draft-cavage", "rsa"}, {"rfc9421", "rsa"}, {"rfc9421", "ed25519"}} {
		m.signatures.WithLabelValues(sa[0], sa[1])
	}
	for _, o := range BlueskyOutcomes {
		m.blueskyMirror.WithLabelValues(o)
	}
	return m
}

// Registry is where the collectors are registered (to add more, or to
// read them in tests).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// activityTypes are the activity types counted by name; others are
// "other" (the type comes from remote input).
var activityTypes = map[string]bool{
	"Accept": true, "Add": true, "Announce": true, "Block": true, "Create": true,
	"Delete": true, "EmojiReact": true, "Flag": true, "Follow": true, "Like": true,
	"Move": true, "Reject": true, "Remove": true, "Undo": true, "Update": true,
}

func activityType(t string) string {
	switch {
	case t == "":
		return "unknown"
	case activityTypes[t]:
		return t
	}
	return "other"
}

func boundedLabel(s string) string {
	const max = 64
	if s == "" {
		return "unknown"
	}
	if len(s) > max {
		return s[:max]
	}
	return s
}

// Inbound counts one inbound activity (federation.Observer).
func (m *Metrics) Inbound(typ, outcome string) {
	m.inbound.WithLabelValues(activityType(typ), boundedLabel(outcome)).Inc()
}

// SignatureFailure counts one refused signature (federation.Observer).
func (m *Metrics) SignatureFailure(reason string) {
	m.sigFailures.WithLabelValues(boundedLabel(reason)).Inc()
}

// Delivery counts one delivery attempt and its duration
// (federation.Observer).
func (m *Metrics) Delivery(outcome string, took time.Duration) {
	outcome = boundedLabel(outcome)
	m.deliveries.WithLabelValues(outcome).Inc()
	m.deliveryTime.WithLabelValues(outcome).Observe(took.Seconds())
}

// Signed counts one signature made on an outgoing request
// (federation.Observer).
func (m *Metrics) Signed(spec, alg string) {
	m.signatures.WithLabelValues(boundedLabel(spec), boundedLabel(alg)).Inc()
}

// BlueskyOutcomes are the outcomes of mirroring one post to Bluesky.
var BlueskyOutcomes = []string{"mirrored", "retry", "failed", "skipped"}

// BlueskyMirror counts one post mirrored to Bluesky, by outcome (one of
// BlueskyOutcomes). The Bluesky mirror reports here once it exists.
func (m *Metrics) BlueskyMirror(outcome string) {
	m.blueskyMirror.WithLabelValues(boundedLabel(outcome)).Inc()
}
