package comm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/volley-run/volley/comm/transport"
	"github.com/volley-run/volley/comm/wire"
)

// link is one authenticated data connection with another pack. The pack
// that dialed sends its messages on it (Eager, RTS, Data, Abort, Done); the
// other side answers on the same connection with control frames (CTS,
// Credit) for those messages. Each link has one reader and one writer
// goroutine.
//
// The reader never blocks on the application: eager payloads go to
// mailboxes (bounded by the eager window), rendezvous data lands in buffers
// that a posted receive allocated, and control frames wait in an unbounded
// (but small) queue. So a slow receiver cannot stall a connection, and no
// two packs can deadlock on each other's writers.
type link struct {
	node     *Node
	conn     transport.Conn
	peerPack int
	outgoing bool

	data    chan outFrame // application frames; bounded: back-pressure
	ctrlMu  sync.Mutex
	ctrl    []outFrame    // control frames, written first
	ctrlC   chan struct{} // signals ctrl has frames
	stop    chan struct{} // closed by close
	written chan struct{} // closed when the writer has stopped
	once    sync.Once

	mu        sync.Mutex
	eagerOut  map[pair]int           // sender: eager bytes not yet credited
	waitCTS   map[uint64]*pendingRTS // sender: rendezvous waiting for CTS
	announced map[uint64]*rendezvous // receiver: RTS arrived, not yet asked for
	transfers map[uint64]*transfer   // receiver: rendezvous being filled
	credit    map[pair]int           // receiver: consumed bytes not yet returned
	peerDone  bool
	landing   *transfer // receiver: the transfer whose buf the reader is writing into

	scratch []byte // reader only: where chunks of abandoned transfers go
}

type pair struct{ src, dst int }

// outFrame is a frame queued for the writer. sent, if set, receives the
// write's outcome.
type outFrame struct {
	stream  uint16
	h       wire.Header
	payload []byte
	sent    chan error
}

// rendezvous describes a large message still at its sender.
type rendezvous struct {
	link  *link
	msgID uint64
	src   int
	dst   int
	size  int
	// withdrawn is set (under link.mu) when the sender's Abort comes
	// while a receive holds the announcement without having asked for it.
	withdrawn bool
}

// pendingRTS is a large message this side announced, waiting for its CTS.
type pendingRTS struct {
	cts     chan struct{} // closed when the CTS comes
	written bool          // the writer has taken the RTS (under link.mu)
}

// transfer is a rendezvous message being received. Once its receive is
// abandoned (it ended before the last chunk), buf is nil and the chunks
// still on their way are read and dropped. Fields under link.mu.
type transfer struct {
	buf  []byte // the receive's buffer; nil once abandoned
	size int
	got  int // uncompressed bytes landed
	wire int // wire bytes landed
	done chan struct{}
	err  error // set before done is closed if the sender withdrew it
	// handback, set by abandon while the reader writes into buf, is
	// closed once it has finished that chunk.
	handback chan struct{}
}

// landStall bounds how long an abandoned receive waits for the chunk the
// reader is writing into its buffer. A chunk is at most 1 MiB, so a peer
// that takes this long inside one frame has stalled.
const landStall = 10 * time.Second

// creditBatch is how many consumed eager bytes a receiver collects before
// returning them to the sender in one Credit frame.
const creditBatch = 64 << 10

// dataQueue is the number of application frames a link buffers before
// senders block.
const dataQueue = 16

func newLink(n *Node, conn transport.Conn, pack int, outgoing bool) *link {
	return &link{
		node: n, conn: conn, peerPack: pack, outgoing: outgoing,
		data: make(chan outFrame, dataQueue), ctrlC: make(chan struct{}, 1), stop: make(chan struct{}), written: make(chan struct{}),
		eagerOut: map[pair]int{}, waitCTS: map[uint64]*pendingRTS{}, announced: map[uint64]*rendezvous{},
		transfers: map[uint64]*transfer{}, credit: map[pair]int{},
	}
}

// close closes the connection and stops both goroutines; idempotent.
func (l *link) close() {
	l.once.Do(func() {
		close(l.stop)
		l.conn.Close()
	})
}

