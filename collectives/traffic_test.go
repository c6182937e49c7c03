package collectives

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// runTraffic runs fn on every rank of a fresh net and returns the net (for
// its message log) and the sum of every rank's stats.
func runTraffic(t *testing.T, n, g int, opts []Option, fn func(ctx context.Context, c *Collectives) error) (*memNet, OpStats, []*Collectives) {
	t.Helper()
	net := newMemNet(n, g)
	handles := make([]*Collectives, n)
	var mu sync.Mutex
	mustGroup(t, net, opts, func(ctx context.Context, c *Collectives) error {
		mu.Lock()
		handles[c.Rank()] = c
		mu.Unlock()
		return fn(ctx, c)
	})
	var total OpStats
	for _, c := range handles {
		total = total.Add(c.Total())
	}
	return net, total, handles
}

// checkLog checks that remote messages only join leaders and that the
// stats agree with what the network carried.
func checkLog(t *testing.T, net *memNet, total OpStats) {
	t.Helper()
	topo, _ := NewTopology(net.n, net.g)
	var remoteMsgs, remoteBytes, localMsgs, localBytes int64
	for _, m := range net.sent() {
		if !m.remote {
			localMsgs++
			localBytes += int64(m.size)
			continue
		}
		remoteMsgs++
		remoteBytes += int64(m.size)
		op, ph := opID(m.tag>>phaseBits&(1<<opBits-1)), phase(m.tag&(1<<phaseBits-1))
		switch {
		case op == opAllToAllv && ph == phPiece:
			// a large AllToAllv piece goes straight to its receiver
			if m.size == 0 {
				t.Errorf("empty direct piece %d -> %d", m.src, m.dst)
			}
		case !topo.IsLeader(m.src) || !topo.IsLeader(m.dst):
			t.Errorf("remote message %d -> %d (tag %#x, %s, %s) not between leaders", m.src, m.dst, m.tag, op, ph)
		}
		if m.tag < TagBase {
			t.Errorf("collective message with user tag %d", m.tag)
		}
	}
	if remoteMsgs != total.RemoteMsgs || remoteBytes != total.RemoteBytes || localMsgs != total.LocalMsgs || localBytes != total.LocalBytes {
		t.Errorf("stats %+v disagree with the network: remote %d msgs %d bytes, local %d msgs %d bytes",
			total, remoteMsgs, remoteBytes, localMsgs, localBytes)
	}
}

func TestBcastTraffic(t *testing.T) {
	for _, tc := range []struct {
		n, g, size int
		alg        Algorithm
	}{
		{16, 4, 1000, AlgBinomialTree},
		{33, 5, 1000, AlgBinomialTree},
		{16, 16, 1000, AlgNone},
		{16, 1, 4000, AlgBinomialTree},
		{32, 4, 512 << 10, AlgScatterAllgather},
		{33, 5, 300 << 10, AlgScatterAllgather},
		{12, 4, 300 << 10, AlgBinomialTree}, // 3 packs: too few for scatter+allgather
	} {
		topo, _ := NewTopology(tc.n, tc.g)
		P := topo.Packs()
		if got := DefaultThresholds().Bcast(P, tc.size); got != tc.alg {
			t.Fatalf("N=%d g=%d M=%d: algorithm %s, want %s", tc.n, tc.g, tc.size, got, tc.alg)
		}
		for _, root := range []int{0, tc.n / 2, tc.n - 1} {
			t.Run(fmt.Sprintf("N=%d/g=%d/M=%d/root=%d", tc.n, tc.g, tc.size, root), func(t *testing.T) {
				data := gen{seed: 1}.bytes(0, 0, tc.size)
				net, total, handles := runTraffic(t, tc.n, tc.g, nil, func(ctx context.Context, c *Collectives) error {
					buf := make([]byte, tc.size)
					if c.Rank() == root {
						copy(buf, data)
					}
					return c.Bcast(ctx, root, buf)
				})
				checkLog(t, net, total)
				// The tree and scatter+allgather both put exactly
				// (P-1)*M bytes on the network; a flat broadcast would
				// put (N-1)*M there.
				if want := int64((P - 1) * tc.size); total.RemoteBytes != want {
					t.Errorf("remote bytes %d, want (P-1)*M = %d (flat: %d)", total.RemoteBytes, want, (tc.n-1)*tc.size)
				}
				rootLeader := handles[topo.Leader(topo.PackOf(root))].Stats()["bcast"]
				// Scatter+allgather: the root's leader sends about
				// 2*(P-1)/P*M, where the tree's root sends ceil(log2 P)*M.
				if tc.alg == AlgScatterAllgather && rootLeader.RemoteBytes > int64(2*(P-1)*tc.size/P+P) {
					t.Errorf("root leader sent %d remote bytes, want about 2(P-1)/P*M = %d", rootLeader.RemoteBytes, 2*(P-1)*tc.size/P)
				}
				if tc.alg == AlgBinomialTree && total.RemoteMsgs != int64(P-1) {
					t.Errorf("remote messages %d, want P-1 = %d", total.RemoteMsgs, P-1)
				}
			})
		}
	}
}

