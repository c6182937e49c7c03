package graph

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// ErrExists marks an output file that is already there; outputs are
// never overwritten.
var ErrExists = errors.New("output file already exists")

// CheckOutput returns an error wrapping ErrExists when path exists, and
// one saying why when its directory is not there.
func CheckOutput(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w", path, ErrExists)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("output directory %s is not a directory", dir)
	}
	return nil
}

// WriteEdgeList writes edges to path as "src\tdst" lines after the header
// lines (each written as a '#' comment), gzip-compressed when path ends in
// ".gz". See writeFile for how partial output is avoided.
func WriteEdgeList(path string, header []string, edges []Edge) error {
	return writeFile(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 256<<10)
		for _, h := range header {
			if _, err := fmt.Fprintf(bw, "# %s\n", h); err != nil {
				return err
			}
		}
		buf := make([]byte, 0, 32)
		for _, e := range edges {
			buf = strconv.AppendUint(buf[:0], uint64(e.Src), 10)
			buf = append(buf, '\t')
			buf = strconv.AppendUint(buf, uint64(e.Dst), 10)
			buf = append(buf, '\n')
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
		return bw.Flush()
	}, strings.HasSuffix(path, ".gz"))
}

// writeFile writes a file the way every output here is written: into a
// hidden temporary file next to path, which gets path's name only once it
// is complete and closed (a hard link, so an existing path is never
// replaced; where the file system has no hard links, a rename after a
// check). On any error the temporary file is removed, so a failed write
// leaves nothing that looks complete.
func writeFile(path string, write func(io.Writer) error, gz bool) (err error) {
	if err := CheckOutput(path); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	var w io.Writer = tmp
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(tmp)
		w = zw
	}
	if err := write(w); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("write %s: gzip: %w", path, err)
		}
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", path, ErrExists)
		}
		if err := CheckOutput(path); err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}
