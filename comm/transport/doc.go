// Package transport moves wire frames between containers of a Volley group.
//
// The comm layer sees three small interfaces: a Transport makes Listeners
// and dials Conns, and a Conn writes and reads whole frames
// (comm/wire). Two implementations sit behind them:
//
//   - "tcp": one TCP connection per Conn, TCP_NODELAY, large socket buffers;
//     frames are delimited by their header's length. WriteFrame gathers
//     header and payload with writev (no copy of the payload); ReadFrame
//     reads bursts of small frames with one syscall through a 64 KiB
//     buffer, while a large payload goes straight into the caller's buffer
//     (after a large frame the next header is read on its own, so a stream
//     of chunks is never copied through the buffer). TCP has one ordered
//     byte stream, so the stream argument is ignored and every frame keeps
//     its order.
//   - "sctp" (Linux, kernel SCTP, github.com/ishidawataru/sctp): one
//     association per Conn, each frame one SCTP message on the stream the
//     caller names (modulo the streams negotiated, DefaultSCTPStreams asked
//     for), so a big transfer on one stream does not hold up small messages
//     on another. Messages that arrive in pieces are reassembled by the
//     header's lengths and checked against SCTP's end-of-record marks.
//
// New("auto") picks sctp when SCTPAvailable reports kernel support, else
// tcp; Name says which. Both ends must use the same transport.
//
// Kernels without SCTP skip the sctp tests; vmtest/run.sh runs them, and
// the comm suite over sctp, against real kernel SCTP inside a qemu VM.
//
// Both implementations let Close unblock a blocked ReadFrame or WriteFrame
// from another goroutine, bound Dial by its context, enforce a payload limit
// (Config.MaxPayload) on what the peer sends, and fail cleanly (an error
// wrapping wire.ErrCorrupt or wire.ErrTooLarge, never a panic) on garbage.
//
// Every data connection starts with ClientHandshake on the dialing side and
// ServerHandshake on the accepting side: a mutual HMAC-SHA256
// challenge/response over fresh nonces, bound to the group and both packs,
// that proves each side knows the group's secret without revealing it.
// Refusals wrap ErrAuth.
//
// # Example
//
//	tr, err := transport.New("auto")
//	ln, err := tr.Listen("0.0.0.0:0")
//	// accepting side
//	go func() {
//		c, _ := ln.Accept()
//		peer, err := transport.ServerHandshake(ctx, c, secret, transport.Hello{Group: "g1", Pack: 0})
//		_, h, p, err := c.ReadFrame(nil)
//		...
//	}()
//	// dialing side
//	c, err := tr.Dial(ctx, addr)
//	peer, err := transport.ClientHandshake(ctx, c, secret, transport.Hello{Group: "g1", Pack: 1})
//	err = c.WriteFrame(0, wire.Header{Kind: wire.KindEager, Src: 1, Dst: 0, Size: uint64(len(msg))}, msg)
package transport
