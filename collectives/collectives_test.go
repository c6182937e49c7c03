package collectives

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// gridNs and gridGs are the group shapes every collective is checked on;
// g = 0 stands for g = N (one pack).
var (
	gridNs = []int{1, 2, 3, 7, 16, 33}
	gridGs = []int{1, 2, 5, 0}
)

// tiny thresholds make the large-message algorithms run on small payloads.
var tiny = Thresholds{
	BcastLargeBytes: 64, BcastLargeMinPacks: 2,
	AllReduceLargeBytes: 64, AllReduceLargeMinPacks: 2,
	AllGatherRingBytes: 64, AllGatherRingMinPacks: 2,
	AllToAllPairwiseBytes: 64,
	AllToAllvDirectBytes:  8, // pieces of 0..B bytes: some go direct, some aggregated
}

type shape struct{ n, g int }

func gridShapes() []shape {
	var out []shape
	for _, n := range gridNs {
		seen := map[int]bool{}
		for _, g := range gridGs {
			if g == 0 || g > n {
				g = n
			}
			if !seen[g] {
				seen[g] = true
				out = append(out, shape{n, g})
			}
		}
	}
	return out
}

// gen is the deterministic source of every rank's inputs: any rank can
// compute any other rank's input, so each checks its own result against a
// naive reference.
type gen struct{ seed uint64 }

func (g gen) rng(call, rank int) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed, uint64(call)<<32|uint64(rank)))
}

func (g gen) bytes(call, rank, n int) []byte {
	r := g.rng(call, rank)
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n:n]
}

// intn is a value every rank agrees on for a call (a root, a count).
func (g gen) intn(call, salt, n int) int { return g.rng(call, -1-salt).IntN(n) }

// matMul is an associative, non-commutative op: 2x2 matrices of uint64
// (32-byte elements), multiplied modulo 2^64.
func matMul(dst, src []byte) error {
	if len(dst) != len(src) || len(dst)%32 != 0 {
		return fmt.Errorf("matMul: %d and %d bytes", len(dst), len(src))
	}
	le := binary.LittleEndian
	for i := 0; i < len(dst); i += 32 {
		a, b, c, d := le.Uint64(dst[i:]), le.Uint64(dst[i+8:]), le.Uint64(dst[i+16:]), le.Uint64(dst[i+24:])
		e, f, g, h := le.Uint64(src[i:]), le.Uint64(src[i+8:]), le.Uint64(src[i+16:]), le.Uint64(src[i+24:])
		le.PutUint64(dst[i:], a*e+b*g)
		le.PutUint64(dst[i+8:], a*f+b*h)
		le.PutUint64(dst[i+16:], c*e+d*g)
		le.PutUint64(dst[i+24:], c*f+d*h)
	}
	return nil
}

// floatResults collects float results per call and rank to compare bits.
type floatResults struct {
	mu sync.Mutex
	m  map[int][][]float64
}

func (f *floatResults) put(call, rank, n int, v []float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[int][][]float64{}
	}
	if f.m[call] == nil {
		f.m[call] = make([][]float64, n)
	}
	f.m[call][rank] = append([]float64(nil), v...)
}

