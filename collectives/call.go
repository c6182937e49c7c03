package collectives

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/volley-run/volley/comm"
)

// opID names an operation; it is part of every tag the operation uses.
type opID uint8

const (
	opBarrier opID = iota
	opBcast
	opScatter
	opScatterv
	opGather
	opGatherv
	opAllGather
	opAllGatherv
	opReduce
	opAllReduce
	opAllToAll
	opAllToAllv
	numOps
)

var opNames = [numOps]string{
	"barrier", "bcast", "scatter", "scatterv", "gather", "gatherv",
	"allgather", "allgatherv", "reduce", "allreduce", "alltoall", "alltoallv",
}

func (o opID) String() string { return opNames[o] }

// phase names one step of an algorithm; it is part of the tag, so the
// messages of different steps (and of different algorithms, when ranks
// disagree on which to run) never match each other.
type phase uint8

const (
	phUp       phase = iota // member to its leader (local gather, local reduce, root hand-off)
	phDown                  // leader to its members (local fan-out)
	phTree                  // leaders: binomial tree
	phScatter               // leaders: root leader scatters chunks
	phRing                  // leaders: ring
	phDirect                // leaders: all-at-once exchange
	phPairwise              // leaders: pairwise exchange
	phFold                  // leaders: fold of the extra ranks (non power of two)
	phUnfold                // leaders: result back to the folded ranks
	phDoubling              // leaders: recursive doubling
	phHalving               // leaders: recursive halving (reduce-scatter)
	phGather                // leaders: allgather after recursive halving
	phResult                // the result on its way to the root
	phLocal                 // pack mates exchange directly
	phDissem                // leaders: dissemination barrier
	phCollect               // leaders: every leader sends to the root's leader
	phPiece                 // any rank to any rank: a large piece on its own
	numPhases
)

var phaseNames = [numPhases]string{
	"local up", "local fan-out", "remote tree", "remote scatter", "remote ring",
	"remote direct exchange", "remote pairwise exchange", "remote fold", "remote unfold",
	"remote recursive doubling", "remote recursive halving", "remote allgather",
	"result to root", "local exchange", "remote dissemination", "remote gather",
	"direct piece",
}

func (p phase) String() string { return phaseNames[p] }

func init() {
	if numOps > 1<<opBits || numPhases > 1<<phaseBits {
		panic("collectives: tag layout too small")
	}
}

// call is one collective call on one rank: its tag space and counters.
type call struct {
	c     *Collectives
	op    opID
	seq   uint64
	topo  Topology
	me    int
	pack  int
	start time.Time
	obs   Observer // from the call's context; nil when none
}

// begin starts a call: it takes the next sequence number (on every rank,
// even when the arguments turn out to be invalid, so later calls stay
// aligned), counts the call and starts its clock.
func (c *Collectives) begin(ctx context.Context, op opID) (*call, error) {
	seq := c.seq.Add(1) - 1
	c.stats[op].calls.Add(1)
	if c.err != nil {
		c.stats[op].errors.Add(1)
		return nil, fmt.Errorf("%s: %w", op, c.err)
	}
	return &call{c: c, op: op, seq: seq, topo: c.topo, me: c.rank, pack: c.topo.PackOf(c.rank),
		start: time.Now(), obs: observerFrom(ctx)}, nil
}

// end counts the call's time and, when it failed, its error, and tells the
// context's observer.
func (x *call) end(err *error) {
	elapsed := time.Since(x.start)
	k := &x.c.stats[x.op]
	k.nanos.Add(int64(elapsed))
	if *err != nil {
		k.errors.Add(1)
	}
	if x.obs != nil {
		x.obs.ObserveCollective(x.op.String(), x.start, elapsed, *err)
	}
}

func (x *call) tag(ph phase) int {
	return TagBase + int(x.seq%seqWindow)<<(opBits+phaseBits) | int(x.op)<<phaseBits | int(ph)
}

func where(ph phase, round int) string {
	if round < 0 {
		return ph.String()
	}
	return fmt.Sprintf("%s: round %d", ph, round)
}

