// Package trace turns a group's Result into a Chrome trace-event file
// (JSON object format), which Perfetto (ui.perfetto.dev) and
// chrome://tracing open. Each pack (container) is a process (pid = pack
// index) and each rank a thread of it (tid = rank), so every rank has a
// track of its own, with nested spans:
//
//	container start (cold|warm)   launch until the container began the pack
//	join                          joining the group until the ready barrier passed
//	run                           the rank's app function
//	  <op>                        each collective call (barrier, allreduce, ...)
//
// With speculation, every replica of a pack, winner or loser, has a track
// of its own in the pack's process (tid = N + its index in
// Result.Replicas): "replica R (won|lost|failed|cancelled)" from its
// launch to its end, with "run" inside while its workers ran.
//
// The container records the times (group.Record(group.RecordSpans)) and
// ships them back in its pack result; timestamps are µs since the launch.
// Container times are on the container's clock, so across hosts the
// tracks are only as aligned as the hosts' clocks.
//
//	res, _ := group.Launch(ctx, spec, rt, group.Record(group.RecordSpans))
//	err := trace.Write(f, res)
package trace

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/volley-run/volley/group"
)

// Event is one trace event. Volley writes complete events ("X": a span of
// Dur µs from Ts), instant events ("i") and metadata ("M": names).
type Event struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   int64          `json:"ts"`
	Dur  int64          `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	S    string         `json:"s,omitempty"` // scope of an instant event
	Args map[string]any `json:"args,omitempty"`
}

// File is a trace file in the JSON object format.
type File struct {
	TraceEvents     []Event        `json:"traceEvents"`
	DisplayTimeUnit string         `json:"displayTimeUnit,omitempty"`
	OtherData       map[string]any `json:"otherData,omitempty"`
}

// Build makes the trace of res. Ranks without recorded timings (launched
// without group.Record(group.RecordSpans)) get the container start and
// join spans only; a failed pack gets an instant event with its error.
func Build(res *group.Result) *File {
	f := &File{DisplayTimeUnit: "ms", OtherData: map[string]any{
		"group": res.Group, "app": res.App, "workers": res.Workers, "granularity": res.Granularity,
		"containers": res.Containers, "ready_ms": res.ReadyMs, "total_ms": res.TotalMs, "transport": res.Transport,
	}}
	add := func(e Event) { f.TraceEvents = append(f.TraceEvents, e) }
	total := res.Total.Microseconds()
	for _, p := range res.Packs {
		start := "warm"
		if p.Container.Cold {
			start = "cold"
		}
		pname := fmt.Sprintf("pack %d (ranks %d-%d)", p.Pack, p.Lo, p.Hi-1)
		if p.Container.ID != "" {
			pname = fmt.Sprintf("pack %d (ranks %d-%d, container %s, %s)", p.Pack, p.Lo, p.Hi-1, p.Container.ID, start)
		}
		add(Event{Name: "process_name", Ph: "M", Pid: p.Pack, Args: map[string]any{"name": pname}})
		add(Event{Name: "process_sort_index", Ph: "M", Pid: p.Pack, Args: map[string]any{"sort_index": p.Pack}})
		var base int64 // the pack's start, µs after the launch
		if p.Timing != nil {
			base = max(p.Timing.Start.Sub(res.Start).Microseconds(), 0)
		}
		for r := p.Lo; r < p.Hi; r++ {
			add(Event{Name: "thread_name", Ph: "M", Pid: p.Pack, Tid: r, Args: map[string]any{"name": fmt.Sprintf("rank %d", r)}})
			add(Event{Name: "thread_sort_index", Ph: "M", Pid: p.Pack, Tid: r, Args: map[string]any{"sort_index": r}})
			if p.Error != "" {
				add(Event{Name: "pack failed", Cat: "error", Ph: "i", S: "t", Ts: total, Pid: p.Pack, Tid: r, Args: map[string]any{"error": p.Error}})
			}
			if p.Timing == nil {
				continue
			}
			add(Event{Name: "container start (" + start + ")", Cat: "start", Ph: "X", Ts: 0, Dur: base, Pid: p.Pack, Tid: r,
				Args: map[string]any{"container": p.Container.ID, "cold": p.Container.Cold, "start_ms": p.Container.StartMs}})
			add(Event{Name: "join", Cat: "join", Ph: "X", Ts: base, Dur: p.Timing.ReadyUs, Pid: p.Pack, Tid: r})
			if r >= len(res.Ranks) {
				continue
			}
			rr := res.Ranks[r]
			tm := rr.Timing
			if tm == nil {
				continue
			}
			args := map[string]any{}
			if rr.Error != "" {
				args["error"] = rr.Error
			}
			if tm.DroppedSpans > 0 {
				args["dropped_spans"] = tm.DroppedSpans
			}
			add(Event{Name: "run", Cat: "run", Ph: "X", Ts: base + tm.RunUs, Dur: tm.EndUs - tm.RunUs, Pid: p.Pack, Tid: r, Args: args})
			for _, s := range tm.Spans {
				e := Event{Name: s.Op, Cat: "collective", Ph: "X", Ts: base + s.StartUs, Dur: s.DurUs, Pid: p.Pack, Tid: r}
				if s.Err {
					e.Args = map[string]any{"error": true}
				}
				add(e)
			}
		}
	}
	for i, rp := range res.Replicas {
		addReplica(add, res.Workers+i, rp)
	}
	return f
}

// addReplica adds the track of one speculative replica to its pack's
// process, on a thread of its own (tid past the ranks): a span from its
// launch to its end named after its outcome, and inside it the time its
// workers ran, if they did.
func addReplica(add func(Event), tid int, rp group.ReplicaSummary) {
	us := func(ms float64) int64 { return int64(ms * 1000) }
	name := fmt.Sprintf("replica %d (%s)", rp.Replica, rp.Outcome)
	add(Event{Name: "thread_name", Ph: "M", Pid: rp.Pack, Tid: tid, Args: map[string]any{"name": name}})
	add(Event{Name: "thread_sort_index", Ph: "M", Pid: rp.Pack, Tid: tid, Args: map[string]any{"sort_index": tid}})
	args := map[string]any{"container": rp.Container.ID, "outcome": rp.Outcome}
	if rp.Error != "" {
		args["error"] = rp.Error
	}
	if rp.RegisteredMs > 0 {
		args["registered_ms"] = rp.RegisteredMs
	}
	start, end := us(rp.LaunchedMs), max(us(rp.EndedMs), us(rp.LaunchedMs))
	add(Event{Name: name, Cat: "replica", Ph: "X", Ts: start, Dur: end - start, Pid: rp.Pack, Tid: tid, Args: args})
	if rp.ReadyMs > 0 {
		ready := min(max(us(rp.ReadyMs), start), end)
		add(Event{Name: "run", Cat: "replica", Ph: "X", Ts: ready, Dur: end - ready, Pid: rp.Pack, Tid: tid})
	}
}

// Write writes the trace of res to w as JSON.
func Write(w io.Writer, res *group.Result) error {
	if err := json.NewEncoder(w).Encode(Build(res)); err != nil {
		return fmt.Errorf("write trace: %w", err)
	}
	return nil
}

// Parse reads a trace file in the JSON object format.
func Parse(r io.Reader) (*File, error) {
	var f File
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("trace: not a trace-event JSON object: %w", err)
	}
	if f.TraceEvents == nil {
		return nil, fmt.Errorf("trace: no traceEvents array")
	}
	return &f, nil
}

// Track is one thread of a process: a rank's track.
type Track struct{ Pid, Tid int }

// Spans returns the complete events ("X") of each track, sorted by start
// (and, for equal starts, longest first, so parents come before children).
func (f *File) Spans() map[Track][]Event {
	m := map[Track][]Event{}
	for _, e := range f.TraceEvents {
		if e.Ph == "X" {
			k := Track{e.Pid, e.Tid}
			m[k] = append(m[k], e)
		}
	}
	for _, evs := range m {
		slices.SortStableFunc(evs, func(a, b Event) int {
			return cmp.Or(cmp.Compare(a.Ts, b.Ts), cmp.Compare(b.Dur, a.Dur))
		})
	}
	return m
}

// Check reports the first problem with f: an event of unknown phase, a
// span with a negative start or length, spans of one track that overlap
// without one containing the other, or a thread id (rank) on two
// processes (packs).
func (f *File) Check() error {
	pidOf := map[int]int{}
	for _, e := range f.TraceEvents {
		switch e.Ph {
		case "X", "i", "M":
		default:
			return fmt.Errorf("trace: event %q has phase %q", e.Name, e.Ph)
		}
		if e.Ph == "M" && strings.HasPrefix(e.Name, "process_") {
			continue // process metadata has no thread
		}
		if p, ok := pidOf[e.Tid]; ok && p != e.Pid {
			return fmt.Errorf("trace: tid %d is on pid %d and pid %d", e.Tid, p, e.Pid)
		}
		pidOf[e.Tid] = e.Pid
	}
	for k, evs := range f.Spans() {
		var open []Event
		for _, e := range evs {
			if e.Ts < 0 || e.Dur < 0 {
				return fmt.Errorf("trace: pid %d tid %d: span %q has a negative start (%d µs) or length (%d µs)", k.Pid, k.Tid, e.Name, e.Ts, e.Dur)
			}
			for len(open) > 0 && open[len(open)-1].Ts+open[len(open)-1].Dur <= e.Ts {
				open = open[:len(open)-1]
			}
			if n := len(open); n > 0 && e.Ts+e.Dur > open[n-1].Ts+open[n-1].Dur {
				p := open[n-1]
				return fmt.Errorf("trace: pid %d tid %d: span %q [%d, %d] overlaps %q [%d, %d] without nesting",
					k.Pid, k.Tid, e.Name, e.Ts, e.Ts+e.Dur, p.Name, p.Ts, p.Ts+p.Dur)
			}
			open = append(open, e)
		}
	}
	return nil
}
