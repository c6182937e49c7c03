// Package metrics exports Volley's figures to Prometheus: groups, packs
// and workers started, finished and failed; cold and warm container
// starts; time to all-ready; messages and bytes, local and remote;
// collective latencies by operation; speculative replicas by outcome.
//
// The figures come from group.Result: each container records its ranks'
// counters and collective latencies (group.Record(group.RecordTimings))
// and ships them back in its pack result, and Observe adds a whole
// group's figures at once. One Metrics serves any number of groups (a
// `volley run`, or every group of `volley serve`):
//
//	m := metrics.New(nil)
//	http.Handle("/metrics", m.Handler())
//	res, err := m.Launch(ctx, spec, rt) // counts the start, records timings, observes the result
package metrics

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/volley-run/volley/group"
)

// Metrics holds Volley's Prometheus collectors, registered on one registry.
// Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	groupsStarted, groupsFinished, groupsFailed    *prometheus.CounterVec
	packsStarted, packsFinished, packsFailed       prometheus.Counter
	workersStarted, workersFinished, workersFailed prometheus.Counter
	containerStarts                                *prometheus.CounterVec
	containerStartSeconds                          *prometheus.HistogramVec
	readySeconds, durationSeconds                  prometheus.Histogram
	sentMessages, sentBytes                        *prometheus.CounterVec
	sentWireBytes                                  prometheus.Counter
	collectiveErrors                               *prometheus.CounterVec
	collective                                     *collectiveHistograms
	replicas                                       *prometheus.CounterVec
	replicasLaunched                               prometheus.Counter
}

// startBuckets (seconds) cover container starts and times to all-ready:
// 1 ms to about 2 min.
var startBuckets = prometheus.ExponentialBuckets(0.001, 2, 18)

