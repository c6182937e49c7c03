package collectives

import (
	"sync/atomic"
	"time"
)

// OpStats counts one operation's calls and the traffic this rank sent for
// it. Local traffic goes to ranks of this rank's own pack (handed over
// without a copy); remote traffic crosses to another pack over the network.
type OpStats struct {
	Calls       int64 // calls started
	Errors      int64 // calls that returned an error
	LocalMsgs   int64 // messages sent to ranks of the same pack
	LocalBytes  int64 // payload bytes sent to ranks of the same pack
	RemoteMsgs  int64 // messages sent to ranks of other packs
	RemoteBytes int64 // payload bytes sent to ranks of other packs
	// Time is the wall time this rank spent inside the calls that got
	// past argument checks (from entry to return, waits included).
	Time time.Duration
}

// Add returns the field-wise sum of s and o, handy for totals over ranks.
func (s OpStats) Add(o OpStats) OpStats {
	return OpStats{
		Calls:       s.Calls + o.Calls,
		Errors:      s.Errors + o.Errors,
		LocalMsgs:   s.LocalMsgs + o.LocalMsgs,
		LocalBytes:  s.LocalBytes + o.LocalBytes,
		RemoteMsgs:  s.RemoteMsgs + o.RemoteMsgs,
		RemoteBytes: s.RemoteBytes + o.RemoteBytes,
		Time:        s.Time + o.Time,
	}
}

type opCounters struct {
	calls, errors                                  atomic.Int64
	localMsgs, localBytes, remoteMsgs, remoteBytes atomic.Int64
	nanos                                          atomic.Int64
}

func (k *opCounters) snapshot() OpStats {
	return OpStats{
		Calls:       k.calls.Load(),
		Errors:      k.errors.Load(),
		LocalMsgs:   k.localMsgs.Load(),
		LocalBytes:  k.localBytes.Load(),
		RemoteMsgs:  k.remoteMsgs.Load(),
		RemoteBytes: k.remoteBytes.Load(),
		Time:        time.Duration(k.nanos.Load()),
	}
}

func (k *opCounters) reset() {
	for _, a := range []*atomic.Int64{&k.calls, &k.errors, &k.localMsgs, &k.localBytes, &k.remoteMsgs, &k.remoteBytes, &k.nanos} {
		a.Store(0)
	}
}

// Stats returns a snapshot of the counters of every operation called at
// least once, keyed by operation name: "barrier", "bcast", "scatter",
// "scatterv", "gather", "gatherv", "allgather", "allgatherv", "reduce",
// "allreduce", "alltoall", "alltoallv". The typed helpers (AllReduceT,
// ReduceT) count under "allreduce" and "reduce".
func (c *Collectives) Stats() map[string]OpStats {
	m := make(map[string]OpStats)
	for op := range c.stats {
		s := c.stats[op].snapshot()
		if s != (OpStats{}) {
			m[opID(op).String()] = s
		}
	}
	return m
}

// Total is the sum of Stats over all operations.
func (c *Collectives) Total() OpStats {
	var t OpStats
	for op := range c.stats {
		t = t.Add(c.stats[op].snapshot())
	}
	return t
}

// ResetStats sets every counter back to zero.
func (c *Collectives) ResetStats() {
	for op := range c.stats {
		c.stats[op].reset()
	}
}
