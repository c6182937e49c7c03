package graph

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Ranked is a vertex and its rank.
type Ranked struct {
	Vertex int     `json:"vertex"`
	Rank   float64 `json:"rank"`
}

// Top returns the k highest-ranked vertices, highest first, ties by
// lower vertex id.
func Top(ranks []float64, k int) []Ranked {
	all := make([]Ranked, len(ranks))
	for v, r := range ranks {
		all[v] = Ranked{v, r}
	}
	return TopOf(all, k)
}

// TopOf returns the k best of candidates (highest rank first, ties by
// lower vertex id); it may reorder candidates.
func TopOf(candidates []Ranked, k int) []Ranked {
	slices.SortFunc(candidates, func(a, b Ranked) int {
		switch {
		case a.Rank > b.Rank:
			return -1
		case a.Rank < b.Rank:
			return 1
		}
		return a.Vertex - b.Vertex
	})
	return slices.Clone(candidates[:min(k, len(candidates))])
}

// WriteRanks writes one "vertex rank" line per vertex, in vertex order,
// with ranks in the shortest form that reads back exactly. The file
// appears under path only once complete (see WriteEdgeList); an existing
// path is an error wrapping ErrExists.
func WriteRanks(path string, ranks []float64) error {
	return writeFile(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 256<<10)
		buf := make([]byte, 0, 48)
		for v, r := range ranks {
			buf = strconv.AppendInt(buf[:0], int64(v), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendFloat(buf, r, 'g', -1, 64)
			buf = append(buf, '\n')
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
		return bw.Flush()
	}, false)
}

// ReadRanks reads a file written by WriteRanks: line i must be vertex i.
func ReadRanks(path string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open ranks: %w", err)
	}
	defer f.Close()
	var ranks []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, r, ok := strings.Cut(sc.Text(), " ")
		id, err1 := strconv.Atoi(v)
		x, err2 := strconv.ParseFloat(r, 64)
		if !ok || err1 != nil || err2 != nil || id != len(ranks) {
			return nil, fmt.Errorf("%s:%d: want \"%d rank\", got %q", path, len(ranks)+1, len(ranks), sc.Text())
		}
		ranks = append(ranks, x)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ranks %s: %w", path, err)
	}
	return ranks, nil
}