// enqueue queues an application frame, blocking while the queue is full.
// On a stopped link it always fails, even if the queue has room.
func (l *link) enqueue(ctx context.Context, f outFrame) error {
	select {
	case <-l.stop:
		return l.stopErr()
	default:
	}
	select {
	case l.data <- f:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-l.stop:
		return l.stopErr()
	case <-l.node.ctx.Done():
		return context.Cause(l.node.ctx)
	}
}

// sendCtrl queues a control frame for stream; it never blocks.
func (l *link) sendCtrl(stream uint16, h wire.Header) {
	l.ctrlMu.Lock()
	l.ctrl = append(l.ctrl, outFrame{stream: stream, h: h})
	l.ctrlMu.Unlock()
	select {
	case l.ctrlC <- struct{}{}:
	default:
	}
}

func (l *link) popCtrl() (outFrame, bool) {
	l.ctrlMu.Lock()
	defer l.ctrlMu.Unlock()
	if len(l.ctrl) == 0 {
		return outFrame{}, false
	}
	f := l.ctrl[0]
	l.ctrl = l.ctrl[1:]
	return f, true
}

// saidDone reports whether the peer has sent its goodbye (KindDone).
func (l *link) saidDone() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peerDone
}

// stopErr says why the link stopped.
func (l *link) stopErr() error {
	if err := l.node.err(); err != nil {
		return err
	}
	return fmt.Errorf("connection to pack %d closed", l.peerPack)
}

// writeLoop writes control frames first, then application frames, as
// many as are queued in one WriteFrames (one writev on TCP).
func (l *link) writeLoop() {
	defer close(l.written)
	var batch []outFrame
	var frames []transport.Frame
	for {
		var ok bool
		if batch, ok = l.nextBatch(batch[:0]); !ok {
			return
		}
		if batch = l.takeRTS(batch); len(batch) == 0 {
			continue
		}
		frames = frames[:0]
		for _, f := range batch {
			frames = append(frames, transport.Frame{Stream: f.stream, Header: f.h, Payload: f.payload})
		}
		err := l.conn.WriteFrames(frames)
		clear(frames) // do not keep payloads alive
		for i, f := range batch {
			if f.sent != nil {
				f.sent <- err
			}
			batch[i] = outFrame{}
		}
		if err != nil {
			l.broken(fmt.Errorf("write to pack %d: %w", l.peerPack, err))
			return
		}
	}
}

// Bounds of one batch of the writer.
const (
	batchFrames = 64
	batchBytes  = 4 << 20
)

// nextBatch waits for a frame, then adds what else is queued without
// waiting (control frames first), up to batchFrames frames and about
// batchBytes of payload. It returns false once the link stops.
func (l *link) nextBatch(b []outFrame) ([]outFrame, bool) {
	for len(b) == 0 {
		if f, ok := l.popCtrl(); ok {
			b = append(b, f)
			break
		}
		select {
		case <-l.ctrlC:
		case f := <-l.data:
			b = append(b, f)
		case <-l.stop:
			return nil, false
		}
	}
	size := len(b[0].payload)
	for len(b) < batchFrames && size < batchBytes {
		f, ok := l.popCtrl()
		if !ok {
			select {
			case f = <-l.data:
			default:
				return b, true
			}
		}
		b = append(b, f)
		size += len(f.payload)
	}
	return b, true
}

