package local

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/proctest"
)

// The test binary doubles as the worker binary: started with
// envTestWorker=1 it serves the action protocol instead of running tests.
const envTestWorker = "VOLLEY_LOCAL_TEST_WORKER"

func init() {
	group.Register(group.App{Name: "test-pid", Summary: "returns its pid; sleep=D blocks", Run: func(ctx context.Context, w *group.Worker) (any, error) {
		if d, _ := w.Params().Duration("sleep", 0); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return map[string]int{"rank": w.Rank(), "pid": os.Getpid()}, nil
	}})
}

func TestMain(m *testing.M) {
	log := testLogger()
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	proctest.ServeIfWorker(envTestWorker, action.PackRunner(log), log, os.Stdout, os.Stderr)
	goleak.VerifyTestMain(m)
}

func newTestRuntime(t *testing.T) *Runtime {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(Config{Binary: exe, Args: []string{}, Env: []string{envTestWorker + "=1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rt.Close()
		if kids := proctest.Children(t); len(kids) > 0 {
			t.Errorf("child processes left after Close: %v", kids)
		}
	})
	return rt
}

func pidsOf(t *testing.T, res *group.Result) map[int]bool {
	t.Helper()
	pids := map[int]bool{}
	for _, rr := range res.Ranks {
		var v map[string]int
		if err := json.Unmarshal(rr.Result, &v); err != nil {
			t.Fatalf("rank %d: %q %s: %v", rr.Rank, rr.Error, rr.Result, err)
		}
		pids[v["pid"]] = true
	}
	return pids
}

func TestColdThenWarm(t *testing.T) {
	rt := newTestRuntime(t)
	spec := group.Spec{App: "test-pid", Workers: 10, Granularity: 4}
	res, err := group.Launch(context.Background(), spec, rt)
	if err != nil || res.Err() != nil {
		t.Fatalf("launch: %v %v", err, res.Err())
	}
	cold := pidsOf(t, res)
	if len(cold) != 3 || res.Cold != 3 || res.Warm != 0 {
		t.Fatalf("first group: %d pids, cold %d warm %d; want 3 processes, all cold", len(cold), res.Cold, res.Warm)
	}
	if got := len(proctest.Children(t)); got != 3 {
		t.Fatalf("%d worker processes alive in the warm pool, want 3", got)
	}
	res, err = group.Launch(context.Background(), spec, rt)
	if err != nil || res.Err() != nil {
		t.Fatalf("second launch: %v %v", err, res.Err())
	}
	warm := pidsOf(t, res)
	if res.Warm != 3 || res.Cold != 0 {
		t.Fatalf("second group: cold %d warm %d, want all warm", res.Cold, res.Warm)
	}
	for pid := range warm {
		if !cold[pid] {
			t.Errorf("warm group ran in new process %d", pid)
		}
	}
	if s := rt.Stats(); s.ColdStarts != 3 || s.WarmStarts != 3 || s.Idle != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestKilledContainerFailsGroup(t *testing.T) {
	rt := newTestRuntime(t)
	spec := group.Spec{App: "test-pid", Workers: 6, Granularity: 2, Params: group.Params{"sleep": "60s"}, Timeout: 30 * time.Second}
	go func() {
		// Kill one worker process once all three are up.
		for range 200 {
			if kids := proctest.Children(t); len(kids) == 3 {
				time.Sleep(100 * time.Millisecond)
				_ = syscall.Kill(kids[1].PID, syscall.SIGKILL)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	start := time.Now()
	res, err := group.Launch(context.Background(), spec, rt)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Fatalf("group took %v to fail after a container was killed", elapsed)
	}
	var sawKilled bool
	for _, rr := range res.Ranks {
		if rr.Error == "" {
			t.Fatalf("rank %d succeeded in a group whose container was killed", rr.Rank)
		}
		sawKilled = sawKilled || strings.Contains(rr.Error, "signal: killed")
		if !strings.Contains(rr.Error, "pack ") {
			t.Errorf("rank %d error does not name a pack: %s", rr.Rank, rr.Error)
		}
	}
	if !sawKilled {
		t.Errorf("no rank error says the container was killed: %+v", res.Ranks)
	}
	if s := rt.Stats(); s.Idle != 0 {
		t.Errorf("%d containers of a failed group went back to the pool", s.Idle)
	}
}

func TestNotAWorker(t *testing.T) {
	for _, bin := range []string{"/bin/true", "/bin/cat"} {
		if _, err := os.Stat(bin); err != nil {
			continue
		}
		rt, err := New(Config{Binary: bin, StartTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = rt.Probe(context.Background())
		if !errors.Is(err, ErrNotWorker) {
			t.Errorf("%s: Probe err = %v, want ErrNotWorker", bin, err)
		}
		rt.Close()
	}
	if _, err := New(Config{Binary: "/no/such/volley"}); err == nil {
		t.Error("New accepted a missing binary")
	}
	if _, err := New(Config{Binary: os.TempDir()}); err == nil {
		t.Error("New accepted a directory as the binary")
	}
}
