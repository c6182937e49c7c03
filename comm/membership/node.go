package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Node is one member of a group's membership: a memberlist node plus the
// group's view (who holds which pack, which are done or failed). Its
// methods are safe for concurrent use.
type Node struct {
	cfg  Config
	log  *slog.Logger
	ml   *memberlist.Memberlist
	addr string

	metaMu sync.Mutex
	self   Meta
	meta   []byte // encoded self; replaced, never modified

	mu      sync.Mutex
	v       *view
	changed chan struct{} // closed and replaced whenever v changes
	closing bool
	timers  map[uint64]*time.Timer
	queue   []*PackFailedError     // failures for the dispatcher to report
	claims  []Claim                // claims for the dispatcher to report
	stopErr error                  // why this node was told to stop
	stopped bool                   // stopErr was handed to the dispatcher
	told    bool                   // a member announced the group ready
	refused map[string]bool        // peers already logged as refused
	checked map[string]checkedMeta // checkPeer's cache, by node name
	foreign error                  // a join refused because of another group
	relay   []doneNode             // an observer's done packs not yet passed on

	wake      chan struct{}   // wakes the dispatcher
	relayKick chan struct{}   // wakes an observer's relayLoop
	ended     chan struct{}   // closed when the observer says the group ended
	life      context.Context // ends when Close stops the loops; bounds their sends
	endLife   context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// maxSends bounds the reliable messages a node sends at once.
const maxSends = 8

// Start starts a membership node: it listens on cfg.BindAddr, joins
// cfg.Seeds (retrying every Timing.JoinRetry until one answers or ctx
// ends) and returns. A node with no seeds starts a group of its own (the
// launcher). Start fails at once if the seeds belong to another group
// (ErrForeignGroup) or cfg.Self would not fit in the metadata
// (ErrMetaTooLarge). Close the Node when done with it.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.prepare(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:       cfg,
		log:       cfg.Logger.With("node", cfg.Name),
		self:      cfg.Self,
		changed:   make(chan struct{}),
		timers:    make(map[uint64]*time.Timer),
		refused:   make(map[string]bool),
		checked:   make(map[string]checkedMeta),
		wake:      make(chan struct{}, 1),
		relayKick: make(chan struct{}, 1),
		ended:     make(chan struct{}),
	}
	n.life, n.endLife = context.WithCancel(context.Background())
	n.v = newView(cfg.Group, cfg.Packs, cfg.Arbitrated, n.log)
	var err error
	if n.meta, err = encodeMeta(cfg.Self, MaxMetaSize); err != nil {
		return nil, fmt.Errorf("membership: group %s: %w", cfg.Group, err)
	}
	mc, err := cfg.memberlistConfig(&delegate{n})
	if err != nil {
		return nil, fmt.Errorf("membership: %s: %w", cfg.Name, err)
	}
	n.wg.Add(1)
	go n.dispatch()
	if n.ml, err = memberlist.Create(mc); err != nil {
		n.stopLoops()
		return nil, fmt.Errorf("membership: %s: start memberlist on %s: %w", cfg.Name, cfg.BindAddr, err)
	}
	n.addr = n.ml.LocalNode().Address()
	if err := n.join(ctx); err != nil {
		n.stopLoops()
		_ = n.ml.Shutdown()
		return nil, err
	}
	n.wg.Add(1)
	go n.syncLoop()
	if cfg.Self.IsObserver() {
		n.wg.Add(1)
		go n.relayLoop()
	}
	n.log.Debug("membership: started", "addr", n.addr, "pack", cfg.Self.Pack, "packs", cfg.Packs)
	return n, nil
}