// takeRTS marks the RTS frames of a batch as written, and drops those of
// messages withdrawn while they were queued: the receiver never hears of
// them.
func (l *link) takeRTS(b []outFrame) []outFrame {
	if !slices.ContainsFunc(b, func(f outFrame) bool { return f.h.Kind == wire.KindRTS }) {
		return b
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := b[:0]
	for _, f := range b {
		if f.h.Kind == wire.KindRTS {
			p, ok := l.waitCTS[f.h.MsgID]
			if !ok {
				continue
			}
			p.written = true
		}
		kept = append(kept, f)
	}
	clear(b[len(kept):])
	return kept
}

// broken handles a connection error: a failure of the group unless the
// peer said it was done or we are closing.
func (l *link) broken(err error) {
	l.mu.Lock()
	done := l.peerDone
	l.mu.Unlock()
	select {
	case <-l.stop:
		return // we closed it
	default:
	}
	if !done {
		l.node.fail(l.peerPack, err)
	}
	l.close()
}

// readLoop handles every frame the peer sends.
func (l *link) readLoop() {
	defer l.dropTransfers()
	for {
		_, h, payload, err := l.conn.ReadFrame(l.bufFor)
		if err != nil {
			l.landed()
			l.broken(fmt.Errorf("pack %d: data connection lost: %w", l.peerPack, err))
			return
		}
		err = l.handle(h, payload)
		l.landed()
		if err != nil {
			l.node.fail(l.peerPack, fmt.Errorf("pack %d: protocol error: %w", l.peerPack, err))
			l.close()
			return
		}
	}
}

// bufFor lets an uncompressed Data chunk land directly in its receive
// buffer (or, for an abandoned transfer, in the scratch buffer).
func (l *link) bufFor(h wire.Header) []byte {
	if h.Kind != wire.KindData || h.Codec() != wire.CodecNone {
		return nil
	}
	l.mu.Lock()
	t := l.transfers[h.MsgID]
	l.mu.Unlock()
	end := h.Offset + uint64(h.PayloadLen)
	if t == nil || end > uint64(t.size) {
		return nil
	}
	return l.dest(t, int(h.Offset), int(h.PayloadLen))[:h.PayloadLen]
}

// dest returns where the chunk of t at off goes: t.buf from off, with t
// marked as the transfer the reader is writing into until landed; or, once
// t is abandoned, the link's scratch buffer (at most limit bytes).
func (l *link) dest(t *transfer, off, limit int) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.buf != nil {
		l.landing = t
		return t.buf[off:]
	}
	n := min(t.size-off, limit)
	if cap(l.scratch) < n {
		l.scratch = make([]byte, n)
	}
	return l.scratch[:n]
}

