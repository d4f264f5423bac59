package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/passerelle/passerelle/federation"
)

// registerModeration registers the counter of requests refused by
// federation's guard (domain blocks, rate limits, key-fetch budget,
// authorized fetch), every reason starting at 0.
func (m *Metrics) registerModeration() {
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "refusals_total",
		Help: "Requests refused, or deliveries not sent, by federation's guard, by reason (domain_blocked, rate_domain, rate_actor, key_budget, ...).",
	}, []string{"reason"})
	m.reg.MustRegister(m.refusals)
	for _, r := range federation.RefusalReasons {
		m.refusals.WithLabelValues(r)
	}
}

// Refused counts one refusal (federation.RefusalObserver).
func (m *Metrics) Refused(reason string) {
	m.refusals.WithLabelValues(boundedLabel(reason)).Inc()
}
