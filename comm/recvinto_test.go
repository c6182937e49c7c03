package comm

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"
)

func TestRecvInto(t *testing.T) {
	cl := startCluster(t, 3, 2, func(c *Config) { c.Compression = "none" })
	ctx := testCtx(t, 20*time.Second)
	big := make([]byte, 3*DefaultChunkSize+17) // rendezvous, several chunks
	rand.Read(big)
	send := func(src, dst int, data []byte) {
		t.Helper()
		if err := cl.comms[src].Send(ctx, dst, 5, data); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("rendezvous lands in buf", func(t *testing.T) {
		buf := make([]byte, 0, len(big)+100)
		req := cl.comms[1].Isend(ctx, 2, 5, big)
		m, err := cl.comms[2].RecvInto(ctx, 1, 5, buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := req.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if &m.Data[0] != &buf[:1][0] || !bytes.Equal(m.Data, big) {
			t.Fatalf("got %d bytes, in buf: %v, equal: %v", len(m.Data), &m.Data[0] == &buf[:1][0], bytes.Equal(m.Data, big))
		}
	})
	t.Run("too small a buf gets a new slice", func(t *testing.T) {
		buf := make([]byte, 10)
		req := cl.comms[1].Isend(ctx, 2, 5, big)
		m, err := cl.comms[2].RecvInto(ctx, 1, 5, buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := req.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if &m.Data[0] == &buf[0] || !bytes.Equal(m.Data, big) {
			t.Fatal("a message larger than buf was not received whole into a new slice")
		}
	})
	t.Run("eager is returned as it arrived", func(t *testing.T) {
		buf := make([]byte, 1024)
		send(1, 2, []byte("small"))
		m, err := cl.comms[2].RecvInto(ctx, 1, 5, buf)
		if err != nil || string(m.Data) != "small" {
			t.Fatalf("got %q, %v", m.Data, err)
		}
	})
	t.Run("local stays zero-copy", func(t *testing.T) {
		buf := make([]byte, len(big))
		send(0, 1, big)
		m, err := cl.comms[1].RecvInto(ctx, 0, 5, buf)
		if err != nil {
			t.Fatal(err)
		}
		if &m.Data[0] != &big[0] {
			t.Fatal("a local RecvInto copied instead of handing over the sender's slice")
		}
	})
}