// session runs every collective several times on one rank and checks each
// result against a naive reference.
func session(ctx context.Context, c *Collectives, gn gen, sizes []int, floats *floatResults) error {
	N, me := c.Size(), c.Rank()
	call := 0
	next := func() int { call++; return call }
	fail := func(op string, k int, format string, args ...any) error {
		return fmt.Errorf("%s (call %d): "+format, append([]any{op, k}, args...)...)
	}
	for _, size := range sizes {
		// Barrier.
		if err := c.Barrier(ctx); err != nil {
			return err
		}

		// Bcast from a random root.
		k := next()
		root := gn.intn(k, 0, N)
		buf := make([]byte, size)
		if me == root {
			copy(buf, gn.bytes(k, root, size))
		}
		if err := c.Bcast(ctx, root, buf); err != nil {
			return err
		}
		if !bytes.Equal(buf, gn.bytes(k, root, size)) {
			return fail("bcast", k, "root %d: wrong data", root)
		}

		// Scatter / Gather / AllGather / AllToAll with blocks of B bytes.
		B := size / 8
		k = next()
		root = gn.intn(k, 0, N)
		var send []byte
		if me == root {
			send = gn.bytes(k, root, N*B)
		}
		recv := make([]byte, B)
		if err := c.Scatter(ctx, root, send, recv); err != nil {
			return err
		}
		if want := gn.bytes(k, root, N*B)[me*B : (me+1)*B]; !bytes.Equal(recv, want) {
			return fail("scatter", k, "root %d: wrong block", root)
		}

		k = next()
		root = gn.intn(k, 0, N)
		var all []byte
		if me == root {
			all = make([]byte, N*B)
		}
		if err := c.Gather(ctx, root, gn.bytes(k, me, B), all); err != nil {
			return err
		}
		if me == root {
			for i := 0; i < N; i++ {
				if !bytes.Equal(all[i*B:(i+1)*B], gn.bytes(k, i, B)) {
					return fail("gather", k, "root %d: block %d wrong", root, i)
				}
			}
		}

		k = next()
		all = make([]byte, N*B)
		if err := c.AllGather(ctx, gn.bytes(k, me, B), all); err != nil {
			return err
		}
		for i := 0; i < N; i++ {
			if !bytes.Equal(all[i*B:(i+1)*B], gn.bytes(k, i, B)) {
				return fail("allgather", k, "block %d wrong", i)
			}
		}

		k = next()
		block := func(i, j int) []byte { return gn.bytes(k, i*N+j, B) } // from i to j
		in := make([]byte, 0, N*B)
		for j := 0; j < N; j++ {
			in = append(in, block(me, j)...)
		}
		out := make([]byte, N*B)
		if err := c.AllToAll(ctx, in, out); err != nil {
			return err
		}
		for i := 0; i < N; i++ {
			if !bytes.Equal(out[i*B:(i+1)*B], block(i, me)) {
				return fail("alltoall", k, "block from %d wrong", i)
			}
		}

		// v-variants: counts drawn per call, known to every rank.
		count := func(k, i int) int { return gn.intn(k, 1+i, B+1) }
		k = next()
		root = gn.intn(k, 0, N)
		var sendv [][]byte
		if me == root {
			for i := 0; i < N; i++ {
				sendv = append(sendv, gn.bytes(k, N+i, count(k, i)))
			}
		}
		recv = make([]byte, count(k, me))
		if err := c.Scatterv(ctx, root, sendv, recv); err != nil {
			return err
		}
		if !bytes.Equal(recv, gn.bytes(k, N+me, count(k, me))) {
			return fail("scatterv", k, "root %d: wrong piece", root)
		}

		k = next()
		root = gn.intn(k, 0, N)
		var recvv [][]byte
		if me == root {
			for i := 0; i < N; i++ {
				recvv = append(recvv, make([]byte, count(k, i)))
			}
		}
		if err := c.Gatherv(ctx, root, gn.bytes(k, me, count(k, me)), recvv); err != nil {
			return err
		}
		if me == root {
			for i := 0; i < N; i++ {
				if !bytes.Equal(recvv[i], gn.bytes(k, i, count(k, i))) {
					return fail("gatherv", k, "root %d: piece %d wrong", root, i)
				}
			}
		}

		k = next()
		recvv = make([][]byte, N)
		for i := range recvv {
			recvv[i] = make([]byte, count(k, i))
		}
		if err := c.AllGatherv(ctx, gn.bytes(k, me, count(k, me)), recvv); err != nil {
			return err
		}
		for i := 0; i < N; i++ {
			if !bytes.Equal(recvv[i], gn.bytes(k, i, count(k, i))) {
				return fail("allgatherv", k, "piece %d wrong", i)
			}
		}

		k = next()
		pair := func(i, j int) int { return gn.intn(k, 1+i*N+j, B+1) } // count from i to j
		piece := func(i, j int) []byte { return gn.bytes(k, N+i*N+j, pair(i, j)) }
		sendv, recvv = make([][]byte, N), make([][]byte, N)
		for j := 0; j < N; j++ {
			sendv[j] = piece(me, j)
			recvv[j] = make([]byte, pair(j, me))
		}
		if err := c.AllToAllv(ctx, sendv, recvv); err != nil {
			return err
		}
		for i := 0; i < N; i++ {
			if !bytes.Equal(recvv[i], piece(i, me)) {
				return fail("alltoallv", k, "piece from %d wrong", i)
			}
		}

		// Reductions. Integers: exact against a naive fold.
		n64 := size / 8
		ints := func(k, r int) []uint64 {
			rg := gn.rng(k, r)
			v := make([]uint64, n64)
			for i := range v {
				v[i] = rg.Uint64()
			}
			return v
		}
		k = next()
		data := ints(k, me)
		if err := AllReduceT(ctx, c, data, Sum); err != nil {
			return err
		}
		want := make([]uint64, n64)
		for r := 0; r < N; r++ {
			Sum(want, ints(k, r))
		}
		if !slices.Equal(data, want) {
			return fail("allreduce sum", k, "wrong result")
		}

		k = next()
		root = gn.intn(k, 0, N)
		i32 := func(k, r int) []int32 {
			rg := gn.rng(k, r)
			v := make([]int32, size/4)
			for i := range v {
				v[i] = int32(rg.Uint32())
			}
			return v
		}
		d32 := i32(k, me)
		if err := ReduceT(ctx, c, root, d32, Max); err != nil {
			return err
		}
		w32 := i32(k, 0)
		for r := 1; r < N; r++ {
			Max(w32, i32(k, r))
		}
		if me == root && !slices.Equal(d32, w32) {
			return fail("reduce max", k, "root %d: wrong result", root)
		}
		if me != root && !slices.Equal(d32, i32(k, me)) {
			return fail("reduce max", k, "non-root data changed")
		}

		// Projections: associative, not commutative.
		k = next()
		ranks := make([]int64, size/8)
		for i := range ranks {
			ranks[i] = int64(me)
		}
		lastFirst := append([]int64(nil), ranks...)
		if err := AllReduceT(ctx, c, ranks, ElementWise(func(a, b int64) int64 { return a })); err != nil {
			return err
		}
		if err := AllReduceT(ctx, c, lastFirst, ElementWise(func(a, b int64) int64 { return b })); err != nil {
			return err
		}
		next()
		for i := range ranks {
			if ranks[i] != 0 || lastFirst[i] != int64(N-1) {
				return fail("allreduce projection", k, "got %d and %d, want 0 and %d", ranks[i], lastFirst[i], N-1)
			}
		}

		// Matrix products: opaque, element-wise, and to a root; all three
		// calls use the inputs of the first, so one reference does.
		mats := size / 32 * 32
		k = next()
		matWant := gn.bytes(k, 0, mats)
		for r := 1; r < N; r++ {
			if err := matMul(matWant, gn.bytes(k, r, mats)); err != nil {
				return err
			}
		}
		m := gn.bytes(k, me, mats)
		if err := c.AllReduce(ctx, m, matMul); err != nil {
			return err
		}
		if !bytes.Equal(m, matWant) {
			return fail("allreduce matmul", k, "wrong product")
		}
		m = gn.bytes(k, me, mats)
		if err := c.AllReduceElems(ctx, m, 32, matMul); err != nil {
			return err
		}
		if !bytes.Equal(m, matWant) {
			return fail("allreduce-elems matmul", k, "wrong product")
		}
		root = gn.intn(k, 0, N)
		m = gn.bytes(k, me, mats)
		if err := c.Reduce(ctx, root, m, matMul); err != nil {
			return err
		}
		if me == root && !bytes.Equal(m, matWant) {
			return fail("reduce matmul", k, "root %d: wrong product", root)
		}

		// Floats: bit-identical on every rank, close to the naive sum.
		k = next()
		fl := func(k, r int) []float64 {
			rg := gn.rng(k, r)
			v := make([]float64, size/8)
			for i := range v {
				v[i] = rg.NormFloat64() * math.Pow(10, float64(rg.IntN(12)))
			}
			return v
		}
		f := fl(k, me)
		if err := AllReduceT(ctx, c, f, Sum); err != nil {
			return err
		}
		floats.put(k, me, N, f)
	}
	return nil
}

