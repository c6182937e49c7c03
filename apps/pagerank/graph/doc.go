// Package graph holds what PageRank needs outside the distributed job:
// reading SNAP-style edge lists (plain or gzip), generating R-MAT
// (Kronecker) graphs, writing and reading rank files, and a
// single-process reference power iteration that the distributed job is
// checked against.
//
// An edge list has one directed edge "src dst" per line (two
// non-negative integers separated by spaces or tabs); lines starting with
// '#' and blank lines are skipped. Vertices are 0..max id, so ids that
// never appear are isolated vertices (as igraph's Read_Edgelist does).
//
//	g, err := graph.Read("web-Google.txt.gz")
//	if err != nil { ... }
//	res, err := graph.PageRank(g, graph.Options{Iterations: 100, Tol: 1e-10})
//	top := graph.Top(res.Ranks, 10)
package graph
