// Package metrics owns what barge exposes at /metrics (Prometheus text format): counters and
// histograms the API edge, the batch engine, the function pool and the store feed as things
// happen, and gauges read from them when scraped. A nil *Metrics records nothing, so the
// services' own tests need none.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is barge's registry and the instruments the services record into.
type Metrics struct {
	reg *prometheus.Registry

	jobTransitions *prometheus.CounterVec
	jobWait        *prometheus.HistogramVec
	jobRun         *prometheus.HistogramVec
	apiRequests    *prometheus.CounterVec
	apiDuration    *prometheus.HistogramVec
	invocations    *prometheus.CounterVec
	coldStarts     *prometheus.CounterVec
	storeCommit    prometheus.Histogram
	attemptPhase   *prometheus.HistogramVec
}

// jobBuckets span a trivial job's milliseconds to a long job's hours.
var jobBuckets = prometheus.ExponentialBuckets(0.005, 4, 12)

// New makes the registry with barge's instruments and the Go and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		jobTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "barge_job_transitions_total",
			Help: "Jobs that entered a status, by account, queue and status."}, []string{"account", "queue", "status"}),
		jobWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "barge_job_wait_seconds",
			Help: "Time from a job's submission to its attempt's start.", Buckets: jobBuckets}, []string{"account", "queue"}),
		jobRun: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "barge_job_run_seconds",
			Help: "Time an attempt ran, from its start to its end.", Buckets: jobBuckets}, []string{"account", "queue"}),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "barge_api_requests_total",
			Help: "API requests by service, operation and HTTP status code."}, []string{"service", "operation", "code"}),
		apiDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "barge_api_request_duration_seconds",
			Help: "Time to answer an API request.", Buckets: prometheus.DefBuckets}, []string{"service", "operation"}),
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "barge_function_invocations_total",
			Help: "Function invocations by outcome: success, error (function error), throttled, failed (barge could not run it)."},
			[]string{"account", "function", "outcome"}),
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "barge_function_cold_starts_total",
			Help: "Function instances started for an invocation (cold starts)."}, []string{"account", "function"}),
		attemptPhase: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "barge_attempt_phase_seconds",
			Help:    "Where an attempt's time outside its command goes: dispatch (placed → its STARTING state durable and the start begun), start (the executor's Start: sandbox, image, spawn), reap (the command's exit → the engine has recorded it), commit (recorded → durable).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)}, []string{"phase"}),
		storeCommit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "barge_store_commit_seconds",
			Help: "Time to make one batch of job changes durable.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
	}
	reg.MustRegister(m.jobTransitions, m.jobWait, m.jobRun, m.apiRequests, m.apiDuration, m.invocations, m.coldStarts, m.storeCommit, m.attemptPhase,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Gatherer reads the registry's current values (the web console shows some of them); nil
// without metrics.
func (m *Metrics) Gatherer() prometheus.Gatherer {
	if m == nil {
		return nil
	}
	return m.reg
}

// Register adds a collector that reads its values when scraped (jobs by status, instances,
// compute environments).
func (m *Metrics) Register(c prometheus.Collector) {
	if m != nil {
		m.reg.MustRegister(c)
	}
}

// JobTransition counts a job entering status.
func (m *Metrics) JobTransition(account, queue, status string) {
	if m != nil {
		m.jobTransitions.WithLabelValues(account, queue, status).Inc()
	}
}

// JobStarted records how long a job waited between submission and its attempt's start.
func (m *Metrics) JobStarted(account, queue string, waited time.Duration) {
	if m != nil {
		m.jobWait.WithLabelValues(account, queue).Observe(waited.Seconds())
	}
}

// AttemptEnded records how long an attempt ran.
func (m *Metrics) AttemptEnded(account, queue string, ran time.Duration) {
	if m != nil {
		m.jobRun.WithLabelValues(account, queue).Observe(ran.Seconds())
	}
}

// APIRequest records one answered request.
func (m *Metrics) APIRequest(service, operation string, code int, took time.Duration) {
	if m != nil {
		m.apiRequests.WithLabelValues(service, operation, strconv.Itoa(code)).Inc()
		m.apiDuration.WithLabelValues(service, operation).Observe(took.Seconds())
	}
}

// Invocation counts one function invocation's outcome.
func (m *Metrics) Invocation(account, function, outcome string) {
	if m != nil {
		m.invocations.WithLabelValues(account, function, outcome).Inc()
	}
}

// ColdStart counts an instance started for an invocation.
func (m *Metrics) ColdStart(account, function string) {
	if m != nil {
		m.coldStarts.WithLabelValues(account, function).Inc()
	}
}

// StoreCommit records the time one batch of job changes took to become durable.
func (m *Metrics) StoreCommit(took time.Duration) {
	if m != nil {
		m.storeCommit.Observe(took.Seconds())
	}
}

// GaugeFunc is a collector of one gauge (or counter) family whose samples are read when scraped.
type GaugeFunc struct {
	desc *prometheus.Desc
	kind prometheus.ValueType
	read func(emit func(value float64, labels ...string))
}

// NewGaugeFunc describes a gauge family name{labels} read by read at each scrape.
func NewGaugeFunc(name, help string, labels []string, read func(emit func(value float64, labels ...string))) *GaugeFunc {
	return &GaugeFunc{desc: prometheus.NewDesc(name, help, labels, nil), kind: prometheus.GaugeValue, read: read}
}

// NewCounterFunc describes a counter family name{labels} whose totals (kept elsewhere, only ever
// growing) read reports at each scrape.
func NewCounterFunc(name, help string, labels []string, read func(emit func(value float64, labels ...string))) *GaugeFunc {
	return &GaugeFunc{desc: prometheus.NewDesc(name, help, labels, nil), kind: prometheus.CounterValue, read: read}
}

// Describe implements prometheus.Collector.
func (g *GaugeFunc) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector.
func (g *GaugeFunc) Collect(ch chan<- prometheus.Metric) {
	g.read(func(v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(g.desc, g.kind, v, labels...)
	})
}

// AttemptPhase records how long one phase of an attempt's life took (see barge_attempt_phase_seconds).
func (m *Metrics) AttemptPhase(phase string, took time.Duration) {
	if m != nil {
		m.attemptPhase.WithLabelValues(phase).Observe(took.Seconds())
	}
}
