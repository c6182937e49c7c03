package collectives

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/volley-run/volley/comm"
	"github.com/volley-run/volley/comm/commtest"
)

// TestGridOverRealComm runs the same checks as TestCollectivesGrid over the
// real middleware: comm nodes with memberlist and TCP between packs,
// zero-copy handover inside a pack.
func TestGridOverRealComm(t *testing.T) {
	sizes := []int{0, 1, 64, 1000, 100 << 10}
	if testing.Short() {
		sizes = []int{0, 64, 1000}
	}
	for _, s := range gridShapes() {
		for _, th := range []struct {
			name string
			opts []Option
		}{{"default", nil}, {"tiny", []Option{WithThresholds(tiny)}}} {
			t.Run(fmt.Sprintf("N=%d/g=%d/%s", s.n, s.g, th.name), func(t *testing.T) {
				cl := commtest.Start(t, s.n, s.g, nil)
				var floats floatResults
				gn := gen{seed: uint64(s.n*1000 + s.g)}
				errs := cl.Run(func(c *comm.Comm) error {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					return session(ctx, New(c, th.opts...), gn, sizes, &floats)
				})
				for r, err := range errs {
					if err != nil {
						t.Fatalf("rank %d: %v", r, err)
					}
				}
				for call, per := range floats.m {
					for r := 1; r < s.n; r++ {
						for i := range per[0] {
							if math.Float64bits(per[r][i]) != math.Float64bits(per[0][i]) {
								t.Fatalf("call %d: rank %d element %d differs from rank 0", call, r, i)
							}
						}
					}
				}
			})
		}
	}
}

// TestBcastRemoteBytesOverRealComm checks, with the comm layer's own
// counters, that Bcast of M bytes crosses containers about (P-1)*M times,
// not (N-1)*M.
func TestBcastRemoteBytesOverRealComm(t *testing.T) {
	const n, g, m = 16, 4, 200 << 10
	cl := commtest.Start(t, n, g, nil)
	errs := cl.Run(func(c *comm.Comm) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		buf := make([]byte, m)
		if c.Rank() == 5 {
			for i := range buf {
				buf[i] = byte(i)
			}
		}
		if err := New(c).Bcast(ctx, 5, buf); err != nil {
			return err
		}
		for i := range buf {
			if buf[i] != byte(i) {
				return fmt.Errorf("byte %d wrong", i)
			}
		}
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	var remote int64
	for _, c := range cl.Comms {
		remote += c.Stats().SentRemoteBytes
	}
	packs := int64((n + g - 1) / g)
	if remote < (packs-1)*m || remote > (packs-1)*m*11/10 {
		t.Fatalf("Bcast of %d bytes in %d packs sent %d remote bytes; want about (P-1)*M = %d (flat would be %d)",
			m, packs, remote, (packs-1)*m, int64(n-1)*m)
	}
}

// TestAllToAllvRemotePiecesLandInPlace checks that large pieces from
// another container are received straight into the caller's recv slices
// (comm.Comm.RecvInto): the call allocates far less than the bytes it
// receives from other containers, and every piece arrives intact.
func TestAllToAllvRemotePiecesLandInPlace(t *testing.T) {
	const n, g, m = 4, 2, 1 << 20 // pieces of 1 MiB go direct, by rendezvous
	cl := commtest.Start(t, n, g, nil)
	var before, after runtime.MemStats
	errs := cl.Run(func(c *comm.Comm) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		col := New(c)
		me := c.Rank()
		send, recv := make([][]byte, n), make([][]byte, n)
		for j := range n {
			send[j] = make([]byte, m)
			for i := range send[j] {
				send[j][i] = byte(me*n + j + i)
			}
			recv[j] = make([]byte, m)
		}
		if err := col.Barrier(ctx); err != nil {
			return err
		}
		if me == 0 {
			runtime.ReadMemStats(&before)
		}
		if err := col.Barrier(ctx); err != nil {
			return err
		}
		if err := col.AllToAllv(ctx, send, recv); err != nil {
			return err
		}
		if err := col.Barrier(ctx); err != nil {
			return err
		}
		if me == 0 {
			runtime.ReadMemStats(&after)
		}
		for src := range n {
			for i, b := range recv[src] {
				if b != byte(src*n+me+i) {
					return fmt.Errorf("piece from %d: byte %d is %d, want %d", src, i, b, byte(src*n+me+i))
				}
			}
		}
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	remote := uint64(n * (n - g) * m) // every rank receives n-g remote pieces
	if got := after.TotalAlloc - before.TotalAlloc; got > remote/4 {
		t.Fatalf("AllToAllv allocated %d bytes while receiving %d bytes from other containers; want the remote pieces received in place (under %d)", got, remote, remote/4)
	}
}
