package transport

import (
	"context"
	"errors"
	"fmt"

	"github.com/volley-run/volley/comm/wire"
)

// Transport makes connections between containers. Implementations: "tcp"
// and "sctp" (see New). Both ends of a connection must use the same one.
type Transport interface {
	// Name returns "tcp" or "sctp".
	Name() string
	// Listen opens a listener on addr ("host:port"; port 0 picks a free one,
	// e.g. "127.0.0.1:0").
	Listen(addr string) (Listener, error)
	// Dial connects to a listener at addr. ctx bounds the whole connect;
	// when it ends first the attempt is abandoned and its socket closed.
	Dial(ctx context.Context, addr string) (Conn, error)
}

// Listener accepts connections made by Dial.
type Listener interface {
	// Accept waits for and returns the next connection. After Close it
	// returns an error wrapping net.ErrClosed.
	Accept() (Conn, error)
	// Addr returns the address the listener is bound to, as "host:port",
	// suitable for Dial (when the host is not a wildcard).
	Addr() string
	// Close stops the listener and unblocks Accept. Connections already
	// accepted stay open.
	Close() error
}

// Conn carries frames between two containers. WriteFrame may be called by
// one goroutine at a time and ReadFrame by one (another) goroutine at a time;
// Close may be called from any goroutine and unblocks both. After Close,
// WriteFrame and ReadFrame return errors wrapping net.ErrClosed.
type Conn interface {
	// WriteFrame writes header+payload as one frame on the given stream. On
	// SCTP the frame is one message on stream (stream modulo the number of
	// streams negotiated); TCP ignores stream. Frames written on one stream
	// of one Conn arrive in order; on TCP all frames keep their order.
	// WriteFrame sets h.PayloadLen from len(payload) and validates h (see
	// wire.Prepare) before sending anything. It does not copy the payload
	// (it gathers header and payload in one writev/sendmsg), and the caller
	// may reuse payload once it returns.
	WriteFrame(stream uint16, h wire.Header, payload []byte) error
	// WriteFrames writes frames in order, as that many WriteFrame calls
	// would, but in as few system calls as the transport allows: on TCP
	// one writev for them all (many small frames, one packet); SCTP sends
	// each frame as its own message. It validates every frame before
	// sending any, and does not keep the payloads once it returns.
	WriteFrames(frames []Frame) error
	// ReadFrame reads the next frame. If buf is non-nil and the frame has a
	// payload, buf is called with the decoded header and may return a slice
	// of at least h.PayloadLen bytes to read the payload into (so a chunk
	// lands directly in its destination buffer without a copy); if it
	// returns nil a fresh slice is allocated. Frames whose payload exceeds
	// the Conn's MaxPayload (see Config) fail with an error wrapping
	// wire.ErrTooLarge; malformed frames fail with wire.ErrCorrupt; a peer
	// that closed cleanly between frames gives io.EOF, one that closed
	// inside a frame io.ErrUnexpectedEOF (test with errors.Is). After an
	// error the byte stream cannot be resynchronised, so every later
	// ReadFrame returns the same error; the caller should Close the Conn.
	// stream is the SCTP stream the frame arrived on (always 0 on TCP).
	ReadFrame(buf func(h wire.Header) []byte) (stream uint16, h wire.Header, payload []byte, err error)
	// RemoteAddr returns the peer's address as "host:port".
	RemoteAddr() string
	// MaxFrame is the largest payload WriteFrame sends: Config.MaxPayload,
	// or less on SCTP when the kernel granted a smaller send buffer.
	// Senders cut large messages into chunks of at most this size.
	MaxFrame() int
	// Close closes the connection and unblocks ReadFrame and WriteFrame.
	// It is safe to call more than once.
	Close() error
}

// Frame is one frame for Conn.WriteFrames.
type Frame struct {
	Stream  uint16 // SCTP stream; TCP ignores it
	Header  wire.Header
	Payload []byte
}

// Config tunes a Transport. The zero value gives the defaults.
type Config struct {
	// MaxPayload is the largest frame payload a Conn accepts from its peer
	// and lets its user send. Zero (or anything above wire.MaxPayload)
	// means wire.MaxPayload, 1 MiB, the format's hard bound.
	MaxPayload int
	// SocketBuffer is the SO_SNDBUF and SO_RCVBUF size requested for every
	// socket, listeners included (accepted sockets inherit the listener's).
	// Zero means DefaultSocketBuffer (4 MiB): SCTP stalls on delayed SACKs
	// and cannot send a 1 MiB message with the kernel's small defaults. A
	// negative value leaves the kernel defaults. On TCP a fixed buffer
	// turns off the kernel's autotuning, so the buffer is only set when
	// the kernel grants the full size (net.core.[rw]mem_max allows it);
	// otherwise autotuning is left in charge. SCTP tries SO_SNDBUFFORCE /
	// SO_RCVBUFFORCE first (needs CAP_NET_ADMIN), then the capped form,
	// and asks for a send buffer of at least one largest frame: Linux
	// sends an SCTP message whole, so an SCTP Conn whose send buffer the
	// kernel keeps smaller (no CAP_NET_ADMIN and a low net.core.wmem_max,
	// or a negative SocketBuffer) refuses payloads that do not fit it with
	// an error wrapping wire.ErrTooLarge. (Unprivileged, with the default
	// net.core.wmem_max, the send buffer takes about 415 KiB; Conn.MaxFrame
	// says so, and the comm layer cuts its chunks to fit.)
	SocketBuffer int
	// SCTPStreams is the number of outbound streams an SCTP association
	// asks for and of inbound streams it accepts. Zero means
	// DefaultSCTPStreams (256); at most 65535.
	SCTPStreams int
}

// Defaults for Config's zero fields.
const (
	// DefaultSocketBuffer is the socket buffer size used when
	// Config.SocketBuffer is zero.
	DefaultSocketBuffer = 4 << 20
	// DefaultSCTPStreams is the SCTP stream count used when
	// Config.SCTPStreams is zero.
	DefaultSCTPStreams = 256
)

func (c Config) withDefaults() Config {
	if c.MaxPayload <= 0 || c.MaxPayload > wire.MaxPayload {
		c.MaxPayload = wire.MaxPayload
	}
	if c.SocketBuffer == 0 {
		c.SocketBuffer = DefaultSocketBuffer
	}
	if c.SCTPStreams <= 0 {
		c.SCTPStreams = DefaultSCTPStreams
	}
	if c.SCTPStreams > 0xffff {
		c.SCTPStreams = 0xffff
	}
	return c
}

// New returns the transport with the given name and default Config:
// "tcp", "sctp", or "auto" (sctp when SCTPAvailable, else tcp; Name tells
// which was picked). "sctp" fails with an error wrapping
// errors.ErrUnsupported, giving the reason, when the kernel has no SCTP.
func New(name string) (Transport, error) {
	return NewWithConfig(name, Config{})
}

// NewWithConfig is New with a Config.
func NewWithConfig(name string, cfg Config) (Transport, error) {
	cfg = cfg.withDefaults()
	switch name {
	case "tcp":
		return &tcpTransport{cfg: cfg}, nil
	case "sctp":
		if ok, reason := SCTPAvailable(); !ok {
			return nil, fmt.Errorf("transport: sctp: %s: %w", reason, errors.ErrUnsupported)
		}
		return newSCTP(cfg), nil
	case "auto":
		if ok, _ := SCTPAvailable(); ok {
			return newSCTP(cfg), nil
		}
		return &tcpTransport{cfg: cfg}, nil
	}
	return nil, fmt.Errorf("transport: unknown transport %q (want tcp, sctp or auto)", name)
}
