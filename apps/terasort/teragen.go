package terasort

import (
	"errors"
	"fmt"
	"io"

	"github.com/volley-run/volley/apps/terasort/records"
)

// genChunk is how many records teragen makes per write.
const genChunk = 10486 // ~1 MiB

// Generate writes a data set of n records of the given seed and form to
// dir, which must not exist, as parts part files of contiguous record
// ranges (sizes differing by at most one), written in parallel, then the
// _SUCCESS marker with the count and checksum. On error no marker is
// written.
func Generate(dir string, n int64, parts int, seed uint64, form records.Form) (Manifest, error) {
	if n < 0 {
		return Manifest{}, fmt.Errorf("records must be >= 0, got %d", n)
	}
	if parts < 1 {
		return Manifest{}, fmt.Errorf("parts must be >= 1, got %d", parts)
	}
	if err := createOutput(dir); err != nil {
		return Manifest{}, err
	}
	sums := make([]records.Checksum, parts)
	errs := make([]error, parts)
	parallel(parts, func(i int) {
		lo, hi := share(n, i, parts)
		errs[i] = writePart(dir, i, func(w io.Writer) error {
			var err error
			sums[i], err = generateRange(w, lo, hi, seed, form)
			return err
		})
	})
	if err := errors.Join(errs...); err != nil {
		return Manifest{}, err
	}
	var sum records.Checksum
	for _, s := range sums {
		sum.Merge(s)
	}
	m := Manifest{Records: n, Parts: parts, Checksum: &sum, Form: form.String(), Seed: &seed}
	if err := writeManifest(dir, m); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// generateRange writes records [lo, hi) to w and returns their checksum.
func generateRange(w io.Writer, lo, hi int64, seed uint64, form records.Form) (records.Checksum, error) {
	var sum records.Checksum
	buf := make([]byte, genChunk*records.Size)
	for at := lo; at < hi; {
		k := min(int64(genChunk), hi-at)
		b := buf[:k*records.Size]
		records.Generate(b, uint64(at), seed, form)
		s := records.Sum(b)
		sum.Merge(s)
		if _, err := w.Write(b); err != nil {
			return sum, err
		}
		at += k
	}
	return sum, nil
}
