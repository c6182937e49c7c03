package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/proctest"
)

// Apps for speculation tests; the test binary is also the worker, so
// both sides know them.
func init() {
	group.Register(group.App{
		Name:    "test-spec",
		Summary: "returns rank, pid, replica; slow=PACK/REPLICA starts 20s late, deaf to SIGTERM; exit=RANK dies after winning",
		Startup: func(ctx context.Context, task group.PackTask) error {
			if task.Params["slow"] == fmt.Sprintf("%d/%d", task.Pack.Index, task.Replica) {
				time.Sleep(20 * time.Second) // ignores ctx: only SIGKILL ends it
			}
			return nil
		},
		Run: func(ctx context.Context, w *group.Worker) (any, error) {
			if r, _ := w.Params().Int("exit", -1); r == w.Rank() {
				os.Exit(3)
			}
			if d, _ := w.Params().Duration("sleep", 0); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return specResult{Rank: w.Rank(), PID: os.Getpid(), Replica: w.Replica()}, nil
		},
	})
	group.Register(group.App{
		Name:        "test-spec-exec",
		Summary:     "independent workers; replica 0 takes 20s, the others answer at once",
		Independent: true,
		Run: func(ctx context.Context, w *group.Worker) (any, error) {
			if w.Replica() == 0 {
				select {
				case <-time.After(20 * time.Second):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return specResult{Rank: w.Rank(), PID: os.Getpid(), Replica: w.Replica()}, nil
		},
	})
}

type specResult struct {
	Rank, PID, Replica int
}

// checkRaces checks one result per rank, every replica summarised, one
// winner per pack whose process answered for the pack's ranks, and every
// loser's process gone once Launch has returned.
func checkRaces(t *testing.T, rt *Runtime, res *group.Result, k int) map[int]int {
	t.Helper()
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	packs := (res.Workers + res.Granularity - 1) / res.Granularity
	if len(res.Replicas) != packs*k {
		t.Fatalf("%d replicas in the summary, want %d: %+v", len(res.Replicas), packs*k, res.Replicas)
	}
	winner := map[int]group.ReplicaSummary{}
	for _, r := range res.Replicas {
		switch r.Outcome {
		case "won":
			if _, dup := winner[r.Pack]; dup {
				t.Errorf("pack %d has two winners", r.Pack)
			}
			winner[r.Pack] = r
		case "lost":
			if pid, err := strconv.Atoi(r.Container.ID); err == nil {
				if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
					t.Errorf("loser pack %d replica %d: process %d still there after the group (kill: %v)", r.Pack, r.Replica, pid, err)
				}
			}
		default:
			t.Errorf("pack %d replica %d: outcome %q (%s)", r.Pack, r.Replica, r.Outcome, r.Error)
		}
	}
	if len(res.Ranks) != res.Workers {
		t.Fatalf("%d rank results for %d ranks", len(res.Ranks), res.Workers)
	}
	wonBy := map[int]int{}
	for i, rr := range res.Ranks {
		var v specResult
		if err := json.Unmarshal(rr.Result, &v); err != nil || v.Rank != i || rr.Rank != i {
			t.Fatalf("rank %d: result %s (%v)", i, rr.Result, err)
		}
		w, ok := winner[rr.Pack]
		if !ok {
			t.Fatalf("pack %d has no winner", rr.Pack)
		}
		if strconv.Itoa(v.PID) != w.Container.ID || v.Replica != w.Replica {
			t.Errorf("rank %d answered by process %d replica %d, but pack %d was won by %s replica %d",
				i, v.PID, v.Replica, rr.Pack, w.Container.ID, w.Replica)
		}
		wonBy[rr.Pack] = v.Replica
	}
	// Only the winners are left, idle in the warm pool.
	if kids, idle := len(proctest.Children(t)), rt.Stats().Idle; kids != idle || idle != packs {
		t.Errorf("%d worker processes alive, %d idle, want the %d winners only", kids, idle, packs)
	}
	return wonBy
}

func TestStartupSpeculation(t *testing.T) {
	for _, k := range []int{2, 3} {
		t.Run(fmt.Sprintf("K=%d", k), func(t *testing.T) {
			rt := newTestRuntime(t)
			rt.cfg.StopGrace = 300 * time.Millisecond
			spec := group.Spec{App: "test-spec", Workers: 4, Granularity: 2, Timeout: time.Minute,
				Params: group.Params{"slow": "0/0"}, Speculation: group.Speculation{Replicas: k}}
			start := time.Now()
			res, err := group.Launch(context.Background(), spec, rt)
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("group took %v: the slow replica held it up", took)
			}
			wonBy := checkRaces(t, rt, res, k)
			if wonBy[0] == 0 {
				t.Errorf("pack 0 was won by its 20s-late replica 0")
			}
		})
	}
}

