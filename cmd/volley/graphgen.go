package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/volley-run/volley/apps/pagerank/graph"
)

func newGraphgenCmd() *cobra.Command {
	r := graph.DefaultRMAT(0)
	var out string
	cmd := &cobra.Command{
		Use:   "graphgen --scale S [--edge-factor E] [--seed N] --out FILE[.gz]",
		Short: "Write an R-MAT (Kronecker) graph as a SNAP-style edge list",
		Long: `graphgen draws an R-MAT graph of 2^S vertices and E*2^S edges (Graph500's
generator: quadrant probabilities a, b, c and d=1-a-b-c at each of S levels),
shuffles the vertex ids, drops self-loops and duplicate edges, and writes
"src<TAB>dst" lines sorted by source, gzip-compressed when FILE ends in .gz.
The same flags always give the same file. FILE must not exist.`,
		Example: `  volley graphgen --scale 16 --out rmat16.txt
  volley graphgen --scale 20 --edge-factor 8 --seed 7 --out rmat20.txt.gz`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return usageErr(fmt.Errorf("graphgen takes no arguments, got %q", args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("scale") {
				return usageErr(errors.New("--scale is required"))
			}
			if out == "" {
				return usageErr(errors.New("--out FILE is required"))
			}
			if err := r.Validate(); err != nil {
				return usageErr(err)
			}
			if err := graph.CheckOutput(out); err != nil {
				return usageErr(err)
			}
			start := time.Now()
			g, err := r.Generate()
			if err != nil {
				return usageErr(err)
			}
			if err := graph.WriteEdgeList(out, r.Header(g), g.Edges); err != nil {
				if errors.Is(err, graph.ErrExists) {
					return usageErr(err)
				}
				return failedErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d vertices, %d edges (%.1fs)\n", out, g.Vertices, len(g.Edges), time.Since(start).Seconds())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&r.Scale, "scale", 0, "2^scale vertices (1..30)")
	fl.IntVar(&r.EdgeFactor, "edge-factor", r.EdgeFactor, "edges drawn per vertex")
	fl.Float64Var(&r.A, "a", r.A, "probability of the top-left quadrant")
	fl.Float64Var(&r.B, "b", r.B, "probability of the top-right quadrant")
	fl.Float64Var(&r.C, "c", r.C, "probability of the bottom-left quadrant")
	fl.Uint64Var(&r.Seed, "seed", r.Seed, "random seed")
	fl.StringVar(&out, "out", "", "edge list to write (gzip when it ends in .gz)")
	return cmd
}
