package pagerank

import (
	"errors"
	"fmt"

	"github.com/volley-run/volley/apps/pagerank/graph"
	"github.com/volley-run/volley/group"
)

// params documents the app's parameters for `volley apps`.
var params = map[string]string{
	"graph":      "edge list to rank (required): SNAP-style \"src dst\" lines, '#' comments, plain or gzip",
	"iterations": "most power iterations to run (default 100)",
	"tol":        "stop once the L1 change of the rank vector in one iteration is below this (default 0: run all iterations)",
	"damping":    "probability of following an edge (default 0.85)",
	"out":        "rank file to write, one \"vertex rank\" line per vertex (must not exist; default: none)",
	"top":        "how many of the highest-ranked vertices rank 0 returns (default 10)",
}

// config is a parsed parameter set.
type config struct {
	graph string
	opts  graph.Options
	out   string
	top   int
}

// parseConfig reads the parameters; it touches no file.
func parseConfig(p group.Params) (config, error) {
	c := config{graph: p.String("graph", ""), out: p.String("out", "")}
	if c.graph == "" {
		return c, errors.New("parameter graph=FILE is required")
	}
	var err error
	if c.opts.Iterations, err = p.Int("iterations", 100); err != nil {
		return c, err
	}
	if c.opts.Tol, err = p.Float("tol", 0); err != nil {
		return c, err
	}
	if c.opts.Damping, err = p.Float("damping", graph.DefaultDamping); err != nil {
		return c, err
	}
	if c.top, err = p.Int("top", 10); err != nil {
		return c, err
	}
	if c.top < 0 {
		return c, fmt.Errorf("top %d: want >= 0", c.top)
	}
	if c.opts, err = c.opts.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// check is the launcher-side check: the parameters parse, the graph can
// be opened, and the rank file is not there yet.
func check(p group.Params) error {
	c, err := parseConfig(p)
	if err != nil {
		return err
	}
	f, err := graph.Open(c.graph)
	if err != nil {
		return err
	}
	f.Close()
	if c.out != "" {
		return graph.CheckOutput(c.out)
	}
	return nil
}
