package collectives

import "context"

// AllToAll sends block j of every rank's send to rank j, which stores the
// block from rank i at recv[i*B:]: every rank passes send and recv of
// Size()*B bytes, with the same B everywhere. Pack mates exchange their
// send buffers directly, without copying; each leader aggregates all the
// blocks its pack sends to another pack into one message, so exactly
// P*(P-1) messages cross the network, all between leaders (pairwise rounds
// or all at once; see Thresholds.AllToAll), and hands the P-1 messages it
// receives to its members without copying.
func (c *Collectives) AllToAll(ctx context.Context, send, recv []byte) (err error) {
	x, err := c.begin(ctx, opAllToAll)
	if err != nil {
		return err
	}
	defer x.end(&err)
	t := x.topo
	N := t.Size()
	if len(send) != len(recv) || len(send)%N != 0 {
		return x.invalid("send has %d bytes and recv %d, want the same multiple of size %d", len(send), len(recv), N)
	}
	B := len(send) / N
	me := x.me
	copy(recv[me*B:(me+1)*B], send[me*B:])
	mates, err := x.exchangeLocal(ctx, clone(send), len(send))
	if err != nil {
		return err
	}
	lo, hi := t.PackRange(x.pack)
	gp := hi - lo
	for j, s := range mates {
		if lo+j != me {
			copy(recv[(lo+j)*B:], s[me*B:(me+1)*B])
		}
	}
	// extract copies this rank's blocks out of the aggregate from pack q.
	extract := func(q int, bun []byte) {
		qlo, qhi := t.PackRange(q)
		gq := qhi - qlo
		li := me - lo
		copy(recv[qlo*B:qhi*B], bun[li*gq*B:(li+1)*gq*B])
	}
	size := func(q int) int { return gp * t.PackSize(q) * B }
	P := t.Packs()
	leader := t.Leader(x.pack)
	if me != leader {
		for q := 0; q < P; q++ {
			if q == x.pack {
				continue
			}
			bun, err := x.recvN(ctx, leader, phDown, -1, size(q))
			if err != nil {
				return err
			}
			extract(q, bun)
		}
		return nil
	}
	// The aggregate for pack q: for each destination in q (in rank order),
	// the blocks from each rank of this pack (in rank order).
	out := make([][]byte, P)
	for q := 0; q < P; q++ {
		if q == x.pack {
			continue
		}
		qlo, qhi := t.PackRange(q)
		bun := make([]byte, 0, size(q))
		for d := qlo; d < qhi; d++ {
			for _, s := range mates {
				bun = append(bun, s[d*B:(d+1)*B]...)
			}
		}
		out[q] = bun
	}
	in, err := x.exchangeLeaders(ctx, out, size)
	if err != nil {
		return err
	}
	return x.fanoutAggregates(ctx, in, extract)
}

// AllToAllv sends send[j] of every rank to rank j, which stores the piece
// from rank i in recv[i]: every rank passes len(send) == len(recv) ==
// Size(), and len(recv[i]) is the count it expects from rank i, which must
// equal len(send[j]) at rank i. A piece of at least
// Thresholds.AllToAllvDirectBytes goes straight from its sender to its
// receiver (inside a pack without a copy); smaller pieces travel as
// AllToAll's blocks do, aggregated per pair of packs, in bundles (lengths,
// then data) so that every count is checked. Sender and receiver both know
// a piece's length, so they agree on its path. A rank takes its share in
// the aggregated exchange only once it has copied the pieces sent to it
// directly, and no rank returns before it has heard, through the leaders,
// from every other rank: so when the call returns, nobody reads the
// caller's send buffers any more.
func (c *Collectives) AllToAllv(ctx context.Context, send, recv [][]byte) (err error) {
	x, err := c.begin(ctx, opAllToAllv)
	if err != nil {
		return err
	}
	defer x.end(&err)
	t := x.topo
	N := t.Size()
	me := x.me
	if len(send) != N || len(recv) != N {
		return x.invalid("%d send and %d recv slices, want %d", len(send), len(recv), N)
	}
	if len(send[me]) != len(recv[me]) {
		return x.invalid("send[%d] has %d bytes but recv[%d] %d", me, len(send[me]), me, len(recv[me]))
	}
	copy(recv[me], send[me])
	direct := func(n int) bool { return n > 0 && n >= x.c.th.AllToAllvDirectBytes }
	// small is send without the pieces that go direct (and without the
	// own piece, already in place).
	small := make([][]byte, N)
	var pieces []msg
	for d, p := range send {
		switch {
		case d == me:
		case direct(len(p)):
			pieces = append(pieces, msg{d, phPiece, p})
		default:
			small[d] = p
		}
	}
	sent := x.post(ctx, -1, pieces...)
	defer sent.abort()
	for src, r := range recv {
		if src == me || !direct(len(r)) {
			continue
		}
		if err := x.recvInto(ctx, src, phPiece, -1, r); err != nil {
			return err
		}
	}
	if err := x.allToAllSmall(ctx, small, recv, direct); err != nil {
		return err
	}
	return sent.wait()
}

