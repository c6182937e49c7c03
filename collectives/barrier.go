package collectives

import "context"

// Barrier returns once every rank has entered it. Members tell their
// leader, the leaders run a dissemination barrier (ceil(log2 P) rounds of
// empty messages), and each leader releases its members.
func (c *Collectives) Barrier(ctx context.Context) (err error) {
	x, err := c.begin(ctx, opBarrier)
	if err != nil {
		return err
	}
	defer x.end(&err)
	t := x.topo
	leader := t.Leader(x.pack)
	if x.me != leader {
		if err := x.send(ctx, leader, phUp, -1, nil); err != nil {
			return err
		}
		_, err := x.recvN(ctx, leader, phDown, -1, 0)
		return err
	}
	members := x.members(x.pack, -1)
	for _, m := range members {
		if _, err := x.recvN(ctx, m, phUp, -1, 0); err != nil {
			return err
		}
	}
	P := t.Packs()
	for round, d := 0, 1; d < P; round, d = round+1, d*2 {
		to, from := disseminationPeers(x.pack, P, d)
		if _, err := x.sendrecv(ctx, phDissem, round, t.Leader(to), nil, t.Leader(from), 0); err != nil {
			return err
		}
	}
	return x.sendAll(ctx, -1, fanout(members, nil)...)
}
