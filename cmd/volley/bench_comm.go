package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/volley-run/volley/comm"
)

// benchComm measures the communicator: local (same container) latency and
// a 64 MiB zero-copy handoff against a memcpy of 64 MiB, then remote
// (between containers, over loopback) ping-pong latency and one-way
// bandwidth for 1 KiB..64 MiB, each next to raw loopback TCP measured in
// the same run: o.reps rounds that alternate Volley and raw TCP, and the
// medians of each figure and of the per-round ratio.
func benchComm(ctx context.Context, w io.Writer, o benchOptions) error {
	transport := o.transport
	local, err := startPair(ctx, 2, 2, transport) // one container, two ranks
	if err != nil {
		return err
	}
	defer local.close()
	remote, err := startPair(ctx, 2, 1, transport) // two containers
	if err != nil {
		return err
	}
	defer remote.close()

	fmt.Fprintf(w, "comm: local = two ranks in one container; remote = two containers over %s on loopback; median of %d alternating runs\n\n", remote.nodes[0].TransportName(), o.reps)
	lat, err := pingPong(ctx, local.a, local.b, 64, 20000)
	if err != nil {
		return err
	}
	const big = 64 << 20
	handoff, err := handoffTime(ctx, local.a, local.b, big, 200)
	if err != nil {
		return err
	}
	memcpy := memcpyTime(big, 20)
	fmt.Fprintf(w, "local send/recv round trip (64 B): %.2f us\n", us(lat))
	fmt.Fprintf(w, "local handoff of 64 MiB: %.2f us; memcpy of 64 MiB: %.0f us; handoff is %.0fx faster\n\n",
		us(handoff), us(memcpy), float64(memcpy)/float64(handoff))

	raw, err := newRawPair()
	if err != nil {
		return err
	}
	defer raw.close()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\tvolley rtt us\traw tcp rtt us\tvolley MB/s\traw tcp MB/s\tvolley/raw bw\t")
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20} {
		iters := max(16, min(50000, (256<<20)/size))
		var rtts, rawRTTs []time.Duration
		var bws, rawBWs, ratios []float64
		for range o.reps { // alternate, so both see the same load
			rtt, err := pingPong(ctx, remote.a, remote.b, size, iters/4+1)
			if err != nil {
				return err
			}
			rawRTT, err := raw.pingPong(size, iters/4+1)
			if err != nil {
				return err
			}
			bw, err := oneWay(ctx, remote.a, remote.b, size, iters)
			if err != nil {
				return err
			}
			rawBW, err := raw.oneWay(size, iters)
			if err != nil {
				return err
			}
			rtts, rawRTTs = append(rtts, rtt), append(rawRTTs, rawRTT)
			bws, rawBWs, ratios = append(bws, bw), append(rawBWs, rawBW), append(ratios, bw/rawBW)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.0f\t%.0f\t%.2f\t\n", bytesHuman(int64(size)),
			us(median(rtts)), us(median(rawRTTs)), medianF(bws), medianF(rawBWs), medianF(ratios))
	}
	return tw.Flush()
}

// commPair is a group of two ranks (a = rank 0, b = rank 1) in this process.
type commPair struct {
	nodes []*comm.Node
	a, b  *comm.Comm
}

func startPair(ctx context.Context, n, g int, transport string) (*commPair, error) {
	secret := make([]byte, 32)
	rand.Read(secret)
	group := fmt.Sprintf("bench-%d", g)
	p := &commPair{}
	var seeds []string
	for pack := range (n + g - 1) / g {
		node, err := comm.Start(ctx, comm.Config{Group: group, Secret: secret, Workers: n, Granularity: g, Pack: pack, Transport: transport, Seeds: seeds})
		if err != nil {
			p.close()
			return nil, err
		}
		p.nodes = append(p.nodes, node)
		seeds = []string{node.MembershipAddr()}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(p.nodes))
	for i, node := range p.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = node.WaitReady(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			p.close()
			return nil, err
		}
	}
	p.a, _ = p.nodes[0].Comm(0)
	p.b, _ = p.nodes[len(p.nodes)-1].Comm(1)
	return p, nil
}

func (p *commPair) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, n := range p.nodes {
		n.Close(ctx)
	}
}