// errf formats an error that names the operation and the step.
func (x *call) errf(ph phase, round int, format string, args ...any) error {
	return fmt.Errorf("%s: %s: "+format, append([]any{x.op, where(ph, round)}, args...)...)
}

// invalid reports a bad argument.
func (x *call) invalid(format string, args ...any) error {
	return fmt.Errorf("%s: "+format+": %w", append(append([]any{x.op}, args...), ErrInvalid)...)
}

func (x *call) send(ctx context.Context, dst int, ph phase, round int, data []byte) error {
	if err := x.c.comm.Send(ctx, dst, x.tag(ph), data); err != nil {
		return x.errf(ph, round, "send to %d: %w", dst, err)
	}
	k := &x.c.stats[x.op]
	if x.topo.SamePack(x.me, dst) {
		k.localMsgs.Add(1)
		k.localBytes.Add(int64(len(data)))
	} else {
		k.remoteMsgs.Add(1)
		k.remoteBytes.Add(int64(len(data)))
	}
	return nil
}

func (x *call) recv(ctx context.Context, src int, ph phase, round int) ([]byte, error) {
	b, err := x.c.comm.Recv(ctx, src, x.tag(ph))
	if err != nil {
		return nil, x.errf(ph, round, "recv from %d: %w", src, err)
	}
	return b, nil
}

// bufferedReceiver is a Comm that can land a large message in a buffer the
// caller gives (comm.Comm does, for messages that travel by rendezvous
// between containers), sparing an allocation and a copy.
type bufferedReceiver interface {
	RecvInto(ctx context.Context, src, tag int, buf []byte) (comm.Message, error)
}

// recvInto receives a message of exactly len(dst) bytes from src into dst:
// straight into it when the Comm can, else by copying what arrived.
func (x *call) recvInto(ctx context.Context, src int, ph phase, round int, dst []byte) error {
	r, ok := x.c.comm.(bufferedReceiver)
	if !ok {
		b, err := x.recvN(ctx, src, ph, round, len(dst))
		if err != nil {
			return err
		}
		copy(dst, b)
		return nil
	}
	m, err := r.RecvInto(ctx, src, x.tag(ph), dst)
	if err != nil {
		return x.errf(ph, round, "recv from %d: %w", src, err)
	}
	if len(m.Data) != len(dst) {
		return x.wrongLength(ph, round, src, len(m.Data), len(dst))
	}
	if len(dst) > 0 && &m.Data[0] != &dst[0] {
		copy(dst, m.Data) // not landed in place: a message from this pack
	}
	return nil
}

// recvN receives a message from src and checks its length.
func (x *call) recvN(ctx context.Context, src int, ph phase, round int, want int) ([]byte, error) {
	b, err := x.recv(ctx, src, ph, round)
	if err != nil {
		return nil, err
	}
	if len(b) != want {
		return nil, x.wrongLength(ph, round, src, len(b), want)
	}
	return b, nil
}

// wrongLength is the error for got bytes from src where want were due.
func (x *call) wrongLength(ph phase, round, src, got, want int) error {
	return x.errf(ph, round, "from %d: got %d bytes, want %d: %w", src, got, want, ErrMismatch)
}

// msg is one outgoing message of a batch.
type msg struct {
	dst  int
	ph   phase
	data []byte
}

// batch is a set of sends running in the background.
type batch struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

