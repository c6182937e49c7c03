package comm

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// Special values for Recv's src and tag.
const (
	// AnySource receives from any rank; RecvMsg reports the actual source.
	AnySource = -1
	// AnyTag receives any user tag (any tag below TagUB); RecvMsg reports
	// the actual tag.
	AnyTag = -1
	// TagUB bounds user tags: user code uses tags in [0, TagUB). Tags at or
	// above it are reserved for collectives, and AnyTag never matches them.
	TagUB = 1 << 30
)

// Errors callers branch on.
var (
	// ErrBadRank marks a rank outside [0, Size()).
	ErrBadRank = errors.New("comm: rank out of range")
	// ErrBadTag marks a negative tag in Send, or a tag below AnyTag in Recv.
	ErrBadTag = errors.New("comm: invalid tag")
	// ErrClosed marks an operation on a node that has been closed.
	ErrClosed = errors.New("comm: closed")
	// ErrPeerDone marks a send to a rank whose container has finished.
	ErrPeerDone = errors.New("comm: peer has finished")
)

// errWithdrawn marks a large remote message that its sender withdrew
// (its Send ended) before sending it; receives skip it.
var errWithdrawn = errors.New("comm: the sender withdrew the message")

// Message is a received message with its actual source and tag.
type Message struct {
	Src  int
	Tag  int
	Data []byte
}

// Comm is one worker's communicator: point-to-point messages to any rank
// of the group, wherever it runs. Its methods are safe for concurrent use.
//
// Ownership: Send hands the slice to the receiver. Inside a container the
// receiver gets the very same backing array (no copy), so the sender must
// not read or write data after Send returns (or after an Isend's request
// is started). The receiver owns what Recv returns.
type Comm struct {
	node  *Node
	rank  int
	box   *mailbox
	stats counters
}

// Rank is this worker's rank, 0..Size()-1.
func (c *Comm) Rank() int { return c.rank }

// Size is the number of ranks in the group.
func (c *Comm) Size() int { return c.node.cfg.Workers }

// Pack returns the index of the container (pack) that hosts rank.
func (c *Comm) Pack(rank int) int { return rank / c.node.cfg.Granularity }

// Granularity is the number of ranks per container (the last one may hold
// fewer).
func (c *Comm) Granularity() int { return c.node.cfg.Granularity }

// Send sends data to rank dst with tag. A message to a rank in the same
// container is handed over without a copy and Send returns at once. A small
// remote message is queued and Send returns once it is queued; a large one
// (above Config.EagerLimit, or when the receiver has much unconsumed data)
// waits until the receiver has asked for it and its bytes have been
// written. Send blocks while the connection is congested; ctx bounds every
// wait but one: once the receiver has asked for a large message, its bytes
// are written in full whatever ctx says (the receiver waits for them, and
// the buffer must not be read after Send returns), and Send reports it
// sent. Only the group failing or the connection breaking cuts that short.
func (c *Comm) Send(ctx context.Context, dst, tag int, data []byte) error {
	finish, err := c.post(ctx, dst, tag, data)
	if err != nil {
		return err
	}
	return finish(ctx)
}

// post starts a send: it checks the arguments and puts the message (or,
// for a large remote one, its announcement) in line, so that messages are
// ordered as posted. finish completes it.
func (c *Comm) post(ctx context.Context, dst, tag int, data []byte) (finish func(context.Context) error, err error) {
	if err := c.checkRank(dst); err != nil {
		return nil, fmt.Errorf("send to %d: %w", dst, err)
	}
	if tag < 0 {
		return nil, fmt.Errorf("send to %d: %w: tag %d is negative", dst, ErrBadTag, tag)
	}
	if err := c.node.err(); err != nil {
		return nil, fmt.Errorf("send to %d: %w", dst, err)
	}
	if c.node.local(dst) {
		c.node.boxes[dst-c.node.lo].deliver(&envelope{src: c.rank, tag: tag, data: data})
		c.stats.sentLocal(len(data))
		return func(context.Context) error { return nil }, nil
	}
	done, err := c.node.postRemote(ctx, c.rank, dst, tag, data)
	if err != nil {
		return nil, fmt.Errorf("send to %d (pack %d): %w", dst, c.Pack(dst), err)
	}
	return func(ctx context.Context) error {
		wire, err := done(ctx)
		if err != nil {
			return fmt.Errorf("send to %d (pack %d): %w", dst, c.Pack(dst), err)
		}
		c.stats.sentRemote(len(data), wire)
		return nil
	}, nil
}

