package collectives

// The schedule of every algorithm is a set of plain functions of (rank,
// size, round): who talks to whom and which part of the data moves. They do
// no I/O, so their tests need no communicator.

// binomialParent is the parent of v > 0 in a binomial tree rooted at 0:
// v with its lowest set bit cleared.
func binomialParent(v int) int { return v & (v - 1) }

// binomialChildren lists the children of v in a binomial tree of n nodes
// rooted at 0, in increasing order: v+1, v+2, v+4, ... below v's lowest set
// bit (every power of two for the root). Child v+m roots the subtree
// [v+m, min(v+2m, n)), so the subtrees are contiguous and increasing: a
// node that folds its children in this order combines operands in rank
// order.
func binomialChildren(v, n int) []int {
	var out []int
	for m := 1; v+m < n; m <<= 1 {
		if v&m != 0 {
			break
		}
		out = append(out, v+m)
	}
	return out
}

// ringNeighbours are the ranks before and after i on a ring of n.
func ringNeighbours(i, n int) (left, right int) {
	return (i - 1 + n) % n, (i + 1) % n
}

// chunk is the range [lo, hi) of part i when n items are cut into parts
// parts: the first n%parts parts have one item more, so sizes differ by at
// most one.
func chunk(i, parts, n int) (lo, hi int) {
	q, r := n/parts, n%parts
	lo = i*q + min(i, r)
	hi = lo + q
	if i < r {
		hi++
	}
	return lo, hi
}

// fold describes how recursive doubling and halving handle a group of n
// that is not a power of two. pow is the largest power of two <= n and
// rem = n - pow. Ranks i < 2*rem pair up (even i with i+1): the even one
// hands its data to the odd one and waits for the result; the odd one takes
// part as new rank i/2. Ranks i >= 2*rem take part as new rank i-rem. The
// new ranks cover contiguous, increasing ranges of old ranks, so combining
// by new rank keeps rank order.
type fold struct {
	pow, rem int
}

func newFold(n int) fold {
	pow := 1
	for pow*2 <= n {
		pow *= 2
	}
	return fold{pow: pow, rem: n - pow}
}

// newRank is the rank of old rank i among the pow participants, or -1 when
// i folds into its neighbour i+1.
func (f fold) newRank(i int) int {
	switch {
	case i >= 2*f.rem:
		return i - f.rem
	case i%2 == 1:
		return i / 2
	default:
		return -1
	}
}

// oldRank is the inverse of newRank.
func (f fold) oldRank(nr int) int {
	if nr < f.rem {
		return 2*nr + 1
	}
	return nr + f.rem
}

// halvingStep is one round of recursive halving (reduce-scatter): the rank
// exchanges with partner (a new rank), keeps the element range
// [keepLo, keepHi) and sends [sendLo, sendHi) of its current region.
type halvingStep struct {
	mask, partner                  int
	keepLo, keepHi, sendLo, sendHi int
}

// halvingSchedule is the recursive-halving schedule of new rank nr among
// pow participants over n elements. Masks increase (1, 2, 4, ...), so after
// the round with mask m a rank's partial result covers the aligned block of
// 2m new ranks around it, a contiguous range of old ranks: the lower block
// is always the left operand. Partners hold the same region in every
// round; the lower one keeps the lower half. After the last round each
// rank owns a disjoint range of the elements; the allgather retraces the
// rounds backwards.
func halvingSchedule(nr, pow, n int) []halvingStep {
	var out []halvingStep
	lo, hi := 0, n
	for m := 1; m < pow; m <<= 1 {
		mid := lo + (hi-lo)/2
		s := halvingStep{mask: m, partner: nr ^ m}
		if nr&m == 0 {
			s.keepLo, s.keepHi, s.sendLo, s.sendHi = lo, mid, mid, hi
		} else {
			s.keepLo, s.keepHi, s.sendLo, s.sendHi = mid, hi, lo, mid
		}
		out = append(out, s)
		lo, hi = s.keepLo, s.keepHi
	}
	return out
}

// pairwisePeers are the peers of i in round k (1 <= k < n) of a pairwise
// exchange among n: send to i+k, receive from i-k (mod n). Over the n-1
// rounds every ordered pair meets exactly once.
func pairwisePeers(i, n, k int) (to, from int) {
	return (i + k) % n, (i - k + n) % n
}

// disseminationPeers are the peers of i in the dissemination barrier round
// with distance d (1, 2, 4, ... < n): signal i+d, wait for i-d (mod n).
func disseminationPeers(i, n, d int) (to, from int) {
	return (i + d) % n, (i - d + n) % n
}
