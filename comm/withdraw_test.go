package comm

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/volley-run/volley/comm/wire"
)

// TestAbandonedSendLeavesNoPhantom: a large send whose ctx ends before the
// receiver asked for it is withdrawn, so the receiver's next matching
// receive gets the next real message, not a phantom it would wait on.
func TestAbandonedSendLeavesNoPhantom(t *testing.T) {
	cl := startCluster(t, 2, 1, nil)
	ctx := testCtx(t, 30*time.Second)
	for i := range 3 {
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		err := cl.comms[0].Send(short, 1, 1, make([]byte, 1<<20))
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("large send %d with nobody receiving: %v, want deadline exceeded", i, err)
		}
	}
	if err := cl.comms[0].Send(ctx, 1, 1, []byte("real")); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if got, err := cl.comms[1].Recv(rctx, 0, 1); err != nil || string(got) != "real" {
		t.Fatalf("receive after the abandoned sends: %d bytes, %v; want the real message", len(got), err)
	}
	if _, _, size, ok := cl.comms[1].Probe(0, 1); ok {
		t.Fatalf("a %d-byte message is still waiting", size)
	}
	assertGroupsAlive(t, cl)
}

// TestCTSForWithdrawnMessageIsSkipped: when a receive asks for a large
// message its sender no longer knows (as when the sender gives up just as
// the CTS is on its way), the sender answers with an Abort and the receive
// skips the message and takes the next one.
func TestCTSForWithdrawnMessageIsSkipped(t *testing.T) {
	cl := startCluster(t, 2, 1, nil)
	ctx := testCtx(t, 30*time.Second)
	connect(ctx, t, cl, 0, 1, 1)
	// An announcement rank 0 never made (or has forgotten).
	l := inLink(t, cl.nodes[1], 0)
	rts := wire.Header{Kind: wire.KindRTS, Src: 0, Dst: 1, Tag: 1, MsgID: 1 << 60, Size: 1 << 20}
	if err := l.handle(rts, nil); err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte{9}, 2<<20)
	req := cl.comms[0].Isend(ctx, 1, 1, msg)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if got, err := cl.comms[1].Recv(rctx, 0, 1); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("receive after a withdrawn announcement: %d bytes, %v; want the real message", len(got), err)
	}
	if _, err := req.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	assertGroupsAlive(t, cl)
}

// TestWriterDropsWithdrawnRTS: an RTS still queued when its message is
// withdrawn is never written; the others are marked written.
func TestWriterDropsWithdrawnRTS(t *testing.T) {
	l := newLink(&Node{}, nil, 1, true)
	kept := &pendingRTS{cts: make(chan struct{})}
	l.waitCTS[1] = kept
	batch := []outFrame{
		{h: wire.Header{Kind: wire.KindRTS, MsgID: 1}},
		{h: wire.Header{Kind: wire.KindEager}},
		{h: wire.Header{Kind: wire.KindRTS, MsgID: 2}}, // withdrawn
		{h: wire.Header{Kind: wire.KindData, MsgID: 1}},
	}
	got := l.takeRTS(batch)
	var kinds []wire.Kind
	for _, f := range got {
		kinds = append(kinds, f.h.Kind)
	}
	if len(got) != 3 || got[0].h.MsgID != 1 || got[2].h.Kind != wire.KindData {
		t.Fatalf("batch after takeRTS: %v, want RTS 1, Eager, Data", kinds)
	}
	if !kept.written {
		t.Fatal("the RTS that was kept is not marked written")
	}
}
