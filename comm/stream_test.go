package comm

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestSendCancelledWhileStreamingDelivers: once the receiver has asked for
// a large message, the sender's ctx ending does not cut the stream short
// (the receiver would wait for chunks that never come, and the writer
// would still read the sender's buffer after Send returned): the whole
// message arrives, and Send reports it delivered.
func TestSendCancelledWhileStreamingDelivers(t *testing.T) {
	cl := startCluster(t, 2, 1, nil)
	ctx := testCtx(t, 60*time.Second)
	big := bytes.Repeat([]byte("streamed rendezvous "), (48<<20)/20)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := cl.comms[0].Isend(sctx, 1, 1, big)
	waitProbe(ctx, t, cl.comms[1], 0, 1)
	l := outLinkTo(cl.nodes[0], 1)
	if l == nil {
		t.Fatal("pack 0 has no connection to pack 1")
	}

	type result struct {
		data []byte
		err  error
	}
	res := make(chan result, 1)
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	go func() {
		b, err := cl.comms[1].Recv(rctx, 0, 1)
		res <- result{b, err}
	}()
	// Cancel the send as soon as its CTS has come: the chunks are then
	// being queued, 48 of them against a queue of 16.
	if !waitFor(10*time.Second, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.waitCTS) > 0 {
			return false
		}
		cancel()
		return true
	}) {
		t.Fatal("the receiver never asked for the message")
	}
	r := <-res
	if r.err != nil || !bytes.Equal(r.data, big) {
		t.Fatalf("receive: %d of %d bytes, err %v", len(r.data), len(big), r.err)
	}
	if _, err := req.Wait(ctx); err != nil {
		t.Fatalf("Send of a delivered message: %v", err)
	}
	assertGroupsAlive(t, cl)
}
