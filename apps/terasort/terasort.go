package terasort

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/volley-run/volley/apps/terasort/records"
	"github.com/volley-run/volley/collectives"
	"github.com/volley-run/volley/group"
)

// DefaultRecords is the size of the data set the job generates when it is
// given no input.
const DefaultRecords = 1_000_000

func init() {
	group.Register(group.App{
		Name:    "terasort",
		Summary: "sorts 100-byte records by their 10-byte key (sample, AllToAllv shuffle, radix sort) and validates the output",
		Params: map[string]string{
			"input":    "record file or directory of record files (e.g. from volley teragen); default: generate the input",
			"records":  fmt.Sprintf("records to generate when there is no input (default %d)", DefaultRecords),
			"seed":     "seed of the generated input (default 1)",
			"ascii":    "generate gensort -a printable records (default false)",
			"output":   "directory to create for the sorted part files and the _SUCCESS marker; must not exist (default: sort in memory, write nothing)",
			"samples":  "keys each rank samples to pick the partition boundaries (default 1000)",
			"validate": "re-read and check the output (order, count, checksum) before writing the marker (default true)",
			"rounds":   fmt.Sprintf("rounds the shuffle streams each rank's share in, holding one round's chunk at a time (default: one per %d MiB of a share, at most %d)", roundBytes>>20, maxRounds),
		},
		Check: Check,
		Run:   Run,
	})
}

// options are the job's parsed parameters.
type options struct {
	input    string
	output   string
	records  int64
	seed     uint64
	form     records.Form
	samples  int
	validate bool
	rounds   int // 0: roundsFor decides
}

// Default rounds of the shuffle: one per roundBytes of a rank's share, at
// most maxRounds (more rounds hold less memory, but each is an
// AllToAllv, and past about six the chunks no longer hold the sort's
// working memory).
const (
	roundBytes = 4 << 20
	maxRounds  = 4
)

// roundsFor is the number of rounds for total records over n ranks.
func (o options) roundsFor(total int64, n int) int {
	if o.rounds > 0 {
		return o.rounds
	}
	return int(min(max(ceilDiv(total, int64(n))*records.Size/roundBytes, 1), maxRounds))
}

func parseOptions(p group.Params) (options, error) {
	o := options{input: p.String("input", ""), output: p.String("output", ""), form: records.Binary}
	n, err := p.Int("records", DefaultRecords)
	if err != nil {
		return o, err
	}
	if _, given := p["records"]; given && o.input != "" {
		return o, fmt.Errorf("%w: give input or records, not both", group.ErrBadSpec)
	}
	if n < 0 {
		return o, fmt.Errorf("%w: records must be >= 0, got %d", group.ErrBadSpec, n)
	}
	o.records = int64(n)
	if o.seed, err = strconv.ParseUint(p.String("seed", "1"), 10, 64); err != nil {
		return o, fmt.Errorf("%w: parameter seed=%q is not an unsigned integer", group.ErrBadSpec, p["seed"])
	}
	ascii, err := boolParam(p, "ascii", false)
	if err != nil {
		return o, err
	}
	if ascii {
		o.form = records.ASCII
	}
	if o.samples, err = p.Int("samples", 1000); err != nil {
		return o, err
	}
	if o.samples < 1 {
		return o, fmt.Errorf("%w: samples must be >= 1, got %d", group.ErrBadSpec, o.samples)
	}
	if o.validate, err = boolParam(p, "validate", true); err != nil {
		return o, err
	}
	if _, given := p["rounds"]; given {
		if o.rounds, err = p.Int("rounds", 0); err != nil {
			return o, err
		}
		if o.rounds < 1 {
			return o, fmt.Errorf("%w: rounds must be >= 1, got %d", group.ErrBadSpec, o.rounds)
		}
	}
	return o, nil
}

func boolParam(p group.Params, key string, def bool) (bool, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%w: parameter %s=%q is not true or false", group.ErrBadSpec, key, v)
	}
	return b, nil
}

// Check is the launcher-side check of the parameters, before any container
// starts: they parse, the input is readable and made of whole records, and
// the output does not exist yet.
func Check(p group.Params) error {
	o, err := parseOptions(p)
	if err != nil {
		return err
	}
	if o.input != "" {
		if _, err := OpenInput(o.input); err != nil {
			return err
		}
	}
	if o.output != "" {
		if _, err := os.Lstat(o.output); err == nil {
			return fmt.Errorf("output %s already exists; give a new directory", o.output)
		}
	}
	return nil
}

// Timings are a rank's time in each stage, in milliseconds.
type Timings struct {
	Read      float64 `json:"read"` // read the input, or generate it
	Sample    float64 `json:"sample"`
	Partition float64 `json:"partition"`
	Shuffle   float64 `json:"shuffle"`
	Sort      float64 `json:"sort"`
	Write     float64 `json:"write"`
	Validate  float64 `json:"validate"`
	Total     float64 `json:"total"`
}

