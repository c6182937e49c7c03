package graph

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const sample = "# Directed graph (each unordered pair of nodes is saved once)\n" +
	"# FromNodeId\tToNodeId\n" +
	"0\t1\n" +
	"\n" +
	"  1 2\r\n" +
	"   # indented comment\n" +
	"2\t\t0\n" +
	"7 3\n"

var sampleEdges = []Edge{{0, 1}, {1, 2}, {2, 0}, {7, 3}}

func TestReadPlainAndGzip(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"g.txt", []byte(sample)},
		{"g.txt.gz", gzipped(t, sample)},
		{"gzip-without-suffix.txt", gzipped(t, sample)}, // detected by magic bytes
		{"no-final-newline.txt", []byte(strings.TrimSuffix(sample, "\n"))},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := Read(writeTemp(t, c.name, c.data))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.Edges, sampleEdges) || g.Vertices != 8 {
				t.Fatalf("got %d vertices, edges %v; want 8, %v", g.Vertices, g.Edges, sampleEdges)
			}
		})
	}
}

func TestEmptyAndCommentOnly(t *testing.T) {
	g, err := Read(writeTemp(t, "e.txt", []byte("# nothing\n\n")))
	if err != nil || g.Vertices != 0 || len(g.Edges) != 0 {
		t.Fatalf("got %+v, %v", g, err)
	}
}

func TestMalformedLines(t *testing.T) {
	cases := []struct {
		line, reason string
	}{
		{"1", "missing destination"},
		{"1 ", "missing destination"},
		{"a b", "source vertex id is not a non-negative integer"},
		{"1 b", "destination vertex id is not a non-negative integer"},
		{"-1 2", "source vertex id is not a non-negative integer"},
		{"1 2 3", "unexpected text after the destination"},
		{"1,2", "source vertex id is not a non-negative integer"},
		{"1 2.5", "destination vertex id is not a non-negative integer"},
		{"99999999999 1", "vertex id too large"},
	}
	for _, c := range cases {
		for _, gz := range []bool{false, true} {
			text := "# header\n0 1\n\n" + c.line + "\n4 5\n"
			data := []byte(text)
			if gz {
				data = gzipped(t, text)
			}
			path := writeTemp(t, "bad.txt", data)
			_, err := Read(path)
			var le *LineError
			if !errors.As(err, &le) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("%q: got %v, want a LineError", c.line, err)
			}
			if le.Line != 4 || le.File != path || !strings.Contains(err.Error(), c.reason) ||
				!strings.Contains(err.Error(), path+":4:") || !strings.Contains(err.Error(), c.line) {
				t.Errorf("%q (gzip %v): error %q; want %s:4 and %q", c.line, gz, err, path, c.reason)
			}
		}
	}
}

