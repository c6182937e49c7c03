package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volley-run/volley/comm/wire"
)

func TestTCP(t *testing.T) {
	tr, err := New("tcp")
	if err != nil {
		t.Fatal(err)
	}
	testTransportSuite(t, tr)
}

func TestSCTP(t *testing.T) {
	if ok, reason := SCTPAvailable(); !ok {
		t.Skipf("the kernel lacks SCTP here (%s); comm/transport/vmtest/run.sh runs this test in a VM", reason)
	}
	tr, err := New("sctp")
	if err != nil {
		t.Fatal(err)
	}
	testTransportSuite(t, tr)
}

func TestNew(t *testing.T) {
	ok, reason := SCTPAvailable()
	if !ok && reason == "" {
		t.Fatal("SCTPAvailable gives no reason")
	}
	t.Logf("SCTPAvailable = %v, %q", ok, reason)
	auto, err := New("auto")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[bool]string{true: "sctp", false: "tcp"}[ok]; auto.Name() != want {
		t.Fatalf("auto picked %s, want %s", auto.Name(), want)
	}
	_, err = New("sctp")
	if ok != (err == nil) {
		t.Fatalf("New(sctp) = %v with SCTPAvailable %v", err, ok)
	}
	if !ok && (!errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), reason)) {
		t.Fatalf("New(sctp) error %q lacks ErrUnsupported or the reason", err)
	}
	if _, err := New("udp"); err == nil || !strings.Contains(err.Error(), `unknown transport "udp"`) {
		t.Fatalf("New(udp) = %v", err)
	}
}

// testTransportSuite runs every behaviour a Transport must have over real
// sockets on 127.0.0.1.
func testTransportSuite(t *testing.T, tr Transport) {
	t.Run("Order", func(t *testing.T) { testOrder(t, tr) })
	t.Run("Streams", func(t *testing.T) { testStreams(t, tr) })
	t.Run("Boundaries", func(t *testing.T) { testBoundaries(t, tr) })
	t.Run("BufCallback", func(t *testing.T) { testBufCallback(t, tr) })
	t.Run("Transfer64MiB", func(t *testing.T) { testTransfer(t, tr, 64<<20, 256<<10) })
	t.Run("SmallSocketBuffer", func(t *testing.T) { testSmallSocketBuffer(t, tr) })
	t.Run("KernelDefaultBuffers", func(t *testing.T) { testKernelDefaultBuffers(t, tr) })
	t.Run("CloseUnblocksRead", func(t *testing.T) { testCloseUnblocksRead(t, tr) })
	t.Run("CloseUnblocksWrite", func(t *testing.T) { testCloseUnblocksWrite(t, tr) })
	t.Run("CloseUnblocksAccept", func(t *testing.T) { testCloseUnblocksAccept(t, tr) })
	t.Run("PeerClose", func(t *testing.T) { testPeerClose(t, tr) })
	t.Run("BadWrite", func(t *testing.T) { testBadWrite(t, tr) })
	t.Run("Batches", func(t *testing.T) { testBatches(t, tr) })
	t.Run("RawGarbage", func(t *testing.T) { testRawGarbage(t, tr) })
	t.Run("Dial", func(t *testing.T) { testDial(t, tr) })
	t.Run("DialUnderSignals", func(t *testing.T) { testDialUnderSignals(t, tr) })
	t.Run("Handshake", func(t *testing.T) { testHandshake(t, tr) })
}