// New registers Volley's collectors on reg and returns them; a nil reg
// means a fresh registry. It fails when reg already holds collectors of
// the same names.
func New(reg *prometheus.Registry) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &Metrics{
		reg:             reg,
		groupsStarted:   counterVec("volley_groups_started_total", "Groups launched.", "app"),
		groupsFinished:  counterVec("volley_groups_finished_total", "Groups that ended with every rank succeeded.", "app"),
		groupsFailed:    counterVec("volley_groups_failed_total", "Groups that ended with a failed rank or pack, or could not be attempted.", "app"),
		packsStarted:    counter("volley_packs_started_total", "Packs that got a container."),
		packsFinished:   counter("volley_packs_finished_total", "Packs whose container returned their ranks' results."),
		packsFailed:     counter("volley_packs_failed_total", "Packs whose container failed, died or was cancelled."),
		workersStarted:  counter("volley_workers_started_total", "Workers (ranks) run by a container that returned their results."),
		workersFinished: counter("volley_workers_finished_total", "Workers (ranks) that succeeded."),
		workersFailed:   counter("volley_workers_failed_total", "Workers (ranks) that failed, including those of failed packs."),
		containerStarts: counterVec("volley_container_starts_total", "Containers obtained for packs, by start: cold (new) or warm (pooled).", "start"),
		containerStartSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "volley_container_start_seconds", Help: "Time to get a pack's container ready to run, by start: cold or warm.", Buckets: startBuckets,
		}, []string{"start"}),
		readySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "volley_group_ready_seconds", Help: "Time from launch until every pack of a group was ready (all-ready).", Buckets: startBuckets,
		}),
		durationSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "volley_group_duration_seconds", Help: "Time from launch until a group's last result.", Buckets: startBuckets,
		}),
		sentMessages:     counterVec("volley_sent_messages_total", "Messages sent by workers, by locality: local (same container) or remote.", "locality"),
		sentBytes:        counterVec("volley_sent_bytes_total", "Payload bytes sent by workers, by locality: local (same container) or remote.", "locality"),
		sentWireBytes:    counter("volley_sent_wire_bytes_total", "Bytes of remote messages as they crossed the network (after compression)."),
		collectiveErrors: counterVec("volley_collective_errors_total", "Collective calls that returned an error, by operation.", "op"),
		collective:       newCollectiveHistograms(),
		replicas: counterVec("volley_speculative_replicas_total",
			"Speculative replicas that ended, by outcome: won (won its race, result taken), lost (preempted or late), failed (its container failed, winners included) or cancelled (the group ended first).", "outcome"),
		replicasLaunched: counter("volley_speculative_replicas_launched_total",
			"Speculative replicas launched, each pack's first included, whether or not they got a container; each ends under one outcome of volley_speculative_replicas_total."),
	}
	for _, c := range []prometheus.Collector{
		m.groupsStarted, m.groupsFinished, m.groupsFailed,
		m.packsStarted, m.packsFinished, m.packsFailed,
		m.workersStarted, m.workersFinished, m.workersFailed,
		m.containerStarts, m.containerStartSeconds, m.readySeconds, m.durationSeconds,
		m.sentMessages, m.sentBytes, m.sentWireBytes,
		m.collectiveErrors, m.collective, m.replicas, m.replicasLaunched,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Registry is the registry the collectors are on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' exposition formats (mount it
// on /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Started counts a group of app as launched. Call it before group.Launch,
// then Observe the result (or Failed if there is none); Launch does both.
func (m *Metrics) Started(app string) { m.groupsStarted.WithLabelValues(app).Inc() }

// Failed counts a group that could not be attempted at all (group.Launch
// returned an error).
func (m *Metrics) Failed(app string) { m.groupsFailed.WithLabelValues(app).Inc() }

// Launch runs group.Launch with opts and group.Record(group.RecordTimings),
// counting the group as started and then observing its result.
func (m *Metrics) Launch(ctx context.Context, spec group.Spec, rt group.Runtime, opts ...group.LaunchOption) (*group.Result, error) {
	m.Started(spec.App)
	res, err := group.Launch(ctx, spec, rt, append(opts, group.Record(group.RecordTimings))...)
	if err != nil {
		m.Failed(spec.App)
		return nil, err
	}
	m.Observe(res)
	return res, nil
}

// Observe adds the figures of a group that ended: its outcome, packs,
// workers, container starts, time to all-ready, traffic, collective
// latencies (from ranks launched with group.Record) and speculative
// replicas. It does not count the group as started (see Started).
func (m *Metrics) Observe(res *group.Result) {
	if res.Err() == nil {
		m.groupsFinished.WithLabelValues(res.App).Inc()
	} else {
		m.groupsFailed.WithLabelValues(res.App).Inc()
	}
	for _, p := range res.Packs {
		if p.Container.ID != "" {
			m.packsStarted.Inc()
			start := "warm"
			if p.Container.Cold {
				start = "cold"
			}
			m.containerStarts.WithLabelValues(start).Inc()
			m.containerStartSeconds.WithLabelValues(start).Observe(p.Container.StartMs / 1000)
		}
		if p.Error == "" {
			m.packsFinished.Inc()
			m.workersStarted.Add(float64(p.Hi - p.Lo))
		} else {
			m.packsFailed.Inc()
		}
	}
	failed := len(res.Failed())
	m.workersFinished.Add(float64(len(res.Ranks) - failed))
	m.workersFailed.Add(float64(failed))
	if res.Ready > 0 {
		m.readySeconds.Observe(res.Ready.Seconds())
	}
	m.durationSeconds.Observe(res.Total.Seconds())

	c := res.Comm
	m.sentMessages.WithLabelValues("local").Add(float64(c.SentLocalMsgs))
	m.sentMessages.WithLabelValues("remote").Add(float64(c.SentRemoteMsgs))
	m.sentBytes.WithLabelValues("local").Add(float64(c.SentLocalBytes))
	m.sentBytes.WithLabelValues("remote").Add(float64(c.SentRemoteBytes))
	m.sentWireBytes.Add(float64(c.SentWireBytes))

	for _, rr := range res.Ranks {
		if rr.Timing == nil {
			continue
		}
		for op, ot := range rr.Timing.Ops {
			if ot.Errors > 0 {
				m.collectiveErrors.WithLabelValues(op).Add(float64(ot.Errors))
			}
			m.collective.add(op, ot)
		}
	}

	s := res.Speculation
	m.replicasLaunched.Add(float64(s.Launched))
	m.replicas.WithLabelValues("won").Add(float64(s.Won))
	m.replicas.WithLabelValues("lost").Add(float64(s.Lost))
	m.replicas.WithLabelValues("failed").Add(float64(s.Failed))
	m.replicas.WithLabelValues("cancelled").Add(float64(s.Cancelled))
}
