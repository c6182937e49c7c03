package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func testPayloads() map[string][]byte {
	rnd := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 100<<10)
	for i := range random {
		random[i] = byte(rnd.Uint32())
	}
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog; "), 20000)
	return map[string][]byte{
		"empty":  {},
		"byte":   {42},
		"text":   text,
		"zeros":  make([]byte, MaxPayload),
		"random": random,
	}
}

func TestCompressRoundTrip(t *testing.T) {
	for _, codec := range []Codec{CodecNone, CodecZstd, CodecS2} {
		for name, src := range testPayloads() {
			t.Run(codec.String()+"/"+name, func(t *testing.T) {
				prefix := []byte("keep")
				c, err := Compress(codec, prefix, src)
				if err != nil {
					t.Fatal(err)
				}
				if string(c[:4]) != "keep" {
					t.Fatalf("Compress did not append to dst")
				}
				if codec != CodecNone && name == "zeros" && len(c) > len(src)/100 {
					t.Errorf("%v compressed %d zeros to %d bytes", codec, len(src), len(c))
				}
				d, err := Decompress(codec, []byte("x"), c[4:], len(src))
				if err != nil {
					t.Fatalf("Decompress: %v", err)
				}
				if d[0] != 'x' || !bytes.Equal(d[1:], src) {
					t.Fatalf("round trip differs (len %d, want %d)", len(d)-1, len(src))
				}
				// One byte less room than needed must be refused.
				if len(src) > 0 {
					if _, err := Decompress(codec, nil, c[4:], len(src)-1); !errors.Is(err, ErrTooLarge) {
						t.Fatalf("Decompress with maxSize %d: %v, want ErrTooLarge", len(src)-1, err)
					}
				}
			})
		}
	}
}

func TestDecompressErrors(t *testing.T) {
	text := bytes.Repeat([]byte("abcdefgh"), 4096)
	zs, _ := Compress(CodecZstd, nil, text)
	s2c, _ := Compress(CodecS2, nil, text)
	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 0xff
		return b
	}
	tests := []struct {
		name    string
		codec   Codec
		src     []byte
		maxSize int
		want    error
	}{
		{"unknown-codec", Codec(7), text, 1 << 20, ErrCorrupt},
		{"none-too-large", CodecNone, text, 100, ErrTooLarge},
		{"zstd-garbage", CodecZstd, []byte("not zstd at all"), 1 << 20, ErrCorrupt},
		{"zstd-empty", CodecZstd, nil, 1 << 20, ErrCorrupt},
		{"zstd-truncated", CodecZstd, zs[:len(zs)/2], 1 << 20, ErrCorrupt},
		{"zstd-flipped", CodecZstd, flip(zs, len(zs)-6), 1 << 20, ErrCorrupt},
		{"zstd-bomb", CodecZstd, zstdBomb(t, 64<<20, false), 1 << 20, ErrTooLarge},
		{"zstd-bomb-no-size", CodecZstd, zstdBomb(t, 64<<20, true), 1 << 20, ErrTooLarge},
		{"s2-garbage", CodecS2, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 1 << 20, ErrCorrupt},
		{"s2-empty", CodecS2, nil, 1 << 20, ErrCorrupt},
		{"s2-truncated", CodecS2, s2c[:len(s2c)/2], 1 << 20, ErrCorrupt},
		{"s2-bomb", CodecS2, mustCompress(t, CodecS2, make([]byte, 8<<20)), 1 << 20, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Decompress(tc.codec, []byte("pre"), tc.src, tc.maxSize)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decompress = %d bytes, %v; want %v", len(out), err, tc.want)
			}
			if string(out) != "pre" {
				t.Fatalf("dst changed on error: %d bytes", len(out))
			}
		})
	}
}

func mustCompress(t testing.TB, c Codec, b []byte) []byte {
	out, err := Compress(c, nil, b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// zstdBomb returns a small zstd stream that decompresses to n zero bytes.
// With noSize the frame does not announce its size, so only the streaming
// limit can stop it.
func zstdBomb(t testing.TB, n int, noSize bool) []byte {
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if !noSize {
		w.ResetContentSize(&buf, int64(n))
	}
	zero := make([]byte, 1<<20)
	for i := 0; i < n; i += len(zero) {
		if _, err := w.Write(zero); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > n/100 {
		t.Fatalf("bomb is %d bytes", buf.Len())
	}
	return buf.Bytes()
}

func TestDecompressZstdStreams(t *testing.T) {
	// Two concatenated frames: the first announces only its own size, so the
	// fast path overflows and the streaming path must take over.
	a, b := bytes.Repeat([]byte("a"), 5000), bytes.Repeat([]byte("b"), 7000)
	src := append(mustCompress(t, CodecZstd, a), mustCompress(t, CodecZstd, b)...)
	out, err := Decompress(CodecZstd, nil, src, 12000)
	if err != nil || !bytes.Equal(out, append(a, b...)) {
		t.Fatalf("two frames: %d bytes, %v", len(out), err)
	}
	if _, err := Decompress(CodecZstd, nil, src, 11999); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("two frames over limit: %v", err)
	}
	// A streamed frame without a content size decodes within the limit.
	var buf bytes.Buffer
	w, _ := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	_, _ = w.Write(a)
	_ = w.Close()
	out, err = Decompress(CodecZstd, nil, buf.Bytes(), len(a))
	if err != nil || !bytes.Equal(out, a) {
		t.Fatalf("no content size: %d bytes, %v", len(out), err)
	}
}

func TestCompressConcurrent(t *testing.T) {
	src := bytes.Repeat([]byte("volley "), 10000)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codec := []Codec{CodecZstd, CodecS2}[i%2]
			for range 20 {
				c, err := Compress(codec, nil, src)
				if err != nil {
					t.Error(err)
					return
				}
				d, err := Decompress(codec, nil, c, len(src))
				if err != nil || !bytes.Equal(d, src) {
					t.Errorf("%v: %v", codec, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestCompressUnknownCodec(t *testing.T) {
	if _, err := Compress(Codec(3), nil, []byte("x")); err == nil {
		t.Fatal("Compress with unknown codec succeeded")
	}
}
