//go:build linux

package transport

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/ishidawataru/sctp"
	"golang.org/x/sys/unix"

	"github.com/volley-run/volley/comm/wire"
)

// How the SCTP transport uses github.com/ishidawataru/sctp: the package
// creates, configures and binds the listening sockets (SocketConfig with an
// InitMsg and a Control hook), resolves addresses, connects (SCTPConnect)
// and knows the SCTP socket options. Its own connect, reads, writes, Accept
// and Close are blocking syscalls on a raw fd that Go's deadlines and Close
// cannot interrupt, so this file makes each socket non-blocking (a dialled
// one from the start) and hands it to an *os.File: the
// runtime poller then parks blocked readers and writers, and File.Close wakes
// them and closes the fd only when no syscall is using it. Frames go out
// with sendmsg (header and payload gathered, stream in an SCTP_SNDRCV
// control message) and come in with recvmsg, which reports MSG_EOR at the
// end of each SCTP message, so frame boundaries are checked against message
// boundaries.

// sctpDialTimeout bounds a connect when the Dial context has no deadline.
const sctpDialTimeout = time.Minute

var sctpProbe = sync.OnceValues(func() (bool, string) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_SCTP)
	if err != nil {
		return false, sctpReason(err)
	}
	_ = syscall.Close(fd)
	return true, ""
})

// SCTPAvailable reports whether this kernel can open SCTP sockets, by
// probing socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) once. When it cannot,
// reason says why, e.g. "kernel has no SCTP: protocol not supported
// (EPROTONOSUPPORT)".
func SCTPAvailable() (ok bool, reason string) { return sctpProbe() }

func sctpReason(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return fmt.Sprintf("cannot open an SCTP socket: %v", err)
	}
	names := map[syscall.Errno]string{
		syscall.EPROTONOSUPPORT: "EPROTONOSUPPORT",
		syscall.ESOCKTNOSUPPORT: "ESOCKTNOSUPPORT",
		syscall.EAFNOSUPPORT:    "EAFNOSUPPORT",
		syscall.EPERM:           "EPERM",
		syscall.EACCES:          "EACCES",
	}
	name := names[errno]
	if name == "" {
		name = fmt.Sprintf("errno %d", int(errno))
	}
	switch errno {
	case syscall.EPROTONOSUPPORT, syscall.ESOCKTNOSUPPORT, syscall.EAFNOSUPPORT:
		return fmt.Sprintf("kernel has no SCTP: %v (%s)", errno, name)
	case syscall.EPERM, syscall.EACCES:
		return fmt.Sprintf("SCTP sockets are not permitted here (seccomp or security policy): %v (%s)", errno, name)
	}
	return fmt.Sprintf("cannot open an SCTP socket: %v (%s)", errno, name)
}

type sctpTransport struct{ cfg Config }

func newSCTP(cfg Config) Transport { return &sctpTransport{cfg: cfg} }

func (t *sctpTransport) Name() string { return "sctp" }

func (t *sctpTransport) socketConfig() *sctp.SocketConfig {
	n := uint16(t.cfg.SCTPStreams)
	return &sctp.SocketConfig{
		InitMsg: sctp.InitMsg{NumOstreams: n, MaxInstreams: n},
		Control: func(_, _ string, rc syscall.RawConn) error {
			var err error
			cerr := rc.Control(func(fd uintptr) {
				err = t.setup(int(fd))
			})
			if cerr != nil {
				return cerr
			}
			return err
		},
	}
}

// setup sets buffers and SCTP_NODELAY on a new socket. Linux sends an
// SCTP message whole and refuses one larger than the socket's send buffer
// (EMSGSIZE), so the send buffer asked for holds at least the largest
// frame; whether the kernel grants it, the Conn checks (maxSend, MaxFrame).
func (t *sctpTransport) setup(fd int) error {
	if size := t.cfg.SocketBuffer; size > 0 {
		snd := max(size, wire.HeaderLen+t.cfg.MaxPayload+sctpSendSlack)
		for _, o := range [][3]int{{syscall.SO_SNDBUFFORCE, syscall.SO_SNDBUF, snd}, {syscall.SO_RCVBUFFORCE, syscall.SO_RCVBUF, size}} {
			if syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, o[0], o[2]) != nil {
				if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, o[1], o[2]); err != nil {
					return fmt.Errorf("set socket buffer %d: %w", o[2], err)
				}
			}
		}
	}
	if err := syscall.SetsockoptInt(fd, sctp.SOL_SCTP, sctp.SCTP_NODELAY, 1); err != nil {
		return fmt.Errorf("set SCTP_NODELAY: %w", err)
	}
	return nil
}

