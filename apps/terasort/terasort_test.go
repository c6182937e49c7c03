package terasort

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/volley-run/volley/apps/terasort/records"
	"github.com/volley-run/volley/collectives"
	"github.com/volley-run/volley/comm"
	"github.com/volley-run/volley/comm/commtest"
	"github.com/volley-run/volley/group"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestShare(t *testing.T) {
	for _, c := range []struct {
		total int64
		n     int
	}{{0, 3}, {1, 3}, {10, 3}, {1000003, 16}} {
		var next int64
		for r := range c.n {
			lo, hi := share(c.total, r, c.n)
			if lo != next || hi < lo || hi-lo > c.total/int64(c.n)+1 {
				t.Fatalf("share(%d, %d, %d) = [%d,%d), after %d", c.total, r, c.n, lo, hi, next)
			}
			next = hi
		}
		if next != c.total {
			t.Fatalf("shares of %d end at %d", c.total, next)
		}
	}
}

// sampleKeys returns the keys of the records of b at samplePositions.
func sampleKeys(b []byte, k int) []records.Key {
	var keys []records.Key
	for _, j := range samplePositions(int64(len(b)/records.Size), k) {
		keys = append(keys, records.KeyOf(b[j*records.Size:]))
	}
	return keys
}

func keysOf(b []byte) []records.Key {
	var ks []records.Key
	for i := 0; i < len(b); i += records.Size {
		ks = append(ks, records.KeyOf(b[i:]))
	}
	return ks
}

func TestPartition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	random := make([]byte, 20000*records.Size)
	records.Generate(random, 0, 8, records.Binary)
	skewed := bytes.Clone(random)
	for i := 0; i < len(skewed); i += records.Size {
		copy(skewed[i:i+records.KeySize], "0123456789")
		skewed[i+9] = byte(rng.IntN(3)) // three distinct keys
	}
	equal := bytes.Clone(random)
	for i := 0; i < len(equal); i += records.Size {
		copy(equal[i:i+records.KeySize], "SAME KEY!!")
	}
	for name, b := range map[string][]byte{"random": random, "three keys": skewed, "all equal": equal, "empty": nil} {
		for _, n := range []int{1, 2, 7, 16} {
			splitters := Splitters(sampleKeys(b, 100), n)
			out := make([]byte, len(b))
			bounds := NewPartitioner(splitters, int64(len(b)/records.Size)).Partition(out, b)
			if len(bounds) != n+1 || bounds[0] != 0 || bounds[n] != len(b) {
				t.Fatalf("%s n=%d: bounds %v for %d bytes", name, n, bounds, len(b))
			}
			if records.Sum(out) != records.Sum(b) {
				t.Fatalf("%s n=%d: partitioning changed the records", name, n)
			}
			// Every key of rank j is <= every key of rank j+1.
			var prevMax *records.Key
			for j := range n {
				ks := keysOf(out[bounds[j]:bounds[j+1]])
				if len(ks) == 0 {
					continue
				}
				lo, hi := ks[0], ks[0]
				for _, k := range ks {
					if Dest(splitters, k) != j {
						t.Fatalf("%s n=%d: key %v in rank %d's range, Dest says %d", name, n, k, j, Dest(splitters, k))
					}
					if k.Compare(lo) < 0 {
						lo = k
					}
					if k.Compare(hi) > 0 {
						hi = k
					}
				}
				if prevMax != nil && lo.Compare(*prevMax) <= 0 {
					t.Fatalf("%s n=%d: rank %d's smallest key %v is not above the previous rank's largest %v", name, n, j, lo, *prevMax)
				}
				prevMax = &hi
			}
			if name == "random" && n > 1 {
				// Sampling balances random keys: no rank gets twice its share.
				for j := range n {
					if got := (bounds[j+1] - bounds[j]) / records.Size; got > 2*20000/n {
						t.Errorf("random n=%d: rank %d gets %d records", n, j, got)
					}
				}
			}
		}
	}
}

