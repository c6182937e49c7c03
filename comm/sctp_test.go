package comm

import (
	"bytes"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/volley-run/volley/comm/transport"
)

// testTransport is the data transport of the tests' clusters. The default
// is tcp, which every kernel has; comm/transport/vmtest/run.sh runs the
// suite again with -comm.transport=sctp inside a VM whose kernel has SCTP.
var testTransport = flag.String("comm.transport", "tcp", "data transport of the test clusters: tcp or sctp")

// TestExchangeSCTP runs two containers of two ranks each over the sctp
// transport: every rank sends every rank of the other container a series
// of messages at once, eager and rendezvous, one of 64 MiB, and each
// receiver checks their order and bytes. Kernel SCTP is absent on the
// development machines; comm/transport/vmtest/run.sh runs this test inside
// a VM whose kernel has it.
func TestExchangeSCTP(t *testing.T) {
	if ok, reason := transport.SCTPAvailable(); !ok {
		t.Skipf("the kernel lacks SCTP here (%s); comm/transport/vmtest/run.sh runs this test in a VM", reason)
	}
	cl := startCluster(t, 4, 2, func(c *Config) { c.Transport = "sctp" })
	for p, n := range cl.nodes {
		if got := n.TransportName(); got != "sctp" {
			t.Fatalf("pack %d uses %s, want sctp", p, got)
		}
	}
	ctx := testCtx(t, 2*time.Minute)
	// Around the eager limit, above the chunk size, and one big message on
	// one pair only.
	sizes := []int{0, 1, 1000, DefaultEagerLimit, DefaultEagerLimit + 1, DefaultChunkSize + 7, 1 << 20}
	const big = 64 << 20
	msg := func(src, dst, i, n int) []byte {
		b := make([]byte, n)
		for k := range b {
			b[k] = byte(src*31 + dst*17 + i*5 + k)
		}
		return b
	}
	bigFrom, bigTo := 0, 3
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for src := range 4 {
		for dst := range 4 {
			if src/2 == dst/2 {
				continue
			}
			wg.Add(2)
			go func() { // sender
				defer wg.Done()
				for i, n := range sizes {
					if err := cl.comms[src].Send(ctx, dst, 1, msg(src, dst, i, n)); err != nil {
						errs <- fmt.Errorf("rank %d to %d, message %d: %w", src, dst, i, err)
						return
					}
				}
				if src == bigFrom && dst == bigTo {
					if err := cl.comms[src].Send(ctx, dst, 2, msg(src, dst, 99, big)); err != nil {
						errs <- fmt.Errorf("rank %d to %d, 64 MiB: %w", src, dst, err)
					}
				}
			}()
			go func() { // receiver
				defer wg.Done()
				for i, n := range sizes {
					got, err := cl.comms[dst].Recv(ctx, src, 1)
					if err != nil {
						errs <- fmt.Errorf("rank %d from %d, message %d: %w", dst, src, i, err)
						return
					}
					if !bytes.Equal(got, msg(src, dst, i, n)) {
						errs <- fmt.Errorf("rank %d from %d, message %d: got %d bytes, want %d (or bytes differ)", dst, src, i, len(got), n)
						return
					}
				}
				if src == bigFrom && dst == bigTo {
					start := time.Now()
					got, err := cl.comms[dst].Recv(ctx, src, 2)
					switch {
					case err != nil:
						errs <- fmt.Errorf("rank %d from %d, 64 MiB: %w", dst, src, err)
					case !bytes.Equal(got, msg(src, dst, 99, big)):
						errs <- fmt.Errorf("rank %d from %d: 64 MiB message differs (%d bytes)", dst, src, len(got))
					default:
						t.Logf("64 MiB from rank %d to %d over sctp in %v", src, dst, time.Since(start).Round(time.Millisecond))
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var total int
	for _, n := range sizes {
		total += n
	}
	s := cl.comms[bigTo].Stats()
	if want := int64(2*total + big); s.RecvRemoteBytes != want {
		t.Errorf("rank %d received %d remote bytes, want %d", bigTo, s.RecvRemoteBytes, want)
	}
}

// TestStreamFor checks that on the connection between two packs every pair
// of ranks has its own SCTP stream while there are streams enough, that
// the pairs spread evenly when there are not, and that stream 0 and
// streams past the negotiated count are never used.
func TestStreamFor(t *testing.T) {
	usable := transport.DefaultSCTPStreams - 1
	for _, g := range []int{1, 2, 3, 8, 15, 16, 64} {
		for _, packs := range [][2]int{{0, 1}, {1, 0}, {2, 5}} {
			uses := map[uint16]int{}
			for s := packs[0] * g; s < (packs[0]+1)*g; s++ {
				for d := packs[1] * g; d < (packs[1]+1)*g; d++ {
					st := streamFor(s, d, g)
					if st == 0 || int(st) >= transport.DefaultSCTPStreams {
						t.Fatalf("g=%d: pair %d->%d on stream %d, outside 1..%d", g, s, d, st, usable)
					}
					uses[st]++
				}
			}
			most := (g*g + usable - 1) / usable
			for st, n := range uses {
				if n > most {
					t.Fatalf("g=%d, packs %v: %d pairs share stream %d, want at most %d", g, packs, n, st, most)
				}
			}
		}
	}
}
