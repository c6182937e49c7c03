package collectives

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

const shortDeadline = 300 * time.Millisecond

// opCase is one collective called by every rank; bad is true on the rank
// that misbehaves (its counts or lengths disagree with the others).
type opCase struct {
	name string
	run  func(ctx context.Context, c *Collectives, bad bool) error
}

func size(bad bool, good, other int) int {
	if bad {
		return other
	}
	return good
}

func opCases(n int) []opCase {
	vec := func(k int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = make([]byte, k)
		}
		return out
	}
	return []opCase{
		{"barrier", func(ctx context.Context, c *Collectives, bad bool) error { return c.Barrier(ctx) }},
		{"bcast", func(ctx context.Context, c *Collectives, bad bool) error {
			return c.Bcast(ctx, 0, make([]byte, size(bad, 100, 99)))
		}},
		{"scatter", func(ctx context.Context, c *Collectives, bad bool) error {
			return c.Scatter(ctx, 0, make([]byte, n*10), make([]byte, size(bad, 10, 11)))
		}},
		{"scatterv", func(ctx context.Context, c *Collectives, bad bool) error {
			return c.Scatterv(ctx, 0, vec(10), make([]byte, size(bad, 10, 9)))
		}},
		{"gather", func(ctx context.Context, c *Collectives, bad bool) error {
			return c.Gather(ctx, 0, make([]byte, size(bad, 10, 12)), make([]byte, n*10))
		}},
		{"gatherv", func(ctx context.Context, c *Collectives, bad bool) error {
			return c.Gatherv(ctx, 0, make([]byte, size(bad, 10, 3)), vec(10))
		}},
		{"allgather", func(ctx context.Context, c *Collectives, bad bool) error {
			B := size(bad, 10, 20)
			return c.AllGather(ctx, make([]byte, B), make([]byte, n*B))
		}},
		{"allgatherv", func(ctx context.Context, c *Collectives, bad bool) error {
			recv := vec(10)
			if bad {
				recv[0] = make([]byte, 11) // expects a different count from rank 0
			}
			return c.AllGatherv(ctx, make([]byte, 10), recv)
		}},
		{"reduce", func(ctx context.Context, c *Collectives, bad bool) error {
			return ReduceT(ctx, c, 0, make([]float64, size(bad, 10, 11)), Sum)
		}},
		{"allreduce", func(ctx context.Context, c *Collectives, bad bool) error {
			return AllReduceT(ctx, c, make([]int64, size(bad, 10, 9)), Sum)
		}},
		{"alltoall", func(ctx context.Context, c *Collectives, bad bool) error {
			B := size(bad, 8, 16)
			return c.AllToAll(ctx, make([]byte, n*B), make([]byte, n*B))
		}},
		{"alltoallv", func(ctx context.Context, c *Collectives, bad bool) error {
			recv := vec(5)
			if bad {
				recv[n-1] = make([]byte, 6)
			}
			return c.AllToAllv(ctx, vec(5), recv)
		}},
	}
}

// checkFailed checks that err is an error of op that names it and is either
// the context's deadline or one of the given sentinels.
func checkFailed(t *testing.T, op string, rank int, err error, sentinels ...error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: rank %d: no error", op, rank)
		return
	}
	if !strings.HasPrefix(err.Error(), op+": ") {
		t.Errorf("%s: rank %d: error does not name the operation: %v", op, rank, err)
	}
	ok := errors.Is(err, context.DeadlineExceeded)
	for _, s := range sentinels {
		ok = ok || errors.Is(err, s)
	}
	if !ok {
		t.Errorf("%s: rank %d: unexpected error %v", op, rank, err)
	}
}

// scenario is one collective run on a fresh net, where some rank
// misbehaves; the scenarios of a test run at the same time, since most of
// them end at the deadline.
type scenario struct {
	name    string
	s       shape
	tc      opCase
	bad     int // the rank that misbehaves or is missing
	missing bool
	errs    []error
	took    time.Duration
}

func runScenarios(t *testing.T, scs []*scenario) {
	t.Helper()
	var wg sync.WaitGroup
	for _, sc := range scs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			net := newMemNet(sc.s.n, sc.s.g)
			skip := map[int]bool{}
			if sc.missing {
				skip[sc.bad] = true
			}
			start := time.Now()
			sc.errs = group(t, net, shortDeadline, nil, skip, func(ctx context.Context, c *Collectives) error {
				return sc.tc.run(ctx, c, !sc.missing && c.Rank() == sc.bad)
			})
			sc.took = time.Since(start)
		}()
	}
	wg.Wait()
}