// join joins the seeds, retrying until one answers or ctx ends.
func (n *Node) join(ctx context.Context) error {
	seeds := n.cfg.Seeds
	if len(seeds) == 0 {
		return nil
	}
	for attempt := 1; ; attempt++ {
		k, err := n.ml.Join(seeds)
		if k > 0 {
			return nil
		}
		n.mu.Lock()
		foreign := n.foreign
		n.mu.Unlock()
		if foreign != nil {
			return fmt.Errorf("membership: %s: join %v: %w", n.cfg.Name, seeds, foreign)
		}
		t := time.NewTimer(n.cfg.Timing.JoinRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("membership: %s: join %v: gave up after %d attempt(s), last error: %v: %w",
				n.cfg.Name, seeds, attempt, err, ctx.Err())
		case <-t.C:
		}
	}
}

// syncLoop helps the ready barrier along. In a large group started at
// once, gossip spreads the joins slowly (every member re-gossips every
// join it learns) and loses some when members are busy, while memberlist's
// own full syncs are rare. So, until every pack has been seen, the node
// does a full state sync with a random member (or a seed if it knows
// none) every SyncInterval*max(1, Packs/64), jittered: a sync costs in
// proportion to the group's size, so the group as a whole does a bounded
// number per second. Measured in one process, a group of 64 is ready in
// about 0.6 s instead of 1.4 s with gossip alone. A node that knows an
// observer syncs observerSyncFactor times less often: the observer (the
// launcher, whose seed every pack joined) sees every pack first and
// announces them all (AnnounceReady), and 256 packs syncing with each
// other spent a fifth of their CPU on it while they waited for that.
func (n *Node) syncLoop() {
	defer n.wg.Done()
	interval := n.cfg.Timing.SyncInterval * time.Duration(max(1, n.cfg.Packs/64))
	t := time.NewTimer(jitter(interval))
	defer t.Stop()
	for {
		select {
		case <-n.life.Done():
			return
		case <-t.C:
		}
		n.mu.Lock()
		ready := n.v.ready
		peers := n.v.peers(n.cfg.Name)
		n.mu.Unlock()
		if ready {
			return
		}
		next := interval
		var target string
		for _, p := range peers {
			if p.meta.IsObserver() {
				next = interval * observerSyncFactor
				break
			}
		}
		t.Reset(jitter(next))
		if len(peers) > 0 {
			target = peers[rand.IntN(len(peers))].addr
		} else if seeds := n.cfg.Seeds; len(seeds) > 0 {
			target = seeds[rand.IntN(len(seeds))]
		}
		if target == "" {
			continue
		}
		if _, err := n.ml.Join([]string{target}); err != nil {
			n.log.Debug("membership: sync failed", "peer", target, "err", err)
		}
	}
}

// observerSyncFactor slows syncLoop down in a group with an observer.
const observerSyncFactor = 8

// jitter returns d scaled by a random factor in [0.5, 1.5).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d)
}

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Addr returns the node's memberlist address, "host:port", to give other
// nodes as a seed.
func (n *Node) Addr() string { return n.addr }

// WaitReady blocks until every pack 0..Packs-1 has been seen alive (the
// ready barrier) and returns the latest metadata of every pack (a pack
// that has since finished and left is still there, with Done set). It
// returns a *PackFailedError if a pack has failed, a *NotReadyError naming
// the missing packs if ctx ends first, ErrClosed if the node is closed,
// and an error wrapping ErrPreempted once this replica has lost its race.
func (n *Node) WaitReady(ctx context.Context) (map[int]Meta, error) {
	for {
		n.mu.Lock()
		v, ch, closing, stopErr := n.v, n.changed, n.closing, n.stopErr
		if closing {
			n.mu.Unlock()
			return nil, ErrClosed
		}
		if stopErr != nil {
			// A replica that lost its race never passes the barrier,
			// even before OnStop has run.
			n.mu.Unlock()
			return nil, stopErr
		}
		if v.firstFail != nil {
			err := v.firstFail
			n.mu.Unlock()
			return nil, err
		}
		if v.ready && (n.told || !n.cfg.AwaitAnnouncement) {
			view := v.latest()
			n.mu.Unlock()
			return view, nil
		}
		n.mu.Unlock()
		select {
		case <-ch:
		case <-n.life.Done():
			return nil, ErrClosed
		case <-ctx.Done():
			n.mu.Lock()
			missing := n.v.missing()
			n.mu.Unlock()
			return nil, &NotReadyError{Group: n.cfg.Group, Missing: missing, Err: ctx.Err()}
		}
	}
}

