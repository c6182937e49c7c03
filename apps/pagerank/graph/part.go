package graph

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// ScanPart reads part `part` of `parts` of the edge list at path and
// calls fn for its edges, so that parts 0..parts-1 together see every
// edge once. A plain file is cut into parts byte ranges, each line going
// to the part holding its first byte, so every part reads only its own
// bytes; a gzip stream cannot be cut, so each part reads the whole stream
// and parses every parts-th line. A malformed line is a *LineError with
// its line number either way.
func ScanPart(path string, part, parts int, fn func(Edge)) error {
	if parts < 1 || part < 0 || part >= parts {
		return fmt.Errorf("part %d of %d: want 0 <= part < parts", part, parts)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open graph: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("graph %s: %w", path, err)
	}
	magic := make([]byte, 2)
	n, err := f.ReadAt(magic, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read graph %s: %w", path, err)
	}
	if parts == 1 || (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) || !fi.Mode().IsRegular() {
		return Scan(path, func(line int) bool { return (line-1)%parts == part }, fn)
	}
	size := fi.Size()
	start, end := size*int64(part)/int64(parts), size*int64(part+1)/int64(parts)
	if start == end {
		return nil
	}
	pos := max(start-1, 0)
	br := bufio.NewReaderSize(io.NewSectionReader(f, pos, size-pos), 256<<10)
	if start > 0 {
		// Skip the end of the line that began before start (just the
		// newline at start-1 when a line begins at start).
		for {
			chunk, err := br.ReadSlice('\n')
			pos += int64(len(chunk))
			if err == nil || errors.Is(err, io.EOF) {
				break
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				return fmt.Errorf("read graph %s: %w", path, err)
			}
		}
	}
	for pos < end {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return lineError(path, pos, "", fmt.Sprintf("line longer than %d bytes", br.Size()))
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read graph %s: %w", path, err)
		}
		e, ok, reason := ParseLine(bytes.TrimSuffix(line, []byte("\n")))
		if reason != "" {
			return lineError(path, pos, string(bytes.TrimRight(line, "\r\n")), reason)
		}
		if ok {
			fn(e)
		}
		pos += int64(len(line))
		if err != nil { // io.EOF
			break
		}
	}
	return nil
}

// lineError names the line that starts at byte offset off by counting the
// newlines before it (only done on error).
func lineError(path string, off int64, text, reason string) error {
	num, err := lineAt(path, off)
	if err != nil {
		return fmt.Errorf("%s: byte %d: %w %q: %s (line number unknown: %v)", path, off, ErrMalformed, clip(text), reason, err)
	}
	return &LineError{File: path, Line: num, Text: clip(text), Reason: reason}
}

func lineAt(path string, off int64) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	num := 1
	for done := int64(0); done < off; {
		n, err := f.Read(buf[:min(int64(len(buf)), off-done)])
		num += bytes.Count(buf[:n], []byte("\n"))
		done += int64(n)
		if err != nil {
			return 0, err
		}
	}
	return num, nil
}