func TestDest(t *testing.T) {
	s := []records.Key{{Hi: 10}, {Hi: 20}, {Hi: 20}, {Hi: 30}}
	for _, c := range []struct {
		k    records.Key
		want int
	}{{records.Key{}, 0}, {records.Key{Hi: 10}, 1}, {records.Key{Hi: 10, Lo: 1}, 1}, {records.Key{Hi: 20}, 3}, {records.Key{Hi: 29}, 3}, {records.Key{Hi: 30}, 4}, {records.Key{Hi: ^uint64(0)}, 4}} {
		if got := Dest(s, c.k); got != c.want {
			t.Errorf("Dest(%v) = %d, want %d", c.k, got, c.want)
		}
	}
}

// TestDestTable: the prefix table places every key where Dest does, with
// splitters that share prefixes (some equal), for random keys and for
// keys at and next to every splitter.
func TestDestTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 16, 300} {
		s := make([]records.Key, n-1)
		for i := range s {
			s[i] = records.Key{Hi: rng.Uint64() & 0xff0fffffffffffff, Lo: uint16(rng.Uint32())}
			if i > 0 && rng.IntN(4) == 0 {
				s[i] = s[i-1] // equal splitters
			}
		}
		slices.SortFunc(s, records.Key.Compare)
		table := newDestTable(s)
		keys := []records.Key{{}, {Hi: ^uint64(0), Lo: 0xffff}}
		for range 20000 {
			keys = append(keys, records.Key{Hi: rng.Uint64() & 0xff0fffffffffffff, Lo: uint16(rng.Uint32())})
		}
		for _, k := range s {
			keys = append(keys, k, records.Key{Hi: k.Hi, Lo: k.Lo + 1}, records.Key{Hi: k.Hi, Lo: k.Lo - 1}, records.Key{Hi: k.Hi - 1})
		}
		for _, k := range keys {
			if got, want := table.dest(k), Dest(s, k); got != want {
				t.Fatalf("n=%d: key %v: table says rank %d, Dest %d", n, k, got, want)
			}
		}
	}
	// A Partitioner reused on batches of different sizes places every
	// record where Dest does.
	b := make([]byte, 5000*records.Size)
	records.Generate(b, 0, 9, records.ASCII)
	splitters := Splitters(sampleKeys(b, 1000), 16)
	p := NewPartitioner(splitters, 1<<20) // with the table
	out := make([]byte, len(b))
	for _, batch := range [][]byte{b, b[:1000*records.Size], b[2000*records.Size : 4500*records.Size]} {
		bounds := p.Partition(out, batch)
		if bounds[16] != len(batch) {
			t.Fatalf("bounds %v for a batch of %d bytes", bounds, len(batch))
		}
		for j := range 16 {
			for _, k := range keysOf(out[bounds[j]:bounds[j+1]]) {
				if Dest(splitters, k) != j {
					t.Fatalf("Partition put key %v in rank %d's range, Dest says %d", k, j, Dest(splitters, k))
				}
			}
		}
	}
}