var errorShapes = []shape{{7, 2}, {9, 3}, {5, 1}, {4, 4}}

func TestMismatchedCounts(t *testing.T) {
	var scs []*scenario
	for _, s := range errorShapes {
		for _, bad := range []int{0, 1, s.n - 1} {
			for _, tc := range opCases(s.n) {
				if tc.name != "barrier" {
					scs = append(scs, &scenario{name: fmt.Sprintf("%s/N=%d/g=%d/bad=%d", tc.name, s.n, s.g, bad), s: s, tc: tc, bad: bad})
				}
			}
		}
	}
	runScenarios(t, scs)
	for _, sc := range scs {
		if sc.took > 10*shortDeadline {
			t.Errorf("%s: took %v with a deadline of %v", sc.name, sc.took, shortDeadline)
		}
		failed := 0
		for r, err := range sc.errs {
			if err != nil {
				failed++
				checkFailed(t, sc.tc.name, r, err, ErrMismatch, ErrInvalid)
			}
		}
		if failed == 0 {
			t.Errorf("%s: no rank noticed the mismatch", sc.name)
		}
	}
}

func TestMissingRank(t *testing.T) {
	// Operations where every rank depends on every other one.
	everyone := map[string]bool{"barrier": true, "allgather": true, "allgatherv": true, "allreduce": true, "alltoall": true, "alltoallv": true}
	var scs []*scenario
	for _, s := range errorShapes {
		for _, missing := range []int{0, 1, s.n - 1} {
			for _, tc := range opCases(s.n) {
				scs = append(scs, &scenario{name: fmt.Sprintf("%s/N=%d/g=%d/missing=%d", tc.name, s.n, s.g, missing), s: s, tc: tc, bad: missing, missing: true})
			}
		}
	}
	runScenarios(t, scs)
	for _, sc := range scs {
		if sc.took > 10*shortDeadline {
			t.Errorf("%s: took %v with a deadline of %v", sc.name, sc.took, shortDeadline)
		}
		failed := 0
		for r, err := range sc.errs {
			if r == sc.bad {
				continue
			}
			if err != nil {
				failed++
				checkFailed(t, sc.tc.name, r, err)
			} else if everyone[sc.tc.name] {
				t.Errorf("%s: rank %d finished without rank %d", sc.name, r, sc.bad)
			}
		}
		// Root 0: with rank 0 missing nobody gets data in bcast/scatter;
		// with another rank missing the root of gather/reduce never
		// completes. (A missing root of gather/reduce goes unnoticed:
		// the others only send.)
		name := sc.tc.name
		toRoot := name == "gather" || name == "gatherv" || name == "reduce"
		fromRoot := name == "bcast" || name == "scatter" || name == "scatterv"
		if failed == 0 && (everyone[name] || sc.bad == 0 && fromRoot || sc.bad != 0 && toRoot) {
			t.Errorf("%s: no rank noticed that rank %d is missing", sc.name, sc.bad)
		}
	}
}

