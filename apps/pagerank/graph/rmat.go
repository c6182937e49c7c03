package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// RMAT describes an R-MAT (recursive matrix, Kronecker) graph: each edge
// picks one quadrant of the adjacency matrix per level, with
// probabilities A, B, C and D = 1-A-B-C (top-left, top-right,
// bottom-left, bottom-right), Scale levels deep.
type RMAT struct {
	// Scale makes 2^Scale vertices.
	Scale int
	// EdgeFactor makes EdgeFactor * 2^Scale edges drawn (before
	// self-loops and duplicates are removed). Graph500 uses 16.
	EdgeFactor int
	// A, B, C are the quadrant probabilities (Graph500: 0.57, 0.19, 0.19).
	A, B, C float64
	// Seed makes the graph: the same RMAT gives the same edges.
	Seed uint64
}

// DefaultRMAT is Graph500's R-MAT at the given scale: edge factor 16,
// A=0.57, B=C=0.19, seed 1.
func DefaultRMAT(scale int) RMAT {
	return RMAT{Scale: scale, EdgeFactor: 16, A: 0.57, B: 0.19, C: 0.19, Seed: 1}
}

// maxDrawn bounds EdgeFactor * 2^Scale, so a generated graph fits in
// memory.
const maxDrawn = 1 << 30

// Validate says what is wrong with r, if anything.
func (r RMAT) Validate() error {
	switch {
	case r.Scale < 1 || r.Scale > 30:
		return fmt.Errorf("scale %d: want 1..30", r.Scale)
	case r.EdgeFactor < 1:
		return fmt.Errorf("edge factor %d: want >= 1", r.EdgeFactor)
	case int64(r.EdgeFactor)<<r.Scale > maxDrawn:
		return fmt.Errorf("scale %d with edge factor %d draws %d edges: at most %d", r.Scale, r.EdgeFactor, int64(r.EdgeFactor)<<r.Scale, maxDrawn)
	case r.A < 0 || r.B < 0 || r.C < 0 || r.A+r.B+r.C > 1+1e-12:
		return fmt.Errorf("probabilities a=%g b=%g c=%g: want each >= 0 and a+b+c <= 1", r.A, r.B, r.C)
	}
	return nil
}

// Generate draws the graph. Vertex ids are shuffled by a permutation
// drawn from the same seed (as Graph500 does), so the high-degree
// vertices are spread over the id space instead of sitting at 0;
// self-loops and duplicate edges are dropped, and the edges come sorted by
// (src, dst). Vertices is the largest id + 1, as if the graph were read
// back from a file. It is deterministic: the same r gives the same graph.
func (r RMAT) Generate() (*Graph, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(r.Seed, 0x5eed_9a6e_7a4c_0001))
	n := 1 << r.Scale
	drawn := r.EdgeFactor * n
	ab, abc := r.A+r.B, r.A+r.B+r.C
	edges := make([]Edge, 0, drawn)
	for range drawn {
		var src, dst uint32
		for bit := uint32(n >> 1); bit != 0; bit >>= 1 {
			switch u := rng.Float64(); {
			case u < r.A:
			case u < ab:
				dst |= bit
			case u < abc:
				src |= bit
			default:
				src |= bit
				dst |= bit
			}
		}
		edges = append(edges, Edge{src, dst})
	}
	perm := make([]uint32, n)
	for i := range perm {
		perm[i] = uint32(i)
	}
	rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	kept := edges[:0]
	for _, e := range edges {
		if e.Src != e.Dst {
			kept = append(kept, Edge{perm[e.Src], perm[e.Dst]})
		}
	}
	slices.SortFunc(kept, func(a, b Edge) int {
		if a.Src != b.Src {
			return cmpU32(a.Src, b.Src)
		}
		return cmpU32(a.Dst, b.Dst)
	})
	kept = slices.Compact(kept)
	g := &Graph{Edges: slices.Clip(kept)}
	for _, e := range g.Edges {
		g.Vertices = max(g.Vertices, int(e.Src)+1, int(e.Dst)+1)
	}
	return g, nil
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Header is the comment block a generated edge list starts with.
func (r RMAT) Header(g *Graph) []string {
	return []string{
		fmt.Sprintf("R-MAT graph: scale %d, edge factor %d, a=%g b=%g c=%g d=%.6g, seed %d",
			r.Scale, r.EdgeFactor, r.A, r.B, r.C, 1-r.A-r.B-r.C, r.Seed),
		fmt.Sprintf("%d vertices (ids 0..%d), %d edges (self-loops and duplicates removed)", g.Vertices, g.Vertices-1, len(g.Edges)),
		"src dst",
	}
}