func runGrid(t *testing.T, name string, opts []Option, rendezvous bool, sizes []int) {
	for _, s := range gridShapes() {
		t.Run(fmt.Sprintf("%s/N=%d/g=%d", name, s.n, s.g), func(t *testing.T) {
			t.Parallel()
			net := newMemNet(s.n, s.g)
			net.rendezvous = rendezvous
			var floats floatResults
			gn := gen{seed: uint64(s.n*100 + s.g)}
			mustGroup(t, net, opts, func(ctx context.Context, c *Collectives) error {
				return session(ctx, c, gn, sizes, &floats)
			})
			for call, per := range floats.m {
				for r := 1; r < s.n; r++ {
					for i := range per[0] {
						if math.Float64bits(per[r][i]) != math.Float64bits(per[0][i]) {
							t.Fatalf("call %d: rank %d element %d: %v, rank 0 has %v", call, r, i, per[r][i], per[0][i])
						}
					}
				}
			}
		})
	}
}

// TestLargeDefaults crosses the default thresholds with real payloads:
// scatter+allgather Bcast, Rabenseifner AllReduce, ring AllGather and
// pairwise AllToAll.
func TestLargeDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("large payloads")
	}
	th := DefaultThresholds()
	const size = 600 << 10
	if th.Bcast(8, size) != AlgScatterAllgather || th.AllReduce(8, size, true) != AlgRabenseifner ||
		th.AllGather(8, 16*size/8) != AlgRing || th.AllToAll(8, 2*14*size/8) != AlgPairwise {
		t.Fatal("the payloads no longer cross the default thresholds")
	}
	if raceEnabled {
		// The same code paths run under the race detector in
		// TestCollectivesGrid with tiny thresholds; big payloads only
		// make it slow.
		t.Skip("large payloads under the race detector")
	}
	for _, s := range []shape{{16, 2}, {9, 1}} {
		t.Run(fmt.Sprintf("N=%d/g=%d", s.n, s.g), func(t *testing.T) {
			var floats floatResults
			mustGroup(t, newMemNet(s.n, s.g), nil, func(ctx context.Context, c *Collectives) error {
				return session(ctx, c, gen{seed: 77}, []int{size}, &floats)
			})
		})
	}
}

func TestCollectivesGrid(t *testing.T) {
	sizes := []int{0, 1, 8, 64, 200, 1000}
	runGrid(t, "default", nil, false, sizes)
	runGrid(t, "tiny-thresholds", []Option{WithThresholds(tiny)}, false, sizes)
	runGrid(t, "rendezvous", []Option{WithThresholds(tiny)}, true, []int{0, 100, 1000})
	runGrid(t, "rendezvous-default", nil, true, []int{0, 100, 1000})
}