// rawFD returns the fd inside something with a SyscallConn method.
func rawFD(s interface {
	SyscallConn() (syscall.RawConn, error)
}) (int, error) {
	rc, err := s.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return -1, err
	}
	return fd, nil
}

// pollable turns fd into a non-blocking *os.File served by the runtime
// poller. On error fd is closed.
func pollable(fd int, name string) (*os.File, syscall.RawConn, error) {
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, nil, fmt.Errorf("set non-blocking: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	return f, rc, nil
}

func sockaddrString(sa syscall.Sockaddr) string {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), fmt.Sprint(a.Port))
	case *syscall.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), fmt.Sprint(a.Port))
	}
	return fmt.Sprint(sa)
}

func (t *sctpTransport) Listen(addr string) (Listener, error) {
	laddr, err := sctp.ResolveSCTPAddr("sctp", addr)
	if err != nil {
		return nil, fmt.Errorf("sctp: listen %s: %w", addr, err)
	}
	ln, err := t.socketConfig().Listen("sctp", laddr)
	if err != nil {
		return nil, fmt.Errorf("sctp: listen %s: %w", addr, err)
	}
	fd, err := rawFD(ln)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("sctp: listen %s: %w", addr, err)
	}
	// From here the *os.File owns fd; ln is dropped without Close.
	f, rc, err := pollable(fd, "sctp-listener")
	if err != nil {
		return nil, fmt.Errorf("sctp: listen %s: %w", addr, err)
	}
	local := addr
	if sa, err := syscall.Getsockname(fd); err == nil {
		local = sockaddrString(sa)
	}
	return &sctpListener{t: t, f: f, rc: rc, addr: local}, nil
}

func (t *sctpTransport) Dial(ctx context.Context, addr string) (Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sctp: dial %s: %w", addr, err)
	}
	raddr, err := sctp.ResolveSCTPAddr("sctp", addr)
	if err != nil {
		return nil, fmt.Errorf("sctp: dial %s: %w", addr, err)
	}
	f, rc, err := t.connect(ctx, raddr)
	if err != nil {
		return nil, fmt.Errorf("sctp: dial %s: %w", addr, err)
	}
	c, err := newSCTPConn(f, rc, t.cfg)
	if err != nil {
		return nil, fmt.Errorf("sctp: dial %s: %w", addr, err)
	}
	return c, nil
}

// connect opens a non-blocking SCTP socket, connects it to raddr with the
// package's SCTPConnect and waits in the runtime poller until the
// association is up, ctx ends or sctpDialTimeout passes. (The package's
// own Dial connects blocking: that ignores ctx, and bounded by
// SO_SNDTIMEO it fails with EINTR whenever a signal arrives, such as the
// Go scheduler's preemption signal.)
func (t *sctpTransport) connect(ctx context.Context, raddr *sctp.SCTPAddr) (*os.File, syscall.RawConn, error) {
	af := syscall.AF_INET
	if len(raddr.IPAddrs) > 0 && raddr.IPAddrs[0].IP.To4() == nil {
		af = syscall.AF_INET6
	}
	fd, err := syscall.Socket(af, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_SCTP)
	if err != nil {
		return nil, nil, fmt.Errorf("socket: %w", err)
	}
	n := t.cfg.SCTPStreams
	if err := t.setup(fd); err != nil {
		_ = syscall.Close(fd)
		return nil, nil, err
	}
	if err := sctp.NewSCTPConn(fd, nil).SetInitMsg(n, n, 0, 0); err != nil {
		_ = syscall.Close(fd)
		return nil, nil, fmt.Errorf("set SCTP_INITMSG: %w", err)
	}
	f, rc, err := pollable(fd, "sctp")
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*os.File, syscall.RawConn, error) {
		_ = f.Close()
		return nil, nil, err
	}
	if _, err := sctp.SCTPConnect(fd, raddr); err != nil && !errors.Is(err, syscall.EINPROGRESS) && !errors.Is(err, syscall.EINTR) {
		return fail(fmt.Errorf("connect: %w", err))
	}
	deadline := time.Now().Add(sctpDialTimeout)
	if dl, ok := ctx.Deadline(); ok {
		deadline = dl
	}
	timeout := time.Until(deadline).Round(time.Millisecond)
	if err := f.SetWriteDeadline(deadline); err != nil {
		return fail(err)
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var serr error
	werr := rc.Write(func(fd uintptr) bool {
		var errno int
		if errno, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR); serr != nil {
			return true
		}
		switch e := syscall.Errno(errno); e {
		case 0:
			// Writable with no error may still be before the
			// association is up (a spurious wake-up): ask the peer's name.
			_, serr = syscall.Getpeername(int(fd))
			return !errors.Is(serr, syscall.ENOTCONN)
		case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
			return false
		default:
			serr = e
			return true
		}
	})
	switch {
	case ctx.Err() != nil:
		return fail(ctx.Err())
	case errors.Is(werr, os.ErrDeadlineExceeded):
		return fail(fmt.Errorf("connect timed out after %v: %w", timeout, os.ErrDeadlineExceeded))
	case werr != nil:
		return fail(fmt.Errorf("connect: %w", werr))
	case serr != nil:
		return fail(fmt.Errorf("connect: %w", serr))
	}
	if err := f.SetWriteDeadline(time.Time{}); err != nil {
		return fail(err)
	}
	return f, rc, nil
}

