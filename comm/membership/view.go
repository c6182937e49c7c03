package membership

import "log/slog"

// view is the membership state of one node: which node holds which pack,
// which packs are done, failed or about to be declared failed. It is a
// plain state machine: memberlist events and user messages go in, failures
// to report come out. It does no I/O, starts nothing and reads no clock, so
// it is tested without sockets; Node serialises calls to it.
type view struct {
	group string
	packs int
	log   *slog.Logger

	nodes map[string]*member
	seq   uint64 // order in which nodes were first seen; also pending ids

	owner   []string // per pack: the node whose claim counts, "" if none alive
	last    []string // per pack: the latest owner, kept after it is gone
	done    []bool   // per pack: its owner finished (MarkDone)
	failed  []bool   // per pack: reported failed (at most once)
	pending []pending

	ready     bool
	firstFail *PackFailedError

	// arbitrated: claims count only once declared (see Config.Arbitrated).
	arbitrated bool
	winner     []string // per pack: the declared winner, "" if none yet
	// claims are pack nodes seen for the first time, for OnClaim; the
	// Node drains them.
	claims []Claim
}

// member is what the view knows about one node.
type member struct {
	name    string
	addr    string // "ip:port" of its memberlist endpoint
	meta    Meta
	seen    uint64 // first-seen order, for "first claim wins"
	alive   bool
	done    bool // announced done by message, or meta.Done
	leaving bool // announced it is leaving (Close before MarkDone)
}

// pending is a failure waiting out Timing.DoneGrace, in case a done
// message from the node is still in flight.
type pending struct {
	id  uint64 // 0: nothing pending
	err *PackFailedError
}

func newView(group string, packs int, arbitrated bool, log *slog.Logger) *view {
	return &view{
		arbitrated: arbitrated,
		winner:     make([]string, packs),
		group:      group,
		packs:      packs,
		log:        log,
		nodes:      make(map[string]*member),
		owner:      make([]string, packs),
		last:       make([]string, packs),
		done:       make([]bool, packs),
		failed:     make([]bool, packs),
		pending:    make([]pending, packs),
	}
}

// alive records that node name is alive at addr with meta m (a join, an
// update, or a return from the dead). m has been checked by the caller.
func (v *view) alive(name, addr string, m Meta) {
	mb, ok := v.nodes[name]
	if !ok {
		v.seq++
		mb = &member{name: name, meta: m, seen: v.seq}
		v.nodes[name] = mb
	} else if mb.meta.Pack != m.Pack {
		v.log.Warn("membership: node changed its pack; keeping the first",
			"node", name, "pack", mb.meta.Pack, "new_pack", m.Pack)
		m.Pack = mb.meta.Pack
	}
	mb.addr, mb.alive = addr, true
	mb.meta = m
	if m.Done {
		mb.done = true
	}
	p := m.Pack
	if p == ObserverPack {
		return
	}
	if !ok {
		v.claims = append(v.claims, Claim{Pack: p, Replica: m.Replica, Node: name, Meta: m})
	}
	switch cur := v.owner[p]; {
	case v.arbitrated && v.winner[p] != name:
		// Not (yet) declared the winner: the claim does not count.
	case cur == "" && v.failed[p]:
		v.log.Warn("membership: node claims a pack that already failed; ignored",
			"node", name, "pack", p)
	case cur == "":
		if v.pending[p].id != 0 {
			v.log.Warn("membership: pack came back before its grace ended; no failure",
				"pack", p, "node", name)
		}
		v.owner[p] = name
		v.last[p] = name
		v.pending[p] = pending{}
	case cur != name && !ok && m.Replica != v.nodes[cur].meta.Replica:
		v.log.Debug("membership: a speculative replica of a pack; the first claim wins",
			"pack", p, "node", name, "replica", m.Replica, "owner", cur)
	case cur != name && !ok:
		v.log.Warn("membership: pack claimed twice; the first claim wins, this one is ignored",
			"pack", p, "node", name, "owner", cur)
	}
	if v.owner[p] == name && mb.done {
		v.done[p] = true
	}
	v.checkReady()
}

