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

// Partition orders the records of b by destination rank (stable within a
// rank) into one new buffer and returns it with the byte range of each
// rank's records: rank j's are out[bounds[j]:bounds[j+1]].
func Partition(b []byte, splitters []records.Key) (out []byte, bounds []int) {
	n := len(b) / records.Size
	dest := make([]int32, n)
	counts := make([]int, len(splitters)+1)
	for i := range dest {
		d := Dest(splitters, records.KeyOf(b[i*records.Size:]))
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
