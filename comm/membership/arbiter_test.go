package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"testing"
	"time"
)

// In an arbitrated view (speculative start-up replicas) a claim counts
// only once the arbiter declares its node the winner; a replica never
// takes over from a winner that goes.
func TestViewArbitrated(t *testing.T) {
	v := newView("g", 2, true, slog.New(slog.DiscardHandler))
	v.alive("p0a", "127.0.0.1:1", Meta{Group: "g", Pack: 0})
	v.alive("p0b", "127.0.0.1:2", Meta{Group: "g", Pack: 0, Replica: 1})
	v.alive("p1a", "127.0.0.1:3", Meta{Group: "g", Pack: 1})
	if len(v.current()) != 0 || v.ready {
		t.Fatalf("undeclared claims count: %v", v.current())
	}
	claims := v.takeClaims()
	if len(claims) != 3 || claims[1].Node != "p0b" || claims[1].Replica != 1 {
		t.Fatalf("claims %+v", claims)
	}
	if len(v.takeClaims()) != 0 {
		t.Fatal("claims handed out twice")
	}
	if !v.declare(0, "p0b") || v.declare(0, "p0a") {
		t.Fatal("the first declaration does not stand")
	}
	// The ready announcement vouches for pack 1's owner.
	v.learn("p1a", "127.0.0.1:3", Meta{Group: "g", Pack: 1})
	want := map[int]string{0: "p0b", 1: "p1a"}
	got := map[int]string{}
	for p := range v.current() {
		got[p] = v.owner[p]
	}
	if !maps.Equal(got, want) || !v.ready {
		t.Fatalf("owners %v ready %v, want %v", got, v.ready, want)
	}
	// The loser goes: nothing happens. The winner dies: the pack fails,
	// the loser does not take over.
	if _, id := v.gone("p0a", Left); id != 0 {
		t.Fatal("a loser leaving is a pending failure")
	}
	v.alive("p0a", "127.0.0.1:1", Meta{Group: "g", Pack: 0})
	p, id := v.gone("p0b", Dead)
	if id == 0 {
		t.Fatal("the winner's death is not a pending failure")
	}
	if f := v.expire(p, id); f == nil || f.Pack != 0 || f.Node != "p0b" {
		t.Fatalf("winner's death reported as %v", f)
	}
}

// Real nodes: the arbiter declares one replica the winner; the loser is
// told to stop; the other pack passes the barrier with the winner as
// owner once the arbiter announces ready.
func TestDeclareWinner(t *testing.T) {
	c := newCluster(t, 2)
	stops := make(chan error, 4)
	obsCfg := c.config(ObserverPack)
	obsCfg.Arbitrated = true
	claims := make(chan Claim, 8)
	obsCfg.OnClaim = func(cl Claim) { claims <- cl }
	obs := c.start(obsCfg)
	defer obs.Close(time.Second)
	start := func(pack, replica int) *Node {
		cfg := c.config(pack)
		cfg.Arbitrated = true
		cfg.Self.Replica = replica
		cfg.Name = fmt.Sprintf("%s/pack-%d.r%d", c.group, pack, replica)
		cfg.Seeds = []string{obs.Addr()}
		cfg.OnStop = func(err error) { stops <- err }
		n := c.start(cfg)
		t.Cleanup(func() { n.Close(time.Second) })
		return n
	}
	a, b, other := start(0, 0), start(0, 1), start(1, 0)
	seen := map[string]bool{}
	deadline := time.After(5 * time.Second)
	for len(seen) < 3 {
		select {
		case cl := <-claims:
			seen[cl.Node] = true
		case <-deadline:
			t.Fatalf("claims seen: %v", seen)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := obs.DeclareWinner(ctx, 0, b.Name()); err != nil {
		t.Fatal(err)
	}
	if err := obs.DeclareWinner(ctx, 1, other.Name()); err != nil {
		t.Fatal(err)
	}
	if err := obs.DeclareWinner(ctx, 0, a.Name()); err == nil {
		t.Error("a second winner of pack 0 accepted")
	}
	select {
	case err := <-stops:
		if !errors.Is(err, ErrPreempted) {
			t.Errorf("stop error %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the loser was not told to stop")
	}
	if _, err := obs.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := obs.AnnounceReady(ctx); err != nil {
		t.Fatal(err)
	}
	view, err := other.WaitReady(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if view[0].Replica != 1 {
		t.Errorf("pack 1 sees pack 0 as replica %d, want the winner, 1", view[0].Replica)
	}
	// The loser never passes the ready barrier, even once the group is
	// ready: its workers must not start in the moment before its OnStop
	// has run.
	if v, err := a.WaitReady(ctx); !errors.Is(err, ErrPreempted) {
		t.Errorf("the loser's WaitReady = %v, %v; want ErrPreempted", v, err)
	}
	select {
	case err := <-stops:
		t.Errorf("a second stop: %v", err)
	default:
	}
}

// A losing replica that finishes (its node says done as it stops) before
// the arbiter has declared the winner must not count for the pack: the
// arbiter would otherwise announce the loser as the pack's owner, and the
// winner would be told to stop. The winner's own done counts once it is
// declared, whether the declaration or the done comes first.
func TestViewArbitratedLoserDoneDoesNotCount(t *testing.T) {
	v := newView("g", 2, true, slog.New(slog.DiscardHandler))
	v.alive("p0a", "127.0.0.1:1", Meta{Group: "g", Pack: 0})
	v.alive("p0b", "127.0.0.1:2", Meta{Group: "g", Pack: 0, Replica: 1})
	v.nodeDone("p0a", 0) // the loser, preempted, says done
	if v.done[0] || v.last[0] != "" || v.ready {
		t.Fatalf("a loser's done counted for pack 0: done %v last %q ready %v", v.done[0], v.last[0], v.ready)
	}
	v.declare(0, "p0b")
	v.nodeDone("p1a", 1) // pack 1's winner finished before this view saw it
	if v.done[1] || v.ready {
		t.Fatal("an undeclared replica's done counted for pack 1")
	}
	v.declare(1, "p1a")
	if !v.done[1] || !v.ready {
		t.Fatalf("pack 1's declared winner was done: done %v ready %v", v.done[1], v.ready)
	}
	owners := map[int]string{}
	for _, mb := range v.owners() {
		owners[mb.meta.Pack] = mb.name
	}
	if want := map[int]string{0: "p0b", 1: "p1a"}; !maps.Equal(owners, want) {
		t.Fatalf("owners %v, want %v", owners, want)
	}
}
