package controller

import "github.com/prometheus/client_golang/prometheus"

// Collector returns a Prometheus collector of the controller's figures,
// read from Stats at each scrape: containers started cold and activations
// served warm, finished activations, group invokes, warm containers idle
// and paused, free cores and queued requests. `volley serve` serves it on
// /metrics.
func (c *Controller) Collector() prometheus.Collector { return statsCollector{c} }

var (
	descStarts = prometheus.NewDesc("volley_serve_container_starts_total",
		"Activations by how their container started: cold (a new container) or warm (a pooled one).", []string{"start"}, nil)
	descActivations = prometheus.NewDesc("volley_serve_activations_total", "Finished activations.", nil, nil)
	descGroups      = prometheus.NewDesc("volley_serve_group_invokes_total", "Group invokes admitted.", nil, nil)
	descContainers  = prometheus.NewDesc("volley_serve_warm_containers",
		"Warm containers waiting in the pool, by state (idle: running; paused).", []string{"state"}, nil)
	descFreeCores = prometheus.NewDesc("volley_serve_free_cores", "Cores of the admission budget not taken by a running container.", nil, nil)
	descQueued    = prometheus.NewDesc("volley_serve_queued_requests", "Activations and groups waiting for cores.", nil, nil)
)

type statsCollector struct{ c *Controller }

func (s statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStarts, descActivations, descGroups, descContainers, descFreeCores, descQueued} {
		ch <- d
	}
}

func (s statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := s.c.Stats()
	counter, gauge := prometheus.CounterValue, prometheus.GaugeValue
	ch <- prometheus.MustNewConstMetric(descStarts, counter, float64(st.ColdStarts), "cold")
	ch <- prometheus.MustNewConstMetric(descStarts, counter, float64(st.WarmStarts), "warm")
	ch <- prometheus.MustNewConstMetric(descActivations, counter, float64(st.Activations))
	ch <- prometheus.MustNewConstMetric(descGroups, counter, float64(st.Groups))
	ch <- prometheus.MustNewConstMetric(descContainers, gauge, float64(st.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(descContainers, gauge, float64(st.Paused), "paused")
	ch <- prometheus.MustNewConstMetric(descFreeCores, gauge, float64(st.FreeCores))
	ch <- prometheus.MustNewConstMetric(descQueued, gauge, float64(st.Queued))
}
