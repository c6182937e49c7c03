// Package pagerank is the distributed PageRank job: `volley run pagerank
// -p graph=FILE`.
//
// Vertices are hashed over the ranks: vertex v belongs to rank v mod N.
// Each pack reads the edge list once, its ranks taking a share each (a
// plain file is cut in byte ranges; a gzip stream is decompressed by
// every rank, each parsing every g-th line), and hands every edge to the
// pack mate that owns its source, so loading moves no bytes between
// containers.
//
// Each iteration a rank adds up its edges' contributions per target, the
// pack combines them per target (inside the container, zero-copy), and
// one vector per remote owner crosses the network (AllToAllv); the rank
// mass of vertices without out-edges and the L1 change are summed with
// AllReduce. Rank 0 returns the top-k vertices and, with out=FILE, writes
// the rank file. Package graph holds the single-process reference the
// results are checked against.
package pagerank

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/volley-run/volley/apps/pagerank/graph"
	"github.com/volley-run/volley/collectives"
	"github.com/volley-run/volley/comm"
	"github.com/volley-run/volley/group"
)

func init() {
	group.Register(group.App{
		Name:    "pagerank",
		Summary: "PageRank of an edge list (graph=FILE), vertices hashed over the ranks; writes a rank file (out=FILE) and returns the top-k",
		Params:  params,
		Check:   check,
		Run:     Run,
	})
}

// Result is what each rank returns. The graph-wide fields are the same
// on every rank; Top and Out only rank 0 fills in.
type Result struct {
	Vertices   int            `json:"vertices"`
	Edges      int64          `json:"edges"`
	Iterations int            `json:"iterations"`
	Delta      float64        `json:"delta"`
	Converged  bool           `json:"converged"`
	Top        []graph.Ranked `json:"top,omitempty"`
	Out        string         `json:"out,omitempty"`

	OwnedVertices int `json:"owned_vertices"`
	OwnedEdges    int `json:"owned_edges"`
	// The phases on this rank, in milliseconds.
	LoadMs    float64 `json:"load_ms"`
	SetupMs   float64 `json:"setup_ms"`
	IterateMs float64 `json:"iterate_ms"`
	OutputMs  float64 `json:"output_ms"`
	// Bytes this rank sent during the iterations, inside its container
	// and to other containers (the comm layer's counters).
	IterLocalBytes  int64 `json:"iter_local_bytes"`
	IterRemoteBytes int64 `json:"iter_remote_bytes"`
}

// User tags of the point-to-point messages inside a pack.
const (
	tagEdges = iota + 1
	tagTargets
	tagContrib
)

// Run is pagerank's worker function.
func Run(ctx context.Context, w *group.Worker) (any, error) {
	cfg, err := parseConfig(w.Params())
	if err != nil {
		return nil, err
	}
	return run(ctx, w.Comm(), cfg)
}

// job is one rank's state.
type job struct {
	c   *comm.Comm
	col *collectives.Collectives
	cfg config
	l   layout
	me  int
	lo  int // first rank of this rank's pack
	li  int // index of this rank in its pack
	gp  int // size of this rank's pack

	// This rank's edges by local source: targets of local vertex i are
	// dsts[rowOff[i]:rowOff[i+1]].
	rowOff []int
	dsts   []uint32
	plan   plan
}

