package records

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// entry is what the radix sort moves: the key in two words, with the
// record's index in the low 32 bits of lo, so sorting entries by (hi, lo)
// sorts by key and keeps equal keys in input order (a stable sort).
type entry struct {
	hi uint64 // key bytes 0-7, big-endian
	lo uint64 // key bytes 8-9 in bits 32-47, record index in bits 0-31
}

// SortIndex returns the order of the records of b (len(b) a multiple of
// Size) sorted by key: order[i] is the index of the i-th smallest record.
// The sort is stable. It is an LSD radix sort on the key, one byte per
// pass, over 16-byte (key, index) entries, so records themselves are never
// moved; passes whose byte is the same in every record are skipped (one
// counting pass makes all ten histograms). It panics when b holds 2^32
// records or more.
func SortIndex(b []byte) []uint32 {
	n := len(b) / Size
	if uint64(n) > math.MaxUint32 {
		panic(fmt.Sprintf("records.SortIndex: %d records, at most %d", n, uint64(math.MaxUint32)))
	}
	a := make([]entry, n)
	var counts [KeySize][256]int
	for i := range a {
		r := b[i*Size : i*Size+KeySize]
		hi := binary.BigEndian.Uint64(r[0:8])
		lo := uint64(binary.BigEndian.Uint16(r[8:10]))
		a[i] = entry{hi: hi, lo: lo<<32 | uint64(i)}
		for k := range 8 {
			counts[k][byte(hi>>(56-8*k))]++
		}
		counts[8][byte(lo>>8)]++
		counts[9][byte(lo)]++
	}
	tmp := make([]entry, n)
	for k := KeySize - 1; k >= 0; k-- {
		if trivial(&counts[k], n) {
			continue
		}
		var next [256]int
		sum := 0
		for d, c := range counts[k] {
			next[d] = sum
			sum += c
		}
		if k < 8 {
			shift := uint(56 - 8*k)
			for _, e := range a {
				d := byte(e.hi >> shift)
				tmp[next[d]] = e
				next[d]++
			}
		} else {
			shift := uint(40 - 8*(k-8))
			for _, e := range a {
				d := byte(e.lo >> shift)
				tmp[next[d]] = e
				next[d]++
			}
		}
		a, tmp = tmp, a
	}
	order := make([]uint32, n)
	for i, e := range a {
		order[i] = uint32(e.lo)
	}
	return order
}

// trivial reports whether one digit value holds all n records, so a pass on
// that digit would not move anything.
func trivial(c *[256]int, n int) bool {
	for _, v := range c {
		if v == n {
			return true
		}
		if v != 0 {
			return false
		}
	}
	return n == 0
}

// Sort sorts the records of b by key, in place and stably (SortIndex, then
// one permutation through a buffer of len(b) bytes).
func Sort(b []byte) {
	order := SortIndex(b)
	out := make([]byte, len(b))
	Permute(out, b, order)
	copy(b, out)
}

// Permute writes the records of src in the given order to dst, which must
// have room for len(order) records.
func Permute(dst, src []byte, order []uint32) {
	for i, j := range order {
		copy(dst[i*Size:(i+1)*Size], src[int(j)*Size:int(j)*Size+Size])
	}
}

// writeChunk is how many records WriteOrdered gathers per write.
const writeChunk = 10486 // ~1 MiB

// WriteOrdered writes the records of b to w in the given order, gathering
// them into 1 MiB chunks, so a sorted copy of b is never held in memory.
func WriteOrdered(w io.Writer, b []byte, order []uint32) error {
	buf := make([]byte, 0, writeChunk*Size)
	for len(order) > 0 {
		k := min(writeChunk, len(order))
		buf = buf[:k*Size]
		Permute(buf, b, order[:k])
		if _, err := w.Write(buf); err != nil {
			return err
		}
		order = order[k:]
	}
	return nil
}
