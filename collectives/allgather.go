package collectives

import "context"

// AllGather collects every rank's send into every rank's recv: every rank
// passes a send of the same length B and a recv of Size()*B bytes; rank
// i's block lands at recv[i*B:]. Members hand their block to their leader
// without copying, the leaders exchange their packs' blocks (all at once,
// or along a ring for large results; see Thresholds.AllGather), and each
// leader hands the P pack buffers to its members without copying.
func (c *Collectives) AllGather(ctx context.Context, send, recv []byte) (err error) {
	x, err := c.begin(ctx, opAllGather)
	if err != nil {
		return err
	}
	defer x.end(&err)
	t := x.topo
	B := len(send)
	if len(recv) != t.Size()*B {
		return x.invalid("recv has %d bytes, want size %d * send %d", len(recv), t.Size(), B)
	}
	P := t.Packs()
	pb, err := x.gatherLocal(ctx, send, nil)
	if err != nil {
		return err
	}
	if !t.IsLeader(x.me) {
		return x.recvPieces(ctx, t.Leader(x.pack), P, recv)
	}
	pieces := make([][]byte, P)
	pieces[x.pack] = pb
	alg := c.th.AllGather(P, len(recv))
	if err := x.allgatherLeaders(ctx, alg, pieces, func(q int) int { return t.PackSize(q) * B }); err != nil {
		return err
	}
	b := x.post(ctx, -1, fanout(x.members(x.pack, -1), pieces...)...)
	place(recv, pieces)
	return b.wait()
}

// AllGatherv collects every rank's send into every rank's recv[i]: every
// rank passes len(recv) == Size(), len(recv[i]) is the count expected from
// rank i (the same on every rank), and len(send) == len(recv[Rank()]).
// Each pack's pieces travel as one bundle (lengths, then data), so every
// rank checks every count.
func (c *Collectives) AllGatherv(ctx context.Context, send []byte, recv [][]byte) (err error) {
	x, err := c.begin(ctx, opAllGatherv)
	if err != nil {
		return err
	}
	defer x.end(&err)
	t := x.topo
	if len(recv) != t.Size() {
		return x.invalid("%d recv slices, want %d", len(recv), t.Size())
	}
	if len(recv[x.me]) != len(send) {
		return x.invalid("recv[%d] has %d bytes but send %d", x.me, len(recv[x.me]), len(send))
	}
	P := t.Packs()
	pb, err := x.gatherLocal(ctx, send, encodeBundle)
	if err != nil {
		return err
	}
	pieces := make([][]byte, P)
	var b *batch
	if !t.IsLeader(x.me) {
		for q := range pieces {
			if pieces[q], err = x.recv(ctx, t.Leader(x.pack), phDown, -1); err != nil {
				return err
			}
		}
	} else {
		pieces[x.pack] = pb
		total := 0
		for _, r := range recv {
			total += len(r)
		}
		if err := x.allgatherLeaders(ctx, c.th.AllGather(P, total), pieces, nil); err != nil {
			return err
		}
		b = x.post(ctx, -1, fanout(x.members(x.pack, -1), pieces...)...)
	}
	err = x.unbundle(pieces, recv, phDown)
	if b != nil {
		if err != nil {
			b.abort()
			return err
		}
		return b.wait()
	}
	return err
}

// unbundle decodes one bundle per pack and copies rank i's piece into
// recv[i], checking every length.
func (x *call) unbundle(bundles [][]byte, recv [][]byte, ph phase) error {
	t := x.topo
	for q, bun := range bundles {
		lo, hi := t.PackRange(q)
		pieces, err := decodeBundle(bun, hi-lo)
		if err != nil {
			return x.errf(ph, -1, "pack %d: %w", q, err)
		}
		for i, p := range pieces {
			if len(p) != len(recv[lo+i]) {
				return x.errf(ph, -1, "rank %d sent %d bytes, want %d: %w", lo+i, len(p), len(recv[lo+i]), ErrMismatch)
			}
			copy(recv[lo+i], p)
		}
	}
	return nil
}

// allgatherLeaders completes pieces (one per pack, the own one set) among
// the leaders. want(q) is the length pack q's piece must have (nil: not
// checked here).
func (x *call) allgatherLeaders(ctx context.Context, alg Algorithm, pieces [][]byte, want func(int) int) error {
	t := x.topo
	P := t.Packs()
	n := func(q int) int {
		if want == nil {
			return -1
		}
		return want(q)
	}
	recv := func(src, q int, ph phase, round int) error {
		var err error
		if want == nil {
			pieces[q], err = x.recv(ctx, t.Leader(src), ph, round)
		} else {
			pieces[q], err = x.recvN(ctx, t.Leader(src), ph, round, want(q))
		}
		return err
	}
	switch alg {
	case AlgDirect:
		out := make([]msg, 0, P-1)
		for q := 0; q < P; q++ {
			if q != x.pack {
				out = append(out, msg{t.Leader(q), phDirect, pieces[x.pack]})
			}
		}
		b := x.post(ctx, -1, out...)
		for q := 0; q < P; q++ {
			if q == x.pack {
				continue
			}
			if err := recv(q, q, phDirect, -1); err != nil {
				b.abort()
				return err
			}
		}
		return b.wait()
	case AlgRing:
		left, right := ringNeighbours(x.pack, P)
		for s := 0; s < P-1; s++ {
			send := (x.pack - s + P) % P
			get := (x.pack - s - 1 + P) % P
			in, err := x.sendrecv(ctx, phRing, s, t.Leader(right), pieces[send], t.Leader(left), n(get))
			if err != nil {
				return err
			}
			pieces[get] = in
		}
	}
	return nil
}