type sctpListener struct {
	t      *sctpTransport
	f      *os.File
	rc     syscall.RawConn
	addr   string
	closed atomic.Bool
}

func (l *sctpListener) Addr() string { return l.addr }

func (l *sctpListener) Accept() (Conn, error) {
	for {
		var nfd int
		var aerr error
		err := l.rc.Read(func(fd uintptr) bool {
			nfd, _, aerr = syscall.Accept4(int(fd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
			return aerr != syscall.EAGAIN
		})
		if err == nil {
			err = aerr
		}
		switch {
		case err == nil:
		case l.closed.Load():
			return nil, fmt.Errorf("sctp: accept on %s: %w", l.addr, net.ErrClosed)
		case errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EINTR):
			continue
		default:
			return nil, fmt.Errorf("sctp: accept on %s: %w", l.addr, err)
		}
		f, rc, err := pollable(nfd, "sctp")
		if err != nil {
			return nil, fmt.Errorf("sctp: accept on %s: %w", l.addr, err)
		}
		c, err := newSCTPConn(f, rc, l.t.cfg)
		if err != nil {
			return nil, fmt.Errorf("sctp: accept on %s: %w", l.addr, err)
		}
		return c, nil
	}
}

func (l *sctpListener) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("sctp: close listener %s: %w", l.addr, err)
	}
	return nil
}

// sctpStage is how many payload bytes the first read of a frame may bring
// along with the header (then copied out): frames up to this size cost one
// recvmsg.
const sctpStage = 8 << 10

// sctpSendSlack is kept free in the send buffer beyond a frame's bytes: a
// message must fit the buffer's free space, which the kernel's own
// bookkeeping takes a little of.
const sctpSendSlack = 1 << 10

// sndrcvLen is sizeof(struct sctp_sndrcvinfo).
const sndrcvLen = int(unsafe.Sizeof(sctp.SndRcvInfo{}))

type sctpConn struct {
	f          *os.File
	rc         syscall.RawConn
	ostreams   uint16
	maxPayload int // largest payload accepted from the peer
	maxSend    int // largest payload this socket's send buffer lets us send
	sndbuf     int
	remote     string
	closed     atomic.Bool

	// Write side (one writer at a time).
	whdr    [wire.HeaderLen]byte
	wvec    [2][]byte
	whs     []wire.Header // WriteFrames: the prepared headers
	woob    []byte        // SCTP_SNDRCV control message; the stream is patched in
	infoOff int           // where the sctp_sndrcvinfo starts in woob

	// Read side (one reader at a time).
	rbuf []byte // staging: header plus up to sctpStage payload bytes
	roob []byte
	rerr error
}

// newSCTPConn wraps a connected SCTP socket that pollable has handed to
// f; on error f is closed.
func newSCTPConn(f *os.File, rc syscall.RawConn, cfg Config) (*sctpConn, error) {
	var (
		sndbuf   int
		ostreams = uint16(1)
		remote   = "?"
		err      error
	)
	cerr := rc.Control(func(u uintptr) {
		fd := int(u)
		sc := sctp.NewSCTPConn(fd, nil) // only for its socket-option helpers
		t := sctpTransport{cfg: cfg}
		if err = t.setup(fd); err != nil {
			return
		}
		// Ask for an SCTP_SNDRCV control message with every read: it
		// carries the stream number.
		if err = sc.SubscribeEvents(sctp.SCTP_EVENT_DATA_IO); err != nil {
			return
		}
		if sndbuf, err = syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF); err != nil {
			return
		}
		if st, serr := sc.GetStatus(); serr == nil && st.Ostreams > 0 {
			ostreams = st.Ostreams
		}
		if sa, serr := syscall.Getpeername(fd); serr == nil {
			remote = sockaddrString(sa)
		}
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	c := &sctpConn{
		f:          f,
		rc:         rc,
		ostreams:   ostreams,
		maxPayload: cfg.MaxPayload,
		maxSend:    min(cfg.MaxPayload, sndbuf-wire.HeaderLen-sctpSendSlack),
		sndbuf:     sndbuf,
		remote:     remote,
		woob:       make([]byte, unix.CmsgSpace(sndrcvLen)),
		infoOff:    unix.CmsgLen(0),
		rbuf:       make([]byte, wire.HeaderLen+sctpStage),
		roob:       make([]byte, 2*unix.CmsgSpace(sndrcvLen)),
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&c.woob[0]))
	h.Level = syscall.IPPROTO_SCTP
	h.Type = sctp.SCTP_CMSG_SNDRCV
	h.SetLen(unix.CmsgLen(sndrcvLen))
	return c, nil
}

