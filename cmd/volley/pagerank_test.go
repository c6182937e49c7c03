package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/volley-run/volley/apps/pagerank/graph"
)

// pagerankOut mirrors the parts of `volley run pagerank --json` the tests
// read.
type pagerankOut struct {
	Containers int `json:"containers"`
	Comm       struct {
		SentRemoteBytes int64 `json:"sent_remote_bytes"`
	} `json:"comm"`
	Ranks []struct {
		Result struct {
			Vertices        int            `json:"vertices"`
			Edges           int64          `json:"edges"`
			Iterations      int            `json:"iterations"`
			Top             []graph.Ranked `json:"top"`
			IterRemoteBytes int64          `json:"iter_remote_bytes"`
		} `json:"result"`
		Error string `json:"error"`
	} `json:"ranks"`
}

func decodePagerank(t *testing.T, r cliRun) pagerankOut {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out pagerankOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	return out
}

// graphgen makes an R-MAT graph through the CLI.
func graphgen(t *testing.T, dir string, scale int, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	r := volley(t, "graphgen", "--scale", strconv.Itoa(scale), "--edge-factor", "8", "--seed", "3", "--out", path)
	if r.code != 0 || !strings.Contains(r.stdout, "edges") {
		t.Fatalf("graphgen: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	return path
}

// TestPageRankMatchesReference runs the job in real worker processes for
// N in {1, 3, 7} and g in {1, 2, N} and compares the rank file with the
// single-process reference.
func TestPageRankMatchesReference(t *testing.T) {
	dir := t.TempDir()
	path := graphgen(t, dir, 9, "g.txt.gz")
	g, err := graph.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := graph.PageRank(g, graph.Options{Iterations: 80, Tol: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	top := graph.Top(want.Ranks, 5)
	for _, n := range []int{1, 3, 7} {
		seen := map[int]bool{}
		for _, gr := range []int{1, 2, n} {
			gr = min(gr, n)
			if seen[gr] {
				continue
			}
			seen[gr] = true
			t.Run(fmt.Sprintf("n%d_g%d", n, gr), func(t *testing.T) {
				ranks := filepath.Join(dir, fmt.Sprintf("ranks-%d-%d.txt", n, gr))
				out := decodePagerank(t, volley(t, "run", "pagerank", "-n", strconv.Itoa(n), "-g", strconv.Itoa(gr),
					"-p", "graph="+path, "-p", "iterations=80", "-p", "tol=1e-12", "-p", "out="+ranks, "-p", "top=5", "--json"))
				got, err := graph.ReadRanks(ranks)
				if err != nil {
					t.Fatal(err)
				}
				if d := graph.L1(got, want.Ranks); d > 1e-9 || len(got) != g.Vertices {
					t.Fatalf("L1 distance to the reference %g over %d vertices (want %d)", d, len(got), g.Vertices)
				}
				r0 := out.Ranks[0].Result
				if r0.Iterations != want.Iterations || r0.Edges != int64(len(g.Edges)) || r0.Vertices != g.Vertices {
					t.Fatalf("rank 0 says %d iterations, %d edges, %d vertices; reference %d, %d, %d",
						r0.Iterations, r0.Edges, r0.Vertices, want.Iterations, len(g.Edges), g.Vertices)
				}
				if len(r0.Top) != len(top) {
					t.Fatalf("top %v, want %v", r0.Top, top)
				}
				for i := range top {
					if r0.Top[i].Vertex != top[i].Vertex {
						t.Fatalf("top %v, want %v", r0.Top, top)
					}
				}
			})
		}
	}
}

// TestPageRankRemoteBytes checks, over the comm layer's counters of real
// worker processes, that packing more workers per container sends fewer
// bytes between containers.
func TestPageRankRemoteBytes(t *testing.T) {
	path := graphgen(t, t.TempDir(), 10, "g.txt")
	iter := map[int]int64{}
	total := map[int]int64{}
	for _, g := range []int{1, 4, 8} {
		out := decodePagerank(t, volley(t, "run", "pagerank", "-n", "8", "-g", strconv.Itoa(g), "-p", "graph="+path, "-p", "iterations=5", "--json"))
		for _, rr := range out.Ranks {
			iter[g] += rr.Result.IterRemoteBytes
		}
		total[g] = out.Comm.SentRemoteBytes
	}
	t.Logf("8 workers, remote bytes in 5 iterations by g: %v; whole job: %v", iter, total)
	if !(iter[4] > 0 && 2*iter[4] < iter[1] && total[4] < total[1] && iter[8] == 0 && total[8] == 0) {
		t.Fatalf("remote bytes in the iterations by g %v, whole job %v: want g=4 under half of g=1, none at g=8", iter, total)
	}
}

func TestPageRankBadInput(t *testing.T) {
	dir := t.TempDir()
	good := graphgen(t, dir, 6, "g.txt")
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("# comment\n0 1\n1 2 x\n2 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exists := filepath.Join(dir, "exists.txt")
	if err := os.WriteFile(exists, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ranks.txt")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-p", "graph=" + filepath.Join(dir, "missing.txt")}, 2, "no such file"},
		{[]string{"-p", "graph=" + dir}, 2, "is a directory"},
		{[]string{}, 2, "graph=FILE is required"},
		{[]string{"-p", "graph=" + good, "-p", "iterations=0"}, 2, "iterations 0"},
		{[]string{"-p", "graph=" + good, "-p", "damping=1.5"}, 2, "damping 1.5"},
		{[]string{"-p", "graph=" + good, "-p", "tol=abc"}, 2, "not a number"},
		{[]string{"-p", "graph=" + good, "-p", "iters=3"}, 2, `unknown parameter "iters"`},
		{[]string{"-p", "graph=" + good, "-p", "out=" + exists}, 2, "already exists"},
		{[]string{"-p", "graph=" + good, "-p", "out=" + filepath.Join(dir, "no", "r.txt")}, 2, "output directory"},
		// Found by the workers, while reading: every rank fails with the
		// file and line, and no rank file appears.
		{[]string{"-p", "graph=" + bad, "-p", "out=" + out}, 1, bad + `:3: malformed edge line "1 2 x"`},
	}
	for _, c := range cases {
		args := append([]string{"run", "pagerank", "-n", "3", "-g", "2"}, c.args...)
		r := volley(t, args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("volley %v: exit %d, stderr %q; want exit %d and %q", args, r.code, r.stderr, c.code, c.want)
		}
	}
	if b, _ := os.ReadFile(exists); string(b) != "keep me\n" {
		t.Errorf("existing output was changed: %q", b)
	}
	files, _ := os.ReadDir(dir)
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
	}
	if len(names) != 3 { // g.txt, bad.txt, exists.txt
		t.Errorf("files left in the directory: %v", names)
	}
}

func TestGraphgen(t *testing.T) {
	dir := t.TempDir()
	a := graphgen(t, dir, 8, "a.txt")
	b := graphgen(t, dir, 8, "b.txt")
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ba, bb) || len(ba) == 0 {
		t.Fatal("the same flags wrote different graphs")
	}
	gz := graphgen(t, dir, 8, "c.txt.gz")
	if bc, _ := os.ReadFile(gz); len(bc) < 2 || bc[0] != 0x1f || bc[1] != 0x8b {
		t.Fatal(".gz output is not gzip")
	}
	ga, err := graph.Read(a)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := graph.Read(gz)
	if err != nil || len(gc.Edges) != len(ga.Edges) {
		t.Fatalf("gzip graph: %d edges, %v; plain %d", len(gc.Edges), err, len(ga.Edges))
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"graphgen", "--out", filepath.Join(dir, "x.txt")}, "--scale is required"},
		{[]string{"graphgen", "--scale", "8"}, "--out FILE is required"},
		{[]string{"graphgen", "--scale", "40", "--out", filepath.Join(dir, "x.txt")}, "scale 40"},
		{[]string{"graphgen", "--scale", "8", "--a", "0.9", "--out", filepath.Join(dir, "x.txt")}, "a+b+c <= 1"},
		{[]string{"graphgen", "--scale", "8", "--out", a}, "already exists"},
	} {
		r := volley(t, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("volley %v: exit %d, stderr %q; want exit 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if b, _ := os.ReadFile(a); !bytes.Equal(b, ba) {
		t.Error("graphgen overwrote an existing file")
	}
}
