package comm_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/volley-run/volley/comm"
	"github.com/volley-run/volley/comm/commtest"
)

// BenchmarkRemoteOneWay streams messages between two containers (two
// nodes over TCP on loopback), with a window of 8 operations in flight.
// `volley bench comm` prints the same figures next to raw TCP.
func BenchmarkRemoteOneWay(b *testing.B) {
	cl := commtest.Start(b, 2, 1, nil)
	a, r := cl.Comms[0], cl.Comms[1]
	ctx := context.Background()
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20, 16 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			buf := make([]byte, size)
			done := make(chan error, 1)
			go func() {
				var reqs []*comm.Request
				for i := range b.N {
					reqs = append(reqs, r.Irecv(ctx, 0, 0))
					if len(reqs) == 8 || i == b.N-1 {
						for _, q := range reqs {
							if _, err := q.Wait(ctx); err != nil {
								done <- err
								return
							}
						}
						reqs = reqs[:0]
					}
				}
				done <- nil
			}()
			var reqs []*comm.Request
			for i := range b.N {
				reqs = append(reqs, a.Isend(ctx, 1, 0, buf))
				if len(reqs) == 8 || i == b.N-1 {
					for _, q := range reqs {
						if _, err := q.Wait(ctx); err != nil {
							b.Fatal(err)
						}
					}
					reqs = reqs[:0]
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}
