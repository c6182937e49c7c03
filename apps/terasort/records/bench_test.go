package records

import (
	"bytes"
	"fmt"
	"sort"
	"testing"
)

// BenchmarkSort compares the radix sort with sort.Slice on the same
// records, both producing the sorted records (sort.Slice sorts an index by
// key, then the records are permuted, as Sort does). Run with
//
//	go test -bench Sort -run XXX ./apps/terasort/records
//
// and compare ns/op of the two sub-benchmarks at each size.
func BenchmarkSort(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		src := make([]byte, n*Size)
		Generate(src, 0, 1, Binary)
		buf := make([]byte, len(src))
		b.Run(fmt.Sprintf("radix/n=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				copy(buf, src)
				Sort(buf)
			}
		})
		b.Run(fmt.Sprintf("sort.Slice/n=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				copy(buf, src)
				sliceSort(buf)
			}
		})
	}
}

// sliceSort is the baseline: sort.Slice on an index by bytes.Compare of
// the keys, then the same permutation Sort does.
func sliceSort(b []byte) {
	n := len(b) / Size
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	sort.Slice(order, func(i, j int) bool {
		x, y := int(order[i])*Size, int(order[j])*Size
		return bytes.Compare(b[x:x+KeySize], b[y:y+KeySize]) < 0
	})
	out := make([]byte, len(b))
	Permute(out, b, order)
	copy(b, out)
}

func BenchmarkSum(b *testing.B) {
	src := make([]byte, 100_000*Size)
	Generate(src, 0, 1, Binary)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		Sum(src)
	}
}

func BenchmarkGenerate(b *testing.B) {
	buf := make([]byte, 100_000*Size)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		Generate(buf, 0, 1, Binary)
	}
}

// BenchmarkSortIndex times SortIndex alone on one rank's share of a 10M
// record TeraSort over 16 ranks.
func BenchmarkSortIndex(b *testing.B) {
	src := make([]byte, 625_000*Size)
	Generate(src, 0, 1, Binary)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		SortIndex(src)
	}
}

// BenchmarkPermute times Permute gathering one rank's share of a 10M
// record TeraSort (625K records, 62.5 MB) in random order into 1 MiB
// chunks, as WriteOrdered does, against the plain record-by-record copy
// as the baseline in the same run.
func BenchmarkPermute(b *testing.B) {
	const n = 625_000
	src := make([]byte, n*Size)
	Generate(src, 0, 1, Binary)
	order := SortIndex(src)
	buf := make([]byte, writeChunk*Size)
	for _, c := range []struct {
		name    string
		permute func(dst, src []byte, order []uint32)
	}{{"Permute", Permute}, {"plain", plainPermute}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				for o := order; len(o) > 0; o = o[min(writeChunk, len(o)):] {
					k := min(writeChunk, len(o))
					c.permute(buf[:k*Size], src, o[:k])
				}
			}
		})
	}
}

// plainPermute is Permute without the batched touching: the baseline.
func plainPermute(dst, src []byte, order []uint32) {
	for i, j := range order {
		copy(dst[i*Size:(i+1)*Size], src[int(j)*Size:int(j)*Size+Size])
	}
}
