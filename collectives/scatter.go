package collectives

import "context"

// Scatter sends block i of root's send buffer to rank i: every rank passes
// a recv of the same length B, root's send holds Size()*B bytes (block i is
// send[i*B:(i+1)*B]); send is ignored elsewhere. The root's leader sends
// each other leader the contiguous blocks of its pack in one message, and
// leaders hand each member its block without copying.
func (c *Collectives) Scatter(ctx context.Context, root int, send, recv []byte) (err error) {
	x, err := c.begin(ctx, opScatter)
	if err != nil {
		return err
	}
	defer x.end(&err)
	if err := x.checkRoot(root); err != nil {
		return err
	}
	t := x.topo
	B := len(recv)
	if x.me == root && len(send) != t.Size()*B {
		return x.invalid("root's send has %d bytes, want size %d * recv %d", len(send), t.Size(), B)
	}
	leader := t.Leader(x.pack)
	rp := t.PackOf(root)
	rl := t.Leader(rp)
	lo, hi := t.PackRange(x.pack)

	if x.me != leader {
		if x.me == root {
			copy(recv, send[root*B:])
			return x.send(ctx, leader, phUp, -1, clone(send))
		}
		b, err := x.recvN(ctx, leader, phDown, -1, B)
		if err != nil {
			return err
		}
		copy(recv, b)
		return nil
	}

	var mine []byte // the blocks of this pack
	var out []msg
	if x.pack == rp {
		var all []byte
		if x.me == root {
			all = clone(send)
		} else if all, err = x.recvN(ctx, root, phUp, -1, t.Size()*B); err != nil {
			return err
		}
		for q := 0; q < t.Packs(); q++ {
			if q != rp {
				qlo, qhi := t.PackRange(q)
				out = append(out, msg{t.Leader(q), phScatter, all[qlo*B : qhi*B]})
			}
		}
		mine = all[lo*B : hi*B]
	} else if mine, err = x.recvN(ctx, rl, phScatter, -1, (hi-lo)*B); err != nil {
		return err
	}
	for _, m := range x.members(x.pack, root) {
		out = append(out, msg{m, phDown, mine[(m-lo)*B : (m-lo+1)*B]})
	}
	b := x.post(ctx, -1, out...)
	copy(recv, mine[:B])
	return b.wait()
}

// Scatterv sends send[i] of the root to rank i, which receives it into
// recv; recv's length is the count rank i expects, and must equal
// len(send[i]) at the root. The root passes len(send) == Size(); send is
// ignored elsewhere. Each pack's pieces travel as one bundle (lengths, then
// data) from the root's leader to the pack's leader.
func (c *Collectives) Scatterv(ctx context.Context, root int, send [][]byte, recv []byte) (err error) {
	x, err := c.begin(ctx, opScatterv)
	if err != nil {
		return err
	}
	defer x.end(&err)
	if err := x.checkRoot(root); err != nil {
		return err
	}
	t := x.topo
	if x.me == root {
		if len(send) != t.Size() {
			return x.invalid("root passed %d send slices, want %d", len(send), t.Size())
		}
		if len(send[root]) != len(recv) {
			return x.invalid("root's send[%d] has %d bytes but its recv %d", root, len(send[root]), len(recv))
		}
	}
	leader := t.Leader(x.pack)
	rp := t.PackOf(root)
	rl := t.Leader(rp)
	lo, hi := t.PackRange(x.pack)
	P := t.Packs()

	if x.me != leader {
		if x.me == root {
			copy(recv, send[root])
			// One bundle per pack, in pack order.
			out := make([]msg, P)
			for q := range out {
				qlo, qhi := t.PackRange(q)
				out[q] = msg{leader, phUp, encodeBundle(send[qlo:qhi])}
			}
			return x.sendAll(ctx, -1, out...)
		}
		b, err := x.recvN(ctx, leader, phDown, -1, len(recv))
		if err != nil {
			return err
		}
		copy(recv, b)
		return nil
	}

	var mine []byte // this pack's bundle
	var out []msg
	if x.pack == rp {
		for q := 0; q < P; q++ {
			qlo, qhi := t.PackRange(q)
			var bun []byte
			if x.me == root {
				bun = encodeBundle(send[qlo:qhi])
			} else if bun, err = x.recv(ctx, root, phUp, -1); err != nil {
				return err
			}
			if q == rp {
				mine = bun
			} else {
				out = append(out, msg{t.Leader(q), phScatter, bun})
			}
		}
	} else if mine, err = x.recv(ctx, rl, phScatter, -1); err != nil {
		return err
	}
	pieces, err := decodeBundle(mine, hi-lo)
	if err != nil {
		return x.errf(phScatter, -1, "%w", err)
	}
	for _, m := range x.members(x.pack, root) {
		out = append(out, msg{m, phDown, pieces[m-lo]})
	}
	b := x.post(ctx, -1, out...)
	if len(pieces[0]) != len(recv) {
		b.abort()
		return x.errf(phScatter, -1, "got %d bytes, want %d: %w", len(pieces[0]), len(recv), ErrMismatch)
	}
	copy(recv, pieces[0])
	return b.wait()
}
