package metrics

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/volley-run/volley/group"
)

// collectiveHistograms is volley_collective_duration_seconds: the
// containers' per-rank histograms (group.OpTiming, on group.LatencyBuckets)
// added up by operation. Containers bucket every call themselves, so the
// launcher never sees single calls; it sums their buckets here and exports
// them as constant histograms.
type collectiveHistograms struct {
	desc *prometheus.Desc

	mu  sync.Mutex
	ops map[string]*opHistogram
}

type opHistogram struct {
	count   uint64
	sum     float64
	buckets []uint64 // per bucket, not cumulative; the last is above every bound
}

func newCollectiveHistograms() *collectiveHistograms {
	return &collectiveHistograms{
		desc: prometheus.NewDesc("volley_collective_duration_seconds",
			"Time each rank spent in one collective call, by operation (recorded in the containers).", []string{"op"}, nil),
		ops: map[string]*opHistogram{},
	}
}

// add sums one rank's timing of op.
func (h *collectiveHistograms) add(op string, ot *group.OpTiming) {
	h.mu.Lock()
	defer h.mu.Unlock()
	oh := h.ops[op]
	if oh == nil {
		oh = &opHistogram{buckets: make([]uint64, len(group.LatencyBuckets)+1)}
		h.ops[op] = oh
	}
	oh.count += uint64(ot.Calls)
	oh.sum += ot.Seconds
	for i, n := range ot.Buckets {
		if i < len(oh.buckets) {
			oh.buckets[i] += uint64(n)
		}
	}
}

// Describe implements prometheus.Collector.
func (h *collectiveHistograms) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

// Collect implements prometheus.Collector.
func (h *collectiveHistograms) Collect(ch chan<- prometheus.Metric) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ops := make([]string, 0, len(h.ops))
	for op := range h.ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		oh := h.ops[op]
		cum := make(map[float64]uint64, len(group.LatencyBuckets))
		var total uint64
		for i, bound := range group.LatencyBuckets {
			total += oh.buckets[i]
			cum[bound] = total
		}
		ch <- prometheus.MustNewConstHistogram(h.desc, oh.count, oh.sum, cum, op)
	}
}
