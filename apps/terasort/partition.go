package terasort

import (
	"slices"

	"github.com/volley-run/volley/apps/terasort/records"
)

// samplePositions returns the positions of up to k of n records, evenly
// spaced (all of them when n <= k), in increasing order.
func samplePositions(n int64, k int) []int64 {
	k = int(min(int64(k), n))
	pos := make([]int64, k)
	for i := range pos {
		pos[i] = int64(i) * n / int64(k)
	}
	return pos
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

// Partitioner orders records by destination rank, one batch after
// another, reusing its working memory.
type Partitioner struct {
	find   func(records.Key) int
	ranks  int
	dest   []int32 // destination of each record of the current batch
	counts []int
}

// NewPartitioner returns a partitioner for the ranks the splitters
// define (len(splitters)+1), which will partition about total records in
// all (a hint: past 65536 it builds a table that places most keys
// without a search).
func NewPartitioner(splitters []records.Key, total int64) *Partitioner {
	p := &Partitioner{ranks: len(splitters) + 1, counts: make([]int, len(splitters)+1)}
	p.find = func(k records.Key) int { return Dest(splitters, k) }
	if len(splitters) < 1<<16-1 && total > 1<<16 {
		p.find = newDestTable(splitters).dest
	}
	return p
}

// Partition writes the records of b to dst (at least as long) ordered by
// destination rank, stable within a rank, and returns the byte range of
// each rank's records: rank j's are dst[bounds[j]:bounds[j+1]].
func (p *Partitioner) Partition(dst, b []byte) (bounds []int) {
	n := len(b) / records.Size
	if cap(p.dest) < n {
		p.dest = make([]int32, n)
	}
	dest := p.dest[:n]
	clear(p.counts)
	for i := range dest {
		d := p.find(records.KeyOf(b[i*records.Size:]))
		dest[i] = int32(d)
		p.counts[d]++
	}
	bounds = make([]int, p.ranks+1)
	for j, c := range p.counts {
		bounds[j+1] = bounds[j] + c*records.Size
	}
	next := slices.Clone(bounds[:p.ranks])
	for i, d := range dest {
		copy(dst[next[d]:next[d]+records.Size], b[i*records.Size:(i+1)*records.Size])
		next[d] += records.Size
	}
	return bounds
}
