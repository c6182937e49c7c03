package wire_test

import (
	"bytes"
	"fmt"

	"github.com/volley-run/volley/comm/wire"
)

// A compressed eager message written to a stream and read back.
func Example() {
	msg := bytes.Repeat([]byte("volley "), 1000)
	payload, err := wire.Compress(wire.CodecS2, nil, msg)
	if err != nil {
		panic(err)
	}
	var stream bytes.Buffer
	h := wire.Header{Kind: wire.KindEager, Flags: uint8(wire.CodecS2), Src: 3, Dst: 9, Tag: 7, Size: uint64(len(msg))}
	if err := wire.WriteFrame(&stream, h, payload); err != nil {
		panic(err)
	}

	got, p, err := wire.ReadFrame(&stream, wire.MaxPayload, nil)
	if err != nil {
		panic(err)
	}
	out, err := wire.Decompress(got.Codec(), nil, p, int(got.Size))
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Kind, got.Src, got.Dst, got.Tag, got.Codec(), len(out), bytes.Equal(out, msg))
	// Output: Eager 3 9 7 s2 7000 true
}

// Garbage is reported, never a panic.
func ExampleDecodeHeader() {
	_, err := wire.DecodeHeader([]byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n.................."), 0)
	fmt.Println(err)
	// Output: wire: corrupt frame: bad magic 0x4745, want 0x564c
}
