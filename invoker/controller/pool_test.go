package controller

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// stillSandbox is a sandbox that never exits; the pool tests need only its
// identity and whether it was destroyed.
type stillSandbox struct {
	id        string
	destroyed atomic.Bool
}

func (s *stillSandbox) ID() string                   { return s.id }
func (s *stillSandbox) Addr() string                 { return "" }
func (s *stillSandbox) Pause(context.Context) error  { return nil }
func (s *stillSandbox) Resume(context.Context) error { return nil }
func (s *stillSandbox) Exited() <-chan struct{}      { return nil }
func (s *stillSandbox) ExitErr() error               { return nil }
func (s *stillSandbox) Stop(time.Duration) string    { s.destroyed.Store(true); return "" }
func (s *stillSandbox) Destroy()                     { s.destroyed.Store(true) }

func newTestPool() *pool { return newPool(time.Hour, time.Hour, 8, slog.New(slog.DiscardHandler)) }

// takeAsync runs take in a goroutine and delivers what it returns.
func takeAsync(p *pool, ctx context.Context, key string) <-chan *container {
	got := make(chan *container, 1)
	go func() { got <- p.take(ctx, key) }()
	return got
}

func TestPoolTakeWaitsForReturningContainer(t *testing.T) {
	p := newTestPool()
	defer p.close()
	if c := p.take(context.Background(), "a"); c != nil {
		t.Fatalf("empty pool gave %v", c)
	}
	c := &container{sb: &stillSandbox{id: "c1"}}
	p.willReturn("a")
	got := takeAsync(p, context.Background(), "a")
	// Another action's taker does not wait for a's container.
	if c := p.take(context.Background(), "b"); c != nil {
		t.Fatalf("pool gave %v for another key", c)
	}
	select {
	case c := <-got:
		t.Fatalf("take returned %v before the container came back", c)
	case <-time.After(100 * time.Millisecond):
	}
	p.returned("a", c, true)
	select {
	case g := <-got:
		if g != c {
			t.Fatalf("take returned %v, want the returning container", g)
		}
	case <-time.After(returnWait / 2):
		t.Fatal("take did not return once the container came back")
	}
}

func TestPoolOneTakerPerReturningContainer(t *testing.T) {
	p := newTestPool()
	defer p.close()
	sb := &stillSandbox{id: "c1"}
	p.willReturn("a")
	first := takeAsync(p, context.Background(), "a")
	time.Sleep(50 * time.Millisecond) // first is waiting
	start := time.Now()
	if c := p.take(context.Background(), "a"); c != nil || time.Since(start) > returnWait/2 {
		t.Fatalf("second taker got %v after %v; want nil at once", c, time.Since(start))
	}
	// A container destroyed rather than kept wakes its taker empty-handed.
	p.returned("a", &container{sb: sb}, false)
	select {
	case g := <-first:
		if g != nil || !sb.destroyed.Load() {
			t.Fatalf("take returned %v (destroyed %v), want nil and the container destroyed", g, sb.destroyed.Load())
		}
	case <-time.After(returnWait / 2):
		t.Fatal("take did not return once the container was destroyed")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.returning) != 0 || len(p.waiting) != 0 {
		t.Errorf("counts left behind: returning %v waiting %v", p.returning, p.waiting)
	}
}

func TestPoolTakeGivesUpWithItsContext(t *testing.T) {
	p := newTestPool()
	defer p.close()
	p.willReturn("a")
	ctx, cancel := context.WithCancel(context.Background())
	got := takeAsync(p, ctx, "a")
	cancel()
	select {
	case g := <-got:
		if g != nil {
			t.Fatalf("take returned %v", g)
		}
	case <-time.After(returnWait / 2):
		t.Fatal("take did not end with its context")
	}
	p.returned("a", &container{sb: &stillSandbox{id: "c1"}}, true)
}
