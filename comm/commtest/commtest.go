// Package commtest starts a whole group's comm nodes inside one test
// process, with real memberlist and real sockets on 127.0.0.1, so layers
// above comm (collectives, apps) can be tested over the real middleware
// without starting containers.
package commtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/volley-run/volley/comm"
	"github.com/volley-run/volley/comm/membership"
)

// Secret is the group secret test clusters use.
var Secret = []byte("commtest-secret-0123456789abcdef")

// Cluster is a group of N ranks packed G per node, all in this process.
type Cluster struct {
	Nodes []*comm.Node
	Comms []*comm.Comm // by rank
}

// SharedProcessTiming is the failure-detection timing of the nodes Start
// makes. All of a cluster's memberlist nodes share this process's CPUs,
// the race detector's slowdown and, in CI, the CPUs of other test
// binaries: even membership.DenseTiming declared starved nodes dead there
// (a node stalled for seconds, not killed). Clusters made here test the
// layers above membership, not failure detection (the membership and comm
// packages test that with their own timings), so probing is slow and the
// suspicion long: a node must stay silent for about half a minute to be
// declared dead.
func SharedProcessTiming() membership.Timing {
	t := membership.DenseTiming()
	t.ProbeInterval = 2 * time.Second
	t.ProbeTimeout = time.Second
	t.SuspicionMult = 8
	return t
}

// Start starts ceil(n/g) nodes over TCP, waits until the group is ready,
// and closes everything when the test ends. mod, if not nil, adjusts each
// node's Config.
func Start(t testing.TB, n, g int, mod func(*comm.Config)) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	packs := (n + g - 1) / g
	cl := &Cluster{}
	t.Cleanup(cl.Close)
	var seeds []string
	for p := range packs {
		cfg := comm.Config{Group: "g-commtest", Secret: Secret, Workers: n, Granularity: g, Pack: p, Transport: "tcp", Seeds: seeds}
		cfg.Membership = SharedProcessTiming()
		if mod != nil {
			mod(&cfg)
		}
		node, err := comm.Start(ctx, cfg)
		if err != nil {
			t.Fatalf("start pack %d: %v", p, err)
		}
		cl.Nodes = append(cl.Nodes, node)
		if p == 0 {
			seeds = []string{node.MembershipAddr()}
		}
	}
	errs := make([]error, packs)
	var wg sync.WaitGroup
	for p, node := range cl.Nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[p] = node.WaitReady(ctx) }()
	}
	wg.Wait()
	for p, err := range errs {
		if err != nil {
			t.Fatalf("pack %d not ready: %v", p, err)
		}
	}
	for r := range n {
		c, err := cl.Nodes[r/g].Comm(r)
		if err != nil {
			t.Fatal(err)
		}
		cl.Comms = append(cl.Comms, c)
	}
	return cl
}

// Run runs fn for every rank at once and waits for all of them.
func (cl *Cluster) Run(fn func(c *comm.Comm) error) []error {
	errs := make([]error, len(cl.Comms))
	var wg sync.WaitGroup
	for r, c := range cl.Comms {
		wg.Add(1)
		go func() { defer wg.Done(); errs[r] = fn(c) }()
	}
	wg.Wait()
	return errs
}

// Close closes every node; it is safe to call twice.
func (cl *Cluster) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, n := range cl.Nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.Close(ctx) }()
	}
	wg.Wait()
}