// Recv receives the earliest message from src with tag (AnySource and
// AnyTag match any). It blocks until one arrives, ctx ends, or the group
// fails. A receive that ends with an error has taken no message, except
// when ctx ends while a large remote message is already on its way: that
// message is then dropped (its remaining bytes are discarded as they
// arrive).
func (c *Comm) Recv(ctx context.Context, src, tag int) ([]byte, error) {
	m, err := c.RecvMsg(ctx, src, tag)
	return m.Data, err
}

// RecvMsg is Recv that also reports the message's actual source and tag,
// for use with AnySource and AnyTag.
func (c *Comm) RecvMsg(ctx context.Context, src, tag int) (Message, error) {
	req, err := c.postRecv(src, tag)
	if err != nil {
		return Message{}, err
	}
	return c.waitRecv(ctx, req, nil)
}

// RecvInto is RecvMsg with a buffer to receive into, to spare an
// allocation per message when receiving many large ones. A remote message
// that travels by rendezvous (above Config.EagerLimit) and fits in
// cap(buf) lands directly in buf, and Data is buf[:size]; any other message
// is returned as it arrived (a message from the same container is still
// the sender's own slice, never a copy), so always read Data, not buf.
// The caller must not touch buf until RecvInto returns.
func (c *Comm) RecvInto(ctx context.Context, src, tag int, buf []byte) (Message, error) {
	req, err := c.postRecv(src, tag)
	if err != nil {
		return Message{}, err
	}
	return c.waitRecv(ctx, req, buf)
}

// postRecv checks the arguments and registers a receive, so that receives
// match messages in the order they were posted.
func (c *Comm) postRecv(src, tag int) (*recvReq, error) {
	if src != AnySource {
		if err := c.checkRank(src); err != nil {
			return nil, fmt.Errorf("recv from %d: %w", src, err)
		}
	}
	if tag < AnyTag {
		return nil, fmt.Errorf("recv from %d: %w: tag %d", src, ErrBadTag, tag)
	}
	req := &recvReq{src: src, tag: tag, done: make(chan recvResult, 1)}
	c.box.post(req)
	return req, nil
}

// waitRecv waits for a posted receive to be matched and, for a large
// remote message, for its bytes, which land in buf when it is big enough.
// A message that its sender withdrew before sending it is skipped, as if
// it had never come: the receive matches again.
func (c *Comm) waitRecv(ctx context.Context, req *recvReq, buf []byte) (Message, error) {
	for {
		env, err := c.match(ctx, req)
		if err != nil {
			return Message{}, fmt.Errorf("recv from %s tag %s: %w", rankName(req.src), tagName(req.tag), err)
		}
		m, err := c.take(ctx, env, buf)
		if !errors.Is(err, errWithdrawn) {
			return m, err
		}
		c.node.log.Debug("receive skips a withdrawn message", "rank", c.rank, "src", env.src, "tag", env.tag)
		req = &recvReq{src: req.src, tag: req.tag, done: make(chan recvResult, 1)}
		c.box.post(req)
	}
}

// match waits until a posted receive has been matched with a message.
func (c *Comm) match(ctx context.Context, req *recvReq) (*envelope, error) {
	var res recvResult
	select {
	case res = <-req.done:
	case <-ctx.Done():
		if c.box.cancel(req) {
			return nil, context.Cause(ctx)
		}
		res = <-req.done // matched just as ctx ended: take it
	}
	return res.env, res.err
}

