package serve

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry of its own: two servers in one
// process (as in tests) count apart, and a program that embeds one keeps its global registry.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec   // route, code
	latency   *prometheus.HistogramVec // route
	batchSize prometheus.Histogram
	model     *prometheus.GaugeVec   // name, kind, file: 1 for the model answering
	reloads   *prometheus.CounterVec // result
}

func newMetrics(queueDepth func() float64) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seqclf_http_requests_total",
			Help: "HTTP requests answered, by route (the pattern it matched) and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "seqclf_http_request_duration_seconds",
			Help:    "Time from a request's headers to its answer, by route.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "seqclf_batch_size",
			Help:    "Inputs (texts or images) classified in one call of the model, across requests.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 … 1024
		}),
		model: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "seqclf_model_info",
			Help: "The model answering: its served name, its kind (text or mnist) and its file; always 1.",
		}, []string{"name", "kind", "file"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seqclf_model_reloads_total",
			Help: "Reloads of the model file, by result: ok, or failed (the old model kept answering).",
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.batchSize, m.model, m.reloads,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "seqclf_queue_depth",
			Help: "Requests waiting for the model.",
		}, queueDepth),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("failed")
	return m
}

// handler serves the metrics in Prometheus' text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// setModel makes the model info gauge name the model now answering.
func (m *metrics) setModel(name, kind, file string) {
	m.model.Reset()
	m.model.WithLabelValues(name, kind, file).Set(1)
}

// observe counts a request answered.
func (m *metrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}
