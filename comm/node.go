package comm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/volley-run/volley/comm/membership"
	"github.com/volley-run/volley/comm/transport"
	"github.com/volley-run/volley/comm/wire"
)

// HandshakeTimeout bounds the authentication of one data connection.
const HandshakeTimeout = 5 * time.Second

// Node is one container's communication endpoint: its membership node, its
// data listener, its connections to other containers, and a Comm for each
// rank it hosts. Start it, wait until the group is ready, hand each worker
// its Comm, and Close it when the workers are done.
type Node struct {
	cfg    Config
	log    *slog.Logger
	lo, hi int // hosted ranks [lo, hi)
	codec  wire.Codec
	boxes  []*mailbox
	comms  []*Comm
	tr     transport.Transport
	ln     transport.Listener
	mem    *membership.Node

	ctx    context.Context // ends when the node fails or closes
	cancel context.CancelCauseFunc

	msgID atomic.Uint64
	wg    sync.WaitGroup // accept loop and link goroutines

	mu       sync.Mutex
	peers    map[int]*peer // remote packs
	links    map[*link]bool
	ready    bool
	finished bool
	closing  bool
	failed   error
}

// peer is another container of the group.
type peer struct {
	pack   int
	addr   string
	dialMu sync.Mutex
	out    *link // our connection to it, for our sends; nil until needed
}

// Start opens the data listener, starts the membership node and joins the
// seeds. ctx bounds the start-up only.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	codec, _ := wire.ParseCodec(cfg.Compression)
	tr, err := transport.New(cfg.Transport)
	if err != nil {
		return nil, fmt.Errorf("comm: %w", err)
	}
	host, _, err := net.SplitHostPort(cfg.BindAddr)
	if err != nil {
		host = cfg.BindAddr
	}
	ln, err := tr.Listen(net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("comm: data listener: %w", err)
	}
	n := &Node{
		cfg: cfg, log: cfg.Logger.With("group", cfg.Group, "pack", cfg.Pack), codec: codec,
		lo: cfg.Pack * cfg.Granularity, hi: min((cfg.Pack+1)*cfg.Granularity, cfg.Workers),
		tr: tr, ln: ln, peers: map[int]*peer{}, links: map[*link]bool{},
	}
	n.ctx, n.cancel = context.WithCancelCause(context.Background())
	for r := n.lo; r < n.hi; r++ {
		box := &mailbox{}
		n.boxes = append(n.boxes, box)
		n.comms = append(n.comms, &Comm{node: n, rank: r, box: box})
	}
	n.log.Info("data transport", "transport", tr.Name(), "addr", ln.Addr())

	dataAddr := ln.Addr()
	if cfg.AdvertiseAddr != "" {
		_, port, _ := net.SplitHostPort(dataAddr)
		advHost, _, err := net.SplitHostPort(cfg.AdvertiseAddr)
		if err != nil {
			advHost = cfg.AdvertiseAddr
		}
		dataAddr = net.JoinHostPort(advHost, port)
	}
	n.wg.Add(1)
	go n.acceptLoop()
	mem, err := membership.Start(ctx, membership.Config{
		Group: cfg.Group, Secret: cfg.Secret, Packs: cfg.packs(),
		Self:     membership.Meta{Group: cfg.Group, Pack: cfg.Pack, DataAddr: dataAddr, Lo: n.lo, Hi: n.hi, Replica: cfg.Replica},
		BindAddr: cfg.BindAddr, AdvertiseAddr: cfg.AdvertiseAddr, Seeds: cfg.Seeds,
		Timing: cfg.Membership, Logger: cfg.Logger, Arbitrated: cfg.Arbitrated, AwaitAnnouncement: cfg.AwaitReady,
		OnStop: func(err error) { n.fail(-1, err) },
		OnPackFailed: func(pack int, err error) {
			n.fail(-1, fmt.Errorf("pack %d failed: %w", pack, err))
		},
	})
	if err != nil {
		n.shutdown(fmt.Errorf("%w: start failed", ErrClosed))
		return nil, fmt.Errorf("comm: membership: %w", err)
	}
	n.mu.Lock()
	n.mem = mem
	n.mu.Unlock()
	return n, nil
}

// TransportName says which data transport the node uses ("tcp" or "sctp").
func (n *Node) TransportName() string { return n.tr.Name() }

