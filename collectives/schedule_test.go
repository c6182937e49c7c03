package collectives

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// foldTree reduces "labels" up a binomial tree the way reduceLocal does and
// returns the root's result: children in the order binomialChildren gives.
func foldTree(v, n int) string {
	acc := fmt.Sprint(v)
	for _, c := range binomialChildren(v, n) {
		acc += "," + foldTree(c, n)
	}
	return acc
}

func TestBinomialTree(t *testing.T) {
	for n := 1; n <= 70; n++ {
		// Every node but the root has exactly one parent, lower than itself,
		// which lists it as a child.
		seen := make([]int, n)
		for v := 0; v < n; v++ {
			for _, c := range binomialChildren(v, n) {
				seen[c]++
				if binomialParent(c) != v || c <= v {
					t.Fatalf("n=%d: child %d of %d has parent %d", n, c, v, binomialParent(c))
				}
			}
		}
		for v := 1; v < n; v++ {
			if seen[v] != 1 {
				t.Fatalf("n=%d: node %d has %d parents", n, v, seen[v])
			}
		}
		// Folding children in order gives rank order: 0,1,...,n-1.
		want := make([]string, n)
		for i := range want {
			want[i] = fmt.Sprint(i)
		}
		if got := foldTree(0, n); got != strings.Join(want, ",") {
			t.Fatalf("n=%d: tree fold %s", n, got)
		}
		// Depth is at most ceil(log2 n), the number of rounds.
		depth := 0
		for v := 1; v < n; v++ {
			d := 0
			for u := v; u != 0; u = binomialParent(u) {
				d++
			}
			depth = max(depth, d)
		}
		if want := ceilLog2(n); depth > want {
			t.Fatalf("n=%d: depth %d, want at most %d", n, depth, want)
		}
	}
}

func ceilLog2(n int) int {
	d := 0
	for 1<<d < n {
		d++
	}
	return d
}

func TestChunk(t *testing.T) {
	for parts := 1; parts <= 9; parts++ {
		for n := 0; n <= 40; n++ {
			end := 0
			for i := 0; i < parts; i++ {
				lo, hi := chunk(i, parts, n)
				if lo != end || hi < lo || hi-lo > n/parts+1 || hi-lo < n/parts {
					t.Fatalf("chunk(%d, %d, %d) = [%d,%d)", i, parts, n, lo, hi)
				}
				end = hi
			}
			if end != n {
				t.Fatalf("parts=%d n=%d: chunks end at %d", parts, n, end)
			}
		}
	}
}

func TestRing(t *testing.T) {
	for n := 1; n < 10; n++ {
		for i := 0; i < n; i++ {
			l, r := ringNeighbours(i, n)
			if l2, _ := ringNeighbours(r, n); l2 != i {
				t.Fatalf("n=%d: right of %d is %d whose left is %d", n, i, r, l2)
			}
			if _, r2 := ringNeighbours(l, n); r2 != i {
				t.Fatalf("n=%d: left of %d is %d whose right is %d", n, i, l, r2)
			}
		}
	}
}

func TestFold(t *testing.T) {
	for n := 1; n <= 40; n++ {
		f := newFold(n)
		if f.pow&(f.pow-1) != 0 || f.pow > n || 2*f.pow <= n || f.pow+f.rem != n {
			t.Fatalf("n=%d: fold %+v", n, f)
		}
		prevEnd := -1
		for nr := 0; nr < f.pow; nr++ {
			old := f.oldRank(nr)
			if f.newRank(old) != nr {
				t.Fatalf("n=%d: newRank(oldRank(%d)) = %d", n, nr, f.newRank(old))
			}
			// New rank nr covers old ranks (prevEnd, old]: contiguous and increasing.
			first := old
			if old < 2*f.rem {
				first = old - 1
				if f.newRank(first) != -1 {
					t.Fatalf("n=%d: %d should fold into %d", n, first, old)
				}
			}
			if first != prevEnd+1 {
				t.Fatalf("n=%d: new rank %d starts at old %d, want %d", n, nr, first, prevEnd+1)
			}
			prevEnd = old
		}
		if prevEnd != n-1 {
			t.Fatalf("n=%d: new ranks end at %d", n, prevEnd)
		}
	}
}

