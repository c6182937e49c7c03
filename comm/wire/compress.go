package wire

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Codec is a payload compression codec, carried in Header.Flags.
type Codec uint8

// Codecs. The numbers are part of the wire format.
const (
	// CodecNone means the payload is not compressed.
	CodecNone Codec = 0
	// CodecZstd is Zstandard (github.com/klauspost/compress/zstd, default
	// level): better ratio, more CPU.
	CodecZstd Codec = 1
	// CodecS2 is S2 block format (github.com/klauspost/compress/s2): fast,
	// lower ratio.
	CodecS2 Codec = 2
)

// Valid reports whether c is a codec this package knows.
func (c Codec) Valid() bool { return c <= CodecS2 }

// String returns "none", "zstd", "s2" or "Codec(n)".
func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecZstd:
		return "zstd"
	case CodecS2:
		return "s2"
	}
	return fmt.Sprintf("Codec(%d)", uint8(c))
}

// ParseCodec returns the codec named "none" (or ""), "zstd" or "s2".
func ParseCodec(name string) (Codec, error) {
	switch name {
	case "", "none":
		return CodecNone, nil
	case "zstd":
		return CodecZstd, nil
	case "s2":
		return CodecS2, nil
	}
	return 0, fmt.Errorf("wire: unknown codec %q (want none, zstd or s2)", name)
}

// zstdMaxWindow bounds the memory a hostile zstd frame can make a streaming
// decoder allocate. Frames this package writes are single-segment, so their
// window is their content size and never reaches it for frame payloads.
const zstdMaxWindow = 32 << 20

var (
	// zstdEnc is shared: EncodeAll is safe for concurrent use and the
	// encoder is expensive to create.
	zstdEnc = sync.OnceValues(func() (*zstd.Encoder, error) {
		return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	})
	// zstdDec is shared for DecodeAll (safe for concurrent use). With the
	// cap limit, DecodeAll never writes beyond cap(dst).
	zstdDec = sync.OnceValues(func() (*zstd.Decoder, error) {
		return zstd.NewReader(nil,
			zstd.WithDecodeAllCapLimit(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow))
	})
	// zstdStreams holds synchronous streaming decoders for inputs whose
	// decoded size is not announced up front (no goroutines: concurrency 1).
	zstdStreams = sync.Pool{New: func() any {
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(zstdMaxWindow),
			zstd.WithDecodeBuffersBelow(0))
		if err != nil {
			return err
		}
		return d
	}}
)

// Compress appends the compressed form of src to dst and returns the
// extended slice (pass dst[:0] to reuse a buffer; nil is fine). The codec
// must be valid; CodecNone appends src unchanged.
func Compress(codec Codec, dst, src []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return append(dst, src...), nil
	case CodecZstd:
		enc, err := zstdEnc()
		if err != nil {
			return dst, fmt.Errorf("wire: zstd encoder: %w", err)
		}
		return enc.EncodeAll(src, dst), nil
	case CodecS2:
		n := s2.MaxEncodedLen(len(src))
		if n < 0 {
			return dst, fmt.Errorf("%w: s2: cannot compress %d bytes", ErrTooLarge, len(src))
		}
		dst = slices.Grow(dst, n)
		out := s2.Encode(dst[len(dst):len(dst)+n], src)
		return dst[:len(dst)+len(out)], nil
	}
	return dst, fmt.Errorf("wire: compress: unknown codec %d", uint8(codec))
}

