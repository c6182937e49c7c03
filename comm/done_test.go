package comm

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSendToDepartedPack: once a pack has finished and left, a send to one
// of its ranks fails with ErrPeerDone, whether a connection to it was open
// (it closed; the message must not vanish into it) or never dialed (the
// gone listener is no reason to fail the group).
func TestSendToDepartedPack(t *testing.T) {
	cl := startCluster(t, 3, 1, nil)
	ctx := testCtx(t, 30*time.Second)
	connect(ctx, t, cl, 0, 1, 0)
	for _, p := range []int{1, 2} {
		if err := cl.nodes[p].Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !waitFor(15*time.Second, func() bool { return len(cl.nodes[0].mem.Packs()) == 1 }) {
		t.Fatalf("packs 1 and 2 never left pack 0's view: %v", cl.nodes[0].mem.Packs())
	}
	for _, dst := range []int{1, 2} {
		for i := range 20 {
			if err := cl.comms[0].Send(ctx, dst, 0, []byte("late")); !errors.Is(err, ErrPeerDone) {
				t.Fatalf("send %d to departed rank %d: %v, want ErrPeerDone", i, dst, err)
			}
		}
	}
	if err := cl.nodes[0].Context().Err(); err != nil {
		t.Fatalf("pack 0 failed: %v", context.Cause(cl.nodes[0].Context()))
	}
}

// TestEnqueueOnStoppedLinkFails: a frame queued on a stopped link is an
// error, even while the queue has room (the writer will never send it).
func TestEnqueueOnStoppedLinkFails(t *testing.T) {
	n := &Node{}
	n.ctx, n.cancel = context.WithCancelCause(context.Background())
	defer n.cancel(nil)
	l := newLink(n, nil, 1, true)
	close(l.stop)
	for i := range dataQueue {
		if err := l.enqueue(context.Background(), outFrame{}); err == nil {
			t.Fatalf("frame %d queued on a stopped link", i)
		}
	}
}
