package group

import (
	"context"
	"testing"

	"github.com/volley-run/volley/collectives"
)

func init() {
	Register(App{Name: "test-coll", Summary: "barriers=K then allreduces=M", Run: func(ctx context.Context, w *Worker) (any, error) {
		col := collectives.New(w.Comm())
		barriers, _ := w.Params().Int("barriers", 1)
		allreduces, _ := w.Params().Int("allreduces", 0)
		for range barriers {
			if err := col.Barrier(ctx); err != nil {
				return nil, err
			}
		}
		v := []float64{float64(w.Rank())}
		for range allreduces {
			if err := collectives.AllReduceT(ctx, col, v, collectives.Sum[float64]); err != nil {
				return nil, err
			}
		}
		return v[0], nil
	}})
}

// TestRecordSpans checks what containers record for each rank: every
// collective call, counted by operation and in order, inside the rank's
// run, which starts after the pack passed the barrier.
func TestRecordSpans(t *testing.T) {
	res, err := Launch(context.Background(), Spec{App: "test-coll", Workers: 5, Granularity: 2,
		Params: Params{"barriers": "2", "allreduces": "3"}}, &inProcess{failPack: -1}, Record(RecordSpans))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if res.Start.IsZero() {
		t.Error("Result.Start not set")
	}
	for _, rr := range res.Ranks {
		pt := res.Packs[rr.Pack].Timing
		tm := rr.Timing
		if pt == nil || tm == nil {
			t.Fatalf("rank %d: pack timing %v, rank timing %v", rr.Rank, pt, tm)
		}
		if pt.Start.Before(res.Start) || pt.ReadyUs > tm.RunUs || tm.RunUs > tm.EndUs {
			t.Errorf("rank %d: pack start %v (launch %v), ready %d µs, run %d-%d µs", rr.Rank, pt.Start, res.Start, pt.ReadyUs, tm.RunUs, tm.EndUs)
		}
		for op, want := range map[string]int64{"barrier": 2, "allreduce": 3} {
			ot := tm.Ops[op]
			if ot == nil || ot.Calls != want || ot.Errors != 0 || ot.Seconds <= 0 {
				t.Fatalf("rank %d: %s timing %+v, want %d calls", rr.Rank, op, ot, want)
			}
			var sum int64
			for _, b := range ot.Buckets {
				sum += b
			}
			if sum != want || len(ot.Buckets) != len(LatencyBuckets)+1 {
				t.Errorf("rank %d: %s buckets %v hold %d calls, want %d", rr.Rank, op, ot.Buckets, sum, want)
			}
		}
		want := []string{"barrier", "barrier", "allreduce", "allreduce", "allreduce"}
		if len(tm.Spans) != len(want) {
			t.Fatalf("rank %d: %d spans, want %d", rr.Rank, len(tm.Spans), len(want))
		}
		end := tm.RunUs
		for i, s := range tm.Spans {
			if s.Op != want[i] || s.StartUs < end || s.StartUs+s.DurUs > tm.EndUs {
				t.Errorf("rank %d: span %d %+v: want %s within [%d, %d]", rr.Rank, i, s, want[i], end, tm.EndUs)
			}
			end = s.StartUs + s.DurUs
		}
	}
}

// TestRecordLevels checks that nothing is recorded unless asked, that
// timings come without spans, and that spans stop at MaxSpans.
func TestRecordLevels(t *testing.T) {
	spec := Spec{App: "test-coll", Workers: 2, Granularity: 2, Params: Params{"barriers": "3"}}
	res, err := Launch(context.Background(), spec, &inProcess{failPack: -1})
	if err != nil || res.Err() != nil {
		t.Fatal(err, res.Err())
	}
	if res.Ranks[0].Timing != nil || res.Packs[0].Timing == nil {
		t.Errorf("default recording: rank timing %+v, pack timing %v", res.Ranks[0].Timing, res.Packs[0].Timing)
	}
	res, err = Launch(context.Background(), spec, &inProcess{failPack: -1}, Record(RecordTimings))
	if err != nil || res.Err() != nil {
		t.Fatal(err, res.Err())
	}
	if tm := res.Ranks[1].Timing; tm == nil || tm.Ops["barrier"].Calls != 3 || len(tm.Spans) != 0 {
		t.Errorf("RecordTimings: %+v", tm)
	}
	spec.Params = Params{"barriers": "1005"}
	res, err = Launch(context.Background(), spec, &inProcess{failPack: -1}, Record(RecordSpans), Record(RecordTimings))
	if err != nil || res.Err() != nil {
		t.Fatal(err, res.Err())
	}
	if tm := res.Ranks[0].Timing; len(tm.Spans) != MaxSpans || tm.DroppedSpans != 5 || tm.Ops["barrier"].Calls != 1005 {
		t.Errorf("past MaxSpans: %d spans, %d dropped, %d calls", len(tm.Spans), tm.DroppedSpans, tm.Ops["barrier"].Calls)
	}
}
