// Package wire defines the frame format Volley's comm layer uses between
// containers, and the payload compression helpers that go with it.
//
// It is pure: no sockets, no goroutines, no clocks. Transports
// (comm/transport) move frames; the comm layer decides which frames to send.
// Everything that checks bytes from the network lives here, so it can be
// tested and fuzzed on its own.
//
// # Frames
//
// A frame is a fixed HeaderLen-byte Header followed by PayloadLen payload
// bytes. The header starts with a magic and a version byte and ends with a
// CRC-32C of the header, so garbage and misaligned streams are caught at the
// first header. Layout (big-endian):
//
//	offset size field
//	 0     2    magic 0x56 0x4C ("VL")
//	 2     1    version (1)
//	 3     1    kind
//	 4     1    flags: payload codec (0 none, 1 zstd, 2 s2)
//	 5     3    reserved, zero
//	 8     4    payload length (uint32)
//	12     4    src (int32)
//	16     4    dst (int32)
//	20     4    tag (int32)
//	24     8    msg id (uint64)
//	32     8    offset (uint64)
//	40     8    size (uint64)
//	48     4    CRC-32C (Castagnoli) of bytes 0..47
//
// The kinds are the handshake frames (Hello, Challenge, Response, Refuse),
// the message frames (Eager for small messages; RTS, CTS and Data for large
// ones, which are chunked and pipelined; Abort when the sender of a large
// one gives up on it), Credit for eager flow control and Done for a
// graceful end. Each Kind constant documents the fields it uses;
// unused fields must be zero.
//
// DecodeHeader never panics on any input. It checks magic, version,
// checksum, kind, codec, payload length against the caller's limit (at most
// MaxPayload), signs of ranks, and consistency (a Data chunk must lie inside
// its message). Errors wrap ErrCorrupt or ErrTooLarge and name the problem.
// Senders call Prepare (or Header.Validate) so a bad frame fails where it is
// made.
//
// # Compression
//
// Compress and Decompress handle payloads with zstd or s2
// (github.com/klauspost/compress). Decompress takes the largest output the
// caller accepts and refuses anything bigger before producing it, so a
// decompression bomb costs at most maxSize bytes. The zstd encoder and
// decoders are shared or pooled; all functions are safe for concurrent use.
//
// # Example
//
//	payload, _ := wire.Compress(wire.CodecS2, nil, msg)
//	h := wire.Header{Kind: wire.KindEager, Flags: uint8(wire.CodecS2),
//		Src: 3, Dst: 9, Tag: 7, Size: uint64(len(msg))}
//	if err := wire.WriteFrame(w, h, payload); err != nil { ... }
//
//	h, p, err := wire.ReadFrame(r, wire.MaxPayload, nil)
//	if err != nil { ... } // errors.Is(err, wire.ErrCorrupt), wire.ErrTooLarge, io.EOF
//	msg, err = wire.Decompress(h.Codec(), nil, p, int(h.Size))
package wire
