package pagerank

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/volley-run/volley/apps/pagerank/graph"
	"github.com/volley-run/volley/comm"
	"github.com/volley-run/volley/comm/commtest"
	"github.com/volley-run/volley/group"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rmatFile writes an R-MAT graph to a temporary file.
func rmatFile(t *testing.T, scale int, gz bool) (string, *graph.Graph) {
	t.Helper()
	r := graph.DefaultRMAT(scale)
	r.EdgeFactor = 8
	g, err := r.Generate()
	if err != nil {
		t.Fatal(err)
	}
	name := "g.txt"
	if gz {
		name += ".gz"
	}
	path := filepath.Join(t.TempDir(), name)
	if err := graph.WriteEdgeList(path, r.Header(g), g.Edges); err != nil {
		t.Fatal(err)
	}
	return path, g
}

// runGroup runs the job on every rank of an in-process cluster.
func runGroup(t *testing.T, n, g int, p group.Params) ([]*Result, []error) {
	t.Helper()
	cfg, err := parseConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	cl := commtest.Start(t, n, g, nil)
	defer cl.Close()
	results := make([]*Result, n)
	errs := cl.Run(func(c *comm.Comm) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := run(ctx, c, cfg)
		results[c.Rank()] = res
		return err
	})
	return results, errs
}

func TestMatchesReference(t *testing.T) {
	path, g := rmatFile(t, 9, true)
	want, err := graph.PageRank(g, graph.Options{Iterations: 60, Tol: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ n, g int }{{1, 1}, {3, 1}, {3, 2}, {4, 4}, {7, 3}} {
		t.Run(fmt.Sprintf("n%d_g%d", c.n, c.g), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "ranks.txt")
			results, errs := runGroup(t, c.n, c.g, group.Params{"graph": path, "iterations": "60", "tol": "1e-12", "out": out, "top": "5"})
			for r, err := range errs {
				if err != nil {
					t.Fatalf("rank %d: %v", r, err)
				}
			}
			got, err := graph.ReadRanks(out)
			if err != nil {
				t.Fatal(err)
			}
			if d := graph.L1(got, want.Ranks); d > 1e-9 || len(got) != g.Vertices {
				t.Fatalf("L1 distance to the reference %g over %d vertices", d, len(got))
			}
			r0 := results[0]
			if r0.Iterations != want.Iterations || r0.Edges != int64(len(g.Edges)) || r0.Vertices != g.Vertices {
				t.Fatalf("rank 0: %+v; reference ran %d iterations on %d edges", r0, want.Iterations, len(g.Edges))
			}
			top := graph.Top(want.Ranks, 5)
			for i := range top {
				if r0.Top[i].Vertex != top[i].Vertex {
					t.Fatalf("top %v, want %v", r0.Top, top)
				}
			}
			owned, edges := 0, 0
			for _, r := range results {
				owned += r.OwnedVertices
				edges += r.OwnedEdges
			}
			if owned != g.Vertices || edges != len(g.Edges) {
				t.Fatalf("ranks own %d vertices and %d edges, want %d and %d", owned, edges, g.Vertices, len(g.Edges))
			}
		})
	}
}

// TestPackingCutsRemoteBytes checks the point of the two-step exchange:
// the bytes that cross containers during the iterations fall as more
// ranks share a container, and vanish in one container.
func TestPackingCutsRemoteBytes(t *testing.T) {
	path, _ := rmatFile(t, 10, false)
	remote := map[int]int64{}
	for _, g := range []int{1, 2, 4, 8} {
		results, errs := runGroup(t, 8, g, group.Params{"graph": path, "iterations": "5"})
		for r, err := range errs {
			if err != nil {
				t.Fatalf("g=%d: rank %d: %v", g, r, err)
			}
		}
		for _, r := range results {
			remote[g] += r.IterRemoteBytes
		}
	}
	t.Logf("remote bytes in 5 iterations, 8 ranks: %v", remote)
	if !(remote[1] > remote[2] && remote[2] > remote[4] && remote[4] > 0 && remote[8] == 0) {
		t.Fatalf("remote bytes by granularity %v: want strictly falling, 0 at g=8", remote)
	}
	// Two packs of 4: each target crosses at most once per pack, so well
	// under half of what 8 single-rank containers send.
	if remote[4]*2 > remote[1] {
		t.Errorf("g=4 sends %d remote bytes, g=1 %d: packing does not combine", remote[4], remote[1])
	}
}

// TestBadInputFailsEveryRank: whichever rank meets the problem, every
// rank fails with its message, and none waits for the others.
func TestBadInputFailsEveryRank(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(bad, []byte("0 1\n1 2\n2 x\n3 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte("# no edges\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file, want string
	}{
		{bad, bad + ":3: malformed edge line \"2 x\""},
		{filepath.Join(dir, "missing.txt"), "no such file"},
		{empty, "has no edges"},
	} {
		_, errs := runGroup(t, 3, 2, group.Params{"graph": c.file})
		for r, err := range errs {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: rank %d: %v; want %q", c.file, r, err, c.want)
			}
		}
	}
}
