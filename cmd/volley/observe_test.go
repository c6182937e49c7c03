package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/group/trace"
)

// TestMetricsAndTrace runs a real group (worker processes, local backend)
// with --metrics-addr and --trace, scrapes /metrics while the run lingers,
// parses it with Prometheus' text parser and checks the figures against
// the --json result; then it checks the trace file.
func TestMetricsAndTrace(t *testing.T) {
	const n, g = 6, 3
	tmp := t.TempDir()
	traceFile := filepath.Join(t.TempDir(), "trace.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, volleyBin, "run", "collcheck", "-n", "6", "-g", "3", "-p", "size=1000", "--json",
		"--trace", traceFile, "--metrics-addr", "127.0.0.1:0", "--metrics-linger", "1m")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	stderrLines := make(chan string, 100)
	go func() {
		re := regexp.MustCompile(`metrics on (http://\S+/metrics)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
			select {
			case stderrLines <- sc.Text():
			default:
			}
		}
		close(stderrLines)
	}()
	var res group.Result
	if err := json.NewDecoder(stdout).Decode(&res); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("--json output: %v", err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	var url string
	select {
	case url = <-addrc:
	case <-time.After(10 * time.Second):
		t.Fatal("no metrics address on stderr")
	}

	fams := scrapeMetrics(t, url)
	var calls = map[string]uint64{}
	for _, rr := range res.Ranks {
		if rr.Timing == nil {
			t.Fatalf("rank %d: no timing in the result", rr.Rank)
		}
		for op, ot := range rr.Timing.Ops {
			calls[op] += uint64(ot.Calls)
		}
	}
	if res.Comm.SentRemoteBytes == 0 || len(calls) < 8 {
		t.Fatalf("collcheck sent %d remote bytes and called %d collectives", res.Comm.SentRemoteBytes, len(calls))
	}
	for _, c := range []struct {
		name, label, value string
		want               float64
	}{
		{"volley_groups_started_total", "app", "collcheck", 1},
		{"volley_groups_finished_total", "app", "collcheck", 1},
		{"volley_workers_started_total", "", "", n},
		{"volley_workers_finished_total", "", "", n},
		{"volley_packs_finished_total", "", "", n / g},
		{"volley_container_starts_total", "start", "cold", n / g},
		{"volley_sent_bytes_total", "locality", "remote", float64(res.Comm.SentRemoteBytes)},
		{"volley_sent_bytes_total", "locality", "local", float64(res.Comm.SentLocalBytes)},
		{"volley_sent_messages_total", "locality", "remote", float64(res.Comm.SentRemoteMsgs)},
		{"volley_sent_wire_bytes_total", "", "", float64(res.Comm.SentWireBytes)},
	} {
		m := findMetric(t, fams, c.name, c.label, c.value)
		if got := m.GetCounter().GetValue(); got != c.want {
			t.Errorf("%s{%s=%q} = %v, want %v", c.name, c.label, c.value, got, c.want)
		}
	}
	for op, want := range calls {
		if got := findMetric(t, fams, "volley_collective_duration_seconds", "op", op).GetHistogram().GetSampleCount(); got != want {
			t.Errorf("collective %s: histogram count %d, want %d calls", op, got, want)
		}
	}
	if h := findMetric(t, fams, "volley_group_ready_seconds", "", "").GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() <= 0 {
		t.Errorf("ready histogram: %v", h)
	}

	// An interrupt ends the linger; the run's status stays 0.
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		var lines []string
		for l := range stderrLines {
			lines = append(lines, l)
		}
		t.Fatalf("volley run after SIGINT during linger: %v; stderr %q", err, lines)
	}

	deadline := time.Now().Add(3 * time.Second)
	for len(binaryProcesses()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := binaryProcesses(); len(left) > 0 {
		t.Errorf("worker processes left running: %v", left)
	}
	if files, _ := os.ReadDir(tmp); len(files) > 0 {
		t.Errorf("%d temporary files left in TMPDIR", len(files))
	}

	f, err := os.Open(traceFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tf, err := trace.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := tf.Check(); err != nil {
		t.Fatal(err)
	}
	tracks := tf.Spans()
	if len(tracks) != n {
		t.Fatalf("trace has %d tracks, want %d", len(tracks), n)
	}
	for r := range n {
		var collectiveSpans int
		for _, e := range tracks[trace.Track{Pid: r / g, Tid: r}] {
			if e.Cat == "collective" {
				collectiveSpans++
			}
		}
		if want := len(res.Ranks[r].Timing.Spans); collectiveSpans != want || want == 0 {
			t.Errorf("rank %d: %d collective spans, the result has %d", r, collectiveSpans, want)
		}
	}
}

// TestTraceReplacesFileOnlyWhenWritten: a run that could not be
// attempted leaves an existing --trace file as it was; a run that went
// writes the trace in its place; neither leaves anything else beside it.
func TestTraceReplacesFileOnlyWhenWritten(t *testing.T) {
	dir := t.TempDir()
	traceFile := filepath.Join(dir, "t.json")
	if err := os.WriteFile(traceFile, []byte("previous trace"), 0o644); err != nil {
		t.Fatal(err)
	}
	entries := func() []string {
		des, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, de := range des {
			names = append(names, de.Name())
		}
		return names
	}
	r := volley(t, "run", "hello", "-n", "2", "-p", "bogus=1", "--trace", traceFile)
	if r.code != exitUsage {
		t.Fatalf("-p bogus=1: exit %d, stderr %q; want exit 2", r.code, r.stderr)
	}
	if b, err := os.ReadFile(traceFile); err != nil || string(b) != "previous trace" {
		t.Errorf("after a run that could not be attempted, %s holds %q (%v), want it untouched", traceFile, b, err)
	}
	if names := entries(); len(names) != 1 {
		t.Errorf("files beside the trace: %v", names)
	}
	if r := volley(t, "run", "hello", "-n", "2", "--trace", traceFile); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	f, err := os.Open(traceFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := trace.Parse(f); err != nil {
		t.Errorf("the new trace does not parse: %v", err)
	}
	if names := entries(); len(names) != 1 {
		t.Errorf("files beside the trace: %v", names)
	}
}

// TestObserveFlagsRejected checks that bad --metrics-addr, --trace and
// --metrics-linger values are usage errors, found before the group runs.
func TestObserveFlagsRejected(t *testing.T) {
	for _, args := range [][]string{
		{"--metrics-addr", "no-such-host.invalid:-1"},
		{"--trace", filepath.Join(t.TempDir(), "missing", "dir", "t.json")},
		{"--metrics-linger", "-1s", "--metrics-addr", "127.0.0.1:0"},
	} {
		r := volley(t, append([]string{"run", "hello", "-n", "2"}, args...)...)
		if r.code != exitUsage || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and no output", args, r.code, r.stdout, r.stderr)
		}
	}
	// --plot is checked before a benchmark runs.
	for _, args := range [][]string{
		{"bench", "comm", "--plot", filepath.Join(t.TempDir(), "f.svg")},
		{"bench", "startup", "--plot", filepath.Join(t.TempDir(), "f.pdf")},
		{"bench", "comm", "-n", "2,4"},
	} {
		r := volley(t, args...)
		if r.code != exitUsage || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and no output", args, r.code, r.stdout, r.stderr)
		}
	}
}

func scrapeMetrics(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// findMetric returns the sample of family name with label=value (any
// sample when label is empty).
func findMetric(t *testing.T, fams map[string]*dto.MetricFamily, name, label, value string) *dto.Metric {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.Metric {
		if label == "" {
			return m
		}
		for _, lp := range m.Label {
			if lp.GetName() == label && lp.GetValue() == value {
				return m
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return nil
}