// TestHalvingSchedule simulates recursive halving with lists of
// contributing ranks as the data: each element must end as the fold of
// all ranks in order, each rank owns a disjoint part, and the allgather
// that retraces the steps completes everyone.
func TestHalvingSchedule(t *testing.T) {
	for pow := 1; pow <= 32; pow *= 2 {
		for _, n := range []int{0, 1, 3, 5, 17, 100} {
			scheds := make([][]halvingStep, pow)
			data := make([][]string, pow) // element -> labels folded so far
			for j := range data {
				scheds[j] = halvingSchedule(j, pow, n)
				data[j] = make([]string, n)
				for i := range data[j] {
					data[j][i] = fmt.Sprint(j)
				}
			}
			for k := range scheds[0] {
				next := make([][]string, pow)
				for j := range data {
					next[j] = slices.Clone(data[j])
				}
				for j := 0; j < pow; j++ {
					s := scheds[j][k]
					ps := scheds[s.partner][k]
					if ps.partner != j || ps.sendLo != s.keepLo || ps.sendHi != s.keepHi {
						t.Fatalf("pow=%d n=%d step %d: %d and %d disagree: %+v %+v", pow, n, k, j, s.partner, s, ps)
					}
					for i := s.keepLo; i < s.keepHi; i++ {
						if j < s.partner {
							next[j][i] = data[j][i] + "," + data[s.partner][i]
						} else {
							next[j][i] = data[s.partner][i] + "," + data[j][i]
						}
					}
				}
				data = next
			}
			want := make([]string, pow)
			for i := range want {
				want[i] = fmt.Sprint(i)
			}
			all := strings.Join(want, ",")
			owner := make([]int, n)
			for i := range owner {
				owner[i] = -1
			}
			for j := 0; j < pow; j++ {
				lo, hi := 0, n
				if len(scheds[j]) > 0 {
					last := scheds[j][len(scheds[j])-1]
					lo, hi = last.keepLo, last.keepHi
				}
				for i := lo; i < hi; i++ {
					if owner[i] != -1 {
						t.Fatalf("pow=%d n=%d: element %d owned by %d and %d", pow, n, i, owner[i], j)
					}
					owner[i] = j
					if data[j][i] != all {
						t.Fatalf("pow=%d n=%d: element %d at %d is %s", pow, n, i, j, data[j][i])
					}
				}
			}
			if slices.Contains(owner, -1) {
				t.Fatalf("pow=%d n=%d: some element has no owner: %v", pow, n, owner)
			}
		}
	}
}

func TestPairwiseAndDissemination(t *testing.T) {
	for n := 1; n <= 20; n++ {
		met := map[[2]int]int{}
		for k := 1; k < n; k++ {
			for i := 0; i < n; i++ {
				to, from := pairwisePeers(i, n, k)
				if back, _ := pairwisePeers(from, n, k); back != i {
					t.Fatalf("n=%d k=%d: %d receives from %d which sends to %d", n, k, i, from, back)
				}
				met[[2]int{i, to}]++
			}
		}
		if len(met) != n*(n-1) {
			t.Fatalf("n=%d: %d ordered pairs met, want %d", n, len(met), n*(n-1))
		}
		for p, c := range met {
			if c != 1 || p[0] == p[1] {
				t.Fatalf("n=%d: pair %v met %d times", n, p, c)
			}
		}
		// Dissemination: after the rounds, everyone has heard (transitively)
		// from everyone.
		heard := make([]map[int]bool, n)
		for i := range heard {
			heard[i] = map[int]bool{i: true}
		}
		for d := 1; d < n; d *= 2 {
			next := make([]map[int]bool, n)
			for i := range next {
				next[i] = map[int]bool{}
				for k := range heard[i] {
					next[i][k] = true
				}
			}
			for i := 0; i < n; i++ {
				to, _ := disseminationPeers(i, n, d)
				for k := range heard[i] {
					next[to][k] = true
				}
			}
			heard = next
		}
		for i := range heard {
			if len(heard[i]) != n {
				t.Fatalf("n=%d: rank %d heard from %d ranks", n, i, len(heard[i]))
			}
		}
	}
}

