package comm

import (
	"testing"
	"time"
)

// TestCompressedEagerWindowReturns: with compression, the eager window is
// credited back with what was reserved (uncompressed bytes), so once every
// message is received it is empty again and later messages still go eager.
func TestCompressedEagerWindowReturns(t *testing.T) {
	const window, size = 1 << 20, 32 << 10
	cl := startCluster(t, 2, 1, func(c *Config) { c.Compression = "zstd"; c.EagerWindow = window })
	ctx := testCtx(t, 60*time.Second)
	msg := make([]byte, size) // zeros: compress to a few bytes
	for round := range 4 {
		var reqs []*Request
		for range window / size { // fills the window exactly
			reqs = append(reqs, cl.comms[0].Isend(ctx, 1, 0, msg))
		}
		for range reqs {
			if got, err := cl.comms[1].Recv(ctx, 0, 0); err != nil || len(got) != size {
				t.Fatalf("round %d: %d bytes, %v", round, len(got), err)
			}
		}
		for _, r := range reqs {
			if _, err := r.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		l := outLinkTo(cl.nodes[0], 1)
		var left int
		if !waitFor(5*time.Second, func() bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			left = l.eagerOut[pair{0, 1}]
			return left == 0
		}) {
			t.Fatalf("round %d: every message received, yet %d of the %d-byte window still taken", round, left, window)
		}
	}
	if n := cl.nodes[0].msgID.Load(); n != 0 {
		t.Fatalf("%d messages went by rendezvous; all fit the window", n)
	}
}

// outLinkTo returns n's connection to pack, nil if none was dialed.
func outLinkTo(n *Node, pack int) *link {
	n.mu.Lock()
	pr := n.peers[pack]
	n.mu.Unlock()
	pr.dialMu.Lock()
	defer pr.dialMu.Unlock()
	return pr.out
}
