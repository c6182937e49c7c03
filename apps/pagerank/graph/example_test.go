package graph_test

import (
	"fmt"

	"github.com/volley-run/volley/apps/pagerank/graph"
)

func ExamplePageRank() {
	// 0 -> 1, 0 -> 2, 1 -> 2; vertex 2 has no out-edges, so its rank is
	// spread over all three vertices.
	g := &graph.Graph{Vertices: 3, Edges: []graph.Edge{{Src: 0, Dst: 1}, {Src: 0, Dst: 2}, {Src: 1, Dst: 2}}}
	res, err := graph.PageRank(g, graph.Options{Iterations: 100, Tol: 1e-12})
	if err != nil {
		panic(err)
	}
	for _, r := range graph.Top(res.Ranks, 3) {
		fmt.Printf("vertex %d: %.4f\n", r.Vertex, r.Rank)
	}
	// Output:
	// vertex 2: 0.5209
	// vertex 1: 0.2816
	// vertex 0: 0.1976
}

func ExampleRMAT() {
	g, err := graph.DefaultRMAT(10).Generate()
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Vertices <= 1<<10, len(g.Edges) > 10000)
	// Output: true true
}
