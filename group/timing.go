package group

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/volley-run/volley/collectives"
)

// Recording says what containers record about each rank besides its result
// and counters. It travels in PackTask, so a container records only what
// the launcher asked for.
type Recording uint8

const (
	// RecordNone records nothing more (the default).
	RecordNone Recording = iota
	// RecordTimings records when each rank's app ran and a latency
	// histogram of its collective calls by operation: what metrics need.
	RecordTimings
	// RecordSpans records the timings and one span per collective call (up
	// to MaxSpans per rank): what traces need.
	RecordSpans
)

// Record asks every container of the group to record r. Given several
// times, the most detailed level wins.
func Record(r Recording) LaunchOption {
	return func(c *launchConfig) { c.record = max(c.record, r) }
}

// MaxSpans bounds the spans one rank records; later calls still count in
// its histograms, and in RankTiming.DroppedSpans.
const MaxSpans = 1000

// LatencyBuckets are the upper bounds, in seconds, of the collective
// latency histograms that containers fill (OpTiming.Buckets): 10 µs times
// powers of 4, up to about 42 s. Package metrics exports them as they are.
var LatencyBuckets = []float64{
	10e-6, 40e-6, 160e-6, 640e-6, 2.56e-3, 10.24e-3, 40.96e-3,
	163.84e-3, 655.36e-3, 2.62144, 10.48576, 41.94304,
}

// PackTiming is when a pack's steps happened in its container. Start is
// the container's wall clock; the offsets come from its monotonic clock.
type PackTiming struct {
	// Start is when the container began the pack (joining the group).
	Start time.Time `json:"start"`
	// ReadyUs is when the pack passed the ready barrier, in µs after Start.
	ReadyUs int64 `json:"ready_us"`
}

// RankTiming is what a container recorded about one rank (see Recording).
// Times are µs after the pack's PackTiming.Start.
type RankTiming struct {
	// RunUs and EndUs bound the rank's app function.
	RunUs int64 `json:"run_us"`
	EndUs int64 `json:"end_us"`
	// Ops are the rank's collective calls by operation name.
	Ops map[string]*OpTiming `json:"ops,omitempty"`
	// Spans are the collective calls one by one, in the order they ended
	// (RecordSpans only).
	Spans []Span `json:"spans,omitempty"`
	// DroppedSpans counts calls past MaxSpans that got no span.
	DroppedSpans int `json:"dropped_spans,omitempty"`
}

// OpTiming sums one rank's calls of one collective operation.
type OpTiming struct {
	Calls   int64   `json:"calls"`
	Errors  int64   `json:"errors,omitempty"`
	Seconds float64 `json:"seconds"`
	// Buckets[i] counts the calls that took more than LatencyBuckets[i-1]
	// and at most LatencyBuckets[i] seconds; the last element counts the
	// calls above every bound.
	Buckets []int64 `json:"buckets"`
}

// Span is one collective call of a rank.
type Span struct {
	Op      string `json:"op"`
	StartUs int64  `json:"t"`
	DurUs   int64  `json:"d"`
	Err     bool   `json:"e,omitempty"`
}

// observe adds one call of elapsed seconds.
func (o *OpTiming) observe(elapsed time.Duration, failed bool) {
	if o.Buckets == nil {
		o.Buckets = make([]int64, len(LatencyBuckets)+1)
	}
	s := elapsed.Seconds()
	o.Calls++
	o.Seconds += s
	if failed {
		o.Errors++
	}
	i := 0
	for i < len(LatencyBuckets) && s > LatencyBuckets[i] {
		i++
	}
	o.Buckets[i]++
}

// rankRecorder is a collectives.Observer that fills one rank's RankTiming.
type rankRecorder struct {
	epoch time.Time
	spans bool

	mu   sync.Mutex
	done bool
	t    RankTiming
}

// ObserveCollective records one call; calls after the app returned (from
// goroutines it left behind) are ignored.
func (r *rankRecorder) ObserveCollective(op string, start time.Time, elapsed time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	if r.t.Ops == nil {
		r.t.Ops = map[string]*OpTiming{}
	}
	ot := r.t.Ops[op]
	if ot == nil {
		ot = &OpTiming{}
		r.t.Ops[op] = ot
	}
	ot.observe(elapsed, err != nil)
	if !r.spans {
		return
	}
	if len(r.t.Spans) >= MaxSpans {
		r.t.DroppedSpans++
		return
	}
	r.t.Spans = append(r.t.Spans, Span{Op: op, StartUs: usSince(r.epoch, start), DurUs: elapsed.Microseconds(), Err: err != nil})
}

// runRecorded is runWorker that also records what level asks for, with
// times relative to epoch, the pack's start.
func runRecorded(ctx context.Context, fn WorkerFunc, w *Worker, log *slog.Logger, epoch time.Time, level Recording) RankResult {
	if level == RecordNone {
		return runWorker(ctx, fn, w, log)
	}
	rec := &rankRecorder{epoch: epoch, spans: level >= RecordSpans}
	rec.t.RunUs = usSince(epoch, time.Now())
	rr := runWorker(collectives.WithObserver(ctx, rec), fn, w, log)
	rec.mu.Lock()
	rec.done = true
	rec.t.EndUs = usSince(epoch, time.Now())
	t := rec.t
	rec.mu.Unlock()
	rr.Timing = &t
	return rr
}

// usSince is t - epoch in whole µs (never negative).
func usSince(epoch, t time.Time) int64 { return max(t.Sub(epoch).Microseconds(), 0) }

// SpeculationStats counts a group's speculative replicas (Raptor), as
// Result.Replicas lists them; package metrics exports it.
type SpeculationStats struct {
	// Launched counts the replicas launched (asked of the runtime, whether
	// or not they got a container), the first of each pack included; zero
	// without speculation. Each is counted once more under its outcome.
	Launched int `json:"launched"`
	// Won counts replicas that won their race and whose result was taken
	// (one per pack that finished); Lost counts replicas that were
	// preempted or beaten; Failed and Cancelled count replicas whose
	// container failed (winners included) or that the group's end cut
	// short (see ReplicaSummary.Outcome).
	Won       int `json:"won"`
	Lost      int `json:"lost"`
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
}

// countReplicas sums up a group's replicas.
func countReplicas(replicas []ReplicaSummary) SpeculationStats {
	s := SpeculationStats{Launched: len(replicas)}
	for _, r := range replicas {
		switch r.Outcome {
		case "won":
			s.Won++
		case "lost":
			s.Lost++
		case "failed":
			s.Failed++
		case "cancelled":
			s.Cancelled++
		}
	}
	return s
}
