package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
)

// QueueSource reports the job queue's state (storage.Store does).
type QueueSource interface {
	JobStats(ctx context.Context, now time.Time) (storage.JobStats, error)
}

// DefaultQueueCacheTTL is how long queue statistics are reused between
// scrapes: several Prometheus servers scraping every second cost one query
// every few seconds.
const DefaultQueueCacheTTL = 5 * time.Second

// WatchQueue registers the queue collector: jobs by state and the age of
// the oldest due pending job, read from src when scraped (at most once per
// ttl; 0 means DefaultQueueCacheTTL).
func (m *Metrics) WatchQueue(src QueueSource, ttl time.Duration, log zerolog.Logger) {
	if ttl <= 0 {
		ttl = DefaultQueueCacheTTL
	}
	m.reg.MustRegister(&queueCollector{src: src, ttl: ttl, log: log, now: time.Now})
}

var (
	queueJobsDesc = prometheus.NewDesc(Namespace+"_queue_jobs",
		"Jobs in the durable queue by state (pending, running, failed).", []string{"state"}, nil)
	queueAgeDesc = prometheus.NewDesc(Namespace+"_queue_oldest_pending_seconds",
		"Age of the oldest pending job that is due (0 when none is waiting).", nil, nil)
	queueUpDesc = prometheus.NewDesc(Namespace+"_queue_stats_up",
		"1 when the queue statistics could be read from the database at the last scrape, 0 otherwise.", nil, nil)
)

// queueCollector reads storage.JobStats on scrape, cached for ttl.
type queueCollector struct {
	src QueueSource
	ttl time.Duration
	log zerolog.Logger
	now func() time.Time

	mu      sync.Mutex
	at      time.Time // when stats were read
	stats   storage.JobStats
	ok      bool // the last read succeeded
	errSeen bool // an error was logged since the last success
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueJobsDesc
	ch <- queueAgeDesc
	ch <- queueUpDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	st, ok := c.read()
	up := 0.0
	if ok {
		up = 1
		ch <- prometheus.MustNewConstMetric(queueJobsDesc, prometheus.GaugeValue, float64(st.Pending), "pending")
		ch <- prometheus.MustNewConstMetric(queueJobsDesc, prometheus.GaugeValue, float64(st.Running), "running")
		ch <- prometheus.MustNewConstMetric(queueJobsDesc, prometheus.GaugeValue, float64(st.Failed), "failed")
		ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, st.OldestPending.Seconds())
	}
	ch <- prometheus.MustNewConstMetric(queueUpDesc, prometheus.GaugeValue, up)
}

func (c *queueCollector) read() (storage.JobStats, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.at.IsZero() && now.Sub(c.at) < c.ttl {
		return c.stats, c.ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.src.JobStats(ctx, now)
	c.at = now
	if err != nil {
		if !c.errSeen {
			c.log.Warn().Err(err).Msg("metrics: cannot read the queue statistics")
			c.errSeen = true
		}
		c.ok = false
		return storage.JobStats{}, false
	}
	c.stats, c.ok, c.errSeen = st, true, false
	return st, true
}
