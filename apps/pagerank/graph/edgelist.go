package graph

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
)

// MaxVertices bounds the vertex ids of an edge list: ids are < MaxVertices,
// so a vertex fits in a uint32 and per-vertex arrays stay addressable.
const MaxVertices = 1 << 31

// maxLine bounds the length of one line of an edge list.
const maxLine = 1 << 20

// Edge is a directed edge.
type Edge struct {
	Src, Dst uint32
}

// Graph is a whole edge list in memory.
type Graph struct {
	// Vertices is max vertex id + 1 (0 for a graph without edges).
	Vertices int
	// Edges are in file order; duplicates and self-loops are kept.
	Edges []Edge
}

// ErrMalformed marks a line that is not a comment, blank, or "src dst".
var ErrMalformed = errors.New("malformed edge line")

// LineError is a bad line of an edge list, named by file and line number.
type LineError struct {
	File   string
	Line   int
	Text   string
	Reason string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %v %q: %s", e.File, e.Line, ErrMalformed, e.Text, e.Reason)
}

// Unwrap makes errors.Is(err, ErrMalformed) true.
func (e *LineError) Unwrap() error { return ErrMalformed }

// Open opens an edge list, plain or gzip (told apart by gzip's magic
// bytes, not by the name).
func Open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open graph: %w", err)
	}
	br := bufio.NewReaderSize(f, 256<<10)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, fmt.Errorf("read graph %s: %w", path, err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("graph %s: gzip: %w", path, err)
		}
		return &gzipFile{Reader: zr, f: f}, nil
	}
	return &plainFile{Reader: br, f: f}, nil
}

type plainFile struct {
	io.Reader
	f *os.File
}

func (p *plainFile) Close() error { return p.f.Close() }

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g *gzipFile) Close() error {
	err := g.Reader.Close()
	if cerr := g.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Scan reads the edge list at path and calls fn for the edge on every
// line whose 1-based number keep accepts (nil keeps all); lines that keep
// rejects are counted but not parsed, so ranks can split a file by line
// number cheaply. A malformed kept line is a *LineError.
func Scan(path string, keep func(line int) bool, fn func(Edge)) error {
	r, err := Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	num := 0
	for sc.Scan() {
		num++
		if keep != nil && !keep(num) {
			continue
		}
		e, ok, reason := ParseLine(sc.Bytes())
		if reason != "" {
			return &LineError{File: path, Line: num, Text: clip(sc.Text()), Reason: reason}
		}
		if ok {
			fn(e)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &LineError{File: path, Line: num + 1, Text: "", Reason: fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		return fmt.Errorf("read graph %s after line %d: %w", path, num, err)
	}
	return nil
}

// Read reads a whole edge list.
func Read(path string) (*Graph, error) {
	g := &Graph{}
	err := Scan(path, nil, func(e Edge) {
		g.Edges = append(g.Edges, e)
		g.Vertices = max(g.Vertices, int(e.Src)+1, int(e.Dst)+1)
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// ParseLine parses one line of an edge list. It returns ok=false for a
// blank or comment line, and a non-empty reason when the line is
// malformed.
func ParseLine(line []byte) (e Edge, ok bool, reason string) {
	i := skipBlank(line, 0)
	if i == len(line) || line[i] == '#' {
		return Edge{}, false, ""
	}
	src, i, reason := parseID(line, i)
	if reason != "" {
		return Edge{}, false, "source " + reason
	}
	j := skipBlank(line, i)
	if j == len(line) {
		return Edge{}, false, "missing destination vertex id"
	}
	dst, j, reason := parseID(line, j)
	if reason != "" {
		return Edge{}, false, "destination " + reason
	}
	if k := skipBlank(line, j); k != len(line) {
		return Edge{}, false, "unexpected text after the destination vertex id (want exactly \"src dst\")"
	}
	return Edge{Src: src, Dst: dst}, true, ""
}

func skipBlank(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// parseID parses a vertex id at b[i:] and returns it with the index after
// it.
func parseID(b []byte, i int) (uint32, int, string) {
	start := i
	var v uint64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + uint64(b[i]-'0')
		if v >= MaxVertices {
			return 0, i, fmt.Sprintf("vertex id too large (ids must be < %d)", MaxVertices)
		}
		i++
	}
	if i == start {
		return 0, i, "vertex id is not a non-negative integer"
	}
	if i < len(b) && b[i] != ' ' && b[i] != '\t' && b[i] != '\r' {
		return 0, i, "vertex id is not a non-negative integer"
	}
	return uint32(v), i, ""
}

// clip shortens a line for an error message.
func clip(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
