package comm

import (
	"errors"
	"testing"
)

// recvNow posts a receive for (src, tag) and returns it with the message it
// matched at once, or nil when it is left waiting.
func recvNow(t *testing.T, m *mailbox, src, tag int) (*recvReq, *envelope) {
	t.Helper()
	r := &recvReq{src: src, tag: tag, done: make(chan recvResult, 1)}
	m.post(r)
	select {
	case res := <-r.done:
		if res.err != nil {
			t.Fatalf("recv(%d, %d): %v", src, tag, res.err)
		}
		return r, res.env
	default:
		return r, nil
	}
}

// got returns the message a waiting receive was handed, or nil.
func got(r *recvReq) *envelope {
	select {
	case res := <-r.done:
		return res.env
	default:
		return nil
	}
}

func msg(src, tag int, body string) *envelope {
	return &envelope{src: src, tag: tag, data: []byte(body)}
}

func body(e *envelope) string {
	if e == nil {
		return "<none>"
	}
	return string(e.data)
}

func TestMailboxExactReceivesTakeTheirQueueInOrder(t *testing.T) {
	m := &mailbox{}
	m.deliver(msg(1, 7, "a"))
	m.deliver(msg(2, 7, "b"))
	m.deliver(msg(1, 7, "c"))
	m.deliver(msg(1, 8, "d"))
	for _, want := range []struct {
		src, tag int
		body     string
	}{{1, 8, "d"}, {1, 7, "a"}, {2, 7, "b"}, {1, 7, "c"}} {
		if _, e := recvNow(t, m, want.src, want.tag); body(e) != want.body {
			t.Fatalf("recv(%d, %d) = %s, want %s", want.src, want.tag, body(e), want.body)
		}
	}
	if _, e := recvNow(t, m, 1, 7); e != nil {
		t.Fatalf("empty queue gave %s", body(e))
	}
}

func TestMailboxWildcardTakesEarliestArrival(t *testing.T) {
	m := &mailbox{}
	m.deliver(msg(3, 1, "first"))
	m.deliver(msg(1, 2, "second"))
	m.deliver(msg(2, 1, "third"))
	m.deliver(msg(0, TagUB, "reserved"))
	cases := []struct {
		src, tag int
		body     string
	}{
		{AnySource, 1, "first"},
		{1, AnyTag, "second"},
		{AnySource, AnyTag, "third"},
		{AnySource, AnyTag, "<none>"}, // AnyTag never matches a reserved tag
		{AnySource, TagUB, "reserved"},
	}
	for _, c := range cases {
		r, e := recvNow(t, m, c.src, c.tag)
		if body(e) != c.body {
			t.Fatalf("recv(%d, %d) = %s, want %s", c.src, c.tag, body(e), c.body)
		}
		if e == nil && !m.cancel(r) {
			t.Fatalf("cancel of a waiting recv(%d, %d) reported it matched", c.src, c.tag)
		}
	}
}

func TestMailboxMessageGoesToEarliestPostedReceive(t *testing.T) {
	m := &mailbox{}
	wild1, _ := recvNow(t, m, AnySource, 5)
	exact, _ := recvNow(t, m, 2, 5)
	wild2, _ := recvNow(t, m, AnySource, AnyTag)

	m.deliver(msg(2, 5, "a")) // wild1 was posted first
	m.deliver(msg(2, 5, "b")) // then exact
	m.deliver(msg(2, 5, "c")) // then wild2
	for _, c := range []struct {
		name string
		r    *recvReq
		want string
	}{{"wild1", wild1, "a"}, {"exact", exact, "b"}, {"wild2", wild2, "c"}} {
		if e := got(c.r); body(e) != c.want {
			t.Fatalf("%s got %s, want %s", c.name, body(e), c.want)
		}
	}

	exact2, _ := recvNow(t, m, 4, 6)
	wild3, _ := recvNow(t, m, AnySource, 6)
	m.deliver(msg(4, 6, "d")) // exact2 was posted first
	if e := got(exact2); body(e) != "d" {
		t.Fatalf("exact2 got %s, want d", body(e))
	}
	if e := got(wild3); e != nil {
		t.Fatalf("wild3 got %s, want nothing yet", body(e))
	}
	if m.cancel(exact2) {
		t.Fatal("cancel of a matched receive reported it waiting")
	}
	if !m.cancel(wild3) {
		t.Fatal("cancel of a waiting wildcard receive reported it matched")
	}
	m.deliver(msg(4, 6, "e"))
	if e := got(wild3); e != nil {
		t.Fatalf("cancelled receive got %s", body(e))
	}
	if _, e := recvNow(t, m, 4, 6); body(e) != "e" {
		t.Fatalf("message after cancel: got %s, want e", body(e))
	}
}