// Result is what each rank returns.
type Result struct {
	Rank       int   `json:"rank"`
	RecordsIn  int64 `json:"records_in"`
	RecordsOut int64 `json:"records_out"`
	BytesOut   int64 `json:"bytes_out"`
	// Part is the part file this rank wrote, relative to the output.
	Part      string  `json:"part,omitempty"`
	Validated bool    `json:"validated"`
	Ms        Timings `json:"ms"`
	// Job is the whole job's summary, on rank 0 only.
	Job *JobSummary `json:"job,omitempty"`
}

// JobSummary is rank 0's view of the whole job.
type JobSummary struct {
	Records int64 `json:"records"`
	// Checksum is the input's checksum, which the output matched (empty
	// with validate=false).
	Checksum string `json:"checksum,omitempty"`
	// Skew is the largest part over the mean part size.
	Skew   float64 `json:"skew"`
	Output string  `json:"output,omitempty"`

	checksum records.Checksum
}

// summary is what each rank tells the others after writing, to agree on
// the verdict.
type summary struct {
	Err        string           `json:"err,omitempty"`
	RecordsIn  int64            `json:"in"`
	InSum      records.Checksum `json:"in_sum"`
	RecordsOut int64            `json:"out"`
	OutSum     records.Checksum `json:"out_sum"`
	First      []byte           `json:"first,omitempty"`
	Last       []byte           `json:"last,omitempty"`
	// Unordered is the index of the first record of the part out of
	// order, or -1.
	Unordered int64 `json:"unordered"`
}

// Run is terasort's worker function.
func Run(ctx context.Context, w *group.Worker) (any, error) {
	o, err := parseOptions(w.Params())
	if err != nil {
		return nil, err
	}
	col := collectives.New(w.Comm())
	me, n := w.Rank(), w.Size()
	res := Result{Rank: me}
	start := time.Now()
	clock := start
	lap := func(dst *float64) { // adds the time since the last lap to *dst
		now := time.Now()
		*dst += float64(now.Sub(clock).Microseconds()) / 1000
		clock = now
	}

	// Open the input (or the generator) and sample this rank's share;
	// rank 0 makes the output.
	src, loadErr := openSource(o)
	defer src.close()
	lo, hi := share(src.records, me, n)
	res.RecordsIn = hi - lo
	var keys []records.Key
	if loadErr == nil {
		keys, loadErr = src.sample(lo, hi, o.samples)
	}
	created := false
	if loadErr == nil && me == 0 && o.output != "" {
		loadErr = createOutput(o.output)
		created = loadErr == nil
	}
	lap(&res.Ms.Read)

	// Agree on the splitters: rank 0 picks them from every rank's
	// samples; a rank that failed to open or sample its share says so
	// here, and every rank stops.
	msgs, err := gatherAtRoot(ctx, col, sampleMessage(keys, loadErr))
	if err != nil {
		return nil, fmt.Errorf("gather samples: %w", err)
	}
	var picked []byte
	var decided error
	if me == 0 {
		picked, decided = pickSplitters(msgs, n)
	}
	picked, err = bcastOutcome(ctx, col, picked, (n-1)*records.KeySize, decided)
	if loadErr != nil {
		return nil, loadErr
	}
	if err != nil {
		if created {
			os.Remove(o.output) // still empty: nothing was written
		}
		return nil, err
	}
	// Nobody starts partitioning until every rank has the splitters: a
	// container's CPU (one core's share) busy with its first ranks'
	// partitions would hold up the broadcast still on its way to the
	// other containers (N=16, g=8: 300 ms).
	if err := col.Barrier(ctx); err != nil {
		return nil, fmt.Errorf("after the splitters: %w", err)
	}
	part := NewPartitioner(decodeKeys(picked), hi-lo)
	lap(&res.Ms.Sample)

	// Shuffle in rounds: read a chunk of the share, partition it, and
	// exchange it, into one buffer that grows to what this rank sorts.
	// Only a chunk and its partitioned copy are held besides, so a
	// rank's memory peaks at its share plus two chunks, not twice its
	// share, and the chunks' memory, touched already, serves every round
	// and then the sort. (Exchanging a round while the next is read and
	// partitioned, with a third chunk, was slower: more memory to touch,
	// and the CPU is busy anyway.)
	rounds := o.roundsFor(src.records, n)
	chunk := ceilDiv(ceilDiv(src.records, int64(n)), int64(rounds))
	work := make([]byte, 2*chunk*records.Size)
	in, out := work[:chunk*records.Size], work[chunk*records.Size:]
	var inSum records.Checksum
	sorted := make([]byte, 0, expectedBytes(src.records, n))
	for k := range int64(rounds) {
		clo, chi := min(lo+k*chunk, hi), min(lo+(k+1)*chunk, hi)
		batch := in[:(chi-clo)*records.Size]
		readErr := src.read(batch, clo)
		if readErr == nil && o.validate {
			inSum.Merge(records.Sum(batch))
		}
		lap(&res.Ms.Read)
		var bounds []int
		if readErr == nil {
			bounds = part.Partition(out, batch)
		}
		lap(&res.Ms.Partition)
		if sorted, err = shuffle(ctx, col, out, bounds, readErr, sorted); err != nil {
			return nil, fmt.Errorf("shuffle round %d of %d: %w", k+1, rounds, err)
		}
		lap(&res.Ms.Shuffle)
	}
	res.RecordsOut = int64(len(sorted) / records.Size)
	res.BytesOut = int64(len(sorted))

	// The chunks' memory is the sort's working memory.
	order := records.SortIndexWith(sorted, work)
	lap(&res.Ms.Sort)

	sum := summary{RecordsIn: res.RecordsIn, InSum: inSum, RecordsOut: res.RecordsOut, Unordered: -1}
	var jobErr error
	if o.output != "" {
		res.Part = PartName(me)
		jobErr = writePart(o.output, me, func(w io.Writer) error { return records.WriteOrdered(w, sorted, order) })
	}
	lap(&res.Ms.Write)

	if jobErr == nil && o.validate {
		jobErr = check(&sum, o, me, sorted, order)
		res.Validated = jobErr == nil
	}
	lap(&res.Ms.Validate)
	if jobErr != nil {
		sum.Err = jobErr.Error()
	}

	// Agree on the verdict; rank 0 then marks the output complete.
	b, err := json.Marshal(sum)
	if err != nil {
		return nil, err
	}
	msgs, err = gatherAtRoot(ctx, col, b)
	if err != nil {
		return nil, fmt.Errorf("gather summaries: %w", err)
	}
	var job JobSummary
	if me == 0 {
		job, decided = decide(msgs, o.validate)
	}
	_, err = bcastOutcome(ctx, col, nil, 0, decided)
	if jobErr != nil {
		return nil, jobErr
	}
	if err != nil {
		return nil, err
	}
	if me == 0 {
		if o.output != "" {
			m := Manifest{Records: job.Records, Parts: n, Sorted: true, Validated: o.validate}
			if o.validate {
				m.Checksum = &job.checksum
			}
			if o.input == "" {
				m.Form, m.Seed = o.form.String(), &o.seed
			}
			if err := writeManifest(o.output, m); err != nil {
				return nil, err
			}
			job.Output = o.output
		}
		res.Job = &job
	}
	res.Ms.Total = float64(time.Since(start).Microseconds()) / 1000
	return res, nil
}