// Decompress appends the decompressed form of src to dst and returns the
// extended slice. It refuses, with an error wrapping ErrTooLarge, input that
// would decompress to more than maxSize bytes (a decompression bomb), before
// producing more than maxSize bytes; corrupt input gives an error wrapping
// ErrCorrupt. CodecNone copies src (subject to maxSize). When the input
// announces its decoded size (s2 always, zstd frames from Compress), room
// for exactly that size is allocated up front, so pass the real bound for
// the message, not a generous constant. Safe for concurrent use.
func Decompress(codec Codec, dst, src []byte, maxSize int) ([]byte, error) {
	if maxSize < 0 {
		maxSize = 0
	}
	switch codec {
	case CodecNone:
		if len(src) > maxSize {
			return dst, fmt.Errorf("%w: %d bytes exceed limit %d", ErrTooLarge, len(src), maxSize)
		}
		return append(dst, src...), nil
	case CodecS2:
		return decompressS2(dst, src, maxSize)
	case CodecZstd:
		return decompressZstd(dst, src, maxSize)
	}
	return dst, fmt.Errorf("%w: decompress: unknown codec %d", ErrCorrupt, uint8(codec))
}

func decompressS2(dst, src []byte, maxSize int) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return dst, fmt.Errorf("%w: s2: %w", ErrCorrupt, err)
	}
	if n > maxSize {
		return dst, fmt.Errorf("%w: s2 data decompresses to %d bytes, limit %d", ErrTooLarge, n, maxSize)
	}
	dst = slices.Grow(dst, n)
	out, err := s2.Decode(dst[len(dst):len(dst)+n], src)
	if err != nil {
		return dst, fmt.Errorf("%w: s2: %w", ErrCorrupt, err)
	}
	return dst[:len(dst)+len(out)], nil
}

func decompressZstd(dst, src []byte, maxSize int) ([]byte, error) {
	var fh zstd.Header
	if err := fh.Decode(src); err != nil {
		return dst, fmt.Errorf("%w: zstd: %w", ErrCorrupt, err)
	}
	if fh.HasFCS && fh.FrameContentSize > uint64(maxSize) {
		return dst, fmt.Errorf("%w: zstd data decompresses to %d bytes, limit %d", ErrTooLarge, fh.FrameContentSize, maxSize)
	}
	// Fast path: the (first) frame says how big it is; decode into exactly
	// that much room. A stream of several frames overflows it and falls
	// through to the streaming path.
	if fh.HasFCS {
		dec, err := zstdDec()
		if err != nil {
			return dst, fmt.Errorf("wire: zstd decoder: %w", err)
		}
		n := len(dst)
		out, err := dec.DecodeAll(src, slices.Grow(dst, int(fh.FrameContentSize))[:n:n+int(fh.FrameContentSize)])
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, zstd.ErrDecoderSizeExceeded) {
			return dst, fmt.Errorf("%w: zstd: %w", ErrCorrupt, err)
		}
	}
	return decompressZstdStream(dst, src, maxSize)
}

// hideBytes hides bytes.Reader's Bytes method so the zstd decoder cannot
// switch to decoding the whole input in memory without our size limit.
type hideBytes struct{ r io.Reader }

func (h hideBytes) Read(p []byte) (int, error) { return h.r.Read(p) }

type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

func decompressZstdStream(dst, src []byte, maxSize int) ([]byte, error) {
	v := zstdStreams.Get()
	d, ok := v.(*zstd.Decoder)
	if !ok {
		return dst, fmt.Errorf("wire: zstd decoder: %v", v)
	}
	defer func() {
		_ = d.Reset(nil)
		zstdStreams.Put(d)
	}()
	if err := d.Reset(hideBytes{&sliceReader{src}}); err != nil {
		return dst, fmt.Errorf("%w: zstd: %w", ErrCorrupt, err)
	}
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, min(max(4096, len(dst)-start), maxSize+1-(len(dst)-start)))
		}
		// Read at most one byte past the limit, to tell "exactly maxSize" from "more".
		room := min(cap(dst)-len(dst), maxSize+1-(len(dst)-start))
		n, err := d.Read(dst[len(dst) : len(dst)+room])
		dst = dst[:len(dst)+n]
		if len(dst)-start > maxSize {
			return dst[:start], fmt.Errorf("%w: zstd data decompresses to more than %d bytes", ErrTooLarge, maxSize)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst[:start], fmt.Errorf("%w: zstd: %w", ErrCorrupt, err)
		}
	}
}