// Packs returns the current view: the packs whose node is alive now (a
// pack that finished and left is no longer listed), with their metadata.
// Observers are not listed. When two nodes claim a pack, the first seen
// is listed and the other ignored; if the first goes, the other takes
// its place.
func (n *Node) Packs() map[int]Meta {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.v.current()
}

// PackDone reports whether pack has finished its work (its node called
// MarkDone). Unlike Packs, it stays true once the pack's node has left.
func (n *Node) PackDone(pack int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.v.packDone(pack)
}

// MarkDone records that this node's pack has finished its work, so that
// its leaving or dying afterwards does not fail the group. It sets Done in
// the node's metadata, queues it for gossip, and sends a done message to
// the group's observer, which relays it to the packs still running; with
// no observer, or none that takes the message, it sends it directly to
// every running pack. It returns once the messages were sent, or with an
// error naming the members it could not reach (a member that died cannot
// learn it, and does not need to). Call it before Close.
func (n *Node) MarkDone(ctx context.Context) error {
	if n.isClosing() {
		return ErrClosed
	}
	n.metaMu.Lock()
	n.self.Done = true
	b, err := encodeMeta(n.self, MaxMetaSize)
	if err == nil {
		n.meta = b
	}
	n.metaMu.Unlock()
	if err != nil {
		return err // checked by Start; cannot happen
	}
	n.mu.Lock()
	n.v.nodeDone(n.cfg.Name, n.cfg.Self.Pack)
	n.signal()
	n.mu.Unlock()

	timeout := n.cfg.Timing.StreamTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 || ctx.Err() != nil {
		err := ctx.Err()
		if err == nil {
			err = context.DeadlineExceeded
		}
		return fmt.Errorf("membership: %s: mark done: %w", n.cfg.Name, err)
	}
	// Gossip the new metadata without waiting for it to spread: the
	// direct message below is what makes sure every member learns it.
	// (memberlist's UpdateNode blocks until the broadcast is sent, forever
	// for a zero timeout, so give it a token one and ignore the timeout.)
	if err := n.ml.UpdateNode(time.Millisecond); err != nil {
		n.log.Debug("membership: done gossip queued, not yet sent", "err", err)
	}
	// Tell the observers, which pass it on to the packs still running in
	// batches (relayLoop): a group that ends all at once then sends about
	// one message per pack, not one per pair of packs. Without an
	// observer, or if none answers, tell the running packs directly.
	msg := message{Kind: msgDone, Group: n.cfg.Group, Node: n.cfg.Name, Pack: n.cfg.Self.Pack}
	if n.hasObserver() {
		err := n.sendTo(ctx, msg.encode(), func(mb *member) bool { return mb.meta.IsObserver() })
		if err == nil {
			return nil
		}
		n.log.Debug("membership: done not delivered to the observer; telling the running packs", "err", err)
	}
	if err := n.sendRunning(ctx, msg.encode()); err != nil {
		return fmt.Errorf("membership: %s: mark done: %w", n.cfg.Name, err)
	}
	return nil
}

// hasObserver reports whether a live observer is in the view.
func (n *Node) hasObserver() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, mb := range n.v.peers(n.cfg.Name) {
		if mb.meta.IsObserver() {
			return true
		}
	}
	return false
}

// relayLoop runs on an observer: it passes the done messages it gets on
// to the packs still running, in one message per pack for whatever
// arrived while the previous batch was being sent.
func (n *Node) relayLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.life.Done():
			return
		case <-n.relayKick:
		}
		n.mu.Lock()
		batch := n.relay
		n.relay = nil
		n.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(n.life, n.cfg.Timing.StreamTimeout)
		msg := message{Kind: msgDones, Group: n.cfg.Group, Node: n.cfg.Name, Pack: ObserverPack, Done: batch}
		if err := n.sendRunning(ctx, msg.encode()); err != nil {
			n.log.Debug("membership: done packs not relayed to all running packs", "packs", len(batch), "err", err)
		}
		cancel()
	}
}