// learn records a pack owner that another member vouches for (a ready
// announcement): unless this view already knows the node, it counts as
// alive, as if its join had been gossiped to us.
// In an arbitrated group the vouching member is the arbiter, so the node
// is the pack's winner. A member vouched for as done may be gone already:
// it counts as done, not as alive.
func (v *view) learn(name, addr string, m Meta) {
	if v.arbitrated && v.winner[m.Pack] == "" {
		v.winner[m.Pack] = name
	}
	if _, ok := v.nodes[name]; ok {
		v.countWinner(name) // now perhaps the winner
		return
	}
	if m.Done {
		v.nodeDone(name, m.Pack)
		v.nodes[name].meta = m
		return
	}
	v.alive(name, addr, m)
}

// declare records that the arbiter declared node name the winner of pack
// p; the first declaration stands. It reports whether name is the winner.
func (v *view) declare(p int, name string) bool {
	if p < 0 || p >= v.packs {
		return false
	}
	if v.winner[p] == "" {
		v.winner[p] = name
		v.countWinner(name)
	}
	return v.winner[p] == name
}

// countWinner lets a known node's claim count again once it may have
// been declared its pack's winner: as alive, or as done if it finished.
func (v *view) countWinner(name string) {
	switch mb := v.nodes[name]; {
	case mb == nil:
	case mb.alive:
		v.alive(name, mb.addr, mb.meta)
	case mb.done:
		v.nodeDone(name, mb.meta.Pack)
	}
}

// takeClaims returns the claims seen since the last call.
func (v *view) takeClaims() []Claim {
	c := v.claims
	v.claims = nil
	return c
}

// owners returns copies of the latest owners of the packs, alive or done
// (meta.Done set for a done one).
func (v *view) owners() []*member {
	out := make([]*member, 0, v.packs)
	for _, o := range v.last {
		if o != "" {
			c := *v.nodes[o]
			c.meta.Done = c.done
			out = append(out, &c)
		}
	}
	return out
}

// gone records that node name left (Left) or was declared dead (Dead). If
// it held a pack that is neither done nor failed, and no other live node
// claims that pack, it returns a pending failure; the caller reports it
// with expire after the grace period (or at once if there is none).
func (v *view) gone(name string, kind FailureKind) (p int, id uint64) {
	mb, ok := v.nodes[name]
	if !ok || !mb.alive {
		return 0, 0
	}
	mb.alive = false
	p = mb.meta.Pack
	if p == ObserverPack || v.owner[p] != name {
		return 0, 0 // an observer, or a replica whose claim was ignored
	}
	v.owner[p] = ""
	if v.done[p] || v.failed[p] {
		return 0, 0
	}
	if next := v.nextClaimant(p); next != nil && !v.arbitrated {
		v.owner[p] = next.name
		v.last[p] = next.name
		v.log.Info("membership: pack owner gone; a replica takes over",
			"pack", p, "node", name, "how", string(kind), "replica", next.name)
		if next.done {
			v.done[p] = true
		}
		return 0, 0
	}
	if kind == Dead && !v.ready {
		// While the group forms, hundreds of containers may start on a
		// few cores and a starved node can miss its probes. Before the
		// barrier a silent pack only counts as missing again: if it is
		// alive it comes back, and if it is not, the ready barrier's
		// deadline names it (and runtimes report dead containers
		// themselves). A pack that says it leaves still fails the group.
		v.log.Warn("membership: pack suspected dead before the group is ready; it counts as missing",
			"pack", p, "node", name)
		return 0, 0
	}
	v.seq++
	v.pending[p] = pending{id: v.seq, err: &PackFailedError{
		Group: v.group, Pack: p, Node: name, Kind: kind,
	}}
	return p, v.seq
}

// nextClaimant returns the live node that claimed pack p first, or nil.
func (v *view) nextClaimant(p int) *member {
	var best *member
	for _, mb := range v.nodes {
		if mb.alive && mb.meta.Pack == p && (best == nil || mb.seen < best.seen) {
			best = mb
		}
	}
	return best
}

