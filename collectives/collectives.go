package collectives

import (
	"context"
	"fmt"
	"sync/atomic"
)

// Comm is what collectives need from a communicator. Volley's comm.Comm
// satisfies it; tests plug in an in-memory one.
type Comm interface {
	// Rank is this worker's rank in [0, Size()).
	Rank() int
	// Size is the number of ranks in the group.
	Size() int
	// Pack is the container (pack) index of a rank; the ranks of one pack
	// are contiguous, and packs appear in increasing rank order.
	Pack(rank int) int
	// Send hands data to dst. Ownership passes to the receiver: the caller
	// must not touch data after Send (inside a container the receiver gets
	// the very same slice). May block for large remote messages until
	// received.
	Send(ctx context.Context, dst, tag int, data []byte) error
	// Recv returns the next message from src with the given tag, in the
	// order sent.
	Recv(ctx context.Context, src, tag int) ([]byte, error)
}

// TagBase is the lowest tag collectives use. User code keeps its tags in
// [0, TagBase); every collective message carries a tag in
// [TagBase, 2*TagBase), derived from the handle's call sequence number, the
// operation and the phase, so user traffic and collective traffic never
// match each other, and neither do two different collective calls.
const TagBase = 1 << 30

// Tag layout above TagBase: sequence number (20 bits), operation (5 bits),
// phase (5 bits). The sequence number wraps after seqWindow calls, which is
// harmless: two calls 2^20 apart cannot be in flight between the same pair
// of ranks at once.
const (
	phaseBits = 5
	opBits    = 5
	seqBits   = 30 - phaseBits - opBits
	seqWindow = 1 << seqBits
)

// Collectives runs collective operations over one communicator. It keeps
// the per-communicator call sequence that makes collective tags unique, and
// the traffic counters behind Stats.
//
// Every rank must create exactly one handle over its communicator and call
// the collectives in the same order, as in MPI. A handle is safe for
// concurrent use in the sense that its counters are atomic, but two
// collectives issued concurrently on one rank are matched across ranks by
// the order in which they started, so issue them from one goroutine.
type Collectives struct {
	comm Comm
	topo Topology
	rank int
	err  error // set by New when the communicator is unusable
	th   Thresholds
	seq  atomic.Uint64

	stats [numOps]opCounters
}

// Option configures a handle made by New.
type Option func(*Collectives)

// WithThresholds replaces the algorithm crossover points (default:
// DefaultThresholds()). Every rank must use the same thresholds, or the
// ranks pick different algorithms and the call fails at the deadline.
func WithThresholds(t Thresholds) Option {
	return func(c *Collectives) { c.th = t }
}

// New returns a collectives handle over comm. It reads the packing of the
// group from comm.Pack once. If comm is unusable (nil, a rank out of range,
// packs that are not contiguous), every operation on the handle returns an
// error wrapping ErrInvalid that says why.
func New(comm Comm, opts ...Option) *Collectives {
	c := &Collectives{comm: comm, th: DefaultThresholds()}
	for _, o := range opts {
		o(c)
	}
	if comm == nil {
		c.err = fmt.Errorf("nil communicator: %w", ErrInvalid)
		return c
	}
	topo, err := TopologyOf(comm)
	if err != nil {
		c.err = err
		return c
	}
	c.topo = topo
	c.rank = comm.Rank()
	if c.rank < 0 || c.rank >= topo.Size() {
		c.err = fmt.Errorf("rank %d out of range [0,%d): %w", c.rank, topo.Size(), ErrInvalid)
	}
	return c
}

// Rank is the rank of this handle's communicator.
func (c *Collectives) Rank() int { return c.rank }

// Size is the number of ranks of this handle's communicator.
func (c *Collectives) Size() int { return c.topo.Size() }

// Topology is the packing of the group as read from the communicator.
func (c *Collectives) Topology() Topology { return c.topo }

// Thresholds are the crossover points this handle uses.
func (c *Collectives) Thresholds() Thresholds { return c.th }
