package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// volleyBin is a volley binary built once for these end-to-end tests; each
// test runs it as a user would.
var volleyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "volley-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	volleyBin = filepath.Join(dir, "volley")
	build := exec.Command("go", "build", "-o", volleyBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build volley:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type cliRun struct {
	code           int
	stdout, stderr string
	tmp            string
}

// volley runs the binary with a private TMPDIR and checks that the run
// left no processes of the binary and no temporary files behind.
func volley(t *testing.T, args ...string) cliRun {
	t.Helper()
	r := start(t, args...)
	return r.wait(t)
}

type running struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	tmp            string
}

func start(t *testing.T, args ...string) *running {
	t.Helper()
	r := &running{tmp: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	r.cmd = exec.CommandContext(ctx, volleyBin, args...)
	r.cmd.Env = append(os.Environ(), "TMPDIR="+r.tmp)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *running) wait(t *testing.T) cliRun {
	t.Helper()
	err := r.cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	// Worker processes die with the launcher; give the kernel a moment.
	deadline := time.Now().Add(3 * time.Second)
	for len(binaryProcesses()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := binaryProcesses(); len(left) > 0 {
		t.Errorf("volley %v left worker processes running: %v", r.cmd.Args[1:], left)
	}
	if files, _ := os.ReadDir(r.tmp); len(files) > 0 {
		t.Errorf("volley %v left %d temporary files in TMPDIR", r.cmd.Args[1:], len(files))
	}
	return cliRun{code: code, stdout: r.stdout.String(), stderr: r.stderr.String(), tmp: r.tmp}
}

// binaryProcesses lists live processes running volleyBin.
func binaryProcesses() []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && exe == volleyBin {
			pids = append(pids, pid)
		}
	}
	return pids
}

// jsonResult mirrors the --json output contract.
type jsonResult struct {
	Group       string  `json:"group"`
	App         string  `json:"app"`
	Workers     int     `json:"workers"`
	Granularity int     `json:"granularity"`
	Containers  int     `json:"containers"`
	Cold        int     `json:"cold"`
	Warm        int     `json:"warm"`
	ReadyMs     float64 `json:"ready_ms"`
	TotalMs     float64 `json:"total_ms"`
	Ranks       []struct {
		Rank   int `json:"rank"`
		Pack   int `json:"pack"`
		Result *struct {
			Rank, Size, Pack, PID, Procs int
			Host                         string
		} `json:"result"`
		Error string `json:"error"`
	} `json:"ranks"`
}

func decode(t *testing.T, r cliRun) jsonResult {
	t.Helper()
	var out jsonResult
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("--json output is not one JSON object: %v\n%s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return out
}

func TestHelloPacking(t *testing.T) {
	cases := []struct {
		n, g       int
		containers int
		packSizes  []int
	}{
		{64, 8, 8, nil},
		{64, 1, 64, nil},
		{10, 4, 3, []int{4, 4, 2}},
		{4, 4, 1, nil}, // one container: all the cores
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("n%d_g%d", c.n, c.g), func(t *testing.T) {
			r := volley(t, "run", "hello", "-n", strconv.Itoa(c.n), "-g", strconv.Itoa(c.g), "--json")
			if r.code != 0 {
				t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
			}
			out := decode(t, r)
			if out.Workers != c.n || out.Containers != c.containers || out.Cold != c.containers || out.App != "hello" {
				t.Fatalf("summary %+v", out)
			}
			pids := map[int]bool{}
			ranks := map[int]bool{}
			perPack := map[int]int{}
			pidOfPack := map[int]int{}
			for i, rr := range out.Ranks {
				if rr.Error != "" || rr.Result == nil {
					t.Fatalf("rank %d failed: %s", rr.Rank, rr.Error)
				}
				res := rr.Result
				if rr.Rank != i || res.Rank != i || res.Size != c.n || res.Pack != i/c.g || rr.Pack != i/c.g {
					t.Fatalf("rank %d: %+v %+v", i, rr, *res)
				}
				if p, ok := pidOfPack[res.Pack]; ok && p != res.PID {
					t.Fatalf("pack %d runs in two processes: %d and %d", res.Pack, p, res.PID)
				}
				pidOfPack[res.Pack] = res.PID
				// each container gets its share of the cores
				if _, set := os.LookupEnv("GOMAXPROCS"); !set {
					if want := coreShare(c.containers); res.Procs != want {
						t.Errorf("rank %d: GOMAXPROCS %d in a container, want %d (%d cores, %d containers)", i, res.Procs, want, runtime.NumCPU(), c.containers)
					}
				}
				ranks[res.Rank], pids[res.PID] = true, true
				perPack[res.Pack]++
			}
			if len(ranks) != c.n || len(pids) != c.containers {
				t.Fatalf("%d distinct ranks in %d processes, want %d in %d", len(ranks), len(pids), c.n, c.containers)
			}
			for p, want := range c.packSizes {
				if perPack[p] != want {
					t.Errorf("pack %d has %d ranks, want %d", p, perPack[p], want)
				}
			}
		})
	}
}

func TestHumanOutput(t *testing.T) {
	r := volley(t, "run", "hello", "-n", "4", "-g", "2")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"containers 2 (cold 2, warm 0)", "all ready after", "RANK", `"rank":3`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.stderr != "" {
		t.Errorf("stderr is not a terminal, yet got: %q", r.stderr)
	}
}