// AnnounceFailed tells every live member that pack failed, for reason;
// each of them (this node included) reports it through OnPackFailed,
// unless that pack was already reported. The launcher calls it when it
// sees a container die, which is faster than failure detection. It
// returns an error naming the members it could not reach.
func (n *Node) AnnounceFailed(ctx context.Context, pack int, reason string) error {
	if n.isClosing() {
		return ErrClosed
	}
	if pack < 0 || pack >= n.cfg.Packs {
		return fmt.Errorf("membership: %s: announce failed: pack %d out of range [0, %d)", n.cfg.Name, pack, n.cfg.Packs)
	}
	msg := message{Kind: msgFail, Group: n.cfg.Group, Node: n.cfg.Name, Pack: pack, Reason: reason}
	n.onMessage(msg)
	if err := n.sendAll(ctx, msg.encode()); err != nil {
		return fmt.Errorf("membership: %s: announce pack %d failed: %w", n.cfg.Name, pack, err)
	}
	return nil
}

// sendAll sends msg reliably (TCP) to every live member but us, a few at
// a time.
func (n *Node) sendAll(ctx context.Context, msg []byte) error {
	return n.sendTo(ctx, msg, func(*member) bool { return true })
}

// sendRunning sends msg to the live members that are still working: not
// done, and not observers. A done pack no longer cares that another pack
// finished, so the done messages of a group that ends all at once shrink
// as it ends.
func (n *Node) sendRunning(ctx context.Context, msg []byte) error {
	return n.sendTo(ctx, msg, func(mb *member) bool { return !mb.done && !mb.meta.IsObserver() })
}

// sendTo sends msg to the live members that want accepts.
func (n *Node) sendTo(ctx context.Context, msg []byte, want func(*member) bool) error {
	n.mu.Lock()
	var peers []*member
	for _, mb := range n.v.peers(n.cfg.Name) {
		if want(mb) {
			peers = append(peers, mb)
		}
	}
	n.mu.Unlock()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, maxSends)
	)
loop:
	for _, p := range peers {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			mu.Lock()
			errs = append(errs, ctx.Err())
			mu.Unlock()
			break loop
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := n.sendOne(p, msg)
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("to %s: %w", p.name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (n *Node) sendOne(p *member, msg []byte) error {
	host, port, err := net.SplitHostPort(p.addr)
	if err != nil {
		return err
	}
	pn, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("bad port in %q", p.addr)
	}
	return n.ml.SendReliable(&memberlist.Node{Name: p.name, Addr: net.ParseIP(host), Port: uint16(pn)}, msg)
}

// Close leaves the group (waiting up to leaveTimeout for the leave to be
// gossiped; 0 means Timing.StreamTimeout), shuts memberlist down and stops
// the node's goroutines; memberlist's last probe, if one is in flight,
// ends within ProbeInterval*AwarenessMaxMultiplier. After Close no
// OnPackFailed call is made. Closing before MarkDone fails the node's
// pack at every other member (reported as Left: the node tells them it is
// leaving first). Close is idempotent; it must not be called from
// OnPackFailed.
func (n *Node) Close(leaveTimeout time.Duration) error {
	n.closeOnce.Do(func() {
		if leaveTimeout <= 0 {
			leaveTimeout = n.cfg.Timing.StreamTimeout
		}
		n.mu.Lock()
		n.closing = true
		for id, t := range n.timers {
			t.Stop()
			delete(n.timers, id)
		}
		n.mu.Unlock()
		n.stopLoops()
		var errs []error
		n.metaMu.Lock()
		done := n.self.Done
		n.metaMu.Unlock()
		if !done && !n.cfg.Self.IsObserver() {
			// memberlist does not tell peers a leave from a death; say it.
			ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout/2)
			msg := message{Kind: msgLeave, Group: n.cfg.Group, Node: n.cfg.Name, Pack: n.cfg.Self.Pack}
			if err := n.sendAll(ctx, msg.encode()); err != nil {
				n.log.Debug("membership: leaving message not delivered to all", "err", err)
			}
			cancel()
		}
		// A done node skips memberlist's leave, which waits for its
		// broadcast to go out: every member already knows we are done
		// (MarkDone told them directly), and the death of a done node
		// fails nothing.
		if !done {
			if err := n.ml.Leave(leaveTimeout); err != nil {
				errs = append(errs, fmt.Errorf("leave: %w", err))
			}
		}
		if err := n.ml.Shutdown(); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
		if err := errors.Join(errs...); err != nil {
			n.closeErr = fmt.Errorf("membership: %s: close: %w", n.cfg.Name, err)
		}
	})
	return n.closeErr
}

