package comm

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volley-run/volley/comm/internal/leakcheck"
	"github.com/volley-run/volley/comm/transport"
)

// TestMain fails the run if any goroutine outlives the tests. memberlist's
// Shutdown does not wait for a probe in flight (one to a pack that has
// just left can take seconds), so leaks are polled for a while, as in
// package membership.
func TestMain(m *testing.M) {
	os.Exit(leakcheck.Run(m, 10*time.Second))
}

var testSecret = []byte("0123456789abcdef-test-secret")

// cluster is a group's packs started in this process: real memberlist,
// real sockets on 127.0.0.1.
type cluster struct {
	nodes []*Node
	comms []*Comm // by rank
}

func startCluster(t *testing.T, n, g int, mod func(*Config)) *cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	packs := (n + g - 1) / g
	cl := &cluster{}
	var seeds []string
	for p := range packs {
		cfg := Config{Group: "g-test", Secret: testSecret, Workers: n, Granularity: g, Pack: p, Transport: *testTransport, Seeds: seeds}
		if mod != nil {
			mod(&cfg)
		}
		node, err := Start(ctx, cfg)
		if err != nil {
			t.Fatalf("start pack %d: %v", p, err)
		}
		cl.nodes = append(cl.nodes, node)
		if p == 0 {
			seeds = []string{node.MembershipAddr()}
		}
	}
	t.Cleanup(func() { cl.close() })
	var wg sync.WaitGroup
	errs := make([]error, packs)
	for p, node := range cl.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[p] = node.WaitReady(ctx) }()
	}
	wg.Wait()
	for p, err := range errs {
		if err != nil {
			t.Fatalf("pack %d not ready: %v", p, err)
		}
	}
	for r := range n {
		c, err := cl.nodes[r/g].Comm(r)
		if err != nil {
			t.Fatal(err)
		}
		cl.comms = append(cl.comms, c)
	}
	return cl
}

func (cl *cluster) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, n := range cl.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.Close(ctx) }()
	}
	wg.Wait()
}