func run(ctx context.Context, c *comm.Comm, cfg config) (*Result, error) {
	me, n := c.Rank(), c.Size()
	j := &job{c: c, col: collectives.New(c), cfg: cfg, me: me, l: layout{ranks: n, granularity: c.Granularity()}}
	lo, hi := j.l.packRange(j.l.pack(me))
	j.lo, j.li, j.gp = lo, me-lo, hi-lo
	res := &Result{}

	t0 := time.Now()
	if err := j.load(ctx); err != nil {
		return nil, err
	}
	t1 := time.Now()
	if err := j.setup(ctx); err != nil {
		return nil, err
	}
	owned := j.l.owned(me)
	res.Vertices, res.OwnedVertices, res.OwnedEdges = j.l.vertices, owned, len(j.dsts)
	t2 := time.Now()
	before := c.Stats()
	ranks, err := j.iterate(ctx, res)
	if err != nil {
		return nil, err
	}
	after := c.Stats()
	res.IterLocalBytes = after.SentLocalBytes - before.SentLocalBytes
	res.IterRemoteBytes = after.SentRemoteBytes - before.SentRemoteBytes
	t3 := time.Now()
	if err := j.output(ctx, ranks, res); err != nil {
		return nil, err
	}
	res.LoadMs, res.SetupMs, res.IterateMs, res.OutputMs = ms(t1.Sub(t0)), ms(t2.Sub(t1)), ms(t3.Sub(t2)), ms(time.Since(t3))
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// load reads this rank's part of the graph (1/gp of it, so the pack
// reads the file once), keeps the edges whose source its pack owns,
// hands each to the mate that owns the source, and learns the vertex
// count. Rank 0 also checks that the rank file is not there yet. A
// failure on any rank fails every rank with the same message.
func (j *job) load(ctx context.Context) error {
	l, p := j.l, j.l.pack(j.me)
	toMate := make([][]uint32, j.gp) // pairs: local source, target
	maxV := int64(0)
	err := graph.ScanPart(j.cfg.graph, j.li, j.gp, func(e graph.Edge) {
		maxV = max(maxV, int64(e.Src)+1, int64(e.Dst)+1)
		if o := l.owner(e.Src); l.pack(o) == p {
			toMate[o-j.lo] = append(toMate[o-j.lo], uint32(l.local(e.Src)), e.Dst)
		}
	})
	if err == nil && j.me == 0 && j.cfg.out != "" {
		err = graph.CheckOutput(j.cfg.out)
	}
	if err := j.col.AgreeError(ctx, err); err != nil {
		return err
	}
	vs := []int64{maxV}
	if err := collectives.AllReduceT(ctx, j.col, vs, collectives.Max[int64]); err != nil {
		return fmt.Errorf("vertex count: %w", err)
	}
	if vs[0] == 0 {
		return fmt.Errorf("graph %s has no edges", j.cfg.graph)
	}
	j.l.vertices = int(vs[0])

	pairs, err := j.exchangeMates(ctx, tagEdges, toMate)
	if err != nil {
		return fmt.Errorf("hand edges to pack mates: %w", err)
	}
	j.rowOff, j.dsts = byLocalSource(j.l.owned(j.me), pairs)
	return nil
}

// byLocalSource sorts the (local source, target) pairs from every mate
// into rows by source (a counting sort).
func byLocalSource(owned int, pairs [][]uint32) (rowOff []int, dsts []uint32) {
	rowOff = make([]int, owned+1)
	for _, ps := range pairs {
		for k := 0; k < len(ps); k += 2 {
			rowOff[ps[k]+1]++
		}
	}
	for i := range owned {
		rowOff[i+1] += rowOff[i]
	}
	dsts = make([]uint32, rowOff[owned])
	next := append([]int(nil), rowOff[:owned]...)
	for _, ps := range pairs {
		for k := 0; k < len(ps); k += 2 {
			s := ps[k]
			dsts[next[s]] = ps[k+1]
			next[s]++
		}
	}
	return rowOff, dsts
}

// exchangeMates sends out[m] to pack mate m (inside the container: a
// handoff) and returns what every mate sent, in mate order, this rank's
// own out[li] included.
func (j *job) exchangeMates(ctx context.Context, tag int, out [][]uint32) ([][]uint32, error) {
	for m := range j.gp {
		if m != j.li {
			if err := j.c.Send(ctx, j.lo+m, tag, collectives.Encode(out[m])); err != nil {
				return nil, err
			}
		}
	}
	in := make([][]uint32, j.gp)
	in[j.li] = out[j.li]
	for m := range j.gp {
		if m == j.li {
			continue
		}
		b, err := j.c.Recv(ctx, j.lo+m, tag)
		if err != nil {
			return nil, err
		}
		if in[m], err = collectives.Decode[uint32](b); err != nil {
			return nil, fmt.Errorf("from rank %d: %w", j.lo+m, err)
		}
	}
	return in, nil
}

// setup builds the exchange plan: it tells each pack mate which targets
// it will get sums for, and each remote owner which targets its values
// will be for.
func (j *job) setup(ctx context.Context) error {
	l := j.l
	pl := &j.plan
	pl.slot, pl.mateOff, pl.mateTargets = planSends(l, j.me, j.dsts)
	fromMates, err := j.exchangeMates(ctx, tagTargets, pl.mateTargets)
	if err != nil {
		return fmt.Errorf("tell pack mates the targets: %w", err)
	}
	pl.route, pl.combOff, pl.ownerTargets = planProxy(l, j.me, fromMates)

	n := l.ranks
	counts := make([]int64, n)
	for o, ts := range pl.ownerTargets {
		counts[o] = int64(len(ts))
	}
	sendCounts := collectives.Encode(counts)
	recvCounts := make([]byte, len(sendCounts))
	if err := j.col.AllToAll(ctx, sendCounts, recvCounts); err != nil {
		return fmt.Errorf("exchange target counts: %w", err)
	}
	incoming, err := collectives.Decode[int64](recvCounts)
	if err != nil {
		return err
	}
	send, recv := make([][]byte, n), make([][]byte, n)
	for o := range n {
		send[o] = collectives.Encode(pl.ownerTargets[o])
		recv[o] = make([]byte, 4*incoming[o])
	}
	if err := j.col.AllToAllv(ctx, send, recv); err != nil {
		return fmt.Errorf("exchange targets: %w", err)
	}
	pl.fromRemote = make([][]int32, n)
	for o, b := range recv {
		ts, err := collectives.Decode[uint32](b)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if l.owner(t) != j.me {
				return fmt.Errorf("rank %d sent values for vertex %d, owned by rank %d", o, t, l.owner(t))
			}
		}
		pl.fromRemote[o] = localIndexes(l, ts)
	}
	return nil
}