// source gives the records of the job's input by number: read from the
// input files, or generated.
type source struct {
	records int64   // in the whole input
	reader  *Reader // nil when generated
	seed    uint64
	form    records.Form
}

// openSource opens the input the options name, or the generator.
func openSource(o options) (source, error) {
	if o.input == "" {
		return source{records: o.records, seed: o.seed, form: o.form}, nil
	}
	in, err := OpenInput(o.input)
	if err != nil {
		return source{}, err
	}
	return source{records: in.Records, reader: in.Open()}, nil
}

// read fills dst with records first, first+1, ...
func (s source) read(dst []byte, first int64) error {
	if s.reader == nil {
		records.Generate(dst, uint64(first), s.seed, s.form)
		return nil
	}
	return s.reader.ReadAt(dst, first)
}

// sample returns the keys of up to k records of [lo, hi), evenly spaced.
func (s source) sample(lo, hi int64, k int) ([]records.Key, error) {
	rec := make([]byte, records.Size)
	var keys []records.Key
	for _, j := range samplePositions(hi-lo, k) {
		if err := s.read(rec, lo+j); err != nil {
			return nil, err
		}
		keys = append(keys, records.KeyOf(rec))
	}
	return keys, nil
}

func (s source) close() {
	if s.reader != nil {
		s.reader.Close() // read-only files: nothing to lose
	}
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// expectedBytes is what a rank expects to sort, with an eighth more for
// the splitters' imprecision: capacity that costs address space only, and
// spares a copy when a rank gets a little more than its share.
func expectedBytes(total int64, n int) int64 {
	b := ceilDiv(total, int64(n)) * records.Size
	return b + b/8
}

// shuffle sends out[bounds[j]:bounds[j+1]] to rank j and appends what every
// rank sent here, in rank order, to recv (growing it when it lacks the
// capacity). A rank whose readErr is not nil sends nothing and tells the
// others, and every rank then fails with the first failing rank's error.
func shuffle(ctx context.Context, col *collectives.Collectives, out []byte, bounds []int, readErr error, recv []byte) ([]byte, error) {
	n := col.Size()
	counts := make([]byte, 8*n)
	send := make([][]byte, n)
	for j := range n {
		c := uint64(readFailed)
		if readErr == nil {
			send[j] = out[bounds[j]:bounds[j+1]]
			c = uint64(len(send[j]))
		}
		binary.LittleEndian.PutUint64(counts[8*j:], c)
	}
	got := make([]byte, 8*n)
	if err := col.AllToAll(ctx, counts, got); err != nil {
		return nil, err
	}
	lens := make([]int, n)
	total := 0
	failed := readErr != nil
	for i := range n {
		c := binary.LittleEndian.Uint64(got[8*i:])
		failed = failed || c == readFailed
		lens[i] = int(c)
		total += lens[i]
	}
	if failed { // every rank saw it: all agree on the first failure's text
		if err := col.AgreeError(ctx, readErr); err != nil {
			return nil, err
		}
		return nil, errors.New("a rank reported a failed read, yet no rank's error arrived")
	}
	have := len(recv)
	if cap(recv)-have < total {
		grown := make([]byte, have, have+total+(have+total)/4)
		copy(grown, recv)
		recv = grown
	}
	recv = recv[:have+total]
	pieces := make([][]byte, n)
	off := have
	for i, l := range lens {
		pieces[i] = recv[off : off+l : off+l]
		off += l
	}
	if err := col.AllToAllv(ctx, send, pieces); err != nil {
		return nil, err
	}
	return recv, nil
}

// readFailed is the count a rank that failed to read its chunk sends
// every rank instead of its piece's length.
const readFailed = ^uint64(0)

// check validates this rank's output: its part file re-read from disk in
// chunks (or the sorted records in memory when there is no output),
// filling the output half of sum.
func check(sum *summary, o options, me int, recs []byte, order []uint32) error {
	var p PartReport
	if o.output != "" {
		var err error
		if p, err = scanPart(filepath.Join(o.output, PartName(me))); err != nil {
			return fmt.Errorf("validate: %w", err)
		}
	} else {
		got := make([]byte, len(recs))
		records.Permute(got, recs, order)
		p.Records, p.Checksum = int64(len(order)), records.Sum(got)
		if ok, at := records.IsSorted(got); !ok {
			p.Unordered, p.violations = 1, []Violation{{Record: int64(at)}}
		}
		if len(got) > 0 {
			p.first, p.last = got[:records.KeySize], got[len(got)-records.Size:len(got)-records.Size+records.KeySize]
		}
	}
	sum.RecordsOut, sum.OutSum, sum.First, sum.Last = p.Records, p.Checksum, p.first, p.last
	if p.Unordered > 0 {
		sum.Unordered = p.violations[0].Record
	}
	return nil
}

// decide is rank 0's verdict on the ranks' summaries (JSON, in rank
// order).
func decide(msgs [][]byte, validate bool) (JobSummary, error) {
	sums := make([]summary, len(msgs))
	for r, m := range msgs {
		if err := json.Unmarshal(m, &sums[r]); err != nil {
			return JobSummary{}, fmt.Errorf("summary of rank %d: %w", r, err)
		}
	}
	return verdict(sums, validate)
}

// verdict checks the ranks' summaries: no rank failed, every record came
// out once (counts), and, when validating, every part is sorted, parts are
// in order, and the output checksum equals the input's.
func verdict(sums []summary, validate bool) (JobSummary, error) {
	var job JobSummary
	var in, out int64
	var inSum, outSum records.Checksum
	var largest int64
	var prev []byte
	prevRank := -1
	for r, s := range sums {
		if s.Err != "" {
			return job, fmt.Errorf("rank %d failed: %s", r, s.Err)
		}
		in += s.RecordsIn
		out += s.RecordsOut
		largest = max(largest, s.RecordsOut)
		inSum.Merge(s.InSum)
		outSum.Merge(s.OutSum)
		if !validate {
			continue
		}
		if s.Unordered >= 0 {
			return job, fmt.Errorf("validation: %s: record %d is out of order", PartName(r), s.Unordered)
		}
		if s.RecordsOut == 0 {
			continue
		}
		if prev != nil && bytes.Compare(s.First, prev) < 0 {
			return job, fmt.Errorf("validation: %s starts with key %x, below the last key %x of %s", PartName(r), s.First, prev, PartName(prevRank))
		}
		prev, prevRank = s.Last, r
	}
	if in != out {
		return job, fmt.Errorf("validation: read %d records but wrote %d", in, out)
	}
	if validate && inSum != outSum {
		return job, fmt.Errorf("validation: output checksum %v differs from the input's %v", outSum, inSum)
	}
	job.Records = out
	if validate {
		job.Checksum, job.checksum = inSum.String(), inSum
	}
	if out > 0 {
		job.Skew = float64(largest) * float64(len(sums)) / float64(out)
	}
	return job, nil
}