// expire turns the pending failure id of pack p into a failure, unless the
// pack was done, taken over or already failed in the meantime.
func (v *view) expire(p int, id uint64) *PackFailedError {
	if p < 0 || p >= v.packs || v.pending[p].id != id || id == 0 {
		return nil
	}
	err := v.pending[p].err
	v.pending[p] = pending{}
	if mb := v.nodes[err.Node]; mb != nil {
		if mb.done {
			v.done[p] = true
		}
		if mb.leaving {
			err.Kind = Left
		}
	}
	if v.done[p] || v.failed[p] || v.owner[p] != "" {
		return nil
	}
	return v.fail(err)
}

// nodeDone records a done message from node name.
func (v *view) nodeDone(name string, pack int) {
	mb, ok := v.nodes[name]
	if !ok {
		// Done before we saw it alive: remember it, so that it counts
		// once it shows up and its leave is not taken for a failure.
		v.seq++
		mb = &member{name: name, meta: Meta{Group: v.group, Pack: pack}, seen: v.seq}
		v.nodes[name] = mb
	}
	mb.done = true
	p := mb.meta.Pack
	if p == ObserverPack || p < 0 || p >= v.packs {
		return
	}
	if v.arbitrated && v.winner[p] != name {
		// A replica not (yet) declared the pack's owner: a loser says
		// done as it stops, and that must not stand for the pack.
		// declare counts the winner's done once it is declared.
		return
	}
	if v.owner[p] == name {
		v.done[p] = true
	}
	if v.last[p] == "" && !v.failed[p] {
		// A pack that finished before we ever saw it alive was ready (it
		// passed its own barrier): it counts for ours, or we would wait
		// for a pack that is already gone.
		v.last[p] = name
		v.done[p] = true
		v.checkReady()
	}
}

// nodeLeaving records a leaving message from node name: memberlist does
// not tell a leave from a death, so a node that closes before it is done
// says so first, and its going is then reported as Left.
func (v *view) nodeLeaving(name string) {
	if mb, ok := v.nodes[name]; ok {
		mb.leaving = true
	}
}

// announced records that a member announced pack p failed. It returns the
// failure to report, or nil if p was already reported.
func (v *view) announced(p int, from, reason string) *PackFailedError {
	if p < 0 || p >= v.packs {
		return nil
	}
	v.pending[p] = pending{}
	return v.fail(&PackFailedError{Group: v.group, Pack: p, Node: from, Kind: Announced, Reason: reason})
}

func (v *view) fail(err *PackFailedError) *PackFailedError {
	if v.failed[err.Pack] {
		return nil
	}
	v.failed[err.Pack] = true
	if v.firstFail == nil {
		v.firstFail = err
	}
	return err
}

// checkReady latches the ready barrier once every pack has been seen alive
// (or done).
func (v *view) checkReady() {
	if !v.ready && len(v.missing()) == 0 {
		v.ready = true
	}
}

// packDone reports whether pack p has finished: marked done, or its
// latest owner said so (a done message can arrive after its node went).
func (v *view) packDone(p int) bool {
	if p < 0 || p >= v.packs {
		return false
	}
	mb := v.nodes[v.last[p]]
	return v.done[p] || mb != nil && mb.done
}

// latest returns the latest metadata of every pack seen so far, alive or
// not (Done set if it was done).
func (v *view) latest() map[int]Meta { return v.metas(v.last) }

// current returns the packs whose owner is alive now, with their metadata.
func (v *view) current() map[int]Meta { return v.metas(v.owner) }

func (v *view) metas(owners []string) map[int]Meta {
	out := make(map[int]Meta, v.packs)
	for p, o := range owners {
		if o == "" {
			continue
		}
		mb := v.nodes[o]
		m := mb.meta
		m.Done = mb.done
		out[p] = m
	}
	return out
}

// missing returns the packs that have no live owner and are neither done
// nor failed,
// ascending.
func (v *view) missing() []int {
	var out []int
	for p, o := range v.owner {
		if o == "" && !v.done[p] && !v.failed[p] {
			out = append(out, p)
		}
	}
	return out
}

// peers returns copies of the live nodes other than self.
func (v *view) peers(self string) []*member {
	out := make([]*member, 0, len(v.nodes))
	for name, mb := range v.nodes {
		if mb.alive && name != self {
			c := *mb
			out = append(out, &c)
		}
	}
	return out
}
