package pagerank

import "slices"

// The exchange of one iteration runs in two steps, and plan holds the
// index arrays both need, built once from the rank's edges:
//
//  1. Every rank adds up its edges' contributions per target vertex and
//     hands each pack mate (zero-copy, inside the container) the sums for
//     the targets that mate is the proxy of: targets the mate owns, and
//     targets owned by remote ranks the mate collects for.
//  2. Every proxy adds up what its mates handed it per target, keeps the
//     sums for its own vertices, and sends each remote owner one vector
//     (AllToAllv): a target that several ranks of a pack point to crosses
//     the network once per pack, not once per rank.
type plan struct {
	// Step 1 (sender side): slot[e] is where edge e's contribution is
	// added; slots are grouped by pack mate, mate j's at
	// [mateOff[j], mateOff[j+1]), for the targets mateTargets[j].
	slot        []int32
	mateOff     []int
	mateTargets [][]uint32

	// Step 1 (proxy side): route[j][k] says where the k-th sum from mate
	// j goes: >= 0 is a local vertex; < 0 is combined slot -route-1.
	route [][]int32

	// Step 2: the combined slots for remote owner o are
	// [combOff[o], combOff[o+1]), for the targets ownerTargets[o];
	// fromRemote[o][k] is the local vertex the k-th value from remote
	// proxy o goes to (filled once the targets are exchanged).
	combOff      []int
	ownerTargets [][]uint32
	fromRemote   [][]int32
}

// planSends groups the targets of a rank's edges by the pack mate that is
// their proxy and gives every edge its slot; each mate's targets are in
// the order the edges first name them.
func planSends(l layout, me int, dsts []uint32) (slot []int32, mateOff []int, mateTargets [][]uint32) {
	p := l.pack(me)
	lo, hi := l.packRange(p)
	seen := make([]map[uint32]int32, hi-lo)
	for m := range seen {
		seen[m] = map[uint32]int32{}
	}
	mateTargets = make([][]uint32, hi-lo)
	mates := make([]int32, len(dsts))
	slot = make([]int32, len(dsts))
	for e, t := range dsts {
		m := l.proxy(p, l.owner(t)) - lo
		k, ok := seen[m][t]
		if !ok {
			k = int32(len(mateTargets[m]))
			seen[m][t] = k
			mateTargets[m] = append(mateTargets[m], t)
		}
		mates[e], slot[e] = int32(m), k
	}
	mateOff = make([]int, hi-lo+1)
	for m := range mateTargets {
		mateOff[m+1] = mateOff[m] + len(mateTargets[m])
	}
	for e, m := range mates {
		slot[e] += int32(mateOff[m])
	}
	return slot, mateOff, mateTargets
}

// planProxy builds the proxy side of step 1 from the target lists the
// pack mates sent (fromMates[j] from mate j) and the combined target list
// per remote owner.
func planProxy(l layout, me int, fromMates [][]uint32) (route [][]int32, combOff []int, ownerTargets [][]uint32) {
	ownerTargets = make([][]uint32, l.ranks)
	for _, ts := range fromMates {
		for _, t := range ts {
			if o := l.owner(t); o != me {
				ownerTargets[o] = append(ownerTargets[o], t)
			}
		}
	}
	combOff = make([]int, l.ranks+1)
	for o := range ownerTargets {
		slices.Sort(ownerTargets[o])
		ownerTargets[o] = slices.Clip(slices.Compact(ownerTargets[o]))
		combOff[o+1] = combOff[o] + len(ownerTargets[o])
	}
	route = make([][]int32, len(fromMates))
	for j, ts := range fromMates {
		route[j] = make([]int32, len(ts))
		for k, t := range ts {
			o := l.owner(t)
			if o == me {
				route[j][k] = int32(l.local(t))
				continue
			}
			i, _ := slices.BinarySearch(ownerTargets[o], t)
			route[j][k] = -int32(combOff[o]+i) - 1
		}
	}
	return route, combOff, ownerTargets
}

// localIndexes turns the targets a remote proxy will send values for into
// this rank's local vertex indexes.
func localIndexes(l layout, ts []uint32) []int32 {
	idx := make([]int32, len(ts))
	for k, t := range ts {
		idx[k] = int32(l.local(t))
	}
	return idx
}
