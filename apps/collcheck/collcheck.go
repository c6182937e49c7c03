// Package collcheck is an app that checks every collective across real
// containers: each rank runs every operation on deterministic inputs (any
// rank can compute any other rank's input) and compares what it got with a
// naive reference. It is how the collectives are tested on the local
// backend, and a smoke test for a new deployment.
package collcheck

import (
	"bytes"
	"context"
	"fmt"

	"github.com/volley-run/volley/collectives"
	"github.com/volley-run/volley/group"
)

// Result is what each rank returns.
type Result struct {
	Checked     int   `json:"checked"`
	LocalBytes  int64 `json:"local_bytes"`
	RemoteBytes int64 `json:"remote_bytes"`
}

func init() {
	group.Register(group.App{
		Name:    "collcheck",
		Summary: "runs every collective on known inputs and checks the results against a naive reference",
		Params: map[string]string{
			"size":   "bytes per rank in the fixed-size collectives (default 1000)",
			"rounds": "how many times to run the whole set (default 1)",
		},
		Run: Run,
	})
}

// gen returns n deterministic bytes for (who, op).
func gen(who, op, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(who*131 + op*17 + i*7 + i/251)
	}
	return b
}

// count is the v-variants' per-pair count, which may be zero.
func count(a, b, op int) int { return (a*3 + b*5 + op) % 7 * 11 }

// Run is collcheck's worker function.
func Run(ctx context.Context, w *group.Worker) (any, error) {
	m, err := w.Params().Int("size", 1000)
	if err != nil {
		return nil, err
	}
	rounds, err := w.Params().Int("rounds", 1)
	if err != nil {
		return nil, err
	}
	if m < 0 || rounds < 1 {
		return nil, fmt.Errorf("%w: size must be >= 0 and rounds >= 1", group.ErrBadSpec)
	}
	col := collectives.New(w.Comm())
	n, me := w.Size(), w.Rank()
	checked := 0
	check := func(op string, ok bool) error {
		if !ok {
			return fmt.Errorf("%s: rank %d got a wrong result", op, me)
		}
		checked++
		return nil
	}
	for round := range rounds {
		root := (round*5 + n/2) % n
		op := round * 16
		if err := col.Barrier(ctx); err != nil {
			return nil, err
		}
		// Bcast.
		buf := gen(root, op, m)
		if me != root {
			buf = make([]byte, m)
		}
		if err := col.Bcast(ctx, root, buf); err != nil {
			return nil, err
		}
		if err := check("bcast", bytes.Equal(buf, gen(root, op, m))); err != nil {
			return nil, err
		}
		// Scatter and Gather.
		var send []byte
		if me == root {
			send = gen(root, op+1, n*m)
		}
		recv := make([]byte, m)
		if err := col.Scatter(ctx, root, send, recv); err != nil {
			return nil, err
		}
		if err := check("scatter", bytes.Equal(recv, gen(root, op+1, n*m)[me*m:(me+1)*m])); err != nil {
			return nil, err
		}
		all := make([]byte, n*m)
		if err := col.Gather(ctx, root, gen(me, op+2, m), all); err != nil {
			return nil, err
		}
		if me == root {
			ok := true
			for i := range n {
				ok = ok && bytes.Equal(all[i*m:(i+1)*m], gen(i, op+2, m))
			}
			if err := check("gather", ok); err != nil {
				return nil, err
			}
		}
		// AllGather.
		all = make([]byte, n*m)
		if err := col.AllGather(ctx, gen(me, op+3, m), all); err != nil {
			return nil, err
		}
		ok := true
		for i := range n {
			ok = ok && bytes.Equal(all[i*m:(i+1)*m], gen(i, op+3, m))
		}
		if err := check("allgather", ok); err != nil {
			return nil, err
		}
		// Reduce and AllReduce (sums of int64, exact).
		vals := func(rank int) []int64 {
			v := make([]int64, 64)
			for i := range v {
				v[i] = int64(rank*1000 + i + op)
			}
			return v
		}
		want := make([]int64, 64)
		for r := range n {
			for i, x := range vals(r) {
				want[i] += x
			}
		}
		got := vals(me)
		if err := collectives.ReduceT(ctx, col, root, got, collectives.Sum[int64]); err != nil {
			return nil, err
		}
		if me == root {
			if err := check("reduce", equalInts(got, want)); err != nil {
				return nil, err
			}
		}
		got = vals(me)
		if err := collectives.AllReduceT(ctx, col, got, collectives.Sum[int64]); err != nil {
			return nil, err
		}
		if err := check("allreduce", equalInts(got, want)); err != nil {
			return nil, err
		}
		// AllToAll: block j of rank i's send goes to rank j.
		recv = make([]byte, n*m)
		if err := col.AllToAll(ctx, gen(me, op+4, n*m), recv); err != nil {
			return nil, err
		}
		ok = true
		for i := range n {
			ok = ok && bytes.Equal(recv[i*m:(i+1)*m], gen(i, op+4, n*m)[me*m:(me+1)*m])
		}
		if err := check("alltoall", ok); err != nil {
			return nil, err
		}
		// The v-variants, with per-rank counts (some zero).
		if err := checkV(ctx, col, n, me, root, op+8, check); err != nil {
			return nil, err
		}
	}
	st := col.Total()
	return Result{Checked: checked, LocalBytes: st.LocalBytes, RemoteBytes: st.RemoteBytes}, nil
}

func checkV(ctx context.Context, col *collectives.Collectives, n, me, root, op int, check func(string, bool) error) error {
	// Scatterv: root sends count(root, i) bytes to rank i.
	var sends [][]byte
	if me == root {
		for i := range n {
			sends = append(sends, gen(root*n+i, op, count(root, i, op)))
		}
	}
	recv := make([]byte, count(root, me, op))
	if err := col.Scatterv(ctx, root, sends, recv); err != nil {
		return err
	}
	if err := check("scatterv", bytes.Equal(recv, gen(root*n+me, op, count(root, me, op)))); err != nil {
		return err
	}
	// Gatherv and AllGatherv: rank i contributes count(i, 0) bytes.
	mine := gen(me, op+1, count(me, 0, op+1))
	bufs := func() [][]byte {
		b := make([][]byte, n)
		for i := range b {
			b[i] = make([]byte, count(i, 0, op+1))
		}
		return b
	}
	gathered := bufs()
	if err := col.Gatherv(ctx, root, mine, gathered); err != nil {
		return err
	}
	if me == root {
		ok := true
		for i := range n {
			ok = ok && bytes.Equal(gathered[i], gen(i, op+1, count(i, 0, op+1)))
		}
		if err := check("gatherv", ok); err != nil {
			return err
		}
	}
	gathered = bufs()
	if err := col.AllGatherv(ctx, mine, gathered); err != nil {
		return err
	}
	ok := true
	for i := range n {
		ok = ok && bytes.Equal(gathered[i], gen(i, op+1, count(i, 0, op+1)))
	}
	if err := check("allgatherv", ok); err != nil {
		return err
	}
	// AllToAllv: rank i sends count(i, j) bytes to rank j.
	send, recvs := make([][]byte, n), make([][]byte, n)
	for j := range n {
		send[j] = gen(me*n+j, op+2, count(me, j, op+2))
		recvs[j] = make([]byte, count(j, me, op+2))
	}
	if err := col.AllToAllv(ctx, send, recvs); err != nil {
		return err
	}
	ok = true
	for i := range n {
		ok = ok && bytes.Equal(recvs[i], gen(i*n+me, op+2, count(i, me, op+2)))
	}
	return check("alltoallv", ok)
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