// landed says the reader has finished writing the current frame, handing
// the buffer it wrote into back to a receive waiting in abandon.
func (l *link) landed() {
	l.mu.Lock()
	t := l.landing
	l.landing = nil
	var ch chan struct{}
	if t != nil {
		ch, t.handback = t.handback, nil
	}
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// dropTransfers forgets every transfer and announcement once the reader
// has stopped.
func (l *link) dropTransfers() {
	l.mu.Lock()
	clear(l.transfers)
	clear(l.announced)
	l.mu.Unlock()
}

func (l *link) handle(h wire.Header, payload []byte) error {
	n := l.node
	switch h.Kind {
	case wire.KindEager, wire.KindRTS:
		if err := l.checkRanks(h); err != nil {
			return err
		}
		env := &envelope{src: int(h.Src), tag: int(h.Tag)}
		if h.Kind == wire.KindRTS {
			env.remote = &rendezvous{link: l, msgID: h.MsgID, src: int(h.Src), dst: int(h.Dst), size: int(h.Size)}
			l.mu.Lock()
			l.announced[h.MsgID] = env.remote
			l.mu.Unlock()
		} else {
			data, err := l.decode(h, payload, nil)
			if err != nil {
				return err
			}
			if len(data) != int(h.Size) {
				return fmt.Errorf("eager message from rank %d of %d bytes, announced as %d", h.Src, len(data), h.Size)
			}
			env.data, env.eagerFrom, env.wire = data, l, len(payload)
		}
		n.boxes[int(h.Dst)-n.lo].deliver(env)
	case wire.KindData:
		return l.receiveChunk(h, payload)
	case wire.KindCTS:
		l.mu.Lock()
		p, ok := l.waitCTS[h.MsgID]
		delete(l.waitCTS, h.MsgID)
		l.mu.Unlock()
		if !ok { // withdrawn: the receive that asked must not wait for it
			l.sendCtrl(0, wire.Header{Kind: wire.KindAbort, Src: h.Dst, Dst: h.Src, MsgID: h.MsgID})
			return nil
		}
		close(p.cts)
	case wire.KindAbort:
		if err := l.checkRanks(h); err != nil {
			return err
		}
		l.onAbort(h)
	case wire.KindCredit:
		l.mu.Lock()
		p := pair{src: int(h.Dst), dst: int(h.Src)}
		l.eagerOut[p] = max(0, l.eagerOut[p]-int(h.Size))
		l.mu.Unlock()
	case wire.KindDone:
		l.mu.Lock()
		l.peerDone = true
		l.mu.Unlock()
	default:
		return fmt.Errorf("unexpected %v frame on a data connection", h.Kind)
	}
	return nil
}

// checkRanks makes sure a message comes from a rank of the peer pack and
// goes to a rank of ours.
func (l *link) checkRanks(h wire.Header) error {
	g := l.node.cfg.Granularity
	src, dst := int(h.Src), int(h.Dst)
	if src < 0 || src >= l.node.cfg.Workers || src/g != l.peerPack {
		return fmt.Errorf("%v frame from rank %d, which is not in pack %d", h.Kind, src, l.peerPack)
	}
	if !l.node.local(dst) {
		return fmt.Errorf("%v frame for rank %d, which is not in pack %d", h.Kind, dst, l.node.cfg.Pack)
	}
	switch {
	case h.Kind == wire.KindEager && h.Size > uint64(l.node.cfg.EagerLimit):
		return fmt.Errorf("eager message of %d bytes from rank %d, above the eager limit %d", h.Size, src, l.node.cfg.EagerLimit)
	case h.Kind == wire.KindRTS && h.Size > uint64(l.node.cfg.MaxMessage):
		return fmt.Errorf("message of %d bytes from rank %d, above the limit %d", h.Size, src, l.node.cfg.MaxMessage)
	}
	return nil
}

// decode returns a frame's payload uncompressed: an uncompressed one as
// it is, a compressed one decompressed into dst if given (chunks land in
// place; land copies uncompressed chunks itself).
func (l *link) decode(h wire.Header, payload, dst []byte) ([]byte, error) {
	if h.Codec() == wire.CodecNone {
		return payload, nil
	}
	limit := int(h.Size)
	if dst != nil {
		limit = len(dst)
	}
	out, err := wire.Decompress(h.Codec(), dst[:0:len(dst)], payload, limit)
	if err != nil {
		return nil, fmt.Errorf("%v frame from rank %d: %w", h.Kind, h.Src, err)
	}
	return out, nil
}

// receiveChunk lands a Data chunk and completes its transfer after the
// last one.
func (l *link) receiveChunk(h wire.Header, payload []byte) error {
	l.mu.Lock()
	t := l.transfers[h.MsgID]
	l.mu.Unlock()
	if t == nil {
		return fmt.Errorf("data for message %d that nobody asked for", h.MsgID)
	}
	if h.Offset > uint64(t.size) {
		return fmt.Errorf("data for message %d at offset %d past its size %d", h.MsgID, h.Offset, t.size)
	}
	n, err := l.land(t, h, payload)
	if err != nil {
		return err
	}
	l.mu.Lock()
	t.got += n
	t.wire += len(payload)
	complete := t.got >= t.size
	if complete {
		delete(l.transfers, h.MsgID)
	}
	l.mu.Unlock()
	if complete {
		close(t.done)
	}
	return nil
}

// land writes a chunk of t where it belongs and returns its uncompressed
// length.
func (l *link) land(t *transfer, h wire.Header, payload []byte) (int, error) {
	off := int(h.Offset)
	if h.Codec() != wire.CodecNone {
		out, err := l.decode(h, payload, l.dest(t, off, wire.MaxPayload))
		return len(out), err
	}
	if len(payload) > t.size-off {
		return 0, fmt.Errorf("data for message %d overruns its size %d", h.MsgID, t.size)
	}
	if dst := l.dest(t, off, len(payload)); len(payload) > 0 && &payload[0] != &dst[0] {
		copy(dst, payload)
	}
	return len(payload), nil
}

// reserveEager takes n bytes of the (src, dst) eager window; false when
// the receiver has too much unconsumed data from src already.
func (l *link) reserveEager(src, dst, n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := pair{src, dst}
	if l.eagerOut[p]+n > l.node.cfg.EagerWindow {
		return false
	}
	l.eagerOut[p] += n
	return true
}

func (l *link) releaseEager(src, dst, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := pair{src, dst}
	l.eagerOut[p] = max(0, l.eagerOut[p]-n)
}

// consumed is called when rank dst has received an eager message of n
// bytes (uncompressed, as the sender reserved them in its window) from
// src: the credit goes back to the sender in batches.
func (l *link) consumed(src, dst, n int) {
	l.mu.Lock()
	p := pair{src, dst}
	l.credit[p] += n
	c := l.credit[p]
	if c < creditBatch {
		l.mu.Unlock()
		return
	}
	delete(l.credit, p)
	l.mu.Unlock()
	l.sendCtrl(0, wire.Header{Kind: wire.KindCredit, Src: int32(dst), Dst: int32(src), Size: uint64(c)})
}

// postRendezvous announces a large message. The returned function waits
// until the receiver asks for it, streams it in chunks, and returns once
// the last chunk has been written, with the wire bytes used.
func (l *link) postRendezvous(ctx context.Context, stream uint16, src, dst, tag int, data []byte) (func(context.Context) (int, error), error) {
	id := l.node.msgID.Add(1)
	p := &pendingRTS{cts: make(chan struct{})}
	l.mu.Lock()
	l.waitCTS[id] = p
	l.mu.Unlock()
	rts := wire.Header{Kind: wire.KindRTS, Flags: uint8(l.node.codec), Src: int32(src), Dst: int32(dst), Tag: int32(tag), MsgID: id, Size: uint64(len(data))}
	if err := l.enqueue(ctx, outFrame{stream: stream, h: rts}); err != nil {
		l.mu.Lock()
		delete(l.waitCTS, id) // never queued
		l.mu.Unlock()
		return nil, err
	}
	return func(ctx context.Context) (int, error) {
		return l.streamData(ctx, p.cts, stream, src, dst, id, data)
	}, nil
}

// withdraw forgets rendezvous message id, whose send ended before its CTS.
// If its RTS is still queued, the writer drops it; if it has been written
// (or the CTS has just come), an Abort follows it on its stream, so that
// the receiver drops the announcement, or the receive that asked for it
// skips it.
func (l *link) withdraw(stream uint16, src, dst int, id uint64) {
	l.mu.Lock()
	p, ok := l.waitCTS[id]
	delete(l.waitCTS, id)
	l.mu.Unlock()
	if !ok || p.written {
		l.sendCtrl(stream, wire.Header{Kind: wire.KindAbort, Src: int32(src), Dst: int32(dst), MsgID: id})
	}
}

// streamData waits for the CTS of message id and writes its chunks.
func (l *link) streamData(ctx context.Context, cts chan struct{}, stream uint16, src, dst int, id uint64, data []byte) (int, error) {
	select {
	case <-cts:
	case <-ctx.Done():
		l.withdraw(stream, src, dst, id)
		return 0, fmt.Errorf("waiting for the receiver to accept %d bytes: %w", len(data), context.Cause(ctx))
	case <-l.stop:
		return 0, l.stopErr()
	case <-l.node.ctx.Done():
		return 0, context.Cause(l.node.ctx)
	}
	// The receiver has asked for the bytes and waits for them, and the
	// writer reads data until the last chunk is written: from here on the
	// chunks go out whatever ctx says, and this returns once the writer is
	// done with data, so it is the caller's again. Only the link or the
	// group ending stops them sooner (after a group failure, what the
	// writer still reads goes nowhere that counts).
	chunk := min(l.node.cfg.ChunkSize, l.conn.MaxFrame())
	wireBytes := 0
	var queued chan error // sent of the last chunk queued: the writer keeps their order
	for off := 0; off < len(data); off += chunk {
		part := data[off:min(off+chunk, len(data))]
		payload, codec := l.node.compress(part)
		sent := make(chan error, 1)
		f := outFrame{stream: stream, payload: payload, sent: sent, h: wire.Header{
			Kind: wire.KindData, Flags: uint8(codec), Src: int32(src), Dst: int32(dst), MsgID: id,
			Offset: uint64(off), Size: uint64(len(data)),
		}}
		if err := l.enqueue(context.Background(), f); err != nil {
			l.awaitWritten(queued)
			return wireBytes, err
		}
		queued = sent
		wireBytes += len(payload)
	}
	return wireBytes, l.awaitWritten(queued)
}

// awaitWritten waits until the writer has written (or failed) the frame
// whose sent channel is queued, and so every frame queued before it, or
// until the writer has stopped or the group has failed. A nil queued
// returns at once.
func (l *link) awaitWritten(queued chan error) error {
	if queued == nil {
		return nil
	}
	select {
	case err := <-queued:
		return err
	case <-l.written:
		return l.stopErr()
	case <-l.node.ctx.Done():
		return context.Cause(l.node.ctx)
	}
}

// fetch asks the sender for a rendezvous message and waits for its bytes,
// which land in buf when it has room, else in a new slice. If it returns
// an error, the message is dropped (see abandon) and buf is the caller's
// again.
func (l *link) fetch(ctx context.Context, rv *rendezvous, buf []byte) ([]byte, int, error) {
	if cap(buf) >= rv.size {
		buf = buf[:rv.size]
	} else {
		buf = make([]byte, rv.size)
	}
	t := &transfer{buf: buf, size: rv.size, done: make(chan struct{})}
	l.mu.Lock()
	delete(l.announced, rv.msgID)
	if rv.withdrawn {
		l.mu.Unlock()
		return nil, 0, errWithdrawn
	}
	l.transfers[rv.msgID] = t
	l.mu.Unlock()
	l.sendCtrl(0, wire.Header{Kind: wire.KindCTS, Src: int32(rv.dst), Dst: int32(rv.src), MsgID: rv.msgID})
	var err error
	select {
	case <-t.done:
		if t.err != nil {
			return nil, 0, t.err
		}
		return t.buf, t.wire, nil
	case <-ctx.Done():
		err = fmt.Errorf("receiving %d bytes: %w", rv.size, context.Cause(ctx))
	case <-l.stop:
		err = l.stopErr()
	case <-l.node.ctx.Done():
		err = context.Cause(l.node.ctx)
	}
	if l.abandon(t) {
		return t.buf, t.wire, nil
	}
	return nil, 0, err
}

// abandon gives up a transfer whose receive ended before its last chunk,
// and reports false, or true if the transfer completed after all. The
// sender has its CTS, so the chunks still come: the transfer stays
// registered as a sink, whose chunks the reader drops, until the last one
// or until the link closes. If the reader is writing into the receive's
// buffer at that moment, abandon waits until it has finished, so that the
// buffer is the caller's again when abandon returns.
func (l *link) abandon(t *transfer) bool {
	l.mu.Lock()
	if t.got >= t.size {
		l.mu.Unlock()
		return true
	}
	t.buf = nil
	var wait chan struct{}
	if l.landing == t {
		wait = make(chan struct{})
		t.handback = wait
	}
	l.mu.Unlock()
	if wait != nil {
		l.awaitHandback(wait)
	}
	return false
}

// awaitHandback waits until the reader closes ch. A chunk that takes
// landStall means the peer stalled inside a frame: the group fails and
// the link closes, which ends the read at once.
func (l *link) awaitHandback(ch chan struct{}) {
	timer := time.NewTimer(landStall)
	defer timer.Stop()
	select {
	case <-ch:
		return
	case <-timer.C:
	}
	l.node.fail(l.peerPack, fmt.Errorf("pack %d: a data chunk stalled for %v", l.peerPack, landStall))
	l.close()
	<-ch // Close unblocks ReadFrame, and the reader then hands back
}

// giveBack returns an announcement that a receive matched but did not ask
// for to its mailbox, unless the sender has withdrawn it meanwhile.
func (l *link) giveBack(box *mailbox, env *envelope) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if env.remote.withdrawn {
		delete(l.announced, env.remote.msgID)
		return
	}
	box.requeue(env)
}

