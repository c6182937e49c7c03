package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/volley-run/volley/comm/wire"
)

// tcpReadBuffer is the read-side buffer: a burst of small frames is read
// with one syscall. Payloads beyond what is already buffered are read
// straight into their destination.
const tcpReadBuffer = 64 << 10

// tcpLargeFrame is the payload size from which the next header is read on
// its own (see tcpConn.exact).
const tcpLargeFrame = 16 << 10

type tcpTransport struct{ cfg Config }

func (t *tcpTransport) Name() string { return "tcp" }

// kernelMax reads /proc/sys/net/core/{r,w}mem_max; 0 when unknown.
var kernelMax = sync.OnceValue(func() [2]int {
	var m [2]int
	for i, name := range []string{"rmem_max", "wmem_max"} {
		b, err := os.ReadFile("/proc/sys/net/core/" + name)
		if err != nil {
			continue
		}
		m[i], _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	return m
})

// control sets socket buffers before bind/connect, so the window scale is
// chosen with them in mind and accepted sockets inherit them.
func (t *tcpTransport) control(_, _ string, rc syscall.RawConn) error {
	size := t.cfg.SocketBuffer
	if size <= 0 {
		return nil
	}
	lim := kernelMax()
	var serr error
	err := rc.Control(func(fd uintptr) {
		// A fixed buffer disables autotuning; only take one when the kernel
		// grants the whole size.
		if lim[0] >= size {
			if e := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size); e != nil {
				serr = fmt.Errorf("set SO_RCVBUF %d: %w", size, e)
			}
		}
		if lim[1] >= size {
			if e := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, size); e != nil {
				serr = fmt.Errorf("set SO_SNDBUF %d: %w", size, e)
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}

func (t *tcpTransport) Listen(addr string) (Listener, error) {
	lc := net.ListenConfig{Control: t.control}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp: listen %s: %w", addr, err)
	}
	return &tcpListener{ln: ln.(*net.TCPListener), cfg: t.cfg}, nil
}

func (t *tcpTransport) Dial(ctx context.Context, addr string) (Conn, error) {
	d := net.Dialer{Control: t.control}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp: dial %s: %w", addr, err)
	}
	return newTCPConn(c.(*net.TCPConn), t.cfg), nil
}

type tcpListener struct {
	ln  *net.TCPListener
	cfg Config
}

func (l *tcpListener) Accept() (Conn, error) {
	c, err := l.ln.AcceptTCP()
	if err != nil {
		return nil, fmt.Errorf("tcp: accept on %s: %w", l.Addr(), err)
	}
	return newTCPConn(c, l.cfg), nil
}

func (l *tcpListener) Addr() string { return l.ln.Addr().String() }

func (l *tcpListener) Close() error {
	if err := l.ln.Close(); err != nil {
		return fmt.Errorf("tcp: close listener %s: %w", l.Addr(), err)
	}
	return nil
}

type tcpConn struct {
	c          *net.TCPConn
	maxPayload int
	remote     string
	closed     atomic.Bool

	// Write side (one writer at a time).
	one   [1]Frame    // WriteFrame's frame
	whdrs []byte      // the frames' headers, back to back
	wvecs [][]byte    // headers and payloads
	wbuf  net.Buffers // wvecs as WriteTo consumes them

	// Read side (one reader at a time).
	rbuf         []byte // buffered input is rbuf[rstart:rend]
	rstart, rend int
	exact        bool  // the last frame was large: read the next header alone
	rerr         error // the first error, repeated
}

func newTCPConn(c *net.TCPConn, cfg Config) *tcpConn {
	_ = c.SetNoDelay(true) // Go's default, stated: frames go out at once.
	return &tcpConn{
		c:          c,
		rbuf:       make([]byte, tcpReadBuffer),
		maxPayload: cfg.MaxPayload,
		remote:     c.RemoteAddr().String(),
	}
}

func (c *tcpConn) RemoteAddr() string { return c.remote }

func (c *tcpConn) MaxFrame() int { return c.maxPayload }

func (c *tcpConn) WriteFrame(stream uint16, h wire.Header, payload []byte) error {
	c.one[0] = Frame{Stream: stream, Header: h, Payload: payload}
	err := c.WriteFrames(c.one[:])
	c.one[0] = Frame{} // do not keep the caller's payload alive
	return err
}

func (c *tcpConn) WriteFrames(frames []Frame) error {
	c.whdrs = slices.Grow(c.whdrs[:0], len(frames)*wire.HeaderLen)[:len(frames)*wire.HeaderLen]
	c.wvecs = c.wvecs[:0]
	for i, f := range frames {
		h, err := wire.Prepare(f.Header, f.Payload, c.maxPayload)
		if err != nil {
			if len(frames) == 1 {
				return fmt.Errorf("tcp %s: write frame: %w", c.remote, err)
			}
			return fmt.Errorf("tcp %s: write frame %d of %d: %w", c.remote, i+1, len(frames), err)
		}
		hdr := c.whdrs[i*wire.HeaderLen : (i+1)*wire.HeaderLen]
		h.Encode(hdr)
		c.wvecs = append(c.wvecs, hdr)
		if len(f.Payload) > 0 {
			c.wvecs = append(c.wvecs, f.Payload)
		}
	}
	c.wbuf = c.wvecs
	_, err := c.wbuf.WriteTo(c.c) // one writev, no copy (Go splits it past IOV_MAX)
	clear(c.wvecs)                // do not keep the callers' payloads alive
	c.wbuf = nil
	if err != nil {
		what := fmt.Sprintf("%d frames", len(frames))
		if len(frames) == 1 {
			what = fmt.Sprintf("%v frame", frames[0].Header.Kind)
		}
		return fmt.Errorf("tcp %s: write %s: %w", c.remote, what, c.closedErr(err))
	}
	return nil
}

func (c *tcpConn) ReadFrame(buf func(h wire.Header) []byte) (uint16, wire.Header, []byte, error) {
	if c.rerr != nil {
		return 0, wire.Header{}, nil, c.rerr
	}
	h, p, err := c.readFrame(buf)
	if err != nil {
		c.rerr = fmt.Errorf("tcp %s: read frame: %w", c.remote, c.closedErr(err))
		return 0, wire.Header{}, nil, c.rerr
	}
	return 0, h, p, nil
}

func (c *tcpConn) readFrame(buf func(h wire.Header) []byte) (wire.Header, []byte, error) {
	if err := c.fill(wire.HeaderLen); err != nil {
		return wire.Header{}, nil, err
	}
	h, err := wire.DecodeHeader(c.rbuf[c.rstart:c.rend], c.maxPayload)
	if err != nil {
		return wire.Header{}, nil, err
	}
	c.rstart += wire.HeaderLen
	// After a large frame, expect another: read the next header alone so
	// its payload is not pulled through the buffer.
	c.exact = h.PayloadLen >= tcpLargeFrame
	if h.PayloadLen == 0 {
		return h, nil, nil
	}
	p, err := wire.PayloadBuffer(h, buf)
	if err != nil {
		return h, nil, err
	}
	n := copy(p, c.rbuf[c.rstart:c.rend])
	c.rstart += n
	if n < len(p) {
		if _, err := io.ReadFull(c.c, p[n:]); err != nil { // straight into p
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return h, nil, fmt.Errorf("%v payload of %d bytes: %w", h.Kind, h.PayloadLen, err)
		}
	}
	return h, p, nil
}

// fill makes at least need bytes available in rbuf[rstart:rend]. Normally it
// reads as much as the socket has (many small frames per syscall); in exact
// mode it reads no more than need.
func (c *tcpConn) fill(need int) error {
	if c.rend-c.rstart >= need {
		return nil
	}
	if c.rstart > 0 { // compact
		c.rend = copy(c.rbuf, c.rbuf[c.rstart:c.rend])
		c.rstart = 0
	}
	limit := len(c.rbuf)
	if c.exact {
		limit = need
	}
	for c.rend < need {
		n, err := c.c.Read(c.rbuf[c.rend:limit])
		c.rend += n
		if err != nil {
			if c.rend >= need {
				return nil // report the error with the next read
			}
			if errors.Is(err, io.EOF) && c.rend > 0 {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// closedErr makes sure an error caused by our own Close wraps net.ErrClosed.
func (c *tcpConn) closedErr(err error) error {
	if c.closed.Load() && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w (%w)", net.ErrClosed, err)
	}
	return err
}

func (c *tcpConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if err := c.c.Close(); err != nil {
		return fmt.Errorf("tcp %s: close: %w", c.remote, err)
	}
	return nil
}
