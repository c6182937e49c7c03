package collectives

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// benchGroup runs op b.N times on every rank of an in-memory group and
// reports the remote bytes per call (all ranks together) next to what a
// flat algorithm would move (flat, per call), as a ratio.
func benchGroup(b *testing.B, n, g int, flat int64, op func(ctx context.Context, c *Collectives) error) {
	net := newMemNet(n, g)
	handles := make([]*Collectives, n)
	for r := range handles {
		handles[r] = New(net.comm(r))
	}
	ctx := context.Background()
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for r := 0; r < n; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < b.N && errs[r] == nil; i++ {
				errs[r] = op(ctx, handles[r])
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	for r, err := range errs {
		if err != nil {
			b.Fatalf("rank %d: %v", r, err)
		}
	}
	var total OpStats
	for _, c := range handles {
		total = total.Add(c.Total())
	}
	remote := float64(total.RemoteBytes) / float64(b.N)
	b.ReportMetric(remote, "remoteB/op")
	if flat > 0 {
		b.ReportMetric(remote/float64(flat), "remote/flat")
	}
}

func BenchmarkAllReduce(b *testing.B) {
	for _, s := range []shape{{32, 8}, {32, 4}} {
		for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
			P := (s.n + s.g - 1) / s.g
			alg := DefaultThresholds().AllReduce(P, size, true)
			b.Run(fmt.Sprintf("N=%d/g=%d/%dKiB/%s", s.n, s.g, size>>10, alg), func(b *testing.B) {
				b.SetBytes(int64(size))
				// Flat baseline: recursive doubling among all N ranks.
				benchGroup(b, s.n, s.g, int64(s.n*ceilLog2(s.n)*size), func(ctx context.Context, c *Collectives) error {
					return AllReduceT(ctx, c, make([]float64, size/8), Sum)
				})
			})
		}
	}
}

func BenchmarkBcast(b *testing.B) {
	for _, s := range []shape{{32, 8}, {32, 4}} {
		for _, size := range []int{1 << 10, 1 << 20} {
			P := (s.n + s.g - 1) / s.g
			b.Run(fmt.Sprintf("N=%d/g=%d/%dKiB/%s", s.n, s.g, size>>10, DefaultThresholds().Bcast(P, size)), func(b *testing.B) {
				b.SetBytes(int64(size))
				benchGroup(b, s.n, s.g, int64((s.n-1)*size), func(ctx context.Context, c *Collectives) error {
					return c.Bcast(ctx, 3, make([]byte, size))
				})
			})
		}
	}
}

func BenchmarkAllToAll(b *testing.B) {
	for _, s := range []shape{{32, 8}, {32, 4}} {
		for _, block := range []int{64, 16 << 10} {
			b.Run(fmt.Sprintf("N=%d/g=%d/block=%dB", s.n, s.g, block), func(b *testing.B) {
				b.SetBytes(int64(s.n * block))
				// Flat baseline: every rank sends to every other rank
				// directly; the bytes that cross are the same, but there
				// are N*(N-1-g+1)... messages; compare messages instead.
				benchGroup(b, s.n, s.g, 0, func(ctx context.Context, c *Collectives) error {
					return c.AllToAll(ctx, make([]byte, s.n*block), make([]byte, s.n*block))
				})
			})
		}
	}
}
