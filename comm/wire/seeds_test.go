package wire

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the committed seed corpus under testdata/fuzz")

// TestWriteSeedCorpus regenerates testdata/fuzz/* when run with
// -write-seeds (go test -run TestWriteSeedCorpus -write-seeds). The files are
// in Go's corpus format and are what the fuzz targets replay in normal runs.
func TestWriteSeedCorpus(t *testing.T) {
	if !*writeSeeds {
		t.Skip("pass -write-seeds to regenerate the seed corpus")
	}
	write := func(target, name string, values ...any) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := "go test fuzz v1\n"
		for _, v := range values {
			switch v := v.(type) {
			case []byte:
				s += fmt.Sprintf("[]byte(%q)\n", v)
			case int:
				s += fmt.Sprintf("int(%d)\n", v)
			case uint8:
				s += fmt.Sprintf("byte(%q)\n", v)
			default:
				t.Fatalf("unsupported seed value %T", v)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// FuzzDecodeHeader: valid frames of several kinds, then invalid ones.
	hs := validHeaders()
	for _, name := range []string{"eager", "eager-zstd", "data", "data-last", "hello", "response", "cts", "credit", "done"} {
		write("FuzzDecodeHeader", "valid-"+name, hs[name].Append(nil), 0)
	}
	eager := Header{Kind: KindEager, Src: 1, Dst: 2, Size: 10, PayloadLen: 10}
	write("FuzzDecodeHeader", "invalid-empty", []byte{}, 0)
	write("FuzzDecodeHeader", "invalid-short", eager.Append(nil)[:20], 0)
	write("FuzzDecodeHeader", "invalid-magic", rawHeader(eager, func(b []byte) { b[1] = 0 }, true), 0)
	write("FuzzDecodeHeader", "invalid-checksum", rawHeader(eager, func(b []byte) { b[offSrc] = 9 }, false), 0)
	write("FuzzDecodeHeader", "invalid-kind", rawHeader(Header{Kind: 77}, nil, true), 0)
	write("FuzzDecodeHeader", "invalid-too-large", rawHeader(Header{Kind: KindEager, Size: 1 << 31, PayloadLen: 1 << 31}, nil, true), 0)
	write("FuzzDecodeHeader", "invalid-caller-limit", eager.Append(nil), 5)
	write("FuzzDecodeHeader", "invalid-negative-dst", rawHeader(Header{Kind: KindEager, Src: 1, Dst: -1}, nil, true), 0)
	write("FuzzDecodeHeader", "invalid-data-past-end", rawHeader(Header{Kind: KindData, Offset: 8, Size: 10, PayloadLen: 3}, nil, true), 0)

	// FuzzDecompress: valid payloads of each codec, a bomb, garbage.
	text := []byte("volley volley volley volley volley volley volley volley")
	for _, c := range []Codec{CodecNone, CodecZstd, CodecS2} {
		write("FuzzDecompress", "valid-"+c.String(), uint8(c), mustCompress(t, c, text), len(text))
		write("FuzzDecompress", "limit-"+c.String(), uint8(c), mustCompress(t, c, text), len(text)-1)
	}
	write("FuzzDecompress", "bomb-zstd", uint8(CodecZstd), zstdBomb(t, 16<<20, false), 1<<20)
	write("FuzzDecompress", "bomb-zstd-no-size", uint8(CodecZstd), zstdBomb(t, 16<<20, true), 1<<20)
	write("FuzzDecompress", "bomb-s2", uint8(CodecS2), mustCompress(t, CodecS2, make([]byte, 4<<20)), 1<<20)
	write("FuzzDecompress", "garbage-zstd", uint8(CodecZstd), []byte("\x28\xb5\x2f\xfd garbage"), 100)
	write("FuzzDecompress", "garbage-s2", uint8(CodecS2), []byte("\xff\xff\xff\xff\x0f garbage"), 100)
	write("FuzzDecompress", "unknown-codec", uint8(9), text, 100)
}