// iterate runs the power iteration and returns this rank's ranks.
func (j *job) iterate(ctx context.Context, res *Result) ([]float64, error) {
	l, pl, o := j.l, &j.plan, j.cfg.opts
	n := l.ranks
	owned := l.owned(j.me)
	rank, next := make([]float64, owned), make([]float64, owned)
	in := make([]float64, owned)
	contrib := make([]float64, pl.mateOff[j.gp])
	comb := make([]float64, pl.combOff[n])
	send, recv := make([][]byte, n), make([][]byte, n)
	for r := range n {
		send[r] = make([]byte, 8*len(pl.ownerTargets[r]))
		recv[r] = make([]byte, 8*len(pl.fromRemote[r]))
	}
	sums := []float64{float64(len(j.dsts)), 0} // edges, dangling mass
	for i := range rank {
		rank[i] = 1 / float64(l.vertices)
		if j.rowOff[i+1] == j.rowOff[i] {
			sums[1] += rank[i]
		}
	}
	if err := collectives.AllReduceT(ctx, j.col, sums, collectives.Sum[float64]); err != nil {
		return nil, fmt.Errorf("count edges: %w", err)
	}
	res.Edges = int64(sums[0])
	dangling := sums[1]
	route := func(code int32, v float64) {
		if code >= 0 {
			in[code] += v
		} else {
			comb[-code-1] += v
		}
	}
	for res.Iterations < o.Iterations {
		clear(contrib)
		for i := range owned {
			lo, hi := j.rowOff[i], j.rowOff[i+1]
			if lo == hi {
				continue
			}
			xi := rank[i] / float64(hi-lo)
			for _, s := range pl.slot[lo:hi] {
				contrib[s] += xi
			}
		}
		for m := range j.gp {
			if m != j.li {
				b := collectives.Encode(contrib[pl.mateOff[m]:pl.mateOff[m+1]])
				if err := j.c.Send(ctx, j.lo+m, tagContrib, b); err != nil {
					return nil, fmt.Errorf("iteration %d: %w", res.Iterations+1, err)
				}
			}
		}
		clear(in)
		clear(comb)
		for k, v := range contrib[pl.mateOff[j.li]:pl.mateOff[j.li+1]] {
			route(pl.route[j.li][k], v)
		}
		for m := range j.gp {
			if m == j.li {
				continue
			}
			b, err := j.c.Recv(ctx, j.lo+m, tagContrib)
			if err != nil {
				return nil, fmt.Errorf("iteration %d: %w", res.Iterations+1, err)
			}
			if len(b) != 8*len(pl.route[m]) {
				return nil, fmt.Errorf("iteration %d: rank %d sent %d bytes, want %d", res.Iterations+1, j.lo+m, len(b), 8*len(pl.route[m]))
			}
			for k, code := range pl.route[m] {
				route(code, math.Float64frombits(binary.LittleEndian.Uint64(b[8*k:])))
			}
		}
		for r := range n {
			if err := collectives.EncodeTo(send[r], comb[pl.combOff[r]:pl.combOff[r+1]]); err != nil {
				return nil, err
			}
		}
		if err := j.col.AllToAllv(ctx, send, recv); err != nil {
			return nil, fmt.Errorf("iteration %d: exchange: %w", res.Iterations+1, err)
		}
		for r, idx := range pl.fromRemote {
			b := recv[r]
			for k, i := range idx {
				in[i] += math.Float64frombits(binary.LittleEndian.Uint64(b[8*k:]))
			}
		}
		sums[0], sums[1] = 0, 0
		for i := range next {
			next[i] = graph.Step(l.vertices, o.Damping, in[i], dangling)
			sums[0] += math.Abs(next[i] - rank[i])
			if j.rowOff[i+1] == j.rowOff[i] {
				sums[1] += next[i]
			}
		}
		if err := collectives.AllReduceT(ctx, j.col, sums, collectives.Sum[float64]); err != nil {
			return nil, fmt.Errorf("iteration %d: sum the change: %w", res.Iterations+1, err)
		}
		rank, next = next, rank
		res.Iterations++
		res.Delta, dangling = sums[0], sums[1]
		if res.Delta < o.Tol {
			res.Converged = true
			break
		}
	}
	return rank, nil
}