func (c *sctpConn) RemoteAddr() string { return c.remote }

func (c *sctpConn) MaxFrame() int { return max(min(c.maxSend, c.maxPayload), 0) }

// prepare checks a frame before it is sent (wire.Prepare, and that its
// payload fits the socket's send buffer in one message) and returns its
// header with PayloadLen set.
func (c *sctpConn) prepare(h wire.Header, payload []byte) (wire.Header, error) {
	if len(payload) > c.maxSend && len(payload) <= c.maxPayload {
		return h, fmt.Errorf("%w: a payload of %d bytes does not fit this socket's %d-byte send buffer, which takes at most %d (SCTP sends a frame as one message; raise net.core.wmem_max or grant CAP_NET_ADMIN)",
			wire.ErrTooLarge, len(payload), c.sndbuf, max(c.maxSend, 0))
	}
	return wire.Prepare(h, payload, c.maxPayload)
}

// WriteFrames sends each frame as one message: SCTP keeps message
// boundaries, so frames cannot share a sendmsg. Every frame is checked
// first, so a bad one sends nothing.
func (c *sctpConn) WriteFrames(frames []Frame) error {
	c.whs = slices.Grow(c.whs[:0], len(frames))[:len(frames)]
	hs := c.whs
	for i, f := range frames {
		var err error
		if hs[i], err = c.prepare(f.Header, f.Payload); err != nil {
			return fmt.Errorf("sctp %s: write frame %d of %d: %w", c.remote, i+1, len(frames), err)
		}
	}
	for i, f := range frames {
		if err := c.send(f.Stream, hs[i], f.Payload); err != nil {
			return err
		}
	}
	return nil
}

func (c *sctpConn) WriteFrame(stream uint16, h wire.Header, payload []byte) error {
	h, err := c.prepare(h, payload)
	if err != nil {
		return fmt.Errorf("sctp %s: write frame: %w", c.remote, err)
	}
	return c.send(stream, h, payload)
}

// send sends one prepared frame as one message on stream.
func (c *sctpConn) send(stream uint16, h wire.Header, payload []byte) error {
	h.Encode(c.whdr[:])
	binary.NativeEndian.PutUint16(c.woob[c.infoOff:], stream%c.ostreams) // sinfo_stream
	c.wvec[0], c.wvec[1] = c.whdr[:], payload
	bufs := c.wvec[:]
	if len(payload) == 0 {
		bufs = c.wvec[:1]
	}
	var n int
	var serr error
	err := c.rc.Write(func(fd uintptr) bool {
		n, serr = unix.SendmsgBuffers(int(fd), bufs, c.woob, nil, unix.MSG_NOSIGNAL)
		return serr != unix.EAGAIN
	})
	c.wvec[1] = nil
	if err == nil {
		err = serr
	}
	if err == nil && n != wire.HeaderLen+len(payload) {
		err = fmt.Errorf("short send: %d of %d bytes", n, wire.HeaderLen+len(payload))
	}
	if err != nil {
		return fmt.Errorf("sctp %s: write %v frame on stream %d: %w", c.remote, h.Kind, stream%c.ostreams, c.closedErr(err))
	}
	return nil
}