// take receives a matched message: for a large remote one, it asks the
// sender for the bytes and waits for them.
func (c *Comm) take(ctx context.Context, env *envelope, buf []byte) (Message, error) {
	m := Message{Src: env.src, Tag: env.tag, Data: env.data}
	switch {
	case env.remote != nil:
		if err := ctx.Err(); err != nil {
			env.remote.link.giveBack(c.box, env) // not asked for: the next receive gets it
			return Message{}, fmt.Errorf("recv from %d tag %d: %w", env.src, env.tag, context.Cause(ctx))
		}
		data, wire, err := env.remote.link.fetch(ctx, env.remote, buf)
		if err != nil {
			return Message{}, fmt.Errorf("recv from %d tag %d (pack %d): %w", env.src, env.tag, c.Pack(env.src), err)
		}
		m.Data = data
		c.stats.recvRemote(len(data), wire)
	case env.eagerFrom != nil:
		env.eagerFrom.consumed(env.src, c.rank, len(env.data))
		c.stats.recvRemote(len(env.data), env.wire)
	default:
		c.stats.recvLocal(len(env.data))
	}
	return m, nil
}

// Probe reports whether a message from src with tag has arrived and not yet
// been received, with its source, tag and size.
func (c *Comm) Probe(src, tag int) (msgSrc, msgTag, size int, ok bool) {
	return c.box.probe(src, tag)
}

// Request is a pending non-blocking operation.
type Request struct {
	done chan struct{}
	msg  Message
	err  error
}

// Wait blocks until the operation completes or ctx ends. For a receive it
// returns the message; for a send, an empty Message.
func (r *Request) Wait(ctx context.Context) (Message, error) {
	select {
	case <-r.done:
		return r.msg, r.err
	case <-ctx.Done():
		return Message{}, fmt.Errorf("wait: %w", context.Cause(ctx))
	}
}

// Test reports whether the operation has completed, without blocking.
func (r *Request) Test() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Isend starts a send and returns at once with a request to wait on.
// Messages are ordered as their Isend (or Send) calls were made. ctx bounds
// the operation itself; the sender must not touch data after Isend.
func (c *Comm) Isend(ctx context.Context, dst, tag int, data []byte) *Request {
	finish, err := c.post(ctx, dst, tag, data)
	return startRequest(err, func(r *Request) { r.err = finish(ctx) })
}

// Irecv posts a receive and returns at once with a request to wait on.
// Receives match messages in the order they were posted. ctx bounds the
// operation itself.
func (c *Comm) Irecv(ctx context.Context, src, tag int) *Request {
	return c.IrecvInto(ctx, src, tag, nil)
}

// IrecvInto is Irecv with a buffer to receive into, as RecvInto.
func (c *Comm) IrecvInto(ctx context.Context, src, tag int, buf []byte) *Request {
	req, err := c.postRecv(src, tag)
	return startRequest(err, func(r *Request) { r.msg, r.err = c.waitRecv(ctx, req, buf) })
}

// startRequest returns a request that has failed with postErr, or, when
// the operation was posted, one that completes when complete returns.
func startRequest(postErr error, complete func(*Request)) *Request {
	r := &Request{done: make(chan struct{})}
	if postErr != nil {
		r.err = postErr
		close(r.done)
		return r
	}
	go func() {
		defer close(r.done)
		complete(r)
	}()
	return r
}

// SendRecv sends data to dst and receives from src at the same time, so
// that exchanges between pairs of ranks cannot deadlock.
func (c *Comm) SendRecv(ctx context.Context, dst, sendTag int, data []byte, src, recvTag int) (Message, error) {
	s := c.Isend(ctx, dst, sendTag, data)
	m, rerr := c.RecvMsg(ctx, src, recvTag)
	_, serr := s.Wait(ctx)
	if serr != nil {
		return Message{}, serr
	}
	return m, rerr
}

