package comm

import (
	"cmp"
	"slices"
	"sync"
)

// envelope is a message that has arrived for one rank. A local or eager
// message carries its data; a large remote message (rendezvous) carries
// only what is needed to ask the sender for it, and its data arrives after
// a receive has matched it.
type envelope struct {
	src, tag int
	data     []byte
	// remote is set for a rendezvous message: the bytes are still at the
	// sender.
	remote *rendezvous
	// eagerFrom is set for an eager message from another pack: consuming
	// it returns flow-control credit to the sending rank's pack.
	eagerFrom *link
	// wire is the number of bytes the message took on the network.
	wire int
	// seq is the message's place in its mailbox's arrival order.
	seq uint64
}

// recvReq is a receive waiting for a matching message.
type recvReq struct {
	src, tag int
	done     chan recvResult // buffered, receives exactly one result
}

type recvResult struct {
	env *envelope
	err error
}

// matches reports whether a receive for (src, tag) accepts a message from
// msgSrc with msgTag. AnySource matches every source; AnyTag matches every
// user tag but never a reserved (collective) tag.
func matches(src, tag, msgSrc, msgTag int) bool {
	if src != AnySource && src != msgSrc {
		return false
	}
	if tag == AnyTag {
		return msgTag < TagUB
	}
	return tag == msgTag
}

// mailbox matches arriving messages with posted receives for one rank, in
// MPI's order: a receive takes the earliest arrived message it matches, and
// a message goes to the earliest posted receive that matches it. Since the
// messages of one sender arrive in the order sent, messages on one
// (src, dst, tag) are received in order.
type mailbox struct {
	mu         sync.Mutex
	unexpected []*envelope // arrived, not yet received, in arrival order
	posted     []*recvReq  // waiting receives, in posting order
	err        error       // set once the mailbox is closed
	arrived    uint64      // messages delivered so far
}

// deliver hands env to the earliest matching posted receive, or queues it.
func (m *mailbox) deliver(env *envelope) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.arrived++
	env.seq = m.arrived
	if m.err != nil || m.handOver(env) {
		return
	}
	m.unexpected = append(m.unexpected, env)
}

// requeue gives back a message that a receive matched but did not take (its
// ctx ended before it asked the sender for the bytes): to the earliest
// matching posted receive, or else back to its place in the queue, in
// arrival order, so that a wildcard receive still takes the earliest
// arrival.
func (m *mailbox) requeue(env *envelope) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil || m.handOver(env) {
		return
	}
	i, _ := slices.BinarySearchFunc(m.unexpected, env.seq, func(e *envelope, seq uint64) int { return cmp.Compare(e.seq, seq) })
	m.unexpected = slices.Insert(m.unexpected, i, env)
}

// remove takes the announcement of rendezvous rv out of the queue, and
// reports whether it was there.
func (m *mailbox) remove(rv *rendezvous) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.unexpected, func(env *envelope) bool { return env.remote == rv })
	if i < 0 {
		return false
	}
	m.unexpected = slices.Delete(m.unexpected, i, i+1)
	return true
}

// handOver gives env to the earliest matching posted receive, if any.
// Called with mu held.
func (m *mailbox) handOver(env *envelope) bool {
	for i, r := range m.posted {
		if matches(r.src, r.tag, env.src, env.tag) {
			m.posted = append(m.posted[:i], m.posted[i+1:]...)
			r.done <- recvResult{env: env}
			return true
		}
	}
	return false
}

// post registers a receive. If a matching message has already arrived it is
// delivered to the request at once.
func (m *mailbox) post(r *recvReq) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		r.done <- recvResult{err: m.err}
		return
	}
	for i, env := range m.unexpected {
		if matches(r.src, r.tag, env.src, env.tag) {
			m.unexpected = append(m.unexpected[:i], m.unexpected[i+1:]...)
			r.done <- recvResult{env: env}
			return
		}
	}
	m.posted = append(m.posted, r)
}

// cancel withdraws a posted receive. It reports false when the receive has
// already been matched (its result is then in r.done).
func (m *mailbox) cancel(r *recvReq) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range m.posted {
		if p == r {
			m.posted = append(m.posted[:i], m.posted[i+1:]...)
			return true
		}
	}
	return false
}

// probe reports whether a message matching (src, tag) has arrived, without
// receiving it.
func (m *mailbox) probe(src, tag int) (msgSrc, msgTag int, size int, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, env := range m.unexpected {
		if matches(src, tag, env.src, env.tag) {
			size := len(env.data)
			if env.remote != nil {
				size = env.remote.size
			}
			return env.src, env.tag, size, true
		}
	}
	return 0, 0, 0, false
}

// close fails every posted receive and every later one with err.
func (m *mailbox) close(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return
	}
	m.err = err
	for _, r := range m.posted {
		r.done <- recvResult{err: err}
	}
	m.posted = nil
	m.unexpected = nil
}
