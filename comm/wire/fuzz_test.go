package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// FuzzDecodeHeader checks that DecodeHeader never panics, that every error
// wraps ErrCorrupt or ErrTooLarge, and that whatever it accepts re-encodes to
// the same bytes and passes Validate.
func FuzzDecodeHeader(f *testing.F) {
	for _, h := range validHeaders() {
		f.Add(h.Append(nil), 0)
	}
	check := func(t *testing.T, b []byte, maxPayload int) {
		h, err := DecodeHeader(b, maxPayload)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrTooLarge", err)
			}
			return
		}
		if err := h.Validate(maxPayload); err != nil {
			t.Fatalf("decoded %v fails Validate: %v", h, err)
		}
		if int64(h.PayloadLen) > int64(limit(maxPayload)) {
			t.Fatalf("payload %d over limit %d accepted", h.PayloadLen, limit(maxPayload))
		}
		if enc := h.Append(nil); !bytes.Equal(enc, b[:HeaderLen]) {
			t.Fatalf("re-encoding %v gives\n% x\nwant\n% x", h, enc, b[:HeaderLen])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, maxPayload int) {
		check(t, b, maxPayload)
		// Random bytes rarely carry a matching checksum; also try them with
		// magic, version and checksum repaired, so the field checks behind
		// them get explored too.
		if len(b) >= HeaderLen {
			fixed := bytes.Clone(b[:HeaderLen])
			binary.BigEndian.PutUint16(fixed[offMagic:], Magic)
			fixed[offVersion] = Version
			binary.BigEndian.PutUint32(fixed[offCRC:], crc32.Checksum(fixed[:offCRC], castagnoli))
			check(t, fixed, maxPayload)
		}
	})
}

// FuzzDecompress checks that Decompress never panics, never returns more
// than maxSize bytes, and that errors wrap ErrCorrupt or ErrTooLarge; it
// also round-trips the input through Compress.
func FuzzDecompress(f *testing.F) {
	text := bytes.Repeat([]byte("fuzz me "), 64)
	for _, c := range []Codec{CodecNone, CodecZstd, CodecS2} {
		comp, _ := Compress(c, nil, text)
		f.Add(uint8(c), comp, len(text))
		f.Add(uint8(c), comp, len(text)-1)
	}
	f.Fuzz(func(t *testing.T, codec uint8, src []byte, maxSize int) {
		maxSize = max(0, min(maxSize, 4<<20)) // keep memory bounded
		c := Codec(codec % 4)
		out, err := Decompress(c, nil, src, maxSize)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrTooLarge", err)
			}
		} else if len(out) > maxSize {
			t.Fatalf("%v: %d bytes out, limit %d", c, len(out), maxSize)
		}
		if !c.Valid() {
			return
		}
		comp, err := Compress(c, nil, src)
		if err != nil {
			t.Fatalf("Compress: %v", err)
		}
		back, err := Decompress(c, nil, comp, len(src))
		if err != nil || !bytes.Equal(back, src) {
			t.Fatalf("%v round trip of %d bytes: %v", c, len(src), err)
		}
	})
}