func TestMailboxRequeueKeepsOrder(t *testing.T) {
	m := &mailbox{}
	m.deliver(msg(1, 2, "a"))
	m.deliver(msg(1, 2, "b"))
	_, a := recvNow(t, m, 1, 2)
	m.requeue(a) // its receive gave up before taking it
	if _, e := recvNow(t, m, 1, 2); body(e) != "a" {
		t.Fatalf("recv after requeue = %s, want a", body(e))
	}
	_, b := recvNow(t, m, AnySource, AnyTag)
	waiting, _ := recvNow(t, m, 1, 2)
	m.requeue(b) // a receive is waiting: it gets the message at once
	if e := got(waiting); body(e) != "b" {
		t.Fatalf("waiting receive got %s, want b", body(e))
	}
}

// TestMailboxRequeueKeepsArrivalOrderAcrossSources: a message given back
// goes to its place in arrival order, not to the front, so a wildcard
// receive still takes the earliest arrival of any source.
func TestMailboxRequeueKeepsArrivalOrderAcrossSources(t *testing.T) {
	m := &mailbox{}
	m.deliver(msg(2, 0, "b")) // from rank 2, first
	m.deliver(msg(1, 0, "a"))
	m.deliver(msg(3, 0, "c"))
	_, a := recvNow(t, m, 1, 0)
	m.requeue(a)
	for _, want := range []string{"b", "a", "c"} {
		if _, e := recvNow(t, m, AnySource, AnyTag); body(e) != want {
			t.Fatalf("wildcard recv after requeue = %s, want %s", body(e), want)
		}
	}
}

func TestMailboxProbeLeavesMessage(t *testing.T) {
	m := &mailbox{}
	if _, _, _, ok := m.probe(AnySource, AnyTag); ok {
		t.Fatal("probe of an empty mailbox found a message")
	}
	m.deliver(msg(2, 3, "xyz"))
	m.deliver(msg(1, 3, "later"))
	src, tag, size, ok := m.probe(AnySource, 3)
	if !ok || src != 2 || tag != 3 || size != 3 {
		t.Fatalf("probe = (%d, %d, %d, %v), want (2, 3, 3, true)", src, tag, size, ok)
	}
	if _, e := recvNow(t, m, AnySource, 3); body(e) != "xyz" {
		t.Fatalf("recv after probe = %s, want xyz", body(e))
	}
}

func TestMailboxCloseFailsWaitingAndLaterReceives(t *testing.T) {
	m := &mailbox{}
	exact, _ := recvNow(t, m, 1, 1)
	wild, _ := recvNow(t, m, AnySource, AnyTag)
	cause := errors.New("group over")
	m.close(cause)
	for _, r := range []*recvReq{exact, wild} {
		if res := <-r.done; !errors.Is(res.err, cause) {
			t.Fatalf("waiting recv(%d, %d) ended with %v, want %v", r.src, r.tag, res.err, cause)
		}
	}
	m.deliver(msg(1, 1, "late"))
	late := &recvReq{src: 1, tag: 1, done: make(chan recvResult, 1)}
	m.post(late)
	if res := <-late.done; !errors.Is(res.err, cause) {
		t.Fatalf("recv after close ended with %v, want %v", res.err, cause)
	}
}
