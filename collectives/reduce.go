package collectives

import "context"

// ReduceFunc combines two operands of a reduction: on return dst holds
// dst ∘ src. dst always stands for a block of ranks lower than src's, so
// an operation that is associative but not commutative sees its operands
// in rank order. The function may keep neither slice. An error ends the
// collective on this rank.
type ReduceFunc func(dst, src []byte) error

// Reduce combines every rank's buf with op and leaves the result in root's
// buf; the other ranks' bufs are only read. Every rank passes a buf of the
// same length. The operands are combined in a fixed order (a binomial tree
// inside each pack, then a binomial tree among the leaders towards rank
// 0, which sends the result to the root), so the result is the same for
// the same inputs and respects rank order. op always sees whole buffers.
func (c *Collectives) Reduce(ctx context.Context, root int, buf []byte, op ReduceFunc) (err error) {
	x, err := c.begin(ctx, opReduce)
	if err != nil {
		return err
	}
	defer x.end(&err)
	if err := x.checkRoot(root); err != nil {
		return err
	}
	if op == nil {
		return x.invalid("nil op")
	}
	res, err := x.reduce(ctx, root, clone(buf), op)
	if err == nil && x.me == root {
		copy(buf, res)
	}
	return err
}

// AllReduce combines every rank's buf with op and leaves the result in buf
// on every rank. Every rank passes a buf of the same length. op always
// sees whole buffers, so it may treat them as any encoding (it is applied
// in a fixed order that respects rank order: a binomial tree inside each
// pack, then recursive doubling among the leaders); every rank ends with
// bit-identical results. For numbers use AllReduceT; for element-wise byte
// operations AllReduceElems, which can use a bandwidth-optimal algorithm.
func (c *Collectives) AllReduce(ctx context.Context, buf []byte, op ReduceFunc) error {
	return c.AllReduceElems(ctx, buf, 0, op)
}

// AllReduceElems is AllReduce for an op that works element by element on
// elements of elemSize bytes: the buffer may be cut at element boundaries
// and the pieces reduced separately, which lets large reductions over many
// packs use Rabenseifner's algorithm (reduce-scatter by recursive halving,
// then allgather) instead of recursive doubling; see
// Thresholds.AllReduce. len(buf) must be a multiple of elemSize. An
// elemSize of 0 means op needs whole buffers (as AllReduce).
func (c *Collectives) AllReduceElems(ctx context.Context, buf []byte, elemSize int, op ReduceFunc) (err error) {
	x, err := c.begin(ctx, opAllReduce)
	if err != nil {
		return err
	}
	defer x.end(&err)
	if op == nil {
		return x.invalid("nil op")
	}
	if elemSize < 0 || elemSize > 0 && len(buf)%elemSize != 0 {
		return x.invalid("buffer of %d bytes is not a whole number of %d-byte elements", len(buf), elemSize)
	}
	res, err := x.allReduce(ctx, clone(buf), elemSize, op)
	if err == nil {
		copy(buf, res)
	}
	return err
}

// combine applies op and names the step when it fails.
func (x *call) combine(op ReduceFunc, dst, src []byte, ph phase, round, peer int) error {
	if err := op(dst, src); err != nil {
		return x.errf(ph, round, "combining with %d: %w", peer, err)
	}
	return nil
}

// reduceLocal folds the pack's operands into its leader along a binomial
// tree in rank order. acc is owned by the caller and consumed. The leader
// gets the pack's partial result; members get nil.
func (x *call) reduceLocal(ctx context.Context, acc []byte, op ReduceFunc) ([]byte, error) {
	lo, hi := x.topo.PackRange(x.pack)
	li := x.me - lo
	for _, ch := range binomialChildren(li, hi-lo) {
		in, err := x.recvN(ctx, lo+ch, phUp, -1, len(acc))
		if err != nil {
			return nil, err
		}
		if err := x.combine(op, acc, in, phUp, -1, lo+ch); err != nil {
			return nil, err
		}
	}
	if li != 0 {
		return nil, x.send(ctx, lo+binomialParent(li), phUp, -1, acc)
	}
	return acc, nil
}

