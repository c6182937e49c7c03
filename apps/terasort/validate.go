package terasort

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/volley-run/volley/apps/terasort/records"
)

// maxViolations is how many order violations a Report lists; the rest are
// only counted.
const maxViolations = 10

// Violation is a record out of order: its key is smaller than the key of
// the record before it (in the same part, or the last record of the
// previous non-empty part).
type Violation struct {
	// Part is the part file's name.
	Part string `json:"part"`
	// Record is the record's index in the part; Offset its byte offset.
	Record int64 `json:"record"`
	Offset int64 `json:"offset"`
	// Key and Prev are the record's key and the key before it, in hex.
	Key  string `json:"key"`
	Prev string `json:"prev"`
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: record %d (byte offset %d) has key %s, smaller than the previous key %s", v.Part, v.Record, v.Offset, v.Key, v.Prev)
}

// PartReport is what validation found in one part.
type PartReport struct {
	Name       string           `json:"name"`
	Records    int64            `json:"records"`
	Checksum   records.Checksum `json:"checksum"`
	Duplicates int64            `json:"duplicates"`
	Unordered  int64            `json:"unordered"`
	first      []byte           // first key, nil when empty
	last       []byte           // last key
	violations []Violation
}

// Report is the result of validating a data set: its totals, the order
// violations, and any mismatch with what the marker (or the input) says.
type Report struct {
	Path       string           `json:"path"`
	Parts      []PartReport     `json:"parts"`
	Records    int64            `json:"records"`
	Checksum   records.Checksum `json:"checksum"`
	Duplicates int64            `json:"duplicates"`
	// Unordered counts records out of order; Violations lists the first
	// few.
	Unordered  int64       `json:"unordered"`
	Violations []Violation `json:"violations"`
	// Mismatches are disagreements with the expected count or checksum.
	Mismatches []string `json:"mismatches"`
}

// OK is true when the records are in order and every count and checksum
// matched.
func (r *Report) OK() bool { return r.Unordered == 0 && len(r.Mismatches) == 0 }

// Expect is what a data set is checked against; a nil field is not
// checked.
type Expect struct {
	Records  *int64
	Checksum *records.Checksum
	// From says where the expectation comes from, for messages.
	From string
}

// Validate checks that the records at path (a file, or a data set
// directory's part files in name order) are globally sorted, counts them
// and sums their checksum, valsort-style. A directory must have its
// _SUCCESS marker (else the error wraps ErrIncomplete), and its count and
// checksum must equal the marker's; every Expect given is checked too.
// Parts are read in parallel. The error is for data that could not be
// read; order and mismatches are in the Report.
func Validate(path string, expect ...Expect) (*Report, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		m, err := ReadManifest(path)
		if err != nil {
			return nil, err
		}
		expect = append([]Expect{{Records: &m.Records, Checksum: m.Checksum, From: MarkerName}}, expect...)
	}
	in, err := OpenInput(path)
	if err != nil {
		return nil, err
	}
	rep := &Report{Path: path, Parts: make([]PartReport, len(in.Files))}
	errs := make([]error, len(in.Files))
	parallel(len(in.Files), func(i int) {
		rep.Parts[i], errs[i] = scanPart(in.Files[i].Path)
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var prev *PartReport
	for i := range rep.Parts {
		p := &rep.Parts[i]
		rep.Records += p.Records
		rep.Checksum.Merge(p.Checksum)
		rep.Duplicates += p.Duplicates
		rep.Unordered += p.Unordered
		if p.Records == 0 {
			continue
		}
		if prev != nil {
			switch c := bytes.Compare(p.first, prev.last); {
			case c < 0:
				rep.Unordered++
				rep.add(Violation{Part: p.Name, Key: fmt.Sprintf("%x", p.first), Prev: fmt.Sprintf("%x", prev.last)})
			case c == 0:
				rep.Duplicates++
			}
		}
		for _, v := range p.violations {
			rep.add(v)
		}
		prev = p
	}
	for _, e := range expect {
		if e.Records != nil && *e.Records != rep.Records {
			rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("%d records, but %s says %d", rep.Records, e.From, *e.Records))
		}
		if e.Checksum != nil && *e.Checksum != rep.Checksum {
			rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("checksum %v, but %s says %v", rep.Checksum, e.From, *e.Checksum))
		}
	}
	return rep, nil
}

func (r *Report) add(v Violation) {
	if len(r.Violations) < maxViolations {
		r.Violations = append(r.Violations, v)
	}
}

// scanChunk is how many records scanPart reads at a time.
const scanChunk = 40960 // 4 MiB

// scanPart reads one record file and checks its order.
func scanPart(path string) (PartReport, error) {
	p := PartReport{Name: filepath.Base(path)}
	f, err := os.Open(path)
	if err != nil {
		return p, err
	}
	defer f.Close()
	buf := make([]byte, scanChunk*records.Size)
	prev := make([]byte, records.KeySize)
	for {
		n, err := io.ReadFull(f, buf)
		if n%records.Size != 0 {
			return p, fmt.Errorf("%s: truncated record file: %d bytes over a whole record at byte offset %d", path, n%records.Size, p.Records*records.Size+int64(n-n%records.Size))
		}
		for off := 0; off < n; off += records.Size {
			rec := buf[off : off+records.Size]
			key := rec[:records.KeySize]
			if p.Records == 0 {
				p.first = bytes.Clone(key)
			} else {
				switch c := bytes.Compare(key, prev); {
				case c < 0:
					p.Unordered++
					if len(p.violations) < maxViolations {
						p.violations = append(p.violations, Violation{
							Part: p.Name, Record: p.Records, Offset: p.Records * records.Size,
							Key: fmt.Sprintf("%x", key), Prev: fmt.Sprintf("%x", prev),
						})
					}
				case c == 0:
					p.Duplicates++
				}
			}
			copy(prev, key)
			p.Checksum.Add(rec)
			p.Records++
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return p, fmt.Errorf("%s: %w", path, err)
		}
	}
	p.last = prev
	return p, nil
}

// InputChecksum reads the records at path (as OpenInput lists them) and
// returns their count and checksum, to compare a sorted output with.
func InputChecksum(path string) (int64, records.Checksum, error) {
	in, err := OpenInput(path)
	if err != nil {
		return 0, records.Checksum{}, err
	}
	sums := make([]records.Checksum, len(in.Files))
	errs := make([]error, len(in.Files))
	parallel(len(in.Files), func(i int) {
		var p PartReport
		p, errs[i] = scanPart(in.Files[i].Path)
		sums[i] = p.Checksum
	})
	var sum records.Checksum
	for _, s := range sums {
		sum.Merge(s)
	}
	return in.Records, sum, errors.Join(errs...)
}