// MembershipAddr is the node's membership address, usable as a seed.
func (n *Node) MembershipAddr() string { return n.mem.Addr() }

// WaitReady blocks until every pack of the group has been seen (the ready
// barrier), or ctx ends, or the group fails.
func (n *Node) WaitReady(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(n.ctx, func() { cancel(context.Cause(n.ctx)) })
	defer stop()
	view, err := n.mem.WaitReady(ctx)
	if err != nil {
		if cause := n.err(); cause != nil {
			return cause
		}
		return fmt.Errorf("comm: ready barrier: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for p, m := range view {
		if p == n.cfg.Pack {
			continue
		}
		if pr, ok := n.peers[p]; ok {
			pr.addr = m.DataAddr
		} else {
			n.peers[p] = &peer{pack: p, addr: m.DataAddr}
		}
	}
	n.ready = true
	return nil
}

// Comm returns the communicator of a rank this node hosts.
func (n *Node) Comm(rank int) (*Comm, error) {
	if rank < n.lo || rank >= n.hi {
		return nil, fmt.Errorf("comm: rank %d is not in pack %d (ranks %d-%d)", rank, n.cfg.Pack, n.lo, n.hi-1)
	}
	return n.comms[rank-n.lo], nil
}

// Context is done when the group fails (a pack died or left, a connection
// broke, a peer misbehaved) or the node closes; context.Cause says why.
// Workers should run under it.
func (n *Node) Context() context.Context { return n.ctx }

// GroupEnded is closed once the launcher has announced that the whole
// group ended (membership.Node.Ended).
func (n *Node) GroupEnded() <-chan struct{} { return n.mem.Ended() }

// Stats sums the counters of the ranks this node hosts.
func (n *Node) Stats() Stats {
	var s Stats
	for _, c := range n.comms {
		s = s.Add(c.Stats())
	}
	return s
}

// AnnounceFailed tells every member of the group that pack failed, so they
// stop at once instead of waiting for failure detection.
func (n *Node) AnnounceFailed(ctx context.Context, pack int, reason string) error {
	return n.mem.AnnounceFailed(ctx, pack, reason)
}

// err returns why the node stopped, or nil while it runs.
func (n *Node) err() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failed != nil {
		return n.failed
	}
	if n.closing {
		return ErrClosed
	}
	return nil
}

// local reports whether rank lives in this container.
func (n *Node) local(rank int) bool { return rank >= n.lo && rank < n.hi }

// fail stops the node because the group failed: every pending and later
// operation returns err, and the node's Context is cancelled with it. The
// first failure wins; failures while closing are ignored. When pack >= 0
// names another pack whose failure this node found on a data connection
// (unreachable, broken, a protocol error), the node also announces it to
// the whole group, so that every pack stops on the same cause even if only
// this one saw it. A failure the membership reported is passed with pack
// -1: memberlist's gossip, or the announcement it came from, already
// reaches every member, and echoing it from every pack would send P*(P-1)
// messages at once.
func (n *Node) fail(pack int, err error) {
	n.mu.Lock()
	if n.failed != nil || n.closing {
		n.mu.Unlock()
		return
	}
	n.failed = err
	mem := n.mem
	announce := pack >= 0 && pack != n.cfg.Pack && mem != nil
	if announce {
		n.wg.Add(1) // under mu: shutdown cannot be waiting yet
	}
	n.mu.Unlock()
	if announce {
		go func() {
			defer n.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := mem.AnnounceFailed(ctx, pack, err.Error()); err != nil {
				n.log.Debug("failure announcement not delivered to all", "err", err)
			}
		}()
	}
	n.log.Warn("group failed", "err", err)
	n.cancel(err)
	for _, b := range n.boxes {
		b.close(err)
	}
	// The links stay open until Close: closing them now would make every
	// peer report this pack's connection as lost, hiding the real cause,
	// which reaches them through the membership.
}

