package daemon

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsExposition: /metrics is a Prometheus text exposition of the daemon's
// roster_* metrics (names, types and help are what dashboards and alerts rely on) with the
// Go runtime's and the process's metrics beside them.
func TestMetricsExposition(t *testing.T) {
	d := testDaemon()
	last := time.Date(2026, 3, 1, 12, 0, 0, 250e6, time.UTC)
	d.m = metrics{runs: 7, failedRuns: 2, lastRun: last, commits: 3, changes: 41, fail: 1, orphans: 5, manual: 4,
		driftRuns: 6, webhooks: 9, badWebhooks: 8, standby: true}

	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d\n%s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want the text exposition format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}

	type metric struct {
		Type  dto.MetricType
		Help  string
		Value float64
	}
	counter, gauge := dto.MetricType_COUNTER, dto.MetricType_GAUGE
	want := map[string]metric{
		"roster_runs_total":                     {counter, "Apply runs.", 7},
		"roster_run_failures_total":             {counter, "Apply runs that ended with an error.", 2},
		"roster_last_run_timestamp_seconds":     {gauge, "When the last apply run ended.", float64(last.Unix()) + 0.25},
		"roster_last_success_timestamp_seconds": {gauge, "When the last apply run without an error ended.", 0},
		"roster_commits_applied_total":          {counter, "Access-repo commits applied.", 3},
		"roster_changes_applied_total":          {counter, "Changes applied and verified.", 41},
		"roster_change_failures_total":          {counter, "Changes that failed or could not be verified.", 1},
		"roster_orphans":                        {gauge, "Orphaned accounts in the last plan.", 5},
		"roster_manual_tasks_pending":           {gauge, "Manual tasks (read-only systems) in the last plan.", 4},
		"roster_drift_scans_total":              {counter, "Drift scans run.", 6},
		"roster_webhooks_total":                 {counter, "Push webhooks accepted.", 9},
		"roster_webhooks_rejected_total":        {counter, "Webhook deliveries rejected (bad signature or body).", 8},
		"roster_standby":                        {gauge, "1 while another replica holds the serve lease and this one stands by.", 1},
	}
	got := map[string]metric{}
	var goMetrics, processMetrics int
	for name, f := range fams {
		switch {
		case strings.HasPrefix(name, "go_"):
			goMetrics++
		case strings.HasPrefix(name, "process_"):
			processMetrics++
		case strings.HasPrefix(name, "roster_"):
			if len(f.GetMetric()) != 1 {
				t.Errorf("%s: %d series, want 1", name, len(f.GetMetric()))
				continue
			}
			m := f.GetMetric()[0]
			got[name] = metric{f.GetType(), f.GetHelp(), m.GetCounter().GetValue() + m.GetGauge().GetValue()}
		default:
			t.Errorf("unexpected metric %s", name)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("roster metrics (-want +got):\n%s", diff)
	}
	if goMetrics == 0 || processMetrics == 0 {
		t.Errorf("%d go_* and %d process_* metrics, want both", goMetrics, processMetrics)
	}
	if fams["go_goroutines"] == nil || fams["process_start_time_seconds"] == nil {
		t.Error("go_goroutines or process_start_time_seconds missing")
	}
}