func TestSpeculativeWinnerDies(t *testing.T) {
	rt := newTestRuntime(t)
	spec := group.Spec{App: "test-spec", Workers: 2, Granularity: 1, Timeout: time.Minute,
		Params: group.Params{"exit": "1", "sleep": "30s"}, Speculation: group.Speculation{Replicas: 2}}
	start := time.Now()
	res, err := group.Launch(context.Background(), spec, rt)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("group took %v to fail", took)
	}
	for _, rr := range res.Ranks {
		if rr.Error == "" || !strings.Contains(rr.Error, "pack 1") {
			t.Errorf("rank %d: error %q does not name pack 1", rr.Rank, rr.Error)
		}
	}
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("group error %v does not give the winner's death", err)
	}
	// The start-up winner of pack 1 died: it is reported failed, not won,
	// and no replica of pack 1 won.
	var failed int
	for _, r := range res.Replicas {
		if r.Pack != 1 {
			continue
		}
		switch r.Outcome {
		case "won":
			t.Errorf("pack 1 replica %d won, but its winner died: %+v", r.Replica, r)
		case "failed":
			failed++
			if !strings.Contains(r.Error, "exit status 3") {
				t.Errorf("pack 1 failed replica's summary error %q", r.Error)
			}
		}
	}
	if failed != 1 {
		t.Errorf("pack 1 has %d failed replicas in %+v, want its dead winner", failed, res.Replicas)
	}
}

func TestExecSpeculation(t *testing.T) {
	rt := newTestRuntime(t)
	spec := group.Spec{App: "test-spec-exec", Workers: 3, Granularity: 1, Timeout: time.Minute,
		Speculation: group.Speculation{Replicas: 2, Mode: group.SpeculateExec}}
	start := time.Now()
	res, err := group.Launch(context.Background(), spec, rt)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("group took %v: the slow replicas held it up", took)
	}
	for p, r := range checkRaces(t, rt, res, 2) {
		if r != 1 {
			t.Errorf("pack %d won by replica %d, want the fast replica 1", p, r)
		}
	}
}

func TestExecSpeculationNeedsIndependentApp(t *testing.T) {
	rt := newTestRuntime(t)
	spec := group.Spec{App: "test-spec", Workers: 2, Speculation: group.Speculation{Replicas: 2, Mode: group.SpeculateExec}}
	if _, err := group.Launch(context.Background(), spec, rt); !errors.Is(err, group.ErrBadSpec) {
		t.Fatalf("Launch = %v, want ErrBadSpec", err)
	}
	if s := rt.Stats(); s.ColdStarts != 0 {
		t.Errorf("%d containers started for a refused group", s.ColdStarts)
	}
}

// terminate sends SIGTERM and escalates to SIGKILL after the grace period.
func TestTerminate(t *testing.T) {
	start := func(script string) *container {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Skipf("no /bin/sh: %v", err)
		}
		c := &container{id: strconv.Itoa(cmd.Process.Pid), cmd: cmd, exited: make(chan struct{})}
		go func() { c.err = cmd.Wait(); close(c.exited) }()
		time.Sleep(100 * time.Millisecond) // let the shell set its trap
		return c
	}
	if how := start("sleep 30").terminate(5 * time.Second); how != "SIGTERM" {
		t.Errorf("a process that obeys SIGTERM ended by %q", how)
	}
	t0 := time.Now()
	if how := start(`trap "" TERM; sleep 30 & wait`).terminate(300 * time.Millisecond); how != "SIGKILL" {
		t.Errorf("a process that ignores SIGTERM ended by %q", how)
	}
	if took := time.Since(t0); took > 3*time.Second {
		t.Errorf("SIGKILL came %v after SIGTERM, grace was 300ms", took)
	}
}
