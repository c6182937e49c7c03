package graph

import (
	"fmt"
	"math"
)

// DefaultDamping is the usual PageRank damping factor.
const DefaultDamping = 0.85

// Options are the parameters of a PageRank power iteration.
type Options struct {
	// Damping is the probability of following an edge (default
	// DefaultDamping when zero).
	Damping float64
	// Iterations is the most iterations to run (>= 1).
	Iterations int
	// Tol stops the iteration once the L1 change of the rank vector in
	// one iteration is below it (0: run all Iterations).
	Tol float64
}

// Validate fills in the default damping and says what is wrong, if
// anything.
func (o Options) Validate() (Options, error) {
	if o.Damping == 0 {
		o.Damping = DefaultDamping
	}
	switch {
	case !(o.Damping > 0 && o.Damping < 1):
		return o, fmt.Errorf("damping %g: want 0 < damping < 1", o.Damping)
	case o.Iterations < 1:
		return o, fmt.Errorf("iterations %d: want >= 1", o.Iterations)
	case !(o.Tol >= 0) || math.IsInf(o.Tol, 0):
		return o, fmt.Errorf("tol %g: want a finite number >= 0", o.Tol)
	}
	return o, nil
}

// Result is a rank vector and how the iteration ended.
type Result struct {
	// Ranks has one entry per vertex and sums to 1.
	Ranks []float64
	// Iterations is how many iterations ran.
	Iterations int
	// Delta is the L1 change in the last iteration.
	Delta float64
}

// Step is one power iteration, the definition both the reference and the
// distributed job follow: with n vertices, damping d and the rank mass D
// of the vertices without out-edges (spread over all vertices),
//
//	next[v] = (1-d)/n + d * (D/n + sum over edges u->v of rank[u]/outdeg(u))
//
// Edges count with their multiplicity, and a self-loop is an ordinary
// edge.
func Step(n int, d, incoming, dangling float64) float64 {
	return (1-d)/float64(n) + d*(incoming+dangling/float64(n))
}

// PageRank runs the power iteration on g in one process, from the uniform
// vector, until o.Iterations or an L1 change below o.Tol.
func PageRank(g *Graph, o Options) (Result, error) {
	o, err := o.Validate()
	if err != nil {
		return Result{}, err
	}
	n := g.Vertices
	if n == 0 {
		return Result{}, fmt.Errorf("graph has no vertices")
	}
	outdeg := make([]int, n)
	for _, e := range g.Edges {
		outdeg[e.Src]++
	}
	rank := make([]float64, n)
	for i := range rank {
		rank[i] = 1 / float64(n)
	}
	next := make([]float64, n)
	in := make([]float64, n)
	res := Result{}
	for res.Iterations < o.Iterations {
		clear(in)
		dangling := 0.0
		for v, r := range rank {
			if outdeg[v] == 0 {
				dangling += r
			}
		}
		for _, e := range g.Edges {
			in[e.Dst] += rank[e.Src] / float64(outdeg[e.Src])
		}
		delta := 0.0
		for v := range next {
			next[v] = Step(n, o.Damping, in[v], dangling)
			delta += math.Abs(next[v] - rank[v])
		}
		rank, next = next, rank
		res.Iterations++
		res.Delta = delta
		if delta < o.Tol {
			break
		}
	}
	res.Ranks = rank
	return res, nil
}

// L1 is the sum of |a[i] - b[i]|; vectors of different lengths count the
// missing entries as 0.
func L1(a, b []float64) float64 {
	s := 0.0
	for i := range max(len(a), len(b)) {
		var x, y float64
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		s += math.Abs(x - y)
	}
	return s
}
