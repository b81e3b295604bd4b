package daemon

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are what /metrics reports of the daemon's own work (and /healthz of the last
// run). The daemon updates them under its lock; a scrape copies them under the same lock.
type metrics struct {
	runs, failedRuns       int
	lastRun, lastSuccess   time.Time
	lastErr                string
	commits, changes, fail int
	orphans, manual        int
	driftRuns              int
	lastDrift              time.Time
	webhooks, badWebhooks  int
	standby                bool // another replica holds the lease
}

// rosterMetric is one roster_* metric: its name, type and help, and its value in a copy of
// the daemon's metrics.
type rosterMetric struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(m *metrics) float64
}

func counter(name, help string, v func(m *metrics) int) rosterMetric {
	return rosterMetric{prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, func(m *metrics) float64 { return float64(v(m)) }}
}

func gauge(name, help string, v func(m *metrics) float64) rosterMetric {
	return rosterMetric{prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, v}
}

// seconds is t as Unix seconds (milliseconds kept), 0 for the zero time (never happened).
func seconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

// rosterMetrics are the metrics roster serve reports besides Go's and the process's.
// Names, types and help are part of the README's contract: dashboards and alerts use them.
var rosterMetrics = []rosterMetric{
	counter("roster_runs_total", "Apply runs.", func(m *metrics) int { return m.runs }),
	counter("roster_run_failures_total", "Apply runs that ended with an error.", func(m *metrics) int { return m.failedRuns }),
	gauge("roster_last_run_timestamp_seconds", "When the last apply run ended.", func(m *metrics) float64 { return seconds(m.lastRun) }),
	gauge("roster_last_success_timestamp_seconds", "When the last apply run without an error ended.", func(m *metrics) float64 { return seconds(m.lastSuccess) }),
	counter("roster_commits_applied_total", "Access-repo commits applied.", func(m *metrics) int { return m.commits }),
	counter("roster_changes_applied_total", "Changes applied and verified.", func(m *metrics) int { return m.changes }),
	counter("roster_change_failures_total", "Changes that failed or could not be verified.", func(m *metrics) int { return m.fail }),
	gauge("roster_orphans", "Orphaned accounts in the last plan.", func(m *metrics) float64 { return float64(m.orphans) }),
	gauge("roster_manual_tasks_pending", "Manual tasks (read-only systems) in the last plan.", func(m *metrics) float64 { return float64(m.manual) }),
	counter("roster_drift_scans_total", "Drift scans run.", func(m *metrics) int { return m.driftRuns }),
	counter("roster_webhooks_total", "Push webhooks accepted.", func(m *metrics) int { return m.webhooks }),
	counter("roster_webhooks_rejected_total", "Webhook deliveries rejected (bad signature or body).", func(m *metrics) int { return m.badWebhooks }),
	gauge("roster_standby", "1 while another replica holds the serve lease and this one stands by.", func(m *metrics) float64 {
		if m.standby {
			return 1
		}
		return 0
	}),
}

// daemonCollector reports a daemon's metrics: each scrape reads one consistent copy.
type daemonCollector struct{ d *Daemon }

// Describe sends the roster_* descriptors.
func (c daemonCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, rm := range rosterMetrics {
		ch <- rm.desc
	}
}

// Collect sends the roster_* metrics from a copy taken under the daemon's lock.
func (c daemonCollector) Collect(ch chan<- prometheus.Metric) {
	c.d.mu.Lock()
	m := c.d.m
	c.d.mu.Unlock()
	for _, rm := range rosterMetrics {
		ch <- prometheus.MustNewConstMetric(rm.desc, rm.typ, rm.value(&m))
	}
}

// metricsHandler serves d's metrics with the Go runtime's and the process's, from a
// registry of its own (not the client library's global one).
func metricsHandler(d *Daemon) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(daemonCollector{d}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
