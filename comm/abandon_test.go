package comm

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// inLink returns n's connection from pack from: the one that carries
// from's messages to n.
func inLink(t *testing.T, n *Node, from int) *link {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	for l := range n.links {
		if !l.outgoing && l.peerPack == from {
			return l
		}
	}
	t.Fatalf("pack %d has no connection from pack %d", n.cfg.Pack, from)
	return nil
}

// waitProbe waits until c has a message from src with tag.
func waitProbe(ctx context.Context, t *testing.T, c *Comm, src, tag int) {
	t.Helper()
	for {
		if _, _, _, ok := c.Probe(src, tag); ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("rank %d: no message from %d tag %d: %v", c.rank, src, tag, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// waitFor polls cond until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// assertGroupsAlive fails unless every node of cl still runs.
func assertGroupsAlive(t *testing.T, cl *cluster) {
	t.Helper()
	for p, n := range cl.nodes {
		if n.Context().Err() != nil {
			t.Fatalf("pack %d failed: %v", p, context.Cause(n.Context()))
		}
	}
}

// TestRecvCancelledAfterCTSDropsMessage: a receive whose ctx ends after it
// asked the sender for a large message returns the ctx's error; the bytes
// still on their way are dropped, never written into the receive's buffer
// after it returned, and nobody's group fails.
func TestRecvCancelledAfterCTSDropsMessage(t *testing.T) {
	for _, codec := range []string{"none", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			cl := startCluster(t, 2, 1, func(c *Config) { c.Compression = codec })
			ctx := testCtx(t, 60*time.Second)
			big := bytes.Repeat([]byte("abandoned rendezvous "), (48<<20)/21)
			req := cl.comms[0].Isend(ctx, 1, 1, big)
			waitProbe(ctx, t, cl.comms[1], 0, 1)
			l := inLink(t, cl.nodes[1], 0)

			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			buf := make([]byte, len(big))
			type result struct {
				m   Message
				err error
			}
			res := make(chan result, 1)
			go func() {
				m, err := cl.comms[1].RecvInto(rctx, 0, 1, buf)
				res <- result{m, err}
			}()
			// Cancel once the CTS is out: the transfer is registered just
			// before it is sent, and cannot complete while we hold mu.
			if !waitFor(10*time.Second, func() bool {
				l.mu.Lock()
				defer l.mu.Unlock()
				if len(l.transfers) == 0 {
					return false
				}
				cancel()
				return true
			}) {
				t.Fatal("the receive never asked for the message")
			}
			r := <-res
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("RecvInto after cancel: %d bytes, err %v; want context.Canceled", len(r.m.Data), r.err)
			}
			snapshot := bytes.Clone(buf)
			if _, err := req.Wait(ctx); err != nil {
				t.Fatalf("sender: %v", err)
			}
			if !waitFor(10*time.Second, func() bool {
				l.mu.Lock()
				defer l.mu.Unlock()
				return len(l.transfers) == 0
			}) {
				t.Fatal("the abandoned transfer was never forgotten")
			}
			assertGroupsAlive(t, cl)
			if !bytes.Equal(buf, snapshot) {
				t.Fatal("the receive's buffer was written after RecvInto returned")
			}
			// The pair still works, both ways of sending.
			for _, size := range []int{10, 2 << 20} {
				msg := bytes.Repeat([]byte{7}, size)
				req := cl.comms[0].Isend(ctx, 1, 1, msg)
				if got, err := cl.comms[1].Recv(ctx, 0, 1); err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("next %d-byte message: %d bytes, %v", size, len(got), err)
				}
				if _, err := req.Wait(ctx); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestRecvWithEndedCtxLeavesMessage: a receive whose ctx has already ended
// when it matches a large message does not ask for it; the message stays
// for the next receive.
func TestRecvWithEndedCtxLeavesMessage(t *testing.T) {
	cl := startCluster(t, 2, 1, nil)
	ctx := testCtx(t, 30*time.Second)
	big := bytes.Repeat([]byte{3}, 1<<20)
	req := cl.comms[0].Isend(ctx, 1, 1, big)
	waitProbe(ctx, t, cl.comms[1], 0, 1)
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if m, err := cl.comms[1].RecvMsg(ended, 0, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("RecvMsg with an ended ctx: %d bytes, err %v; want context.Canceled", len(m.Data), err)
	}
	if _, _, size, ok := cl.comms[1].Probe(0, 1); !ok || size != len(big) {
		t.Fatalf("after the failed receive, Probe = %d bytes, %v; want the %d-byte message", size, ok, len(big))
	}
	got, err := cl.comms[1].Recv(ctx, 0, 1)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("next receive: %d bytes, %v", len(got), err)
	}
	if _, err := req.Wait(ctx); err != nil {
		t.Fatalf("sender: %v", err)
	}
	assertGroupsAlive(t, cl)
}