// allToAllSmall moves the pieces of small, the ones that do not go direct,
// through the pack leaders: pack mates exchange their bundles, each leader
// sends one aggregate per other pack and hands the aggregates it receives
// to its members. A piece recv[src] with direct(len) travels on its own,
// and arrives here as an empty placeholder.
func (x *call) allToAllSmall(ctx context.Context, small, recv [][]byte, direct func(int) bool) error {
	t := x.topo
	N := t.Size()
	me := x.me
	// want is the length of the piece from src in a bundle.
	want := func(src int) int {
		if direct(len(recv[src])) {
			return 0
		}
		return len(recv[src])
	}
	mates, err := x.exchangeLocal(ctx, encodeBundle(small), -1)
	if err != nil {
		return err
	}
	lo, hi := t.PackRange(x.pack)
	gp := hi - lo
	leader := t.Leader(x.pack)
	// pieces[j][d] is from rank lo+j to rank d; only the leader, which
	// forwards them, splits the mates' bundles whole.
	pieces := make([][][]byte, gp)
	for j, s := range mates {
		from, to := me, me+1
		if me == leader {
			from, to = 0, N
		}
		ps, err := bundlePieces(s, N, from, to)
		if err != nil {
			return x.errf(phLocal, -1, "from %d: %w", lo+j, err)
		}
		if me == leader {
			pieces[j] = ps
		}
		if src := lo + j; src != me {
			p := ps[me-from]
			if len(p) != want(src) {
				return x.errf(phLocal, -1, "rank %d sent %d bytes, want %d: %w", src, len(p), want(src), ErrMismatch)
			}
			copy(recv[src], p)
		}
	}
	var extractErr error
	extract := func(q int, bun []byte) {
		qlo, qhi := t.PackRange(q)
		gq := qhi - qlo
		li := me - lo
		ps, err := bundlePieces(bun, gp*gq, li*gq, (li+1)*gq)
		if err != nil {
			extractErr = x.errf(phDown, -1, "pack %d: %w", q, err)
			return
		}
		for k := 0; k < gq; k++ {
			p := ps[k]
			if len(p) != want(qlo+k) {
				extractErr = x.errf(phDown, -1, "rank %d sent %d bytes, want %d: %w", qlo+k, len(p), want(qlo+k), ErrMismatch)
				return
			}
			copy(recv[qlo+k], p)
		}
	}
	P := t.Packs()
	if me != leader {
		for q := 0; q < P && extractErr == nil; q++ {
			if q == x.pack {
				continue
			}
			bun, err := x.recv(ctx, leader, phDown, -1)
			if err != nil {
				return err
			}
			extract(q, bun)
		}
		return extractErr
	}
	out := make([][]byte, P)
	for q := 0; q < P; q++ {
		if q == x.pack {
			continue
		}
		qlo, qhi := t.PackRange(q)
		agg := make([][]byte, 0, (qhi-qlo)*gp)
		for d := qlo; d < qhi; d++ {
			for j := range pieces {
				agg = append(agg, pieces[j][d])
			}
		}
		out[q] = encodeBundle(agg)
	}
	in, err := x.exchangeLeaders(ctx, out, nil)
	if err != nil {
		return err
	}
	if err := x.fanoutAggregates(ctx, in, extract); err != nil {
		return err
	}
	return extractErr
}

