package membership

import (
	"context"
	"testing"
	"time"
)

// quietGossip is a timing under which metadata does not spread by itself
// within a test: no gossip rounds, no probes (memberlist piggybacks
// broadcasts on them) and no periodic full syncs, so what a member learns
// after the ready barrier comes from direct messages.
func quietGossip() Timing {
	return Timing{GossipInterval: time.Hour, ProbeInterval: time.Hour, PushPullInterval: time.Hour}
}

// TestDoneRelayedByObserver checks that a pack's done message goes to the
// observer, which passes it on to the packs still running: with gossip
// silenced, only that relay can tell them.
func TestDoneRelayedByObserver(t *testing.T) {
	c := newCluster(t, 4)
	c.timing = quietGossip()
	c.startAll()
	c.waitReady(15 * time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.nodes[1].MarkDone(ctx); err != nil {
		t.Fatalf("MarkDone: %v", err)
	}
	waitFor(t, 2*time.Second, "the observer and packs 0, 2, 3 see pack 1 done", func() bool {
		for _, n := range []*Node{c.obs, c.nodes[0], c.nodes[2], c.nodes[3]} {
			if !n.Packs()[1].Done {
				return false
			}
		}
		return true
	})
	// A pack that is done is not told of later ones; the running are.
	if err := c.nodes[2].MarkDone(ctx); err != nil {
		t.Fatalf("MarkDone: %v", err)
	}
	waitFor(t, 2*time.Second, "packs 0 and 3 see pack 2 done", func() bool {
		return c.nodes[0].Packs()[2].Done && c.nodes[3].Packs()[2].Done
	})
	if got := c.rec.snapshot(); len(got) != 0 {
		t.Fatalf("failures reported: %v", got)
	}
}

// TestDoneWithoutObserverGoesDirect checks that a pack whose observer
// does not answer (killed, which the packs cannot notice with probes
// silenced) tells the running packs itself.
func TestDoneWithoutObserverGoesDirect(t *testing.T) {
	c := newCluster(t, 3)
	c.timing = quietGossip()
	c.startAll()
	c.waitReady(15 * time.Second)
	killNode(c.obs)
	if !c.nodes[0].hasObserver() {
		t.Fatal("pack 0 no longer knows the observer; the test needs it to")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.nodes[0].MarkDone(ctx); err != nil {
		t.Fatalf("MarkDone: %v", err)
	}
	waitFor(t, 2*time.Second, "packs 1 and 2 see pack 0 done", func() bool {
		return c.nodes[1].Packs()[0].Done && c.nodes[2].Packs()[0].Done
	})
}

// TestAnnounceEnd checks that the observer's end announcement reaches
// every pack.
func TestAnnounceEnd(t *testing.T) {
	c := newCluster(t, 3)
	c.startAll()
	c.waitReady(15 * time.Second)
	for p, n := range c.nodes {
		select {
		case <-n.Ended():
			t.Fatalf("pack %d: Ended closed before the announcement", p)
		default:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.obs.AnnounceEnd(ctx); err != nil {
		t.Fatalf("AnnounceEnd: %v", err)
	}
	for p, n := range c.nodes {
		select {
		case <-n.Ended():
		case <-time.After(2 * time.Second):
			t.Fatalf("pack %d: Ended not closed within 2 s of the announcement", p)
		}
	}
}