func TestInvalidArguments(t *testing.T) {
	const n = 5
	for _, tc := range []struct {
		name     string
		rootOnly bool // only the root can tell; the others wait or finish
		run      func(ctx context.Context, c *Collectives) error
	}{
		{"bcast", false, func(ctx context.Context, c *Collectives) error { return c.Bcast(ctx, n, nil) }},
		{"bcast", false, func(ctx context.Context, c *Collectives) error { return c.Bcast(ctx, -1, nil) }},
		{"scatter", true, func(ctx context.Context, c *Collectives) error {
			return c.Scatter(ctx, 0, make([]byte, 3), make([]byte, 1))
		}},
		{"scatterv", true, func(ctx context.Context, c *Collectives) error { return c.Scatterv(ctx, 0, make([][]byte, n-1), nil) }},
		{"gather", true, func(ctx context.Context, c *Collectives) error {
			return c.Gather(ctx, 0, make([]byte, 2), make([]byte, 3))
		}},
		{"gatherv", true, func(ctx context.Context, c *Collectives) error { return c.Gatherv(ctx, 0, nil, make([][]byte, n+1)) }},
		{"allgather", false, func(ctx context.Context, c *Collectives) error {
			return c.AllGather(ctx, make([]byte, 2), make([]byte, 3))
		}},
		{"allgatherv", false, func(ctx context.Context, c *Collectives) error { return c.AllGatherv(ctx, nil, make([][]byte, 2)) }},
		{"allgatherv", false, func(ctx context.Context, c *Collectives) error {
			return c.AllGatherv(ctx, make([]byte, 1), make([][]byte, n))
		}},
		{"reduce", false, func(ctx context.Context, c *Collectives) error { return c.Reduce(ctx, 0, nil, nil) }},
		{"reduce", false, func(ctx context.Context, c *Collectives) error { return ReduceT(ctx, c, 9, []int{1}, Sum) }},
		{"allreduce", false, func(ctx context.Context, c *Collectives) error {
			return c.AllReduceElems(ctx, make([]byte, 5), 2, matMul)
		}},
		{"allreduce", false, func(ctx context.Context, c *Collectives) error { return AllReduceT[int](ctx, c, nil, nil) }},
		{"alltoall", false, func(ctx context.Context, c *Collectives) error {
			return c.AllToAll(ctx, make([]byte, 7), make([]byte, 7))
		}},
		{"alltoallv", false, func(ctx context.Context, c *Collectives) error { return c.AllToAllv(ctx, make([][]byte, n), nil) }},
	} {
		net := newMemNet(n, 2)
		start := time.Now()
		errs := group(t, net, shortDeadline, nil, nil, tc.run)
		if d := time.Since(start); !tc.rootOnly && d > shortDeadline/2 {
			t.Errorf("%s: invalid arguments took %v to report", tc.name, d)
		}
		for r, err := range errs {
			if tc.rootOnly && r != 0 {
				if err != nil {
					checkFailed(t, tc.name, r, err)
				}
				continue
			}
			if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), tc.name+": ") {
				t.Errorf("%s: rank %d: got %v, want an ErrInvalid naming the operation", tc.name, r, err)
			}
		}
	}
}

// oddComm has packs that are not contiguous.
type oddComm struct{ *memComm }

func (oddComm) Pack(rank int) int { return rank % 2 }

func TestUnusableComm(t *testing.T) {
	ctx := context.Background()
	for _, c := range []*Collectives{New(nil), New(oddComm{newMemNet(4, 2).comm(0)})} {
		if err := c.Barrier(ctx); !errors.Is(err, ErrInvalid) {
			t.Errorf("barrier on an unusable comm: %v", err)
		}
		if err := AllReduceT(ctx, c, []int{1}, Sum); !errors.Is(err, ErrInvalid) {
			t.Errorf("allreduce on an unusable comm: %v", err)
		}
	}
	if _, err := NewTopology(0, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewTopology(0, 1): %v", err)
	}
	if _, err := NewTopology(3, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewTopology(3, 0): %v", err)
	}
}

func TestOpErrorStopsTheCall(t *testing.T) {
	boom := errors.New("boom")
	net := newMemNet(6, 2)
	errs := group(t, net, shortDeadline, nil, nil, func(ctx context.Context, c *Collectives) error {
		return c.AllReduce(ctx, make([]byte, 8), func(dst, src []byte) error { return boom })
	})
	sawBoom := false
	for r, err := range errs {
		checkFailed(t, "allreduce", r, err, boom)
		sawBoom = sawBoom || errors.Is(err, boom)
	}
	if !sawBoom {
		t.Errorf("the op's error was lost")
	}
}

// TestLaterCallsStayAligned: after a failed call (bad root on one rank),
// the ranks still agree on the next call.
func TestLaterCallsStayAligned(t *testing.T) {
	net := newMemNet(6, 2)
	errs := group(t, net, 2*time.Second, nil, nil, func(ctx context.Context, c *Collectives) error {
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		root := 0
		if c.Rank() == 3 {
			root = 99
		}
		err := c.Bcast(short, root, make([]byte, 4))
		cancel()
		if c.Rank() == 3 && !errors.Is(err, ErrInvalid) {
			return fmt.Errorf("want ErrInvalid, got %v", err)
		}
		v := []int{c.Rank()}
		if err := AllReduceT(ctx, c, v, Sum); err != nil {
			return err
		}
		if v[0] != 15 {
			return fmt.Errorf("sum %d, want 15", v[0])
		}
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Errorf("rank %d: %v", r, err)
		}
	}
}