const testTimeout = 30 * time.Second

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func listen(t testing.TB, tr Transport) Listener {
	ln, err := tr.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// pair returns two connected Conns (dialer, accepter), closed at cleanup.
func pair(t testing.TB, tr Transport) (client, server Conn) {
	ln := listen(t, tr)
	type res struct {
		c   Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	client, err := tr.Dial(testCtx(t, testTimeout), ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		client.Close()
		t.Fatal(r.err)
	}
	_ = ln.Close()
	t.Cleanup(func() {
		_ = client.Close()
		_ = r.c.Close()
	})
	return client, r.c
}

// goWrite runs fn in a goroutine and returns a func that waits for it and
// reports its error.
func goWrite(t *testing.T, fn func() error) (wait func()) {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return func() {
		t.Helper()
		if err := <-done; err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
}

func pattern(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed*131 + i*7 + i>>8)
	}
	return b
}

func eager(src, dst, tag int, p []byte) wire.Header {
	return wire.Header{Kind: wire.KindEager, Src: int32(src), Dst: int32(dst), Tag: int32(tag), Size: uint64(len(p))}
}

func testOrder(t *testing.T, tr Transport) {
	a, b := pair(t, tr)
	const n = 5000
	wait := goWrite(t, func() error {
		for i := range n {
			p := pattern(i, i%3000)
			if err := a.WriteFrame(0, eager(1, 2, i, p), p); err != nil {
				return err
			}
		}
		return nil
	})
	for i := range n {
		_, h, p, err := b.ReadFrame(nil)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if h.Tag != int32(i) || !bytes.Equal(p, pattern(i, i%3000)) {
			t.Fatalf("frame %d: got tag %d, %d bytes", i, h.Tag, len(p))
		}
	}
	wait()
	// And the other way on the same Conn pair.
	if err := b.WriteFrame(0, eager(2, 1, 7, []byte("back")), []byte("back")); err != nil {
		t.Fatal(err)
	}
	if _, h, p, err := a.ReadFrame(nil); err != nil || h.Tag != 7 || string(p) != "back" {
		t.Fatalf("reverse: %v %q %v", h, p, err)
	}
}

func testStreams(t *testing.T, tr Transport) {
	a, b := pair(t, tr)
	const streams, per = 8, 400
	wait := goWrite(t, func() error {
		for i := range per {
			for s := range streams {
				p := pattern(s*per+i, 100+i)
				if err := a.WriteFrame(uint16(s), eager(s, 0, i, p), p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	next := make([]int, streams)
	for range streams * per {
		st, h, p, err := b.ReadFrame(nil)
		if err != nil {
			t.Fatal(err)
		}
		s, i := int(h.Src), int(h.Tag)
		if want := map[string]uint16{"tcp": 0, "sctp": uint16(s)}[tr.Name()]; st != want {
			t.Fatalf("frame from src %d arrived on stream %d, want %d", s, st, want)
		}
		if i != next[s] {
			t.Fatalf("stream %d: frame %d arrived, want %d", s, i, next[s])
		}
		next[s]++
		if !bytes.Equal(p, pattern(s*per+i, 100+i)) {
			t.Fatalf("stream %d frame %d: payload differs", s, i)
		}
	}
	wait()
}

func testBoundaries(t *testing.T, tr Transport) {
	a, b := pair(t, tr)
	sizes := []int{0, 1, wire.HeaderLen - 1, wire.HeaderLen, wire.HeaderLen + 1, 1000, 64 << 10, 64<<10 + 1, 300 << 10, wire.MaxPayload - 1, wire.MaxPayload}
	ctrl := []wire.Header{
		{Kind: wire.KindCTS, Src: 2, Dst: 1, MsgID: 5},
		{Kind: wire.KindCredit, Src: 2, Dst: 1, Size: 4096},
		{Kind: wire.KindRTS, Src: 1, Dst: 2, Tag: 3, MsgID: 6, Size: 1 << 30},
	}
	wait := goWrite(t, func() error {
		for i, n := range sizes {
			p := pattern(i, n)
			if err := a.WriteFrame(uint16(i), eager(1, 2, i, p), p); err != nil {
				return err
			}
			c := ctrl[i%len(ctrl)]
			if err := a.WriteFrame(uint16(i), c, nil); err != nil {
				return err
			}
		}
		return a.WriteFrame(0, wire.Header{Kind: wire.KindDone, Src: 1}, nil)
	})
	for i, n := range sizes {
		_, h, p, err := b.ReadFrame(nil)
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if h.Kind != wire.KindEager || h.Tag != int32(i) || int(h.PayloadLen) != n || !bytes.Equal(p, pattern(i, n)) {
			t.Fatalf("size %d: got %v with %d bytes", n, h, len(p))
		}
		_, h, p, err = b.ReadFrame(nil)
		want := ctrl[i%len(ctrl)]
		if err != nil || h != want || p != nil {
			t.Fatalf("after size %d: got %v %d bytes %v, want %v", n, h, len(p), err, want)
		}
	}
	if _, h, _, err := b.ReadFrame(nil); err != nil || h.Kind != wire.KindDone {
		t.Fatalf("last frame: %v %v", h, err)
	}
	wait()
}

func testBufCallback(t *testing.T, tr Transport) {
	a, b := pair(t, tr)
	msg := pattern(3, 10000)
	dst := make([]byte, len(msg))
	chunks := [][2]int{{0, 4000}, {4000, 9000}, {9000, 10000}}
	wait := goWrite(t, func() error {
		for _, c := range chunks {
			h := wire.Header{Kind: wire.KindData, Src: 1, Dst: 2, MsgID: 77, Offset: uint64(c[0]), Size: uint64(len(msg))}
			if err := a.WriteFrame(1, h, msg[c[0]:c[1]]); err != nil {
				return err
			}
		}
		p := []byte("fresh")
		if err := a.WriteFrame(0, eager(1, 2, 0, p), p); err != nil {
			return err
		}
		return a.WriteFrame(0, eager(1, 2, 0, p), p) // for the short buffer
	})
	calls := 0
	into := func(h wire.Header) []byte {
		calls++
		if h.Kind != wire.KindData {
			return nil
		}
		return dst[h.Offset : h.Offset+uint64(h.PayloadLen)]
	}
	for _, c := range chunks {
		_, h, p, err := b.ReadFrame(into)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != c[1]-c[0] || &p[0] != &dst[c[0]] {
			t.Fatalf("chunk at %d: payload not in the given slice", h.Offset)
		}
	}
	if !bytes.Equal(dst, msg) || calls != len(chunks) {
		t.Fatalf("reassembled message differs (%d callback calls)", calls)
	}
	// nil from the callback: a fresh slice.
	_, _, p, err := b.ReadFrame(into)
	if err != nil || string(p) != "fresh" {
		t.Fatalf("fresh slice: %q %v", p, err)
	}
	// Too short a slice is an error (and the Conn is done).
	_, _, _, err = b.ReadFrame(func(wire.Header) []byte { return make([]byte, 1) })
	if !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("short buffer: %v", err)
	}
	if _, _, _, err2 := b.ReadFrame(nil); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("error is not sticky: %v then %v", err, err2)
	}
	wait()
}

// testTransfer moves size bytes as Data chunks, landing each in place, and
// compares checksums.
func testTransfer(t *testing.T, tr Transport, size, chunk int) {
	a, b := pair(t, tr)
	src := make([]byte, size)
	for i := 0; i < size; i += 8 {
		binary.LittleEndian.PutUint64(src[i:], uint64(i)*0x9E3779B97F4A7C15)
	}
	want := sha256.Sum256(src)
	start := time.Now()
	wait := goWrite(t, func() error {
		for off := 0; off < size; off += chunk {
			h := wire.Header{Kind: wire.KindData, Src: 0, Dst: 1, MsgID: 1, Offset: uint64(off), Size: uint64(size)}
			if err := a.WriteFrame(uint16(off/chunk%4), h, src[off:min(off+chunk, size)]); err != nil {
				return err
			}
		}
		return nil
	})
	dst := make([]byte, size)
	for got := 0; got < size; {
		_, h, p, err := b.ReadFrame(func(h wire.Header) []byte { return dst[h.Offset:] })
		if err != nil {
			t.Fatalf("after %d bytes: %v", got, err)
		}
		got += len(p)
		if h.Size != uint64(size) {
			t.Fatalf("bad header %v", h)
		}
	}
	wait()
	if sha256.Sum256(dst) != want {
		t.Fatal("checksum differs")
	}
	el := time.Since(start)
	t.Logf("%s: %d MiB in %v (%.0f MB/s)", tr.Name(), size>>20, el.Round(time.Millisecond), float64(size)/el.Seconds()/1e6)
}

// testSmallSocketBuffer sends frames of the largest payload through
// socket buffers far smaller than one frame (what a container without
// CAP_NET_ADMIN gets under the default net.core.wmem_max), interleaved with
// small frames on other streams. On SCTP the send buffer is raised to hold
// a whole frame (an SCTP message is sent whole or not at all).
func testSmallSocketBuffer(t *testing.T, tr Transport) {
	small, err := NewWithConfig(tr.Name(), Config{SocketBuffer: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	a, b := pair(t, small)
	// Few frames: with a receive buffer this small, SCTP moves a 1 MiB
	// message in delayed-SACK steps (about 3.5 s each under emulation).
	const n = 2
	wait := goWrite(t, func() (err error) {
		defer func() {
			if err != nil {
				a.Close() // so the reader stops too
			}
		}()
		for i := range n {
			p := pattern(i, wire.MaxPayload-i)
			if err := a.WriteFrame(uint16(i%3), eager(1, 2, i, p), p); err != nil {
				return fmt.Errorf("frame %d of %d bytes: %w", i, len(p), err)
			}
			if err := a.WriteFrame(uint16(3+i%3), eager(1, 2, 1000+i, p[:i]), p[:i]); err != nil {
				return fmt.Errorf("small frame %d: %w", i, err)
			}
		}
		return nil
	})
	seen := map[int32]bool{}
	for range 2 * n {
		_, h, p, err := b.ReadFrame(nil)
		if err != nil {
			wait() // the writer's error, if it failed first
			t.Fatal(err)
		}
		i := int(h.Tag)
		want := pattern(i, wire.MaxPayload-i)
		if i >= 1000 {
			i -= 1000
			want = pattern(i, wire.MaxPayload-i)[:i]
		}
		if seen[h.Tag] || !bytes.Equal(p, want) {
			t.Fatalf("frame with tag %d: %d bytes, want %d (or a repeat, or bytes differ)", h.Tag, len(p), len(want))
		}
		seen[h.Tag] = true
	}
	wait()
}

// testKernelDefaultBuffers leaves the kernel's default socket buffers
// (SocketBuffer < 0), as an unprivileged container with default sysctls
// ends up with. TCP sends the largest frames through them. An SCTP message
// must fit the send buffer whole: frames up to the Conn's send limit go,
// a larger one fails with wire.ErrTooLarge before anything is sent, and
// the Conn stays usable.
func testKernelDefaultBuffers(t *testing.T, tr Transport) {
	def, err := NewWithConfig(tr.Name(), Config{SocketBuffer: -1})
	if err != nil {
		t.Fatal(err)
	}
	a, b := pair(t, def)
	limit := a.MaxFrame()
	t.Logf("%s with the kernel's default buffers sends payloads of up to %d bytes", tr.Name(), limit)
	if limit < wire.MaxPayload {
		for _, n := range []int{wire.MaxPayload, limit + 1} {
			p := make([]byte, n)
			err := a.WriteFrame(0, eager(1, 2, 0, p), p)
			if !errors.Is(err, wire.ErrTooLarge) || !strings.Contains(err.Error(), "send buffer") {
				t.Fatalf("payload of %d bytes over a send limit of %d: %v, want wire.ErrTooLarge naming the send buffer", n, limit, err)
			}
			t.Logf("%v", err)
		}
	}
	for i, n := range []int{limit, 10, limit} {
		p := pattern(i, n)
		wait := goWrite(t, func() error { return a.WriteFrame(uint16(i), eager(1, 2, i, p), p) })
		_, h, got, err := b.ReadFrame(nil)
		if err != nil {
			t.Fatalf("frame %d of %d bytes: %v", i, n, err)
		}
		if h.Tag != int32(i) || !bytes.Equal(got, p) {
			t.Fatalf("frame %d: got tag %d with %d bytes, want %d bytes", i, h.Tag, len(got), n)
		}
		wait()
	}
}

func within(t *testing.T, d time.Duration, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
		return nil
	}
}

func testCloseUnblocksRead(t *testing.T, tr Transport) {
	a, b := pair(t, tr)
	_ = a
	ch := make(chan error, 1)
	go func() {
		_, _, _, err := b.ReadFrame(nil)
		ch <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	err := within(t, 5*time.Second, "ReadFrame after Close", ch)
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadFrame after Close: %v, want net.ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := b.WriteFrame(0, wire.Header{Kind: wire.KindDone}, nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteFrame after Close: %v", err)
	}
}

func testCloseUnblocksWrite(t *testing.T, tr Transport) {
	a, _ := pair(t, tr) // nobody reads b
	p := make([]byte, wire.MaxPayload)
	ch := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			h := wire.Header{Kind: wire.KindData, MsgID: 1, Offset: uint64(i) * wire.MaxPayload, Size: 1 << 40}
			if err := a.WriteFrame(0, h, p); err != nil {
				ch <- err
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond) // long enough to fill both socket buffers
	select {
	case err := <-ch:
		t.Fatalf("writer stopped before Close: %v", err)
	default:
	}
	_ = a.Close()
	if err := within(t, 5*time.Second, "WriteFrame after Close", ch); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteFrame after Close: %v, want net.ErrClosed", err)
	}
}

func testCloseUnblocksAccept(t *testing.T, tr Transport) {
	ln := listen(t, tr)
	ch := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		ch <- err
	}()
	time.Sleep(50 * time.Millisecond)
	_ = ln.Close()
	if err := within(t, 5*time.Second, "Accept after Close", ch); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

func testPeerClose(t *testing.T, tr Transport) {
	a, b := pair(t, tr)
	if err := a.WriteFrame(0, wire.Header{Kind: wire.KindDone, Src: 3}, nil); err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	if _, h, _, err := b.ReadFrame(nil); err != nil || h.Kind != wire.KindDone {
		t.Fatalf("frame before close: %v %v", h, err)
	}
	if _, _, _, err := b.ReadFrame(nil); !errors.Is(err, io.EOF) {
		t.Fatalf("after peer Close: %v, want io.EOF", err)
	}
}

func testBadWrite(t *testing.T, tr Transport) {
	a, b := pair(t, tr)
	bad := []struct {
		h wire.Header
		p []byte
	}{
		{wire.Header{Kind: 0}, nil},
		{wire.Header{Kind: wire.KindEager, Src: -1}, nil},
		{wire.Header{Kind: wire.KindCTS, Tag: 4}, nil},
		{wire.Header{Kind: wire.KindEager, Size: wire.MaxPayload + 1}, make([]byte, wire.MaxPayload+1)},
		{wire.Header{Kind: wire.KindEager, Size: 3, PayloadLen: 2}, []byte("abc")},
	}
	for _, f := range bad {
		if err := a.WriteFrame(0, f.h, f.p); err == nil {
			t.Fatalf("WriteFrame(%v, %d bytes) succeeded", f.h, len(f.p))
		}
	}
	// Nothing was sent: the Conn still works.
	if err := a.WriteFrame(0, eager(0, 0, 5, []byte("ok")), []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if _, h, p, err := b.ReadFrame(nil); err != nil || h.Tag != 5 || string(p) != "ok" {
		t.Fatalf("after bad writes: %v %q %v", h, p, err)
	}

	// A receiver with a lower limit refuses a bigger frame; a sender with a
	// lower limit refuses to send one.
	small, err := NewWithConfig(tr.Name(), Config{MaxPayload: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := pair(t, small)
	if got := c.MaxFrame(); got != 64<<10 {
		t.Fatalf("MaxFrame with MaxPayload 64 KiB: %d", got)
	}
	if err := c.WriteFrame(0, eager(0, 0, 0, make([]byte, 64<<10+1)), make([]byte, 64<<10+1)); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("send over limit: %v", err)
	}
	e, f := crossPair(t, tr, small)
	wait := goWrite(t, func() error {
		p := make([]byte, 100<<10)
		return e.WriteFrame(0, eager(0, 0, 0, p), p)
	})
	if _, _, _, err := f.ReadFrame(nil); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("receive over limit: %v, want wire.ErrTooLarge", err)
	}
	wait()
}

// crossPair connects a dialer of transport dial to a listener of accept.
func crossPair(t testing.TB, dial, accept Transport) (client, server Conn) {
	ln := listen(t, accept)
	ch := make(chan Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	client, err := dial.Dial(testCtx(t, testTimeout), ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	server = <-ch
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// rawFrame encodes h without validation (so it can be invalid).
func rawFrame(h wire.Header, payload []byte) []byte {
	return append(h.Append(nil), payload...)
}

func testRawGarbage(t *testing.T, tr Transport) {
	valid := rawFrame(wire.Header{Kind: wire.KindEager, Src: 1, Dst: 2, Size: 3, PayloadLen: 3}, []byte("abc"))
	flipped := bytes.Clone(valid)
	flipped[20] ^= 0x40
	tests := []struct {
		name string
		msgs [][]byte // each one write (one SCTP message)
		want error
		ok   int // valid frames before the bad one
	}{
		{"garbage", [][]byte{bytes.Repeat([]byte("GET / HTTP/1.1\r\n"), 8)}, wire.ErrCorrupt, 0},
		{"after-valid", [][]byte{valid, bytes.Repeat([]byte{0xff}, 200)}, wire.ErrCorrupt, 1},
		{"checksum", [][]byte{flipped}, wire.ErrCorrupt, 0},
		{"oversized", [][]byte{rawFrame(wire.Header{Kind: wire.KindEager, Size: wire.MaxPayload + 1, PayloadLen: wire.MaxPayload + 1}, nil)}, wire.ErrTooLarge, 0},
		{"huge", [][]byte{rawFrame(wire.Header{Kind: wire.KindData, MsgID: 1, Size: 1 << 62, PayloadLen: 1<<32 - 1}, nil)}, wire.ErrTooLarge, 0},
		{"unknown-kind", [][]byte{rawFrame(wire.Header{Kind: 200}, nil)}, wire.ErrCorrupt, 0},
		{"truncated", [][]byte{rawFrame(wire.Header{Kind: wire.KindEager, Size: 100, PayloadLen: 100}, make([]byte, 10))}, io.ErrUnexpectedEOF, 0},
		{"short-header", [][]byte{valid[:20]}, io.ErrUnexpectedEOF, 0},
	}
	if tr.Name() == "sctp" {
		// Frame and message boundaries must agree on SCTP: a message that
		// ends early is corrupt, not a truncated stream.
		for i := range tests {
			if tests[i].want == io.ErrUnexpectedEOF {
				tests[i].want = wire.ErrCorrupt
			}
		}
		tests = append(tests, tests[0], tests[0])
		tests[len(tests)-2].name, tests[len(tests)-2].msgs = "two-frames-one-message", [][]byte{append(bytes.Clone(valid), valid...)}
		tests[len(tests)-1].name, tests[len(tests)-1].msgs = "header-split", [][]byte{valid[:20], valid[20:]}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t, tr)
			ch := make(chan Conn, 1)
			go func() {
				c, _ := ln.Accept()
				ch <- c
			}()
			raw := rawDial(t, tr.Name(), ln.Addr())
			srv := <-ch
			if srv == nil {
				t.Fatal("accept failed")
			}
			defer srv.Close()
			for _, m := range tc.msgs {
				if _, err := raw.Write(m); err != nil {
					t.Fatal(err)
				}
			}
			if tc.want == io.ErrUnexpectedEOF {
				raw.Close()
			}
			for i := range tc.ok {
				if _, _, _, err := srv.ReadFrame(nil); err != nil {
					t.Fatalf("valid frame %d: %v", i, err)
				}
			}
			_, h, _, err := srv.ReadFrame(nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadFrame = %v, %v; want %v", h, err, tc.want)
			}
			t.Logf("%v", err)
			raw.Close()
		})
	}
}

func testDial(t *testing.T, tr Transport) {
	ln := listen(t, tr)
	addr := ln.Addr()
	_ = ln.Close()
	if _, err := tr.Dial(testCtx(t, 5*time.Second), addr); err == nil {
		t.Fatal("Dial to a closed listener succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tr.Dial(ctx, "127.0.0.1:1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial with a cancelled ctx: %v", err)
	}
	if _, err := tr.Listen("256.0.0.1:0"); err == nil {
		t.Fatal("Listen on a bad address succeeded")
	}
}

// testDialUnderSignals dials and accepts many times while the process is
// flooded with SIGURG, the signal Go's scheduler preempts goroutines with:
// a connect that a signal interrupts must carry on, not fail with EINTR.
func testDialUnderSignals(t *testing.T, tr Transport) {
	ln := listen(t, tr)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	stop := signalStorm(t)
	defer stop()
	for i := range 300 {
		c, err := tr.Dial(testCtx(t, 10*time.Second), ln.Addr())
		if err != nil {
			t.Fatalf("dial %d under signals: %v", i, err)
		}
		_ = c.Close()
	}
}

// Handshake tests.

var (
	secretA = []byte("0123456789abcdef0123456789abcdef")
	secretB = []byte("fedcba9876543210fedcba9876543210")
)

type hsResult struct {
	peer Hello
	err  error
}

// handshakePair runs both sides concurrently.
func handshakePair(t *testing.T, tr Transport, cs []byte, ch Hello, ss []byte, sh Hello) (client, server hsResult, cc, sc Conn) {
	cc, sc = pair(t, tr)
	ctx := testCtx(t, 10*time.Second)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		server.peer, server.err = ServerHandshake(ctx, sc, ss, sh)
	}()
	client.peer, client.err = ClientHandshake(ctx, cc, cs, ch)
	wg.Wait()
	return client, server, cc, sc
}

func testHandshake(t *testing.T, tr Transport) {
	g1c, g1s := Hello{Group: "group-1", Pack: 3}, Hello{Group: "group-1", Pack: 0}
	t.Run("OK", func(t *testing.T) {
		c, s, cc, sc := handshakePair(t, tr, secretA, g1c, secretA, g1s)
		if c.err != nil || s.err != nil {
			t.Fatalf("client: %v; server: %v", c.err, s.err)
		}
		if c.peer != g1s || s.peer != g1c {
			t.Fatalf("peers: client saw %+v, server saw %+v", c.peer, s.peer)
		}
		// The Conn carries frames afterwards, both ways.
		wait := goWrite(t, func() error { return cc.WriteFrame(1, eager(3, 0, 1, []byte("hi")), []byte("hi")) })
		if _, _, p, err := sc.ReadFrame(nil); err != nil || string(p) != "hi" {
			t.Fatalf("after handshake: %q %v", p, err)
		}
		wait()
		wait = goWrite(t, func() error { return sc.WriteFrame(1, eager(0, 3, 1, []byte("yo")), []byte("yo")) })
		if _, _, p, err := cc.ReadFrame(nil); err != nil || string(p) != "yo" {
			t.Fatalf("after handshake: %q %v", p, err)
		}
		wait()
	})
	refused := func(t *testing.T, c, s hsResult, cc, sc Conn) {
		t.Helper()
		if !errors.Is(c.err, ErrAuth) || !errors.Is(s.err, ErrAuth) {
			t.Fatalf("want ErrAuth on both sides; client: %v; server: %v", c.err, s.err)
		}
		for _, err := range []error{c.err, s.err} {
			if strings.Contains(err.Error(), string(secretA)) || strings.Contains(err.Error(), string(secretB)) {
				t.Fatalf("error reveals the secret: %v", err)
			}
		}
		t.Logf("client: %v", c.err)
		t.Logf("server: %v", s.err)
		// Both conns are closed.
		if err := cc.WriteFrame(0, wire.Header{Kind: wire.KindDone}, nil); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("client conn not closed: %v", err)
		}
		if _, _, _, err := sc.ReadFrame(nil); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("server conn not closed: %v", err)
		}
	}
	t.Run("ClientWrongSecret", func(t *testing.T) {
		c, s, cc, sc := handshakePair(t, tr, secretB, g1c, secretA, g1s)
		refused(t, c, s, cc, sc)
	})
	t.Run("ServerWrongSecret", func(t *testing.T) {
		c, s, cc, sc := handshakePair(t, tr, secretA, g1c, secretB, g1s)
		refused(t, c, s, cc, sc)
	})
	t.Run("ClientOtherGroup", func(t *testing.T) {
		c, s, cc, sc := handshakePair(t, tr, secretA, Hello{Group: "group-2", Pack: 3}, secretA, g1s)
		refused(t, c, s, cc, sc)
		if !strings.Contains(s.err.Error(), `group "group-2"`) {
			t.Fatalf("server error does not name the group: %v", s.err)
		}
	})
	t.Run("ServerOtherGroup", func(t *testing.T) {
		c, s, cc, sc := handshakePair(t, tr, secretA, g1c, secretA, Hello{Group: "group-2", Pack: 0})
		refused(t, c, s, cc, sc)
	})
	t.Run("RogueServer", func(t *testing.T) {
		// A server that does not know the secret but plays along: the
		// client must refuse its proof.
		cc, sc := pair(t, tr)
		go func() {
			_, h, p, err := sc.ReadFrame(nil)
			if err != nil || h.Kind != wire.KindHello {
				return
			}
			_ = sc.WriteFrame(0, wire.Header{Kind: wire.KindChallenge, Src: 0}, append(make([]byte, wire.NonceLen), p[wire.NonceLen:]...))
			if _, _, _, err := sc.ReadFrame(nil); err != nil {
				return
			}
			_ = sc.WriteFrame(0, wire.Header{Kind: wire.KindResponse}, make([]byte, wire.MACLen))
			_, _, _, _ = sc.ReadFrame(nil) // the client's Refuse
		}()
		_, err := ClientHandshake(testCtx(t, 10*time.Second), cc, secretA, g1c)
		if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "does not know the group secret") {
			t.Fatalf("client accepted a rogue server: %v", err)
		}
	})
	t.Run("ProtocolError", func(t *testing.T) {
		cc, sc := pair(t, tr)
		wait := goWrite(t, func() error { return cc.WriteFrame(0, eager(0, 0, 0, []byte("x")), []byte("x")) })
		_, err := ServerHandshake(testCtx(t, 10*time.Second), sc, secretA, g1s)
		wait()
		if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "got a Eager frame, want Hello") {
			t.Fatalf("server accepted an Eager frame as Hello: %v", err)
		}
		if _, h, p, err := cc.ReadFrame(nil); err != nil || h.Kind != wire.KindRefuse || string(p) != "protocol error" {
			t.Fatalf("client did not get a Refuse: %v %q %v", h, p, err)
		}
	})
	for _, side := range []string{"server", "client"} {
		t.Run("Timeout/"+side, func(t *testing.T) {
			cc, sc := pair(t, tr) // the other side says nothing
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			var err error
			var c Conn
			if side == "server" {
				c = sc
				_, err = ServerHandshake(ctx, sc, secretA, g1s)
			} else {
				c = cc
				_, err = ClientHandshake(ctx, cc, secretA, g1c)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("silent peer: %v, want context.DeadlineExceeded", err)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Fatalf("timeout took %v", el)
			}
			if _, _, _, err := c.ReadFrame(nil); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("conn not closed after timeout: %v", err)
			}
		})
	}
	t.Run("BadArguments", func(t *testing.T) {
		for _, tc := range []struct {
			secret []byte
			me     Hello
		}{
			{nil, g1c},
			{secretA, Hello{Group: "", Pack: 1}},
			{secretA, Hello{Group: strings.Repeat("g", wire.MaxGroupLen+1), Pack: 1}},
			{secretA, Hello{Group: "g", Pack: -1}},
		} {
			cc, _ := pair(t, tr)
			if _, err := ClientHandshake(testCtx(t, time.Second), cc, tc.secret, tc.me); err == nil {
				t.Fatalf("handshake with secret %q, %+v succeeded", tc.secret, tc.me)
			}
		}
	})
}

// testBatches writes frames with WriteFrames, in batches of 1 to 1500
// frames (past writev's 1024 vectors) of mixed sizes, some empty: they
// arrive whole and in order; a batch with one bad frame sends nothing.
func testBatches(t *testing.T, tr Transport) {
	a, b := pair(t, tr)
	sizes := []int{1, 2, 7, 64, 1500}
	total := 0
	for _, n := range sizes {
		total += n
	}
	wait := goWrite(t, func() error {
		i := 0
		for _, n := range sizes {
			fs := make([]Frame, n)
			for k := range fs {
				p := pattern(i, (i*37)%2000)
				fs[k] = Frame{Header: eager(1, 2, i, p), Payload: p}
				i++
			}
			if err := a.WriteFrames(fs); err != nil {
				return err
			}
		}
		return nil
	})
	for i := range total {
		_, h, p, err := b.ReadFrame(nil)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if h.Tag != int32(i) || !bytes.Equal(p, pattern(i, (i*37)%2000)) {
			t.Fatalf("frame %d: got tag %d, %d bytes", i, h.Tag, len(p))
		}
	}
	wait()

	good := []byte("good")
	bad := []Frame{
		{Header: eager(0, 0, 1, good), Payload: good},
		{Header: wire.Header{Kind: wire.KindEager, Src: -1}},
	}
	if err := a.WriteFrames(bad); err == nil {
		t.Fatal("WriteFrames with a bad second frame succeeded")
	}
	if err := a.WriteFrames([]Frame{{Header: eager(0, 0, 2, good), Payload: good}}); err != nil {
		t.Fatal(err)
	}
	if _, h, p, err := b.ReadFrame(nil); err != nil || h.Tag != 2 || string(p) != "good" {
		t.Fatalf("after a refused batch got tag %d %q %v, want tag 2: the good frame of the bad batch must not have been sent", h.Tag, p, err)
	}
}
