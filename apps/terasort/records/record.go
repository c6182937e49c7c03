package records

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Sizes of a record and of its parts.
const (
	// Size is the length of one record in bytes.
	Size = 100
	// KeySize is the length of the key that records are sorted by; it is
	// the record's first KeySize bytes.
	KeySize = 10
	// ValueSize is the length of the value that follows the key.
	ValueSize = Size - KeySize
)

// Form is how generated records are encoded.
type Form int

const (
	// Binary is gensort's default form: a key of 10 random bytes, then a
	// value holding the record number in hex and filler.
	Binary Form = iota
	// ASCII is gensort -a's form: a key of 10 printable characters (' '
	// to '~'), printable value, and "\r\n" at the end of every record, so
	// line tools such as sort(1) see one record per line.
	ASCII
)

// String names the form as the CLI spells it.
func (f Form) String() string {
	if f == ASCII {
		return "ascii"
	}
	return "binary"
}

// Key is a record's 10-byte key as two integers that compare as the bytes
// do: Hi holds bytes 0-7 and Lo bytes 8-9, big-endian.
type Key struct {
	Hi uint64
	Lo uint16
}

// KeyOf returns the key of the record that starts at rec[0].
func KeyOf(rec []byte) Key {
	return Key{Hi: binary.BigEndian.Uint64(rec[0:8]), Lo: binary.BigEndian.Uint16(rec[8:10])}
}

// Compare returns -1, 0 or +1 as k sorts before, with or after o.
func (k Key) Compare(o Key) int {
	return cmp.Or(cmp.Compare(k.Hi, o.Hi), cmp.Compare(k.Lo, o.Lo))
}

// Bytes returns the key's 10 bytes.
func (k Key) Bytes() []byte {
	b := make([]byte, KeySize)
	binary.BigEndian.PutUint64(b[0:8], k.Hi)
	binary.BigEndian.PutUint16(b[8:10], k.Lo)
	return b
}

// String shows the key in hex.
func (k Key) String() string { return fmt.Sprintf("%016x%04x", k.Hi, k.Lo) }

// Count returns the number of whole records in b, or an error when len(b)
// is not a multiple of Size.
func Count(b []byte) (int, error) {
	if len(b)%Size != 0 {
		return 0, fmt.Errorf("%d bytes is not a whole number of %d-byte records", len(b), Size)
	}
	return len(b) / Size, nil
}

// IsSorted reports whether the records of b are in key order (equal keys
// allowed), and if not the index of the first record whose key is smaller
// than its predecessor's.
func IsSorted(b []byte) (ok bool, first int) {
	n := len(b) / Size
	for i := 1; i < n; i++ {
		if bytes.Compare(b[i*Size:i*Size+KeySize], b[(i-1)*Size:(i-1)*Size+KeySize]) < 0 {
			return false, i
		}
	}
	return true, 0
}

const hexDigits = "0123456789ABCDEF"

// Generate fills dst, whose length must be a multiple of Size, with records
// first, first+1, ... of the data set given by seed, in form f. The same
// (seed, record number) always gives the same record, whichever call makes
// it.
//
// The layout is gensort's (version 1.5). Binary: key [0,10), bytes 0x00
// 0x11, the record number as 32 hex digits [12,44), bytes 0x88 0x99 0xAA
// 0xBB, 48 bytes of filler (12 hex digits, each repeated 4 times), bytes
// 0xCC 0xDD 0xEE 0xFF. ASCII: printable key [0,10), two spaces, the record
// number as 32 hex digits, two spaces, 52 bytes of filler (13 hex digits
// repeated 4 times), "\r\n". The random numbers come from a counter-based
// generator (a SplitMix64 mix of seed and record number), not from
// gensort's 128-bit LCG, so the keys differ from gensort's for a given
// starting record.
func Generate(dst []byte, first uint64, seed uint64, f Form) {
	if len(dst)%Size != 0 {
		panic(fmt.Sprintf("records.Generate: %d bytes is not a multiple of %d", len(dst), Size))
	}
	for i := 0; i*Size < len(dst); i++ {
		genRecord(dst[i*Size:(i+1)*Size], first+uint64(i), seed, f)
	}
}

// random returns the 128 random bits of record n of the data set seed.
func random(n, seed uint64) (hi, lo uint64) {
	hi = mix64(seed*0x9e3779b97f4a7c15 + n)
	lo = mix64(hi ^ 0xd1b54a32d192ed03 ^ seed)
	return hi, lo
}

// mix64 is SplitMix64's output function: a bijection with good avalanche.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func genRecord(rec []byte, n, seed uint64, f Form) {
	hi, lo := random(n, seed)
	fill, fillEnd := 48, 96 // binary filler: 12 digits
	if f == ASCII {
		// 8 key characters from hi (95^8 < 2^64), 2 from lo.
		t := hi
		for i := 0; i < 8; i++ {
			var r uint64
			t, r = bits.Div64(0, t, 95)
			rec[i] = byte(' ' + r)
		}
		rec[8] = byte(' ' + lo%95)
		rec[9] = byte(' ' + (lo/95)%95)
		rec[10], rec[11] = ' ', ' '
		putRecordNumber(rec[12:44], n)
		rec[44], rec[45] = ' ', ' '
		fill, fillEnd = 46, 98 // ascii filler: 13 digits
	} else {
		binary.BigEndian.PutUint64(rec[0:8], hi)
		binary.BigEndian.PutUint16(rec[8:10], uint16(lo>>48))
		rec[10], rec[11] = 0x00, 0x11
		putRecordNumber(rec[12:44], n)
		rec[44], rec[45], rec[46], rec[47] = 0x88, 0x99, 0xAA, 0xBB
	}
	// Filler: one hex digit per nibble of lo, each written 4 times.
	for i, p := 0, fill; p < fillEnd; i, p = i+1, p+4 {
		d := hexDigits[(lo>>(4*uint(i)))&0xf]
		rec[p], rec[p+1], rec[p+2], rec[p+3] = d, d, d, d
	}
	if f == ASCII {
		rec[98], rec[99] = '\r', '\n'
	} else {
		rec[96], rec[97], rec[98], rec[99] = 0xCC, 0xDD, 0xEE, 0xFF
	}
}

// putRecordNumber writes n as 32 hex digits (a 128-bit number, as gensort
// numbers its records).
func putRecordNumber(dst []byte, n uint64) {
	for i := 0; i < 16; i++ {
		dst[i] = '0'
	}
	for i := 31; i >= 16; i-- {
		dst[i] = hexDigits[n&0xf]
		n >>= 4
	}
}