func TestGenerateAndValidate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "in")
	m, err := Generate(dir, 5000, 4, 7, records.ASCII)
	if err != nil {
		t.Fatal(err)
	}
	whole := make([]byte, 5000*records.Size)
	records.Generate(whole, 0, 7, records.ASCII)
	if m.Records != 5000 || m.Parts != 4 || *m.Checksum != records.Sum(whole) {
		t.Fatalf("manifest %+v", m)
	}
	in, err := OpenInput(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := in.Open()
	got := make([]byte, len(whole))
	if err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, whole) {
		t.Fatalf("the parts in order are not records 0..4999 of seed 7 (%v)", err)
	}
	// A middle range spanning parts, and ranges past the end.
	got = got[:2700*records.Size]
	if err := r.ReadAt(got, 1200); err != nil || !bytes.Equal(got, whole[1200*records.Size:3900*records.Size]) {
		t.Fatalf("ReadAt(1200..3900) wrong (%v)", err)
	}
	if err := r.ReadAt(got[:2*records.Size], 4999); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("ReadAt past the end: %v", err)
	}
	if err := r.ReadAt(got[:records.Size+1], 0); err == nil {
		t.Fatal("ReadAt of a partial record: no error")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir, 10, 1, 7, records.Binary); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Generate over an existing dir: %v", err)
	}

	// Unsorted input: Validate reports order violations, counts match.
	rep, err := Validate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Unordered == 0 || rep.Records != 5000 || len(rep.Mismatches) != 0 {
		t.Fatalf("report of unsorted data %+v", rep)
	}

	// Sorted into one file: valid, and equal to the input's checksum.
	records.Sort(whole)
	file := filepath.Join(t.TempDir(), "sorted")
	if err := os.WriteFile(file, whole, 0o644); err != nil {
		t.Fatal(err)
	}
	n, sum, err := InputChecksum(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = Validate(file, Expect{Records: &n, Checksum: &sum, From: "input"})
	if err != nil || !rep.OK() {
		t.Fatalf("sorted file: %+v, %v", rep, err)
	}
	// One changed value byte: still sorted, checksum differs.
	whole[50] ^= 0x40
	os.WriteFile(file, whole, 0o644)
	rep, _ = Validate(file, Expect{Records: &n, Checksum: &sum, From: "input"})
	if rep.OK() || len(rep.Mismatches) != 1 || !strings.Contains(rep.Mismatches[0], "checksum") {
		t.Fatalf("corrupt value not caught: %+v", rep)
	}
}

func TestValidateAcrossParts(t *testing.T) {
	dir := t.TempDir()
	recs := make([]byte, 300*records.Size)
	records.Generate(recs, 0, 2, records.Binary)
	records.Sort(recs)
	// Parts 0 and 1 swapped: each part sorted, the boundary is not.
	os.WriteFile(filepath.Join(dir, PartName(0)), recs[200*records.Size:], 0o644)
	os.WriteFile(filepath.Join(dir, PartName(1)), recs[:200*records.Size], 0o644)
	if _, err := Validate(dir); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("a directory without a marker: %v, want ErrIncomplete", err)
	}
	sum := records.Sum(recs)
	if err := writeManifest(dir, Manifest{Records: 300, Parts: 2, Checksum: &sum, Sorted: true}); err != nil {
		t.Fatal(err)
	}
	rep, err := Validate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unordered != 1 || len(rep.Violations) != 1 || rep.Violations[0].Part != PartName(1) || rep.Violations[0].Offset != 0 {
		t.Fatalf("boundary violation not reported at part-00001 offset 0: %+v", rep.Violations)
	}
	if len(rep.Mismatches) != 0 {
		t.Fatalf("order is the only problem, got %v", rep.Mismatches)
	}
}

func TestOpenInputErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenInput(filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing input: %v", err)
	}
	if _, err := OpenInput(dir); err == nil || !strings.Contains(err.Error(), "no record files") {
		t.Errorf("empty dir: %v", err)
	}
	bad := filepath.Join(dir, "part-00000")
	os.WriteFile(bad, make([]byte, 250), 0o644)
	if _, err := OpenInput(dir); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated file: %v", err)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		p    group.Params
		want string
	}{
		{group.Params{}, ""},
		{group.Params{"records": "x"}, "not an integer"},
		{group.Params{"records": "-1"}, "records must be >= 0"},
		{group.Params{"seed": "-1"}, "seed"},
		{group.Params{"ascii": "maybe"}, "not true or false"},
		{group.Params{"samples": "0"}, "samples must be >= 1"},
		{group.Params{"input": dir, "records": "5"}, "not both"},
		{group.Params{"input": filepath.Join(dir, "nope")}, "no such file"},
		{group.Params{"output": dir}, "already exists"},
		{group.Params{"output": filepath.Join(dir, "new")}, ""},
	}
	for _, c := range cases {
		err := Check(c.p)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Check(%v) = %v, want %q", c.p, err, c.want)
		}
	}
}