// recv reads the next piece of an SCTP message into p (len(p) > 0).
func (c *sctpConn) recv(p []byte) (n int, eor bool, stream uint16, err error) {
	for {
		var oobn, flags int
		var rerr error
		err = c.rc.Read(func(fd uintptr) bool {
			n, oobn, flags, _, rerr = unix.Recvmsg(int(fd), p, c.roob, 0)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return 0, false, 0, err
		}
		if flags&sctp.MSG_NOTIFICATION != 0 {
			// Not subscribed to any; skip one if it comes anyway. A long
			// one arrives in pieces like a message: drop until its end.
			for flags&unix.MSG_EOR == 0 {
				var scratch [256]byte
				err = c.rc.Read(func(fd uintptr) bool {
					_, _, flags, _, rerr = unix.Recvmsg(int(fd), scratch[:], nil, 0)
					return rerr != unix.EAGAIN
				})
				if err == nil {
					err = rerr
				}
				if err != nil {
					return 0, false, 0, err
				}
			}
			continue
		}
		if n == 0 {
			return 0, false, 0, io.EOF // the peer shut the association down
		}
		if oobn > 0 {
			if msgs, perr := unix.ParseSocketControlMessage(c.roob[:oobn]); perr == nil {
				for _, m := range msgs {
					if m.Header.Level == syscall.IPPROTO_SCTP && m.Header.Type == sctp.SCTP_CMSG_SNDRCV && len(m.Data) >= 2 {
						stream = binary.NativeEndian.Uint16(m.Data)
					}
				}
			}
		}
		return n, flags&unix.MSG_EOR != 0, stream, nil
	}
}

func (c *sctpConn) ReadFrame(buf func(h wire.Header) []byte) (uint16, wire.Header, []byte, error) {
	if c.rerr != nil {
		return 0, wire.Header{}, nil, c.rerr
	}
	stream, h, p, err := c.readFrame(buf)
	if err != nil {
		c.rerr = fmt.Errorf("sctp %s: read frame: %w", c.remote, c.closedErr(err))
		return 0, wire.Header{}, nil, c.rerr
	}
	return stream, h, p, nil
}

// readFrame reads one frame, which must be exactly one SCTP message. The
// first recvmsg lands in a staging buffer big enough for the header and a
// small payload, so a small frame costs one syscall; the rest of a larger
// payload is read straight into its destination. SCTP may deliver a large
// message in several pieces: they are reassembled by reading exactly the
// lengths the header gives, and checked against the end-of-record marks.
func (c *sctpConn) readFrame(buf func(h wire.Header) []byte) (uint16, wire.Header, []byte, error) {
	var stream uint16
	var eor bool
	got := 0
	for got < wire.HeaderLen {
		n, e, st, err := c.recv(c.rbuf[got:])
		if err != nil {
			if errors.Is(err, io.EOF) && got > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, wire.Header{}, nil, err
		}
		if got == 0 {
			stream = st
		}
		got, eor = got+n, e
		if eor && got < wire.HeaderLen {
			return 0, wire.Header{}, nil, fmt.Errorf("%w: SCTP message of %d bytes is shorter than a frame header", wire.ErrCorrupt, got)
		}
	}
	h, err := wire.DecodeHeader(c.rbuf[:wire.HeaderLen], c.maxPayload)
	if err != nil {
		return 0, wire.Header{}, nil, err
	}
	early := c.rbuf[wire.HeaderLen:got] // payload bytes already here
	switch {
	case len(early) > int(h.PayloadLen) || (len(early) == int(h.PayloadLen) && !eor):
		return 0, wire.Header{}, nil, fmt.Errorf("%w: SCTP message continues past its %v frame", wire.ErrCorrupt, h.Kind)
	case len(early) < int(h.PayloadLen) && eor:
		return 0, wire.Header{}, nil, fmt.Errorf("%w: SCTP message ends after %d of the %d payload bytes of a %v frame", wire.ErrCorrupt, len(early), h.PayloadLen, h.Kind)
	case h.PayloadLen == 0:
		return stream, h, nil, nil
	}
	p, err := wire.PayloadBuffer(h, buf)
	if err != nil {
		return 0, wire.Header{}, nil, err
	}
	got = copy(p, early)
	for got < len(p) {
		n, e, _, err := c.recv(p[got:])
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, wire.Header{}, nil, fmt.Errorf("%v payload of %d bytes: %w", h.Kind, h.PayloadLen, err)
		}
		got, eor = got+n, e
		if eor && got < len(p) {
			return 0, wire.Header{}, nil, fmt.Errorf("%w: SCTP message ends after %d of the %d payload bytes of a %v frame", wire.ErrCorrupt, got, len(p), h.Kind)
		}
	}
	if !eor {
		return 0, wire.Header{}, nil, fmt.Errorf("%w: SCTP message continues past its %v frame", wire.ErrCorrupt, h.Kind)
	}
	return stream, h, p, nil
}

// closedErr makes sure an error caused by our own Close wraps net.ErrClosed
// (os.File reports its own "file already closed").
func (c *sctpConn) closedErr(err error) error {
	if c.closed.Load() && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w (%w)", net.ErrClosed, err)
	}
	return err
}

func (c *sctpConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if err := c.f.Close(); err != nil {
		return fmt.Errorf("sctp %s: close: %w", c.remote, err)
	}
	return nil
}