func TestScanKeepsSelectedLines(t *testing.T) {
	path := writeTemp(t, "g.txt", []byte("0 1\nbad line\n2 3\n"))
	var got []Edge
	// Line 2 is malformed, but it is not parsed when not kept.
	err := Scan(path, func(line int) bool { return line%2 == 1 }, func(e Edge) { got = append(got, e) })
	if err != nil || !slices.Equal(got, []Edge{{0, 1}, {2, 3}}) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestMissingAndUnreadable(t *testing.T) {
	if _, err := Read(filepath.Join(t.TempDir(), "nope.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Read(t.TempDir()); err == nil {
		t.Error("a directory read as a graph")
	}
	bad := writeTemp(t, "trunc.gz", gzipped(t, sample)[:20])
	if _, err := Read(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("truncated gzip: %v", err)
	}
}

func TestRMATDeterministic(t *testing.T) {
	r := DefaultRMAT(10)
	a, err := r.Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.Generate()
	if !slices.Equal(a.Edges, b.Edges) || a.Vertices != b.Vertices {
		t.Fatal("the same RMAT gave two graphs")
	}
	r.Seed = 2
	c, _ := r.Generate()
	if slices.Equal(a.Edges, c.Edges) {
		t.Fatal("seeds 1 and 2 gave the same graph")
	}
	drawn := r.EdgeFactor << r.Scale
	if len(a.Edges) < drawn/2 || len(a.Edges) > drawn || a.Vertices > 1<<r.Scale {
		t.Fatalf("%d edges over %d vertices from %d drawn", len(a.Edges), a.Vertices, drawn)
	}
	outdeg := map[uint32]int{}
	for i, e := range a.Edges {
		if e.Src == e.Dst {
			t.Fatalf("self-loop %v", e)
		}
		if i > 0 && !(a.Edges[i-1].Src < e.Src || a.Edges[i-1].Src == e.Src && a.Edges[i-1].Dst < e.Dst) {
			t.Fatalf("edges %v, %v not sorted or duplicated", a.Edges[i-1], e)
		}
		outdeg[e.Src]++
	}
	// R-MAT is skewed: the busiest vertex has far more than the mean.
	best := 0
	for _, d := range outdeg {
		best = max(best, d)
	}
	if mean := float64(len(a.Edges)) / float64(len(outdeg)); float64(best) < 5*mean {
		t.Errorf("max out-degree %d, mean %.1f: not skewed", best, mean)
	}
}

func TestRMATValidate(t *testing.T) {
	for _, r := range []RMAT{
		{Scale: 0, EdgeFactor: 16, A: .57, B: .19, C: .19},
		{Scale: 31, EdgeFactor: 1, A: .57, B: .19, C: .19},
		{Scale: 10, EdgeFactor: 0, A: .57, B: .19, C: .19},
		{Scale: 10, EdgeFactor: 16, A: .6, B: .3, C: .3},
		{Scale: 10, EdgeFactor: 16, A: -.1, B: .3, C: .3},
	} {
		if _, err := r.Generate(); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	g, err := DefaultRMAT(8).Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"g.txt", "g.txt.gz"} {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		if err := WriteEdgeList(path, DefaultRMAT(8).Header(g), g.Edges); err != nil {
			t.Fatal(err)
		}
		back, err := Read(path)
		if err != nil || !slices.Equal(back.Edges, g.Edges) || back.Vertices != g.Vertices {
			t.Fatalf("%s: read back %d edges, %v", name, len(back.Edges), err)
		}
		if err := WriteEdgeList(path, nil, g.Edges[:1]); !errors.Is(err, ErrExists) {
			t.Fatalf("overwrote %s: %v", name, err)
		}
		if files, _ := os.ReadDir(dir); len(files) != 1 {
			t.Fatalf("%d files left in the output directory", len(files))
		}
	}
}

func TestRanksRoundTrip(t *testing.T) {
	ranks := []float64{0.1, 1.0 / 3, 2.5e-300, 0.5666666666666667}
	path := filepath.Join(t.TempDir(), "r.txt")
	if err := WriteRanks(path, ranks); err != nil {
		t.Fatal(err)
	}
	back, err := ReadRanks(path)
	if err != nil || !slices.Equal(back, ranks) {
		t.Fatalf("got %v, %v", back, err)
	}
	if err := WriteRanks(path, ranks); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrote: %v", err)
	}
	if err := WriteRanks(filepath.Join(t.TempDir(), "no", "dir.txt"), ranks); err == nil {
		t.Fatal("wrote into a missing directory")
	}
}

func TestPageRankByHand(t *testing.T) {
	// 0->1, 0->2, 1->2; vertex 2 has no out-edges. From 1/3 each, one
	// iteration: D = 1/3, in = (0, 1/6, 1/6+1/3).
	g := &Graph{Vertices: 3, Edges: []Edge{{0, 1}, {0, 2}, {1, 2}}}
	res, err := PageRank(g, Options{Iterations: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := 0.85
	want := []float64{(1-d)/3 + d*(1.0/9), (1-d)/3 + d*(1.0/6+1.0/9), (1-d)/3 + d*(1.0/2+1.0/9)}
	if L1(res.Ranks, want) > 1e-15 || res.Iterations != 1 {
		t.Fatalf("got %v after %d, want %v", res.Ranks, res.Iterations, want)
	}
	if want := math.Abs(want[0]-1.0/3) + math.Abs(want[1]-1.0/3) + math.Abs(want[2]-1.0/3); math.Abs(res.Delta-want) > 1e-15 {
		t.Errorf("delta %g, want %g", res.Delta, want)
	}

	// Converged, the ranks are the fixed point: with a = (1-d)/3 and
	// D = r2, r0 = a + d*r2/3, r1 = r0 + d*r0/2 and r2 = r0 + d*(r0/2 +
	// r1), summing to 1.
	res, err = PageRank(g, Options{Iterations: 500, Tol: 1e-15})
	if err != nil {
		t.Fatal(err)
	}
	r0 := res.Ranks[0]
	r1 := r0 * (1 + d/2)
	r2 := r0 + d*(r0/2+r1)
	if s := r0 + r1 + r2; math.Abs(s-1) > 1e-12 {
		t.Fatalf("fixed point sums to %g", s)
	}
	if L1(res.Ranks, []float64{r0, r1, r2}) > 1e-12 || res.Iterations >= 500 {
		t.Fatalf("got %v after %d iterations, want [%g %g %g]", res.Ranks, res.Iterations, r0, r1, r2)
	}
	if math.Abs(r0-((1-d)/3+d*r2/3)) > 1e-12 {
		t.Fatalf("r0 = %g does not satisfy r0 = (1-d)/3 + d*r2/3 with r2 = %g", r0, r2)
	}

	// A cycle stays uniform.
	cyc := &Graph{Vertices: 4, Edges: []Edge{{0, 1}, {1, 2}, {2, 3}, {3, 0}}}
	res, _ = PageRank(cyc, Options{Iterations: 10})
	if L1(res.Ranks, []float64{.25, .25, .25, .25}) > 1e-15 || res.Delta > 1e-15 {
		t.Fatalf("cycle: %v", res.Ranks)
	}
}

func TestPageRankOptions(t *testing.T) {
	g := &Graph{Vertices: 2, Edges: []Edge{{0, 1}}}
	for _, o := range []Options{{Iterations: 0}, {Iterations: 1, Damping: 1}, {Iterations: 1, Damping: -0.5}, {Iterations: 1, Tol: -1}, {Iterations: 1, Tol: math.NaN()}} {
		if _, err := PageRank(g, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := PageRank(&Graph{}, Options{Iterations: 1}); err == nil {
		t.Error("empty graph accepted")
	}
}

func TestTop(t *testing.T) {
	got := Top([]float64{0.1, 0.3, 0.3, 0.05, 0.25}, 3)
	want := []Ranked{{1, 0.3}, {2, 0.3}, {4, 0.25}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if len(Top([]float64{1}, 5)) != 1 {
		t.Fatal("top 5 of 1")
	}
}

func TestScanPart(t *testing.T) {
	g, err := DefaultRMAT(7).Generate()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"g.txt", "g.txt.gz"} {
		path := filepath.Join(dir, name)
		if err := WriteEdgeList(path, []string{"a comment", "another"}, g.Edges); err != nil {
			t.Fatal(err)
		}
		partsList := []int{1, 2, 3, 7, 64, 3000} // more parts than lines, too
		if strings.HasSuffix(name, ".gz") {
			partsList = []int{1, 3, 7} // each part reads the whole stream
		}
		for _, parts := range partsList {
			var all []Edge
			for part := range parts {
				if err := ScanPart(path, part, parts, func(e Edge) { all = append(all, e) }); err != nil {
					t.Fatalf("%s part %d/%d: %v", name, part, parts, err)
				}
			}
			slices.SortFunc(all, func(a, b Edge) int {
				if a.Src != b.Src {
					return cmpU32(a.Src, b.Src)
				}
				return cmpU32(a.Dst, b.Dst)
			})
			if !slices.Equal(all, g.Edges) {
				t.Fatalf("%s in %d parts: %d edges, want %d", name, parts, len(all), len(g.Edges))
			}
		}
	}
	// A malformed line is named by its number, whichever part meets it.
	text := "# c\n0 1\n1 2\n2 3\n3 4\n4 x\n5 6\n"
	for _, gz := range []bool{false, true} {
		data := []byte(text)
		if gz {
			data = gzipped(t, text)
		}
		path := writeTemp(t, "bad.txt", data)
		for _, parts := range []int{1, 2, 3, 4} {
			found := 0
			for part := range parts {
				err := ScanPart(path, part, parts, func(Edge) {})
				var le *LineError
				if errors.As(err, &le) {
					found++
					if le.Line != 6 || le.Text != "4 x" {
						t.Errorf("gzip %v, part %d/%d: %v; want line 6", gz, part, parts, err)
					}
				} else if err != nil {
					t.Errorf("gzip %v, part %d/%d: %v", gz, part, parts, err)
				}
			}
			if found != 1 {
				t.Errorf("gzip %v, %d parts: %d parts saw the bad line, want 1", gz, parts, found)
			}
		}
	}
}