// Stats returns this worker's message and byte counters.
func (c *Comm) Stats() Stats { return c.stats.snapshot() }

func (c *Comm) checkRank(r int) error {
	if r < 0 || r >= c.node.cfg.Workers {
		return fmt.Errorf("%w: %d not in [0,%d)", ErrBadRank, r, c.node.cfg.Workers)
	}
	return nil
}

func rankName(r int) string {
	if r == AnySource {
		return "any"
	}
	return fmt.Sprint(r)
}

func tagName(t int) string {
	if t == AnyTag {
		return "any"
	}
	return fmt.Sprint(t)
}

// Stats counts one worker's traffic. Bytes are payload bytes as the app
// sees them; WireBytes are what crossed the network after compression.
type Stats struct {
	SentLocalMsgs   int64 `json:"sent_local_msgs"`
	SentLocalBytes  int64 `json:"sent_local_bytes"`
	SentRemoteMsgs  int64 `json:"sent_remote_msgs"`
	SentRemoteBytes int64 `json:"sent_remote_bytes"`
	SentWireBytes   int64 `json:"sent_wire_bytes"`
	RecvLocalMsgs   int64 `json:"recv_local_msgs"`
	RecvLocalBytes  int64 `json:"recv_local_bytes"`
	RecvRemoteMsgs  int64 `json:"recv_remote_msgs"`
	RecvRemoteBytes int64 `json:"recv_remote_bytes"`
	RecvWireBytes   int64 `json:"recv_wire_bytes"`
}

// Add returns the sum of s and o.
func (s Stats) Add(o Stats) Stats {
	return Stats{
		s.SentLocalMsgs + o.SentLocalMsgs, s.SentLocalBytes + o.SentLocalBytes,
		s.SentRemoteMsgs + o.SentRemoteMsgs, s.SentRemoteBytes + o.SentRemoteBytes, s.SentWireBytes + o.SentWireBytes,
		s.RecvLocalMsgs + o.RecvLocalMsgs, s.RecvLocalBytes + o.RecvLocalBytes,
		s.RecvRemoteMsgs + o.RecvRemoteMsgs, s.RecvRemoteBytes + o.RecvRemoteBytes, s.RecvWireBytes + o.RecvWireBytes,
	}
}

type counters struct {
	sentLocalMsgs, sentLocalBytes                  atomic.Int64
	sentRemoteMsgs, sentRemoteBytes, sentWireBytes atomic.Int64
	recvLocalMsgs, recvLocalBytes                  atomic.Int64
	recvRemoteMsgs, recvRemoteBytes, recvWireBytes atomic.Int64
}

func (c *counters) sentLocal(n int) { c.sentLocalMsgs.Add(1); c.sentLocalBytes.Add(int64(n)) }
func (c *counters) recvLocal(n int) { c.recvLocalMsgs.Add(1); c.recvLocalBytes.Add(int64(n)) }
func (c *counters) sentRemote(n, wire int) {
	c.sentRemoteMsgs.Add(1)
	c.sentRemoteBytes.Add(int64(n))
	c.sentWireBytes.Add(int64(wire))
}
func (c *counters) recvRemote(n, wire int) {
	c.recvRemoteMsgs.Add(1)
	c.recvRemoteBytes.Add(int64(n))
	c.recvWireBytes.Add(int64(wire))
}

func (c *counters) snapshot() Stats {
	return Stats{
		c.sentLocalMsgs.Load(), c.sentLocalBytes.Load(),
		c.sentRemoteMsgs.Load(), c.sentRemoteBytes.Load(), c.sentWireBytes.Load(),
		c.recvLocalMsgs.Load(), c.recvLocalBytes.Load(),
		c.recvRemoteMsgs.Load(), c.recvRemoteBytes.Load(), c.recvWireBytes.Load(),
	}
}