func TestAllToAllTraffic(t *testing.T) {
	for _, tc := range []struct{ n, g, block int }{
		{33, 5, 16}, {16, 4, 0}, {16, 4, 4096}, {7, 1, 100}, {7, 7, 100}, {10, 3, 1 << 14},
	} {
		t.Run(fmt.Sprintf("N=%d/g=%d/B=%d", tc.n, tc.g, tc.block), func(t *testing.T) {
			net, total, _ := runTraffic(t, tc.n, tc.g, nil, func(ctx context.Context, c *Collectives) error {
				send := make([]byte, tc.n*tc.block)
				return c.AllToAll(ctx, send, make([]byte, len(send)))
			})
			checkLog(t, net, total)
			topo, _ := NewTopology(tc.n, tc.g)
			P := topo.Packs()
			if want := int64(P * (P - 1)); total.RemoteMsgs != want {
				t.Errorf("remote messages %d, want P*(P-1) = %d", total.RemoteMsgs, want)
			}
			var want int64
			for p := 0; p < P; p++ {
				for q := 0; q < P; q++ {
					if p != q {
						want += int64(topo.PackSize(p) * topo.PackSize(q) * tc.block)
					}
				}
			}
			if total.RemoteBytes != want {
				t.Errorf("remote bytes %d, want %d (every block that crosses, once)", total.RemoteBytes, want)
			}
		})
	}
}

func TestRootedTraffic(t *testing.T) {
	const n, g, B = 33, 5, 100
	topo, _ := NewTopology(n, g)
	for _, root := range []int{0, 7, 32} {
		rp := topo.PackOf(root)
		// Gather and Scatter: every block outside the root's pack crosses once.
		want := int64((n - topo.PackSize(rp)) * B)
		net, total, _ := runTraffic(t, n, g, nil, func(ctx context.Context, c *Collectives) error {
			var all []byte
			if c.Rank() == root {
				all = make([]byte, n*B)
			}
			return c.Gather(ctx, root, make([]byte, B), all)
		})
		checkLog(t, net, total)
		if total.RemoteBytes != want {
			t.Errorf("gather root %d: remote bytes %d, want %d", root, total.RemoteBytes, want)
		}
		net, total, _ = runTraffic(t, n, g, nil, func(ctx context.Context, c *Collectives) error {
			var all []byte
			if c.Rank() == root {
				all = make([]byte, n*B)
			}
			return c.Scatter(ctx, root, all, make([]byte, B))
		})
		checkLog(t, net, total)
		if total.RemoteBytes != want {
			t.Errorf("scatter root %d: remote bytes %d, want %d", root, total.RemoteBytes, want)
		}
		// Reduce: one partial per non-zero pack up the tree, plus the
		// result from rank 0 to the root's pack.
		M := 800
		wantR := int64((topo.Packs() - 1) * M)
		if rp != 0 {
			wantR += int64(M)
		}
		net, total, _ = runTraffic(t, n, g, nil, func(ctx context.Context, c *Collectives) error {
			return ReduceT(ctx, c, root, make([]float64, M/8), Sum)
		})
		checkLog(t, net, total)
		if total.RemoteBytes != wantR {
			t.Errorf("reduce root %d: remote bytes %d, want %d", root, total.RemoteBytes, wantR)
		}
	}
}

func TestAllReduceTraffic(t *testing.T) {
	const n, g = 32, 4 // 8 packs
	P := 8
	for _, tc := range []struct {
		size int
		alg  Algorithm
	}{{4096, AlgRecursiveDoubling}, {1 << 20, AlgRabenseifner}} {
		if got := DefaultThresholds().AllReduce(P, tc.size, true); got != tc.alg {
			t.Fatalf("M=%d: algorithm %s, want %s", tc.size, got, tc.alg)
		}
		net, total, handles := runTraffic(t, n, g, nil, func(ctx context.Context, c *Collectives) error {
			return AllReduceT(ctx, c, make([]float64, tc.size/8), Sum)
		})
		checkLog(t, net, total)
		perLeader := handles[0].Stats()["allreduce"].RemoteBytes
		var want int64
		switch tc.alg {
		case AlgRecursiveDoubling:
			want = int64(3 * tc.size) // log2 8 rounds of M
		case AlgRabenseifner:
			want = int64(2 * (P - 1) * tc.size / P) // 2(P-1)/P * M
		}
		if perLeader != want {
			t.Errorf("%s: a leader sent %d remote bytes, want %d", tc.alg, perLeader, want)
		}
	}
}