// pingPong returns the mean round trip of a size-byte message a->b->a.
func pingPong(ctx context.Context, a, b *comm.Comm, size, iters int) (time.Duration, error) {
	errc := make(chan error, 1)
	go func() {
		for range iters {
			m, err := b.Recv(ctx, 0, 1)
			if err == nil {
				err = b.Send(ctx, 0, 1, m)
			}
			if err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, size)
	start := time.Now()
	for range iters {
		if err := a.Send(ctx, 1, 1, buf); err != nil {
			return 0, err
		}
		m, err := a.Recv(ctx, 1, 1)
		if err != nil {
			return 0, err
		}
		buf = m
	}
	d := time.Since(start) / time.Duration(iters)
	return d, <-errc
}

// handoffTime is the mean time to send size bytes to a rank in the same
// container and receive them there.
func handoffTime(ctx context.Context, a, b *comm.Comm, size, iters int) (time.Duration, error) {
	buf := make([]byte, size)
	start := time.Now()
	for range iters {
		if err := a.Send(ctx, 1, 2, buf); err != nil {
			return 0, err
		}
		got, err := b.Recv(ctx, 0, 2)
		if err != nil {
			return 0, err
		}
		buf = got
	}
	return time.Since(start) / time.Duration(iters), nil
}

func memcpyTime(size, iters int) time.Duration {
	src, dst := make([]byte, size), make([]byte, size)
	copy(dst, src) // fault the pages in first
	start := time.Now()
	for range iters {
		copy(dst, src)
	}
	return time.Since(start) / time.Duration(iters)
}

// oneWay streams iters messages of size bytes a->b (with a final ack) and
// returns MB/s. Like osu_bw, both sides keep a window of non-blocking
// operations in flight, and the receiver reuses one buffer per slot of the
// window (IrecvInto), as the raw TCP baseline reuses its buffer.
func oneWay(ctx context.Context, a, b *comm.Comm, size, iters int) (float64, error) {
	const window = 8
	errc := make(chan error, 1)
	go func() {
		reqs := make([]*comm.Request, 0, window)
		bufs := make([][]byte, window)
		for i := range bufs {
			bufs[i] = make([]byte, size)
		}
		for i := range iters {
			reqs = append(reqs, b.IrecvInto(ctx, 0, 3, bufs[len(reqs)]))
			if len(reqs) == window || i == iters-1 {
				for _, r := range reqs {
					if _, err := r.Wait(ctx); err != nil {
						errc <- err
						return
					}
				}
				reqs = reqs[:0]
			}
		}
		errc <- b.Send(ctx, 0, 4, nil)
	}()
	buf := make([]byte, size)
	start := time.Now()
	reqs := make([]*comm.Request, 0, window)
	for range iters {
		reqs = append(reqs, a.Isend(ctx, 1, 3, buf))
		if len(reqs) == cap(reqs) {
			for _, r := range reqs {
				if _, err := r.Wait(ctx); err != nil {
					return 0, err
				}
			}
			reqs = reqs[:0]
		}
	}
	for _, r := range reqs {
		if _, err := r.Wait(ctx); err != nil {
			return 0, err
		}
	}
	if _, err := a.Recv(ctx, 1, 4); err != nil {
		return 0, err
	}
	if err := <-errc; err != nil {
		return 0, err
	}
	return float64(size) * float64(iters) / time.Since(start).Seconds() / 1e6, nil
}

// rawPair is a plain TCP connection on loopback: the baseline.
type rawPair struct{ a, b net.Conn }

func newRawPair() (*rawPair, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, err
	}
	b := <-accepted
	if b == nil {
		a.Close()
		return nil, fmt.Errorf("raw tcp: accept failed")
	}
	return &rawPair{a: a, b: b}, nil
}

func (r *rawPair) close() { r.a.Close(); r.b.Close() }

func (r *rawPair) pingPong(size, iters int) (time.Duration, error) {
	buf, echo := make([]byte, size), make([]byte, size)
	errc := make(chan error, 1)
	go func() {
		for range iters {
			if _, err := io.ReadFull(r.b, echo); err != nil {
				errc <- err
				return
			}
			if _, err := r.b.Write(echo); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	start := time.Now()
	for range iters {
		if _, err := r.a.Write(buf); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(r.a, buf); err != nil {
			return 0, err
		}
	}
	d := time.Since(start) / time.Duration(iters)
	return d, <-errc
}

func (r *rawPair) oneWay(size, iters int) (float64, error) {
	buf, sink := make([]byte, size), make([]byte, size)
	errc := make(chan error, 1)
	go func() {
		for range iters {
			if _, err := io.ReadFull(r.b, sink); err != nil {
				errc <- err
				return
			}
		}
		_, err := r.b.Write([]byte{1})
		errc <- err
	}()
	start := time.Now()
	for range iters {
		if _, err := r.a.Write(buf); err != nil {
			return 0, err
		}
	}
	if _, err := io.ReadFull(r.a, buf[:1]); err != nil {
		return 0, err
	}
	if err := <-errc; err != nil {
		return 0, err
	}
	return float64(size) * float64(iters) / time.Since(start).Seconds() / 1e6, nil
}

func medianF(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