func TestThresholdChoices(t *testing.T) {
	th := DefaultThresholds()
	for _, tc := range []struct {
		got, want Algorithm
	}{
		{th.Bcast(1, 1<<30), AlgNone},
		{th.Bcast(8, BcastLargeBytes-1), AlgBinomialTree},
		{th.Bcast(8, BcastLargeBytes), AlgScatterAllgather},
		{th.Bcast(BcastLargeMinPacks-1, 1<<30), AlgBinomialTree},
		{th.AllReduce(1, 1<<30, true), AlgNone},
		{th.AllReduce(8, AllReduceLargeBytes-1, true), AlgRecursiveDoubling},
		{th.AllReduce(8, AllReduceLargeBytes, true), AlgRabenseifner},
		{th.AllReduce(8, 1<<30, false), AlgRecursiveDoubling},
		{th.AllReduce(AllReduceLargeMinPacks-1, 1<<30, true), AlgRecursiveDoubling},
		{th.AllGather(8, AllGatherRingBytes-1), AlgDirect},
		{th.AllGather(8, AllGatherRingBytes), AlgRing},
		{th.AllGather(2, 1<<30), AlgDirect},
		{th.AllToAll(8, AllToAllPairwiseBytes-1), AlgDirect},
		{th.AllToAll(8, AllToAllPairwiseBytes), AlgPairwise},
		{th.AllToAll(1, 0), AlgNone},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}

func TestTopology(t *testing.T) {
	topo, err := NewTopology(11, 4)
	if err != nil {
		t.Fatal(err)
	}
	if topo.Size() != 11 || topo.Packs() != 3 || topo.PackSize(2) != 3 || topo.Leader(2) != 8 || !topo.IsLeader(4) || topo.IsLeader(5) {
		t.Fatalf("topology %+v", topo)
	}
	if lo, hi := topo.PackRange(1); lo != 4 || hi != 8 {
		t.Fatalf("pack 1 = [%d,%d)", lo, hi)
	}
	if !topo.SamePack(8, 10) || topo.SamePack(3, 4) {
		t.Fatal("SamePack")
	}
	if (Topology{}).Packs() != 0 {
		t.Fatal("zero topology has packs")
	}
}

func TestBundle(t *testing.T) {
	pieces := [][]byte{{}, []byte("abc"), nil, []byte("de")}
	b := encodeBundle(pieces)
	got, err := decodeBundle(b, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pieces {
		if string(got[i]) != string(pieces[i]) {
			t.Fatalf("piece %d: %q", i, got[i])
		}
	}
	for _, bad := range [][]byte{b[:5], b[:len(b)-1], append(slices.Clone(b), 0)} {
		if _, err := decodeBundle(bad, 4); err == nil {
			t.Errorf("decoded a bad bundle of %d bytes", len(bad))
		}
	}
	if _, err := decodeBundle(b, 5); err == nil {
		t.Error("decoded with the wrong count")
	}
}

// TestBundlePieces takes a range of a bundle's pieces, and still refuses
// a bundle that is bad outside that range.
func TestBundlePieces(t *testing.T) {
	pieces := [][]byte{[]byte("a"), []byte("bcd"), nil, []byte("ef"), []byte("g")}
	b := encodeBundle(pieces)
	for from := 0; from <= len(pieces); from++ {
		for to := from; to <= len(pieces); to++ {
			got, err := bundlePieces(b, len(pieces), from, to)
			if err != nil {
				t.Fatalf("[%d, %d): %v", from, to, err)
			}
			if len(got) != to-from {
				t.Fatalf("[%d, %d): %d pieces", from, to, len(got))
			}
			for i, p := range got {
				if string(p) != string(pieces[from+i]) {
					t.Fatalf("[%d, %d): piece %d is %q, want %q", from, to, from+i, p, pieces[from+i])
				}
			}
		}
	}
	// The last piece's end offset claims one byte more than there is.
	bad := slices.Clone(b)
	bad[4*lenSize]++
	if _, err := bundlePieces(bad, len(pieces), 0, 1); !errors.Is(err, ErrMismatch) {
		t.Errorf("first piece of a bundle whose last piece overruns: %v, want ErrMismatch", err)
	}
	if _, err := bundlePieces(append(slices.Clone(b), 0), len(pieces), 1, 2); !errors.Is(err, ErrMismatch) {
		t.Errorf("a piece of a bundle with a byte left over: %v, want ErrMismatch", err)
	}
	// Piece 2 would end before it starts.
	bad = slices.Clone(b)
	bad[2*lenSize] = 0
	if _, err := bundlePieces(bad, len(pieces), 2, 3); !errors.Is(err, ErrMismatch) {
		t.Errorf("a piece ending before its start: %v, want ErrMismatch", err)
	}
	if _, err := decodeBundle([]byte{1}, 0); !errors.Is(err, ErrMismatch) {
		t.Errorf("an empty bundle with a byte: %v, want ErrMismatch", err)
	}
}
