package collectives

import "context"

// Bcast copies root's buf into buf on every rank. Every rank passes a buf
// of the same length; root's is only read. The root hands its data to its
// pack leader, the leaders spread it (binomial tree, or scatter + ring
// allgather for large messages over many packs; see Thresholds.Bcast), and
// each leader hands the data to its members without copying.
func (c *Collectives) Bcast(ctx context.Context, root int, buf []byte) (err error) {
	x, err := c.begin(ctx, opBcast)
	if err != nil {
		return err
	}
	defer x.end(&err)
	if err := x.checkRoot(root); err != nil {
		return err
	}
	t := x.topo
	M := len(buf)
	P := t.Packs()
	leader := t.Leader(x.pack)
	rp := t.PackOf(root)
	alg := c.th.Bcast(P, M)

	if x.me != leader {
		if x.me == root {
			// The root's data goes to its leader; the root already has it.
			return x.send(ctx, leader, phUp, -1, clone(buf))
		}
		k := 1
		if alg == AlgScatterAllgather {
			k = P // the leader forwards the chunks as they are
		}
		return x.recvPieces(ctx, leader, k, buf)
	}

	var data []byte // at the root's leader: the whole payload, read-only
	switch {
	case x.me == root:
		data = clone(buf)
	case x.pack == rp:
		if data, err = x.recvN(ctx, root, phUp, -1, M); err != nil {
			return err
		}
	}
	var pieces [][]byte // the payload in order, read-only
	var out []msg       // remote sends still to make
	switch alg {
	case AlgNone:
		pieces = [][]byte{data}
	case AlgBinomialTree:
		if data, out, err = x.bcastTree(ctx, rp, data, M); err != nil {
			return err
		}
		pieces = [][]byte{data}
	case AlgScatterAllgather:
		if pieces, err = x.bcastScatterAllgather(ctx, rp, data, M); err != nil {
			return err
		}
	}
	out = append(out, fanout(x.members(x.pack, root), pieces...)...)
	b := x.post(ctx, -1, out...)
	if x.me != root {
		place(buf, pieces)
	}
	return b.wait()
}

// bcastTree receives the payload from the parent in a binomial tree of the
// leaders rooted at the root's pack and returns the sends to the children,
// largest subtree first.
func (x *call) bcastTree(ctx context.Context, rp int, data []byte, M int) ([]byte, []msg, error) {
	t := x.topo
	P := t.Packs()
	v := (x.pack - rp + P) % P
	if v != 0 {
		parent := (binomialParent(v) + rp) % P
		var err error
		if data, err = x.recvN(ctx, t.Leader(parent), phTree, -1, M); err != nil {
			return nil, nil, err
		}
	}
	kids := binomialChildren(v, P)
	out := make([]msg, 0, len(kids))
	for i := len(kids) - 1; i >= 0; i-- {
		out = append(out, msg{t.Leader((kids[i] + rp) % P), phTree, data})
	}
	return data, out, nil
}

// bcastScatterAllgather cuts the payload into P chunks (chunk q for pack
// q), the root's leader sends chunk q to leader q, and a ring allgather
// among the leaders completes every leader's copy. The root's leader has
// everything from the start, so its left neighbour does not send to it.
// Remote bytes in total: exactly (P-1)*M, as for the tree, but the root
// sends only about M instead of ceil(log2 P)*M. It returns the P chunks.
func (x *call) bcastScatterAllgather(ctx context.Context, rp int, data []byte, M int) ([][]byte, error) {
	t := x.topo
	P := t.Packs()
	chunks := make([][]byte, P)
	size := func(q int) int { lo, hi := chunk(q, P, M); return hi - lo }
	if x.pack == rp {
		var out []msg
		for q := 0; q < P; q++ {
			lo, hi := chunk(q, P, M)
			chunks[q] = data[lo:hi]
			if q != rp {
				out = append(out, msg{t.Leader(q), phScatter, chunks[q]})
			}
		}
		if err := x.sendAll(ctx, -1, out...); err != nil {
			return nil, err
		}
	} else {
		b, err := x.recvN(ctx, t.Leader(rp), phScatter, -1, size(x.pack))
		if err != nil {
			return nil, err
		}
		chunks[x.pack] = b
	}
	left, right := ringNeighbours(x.pack, P)
	for s := 0; s < P-1; s++ {
		send := (x.pack - s + P) % P
		get := (x.pack - s - 1 + P) % P
		var b *batch
		if right != rp {
			b = x.post(ctx, s, msg{t.Leader(right), phRing, chunks[send]})
		}
		if x.pack != rp {
			in, err := x.recvN(ctx, t.Leader(left), phRing, s, size(get))
			if err != nil {
				if b != nil {
					b.abort()
				}
				return nil, err
			}
			chunks[get] = in
		}
		if b != nil {
			if err := b.wait(); err != nil {
				return nil, err
			}
		}
	}
	return chunks, nil
}