// stopLoops stops the dispatcher, the sync loop and an observer's relay
// loop, and waits for them.
func (n *Node) stopLoops() {
	n.endLife()
	n.wg.Wait()
}

func (n *Node) isClosing() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closing
}

// dispatch calls OnPackFailed for queued failures, one at a time, outside
// any lock.
func (n *Node) dispatch() {
	defer n.wg.Done()
	for {
		select {
		case <-n.life.Done():
			return
		case <-n.wake:
		}
		n.mu.Lock()
		q, claims := n.queue, n.claims
		n.queue, n.claims = nil, nil
		var stopErr error
		if n.stopErr != nil && !n.stopped {
			n.stopped, stopErr = true, n.stopErr
		}
		n.mu.Unlock()
		for _, c := range claims {
			if n.cfg.OnClaim != nil {
				n.cfg.OnClaim(c)
			}
		}
		if stopErr != nil && n.cfg.OnStop != nil {
			n.cfg.OnStop(stopErr)
		}
		for _, f := range q {
			if n.cfg.OnPackFailed == nil {
				continue
			}
			select {
			case <-n.life.Done():
				return
			default:
			}
			n.cfg.OnPackFailed(f.Pack, f)
		}
	}
}

// --- state changes, called by the delegate or the methods, never with
// memberlist's API in between ---

func (n *Node) metaBytes() []byte {
	n.metaMu.Lock()
	defer n.metaMu.Unlock()
	return n.meta
}

// signal wakes WaitReady callers. n.mu must be held.
func (n *Node) signal() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// wakeDispatcher wakes the dispatcher without blocking.
func (n *Node) wakeDispatcher() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// afterView hands the view's new claims to the dispatcher and checks
// whether another replica has won this node's pack. n.mu must be held.
func (n *Node) afterView() {
	if c := n.v.takeClaims(); len(c) > 0 {
		n.claims = append(n.claims, c...)
		n.wakeDispatcher()
	}
	p := n.cfg.Self.Pack
	if p != ObserverPack && n.cfg.Arbitrated {
		if w := n.v.winner[p]; w != "" && w != n.cfg.Name {
			n.stopLocked(fmt.Sprintf("pack %d was won by %s", p, w))
		}
	}
}

// stopLocked records that this node must stop, for reason, once. n.mu
// must be held.
func (n *Node) stopLocked(reason string) {
	if n.stopErr != nil || n.closing {
		return
	}
	n.stopErr = fmt.Errorf("%w: %s", ErrPreempted, reason)
	n.log.Info("membership: replica told to stop", "reason", reason)
	n.wakeDispatcher()
}