// onAbort handles an Abort: the sender gave up on rendezvous message
// h.MsgID. A receive waiting for its bytes fails with errWithdrawn; an
// announcement still in the mailbox leaves it; one that a receive has just
// matched is marked, so that the receive drops it instead of asking for it.
// An Abort for a message already handled (the one that answers our CTS
// after the one sent on withdrawal) is ignored.
func (l *link) onAbort(h wire.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.transfers[h.MsgID]; ok {
		delete(l.transfers, h.MsgID)
		t.err = fmt.Errorf("%w: rank %d gave up on its %d-byte message", errWithdrawn, h.Src, t.size)
		close(t.done)
		return
	}
	rv, ok := l.announced[h.MsgID]
	if !ok {
		return
	}
	rv.withdrawn = true
	if l.node.boxes[rv.dst-l.node.lo].remove(rv) {
		delete(l.announced, h.MsgID)
	}
}

// sendDone queues the goodbye behind all queued frames and waits until it
// is written.
func (l *link) sendDone(ctx context.Context) error {
	sent := make(chan error, 1)
	if err := l.enqueue(ctx, outFrame{h: wire.Header{Kind: wire.KindDone, Src: int32(l.node.cfg.Pack)}, sent: sent}); err != nil {
		return err
	}
	select {
	case err := <-sent:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-l.stop:
		return errors.New("connection closed before goodbye")
	}
}