// output gathers the top-k candidates (and, with out=FILE, the whole
// rank vector) at rank 0, which writes the rank file.
func (j *job) output(ctx context.Context, ranks []float64, res *Result) error {
	l, n, k := j.l, j.l.ranks, j.cfg.top
	cands := make([]graph.Ranked, len(ranks))
	for i, r := range ranks {
		cands[i] = graph.Ranked{Vertex: l.global(j.me, i), Rank: r}
	}
	mine := graph.TopOf(cands, k)
	flat := make([]float64, 0, 2*len(mine))
	for _, c := range mine {
		flat = append(flat, float64(c.Vertex), c.Rank)
	}
	var recv [][]byte
	if j.me == 0 {
		recv = make([][]byte, n)
		for r := range n {
			recv[r] = make([]byte, 16*min(k, l.owned(r)))
		}
	}
	if err := j.col.Gatherv(ctx, 0, collectives.Encode(flat), recv); err != nil {
		return fmt.Errorf("gather the top %d: %w", k, err)
	}
	if j.me == 0 {
		var all []graph.Ranked
		for _, b := range recv {
			fs, err := collectives.Decode[float64](b)
			if err != nil {
				return err
			}
			for i := 0; i < len(fs); i += 2 {
				all = append(all, graph.Ranked{Vertex: int(fs[i]), Rank: fs[i+1]})
			}
		}
		res.Top = graph.TopOf(all, k)
	}
	if j.cfg.out == "" {
		return nil
	}
	if j.me == 0 {
		for r := range n {
			recv[r] = make([]byte, 8*l.owned(r))
		}
	}
	if err := j.col.Gatherv(ctx, 0, collectives.Encode(ranks), recv); err != nil {
		return fmt.Errorf("gather the ranks: %w", err)
	}
	if j.me != 0 {
		return nil
	}
	all := make([]float64, l.vertices)
	for r, b := range recv {
		part, err := collectives.Decode[float64](b)
		if err != nil {
			return err
		}
		for i, x := range part {
			all[l.global(r, i)] = x
		}
	}
	if err := graph.WriteRanks(j.cfg.out, all); err != nil {
		return err
	}
	res.Out = j.cfg.out
	return nil
}
