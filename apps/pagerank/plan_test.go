package pagerank

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPlanDeliversEverySum runs the two-step exchange on plain slices:
// every edge's contribution must reach its target's owner exactly once,
// and each target must cross between packs once per pack that points to
// it.
func TestPlanDeliversEverySum(t *testing.T) {
	for _, c := range []struct{ n, g int }{{1, 1}, {5, 1}, {5, 2}, {6, 3}, {7, 7}, {8, 3}} {
		l := layout{ranks: c.n, granularity: c.g, vertices: 60}
		rng := rand.New(rand.NewPCG(uint64(c.n), uint64(c.g)))
		dsts := make([][]uint32, c.n) // rank r's edge targets
		vals := make([][]float64, c.n)
		want := make([]float64, l.vertices)
		cross := map[[2]int]bool{} // (pack, target) pairs with the target owned outside the pack
		for r := range c.n {
			for range 200 {
				tgt := uint32(rng.IntN(l.vertices))
				v := rng.Float64()
				dsts[r] = append(dsts[r], tgt)
				vals[r] = append(vals[r], v)
				want[tgt] += v
				if l.pack(l.owner(tgt)) != l.pack(r) {
					cross[[2]int{l.pack(r), int(tgt)}] = true
				}
			}
		}
		type sends struct {
			mateOff     []int
			mateTargets [][]uint32
			contrib     []float64
		}
		s := make([]sends, c.n)
		for r := range c.n {
			slot, off, mt := planSends(l, r, dsts[r])
			s[r] = sends{off, mt, make([]float64, off[len(off)-1])}
			for e, k := range slot {
				m := mateOfSlot(off, int(k))
				if m < 0 || mt[m][int(k)-off[m]] != dsts[r][e] {
					t.Fatalf("n%d g%d rank %d: edge %d has slot %d for another target", c.n, c.g, r, e, k)
				}
				s[r].contrib[k] += vals[r][e]
			}
		}
		got := make([]float64, l.vertices)
		crossed := 0
		type remote struct {
			targets []uint32
			values  []float64
		}
		var toOwners []remote
		for m := range c.n {
			lo, hi := l.packRange(l.pack(m))
			from := make([][]uint32, hi-lo)
			for j := lo; j < hi; j++ {
				from[j-lo] = s[j].mateTargets[m-lo]
			}
			route, combOff, ownerTargets := planProxy(l, m, from)
			comb := make([]float64, combOff[c.n])
			for j := lo; j < hi; j++ {
				seg := s[j].contrib[s[j].mateOff[m-lo]:s[j].mateOff[m-lo+1]]
				for k, v := range seg {
					if code := route[j-lo][k]; code >= 0 {
						got[l.global(m, int(code))] += v
					} else {
						comb[-code-1] += v
					}
				}
			}
			for o := range c.n {
				if len(ownerTargets[o]) > 0 && l.pack(o) == l.pack(m) {
					t.Fatalf("n%d g%d: proxy %d sends to pack mate %d", c.n, c.g, m, o)
				}
				crossed += len(ownerTargets[o])
				toOwners = append(toOwners, remote{ownerTargets[o], comb[combOff[o]:combOff[o+1]]})
			}
		}
		for _, r := range toOwners {
			for k, tgt := range r.targets {
				got[tgt] += r.values[k]
			}
		}
		for v := range want {
			if math.Abs(got[v]-want[v]) > 1e-12 {
				t.Fatalf("n%d g%d: vertex %d got %g, want %g", c.n, c.g, v, got[v], want[v])
			}
		}
		if crossed != len(cross) {
			t.Fatalf("n%d g%d: %d values cross packs, want one per (pack, remote target): %d", c.n, c.g, crossed, len(cross))
		}
	}
}

// mateOfSlot is the mate whose segment holds slot k, or -1.
func mateOfSlot(off []int, k int) int {
	for m := 0; m+1 < len(off); m++ {
		if off[m] <= k && k < off[m+1] {
			return m
		}
	}
	return -1
}