// Finish tells the group this node is done: a goodbye on every data
// connection (behind everything already queued, so it also flushes eager
// messages still in the writers' queues) and Done in the membership, sent
// directly to the packs still running. The node stays a member until
// Close, so that gossip carries Done to any member the direct message
// missed before anyone could take this node's departure for a failure.
// ctx bounds the goodbyes; a goodbye that cannot be delivered is logged.
// Finish after a failure does nothing.
func (n *Node) Finish(ctx context.Context) {
	n.mu.Lock()
	if n.closing || n.failed != nil || n.finished {
		n.mu.Unlock()
		return
	}
	n.finished = true
	links := n.linkList()
	n.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.sendDone(ctx); err != nil {
				n.log.Debug("goodbye not delivered", "peer", l.peerPack, "err", err)
			}
		}()
	}
	wg.Wait()
	if err := n.mem.MarkDone(ctx); err != nil {
		n.log.Debug("mark done", "err", err)
	}
}

// Close ends the node: it finishes (see Finish) if it has not, then leaves
// the membership, closes every connection and waits for its goroutines.
// ctx bounds the goodbyes. Close after a failure just releases everything.
func (n *Node) Close(ctx context.Context) error {
	n.Finish(ctx)
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		return nil
	}
	n.closing = true
	n.mu.Unlock()
	n.shutdown(ErrClosed)
	return nil
}

// shutdown releases everything: membership, listener, connections,
// goroutines, mailboxes.
func (n *Node) shutdown(cause error) {
	n.mu.Lock()
	n.closing = true
	mem := n.mem
	n.mu.Unlock()
	if mem != nil {
		if err := mem.Close(time.Second); err != nil {
			n.log.Debug("membership close", "err", err)
		}
	}
	n.cancel(cause)
	n.ln.Close()
	n.closeLinks()
	n.wg.Wait()
	for _, b := range n.boxes {
		b.close(cause)
	}
}

func (n *Node) linkList() []*link {
	ls := make([]*link, 0, len(n.links))
	for l := range n.links {
		ls = append(ls, l)
	}
	return ls
}

func (n *Node) closeLinks() {
	n.mu.Lock()
	links := n.linkList()
	n.mu.Unlock()
	for _, l := range links {
		l.close()
	}
}

// Bounds of the accept loop's pause after a failed Accept.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

// acceptLoop authenticates incoming data connections from other packs. It
// ends when the listener is closed. Any other Accept error (such as running
// out of file descriptors) is logged and Accept retried after a pause that
// doubles up to acceptRetryMax, as net/http's Server.Serve does: peers
// that cannot connect would take this pack for dead.
func (n *Node) acceptLoop() {
	defer n.wg.Done()
	var pause time.Duration
	for {
		conn, err := n.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			pause = min(max(2*pause, acceptRetryMin), acceptRetryMax)
			n.log.Warn("data listener: accept failed; retrying", "err", err, "pause", pause)
			if !n.sleep(pause) {
				return
			}
			continue
		}
		pause = 0
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.admit(conn)
		}()
	}
}

// sleep waits for d, or reports false if the node stops first.
func (n *Node) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.ctx.Done():
		return false
	}
}

// admit runs the server side of the handshake and starts the link.
func (n *Node) admit(conn transport.Conn) {
	ctx, cancel := context.WithTimeout(n.ctx, HandshakeTimeout)
	defer cancel()
	me := transport.Hello{Group: n.cfg.Group, Pack: n.cfg.Pack}
	hello, err := transport.ServerHandshake(ctx, conn, n.cfg.Secret, me)
	if err != nil {
		n.log.Warn("refused data connection", "remote", conn.RemoteAddr(), "err", err)
		conn.Close()
		return
	}
	if hello.Pack < 0 || hello.Pack >= n.cfg.packs() || hello.Pack == n.cfg.Pack {
		n.log.Warn("refused data connection: bad pack", "remote", conn.RemoteAddr(), "pack", hello.Pack)
		conn.Close()
		return
	}
	if _, err := n.startLink(conn, hello.Pack, false); err != nil {
		conn.Close()
	}
}

// startLink registers a connection and starts its reader and writer.
func (n *Node) startLink(conn transport.Conn, pack int, outgoing bool) (*link, error) {
	l := newLink(n, conn, pack, outgoing)
	n.mu.Lock()
	if n.closing || n.failed != nil {
		n.mu.Unlock()
		return nil, ErrClosed
	}
	n.links[l] = true
	n.mu.Unlock()
	n.wg.Add(2)
	go func() { defer n.wg.Done(); l.readLoop() }()
	go func() { defer n.wg.Done(); l.writeLoop() }()
	return l, nil
}