// reduce runs a Reduce with an owned operand acc and returns the result
// (read-only) at the root, nil elsewhere.
func (x *call) reduce(ctx context.Context, root int, acc []byte, op ReduceFunc) ([]byte, error) {
	t := x.topo
	M := len(acc)
	leader := t.Leader(x.pack)
	rp := t.PackOf(root)
	acc, err := x.reduceLocal(ctx, acc, op)
	if err != nil {
		return nil, err
	}
	if x.me != leader {
		if x.me != root {
			return nil, nil
		}
		return x.recvN(ctx, leader, phResult, -1, M)
	}
	// Binomial tree among the leaders towards pack 0, in rank order.
	P := t.Packs()
	for _, ch := range binomialChildren(x.pack, P) {
		in, err := x.recvN(ctx, t.Leader(ch), phTree, -1, M)
		if err != nil {
			return nil, err
		}
		if err := x.combine(op, acc, in, phTree, -1, t.Leader(ch)); err != nil {
			return nil, err
		}
	}
	if x.pack != 0 {
		if err := x.send(ctx, t.Leader(binomialParent(x.pack)), phTree, -1, acc); err != nil {
			return nil, err
		}
		if x.pack != rp {
			return nil, nil
		}
		// The root's leader gets the result from rank 0.
		if acc, err = x.recvN(ctx, 0, phResult, -1, M); err != nil {
			return nil, err
		}
	} else if rp != 0 {
		return nil, x.send(ctx, t.Leader(rp), phResult, -1, acc)
	}
	if x.me == root {
		return acc, nil
	}
	return nil, x.send(ctx, root, phResult, -1, acc)
}

// allReduce runs an AllReduce with an owned operand acc and returns the
// result (read-only). elem > 0 declares op element-wise on elem-byte
// elements.
func (x *call) allReduce(ctx context.Context, acc []byte, elem int, op ReduceFunc) ([]byte, error) {
	t := x.topo
	M := len(acc)
	leader := t.Leader(x.pack)
	acc, err := x.reduceLocal(ctx, acc, op)
	if err != nil {
		return nil, err
	}
	if x.me != leader {
		return x.recvN(ctx, leader, phDown, -1, M)
	}
	var res []byte
	switch x.c.th.AllReduce(t.Packs(), M, elem > 0) {
	case AlgNone:
		res = acc
	case AlgRecursiveDoubling:
		res, err = x.recursiveDoubling(ctx, acc, op)
	case AlgRabenseifner:
		res, err = x.rabenseifner(ctx, acc, elem, op)
	}
	if err != nil {
		return nil, err
	}
	if err := x.sendAll(ctx, -1, fanout(x.members(x.pack, -1), res)...); err != nil {
		return nil, err
	}
	return res, nil
}

// foldIn handles the extra leaders when the pack count is not a power of
// two (see fold): an even folded leader hands acc over and waits for the
// result (done = true); its odd neighbour combines it in.
func (x *call) foldIn(ctx context.Context, f fold, acc []byte, op ReduceFunc) (res []byte, done bool, err error) {
	t := x.topo
	p := x.pack
	if p >= 2*f.rem {
		return acc, false, nil
	}
	if f.newRank(p) < 0 {
		if err := x.send(ctx, t.Leader(p+1), phFold, -1, acc); err != nil {
			return nil, true, err
		}
		res, err := x.recvN(ctx, t.Leader(p+1), phUnfold, -1, len(acc))
		return res, true, err
	}
	in, err := x.recvN(ctx, t.Leader(p-1), phFold, -1, len(acc))
	if err != nil {
		return nil, false, err
	}
	// The lower neighbour's operand comes first; it is ours now.
	if err := x.combine(op, in, acc, phFold, -1, t.Leader(p-1)); err != nil {
		return nil, false, err
	}
	return in, false, nil
}

