package terasort

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/volley-run/volley/apps/terasort/records"
)

// MarkerName is the completion marker of a data set directory: a JSON
// Manifest, written after every part file is in place.
const MarkerName = "_SUCCESS"

// PartName is the file name of part i of a data set.
func PartName(i int) string { return fmt.Sprintf("part-%05d", i) }

// tempName is where part i is written before it is complete.
func tempName(i int) string { return "." + PartName(i) + ".tmp" }

// Manifest is the content of a data set's _SUCCESS marker.
type Manifest struct {
	// Records is the number of records in all parts.
	Records int64 `json:"records"`
	// Parts is the number of part files.
	Parts int `json:"parts"`
	// Checksum is the valsort checksum of all records; for terasort
	// output it is the checksum of the input the job read, which the job
	// checked its output against. Absent for terasort output written
	// with validate=false.
	Checksum *records.Checksum `json:"checksum,omitempty"`
	// Sorted says whether the parts, in name order, are globally sorted
	// (terasort output) or not (teragen output).
	Sorted bool `json:"sorted"`
	// Validated says whether the job re-read and checked its output
	// before writing the marker (terasort with validate=true).
	Validated bool `json:"validated"`
	// Form is how the records were generated: "binary" or "ascii" (teragen,
	// or terasort generating its own input); empty for terasort output of
	// a given input.
	Form string `json:"form,omitempty"`
	// Seed is the generator seed when the records were generated.
	Seed *uint64 `json:"seed,omitempty"`
}

// writeManifest writes dir's marker through a temporary name, so the
// marker is either absent or complete.
func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+MarkerName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, MarkerName)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write marker: %w", err)
	}
	return nil
}

// ErrIncomplete marks a data set directory without its completion marker.
var ErrIncomplete = errors.New("incomplete data set")

// ReadManifest reads dir's marker; an absent marker is ErrIncomplete.
func ReadManifest(dir string) (Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, MarkerName))
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, fmt.Errorf("%s: no %s marker, so the run that wrote it did not complete: %w", dir, MarkerName, ErrIncomplete)
	}
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", filepath.Join(dir, MarkerName), err)
	}
	return m, nil
}

// File is one record file of an input.
type File struct {
	Path    string
	Records int64
}

// Input is a set of record files read as one sequence, in order.
type Input struct {
	Files   []File
	Records int64
}

// OpenInput lists the record files at path: the file itself, or every
// regular file of the directory whose name does not start with '_' or '.'
// (so markers and temporary files are skipped), in name order. Every file
// must be readable and a whole number of records long; the error names the
// file that is not.
func OpenInput(path string) (Input, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Input{}, fmt.Errorf("input: %w", err)
	}
	var paths []string
	if st.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return Input{}, fmt.Errorf("input: %w", err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "_") || strings.HasPrefix(e.Name(), ".") || e.IsDir() {
				continue
			}
			paths = append(paths, filepath.Join(path, e.Name()))
		}
		sort.Strings(paths)
		if len(paths) == 0 {
			return Input{}, fmt.Errorf("input %s: no record files in the directory", path)
		}
	} else {
		paths = []string{path}
	}
	var in Input
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return Input{}, fmt.Errorf("input: %w", err)
		}
		if !st.Mode().IsRegular() {
			return Input{}, fmt.Errorf("input %s: not a regular file", p)
		}
		f, err := os.Open(p) // only to see that it is readable
		if err != nil {
			return Input{}, fmt.Errorf("input: %w", err)
		}
		f.Close()
		if st.Size()%records.Size != 0 {
			return Input{}, fmt.Errorf("input %s: truncated record file: %d bytes is not a multiple of the %d-byte record (%d whole records and %d bytes over)",
				p, st.Size(), records.Size, st.Size()/records.Size, st.Size()%records.Size)
		}
		n := st.Size() / records.Size
		in.Files = append(in.Files, File{Path: p, Records: n})
		in.Records += n
	}
	return in, nil
}

// Reader reads records of an Input by their number in its sequence,
// keeping the files it has read from open until Close.
type Reader struct {
	in    Input
	files []*os.File // by index in in.Files; nil until first read
}

// Open returns a Reader of the input.
func (in Input) Open() *Reader {
	return &Reader{in: in, files: make([]*os.File, len(in.Files))}
}

// ReadAt fills dst, a whole number of records, with records first,
// first+1, ... of the input's sequence, across file boundaries.
func (r *Reader) ReadAt(dst []byte, first int64) error {
	n, err := records.Count(dst)
	if err != nil {
		return err
	}
	lo, hi := first, first+int64(n)
	if lo < 0 || hi > r.in.Records {
		return fmt.Errorf("records [%d,%d) out of range [0,%d)", lo, hi, r.in.Records)
	}
	at := int64(0) // number of the first record of file i
	for i, f := range r.in.Files {
		flo, fhi := max(lo, at), min(hi, at+f.Records)
		fileStart := at
		at += f.Records
		if flo >= fhi {
			continue
		}
		if err := r.readFile(i, dst[:(fhi-flo)*records.Size], (flo-fileStart)*records.Size); err != nil {
			return err
		}
		dst = dst[(fhi-flo)*records.Size:]
	}
	return nil
}

func (r *Reader) readFile(i int, dst []byte, off int64) error {
	path := r.in.Files[i].Path
	if r.files[i] == nil {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("input: %w", err)
		}
		r.files[i] = f
	}
	if _, err := r.files[i].ReadAt(dst, off); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("input %s: shorter than when listed (truncated while reading?)", path)
		}
		return fmt.Errorf("input %s: %w", path, err)
	}
	return nil
}

// Close closes the files the reader opened.
func (r *Reader) Close() error {
	var errs []error
	for i, f := range r.files {
		if f != nil {
			errs = append(errs, f.Close())
			r.files[i] = nil
		}
	}
	return errors.Join(errs...)
}

// share returns the records [lo, hi) of total that rank r of n handles:
// contiguous, in rank order, sizes differing by at most one.
func share(total int64, r, n int) (lo, hi int64) {
	return total * int64(r) / int64(n), total * int64(r+1) / int64(n)
}

// writePart writes data with write to dir/part-NNNNN through its temporary
// name; on error the temporary file is removed.
func writePart(dir string, i int, write func(io.Writer) error) (err error) {
	tmp := filepath.Join(dir, tempName(i))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("part %d: %w", i, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, PartName(i))); err != nil {
		return fmt.Errorf("part %d: %w", i, err)
	}
	return nil
}

// createOutput makes the output directory (and its parents); an existing
// output is an error.
func createOutput(dir string) error {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("output %s already exists; give a new directory", dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("output %s already exists; give a new directory", dir)
		}
		return fmt.Errorf("output: %w", err)
	}
	return nil
}

// parallel runs fn(0) .. fn(n-1) on up to GOMAXPROCS goroutines and waits
// for all of them.
func parallel(n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
