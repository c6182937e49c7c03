package collectives

import "context"

// Gather collects every rank's send into root's recv: every rank passes a
// send of the same length B, and root's recv has Size()*B bytes (rank i's
// block lands at recv[i*B:]); recv is ignored elsewhere. Members hand their
// block to their leader without copying, each leader sends its pack's
// blocks to the root's leader in one message, and that leader hands the
// packs to the root.
func (c *Collectives) Gather(ctx context.Context, root int, send, recv []byte) (err error) {
	x, err := c.begin(ctx, opGather)
	if err != nil {
		return err
	}
	defer x.end(&err)
	if err := x.checkRoot(root); err != nil {
		return err
	}
	t := x.topo
	B := len(send)
	if x.me == root && len(recv) != t.Size()*B {
		return x.invalid("root's recv has %d bytes, want size %d * send %d", len(recv), t.Size(), B)
	}
	packs, err := x.gatherPacks(ctx, root, send, nil)
	if err != nil || x.me != root {
		return err
	}
	for q, pb := range packs {
		lo, hi := t.PackRange(q)
		if len(pb) != (hi-lo)*B {
			return x.errf(phResult, -1, "pack %d sent %d bytes, want %d: %w", q, len(pb), (hi-lo)*B, ErrMismatch)
		}
		copy(recv[lo*B:], pb)
	}
	return nil
}

// Gatherv collects every rank's send into root's recv[i]: root passes
// len(recv) == Size(), and len(recv[i]) is the count it expects from rank
// i, which must equal len(send) there; recv is ignored elsewhere. Each
// pack's pieces travel to the root as one bundle (lengths, then data).
func (c *Collectives) Gatherv(ctx context.Context, root int, send []byte, recv [][]byte) (err error) {
	x, err := c.begin(ctx, opGatherv)
	if err != nil {
		return err
	}
	defer x.end(&err)
	if err := x.checkRoot(root); err != nil {
		return err
	}
	t := x.topo
	if x.me == root {
		if len(recv) != t.Size() {
			return x.invalid("root passed %d recv slices, want %d", len(recv), t.Size())
		}
		if len(recv[root]) != len(send) {
			return x.invalid("root's recv[%d] has %d bytes but its send %d", root, len(recv[root]), len(send))
		}
	}
	packs, err := x.gatherPacks(ctx, root, send, encodeBundle)
	if err != nil || x.me != root {
		return err
	}
	for q, pb := range packs {
		lo, hi := t.PackRange(q)
		pieces, err := decodeBundle(pb, hi-lo)
		if err != nil {
			return x.errf(phResult, -1, "pack %d: %w", q, err)
		}
		for i, p := range pieces {
			if len(p) != len(recv[lo+i]) {
				return x.errf(phResult, -1, "rank %d sent %d bytes, want %d: %w", lo+i, len(p), len(recv[lo+i]), ErrMismatch)
			}
			copy(recv[lo+i], p)
		}
	}
	return nil
}

// gatherPacks brings every pack's data to the root: one buffer per pack,
// in pack order, made by pack (nil: plain concatenation, all blocks of
// len(send)). It returns the P buffers at the root and nil elsewhere.
func (x *call) gatherPacks(ctx context.Context, root int, send []byte, pack func([][]byte) []byte) ([][]byte, error) {
	t := x.topo
	P := t.Packs()
	pb, err := x.gatherLocal(ctx, send, pack)
	if err != nil {
		return nil, err
	}
	if leader := t.Leader(x.pack); x.me != leader {
		if x.me != root {
			return nil, nil
		}
		packs := make([][]byte, P)
		for q := range packs {
			if packs[q], err = x.recv(ctx, leader, phDown, -1); err != nil {
				return nil, err
			}
		}
		return packs, nil
	}
	rp := t.PackOf(root)
	rl := t.Leader(rp)
	if x.pack != rp {
		return nil, x.send(ctx, rl, phCollect, -1, pb)
	}
	packs := make([][]byte, P)
	for q := 0; q < P; q++ {
		if q == rp {
			packs[q] = pb
			continue
		}
		if packs[q], err = x.recv(ctx, t.Leader(q), phCollect, -1); err != nil {
			return nil, err
		}
	}
	if x.me == root {
		return packs, nil
	}
	return nil, x.sendAll(ctx, -1, fanout([]int{root}, packs...)...)
}

// gatherLocal collects the pack's data at its leader. Members send a copy
// of send and return nil (or, for the root, wait for the packs from the
// leader); the leader returns its pack's buffer, built by pack (nil: the
// blocks, all of len(send), back to back).
func (x *call) gatherLocal(ctx context.Context, send []byte, pack func([][]byte) []byte) ([]byte, error) {
	t := x.topo
	leader := t.Leader(x.pack)
	if x.me != leader {
		return nil, x.send(ctx, leader, phUp, -1, clone(send))
	}
	lo, hi := t.PackRange(x.pack)
	blocks := make([][]byte, hi-lo)
	blocks[0] = send
	for m := lo + 1; m < hi; m++ {
		var b []byte
		var err error
		if pack == nil {
			b, err = x.recvN(ctx, m, phUp, -1, len(send))
		} else {
			b, err = x.recv(ctx, m, phUp, -1)
		}
		if err != nil {
			return nil, err
		}
		blocks[m-lo] = b
	}
	if pack != nil {
		return pack(blocks), nil
	}
	pb := make([]byte, 0, (hi-lo)*len(send))
	for _, b := range blocks {
		pb = append(pb, b...)
	}
	return pb, nil
}
