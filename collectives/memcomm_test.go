package collectives

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// memNet is an in-memory network of n ranks packed g per container. Every
// rank gets a memComm. Messages wait in a mailbox per (src, dst, tag),
// in order. Inside a pack the receiver gets the very slice that was sent
// (zero copy); between packs it gets a copy, as over a network. With
// rendezvous set, every Send waits until its message is received (the
// strictest behaviour a Comm may have), which flushes out deadlocks.
type memNet struct {
	n, g       int
	rendezvous bool

	mu    sync.Mutex
	boxes map[mkey]*mqueue
	log   []sentMsg
}

type mkey struct{ src, dst, tag int }

type mqueue struct {
	items  []*mitem
	signal chan struct{} // closed and replaced on every arrival
}

type mitem struct {
	data  []byte
	taken chan struct{}
}

// sentMsg is one message as the network saw it.
type sentMsg struct {
	src, dst, tag, size int
	remote              bool
}

func newMemNet(n, g int) *memNet {
	return &memNet{n: n, g: g, boxes: make(map[mkey]*mqueue)}
}

func (m *memNet) comm(rank int) *memComm { return &memComm{net: m, rank: rank} }

func (m *memNet) box(k mkey) *mqueue {
	q := m.boxes[k]
	if q == nil {
		q = &mqueue{signal: make(chan struct{})}
		m.boxes[k] = q
	}
	return q
}

func (m *memNet) sent() []sentMsg {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sentMsg(nil), m.log...)
}

type memComm struct {
	net  *memNet
	rank int
}

func (c *memComm) Rank() int         { return c.rank }
func (c *memComm) Size() int         { return c.net.n }
func (c *memComm) Pack(rank int) int { return rank / c.net.g }

func (c *memComm) Send(ctx context.Context, dst, tag int, data []byte) error {
	if dst < 0 || dst >= c.net.n {
		return fmt.Errorf("memcomm: no rank %d", dst)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	remote := c.Pack(dst) != c.Pack(c.rank)
	if remote {
		data = append(make([]byte, 0, len(data)), data...)
	}
	it := &mitem{data: data, taken: make(chan struct{})}
	m := c.net
	m.mu.Lock()
	q := m.box(mkey{c.rank, dst, tag})
	q.items = append(q.items, it)
	close(q.signal)
	q.signal = make(chan struct{})
	m.log = append(m.log, sentMsg{c.rank, dst, tag, len(data), remote})
	m.mu.Unlock()
	if !m.rendezvous {
		return nil
	}
	select {
	case <-it.taken:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *memComm) Recv(ctx context.Context, src, tag int) ([]byte, error) {
	if src < 0 || src >= c.net.n {
		return nil, fmt.Errorf("memcomm: no rank %d", src)
	}
	m := c.net
	k := mkey{src, c.rank, tag}
	for {
		m.mu.Lock()
		q := m.box(k)
		if len(q.items) > 0 {
			it := q.items[0]
			q.items = q.items[1:]
			close(it.taken)
			m.mu.Unlock()
			return it.data, nil
		}
		sig := q.signal
		m.mu.Unlock()
		select {
		case <-sig:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// group runs fn on every rank of net (except those in skip) as goroutines
// and returns each rank's error.
func group(t testing.TB, net *memNet, timeout time.Duration, opts []Option, skip map[int]bool, fn func(ctx context.Context, c *Collectives) error) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	errs := make([]error, net.n)
	var wg sync.WaitGroup
	for r := 0; r < net.n; r++ {
		if skip[r] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = fn(ctx, New(net.comm(r), opts...))
		}()
	}
	wg.Wait()
	return errs
}

// mustGroup is group that fails the test on any rank's error.
func mustGroup(t testing.TB, net *memNet, opts []Option, fn func(ctx context.Context, c *Collectives) error) {
	t.Helper()
	for r, err := range group(t, net, 60*time.Second, opts, nil, fn) {
		if err != nil {
			t.Errorf("N=%d g=%d rank %d: %v", net.n, net.g, r, err)
		}
	}
}