// post starts sending msgs in the background and returns at once. The
// messages to one destination go in order, one after another; messages to
// ranks of the own pack go in list order from one goroutine (local sends
// are cheap), each remote destination gets a goroutine of its own so that
// large blocking sends proceed in parallel. The caller must end the batch
// with wait or abort before returning.
func (x *call) post(ctx context.Context, round int, msgs ...msg) *batch {
	ctx, cancel := context.WithCancel(ctx)
	b := &batch{cancel: cancel}
	if len(msgs) == 0 {
		return b
	}
	var local []msg
	remote := make(map[int][]msg)
	var order []int
	for _, m := range msgs {
		if x.topo.SamePack(x.me, m.dst) {
			local = append(local, m)
			continue
		}
		if _, ok := remote[m.dst]; !ok {
			order = append(order, m.dst)
		}
		remote[m.dst] = append(remote[m.dst], m)
	}
	run := func(ms []msg) {
		defer b.wg.Done()
		for _, m := range ms {
			if err := x.send(ctx, m.dst, m.ph, round, m.data); err != nil {
				b.mu.Lock()
				if b.err == nil {
					b.err = err
				}
				b.mu.Unlock()
				return
			}
		}
	}
	if len(local) > 0 {
		b.wg.Add(1)
		go run(local)
	}
	for _, d := range order {
		b.wg.Add(1)
		go run(remote[d])
	}
	return b
}

// wait blocks until every send of the batch has finished and returns the
// first error.
func (b *batch) wait() error {
	b.wg.Wait()
	b.cancel()
	return b.err
}

// abort cancels the sends still running and waits for them to stop.
func (b *batch) abort() {
	b.cancel()
	b.wg.Wait()
}

// sendAll sends msgs (see post) and waits for them.
func (x *call) sendAll(ctx context.Context, round int, msgs ...msg) error {
	if len(msgs) == 1 {
		return x.send(ctx, msgs[0].dst, msgs[0].ph, round, msgs[0].data)
	}
	return x.post(ctx, round, msgs...).wait()
}

// sendrecv sends out to dst while receiving from src, so that two ranks
// exchanging with each other never deadlock, even when Send blocks until
// the message is received. want < 0 skips the length check.
func (x *call) sendrecv(ctx context.Context, ph phase, round int, dst int, out []byte, src int, want int) ([]byte, error) {
	b := x.post(ctx, round, msg{dst, ph, out})
	var in []byte
	var err error
	if want < 0 {
		in, err = x.recv(ctx, src, ph, round)
	} else {
		in, err = x.recvN(ctx, src, ph, round, want)
	}
	if err != nil {
		b.abort()
		return nil, err
	}
	if err := b.wait(); err != nil {
		return nil, err
	}
	return in, nil
}

// checkRoot validates a root rank.
func (x *call) checkRoot(root int) error {
	if root < 0 || root >= x.topo.Size() {
		return x.invalid("root %d out of range [0,%d)", root, x.topo.Size())
	}
	return nil
}

// clone returns a copy of b that this package owns and may hand to Send.
func clone(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

// recvPieces receives k pieces from src (local fan-out) and places them
// one after the other into buf, which they must fill exactly.
func (x *call) recvPieces(ctx context.Context, src, k int, buf []byte) error {
	off := 0
	for i := 0; i < k; i++ {
		b, err := x.recv(ctx, src, phDown, -1)
		if err != nil {
			return err
		}
		if off+len(b) > len(buf) {
			return x.errf(phDown, -1, "from %d: more than the %d bytes expected: %w", src, len(buf), ErrMismatch)
		}
		copy(buf[off:], b)
		off += len(b)
	}
	if off != len(buf) {
		return x.wrongLength(phDown, -1, src, off, len(buf))
	}
	return nil
}

// place copies pieces one after the other into buf.
func place(buf []byte, pieces [][]byte) {
	off := 0
	for _, p := range pieces {
		off += copy(buf[off:], p)
	}
}

// fanout is the batch that sends every piece, in order, to each rank of
// to, on the local fan-out phase.
func fanout(to []int, pieces ...[]byte) []msg {
	out := make([]msg, 0, len(to)*len(pieces))
	for _, m := range to {
		for _, p := range pieces {
			out = append(out, msg{m, phDown, p})
		}
	}
	return out
}

// members lists the ranks of pack p other than its leader and except, in
// rank order.
func (x *call) members(p, except int) []int {
	lo, hi := x.topo.PackRange(p)
	out := make([]int, 0, hi-lo-1)
	for r := lo + 1; r < hi; r++ {
		if r != except {
			out = append(out, r)
		}
	}
	return out
}