// report queues f for OnPackFailed. n.mu must be held.
func (n *Node) report(f *PackFailedError) {
	if f == nil || n.closing {
		return
	}
	n.log.Warn("membership: pack failed", "pack", f.Pack, "how", string(f.Kind), "err", f)
	n.queue = append(n.queue, f)
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// checkPeer decodes and checks a peer's metadata, logging a refusal once
// per peer name; foreign says the peer is in another group. memberlist
// asks on every alive message (thousands a second in a large group while
// it forms), so results are cached by name and metadata.
func (n *Node) checkPeer(name string, raw []byte) (foreign bool, err error) {
	n.mu.Lock()
	c, ok := n.checked[name]
	n.mu.Unlock()
	if ok && c.raw == string(raw) {
		return c.foreign, c.err
	}
	m, err := decodeMeta(raw)
	switch {
	case err != nil:
		err = fmt.Errorf("node %s: %w", name, err)
	case m.Group != n.cfg.Group:
		foreign, err = true, errForeign(name, m.Group)
	default:
		if err = m.check(n.cfg.Group, n.cfg.Packs); err != nil {
			err = fmt.Errorf("node %s: %w", name, err)
		}
	}
	n.mu.Lock()
	if len(n.checked) >= maxChecked {
		clear(n.checked)
	}
	n.checked[name] = checkedMeta{raw: string(raw), foreign: foreign, err: err}
	first := err != nil && !n.refused[name]
	if first && len(n.refused) < maxChecked {
		n.refused[name] = true
	}
	n.mu.Unlock()
	if first {
		n.log.Warn("membership: refused a node", "peer", name, "peer_group", m.Group, "err", err)
	}
	return foreign, err
}

// checkedMeta is a cached result of checkPeer.
type checkedMeta struct {
	raw     string
	foreign bool
	err     error
}

// maxChecked bounds the checkPeer caches.
const maxChecked = 4096

func (n *Node) setForeign(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.foreign == nil {
		n.foreign = err
	}
}

func (n *Node) onAlive(node *memberlist.Node) {
	m, err := decodeMeta(node.Meta)
	if err != nil || m.check(n.cfg.Group, n.cfg.Packs) != nil {
		return // refused by NotifyAlive already; never here
	}
	addr := node.Address()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closing {
		return
	}
	n.v.alive(node.Name, addr, m)
	n.afterView()
	n.signal()
}

func (n *Node) onGone(name string, kind FailureKind) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closing {
		return
	}
	p, id := n.v.gone(name, kind)
	n.signal()
	if id == 0 {
		return
	}
	// A done message can trail a leave by a moment, but not a death:
	// detecting one takes seconds. A death may still be refuted (DeadGrace).
	grace := n.cfg.Timing.DoneGrace
	if kind == Dead {
		grace = n.cfg.Timing.DeadGrace
	}
	if grace <= 0 {
		n.report(n.v.expire(p, id))
		return
	}
	if kind == Dead {
		n.log.Warn("membership: pack declared dead; waiting for it to refute",
			"pack", p, "node", name, "grace", grace)
	}
	n.timers[id] = time.AfterFunc(grace, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.closing {
			return
		}
		delete(n.timers, id)
		n.report(n.v.expire(p, id))
		n.signal()
	})
}

func (n *Node) onMessage(m message) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closing {
		return
	}
	switch m.Kind {
	case msgDone:
		n.v.nodeDone(m.Node, m.Pack)
		if n.cfg.Self.IsObserver() {
			n.relay = append(n.relay, doneNode{Node: m.Node, Pack: m.Pack})
			select {
			case n.relayKick <- struct{}{}:
			default:
			}
		}
	case msgDones:
		for _, d := range m.Done {
			n.v.nodeDone(d.Node, d.Pack)
		}
	case msgFail:
		n.report(n.v.announced(m.Pack, m.Node, m.Reason))
	case msgLeave:
		n.v.nodeLeaving(m.Node)
	case msgReady:
		n.told = true
		for _, rm := range m.Members {
			meta := Meta(rm.Meta)
			if meta.check(n.cfg.Group, n.cfg.Packs) != nil || meta.IsObserver() {
				continue
			}
			n.v.learn(rm.Name, rm.Addr, meta)
		}
	case msgWon:
		n.v.declare(m.Pack, m.Target)
	case msgStop:
		if m.Target == n.cfg.Name {
			n.stopLocked(m.Reason)
		}
	case msgEnd:
		select {
		case <-n.ended:
		default:
			close(n.ended)
		}
	}
	n.afterView()
	n.signal()
}