// connect sends one small message from rank src to rank dst with tag and
// receives it, so that the connection from src's pack to dst's is open.
func connect(ctx context.Context, t *testing.T, cl *cluster, src, dst, tag int) {
	t.Helper()
	if err := cl.comms[src].Send(ctx, dst, tag, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.comms[dst].Recv(ctx, src, tag); err != nil {
		t.Fatal(err)
	}
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestLocalZeroCopy(t *testing.T) {
	cl := startCluster(t, 2, 2, nil)
	ctx := testCtx(t, 5*time.Second)
	buf := make([]byte, 64<<20)
	buf[12345] = 7
	if err := cl.comms[0].Send(ctx, 1, 3, buf); err != nil {
		t.Fatal(err)
	}
	got, err := cl.comms[1].Recv(ctx, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &buf[0] || len(got) != len(buf) {
		t.Fatal("local Recv did not return the sent backing array")
	}
	s := cl.comms[0].Stats()
	if s.SentLocalMsgs != 1 || s.SentLocalBytes != 64<<20 || s.SentRemoteMsgs != 0 {
		t.Errorf("sender stats %+v", s)
	}
}

// pairs returns a (sender, receiver) in the same pack and one across packs.
func forEachPlacement(t *testing.T, fn func(t *testing.T, cl *cluster, src, dst int)) {
	cl := startCluster(t, 4, 2, nil)
	t.Run("local", func(t *testing.T) { fn(t, cl, 0, 1) })
	t.Run("remote", func(t *testing.T) { fn(t, cl, 1, 2) })
}

func TestOrderAndTags(t *testing.T) {
	forEachPlacement(t, func(t *testing.T, cl *cluster, src, dst int) {
		ctx := testCtx(t, 10*time.Second)
		s, r := cl.comms[src], cl.comms[dst]
		// Interleave small and large messages on two tags.
		var want [2][][]byte
		var reqs []*Request
		for i := range 40 {
			size := 10 + i
			if i%7 == 0 {
				size = 200 << 10 // rendezvous
			}
			b := bytes.Repeat([]byte{byte(i)}, size)
			tag := i % 2
			want[tag] = append(want[tag], b)
			reqs = append(reqs, s.Isend(ctx, dst, tag, b))
		}
		// Tag 1 first: tag matching must skip the tag-0 messages.
		for _, tag := range []int{1, 0} {
			for i, w := range want[tag] {
				got, err := r.Recv(ctx, src, tag)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, w) {
					t.Fatalf("tag %d message %d: got %d bytes of %d, want %d of %d", tag, i, len(got), got[0], len(w), w[0])
				}
			}
		}
		for _, r := range reqs {
			if _, err := r.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestRendezvousWaitsForReceiver(t *testing.T) {
	// A large send blocks until a receive is posted; then it completes.
	cl := startCluster(t, 2, 1, nil)
	big := make([]byte, 1<<20)
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := cl.comms[0].Send(short, 1, 0, big)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("large send with no receiver: err = %v, want deadline exceeded", err)
	}
	ctx := testCtx(t, 10*time.Second)
	req := cl.comms[0].Isend(ctx, 1, 1, big)
	if _, err := cl.comms[1].Recv(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := req.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestEagerWindowBoundsBuffering(t *testing.T) {
	// A receiver that never receives: the sender may only get
	// EagerWindow bytes of eager messages out; the rest must wait.
	const window = 1 << 20
	cl := startCluster(t, 2, 1, func(c *Config) { c.EagerWindow = window })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msg := 32 << 10
	var reqs []*Request
	for range 64 { // 2 MiB in all, twice the window
		reqs = append(reqs, cl.comms[0].Isend(ctx, 1, 0, make([]byte, msg)))
	}
	time.Sleep(500 * time.Millisecond)
	done := 0
	for _, r := range reqs {
		if r.Test() {
			done++
		}
	}
	if done*msg > window {
		t.Fatalf("%d sends (%d bytes) completed with nothing received; the window is %d", done, done*msg, window)
	}
	if done == 0 {
		t.Fatalf("no eager send completed")
	}
	// Receiving everything lets every send finish.
	rctx := testCtx(t, 10*time.Second)
	for range reqs {
		if _, err := cl.comms[1].Recv(rctx, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range reqs {
		if _, err := r.Wait(rctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAnySourceAnyTag(t *testing.T) {
	cl := startCluster(t, 5, 2, nil)
	ctx := testCtx(t, 10*time.Second)
	for src := 1; src < 5; src++ {
		if err := cl.comms[src].Send(ctx, 0, 100+src, []byte{byte(src)}); err != nil {
			t.Fatal(err)
		}
	}
	// A reserved tag must not match AnyTag.
	if err := cl.comms[1].Send(ctx, 0, TagUB+5, []byte("collective")); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for range 4 {
		m, err := cl.comms[0].RecvMsg(ctx, AnySource, AnyTag)
		if err != nil {
			t.Fatal(err)
		}
		if m.Tag != 100+m.Src || m.Data[0] != byte(m.Src) || seen[m.Src] {
			t.Fatalf("got %+v", m)
		}
		seen[m.Src] = true
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if m, err := cl.comms[0].RecvMsg(short, AnySource, AnyTag); err == nil {
		t.Fatalf("AnyTag matched a reserved tag: %+v", m)
	}
	if got, err := cl.comms[0].Recv(ctx, 1, TagUB+5); err != nil || string(got) != "collective" {
		t.Fatalf("reserved tag: %q %v", got, err)
	}
}

func TestNonBlockingAndDeadline(t *testing.T) {
	cl := startCluster(t, 4, 2, nil)
	ctx := testCtx(t, 10*time.Second)
	r := cl.comms[3].Irecv(ctx, 0, 9)
	time.Sleep(50 * time.Millisecond)
	if r.Test() {
		t.Fatal("Irecv completed before anything was sent")
	}
	if err := cl.comms[0].Send(ctx, 3, 9, []byte("x")); err != nil {
		t.Fatal(err)
	}
	m, err := r.Wait(ctx)
	if err != nil || string(m.Data) != "x" || m.Src != 0 || m.Tag != 9 {
		t.Fatalf("Irecv = %+v, %v", m, err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := cl.comms[1].Recv(short, 2, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv past deadline: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("Recv overran its deadline")
	}
	// SendRecv in a ring cannot deadlock.
	var wg sync.WaitGroup
	for i, c := range cl.comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := len(cl.comms)
			m, err := c.SendRecv(ctx, (i+1)%n, 4, []byte{byte(i)}, (i+n-1)%n, 4)
			if err != nil || m.Data[0] != byte((i+n-1)%n) {
				t.Errorf("rank %d SendRecv: %+v %v", i, m, err)
			}
		}()
	}
	wg.Wait()
}

func TestBadArguments(t *testing.T) {
	cl := startCluster(t, 2, 1, nil)
	ctx := testCtx(t, 5*time.Second)
	c := cl.comms[0]
	if err := c.Send(ctx, 2, 0, nil); !errors.Is(err, ErrBadRank) {
		t.Errorf("send to rank 2 of 2: %v", err)
	}
	if err := c.Send(ctx, 1, -1, nil); !errors.Is(err, ErrBadTag) {
		t.Errorf("negative tag: %v", err)
	}
	if _, err := c.Recv(ctx, 7, 0); !errors.Is(err, ErrBadRank) {
		t.Errorf("recv from rank 7: %v", err)
	}
	if _, err := cl.nodes[0].Comm(1); err == nil {
		t.Error("pack 0 handed out rank 1's Comm")
	}
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }

func TestLargeRemote(t *testing.T) {
	size := 256 << 20
	if testing.Short() {
		size = 32 << 20
	}
	cl := startCluster(t, 2, 1, nil)
	ctx := testCtx(t, 2*time.Minute)
	buf := make([]byte, size)
	rand.Read(buf)
	want := sum(buf)
	req := cl.comms[0].Isend(ctx, 1, 0, buf)
	got, err := cl.comms[1].Recv(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := req.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != size || sum(got) != want {
		t.Fatalf("received %d bytes, checksum mismatch", len(got))
	}
	rs := cl.comms[1].Stats()
	if rs.RecvRemoteBytes != int64(size) || rs.RecvRemoteMsgs != 1 {
		t.Errorf("receiver stats %+v", rs)
	}
}

func TestCompression(t *testing.T) {
	for _, codec := range []string{"zstd", "s2"} {
		t.Run(codec, func(t *testing.T) {
			cl := startCluster(t, 2, 1, func(c *Config) { c.Compression = codec })
			ctx := testCtx(t, 30*time.Second)
			for _, size := range []int{10, 40 << 10, 3 << 20} {
				msg := []byte(strings.Repeat("volley compresses text well. ", size/29+1))[:size]
				want := sum(msg)
				req := cl.comms[0].Isend(ctx, 1, 0, msg)
				got, err := cl.comms[1].Recv(ctx, 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := req.Wait(ctx); err != nil {
					t.Fatal(err)
				}
				if sum(got) != want {
					t.Fatalf("size %d: payload changed", size)
				}
			}
			s := cl.comms[0].Stats()
			if s.SentWireBytes*4 > s.SentRemoteBytes {
				t.Errorf("compression saved little: %d wire bytes for %d payload bytes", s.SentWireBytes, s.SentRemoteBytes)
			}
		})
	}
}

func TestPackFailureCancelsGroup(t *testing.T) {
	cl := startCluster(t, 6, 2, nil)
	ctx := testCtx(t, 30*time.Second)
	// Connect pack 0 and pack 2, then "kill" pack 2: its sockets close
	// without a goodbye.
	connect(ctx, t, cl, 0, 4, 0)
	recvErr := make(chan error, 1)
	go func() { _, err := cl.comms[2].Recv(ctx, 5, 0); recvErr <- err }()
	killed := time.Now()
	cl.nodes[2].crash()
	for _, p := range []int{0, 1} {
		select {
		case <-cl.nodes[p].Context().Done():
		case <-ctx.Done():
			t.Fatalf("pack %d never noticed that pack 2 died", p)
		}
		cause := context.Cause(cl.nodes[p].Context())
		if !strings.Contains(cause.Error(), "pack 2") {
			t.Errorf("pack %d: cause %q does not name pack 2", p, cause)
		}
	}
	t.Logf("failure seen by every pack after %v", time.Since(killed))
	if err := <-recvErr; err == nil || !strings.Contains(err.Error(), "pack 2") {
		t.Errorf("pending Recv on pack 1: %v", err)
	}
	cl.nodes = cl.nodes[:2]
}

func TestRefusesWrongSecretAndGroup(t *testing.T) {
	cl := startCluster(t, 2, 1, nil)
	ctx := testCtx(t, 10*time.Second)
	cl.nodes[0].mu.Lock()
	addr := cl.nodes[0].ln.Addr()
	cl.nodes[0].mu.Unlock()
	tr, err := transport.New(*testTransport)
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]struct {
		secret []byte
		hello  transport.Hello
	}{
		"wrong secret": {[]byte("not-the-group-secret!"), transport.Hello{Group: "g-test", Pack: 1}},
		"other group":  {testSecret, transport.Hello{Group: "g-other", Pack: 1}},
	} {
		conn, err := tr.Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		_, err = transport.ClientHandshake(ctx, conn, h.secret, h.hello)
		conn.Close()
		if err == nil {
			t.Errorf("%s: data plane accepted the handshake", name)
		}
	}
	// The group still works.
	if err := cl.comms[1].Send(ctx, 0, 0, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if got, err := cl.comms[0].Recv(ctx, 1, 0); err != nil || string(got) != "ok" {
		t.Fatalf("after refusals: %q %v", got, err)
	}
	// A node with the wrong secret never joins: the group it thinks it is
	// in never becomes ready.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	intruder, err := Start(short, Config{Group: "g-test", Secret: []byte("wrong-secret-0123456789"), Workers: 3, Granularity: 1, Pack: 2, Transport: *testTransport, Seeds: []string{cl.nodes[0].MembershipAddr()}})
	if err == nil {
		err = intruder.WaitReady(short)
		intruder.Close(ctx)
	}
	if err == nil {
		t.Fatal("a node with the wrong secret became ready")
	}
}

func ExampleComm() {
	// Two containers with one rank each, in this process.
	ctx := context.Background()
	secret := []byte("example-secret-0123456789")
	n0, _ := Start(ctx, Config{Group: "example", Secret: secret, Workers: 2, Granularity: 1, Pack: 0, Transport: "tcp"})
	n1, _ := Start(ctx, Config{Group: "example", Secret: secret, Workers: 2, Granularity: 1, Pack: 1, Transport: "tcp", Seeds: []string{n0.MembershipAddr()}})
	var wg sync.WaitGroup
	for _, n := range []*Node{n0, n1} {
		wg.Add(1)
		go func() { defer wg.Done(); n.WaitReady(ctx) }()
	}
	wg.Wait()
	c0, _ := n0.Comm(0)
	c1, _ := n1.Comm(1)
	c0.Send(ctx, 1, 7, []byte("hello from rank 0"))
	m, _ := c1.RecvMsg(ctx, AnySource, AnyTag)
	fmt.Printf("rank 1 got %q from rank %d, tag %d\n", m.Data, m.Src, m.Tag)
	n0.Close(ctx)
	n1.Close(ctx)
	// Output: rank 1 got "hello from rank 0" from rank 0, tag 7
}

// crash stops the node abruptly, as if its process were killed: no
// goodbye, no leave. For tests of failure handling.
func (n *Node) crash() {
	n.mu.Lock()
	n.closing = true
	n.mu.Unlock()
	n.ln.Close()
	n.closeLinks()
	n.mem.Close(0)
	n.cancel(ErrClosed)
	n.wg.Wait()
}

// TestUnreachablePeerFailsGroup: a pack of a ready group whose data
// listener is gone fails the group at the first send, naming that pack,
// instead of leaving everyone waiting until their deadlines.
func TestUnreachablePeerFailsGroup(t *testing.T) {
	cl := startCluster(t, 3, 1, nil)
	ctx := testCtx(t, 30*time.Second)
	cl.nodes[2].ln.Close()
	if err := cl.comms[0].Send(ctx, 2, 0, []byte("x")); err == nil {
		t.Fatal("send to a pack whose listener is closed succeeded")
	}
	select {
	case <-cl.nodes[0].Context().Done():
	case <-ctx.Done():
		t.Fatal("the sender's group did not fail")
	}
	if cause := context.Cause(cl.nodes[0].Context()); !strings.Contains(cause.Error(), "pack 2 unreachable") {
		t.Fatalf("cause %q does not name the unreachable pack", cause)
	}
	// The failure is announced: pack 1, which never talked to pack 2,
	// stops too.
	select {
	case <-cl.nodes[1].Context().Done():
	case <-ctx.Done():
		t.Fatal("pack 1 never heard that the group failed")
	}
}
