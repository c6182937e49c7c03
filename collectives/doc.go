// Package collectives implements MPI-style collective operations for Volley
// groups: Barrier, Bcast, Scatter(v), Gather(v), AllGather(v), Reduce,
// AllReduce and AllToAll(v), over any communicator that satisfies the small
// Comm interface (Volley's comm.Comm does; tests use an in-memory one).
//
// # Hierarchy
//
// A group of N ranks is packed g per container: pack p holds the
// contiguous ranks [p*g, min((p+1)*g, N)), and the lowest rank of a pack is
// its leader. Inside a container a message is handed over without a copy;
// between containers it crosses the network. Every collective therefore
// runs in three phases:
//
//  1. a local phase inside each pack (members to their leader, zero copy);
//  2. a remote phase among the P = ceil(N/g) leaders only, the one place
//     where bytes cross the network;
//  3. a local fan-out from each leader to its members (zero copy: every
//     member gets the same read-only slice and copies out what it needs).
//
// Remote messages only ever join two leaders. Each rank counts the bytes
// it sends to its own pack and to other packs, per operation (Stats).
//
// # Algorithms and crossovers
//
// The remote phase picks its algorithm from the message size M and the
// pack count P (Thresholds; the defaults are the package constants). The
// crossovers come from the latency-bandwidth model with alpha ~ 50 us per
// message between containers and beta ~ 0.8 ns/byte (10 Gb/s), so
// alpha/beta ~ 64 KiB:
//
//   - Barrier: members signal the leader; dissemination barrier among the
//     leaders (ceil(log2 P) rounds of empty messages); leaders release.
//   - Bcast: binomial tree rooted at the root's pack: ceil(log2 P) rounds,
//     (P-1)*M bytes on the network in total (a flat broadcast: (N-1)*M).
//     From BcastLargeBytes (256 KiB) with at least BcastLargeMinPacks (4)
//     packs: the root's leader scatters M/P chunks to the leaders, then a
//     ring allgather completes them (van de Geijn). Still exactly (P-1)*M
//     bytes in total, but the root's link carries 2(P-1)/P*M instead of
//     ceil(log2 P)*M. Cost ~P*alpha + 2*M*beta against
//     ceil(log2 P)*(alpha+M*beta): for P = 4 they cross at 4*alpha/beta.
//   - Scatter(v), Gather(v): one message per pack between the root's leader
//     and each other leader: every byte crosses the network exactly once,
//     and the root's link, the bottleneck, carries the same bytes as with
//     a binomial tree. Scatter sends them all at once; Gather's root
//     leader receives them in pack order, so the eager (small) ones are
//     all in flight at once, while large ones, which wait for the
//     receiver to ask, come one after another, a round trip apart.
//   - AllGather(v): the leaders exchange their packs' pieces all at once
//     (one round); from AllGatherRingBytes (1 MiB of result) with at least
//     AllGatherRingMinPacks (3) packs, along a ring (P-1 rounds, each
//     leader only talks to its neighbours: no incast). Same bytes either way.
//   - Reduce: binomial tree inside each pack, binomial tree among the
//     leaders towards rank 0 (both fold children in rank order), then the
//     result goes to the root's leader and the root: (P-1)*M remote bytes,
//     plus M when the root is not in pack 0.
//   - AllReduce: binomial tree inside each pack; among the leaders,
//     recursive doubling (log2 P rounds of M bytes; extra leaders of a
//     non-power-of-two P fold into their neighbour first). From
//     AllReduceLargeBytes (256 KiB) with at least AllReduceLargeMinPacks (4)
//     packs, and only for element-wise ops (AllReduceT, AllReduceElems):
//     Rabenseifner's algorithm, a reduce-scatter by recursive halving and
//     an allgather by recursive doubling, 2*(P-1)/P*M bytes per leader in
//     2*log2 P rounds. It replaces the textbook ring reduce-scatter, which
//     moves the same bytes in 2*(P-1) rounds but folds each chunk starting
//     at a different rank, so it cannot keep rank order. Recursive
//     doubling against Rabenseifner: log2 P*(alpha+M*beta) against
//     2*log2 P*alpha + 2*(P-1)/P*M*beta; for P = 4 they cross at 4*alpha/beta.
//   - AllToAll(v): pack mates exchange their send buffers directly (zero
//     copy); each leader aggregates every block its pack sends to pack q
//     into one message, so exactly P*(P-1) messages cross the network, and
//     hands the P-1 aggregates it receives to its members. A leader whose
//     outgoing aggregates reach AllToAllPairwiseBytes (256 KiB) sends them
//     in P-1 pairwise rounds (to p+k, from p-k); below that it posts them all
//     at once. Both send one message per ordered pair of leaders on the same
//     tag, so leaders may decide differently.
//     AllToAllv sends a piece of at least AllToAllvDirectBytes (64 KiB)
//     straight to its receiver instead, which spares it three copies and
//     the funnel through one rank per pack (TeraSort's shuffle); sender and
//     receiver both know the piece's length, so they agree on its path.
//
// The schedules (binomial parents and children, ring neighbours, chunk
// bounds, the fold of a non-power-of-two group, the recursive-halving
// regions, pairwise and dissemination peers) and the algorithm choices
// (Thresholds.Bcast, .AllReduce, .AllGather, .AllToAll) are plain functions
// with no I/O, tested on their own.
//
// # Determinism
//
// Reductions combine operands in a fixed order that depends only on N, g,
// M and the thresholds: a ReduceFunc or Op always gets the lower ranks'
// operand as dst, so non-commutative (associative) ops see their operands
// in rank order, and every rank ends with bit-identical floating-point
// results.
//
// # Contract
//
// Every rank makes one handle per communicator (New) and calls the
// collectives in the same order, as in MPI. Tags: user code keeps to
// [0, TagBase); collectives use [TagBase, 2*TagBase), derived from the
// handle's call sequence number, the operation and the phase, so user
// traffic never matches collective traffic. Buffers follow MPI: counts are
// given by buffer lengths and must agree across ranks; inputs are only
// read and never retained (what is sent is a private copy), outputs are
// written in place. Give every call a context with a deadline: a rank that
// never arrives, or ranks that disagree on counts, end in an error at the
// deadline (or at once, wrapping ErrMismatch, on the rank that notices),
// naming the operation and the step, never in a hang or a panic. Bad
// arguments fail at once with ErrInvalid.
//
// This package relies on one property of the communicator beyond the Comm
// documentation: it may send one slice to several ranks of its own pack,
// which then only read it, so the communicator itself must not write to
// the slices it carries.
//
// # Example
//
//	c := collectives.New(comm) // once per worker
//	ctx, cancel := context.WithTimeout(ctx, time.Minute)
//	defer cancel()
//	ranks := []float64{float64(comm.Rank())}
//	if err := collectives.AllReduceT(ctx, c, ranks, collectives.Sum); err != nil {
//		return err
//	}
//	// ranks[0] == N*(N-1)/2 on every rank
//	buf := make([]byte, 1<<20)
//	if err := c.Bcast(ctx, 0, buf); err != nil { // rank 0's buf everywhere
//		return err
//	}
//	fmt.Println(c.Stats()["bcast"].RemoteBytes)
package collectives
