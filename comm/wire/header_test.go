package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"
)

// validHeaders has one well-formed header of every kind (and some variants).
func validHeaders() map[string]Header {
	return map[string]Header{
		"hello":       {Kind: KindHello, Src: 2, PayloadLen: NonceLen + 5},
		"challenge":   {Kind: KindChallenge, Src: 0, PayloadLen: NonceLen + MaxGroupLen},
		"response":    {Kind: KindResponse, PayloadLen: MACLen},
		"refuse":      {Kind: KindRefuse, PayloadLen: 12},
		"refuse-none": {Kind: KindRefuse},
		"eager":       {Kind: KindEager, Src: 1, Dst: 7, Tag: -3, Size: 100, PayloadLen: 100},
		"eager-empty": {Kind: KindEager, Src: 0, Dst: 0},
		"eager-zstd":  {Kind: KindEager, Flags: uint8(CodecZstd), Src: 1, Dst: 2, Tag: 9, Size: 1 << 30, PayloadLen: 77},
		"eager-max":   {Kind: KindEager, Src: 1 << 30, Dst: 1<<31 - 1, Size: MaxPayload, PayloadLen: MaxPayload},
		"rts":         {Kind: KindRTS, Src: 5, Dst: 6, Tag: 1, MsgID: 1<<64 - 1, Size: 1 << 40},
		"rts-s2":      {Kind: KindRTS, Flags: uint8(CodecS2), Src: 5, Dst: 6, MsgID: 3, Size: 10},
		"cts":         {Kind: KindCTS, Src: 6, Dst: 5, MsgID: 42},
		"data":        {Kind: KindData, Src: 5, Dst: 6, MsgID: 42, Offset: 256 << 10, Size: 64 << 20, PayloadLen: 256 << 10},
		"data-last":   {Kind: KindData, Src: 5, Dst: 6, MsgID: 42, Offset: 99, Size: 100, PayloadLen: 1},
		"data-zstd":   {Kind: KindData, Flags: uint8(CodecZstd), Src: 5, Dst: 6, MsgID: 42, Offset: 99, Size: 100, PayloadLen: 500},
		"credit":      {Kind: KindCredit, Src: 3, Dst: 4, Size: 1 << 20},
		"done":        {Kind: KindDone, Src: 7},
		"abort":       {Kind: KindAbort, Src: 5, Dst: 6, MsgID: 42},
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	for name, h := range validHeaders() {
		t.Run(name, func(t *testing.T) {
			var b [HeaderLen]byte
			h.Encode(b[:])
			got, err := DecodeHeader(b[:], MaxPayload)
			if err != nil {
				t.Fatalf("DecodeHeader(%v): %v", h, err)
			}
			if got != h {
				t.Fatalf("round trip: got %v, want %v", got, h)
			}
			if a := h.Append([]byte("xy")); !bytes.Equal(a[2:], b[:]) || string(a[:2]) != "xy" {
				t.Fatalf("Append differs from Encode")
			}
			// Longer input is fine: only the first HeaderLen bytes count.
			if _, err := DecodeHeader(append(b[:], 1, 2, 3), 0); err != nil {
				t.Fatalf("DecodeHeader with trailing bytes: %v", err)
			}
		})
	}
}

func TestHeaderLayout(t *testing.T) {
	h := Header{Kind: KindData, Flags: 2, Src: 0x01020304, Dst: 0x05060708, MsgID: 0x1112131415161718,
		Offset: 0x2122232425262728, Size: 0x3132333435363738, PayloadLen: 0x090a0b0c}
	var b [HeaderLen]byte
	h.Encode(b[:])
	want := []byte{
		0x56, 0x4c, 1, byte(KindData), 2, 0, 0, 0,
		0x09, 0x0a, 0x0b, 0x0c,
		0x01, 0x02, 0x03, 0x04,
		0x05, 0x06, 0x07, 0x08,
		0, 0, 0, 0,
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
		0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
		0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,
	}
	want = binary.BigEndian.AppendUint32(want, crc32.Checksum(want, crc32.MakeTable(crc32.Castagnoli)))
	if !bytes.Equal(b[:], want) {
		t.Fatalf("layout:\n got % x\nwant % x", b[:], want)
	}
}

// rawHeader encodes h and then lets mutate change bytes, fixing the checksum
// afterwards unless keepCRC.
func rawHeader(h Header, mutate func(b []byte), fixCRC bool) []byte {
	b := make([]byte, HeaderLen)
	h.Encode(b)
	if mutate != nil {
		mutate(b)
	}
	if fixCRC {
		binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[:offCRC], castagnoli))
	}
	return b
}

