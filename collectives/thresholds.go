package collectives

// Crossover points between the remote (leader-level) algorithms. They come
// from the usual latency-bandwidth model with the figures of a serverless
// data centre network: a per-message cost alpha of about 50 us between
// containers and a bandwidth of about 10 Gb/s (beta = 0.8 ns/byte), so
// alpha/beta is about 64 KiB. See doc.go for the derivations.
const (
	// BcastLargeBytes: a Bcast of at least this many bytes over at least
	// BcastLargeMinPacks packs uses scatter + ring allgather among the
	// leaders instead of a binomial tree. Tree: ceil(log2 P)*(alpha + M*beta);
	// scatter+allgather: about P*alpha + 2*(P-1)/P*M*beta. For P = 4 they
	// cross near 4*alpha/beta = 256 KiB, and earlier for more packs.
	BcastLargeBytes = 256 << 10
	// BcastLargeMinPacks: below 4 packs the tree is never slower.
	BcastLargeMinPacks = 4

	// AllReduceLargeBytes: an element-wise AllReduce of at least this many
	// bytes over at least AllReduceLargeMinPacks packs uses Rabenseifner's
	// algorithm (reduce-scatter by recursive halving, allgather by
	// recursive doubling) instead of recursive doubling. Recursive
	// doubling: log2 P*(alpha + M*beta); Rabenseifner: 2*log2 P*alpha +
	// 2*(P-1)/P*M*beta. For P = 4 they cross near 4*alpha/beta = 256 KiB.
	AllReduceLargeBytes = 256 << 10
	// AllReduceLargeMinPacks: for 2 packs both move M bytes per leader and
	// recursive doubling needs fewer rounds; 3 folds to 2.
	AllReduceLargeMinPacks = 4

	// AllGatherRingBytes: an AllGather whose result has at least this many
	// bytes, over at least AllGatherRingMinPacks packs, runs as a ring
	// among the leaders (P-1 rounds, each leader talks to its two
	// neighbours only); smaller ones send every pack's piece to every
	// other leader at once (one round). Both move the same bytes; the ring
	// trades latency for no incast.
	AllGatherRingBytes = 1 << 20
	// AllGatherRingMinPacks: with 2 packs the two schemes are the same.
	AllGatherRingMinPacks = 3

	// AllToAllPairwiseBytes: a leader whose aggregated outgoing AllToAll
	// data is at least this many bytes exchanges in P-1 pairwise rounds
	// (one peer at a time, no incast); below, it posts all P-1 messages at
	// once. Both send exactly one message per ordered pair of leaders, so
	// leaders may choose differently and still match.
	AllToAllPairwiseBytes = 256 << 10

	// AllToAllvDirectBytes: an AllToAllv piece of at least this many bytes
	// goes from its sender straight to its receiver instead of through the
	// leaders' aggregates. Aggregation saves per-message costs (alpha) but
	// copies the piece three more times (into the sender's bundle, the
	// leader's aggregate, out of the aggregate) and funnels a pack's
	// traffic through one rank; above alpha/beta, about 64 KiB, the copies
	// cost more than the messages they save.
	AllToAllvDirectBytes = 64 << 10
)

// Thresholds are the crossover points one handle uses; see the constants
// of the same names for their meaning and defaults. Every rank of a group
// must use the same thresholds.
type Thresholds struct {
	// BcastLargeBytes: smallest Bcast that may use scatter+allgather.
	BcastLargeBytes int
	// BcastLargeMinPacks: fewest packs for scatter+allgather.
	BcastLargeMinPacks int
	// AllReduceLargeBytes: smallest element-wise AllReduce that may use
	// Rabenseifner's algorithm.
	AllReduceLargeBytes int
	// AllReduceLargeMinPacks: fewest packs for Rabenseifner's algorithm.
	AllReduceLargeMinPacks int
	// AllGatherRingBytes: smallest AllGather result that may use the ring.
	AllGatherRingBytes int
	// AllGatherRingMinPacks: fewest packs for the ring.
	AllGatherRingMinPacks int
	// AllToAllPairwiseBytes: smallest outgoing AllToAll volume of a leader
	// that makes it send in pairwise rounds.
	AllToAllPairwiseBytes int
	// AllToAllvDirectBytes: smallest AllToAllv piece that goes direct.
	AllToAllvDirectBytes int
}

