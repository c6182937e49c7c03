package collectives

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type observed struct {
	op      string
	start   time.Time
	elapsed time.Duration
	err     error
}

type recorder struct {
	mu    sync.Mutex
	calls []observed
}

func (r *recorder) ObserveCollective(op string, start time.Time, elapsed time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, observed{op, start, elapsed, err})
}

// TestObserverSeesEveryCall checks that a context's observer hears every
// call in order, with its error, that calls without one are not reported,
// and that Stats' Time adds up the observed durations.
func TestObserverSeesEveryCall(t *testing.T) {
	const n, g = 6, 2
	net := newMemNet(n, g)
	recs := make([]*recorder, n)
	handles := make([]*Collectives, n)
	var mu sync.Mutex
	mustGroup(t, net, nil, func(ctx context.Context, c *Collectives) error {
		rec := &recorder{}
		mu.Lock()
		recs[c.Rank()], handles[c.Rank()] = rec, c
		mu.Unlock()
		octx := WithObserver(ctx, rec)
		if err := c.Barrier(octx); err != nil {
			return err
		}
		if err := AllReduceT(octx, c, []float64{1, 2}, Sum[float64]); err != nil {
			return err
		}
		if err := c.Bcast(octx, n+3, make([]byte, 8)); !errors.Is(err, ErrInvalid) {
			return errors.New("bcast with a bad root did not fail")
		}
		if err := c.Barrier(ctx); err != nil { // no observer: not reported
			return err
		}
		return c.Gather(octx, 0, []byte{byte(c.Rank())}, make([]byte, n))
	})
	want := []string{"barrier", "allreduce", "bcast", "gather"}
	for r, rec := range recs {
		if len(rec.calls) != len(want) {
			t.Fatalf("rank %d: observed %d calls, want %d: %+v", r, len(rec.calls), len(want), rec.calls)
		}
		perOp := map[string]time.Duration{}
		for i, c := range rec.calls {
			if c.op != want[i] {
				t.Errorf("rank %d: call %d is %s, want %s", r, i, c.op, want[i])
			}
			if (c.err != nil) != (c.op == "bcast") {
				t.Errorf("rank %d: %s reported error %v", r, c.op, c.err)
			}
			if c.elapsed <= 0 {
				t.Errorf("rank %d: %s took %v", r, c.op, c.elapsed)
			}
			if i > 0 && c.start.Before(rec.calls[i-1].start.Add(rec.calls[i-1].elapsed)) {
				t.Errorf("rank %d: %s started before %s ended", r, c.op, rec.calls[i-1].op)
			}
			perOp[c.op] += c.elapsed
		}
		st := handles[r].Stats()
		for _, op := range []string{"allreduce", "bcast", "gather"} {
			if st[op].Time != perOp[op] {
				t.Errorf("rank %d: Stats()[%s].Time = %v, observed %v", r, op, st[op].Time, perOp[op])
			}
		}
		// Two barriers, one observed: Time counts both.
		if st["barrier"].Time <= perOp["barrier"] {
			t.Errorf("rank %d: barrier Time %v does not include the unobserved call (observed %v)", r, st["barrier"].Time, perOp["barrier"])
		}
	}
}
