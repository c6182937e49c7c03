package terasort

import (
	"slices"

	"github.com/volley-run/volley/apps/terasort/records"
)

// Sample returns up to k keys of the records in b, evenly spaced (all of
// them when b holds k records or fewer).
func Sample(b []byte, k int) []records.Key {
	n := len(b) / records.Size
	k = min(k, n)
	keys := make([]records.Key, k)
	for i := range keys {
		j := int(int64(i) * int64(n) / int64(k))
		keys[i] = records.KeyOf(b[j*records.Size:])
	}
	return keys
}

// Splitters picks the n-1 keys that cut the sorted samples into n ranges of
// equal size: splitter i is the sample at position (i+1)*len/n. Every rank
// that passes the same samples gets the same splitters. With no samples
// (an empty data set) every splitter is the zero key.
func Splitters(samples []records.Key, n int) []records.Key {
	s := slices.Clone(samples)
	slices.SortFunc(s, records.Key.Compare)
	out := make([]records.Key, n-1)
	if len(s) == 0 {
		return out
	}
	for i := range out {
		out[i] = s[(i+1)*len(s)/n]
	}
	return out
}

// Dest is the rank that sorts key: the number of splitters <= key. Equal
// keys get the same rank, and rank r's keys are all <= rank r+1's, so
// the concatenation of the ranks' sorted outputs is sorted.
func Dest(splitters []records.Key, key records.Key) int {
	lo, hi := 0, len(splitters)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if splitters[mid].Compare(key) <= 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// destTable answers Dest from a key's first two bytes: for each 16-bit
// prefix, the ranks its keys can go to (Dest is monotone in the key, so
// they lie between the ranks of the prefix's smallest and largest keys).
// Most prefixes have one rank; a key whose prefix has several is placed
// by a binary search among those only.
type destTable struct {
	splitters []records.Key
	lo, hi    []uint16 // indexed by prefix
}

// newDestTable builds the table; it needs fewer than 65536 ranks.
func newDestTable(splitters []records.Key) *destTable {
	t := &destTable{splitters: splitters, lo: make([]uint16, 1<<16), hi: make([]uint16, 1<<16)}
	for p := range 1 << 16 {
		first := records.Key{Hi: uint64(p) << 48}
		last := records.Key{Hi: uint64(p)<<48 | (1<<48 - 1), Lo: 0xffff}
		t.lo[p], t.hi[p] = uint16(Dest(splitters, first)), uint16(Dest(splitters, last))
	}
	return t
}

// dest is Dest(t.splitters, key).
func (t *destTable) dest(key records.Key) int {
	p := key.Hi >> 48
	lo, hi := int(t.lo[p]), int(t.hi[p])
	if lo == hi {
		return lo
	}
	return lo + Dest(t.splitters[lo:hi], key)
}

// Partition orders the records of b by destination rank (stable within a
// rank) into one new buffer and returns it with the byte range of each
// rank's records: rank j's are out[bounds[j]:bounds[j+1]].
func Partition(b []byte, splitters []records.Key) (out []byte, bounds []int) {
	n := len(b) / records.Size
	dest := make([]int32, n)
	counts := make([]int, len(splitters)+1)
	find := func(k records.Key) int { return Dest(splitters, k) }
	if len(splitters) < 1<<16-1 && n > 1<<16 {
		find = newDestTable(splitters).dest
	}
	for i := range dest {
		d := find(records.KeyOf(b[i*records.Size:]))
		dest[i] = int32(d)
		counts[d]++
	}
	bounds = make([]int, len(counts)+1)
	for j, c := range counts {
		bounds[j+1] = bounds[j] + c*records.Size
	}
	next := slices.Clone(bounds[:len(counts)])
	out = make([]byte, len(b))
	for i, d := range dest {
		copy(out[next[d]:next[d]+records.Size], b[i*records.Size:(i+1)*records.Size])
		next[d] += records.Size
	}
	return out, bounds
}