// foldOut sends the result to the folded neighbour, if any.
func (x *call) foldOut(ctx context.Context, f fold, res []byte) error {
	if x.pack < 2*f.rem {
		return x.send(ctx, x.topo.Leader(x.pack-1), phUnfold, -1, res)
	}
	return nil
}

// recursiveDoubling: in round k each leader exchanges its partial result
// with the leader whose new rank differs in bit k and combines them, the
// lower block first. ceil(log2 P) rounds of M bytes (plus the fold).
func (x *call) recursiveDoubling(ctx context.Context, acc []byte, op ReduceFunc) ([]byte, error) {
	t := x.topo
	f := newFold(t.Packs())
	acc, done, err := x.foldIn(ctx, f, acc, op)
	if err != nil || done {
		return acc, err
	}
	nr := f.newRank(x.pack)
	for round, m := 0, 1; m < f.pow; round, m = round+1, m<<1 {
		pr := nr ^ m
		peer := t.Leader(f.oldRank(pr))
		out := acc
		if nr < pr {
			// The partner will combine into what we send; keep our own.
			out = clone(acc)
		}
		in, err := x.sendrecv(ctx, phDoubling, round, peer, out, peer, len(acc))
		if err != nil {
			return nil, err
		}
		if nr < pr {
			err = x.combine(op, acc, in, phDoubling, round, peer)
		} else {
			// The partner only reads what we sent; combine into its copy.
			err = x.combine(op, in, acc, phDoubling, round, peer)
			acc = in
		}
		if err != nil {
			return nil, err
		}
	}
	return acc, x.foldOut(ctx, f, acc)
}

// rabenseifner: a reduce-scatter by recursive halving (each round halves
// the region a leader is responsible for and moves the other half to the
// partner) and an allgather by recursive doubling that retraces it. Each
// leader sends about 2*(P-1)/P*M bytes in 2*log2 P rounds.
func (x *call) rabenseifner(ctx context.Context, acc []byte, e int, op ReduceFunc) ([]byte, error) {
	t := x.topo
	M := len(acc)
	f := newFold(t.Packs())
	acc, done, err := x.foldIn(ctx, f, acc, op)
	if err != nil || done {
		return acc, err
	}
	nr := f.newRank(x.pack)
	steps := halvingSchedule(nr, f.pow, M/e)
	cur, curLo := acc, 0 // cur holds elements [curLo, curLo+len(cur)/e)
	for i, s := range steps {
		peer := t.Leader(f.oldRank(s.partner))
		out := cur[(s.sendLo-curLo)*e : (s.sendHi-curLo)*e]
		keep := cur[(s.keepLo-curLo)*e : (s.keepHi-curLo)*e]
		in, err := x.sendrecv(ctx, phHalving, i, peer, out, peer, len(keep))
		if err != nil {
			return nil, err
		}
		if nr < s.partner {
			err = x.combine(op, keep, in, phHalving, i, peer)
			cur = keep
		} else {
			err = x.combine(op, in, keep, phHalving, i, peer)
			cur = in
		}
		if err != nil {
			return nil, err
		}
		curLo = s.keepLo
	}
	res := make([]byte, M)
	copy(res[curLo*e:], cur)
	lo, hi := curLo, curLo+len(cur)/e
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		peer := t.Leader(f.oldRank(s.partner))
		in, err := x.sendrecv(ctx, phGather, i, peer, res[lo*e:hi*e], peer, (s.sendHi-s.sendLo)*e)
		if err != nil {
			return nil, err
		}
		copy(res[s.sendLo*e:], in)
		lo, hi = min(s.keepLo, s.sendLo), max(s.keepHi, s.sendHi)
	}
	return res, x.foldOut(ctx, f, res)
}