// outLink returns our connection to pack, dialing it on first use.
func (n *Node) outLink(ctx context.Context, pack int) (*link, error) {
	n.mu.Lock()
	pr, ok := n.peers[pack]
	ready := n.ready
	n.mu.Unlock()
	if n.mem.PackDone(pack) {
		return nil, fmt.Errorf("%w: pack %d", ErrPeerDone, pack)
	}
	if !ready || !ok || pr.addr == "" {
		return nil, fmt.Errorf("pack %d is not known yet: the group is not ready (call WaitReady first)", pack)
	}
	pr.dialMu.Lock()
	defer pr.dialMu.Unlock()
	if pr.out != nil {
		if pr.out.saidDone() {
			return nil, fmt.Errorf("%w: pack %d said goodbye", ErrPeerDone, pack)
		}
		return pr.out, nil
	}
	dctx, cancel := context.WithTimeout(ctx, HandshakeTimeout)
	defer cancel()
	conn, err := n.tr.Dial(dctx, pr.addr)
	if err != nil {
		return nil, n.unreachable(ctx, pack, fmt.Errorf("dial pack %d at %s: %w", pack, pr.addr, err))
	}
	if _, err := transport.ClientHandshake(dctx, conn, n.cfg.Secret, transport.Hello{Group: n.cfg.Group, Pack: n.cfg.Pack}); err != nil {
		conn.Close()
		return nil, n.unreachable(ctx, pack, fmt.Errorf("handshake with pack %d: %w", pack, err))
	}
	l, err := n.startLink(conn, pack, true)
	if err != nil {
		conn.Close()
		return nil, err
	}
	pr.out = l
	return l, nil
}

// unreachable fails the group when a pack of a ready group cannot be
// reached or refuses us, unless the caller's own ctx ended: a peer that is
// gone would otherwise leave its partners waiting until the deadline. It
// returns err.
func (n *Node) unreachable(ctx context.Context, pack int, err error) error {
	if ctx.Err() == nil {
		n.fail(pack, fmt.Errorf("pack %d unreachable: %w", pack, err))
	}
	return err
}

// postRemote puts a message to a rank of another pack in line on our
// connection to that pack: a small one whole, a large one as an
// announcement. The returned function waits for the send to complete and
// reports the bytes it took on the wire.
func (n *Node) postRemote(ctx context.Context, src, dst, tag int, data []byte) (func(context.Context) (int, error), error) {
	pack := dst / n.cfg.Granularity
	l, err := n.outLink(ctx, pack)
	if err != nil {
		return nil, err
	}
	stream := streamFor(src, dst, n.cfg.Granularity)
	if len(data) == 0 || (len(data) <= n.cfg.EagerLimit && l.reserveEager(src, dst, len(data))) {
		payload, codec := n.compress(data)
		h := wire.Header{Kind: wire.KindEager, Flags: uint8(codec), Src: int32(src), Dst: int32(dst), Tag: int32(tag), Size: uint64(len(data))}
		if err := l.enqueue(ctx, outFrame{stream: stream, h: h, payload: payload}); err != nil {
			l.releaseEager(src, dst, len(data))
			return nil, err
		}
		return func(context.Context) (int, error) { return len(payload), nil }, nil
	}
	return l.postRendezvous(ctx, stream, src, dst, tag, data)
}

// compress applies the group's codec to a remote payload, keeping it as
// is when compression would not shrink it.
func (n *Node) compress(data []byte) ([]byte, wire.Codec) {
	if n.codec == wire.CodecNone || len(data) < 64 {
		return data, wire.CodecNone
	}
	out, err := wire.Compress(n.codec, nil, data)
	if err != nil || len(out) >= len(data) {
		return data, wire.CodecNone
	}
	return out, n.codec
}

// streamFor gives each pair of ranks its own SCTP stream on the
// connection between their two packs, so that one slow pair does not hold
// up the others, and every message of a pair uses one stream, which keeps
// them in order. A connection carries the g*g pairs of two packs; they get
// streams 1..DefaultSCTPStreams-1 (stream 0 is left to the link's own
// frames), one each while g*g < DefaultSCTPStreams, spread evenly beyond.
func streamFor(src, dst, g int) uint16 {
	return uint16(1 + ((src%g)*g+dst%g)%(transport.DefaultSCTPStreams-1))
}