// TestAllOpsRemoteOnlyBetweenLeaders runs the whole session and checks the
// message log: remote traffic only between leaders, stats match.
func TestAllOpsRemoteOnlyBetweenLeaders(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithThresholds(tiny)}} {
		for _, s := range []shape{{16, 5}, {7, 2}, {33, 1}} {
			var floats floatResults
			net, total, handles := runTraffic(t, s.n, s.g, opts, func(ctx context.Context, c *Collectives) error {
				return session(ctx, c, gen{seed: 9}, []int{0, 64, 500}, &floats)
			})
			checkLog(t, net, total)
			st := handles[0].Stats()
			for _, op := range opNames {
				if st[op].Calls == 0 {
					t.Errorf("%s never called", op)
				}
				if st[op].Errors != 0 {
					t.Errorf("%s: %d errors", op, st[op].Errors)
				}
			}
			handles[0].ResetStats()
			if len(handles[0].Stats()) != 0 || handles[0].Total() != (OpStats{}) {
				t.Errorf("ResetStats left %v", handles[0].Stats())
			}
		}
	}
}

// slowReceiver is a rank whose receives each take a moment, so that its
// senders finish everything else before it has copied their pieces.
type slowReceiver struct{ *memComm }

func (s slowReceiver) Recv(ctx context.Context, src, tag int) ([]byte, error) {
	time.Sleep(2 * time.Millisecond)
	return s.memComm.Recv(ctx, src, tag)
}

// TestAllToAllvLargePiecesGoDirect: pieces of at least AllToAllvDirectBytes
// travel on their own (one message per ordered pair of ranks), smaller
// ones through the leaders; and a rank may overwrite its send buffers as
// soon as its call returns, because the receivers, which get the very same
// slices from the in-memory network, have copied them by then (rank n-1
// receives slowly, and gets only large pieces).
func TestAllToAllvLargePiecesGoDirect(t *testing.T) {
	const n, g = 10, 3 // packs of 3, 3, 3, 1
	const large, small = AllToAllvDirectBytes, 100
	topo, _ := NewTopology(n, g)
	// piece i->j is large when i < j: the last rank only receives large ones.
	size := func(i, j int) int {
		if i < j {
			return large
		}
		return small
	}
	fill := func(i, j int) byte { return byte(1 + i*n + j) }
	net := newMemNet(n, g)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results := make([][][]byte, n)
	handles := make([]*Collectives, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for me := range n {
		var comm Comm = net.comm(me)
		if me == n-1 {
			comm = slowReceiver{net.comm(me)}
		}
		handles[me] = New(comm)
		wg.Add(1)
		go func() {
			defer wg.Done()
			send, recv := make([][]byte, n), make([][]byte, n)
			for j := range send {
				send[j] = bytes.Repeat([]byte{fill(me, j)}, size(me, j))
				recv[j] = make([]byte, size(j, me))
			}
			if errs[me] = handles[me].AllToAllv(ctx, send, recv); errs[me] != nil {
				return
			}
			for _, s := range send {
				clear(s) // the buffers are the caller's again
			}
			results[me] = recv
		}()
	}
	wg.Wait()
	var total OpStats
	for me, c := range handles {
		if errs[me] != nil {
			t.Fatalf("rank %d: %v", me, errs[me])
		}
		total = total.Add(c.Total())
	}
	checkLog(t, net, total)
	for me, recv := range results {
		for i, r := range recv {
			if want := bytes.Repeat([]byte{fill(i, me)}, size(i, me)); !bytes.Equal(r, want) {
				t.Errorf("rank %d: piece from %d wrong (%d bytes)", me, i, len(r))
			}
		}
	}
	pieces := 0
	for _, m := range net.sent() {
		if phase(m.tag&(1<<phaseBits-1)) == phPiece {
			pieces++
		}
	}
	if want := n * (n - 1) / 2; pieces != want {
		t.Errorf("%d direct pieces, want %d", pieces, want)
	}
	var remoteLarge int64
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if !topo.SamePack(i, j) {
				remoteLarge += int64(large)
			}
		}
	}
	if total.RemoteBytes < remoteLarge {
		t.Errorf("remote bytes %d, less than the %d bytes of the large pieces that cross packs", total.RemoteBytes, remoteLarge)
	}
}
