package comm

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/volley-run/volley/comm/transport"
)

// flakyListener fails its first Accept with a transient error, then waits
// until it is closed.
type flakyListener struct {
	calls  atomic.Int32
	closed chan struct{}
	once   sync.Once
}

func (f *flakyListener) Accept() (transport.Conn, error) {
	if f.calls.Add(1) == 1 {
		return nil, fmt.Errorf("tcp: accept: %w", syscall.EMFILE)
	}
	<-f.closed
	return nil, fmt.Errorf("tcp: accept: %w", net.ErrClosed)
}

func (f *flakyListener) Addr() string { return "127.0.0.1:1" }

func (f *flakyListener) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

// TestAcceptLoopSurvivesTransientError: one failed Accept (out of file
// descriptors) does not end the accept loop; closing the listener does.
func TestAcceptLoopSurvivesTransientError(t *testing.T) {
	ln := &flakyListener{closed: make(chan struct{})}
	n := &Node{ln: ln, log: slog.New(slog.DiscardHandler)}
	n.ctx, n.cancel = context.WithCancelCause(context.Background())
	defer n.cancel(nil)
	n.wg.Add(1)
	go n.acceptLoop()
	stopped := make(chan struct{})
	go func() { n.wg.Wait(); close(stopped) }()
	retried := waitFor(2*time.Second, func() bool { return ln.calls.Load() >= 2 })
	ln.Close()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the accept loop did not end when its listener closed")
	}
	if !retried {
		t.Fatalf("the accept loop gave up after %d Accept call(s) on a transient error", ln.calls.Load())
	}
}
