package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/volley-run/volley/apps/pagerank/graph"
)

// concatParts reads a TeraSort output's part files in order.
func concatParts(t *testing.T, dir string, parts int) []byte {
	t.Helper()
	var all []byte
	for p := range parts {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("part-%05d", p)))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestAppsOnDockerMatchLocal runs terasort and pagerank on the process
// runtime and on Docker containers (the data directory bind-mounted at the
// same path) and compares their outputs: the sorted records byte for byte,
// the rank vectors to 1e-12.
func TestAppsOnDockerMatchLocal(t *testing.T) {
	needDockerImage(t)
	dir := t.TempDir()
	onDocker := []string{"--backend", "docker", "--image", dockerTestImage, "--volume", dir + ":" + dir, "--transport", "tcp"}

	in := filepath.Join(dir, "in")
	mustRun(t, "teragen", "--records", "20000", "--parts", "3", "--out", in)
	sorted := map[string][]byte{}
	for name, extra := range map[string][]string{"local": nil, "docker": onDocker} {
		out := filepath.Join(dir, "sorted-"+name)
		mustRun(t, append([]string{"run", "terasort", "-n", "6", "-g", "4", "-p", "input=" + in, "-p", "output=" + out}, extra...)...)
		mustRun(t, "teravalidate", out, "--input", in)
		sorted[name] = concatParts(t, out, 6)
	}
	if len(sorted["local"]) != 20000*100 || !bytes.Equal(sorted["local"], sorted["docker"]) {
		t.Fatalf("sorted output differs: %d bytes on the process runtime, %d on Docker", len(sorted["local"]), len(sorted["docker"]))
	}

	g := graphgen(t, dir, 8, "g.txt")
	ranks := map[string][]float64{}
	for name, extra := range map[string][]string{"local": nil, "docker": onDocker} {
		out := filepath.Join(dir, "ranks-"+name)
		decodePagerank(t, volley(t, append([]string{"run", "pagerank", "-n", "4", "-g", "2", "-p", "graph=" + g,
			"-p", "iterations=30", "-p", "out=" + out, "--json"}, extra...)...))
		r, err := graph.ReadRanks(out)
		if err != nil {
			t.Fatal(err)
		}
		ranks[name] = r
	}
	if d := graph.L1(ranks["local"], ranks["docker"]); len(ranks["local"]) == 0 || d > 1e-12 {
		t.Fatalf("rank vectors differ: L1 %g over %d vertices", d, len(ranks["local"]))
	}
}