func TestRankFailures(t *testing.T) {
	r := volley(t, "run", "hello", "-n", "8", "-g", "4", "-p", "fail=2", "-p", "panic=5", "--json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", r.code, r.stderr)
	}
	for _, want := range []string{"2 of 8 ranks failed", "rank 2 (pack 0)", "injected failure"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, r.stderr)
		}
	}
	out := decode(t, r)
	for _, rr := range out.Ranks {
		switch rr.Rank {
		case 2, 5:
			if rr.Error == "" {
				t.Errorf("rank %d should have failed", rr.Rank)
			}
		default:
			if rr.Error != "" || rr.Result == nil {
				t.Errorf("rank %d should have a result: %+v", rr.Rank, rr)
			}
		}
	}
	if !strings.Contains(out.Ranks[5].Error, "panic") {
		t.Errorf("rank 5 error %q does not say it panicked", out.Ranks[5].Error)
	}
}

func TestKilledContainer(t *testing.T) {
	r := start(t, "run", "hello", "-n", "8", "-g", "2", "-p", "sleep=60s", "--timeout", "40s", "--json")
	var victim int
	for range 300 {
		if pids := childrenOf(r.cmd.Process.Pid); len(pids) == 4 {
			victim = pids[2]
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if victim == 0 {
		t.Fatal("the four worker processes never appeared")
	}
	time.Sleep(200 * time.Millisecond)
	killed := time.Now()
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	res := r.wait(t)
	if took := time.Since(killed); took > 10*time.Second {
		t.Errorf("group took %v to fail after SIGKILL", took)
	}
	if res.code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "pack ") || !strings.Contains(res.stdout, "signal: killed") {
		t.Errorf("failure does not name the pack and cause:\nstderr %s\nstdout %s", res.stderr, res.stdout)
	}
}

// childrenOf lists the live child processes of pid.
func childrenOf(pid int) []int {
	var kids []int
	for _, p := range binaryProcesses() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			kids = append(kids, p)
		}
	}
	return kids
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "nosuchapp"}, `unknown app "nosuchapp"`},
		{[]string{"run", "hello", "-n", "0"}, "workers (-n) must be >= 1"},
		{[]string{"run", "hello", "-g", "0"}, "granularity (-g) must be >= 1"},
		{[]string{"run", "hello", "-g", "-3"}, "granularity (-g) must be >= 1"},
		{[]string{"run", "hello", "-p", "novalue"}, `parameter "novalue" is not key=value`},
		{[]string{"run", "hello", "-p", "=x"}, "empty or blank key"},
		{[]string{"run", "hello", "-p", "fial=3"}, `hello: unknown parameter "fial" (hello takes fail, panic, sleep)`},
		{[]string{"run", "hello", "-p", "fail=abc"}, `hello: invalid group spec: parameter fail="abc" is not an integer`},
		{[]string{"run", "hello", "-p", "sleep=5"}, `hello: invalid group spec: parameter sleep="5" is not a duration`},
		{[]string{"run", "hello", "-n", "abc"}, "invalid argument"},
		{[]string{"run", "hello", "--worker-binary", "/no/such/binary"}, "no such file"},
		{[]string{"run", "hello", "--worker-binary", "/bin/true"}, "not a Volley worker"},
		{[]string{"run", "hello", "--backend", "mars"}, `--backend "mars"`},
		{[]string{"run"}, "exactly one APP"},
		{[]string{"frobnicate"}, "unknown command"},
	}
	for _, c := range cases {
		r := volley(t, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("volley %v: exit %d, stderr %q; want exit 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestReadyTimeout: --ready-timeout 0 is the default bound, and a worker
// binary that cannot start within the bound is a failure (exit 1) that
// names the flag, not a bad binary (exit 2).
func TestReadyTimeout(t *testing.T) {
	if r := volley(t, "run", "hello", "-n", "2", "--ready-timeout", "0"); r.code != 0 {
		t.Errorf("--ready-timeout 0: exit %d, stderr %q; want exit 0", r.code, r.stderr)
	}
	r := volley(t, "run", "hello", "-n", "2", "--ready-timeout", "1ns")
	if r.code != 1 || !strings.Contains(r.stderr, "--ready-timeout") || strings.Contains(r.stderr, "not a Volley worker") {
		t.Errorf("--ready-timeout 1ns: exit %d, stderr %q; want exit 1 naming --ready-timeout", r.code, r.stderr)
	}
}

func TestApps(t *testing.T) {
	r := volley(t, "apps")
	if r.code != 0 || !strings.Contains(r.stdout, "hello") {
		t.Fatalf("apps: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestCollectivesOnLocalBackend runs the collcheck app, which checks every
// collective against a naive reference, across worker processes for the
// whole N x g grid.
func TestCollectivesOnLocalBackend(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 16, 33} {
		seen := map[int]bool{}
		for _, g := range []int{1, 2, 5, n} {
			g = min(g, n)
			if seen[g] {
				continue
			}
			seen[g] = true
			t.Run(fmt.Sprintf("n%d_g%d", n, g), func(t *testing.T) {
				r := volley(t, "run", "collcheck", "-n", strconv.Itoa(n), "-g", strconv.Itoa(g), "-p", "size=300", "--json")
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				var out struct {
					Containers int `json:"containers"`
					Ranks      []struct {
						Result struct {
							Checked     int   `json:"checked"`
							RemoteBytes int64 `json:"remote_bytes"`
						} `json:"result"`
						Error string `json:"error"`
					} `json:"ranks"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
					t.Fatal(err)
				}
				var remote int64
				for i, rr := range out.Ranks {
					if rr.Error != "" || rr.Result.Checked < 8 {
						t.Fatalf("rank %d: checked %d, error %q", i, rr.Result.Checked, rr.Error)
					}
					remote += rr.Result.RemoteBytes
				}
				if (out.Containers == 1) != (remote == 0) {
					t.Errorf("%d containers but %d remote bytes", out.Containers, remote)
				}
			})
		}
	}
}
