package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var certExpiryDesc = prometheus.NewDesc(Namespace+"_tls_certificate_expiry_timestamp_seconds",
	"When the certificate served for a domain expires (Unix time); absent while there is none.", []string{"domain"}, nil)

// WatchCertificates exports the expiry of the certificate served for each
// domain, as reported by expiry (tlsauto.Manager.CertificateExpiry,
// tlsauto.FileCertificate.Expiry) when scraped.
func (m *Metrics) WatchCertificates(domains []string, expiry func(domain string) (time.Time, bool)) {
	m.reg.MustRegister(&certCollector{domains: domains, expiry: expiry})
}

type certCollector struct {
	domains []string
	expiry  func(string) (time.Time, bool)
}

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- certExpiryDesc }

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	for _, d := range c.domains {
		if t, ok := c.expiry(d); ok {
			ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue, float64(t.Unix()), d)
		}
	}
}