// DeclareWinner is the arbiter's verdict in a group with speculative
// replicas (Config.Arbitrated): node is the owner of pack, the one replica
// whose ranks join the communicator. It is recorded here and sent to every
// live node claiming that pack, so the winner goes on and the losers stop
// (their OnStop is called). The first declaration of a pack stands; it
// returns an error if pack already has another winner, or naming the
// nodes it could not reach.
func (n *Node) DeclareWinner(ctx context.Context, pack int, node string) error {
	if n.isClosing() {
		return ErrClosed
	}
	if pack < 0 || pack >= n.cfg.Packs {
		return fmt.Errorf("membership: %s: declare winner: pack %d out of range [0, %d)", n.cfg.Name, pack, n.cfg.Packs)
	}
	n.mu.Lock()
	won := n.v.declare(pack, node)
	n.afterView()
	n.signal()
	n.mu.Unlock()
	if !won {
		return fmt.Errorf("membership: %s: declare %s winner of pack %d: pack already won", n.cfg.Name, node, pack)
	}
	msg := message{Kind: msgWon, Group: n.cfg.Group, Node: n.cfg.Name, Pack: pack, Target: node}
	if err := n.sendTo(ctx, msg.encode(), func(mb *member) bool { return mb.meta.Pack == pack }); err != nil {
		return fmt.Errorf("membership: %s: declare winner of pack %d: %w", n.cfg.Name, pack, err)
	}
	return nil
}

// Preempt tells node to stop, for reason: its OnStop is called. The
// launcher uses it for replicas that lost a race, so that a remote
// container it cannot signal stops too.
func (n *Node) Preempt(ctx context.Context, node, reason string) error {
	if n.isClosing() {
		return ErrClosed
	}
	msg := message{Kind: msgStop, Group: n.cfg.Group, Node: n.cfg.Name, Target: node, Reason: reason}
	if err := n.sendTo(ctx, msg.encode(), func(mb *member) bool { return mb.name == node }); err != nil {
		return fmt.Errorf("membership: %s: preempt %s: %w", n.cfg.Name, node, err)
	}
	return nil
}

// AnnounceEnd tells every member that the group has ended: the launcher's
// observer calls it once every pack has answered, so that done packs
// lingering in the membership (see Ended) can leave now rather than
// keep gossiping while the next group starts on the same machine.
func (n *Node) AnnounceEnd(ctx context.Context) error {
	if n.isClosing() {
		return ErrClosed
	}
	msg := message{Kind: msgEnd, Group: n.cfg.Group, Node: n.cfg.Name, Pack: n.cfg.Self.Pack}
	if err := n.sendAll(ctx, msg.encode()); err != nil {
		return fmt.Errorf("membership: %s: announce end: %w", n.cfg.Name, err)
	}
	return nil
}

// Ended is closed once a member (the launcher's observer) has announced
// that the group ended (AnnounceEnd).
func (n *Node) Ended() <-chan struct{} { return n.ended }

// AnnounceReady tells every member the owners of all packs, once this
// node has seen them all, so that the others pass the ready barrier at
// once instead of waiting for gossip to bring them the last packs. The
// launcher's observer calls it when its own WaitReady returns.
func (n *Node) AnnounceReady(ctx context.Context) error {
	n.mu.Lock()
	if !n.v.ready {
		n.mu.Unlock()
		return fmt.Errorf("membership: %s: announce ready: not every pack seen yet", n.cfg.Name)
	}
	owners := n.v.owners()
	n.mu.Unlock()
	msg := message{Kind: msgReady, Group: n.cfg.Group, Node: n.cfg.Name, Pack: n.cfg.Self.Pack}
	for _, mb := range owners {
		msg.Members = append(msg.Members, readyMember{Name: mb.name, Addr: mb.addr, Meta: wireMeta(mb.meta)})
	}
	if err := n.sendAll(ctx, msg.encode()); err != nil {
		return fmt.Errorf("membership: %s: announce ready: %w", n.cfg.Name, err)
	}
	return nil
}