// exchangeLocal gives every pack mate this rank's buffer s (owned, then
// read-only) and returns the buffers of all pack mates, in rank order,
// this rank's own included. Rounds k = 1..g-1 pair each rank with the mate
// k ahead (to send) and k behind (to receive), so the exchange cannot
// deadlock even when Send waits for the receiver. want < 0 skips the
// length check.
func (x *call) exchangeLocal(ctx context.Context, s []byte, want int) ([][]byte, error) {
	lo, hi := x.topo.PackRange(x.pack)
	g := hi - lo
	li := x.me - lo
	out := make([]msg, 0, g-1)
	for k := 1; k < g; k++ {
		out = append(out, msg{lo + (li+k)%g, phLocal, s})
	}
	b := x.post(ctx, -1, out...)
	mates := make([][]byte, g)
	mates[li] = s
	for k := 1; k < g; k++ {
		j := (li - k + g) % g
		var err error
		if want < 0 {
			mates[j], err = x.recv(ctx, lo+j, phLocal, -1)
		} else {
			mates[j], err = x.recvN(ctx, lo+j, phLocal, -1, want)
		}
		if err != nil {
			b.abort()
			return nil, err
		}
	}
	return mates, b.wait()
}

// exchangeLeaders sends out[q] to the leader of every other pack q and
// returns what each sent here (in[q]; the own entry nil). Every ordered
// pair of leaders exchanges exactly one message on one tag, so a leader
// may pace its sends in pairwise rounds or post them all at once without
// the others having to agree. want(q) is the length expected from pack q
// (nil: not checked here).
func (x *call) exchangeLeaders(ctx context.Context, out [][]byte, want func(int) int) ([][]byte, error) {
	t := x.topo
	P := t.Packs()
	in := make([][]byte, P)
	get := func(q, round int) error {
		var err error
		if want == nil {
			in[q], err = x.recv(ctx, t.Leader(q), phPairwise, round)
		} else {
			in[q], err = x.recvN(ctx, t.Leader(q), phPairwise, round, want(q))
		}
		return err
	}
	total := 0
	for _, o := range out {
		total += len(o)
	}
	switch x.c.th.AllToAll(P, total) {
	case AlgNone:
	case AlgPairwise:
		for k := 1; k < P; k++ {
			to, from := pairwisePeers(x.pack, P, k)
			b := x.post(ctx, k, msg{t.Leader(to), phPairwise, out[to]})
			if err := get(from, k); err != nil {
				b.abort()
				return nil, err
			}
			if err := b.wait(); err != nil {
				return nil, err
			}
		}
	default:
		msgs := make([]msg, 0, P-1)
		for k := 1; k < P; k++ {
			to, _ := pairwisePeers(x.pack, P, k)
			msgs = append(msgs, msg{t.Leader(to), phPairwise, out[to]})
		}
		b := x.post(ctx, -1, msgs...)
		for k := 1; k < P; k++ {
			_, from := pairwisePeers(x.pack, P, k)
			if err := get(from, -1); err != nil {
				b.abort()
				return nil, err
			}
		}
		if err := b.wait(); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// fanoutAggregates hands the aggregates received from the other packs, in
// pack order, to every member of the pack, and extracts this rank's part.
func (x *call) fanoutAggregates(ctx context.Context, in [][]byte, extract func(int, []byte)) error {
	var pieces [][]byte
	for q, bun := range in {
		if q != x.pack {
			pieces = append(pieces, bun)
		}
	}
	b := x.post(ctx, -1, fanout(x.members(x.pack, -1), pieces...)...)
	for q, bun := range in {
		if q != x.pack {
			extract(q, bun)
		}
	}
	return b.wait()
}
