package records

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unsafe"
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
// The sort is stable. It is an MSD radix sort on the key, one byte per
// level, over 16-byte (key, index) entries, so records themselves are never
// moved: each level scatters a bucket by one key byte (skipped when every
// entry has the same byte there) and recurses into the sub-buckets; buckets
// of fewer than smallBucket entries are finished by a comparison sort of
// the entries. It panics when b holds 2^32 records or more.
func SortIndex(b []byte) []uint32 { return SortIndexWith(b, nil) }

// ScratchBytes is the working memory SortIndexWith needs to sort n
// records without allocating.
func ScratchBytes(n int) int { return 2 * n * entryBytes }

// entryBytes is the size of an entry.
const entryBytes = int(unsafe.Sizeof(entry{}))

// SortIndexWith is SortIndex working in scratch when it holds at least
// ScratchBytes(len(b)/Size) bytes (else it allocates, as SortIndex does):
// a caller with a large buffer it no longer needs spares itself that much
// fresh memory, which in a VM can cost more than the sort. The returned
// order then lives in scratch, which the caller must leave alone while it
// uses the order.
func SortIndexWith(b, scratch []byte) []uint32 {
	n := len(b) / Size
	if uint64(n) > math.MaxUint32 {
		panic(fmt.Sprintf("records.SortIndex: %d records, at most %d", n, uint64(math.MaxUint32)))
	}
	if n == 0 {
		return []uint32{}
	}
	var a, tmp []entry
	var order []uint32
	if len(scratch) >= ScratchBytes(n) && uintptr(unsafe.Pointer(unsafe.SliceData(scratch)))%unsafe.Alignof(entry{}) == 0 {
		// entry holds no pointers, so the bytes can be viewed as
		// entries; the order goes where tmp was, once it is dead.
		all := unsafe.Slice((*entry)(unsafe.Pointer(unsafe.SliceData(scratch))), 2*n)
		a, tmp = all[:n:n], all[n:]
		order = unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(tmp))), n)
	} else {
		a, tmp, order = make([]entry, n), make([]entry, n), make([]uint32, n)
	}
	for i := range a {
		r := b[i*Size : i*Size+KeySize]
		lo := uint64(binary.BigEndian.Uint16(r[8:10]))
		a[i] = entry{hi: binary.BigEndian.Uint64(r[0:8]), lo: lo<<32 | uint64(i)}
	}
	msd(a, tmp, 0)
	for i, e := range a {
		order[i] = uint32(e.lo)
	}
	return order
}

// smallBucket is the bucket size below which msd stops scattering and
// sorts the entries by insertion: after two scatters of random keys most
// buckets hold about ten entries, where an inlined insertion sort is
// several times faster than a generic comparison sort.
const smallBucket = 64

// digit is key byte k of e.
func digit(e entry, k int) byte {
	if k < 8 {
		return byte(e.hi >> (56 - 8*uint(k)))
	}
	return byte(e.lo >> (40 - 8*uint(k-8)))
}

// less orders entries by key; the index in lo makes every entry
// distinct and orders equal keys by input position, so sorts by less are
// stable.
func less(x, y entry) bool { return x.hi < y.hi || x.hi == y.hi && x.lo < y.lo }

// insertionSort sorts a small bucket by less.
func insertionSort(a []entry) {
	for i := 1; i < len(a); i++ {
		e := a[i]
		j := i
		for ; j > 0 && less(e, a[j-1]); j-- {
			a[j] = a[j-1]
		}
		a[j] = e
	}
}

// msd sorts a, whose entries share key bytes 0..k-1 and are in input
// order among equal keys, by key bytes k..KeySize-1, using tmp (as long as
// a) as scratch.
func msd(a, tmp []entry, k int) {
	for {
		if len(a) < smallBucket {
			insertionSort(a)
			return
		}
		if k == KeySize {
			return // equal keys, still in input order
		}
		var counts [256]int
		for _, e := range a {
			counts[digit(e, k)]++
		}
		if counts[digit(a[0], k)] == len(a) {
			k++ // the same byte everywhere: nothing to scatter
			continue
		}
		var next [256]int
		sum := 0
		for d, c := range counts {
			next[d] = sum
			sum += c
		}
		for _, e := range a {
			d := digit(e, k)
			tmp[next[d]] = e
			next[d]++
		}
		copy(a, tmp[:len(a)])
		lo := 0
		for _, c := range counts {
			if c > 1 {
				msd(a[lo:lo+c], tmp[lo:lo+c], k+1)
			}
			lo += c
		}
		return
	}
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
//
// The reads are random, so each record costs cache (and TLB) misses. It
// goes in batches of permuteBatch records: first one byte of each end of
// every record of the batch is loaded, independent loads that the CPU
// issues together, then the records are copied from the lines now on
// their way into the cache (BenchmarkPermute, runs alternating with the
// record-by-record copy on the 2-core VM: 4 of 5 faster, by about 10%).
func Permute(dst, src []byte, order []uint32) {
	var touched byte
	for lo := 0; lo < len(order); lo += permuteBatch {
		batch := order[lo:min(lo+permuteBatch, len(order))]
		for _, j := range batch {
			r := int(j) * Size
			touched += src[r] ^ src[r+Size-1]
		}
		out := dst[lo*Size:]
		for i, j := range batch {
			copy(out[i*Size:(i+1)*Size], src[int(j)*Size:int(j)*Size+Size])
		}
	}
	permuteSink = touched
}

// permuteBatch is how many records Permute touches before copying them.
const permuteBatch = 16

// permuteSink keeps the compiler from dropping Permute's touching loads.
var permuteSink byte

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