func TestDecodeHeaderErrors(t *testing.T) {
	eager := Header{Kind: KindEager, Src: 1, Dst: 2, Size: 10, PayloadLen: 10}
	tests := []struct {
		name       string
		b          []byte
		maxPayload int
		want       error
		detail     string
	}{
		{"empty", nil, 0, ErrCorrupt, "header is 0 bytes"},
		{"short", rawHeader(eager, nil, true)[:HeaderLen-1], 0, ErrCorrupt, "header is 51 bytes"},
		{"zeros", make([]byte, HeaderLen), 0, ErrCorrupt, "bad magic"},
		{"magic", rawHeader(eager, func(b []byte) { b[0] = 'X' }, true), 0, ErrCorrupt, "bad magic"},
		{"version", rawHeader(eager, func(b []byte) { b[offVersion] = 2 }, true), 0, ErrCorrupt, "unsupported version 2"},
		{"checksum", rawHeader(eager, func(b []byte) { b[offTag] ^= 1 }, false), 0, ErrCorrupt, "checksum"},
		{"reserved", rawHeader(eager, func(b []byte) { b[offReserved+1] = 1 }, true), 0, ErrCorrupt, "reserved"},
		{"kind-zero", rawHeader(Header{Kind: 0}, nil, true), 0, ErrCorrupt, "unknown frame kind 0"},
		{"kind-unknown", rawHeader(Header{Kind: 99}, nil, true), 0, ErrCorrupt, "unknown frame kind 99"},
		{"codec-unknown", rawHeader(Header{Kind: KindEager, Flags: 3}, nil, true), 0, ErrCorrupt, "unknown codec 3"},
		{"too-large-default", rawHeader(Header{Kind: KindEager, Size: MaxPayload + 1, PayloadLen: MaxPayload + 1}, nil, true), 0, ErrTooLarge, "exceeds limit 1048576"},
		{"too-large-max", rawHeader(Header{Kind: KindEager, Size: 1<<32 - 1, PayloadLen: 1<<32 - 1}, nil, true), 0, ErrTooLarge, "exceeds limit"},
		{"too-large-caller", rawHeader(eager, nil, true), 9, ErrTooLarge, "payload of 10 bytes exceeds limit 9"},
		{"negative-src", rawHeader(Header{Kind: KindEager, Src: -1, Dst: 2}, nil, true), 0, ErrCorrupt, "negative src -1"},
		{"negative-dst", rawHeader(Header{Kind: KindRTS, Src: 1, Dst: -5}, nil, true), 0, ErrCorrupt, "negative dst -5"},
		{"negative-cts", rawHeader(Header{Kind: KindCTS, Src: -2}, nil, true), 0, ErrCorrupt, "negative src"},
		{"negative-credit", rawHeader(Header{Kind: KindCredit, Dst: -2}, nil, true), 0, ErrCorrupt, "negative dst"},
		{"negative-pack", rawHeader(Header{Kind: KindHello, Src: -1, PayloadLen: NonceLen}, nil, true), 0, ErrCorrupt, "negative src"},
		{"eager-size", rawHeader(Header{Kind: KindEager, Size: 11, PayloadLen: 10}, nil, true), 0, ErrCorrupt, "size 11 differs"},
		{"eager-msgid", rawHeader(Header{Kind: KindEager, MsgID: 1}, nil, true), 0, ErrCorrupt, "msg id must be zero"},
		{"data-past-end", rawHeader(Header{Kind: KindData, MsgID: 1, Offset: 90, Size: 100, PayloadLen: 11}, nil, true), 0, ErrCorrupt, "runs past"},
		{"data-overflow", rawHeader(Header{Kind: KindData, MsgID: 1, Offset: 1<<64 - 2, Size: 1<<64 - 1, PayloadLen: 5}, nil, true), 0, ErrCorrupt, "runs past"},
		{"data-offset", rawHeader(Header{Kind: KindData, Flags: 1, Offset: 100, Size: 100, PayloadLen: 5}, nil, true), 0, ErrCorrupt, "not inside"},
		{"data-empty", rawHeader(Header{Kind: KindData, Size: 100}, nil, true), 0, ErrCorrupt, "payload of 0 bytes, want 1.."},
		{"data-tag", rawHeader(Header{Kind: KindData, Tag: 1, Size: 100, PayloadLen: 1}, nil, true), 0, ErrCorrupt, "tag must be zero"},
		{"rts-payload", rawHeader(Header{Kind: KindRTS, PayloadLen: 1}, nil, true), 0, ErrCorrupt, "payload of 1 bytes, want 0"},
		{"rts-offset", rawHeader(Header{Kind: KindRTS, Offset: 1}, nil, true), 0, ErrCorrupt, "offset must be zero"},
		{"cts-flags", rawHeader(Header{Kind: KindCTS, Flags: 1}, nil, true), 0, ErrCorrupt, "flags must be zero"},
		{"cts-size", rawHeader(Header{Kind: KindCTS, Size: 1}, nil, true), 0, ErrCorrupt, "size must be zero"},
		{"credit-payload", rawHeader(Header{Kind: KindCredit, PayloadLen: 4}, nil, true), 0, ErrCorrupt, "want 0"},
		{"done-dst", rawHeader(Header{Kind: KindDone, Dst: 1}, nil, true), 0, ErrCorrupt, "dst must be zero"},
		{"abort-size", rawHeader(Header{Kind: KindAbort, MsgID: 1, Size: 1}, nil, true), 0, ErrCorrupt, "size must be zero"},
		{"abort-payload", rawHeader(Header{Kind: KindAbort, MsgID: 1, PayloadLen: 1}, nil, true), 0, ErrCorrupt, "want 0"},
		{"hello-short", rawHeader(Header{Kind: KindHello, PayloadLen: NonceLen - 1}, nil, true), 0, ErrCorrupt, "want 32..288"},
		{"hello-long", rawHeader(Header{Kind: KindHello, PayloadLen: NonceLen + MaxGroupLen + 1}, nil, true), 0, ErrCorrupt, "want 32..288"},
		{"response-len", rawHeader(Header{Kind: KindResponse, PayloadLen: MACLen + 1}, nil, true), 0, ErrCorrupt, "want 32"},
		{"response-src", rawHeader(Header{Kind: KindResponse, Src: 3, PayloadLen: MACLen}, nil, true), 0, ErrCorrupt, "src 3 must be 0"},
		{"refuse-long", rawHeader(Header{Kind: KindRefuse, PayloadLen: MaxReasonLen + 1}, nil, true), 0, ErrCorrupt, "want 0..256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := DecodeHeader(tc.b, tc.maxPayload)
			if !errors.Is(err, tc.want) {
				t.Fatalf("DecodeHeader = %v, %v; want error %v", h, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("error %q does not mention %q", err, tc.detail)
			}
			if h != (Header{}) {
				t.Fatalf("header %v returned with error", h)
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	h, err := Prepare(Header{Kind: KindEager, Src: 1, Dst: 2, Size: 3}, []byte("abc"), 0)
	if err != nil || h.PayloadLen != 3 {
		t.Fatalf("Prepare = %v, %v", h, err)
	}
	if _, err := Prepare(Header{Kind: KindEager, Size: 3, PayloadLen: 4}, []byte("abc"), 0); err == nil || !strings.Contains(err.Error(), "header says 4") {
		t.Fatalf("PayloadLen mismatch: %v", err)
	}
	if _, err := Prepare(Header{Kind: KindEager, Size: 3}, []byte("abc"), 2); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over caller limit: %v", err)
	}
	if _, err := Prepare(Header{Kind: KindEager, Size: MaxPayload + 1}, make([]byte, MaxPayload+1), 0); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over MaxPayload: %v", err)
	}
	if _, err := Prepare(Header{Kind: KindCTS, Tag: 1}, nil, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad header: %v", err)
	}
}

func TestReadWriteFrame(t *testing.T) {
	var buf bytes.Buffer
	frames := []struct {
		h Header
		p []byte
	}{
		{Header{Kind: KindEager, Src: 1, Dst: 2, Tag: 3, Size: 5}, []byte("hello")},
		{Header{Kind: KindCTS, Src: 2, Dst: 1, MsgID: 9}, nil},
		{Header{Kind: KindData, Src: 1, Dst: 2, MsgID: 9, Offset: 4, Size: 10}, []byte("012345")},
		{Header{Kind: KindDone, Src: 0}, nil},
	}
	for _, f := range frames {
		if err := WriteFrame(&buf, f.h, f.p); err != nil {
			t.Fatal(err)
		}
	}
	dst := make([]byte, 10)
	for i, f := range frames {
		var into func(Header) []byte
		if f.h.Kind == KindData {
			into = func(h Header) []byte { return dst[h.Offset:] }
		}
		h, p, err := ReadFrame(&buf, 0, into)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		want := f.h
		want.PayloadLen = uint32(len(f.p))
		if h != want || !bytes.Equal(p, f.p) {
			t.Fatalf("frame %d: got %v %q, want %v %q", i, h, p, want, f.p)
		}
		if into != nil && string(dst[4:]) != "012345" {
			t.Fatalf("payload not read into the given buffer: %q", dst)
		}
	}
	if _, _, err := ReadFrame(&buf, 0, nil); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}

	// Truncated inside the header and inside the payload.
	var one bytes.Buffer
	_ = WriteFrame(&one, frames[0].h, frames[0].p)
	b := one.Bytes()
	for _, n := range []int{1, HeaderLen - 1, HeaderLen, HeaderLen + 4} {
		if _, _, err := ReadFrame(bytes.NewReader(b[:n]), 0, nil); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("truncated at %d: %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
	// A buffer that is too short.
	short := func(Header) []byte { return make([]byte, 2) }
	if _, _, err := ReadFrame(bytes.NewReader(b), 0, short); !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("short buffer: %v", err)
	}
	// Over the caller's limit.
	if _, _, err := ReadFrame(bytes.NewReader(b), 4, nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("limit: %v", err)
	}
}

func TestKindString(t *testing.T) {
	if KindData.String() != "Data" || Kind(0).String() != "Kind(0)" || Kind(200).String() != "Kind(200)" {
		t.Fatal("Kind.String")
	}
	if CodecZstd.String() != "zstd" || Codec(9).String() != "Codec(9)" {
		t.Fatal("Codec.String")
	}
	for _, name := range []string{"", "none", "zstd", "s2"} {
		if _, err := ParseCodec(name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ParseCodec("gzip"); err == nil {
		t.Fatal("ParseCodec(gzip) succeeded")
	}
}