func TestVerdict(t *testing.T) {
	a := make([]byte, 4*records.Size)
	records.Generate(a, 0, 1, records.Binary)
	records.Sort(a)
	k := func(i int) []byte { return bytes.Clone(a[i*records.Size : i*records.Size+records.KeySize]) }
	s1 := records.Sum(a[:2*records.Size])
	s2 := records.Sum(a[2*records.Size:])
	ok := []summary{
		{RecordsIn: 2, InSum: s2, RecordsOut: 2, OutSum: s1, First: k(0), Last: k(1), Unordered: -1},
		{RecordsIn: 0, RecordsOut: 0, Unordered: -1},
		{RecordsIn: 2, InSum: s1, RecordsOut: 2, OutSum: s2, First: k(2), Last: k(3), Unordered: -1},
	}
	job, err := verdict(ok, true)
	if err != nil || job.Records != 4 {
		t.Fatalf("verdict of a good run: %+v, %v", job, err)
	}
	bad := func(f func(s []summary)) []summary {
		s := append([]summary(nil), ok...)
		f(s)
		return s
	}
	for name, c := range map[string]struct {
		s    []summary
		want string
	}{
		"failed rank":  {bad(func(s []summary) { s[1].Err = "disk full" }), "rank 1 failed: disk full"},
		"unsorted":     {bad(func(s []summary) { s[2].Unordered = 1 }), "part-00002: record 1 is out of order"},
		"parts order":  {bad(func(s []summary) { s[0], s[2] = s[2], s[0] }), "part-00002 starts with key"},
		"lost record":  {bad(func(s []summary) { s[2].RecordsOut = 1 }), "read 4 records but wrote 3"},
		"checksum off": {bad(func(s []summary) { s[2].OutSum.Lo++ }), "checksum"},
	} {
		if _, err := verdict(c.s, true); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// TestShuffleRounds runs shuffle over the real middleware (4 ranks, 2 per
// container) for three rounds, appending to one buffer that has to grow,
// and then with one rank failing to read its chunk: every rank fails, the
// one that could not read with its own error, the others with its text.
func TestShuffleRounds(t *testing.T) {
	const n, g, per = 4, 2, 50 // records each rank sends each rank per round
	cl := commtest.Start(t, n, g, nil)
	readErr := errors.New("disk on fire")
	errs := cl.Run(func(c *comm.Comm) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		col := collectives.New(c)
		me := c.Rank()
		out := make([]byte, n*per*records.Size)
		bounds := make([]int, n+1)
		for j := range n {
			bounds[j+1] = (j + 1) * per * records.Size
		}
		recv := make([]byte, 0, 10) // too small: shuffle grows it
		for round := range 3 {
			for i := range out {
				out[i] = byte(round*n*n + me*n + i/(per*records.Size))
			}
			var err error
			if recv, err = shuffle(ctx, col, out, bounds, nil, recv); err != nil {
				return err
			}
		}
		if len(recv) != 3*n*per*records.Size {
			return fmt.Errorf("received %d bytes, want %d", len(recv), 3*n*per*records.Size)
		}
		for i, b := range recv { // round-major, then source rank
			round, src := i/(n*per*records.Size), i/(per*records.Size)%n
			if want := byte(round*n*n + src*n + me); b != want {
				return fmt.Errorf("byte %d is %d, want %d (round %d from rank %d)", i, b, want, round, src)
			}
		}
		var failing error
		if me == 2 {
			failing = readErr
		}
		_, err := shuffle(ctx, col, out, bounds, failing, recv)
		return err
	})
	for r, err := range errs {
		switch {
		case r == 2 && !errors.Is(err, readErr):
			t.Errorf("rank 2 (could not read): %v, want its own error", err)
		case r != 2 && (err == nil || err.Error() != "rank 2: disk on fire"):
			t.Errorf("rank %d: %v, want the failure of rank 2", r, err)
		}
	}
}