// DefaultThresholds returns the thresholds set by the package constants.
func DefaultThresholds() Thresholds {
	return Thresholds{
		BcastLargeBytes:        BcastLargeBytes,
		BcastLargeMinPacks:     BcastLargeMinPacks,
		AllReduceLargeBytes:    AllReduceLargeBytes,
		AllReduceLargeMinPacks: AllReduceLargeMinPacks,
		AllGatherRingBytes:     AllGatherRingBytes,
		AllGatherRingMinPacks:  AllGatherRingMinPacks,
		AllToAllPairwiseBytes:  AllToAllPairwiseBytes,
		AllToAllvDirectBytes:   AllToAllvDirectBytes,
	}
}

// Algorithm names a remote (leader-level) algorithm.
type Algorithm string

// The remote algorithms.
const (
	// AlgNone: one pack, nothing crosses the network.
	AlgNone Algorithm = "none"
	// AlgBinomialTree: Bcast along a binomial tree of the leaders.
	AlgBinomialTree Algorithm = "binomial-tree"
	// AlgScatterAllgather: Bcast as a scatter of M/P chunks from the
	// root's leader, then a ring allgather.
	AlgScatterAllgather Algorithm = "scatter-allgather"
	// AlgRecursiveDoubling: AllReduce by log2 P pairwise exchanges of the
	// whole buffer.
	AlgRecursiveDoubling Algorithm = "recursive-doubling"
	// AlgRabenseifner: AllReduce as a reduce-scatter by recursive halving
	// and an allgather by recursive doubling.
	AlgRabenseifner Algorithm = "rabenseifner"
	// AlgDirect: every leader sends to every other leader at once.
	AlgDirect Algorithm = "direct"
	// AlgRing: P-1 rounds, each leader sends to the next one on a ring.
	AlgRing Algorithm = "ring"
	// AlgPairwise: P-1 rounds, in round k leader p sends to p+k and
	// receives from p-k.
	AlgPairwise Algorithm = "pairwise"
)

// Bcast is the remote algorithm of a Bcast of size bytes over packs packs.
func (t Thresholds) Bcast(packs, size int) Algorithm {
	switch {
	case packs <= 1:
		return AlgNone
	case size >= t.BcastLargeBytes && packs >= t.BcastLargeMinPacks && size >= packs:
		return AlgScatterAllgather
	default:
		return AlgBinomialTree
	}
}

// AllReduce is the remote algorithm of an AllReduce of size bytes over
// packs packs; elementwise tells whether the operation may be applied to
// parts of the buffer (typed operations and AllReduceElems), which the
// reduce-scatter of Rabenseifner's algorithm needs.
func (t Thresholds) AllReduce(packs, size int, elementwise bool) Algorithm {
	switch {
	case packs <= 1:
		return AlgNone
	case elementwise && size >= t.AllReduceLargeBytes && packs >= t.AllReduceLargeMinPacks:
		return AlgRabenseifner
	default:
		return AlgRecursiveDoubling
	}
}

// AllGather is the remote algorithm of an AllGather whose result has total
// bytes, over packs packs.
func (t Thresholds) AllGather(packs, total int) Algorithm {
	switch {
	case packs <= 1:
		return AlgNone
	case total >= t.AllGatherRingBytes && packs >= t.AllGatherRingMinPacks:
		return AlgRing
	default:
		return AlgDirect
	}
}

// AllToAll is the remote algorithm of a leader that sends out bytes to the
// other packs in an AllToAll over packs packs.
func (t Thresholds) AllToAll(packs, out int) Algorithm {
	switch {
	case packs <= 1:
		return AlgNone
	case out >= t.AllToAllPairwiseBytes && packs > 2:
		return AlgPairwise
	default:
		return AlgDirect
	}
}
